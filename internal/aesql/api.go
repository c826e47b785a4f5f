// Package aesql owns Alidade's SQL API dialect: the SQL of Cloudflare Workers
// Analytics Engine (a subset of ClickHouse SQL) plus the extensions its users
// ask for. It lexes and parses user text into an AST, checks it against an
// allowlist (only SELECT and SHOW, only known functions, only the project's
// datasets), infers ClickHouse result types, and prints backend SQL from the
// AST with the project scope injected. User text never reaches a backend as
// text. It does not execute queries or know HTTP.
//
// Pipeline: lexer.go (tokens; only ASCII whitespace and punctuation are
// syntax, keywords match ASCII case only), parser.go and ast.go (one
// statement; a canonical String form), analyze.go and funcs.go (names,
// aliases, the function allowlist, ClickHouse types, into the IR of ir.go),
// zones.go and zones_table.go (time zones), print.go and print_duckdb*.go
// (the backend printer; dates, times and zones in print_duckdb_time.go).
// Compile (compile.go) runs them; format.go writes results.
//
// Statements: SHOW TABLES (column dataset), SHOW TIMEZONES (column name:
// the tz database names of zoneTable), SHOW TIMEZONE (column timezone,
// Etc/UTC); [WITH expr AS name | name AS (subquery), ...] (subquery.go)
// SELECT [DISTINCT] ... [FROM dataset | (subquery) | cte [AS alias]]
// [WHERE] [GROUP BY] [HAVING] [ORDER BY ... [ASC|DESC] [NULLS FIRST|LAST]]
// [LIMIT n | ALL | m, n] [OFFSET n] [FORMAT f] (f: one of Formats, format.go)
// [;]. Select aliases may be used in WHERE,
// GROUP BY, HAVING, ORDER BY and other select items (ClickHouse semantics: an
// alias wins over a column of the same name). GROUP BY 1 and ORDER BY 2 are
// positions in the select list. A table name is the dataset of that name,
// else the one dataset whose name differs only in ASCII case (AE's
// documentation queries FROM WEATHER); a name matching several is refused.
// Scalar subqueries and x IN (SELECT ...) may be used in expressions
// (subquery.go). Joins, UNION, SETTINGS, INTO OUTFILE, table functions,
// qualified table names and correlated subqueries are refused.
//
// Semantics chosen where ClickHouse, AE and DuckDB differ (AE's
// documentation first, then ClickHouse's):
//   - timestamp is DateTime: whole seconds, UTC (stored milliseconds are
//     dropped).
//   - time zones as in ClickHouse: a DateTime is an instant, and the zone
//     of its type (DateTime('Asia/Tokyo'), from toDateTime(x, 'Asia/Tokyo'),
//     now('Asia/Tokyo'), toStartOfDay(x, 'Asia/Tokyo'), ...) is where it is
//     shown and where calendar functions compute, unless they are given a
//     zone argument. Wall clock times are read in the zone (strings given
//     to toDateTime or compared with a zoned DateTime, Dates compared with
//     one); one that occurs twice is its first instant, one that does not
//     occur is read with the offset after the change (ClickHouse's
//     makeDateTime); a day starts at its first instant. Adding days,
//     weeks, months or years keeps the wall clock time; toStartOfHour and
//     the minute roundings work on the UTC time line in zones whose offsets
//     are whole hours (minutes), else from the start of the local day, as
//     ClickHouse does. Zone names are case-sensitive tz database names.
//   - toDayOfWeek: 1 Monday .. 7 Sunday. toStartOfWeek: Monday (AE documents
//     Monday; an explicit ClickHouse mode argument is honoured, even modes
//     start on Sunday). toStartOfYear/Quarter/Month/Week and toMonday return
//     Date; toStartOfDay/Hour/Minute/FiveMinutes/... return DateTime;
//     toStartOfInterval returns DateTime for SECOND..DAY and Date for
//     WEEK..YEAR, counting from ClickHouse's origins (hours from midnight,
//     weeks from Monday 1970-01-05, months from 1900-01).
//   - / is Float64 division (x/0 is inf or nan); intDiv truncates toward
//     zero and, like %, fails on an integer division by zero; 64-bit
//     integer + - * wrap around; narrower integers widen as in ClickHouse
//     (UInt8 + UInt8 is UInt16).
//   - round(x, n) on Float64 scales by 10^n and rounds half to even
//     (banker's rounding, ClickHouse's nearbyint); on integers with n < 0 it
//     rounds half away from zero. floor, ceil, trunc scale alike.
//   - log is the natural logarithm (log(0) = -inf, log(-1) = nan).
//   - length, substring and position count Unicode code points (AE: length
//     is lengthUTF8); lower/upper change ASCII letters only, lowerUTF8/
//     upperUTF8 (and toLower/toUpper, AE's names for them) all letters.
//   - comparisons, AND/OR/NOT, LIKE, IN, empty, startsWith... are UInt8 0/1;
//     true and false are Bool; count(), uniq* are UInt64.
//   - toUInt8..toInt64 truncate floats toward zero and wrap out-of-range
//     values; hex/bin print integers without leading zero bytes, strings byte
//     by byte (upper-case hex), Float64 as its 8 IEEE 754 bytes in memory
//     (little-endian) order; bitCount of a Float64 counts its IEEE 754 bits;
//     bitTest of a Float64 tests the value truncated to Int64, as the
//     ClickHouse behind AE does (23.4 and later refuse it).
//   - aggregates over no rows give ClickHouse's defaults (0, the empty string, 1970-01-01)
//     and avg gives nan; topK is exact (ties broken by value).
//   - first_value/last_value in a query without GROUP BY take the query's
//     ORDER BY as the order of the rows they read (AE's documented examples).
package aesql

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// Catalog is what compiling needs to know of one project's datasets.
type Catalog interface {
	// Datasets lists the project's datasets (the tables of SHOW TABLES).
	Datasets() []string
	// Schema returns a dataset's schema (names usable as column aliases), or nil.
	Schema(dataset string) *point.Schema
	// Source returns backend SQL (and its arguments) for a parenthesised
	// subquery, "(SELECT ...)", that yields exactly the project's points of
	// dataset with the columns
	// dataset VARCHAR, "timestamp" TIMESTAMP (UTC), _sample_interval UBIGINT,
	// index1 VARCHAR, blob1..blob20 VARCHAR, double1..double20 DOUBLE;
	// the project filter is inside it. ok is false when the dataset does not
	// exist in the project. Parameters are numbered from argBase+1 ($n).
	// Compile places the text after FROM (followed by " AS t<N>") once per
	// reference to the dataset, including inside nested subqueries. A name
	// is a table when Datasets lists it or Source answers ok; a listed
	// dataset whose Source answers ok false with SQL (no data yet) is read
	// through that SQL all the same.
	Source(dataset string, argBase int) (sql string, args []any, ok bool)
}

// Kind is what a statement does.
type Kind int

const (
	// KindSelect runs Plan.SQL on the backend.
	KindSelect Kind = iota + 1
	// KindConst answers with Plan.Rows without touching the backend (SHOW ...).
	KindConst
)

// Format is an output format.
type Format string

const (
	FormatJSON         Format = "JSON"
	FormatJSONEachRow  Format = "JSONEachRow"
	FormatTabSeparated Format = "TabSeparated"
)

// Column is a result column: its name as the client sees it (the alias, or
// the expression's source text) and its ClickHouse type name.
//
// For KindSelect plans, the backend returns each column as the DuckDB type
// of its ClickHouse type, which database/sql (duckdb-go) scans into these
// Go values (GoType gives the same table):
//
//	String    VARCHAR    string
//	Float64   DOUBLE     float64 (NaN where ClickHouse has nan, e.g. avg of no rows)
//	Bool      BOOLEAN    bool
//	UInt8     UTINYINT   uint8  (comparisons, AND/OR/NOT, LIKE, IN, ... are UInt8 0/1)
//	UInt16    USMALLINT  uint16
//	UInt32    UINTEGER   uint32
//	UInt64    UBIGINT    uint64 (count(), uniq, sum of unsigned integers)
//	Int8..Int64          int8, int16, int32, int64
//	Date      DATE       time.Time, midnight UTC
//	DateTime  TIMESTAMP  time.Time, UTC, whole seconds (the stored
//	                     milliseconds of timestamp are dropped, as in ClickHouse)
//	DateTime('tz')       the same instant; Plan.Row gives it the zone's UTC
//	                     offset at that instant as its Location
//	Array(T)  T[]        []any holding T's Go values (topK, quantiles)
//	Nullable(T)          T's Go value, or nil
//	Nullable(Nothing)    always nil (NULL)
//
// Only Nullable types scan nil.
type Column struct {
	Name string
	Type string
}

// Plan is a compiled statement.
type Plan struct {
	Kind    Kind
	SQL     string // backend SQL, printed from the AST (KindSelect)
	Args    []any  // its numbered parameters: Catalog.Source's, and every string literal
	Columns []Column
	Rows    [][]any // KindConst answers (Go strings for the String columns of SHOW)
	Format  Format  // FORMAT clause; JSON when absent
	// FormatGiven says the statement had a FORMAT clause; when it did not,
	// a client's default format (ClickHouse's default_format) may apply.
	FormatGiven bool
	// CountSQL, when not empty, counts the rows SQL has before its LIMIT
	// and OFFSET, with the same Args: an executor runs it when SQL returns
	// no row, for rows_before_limit_at_least (Row reports the count
	// otherwise).
	CountSQL string
	// Limit is the row limit the result must honour after the backend
	// answers (the backend SQL asks for one row more, to tell truncation).
	// Limit is Options.MaxRows: an executor that reads more than Limit rows
	// from the backend must refuse the query (the result is too large)
	// rather than answer a truncated result. A LIMIT in the query lower
	// than MaxRows is already part of SQL.
	Limit int64

	// Totals, when not nil, is the statement of the query's WITH TOTALS
	// row (ClickHouse's totals): a select plan of its own (own SQL, Args,
	// hidden columns; the same Columns) that returns exactly one row, to
	// be run after SQL and given to WriteResult as Result.Totals.
	Totals *Plan

	// sources are the Catalog.Source texts SQL reads (for tests).
	sources []string
	// SQL's hidden columns, after the result's (see Row)
	zones    []zoneColumn
	countCol int // -1: none
	width    int // the columns SQL returns
}

// BackendColumns is the number of columns SQL returns: the result's, then
// hidden ones that Row consumes.
func (p *Plan) BackendColumns() int {
	return max(p.width, len(p.Columns))
}

// Row turns a row scanned from SQL (BackendColumns values, as scanned by
// database/sql into any) into a result row. The instants of DateTime('tz')
// columns get the zone's UTC offset as their Location, which is how
// WriteResult shows them in the zone's wall clock time. beforeLimit is the
// number of rows the query has without its LIMIT and OFFSET when SQL
// reports it, else -1.
func (p *Plan) Row(backend []any) (row []any, beforeLimit int64, err error) {
	if len(backend) != p.BackendColumns() {
		return nil, -1, fmt.Errorf("aesql: BUG: a backend row of %d values for %d columns", len(backend), p.BackendColumns())
	}
	row = backend[:len(p.Columns):len(p.Columns)]
	for _, z := range p.zones {
		if row[z.col], err = inZone(row[z.col], backend[z.hidden], z.zone, z.array); err != nil {
			return nil, -1, fmt.Errorf("aesql: column %s: %w", p.Columns[z.col].Name, err)
		}
	}
	beforeLimit = -1
	if p.countCol >= 0 {
		n, ok := backend[p.countCol].(int64)
		if !ok {
			return nil, -1, fmt.Errorf("aesql: BUG: row count %T", backend[p.countCol])
		}
		beforeLimit = n
	}
	return row, beforeLimit, nil
}

// inZone gives the time (or the times of a list) v the UTC offset off
// (seconds, or a list of them) as its Location, named zone.
func inZone(v, off any, zone string, array bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if array {
		vs, ok1 := v.([]any)
		offs, ok2 := off.([]any)
		if !ok1 || !ok2 || len(vs) != len(offs) {
			return nil, fmt.Errorf("BUG: times %T and offsets %T", v, off)
		}
		out := make([]any, len(vs))
		for i := range vs {
			t, err := inZone(vs[i], offs[i], zone, false)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	t, ok1 := v.(time.Time)
	o, ok2 := off.(int64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("BUG: time %T and offset %T", v, off)
	}
	return t.In(fixedZone(zone, int(o))), nil
}

var zoneLocs sync.Map // zone name and offset -> *time.Location

func fixedZone(name string, off int) *time.Location {
	key := name + "\x00" + strconv.Itoa(off)
	if l, ok := zoneLocs.Load(key); ok {
		return l.(*time.Location)
	}
	l, _ := zoneLocs.LoadOrStore(key, time.FixedZone(name, off))
	return l.(*time.Location)
}

// Options bound compilation and results. A zero field means its default.
type Options struct {
	MaxQueryBytes int   // longest SQL text accepted
	MaxDepth      int   // deepest nesting of calls, parentheses, CASE, NOT, unary minus and subqueries
	MaxRows       int64 // most rows a result may have
}

// DefaultOptions: 64 KB of SQL, depth 64, 100k rows.
func DefaultOptions() Options {
	return Options{MaxQueryBytes: 64 << 10, MaxDepth: 64, MaxRows: 100_000}
}
