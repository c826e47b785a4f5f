package aesql

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Compile compiles one statement of the Analytics Engine SQL dialect into a
// Plan for the DuckDB backend. Every refusal of sql (syntax, unknown names
// or functions, constructs outside the dialect, types, limits) is an
// *Error naming the line, column and token; any other error is a bug.
//
// Options: MaxQueryBytes bounds len(sql); MaxDepth bounds the nesting of
// function calls, parentheses, CASE, NOT, unary minus and subqueries;
// MaxRows becomes Plan.Limit, and the backend SQL asks for at most
// MaxRows+1 rows so that the executor can tell a result that is too large.
// A zero field takes its value from DefaultOptions.
func Compile(sql string, cat Catalog, opts Options) (plan *Plan, err error) {
	return compile(sql, cat, opts, func() backend { return newDuckPrinter(cat, sql) })
}

// CompileClickHouse is Compile for the ClickHouse backend (print_clickhouse.go):
// the same statement, checked and scoped to the project the same way,
// printed as ClickHouse SQL for ClickHouse 18.16 and later, over a server
// whose time zone is UTC. cat.Source must return ClickHouse SQL without
// parameters (see ClickHouseSource); Plan.Args is empty (string constants
// are ClickHouse literals). The plan has no hidden columns: ClickHouse
// shows DateTime('tz') values in their zone itself, and reports the rows
// before LIMIT (rows_before_limit_at_least) in its FORMAT JSON answer, so
// CountSQL is empty. What ClickHouse 18.16 cannot run and the printer does
// not emulate is refused with an *Error. The SQL is 18.16's (see
// CompileClickHouseFor for newer servers).
func CompileClickHouse(sql string, cat Catalog, opts Options) (plan *Plan, err error) {
	return CompileClickHouseFor(sql, cat, opts, ClickHouseFeatures{})
}

// ClickHouseFeatures are what the ClickHouse server(s) the SQL runs on have
// beyond 18.16 that the ClickHouse printer uses. The zero value is 18.16's:
// SQL printed for it runs on every later version. The store decides them
// from the oldest server's version (clickhouse.Features.SQL).
type ClickHouseFeatures struct {
	// LimitByOffset: LIMIT n OFFSET m BY (19.x). Without it the printer
	// emulates it: LIMIT m+n BY in a subquery, then each key's rows
	// after the first m, in the query's order.
	LimitByOffset bool
	// FormatOffset: formatDateTime's %z (22.9). Without it the printer
	// computes the offset from the wall clock time.
	FormatOffset bool
}

// CompileClickHouseFor is CompileClickHouse for servers that have f: what
// they have natively is printed natively, the rest emulated as for 18.16.
// The answers are the same; the SQL is shorter and cheaper.
func CompileClickHouseFor(sql string, cat Catalog, opts Options, f ClickHouseFeatures) (plan *Plan, err error) {
	return compile(sql, cat, opts, func() backend { return newCHPrinter(cat, sql, f) })
}

func compile(sql string, cat Catalog, opts Options, newBackend func() backend) (plan *Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("aesql: BUG: compiling failed: %v", r)
		}
	}()
	def := DefaultOptions()
	if opts.MaxQueryBytes <= 0 {
		opts.MaxQueryBytes = def.MaxQueryBytes
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = def.MaxDepth
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = def.MaxRows
	}
	if len(sql) > opts.MaxQueryBytes {
		off := opts.MaxQueryBytes
		for off > 0 && off < len(sql) && !utf8.RuneStart(sql[off]) {
			off--
		}
		r, _ := utf8.DecodeRuneInString(sql[off:])
		return nil, errAt(sql, off, string(r), "the query is %d bytes long; the limit is %d bytes", len(sql), opts.MaxQueryBytes)
	}
	st, err := parse(sql, opts.MaxDepth)
	if err != nil {
		return nil, err
	}
	switch st := st.(type) {
	case *showStmt:
		return compileShow(st, cat, opts), nil
	case *selectStmt:
		return compileSelect(sql, st, cat, opts, newBackend())
	}
	return nil, fmt.Errorf("aesql: BUG: statement %T", st)
}

func planFormat(f string) Format {
	if f == "" {
		return FormatJSON
	}
	return Format(f)
}

func compileShow(st *showStmt, cat Catalog, opts Options) *Plan {
	p := &Plan{Kind: KindConst, Format: planFormat(st.Format), FormatGiven: st.Format != "", Limit: opts.MaxRows}
	switch st.What {
	case "TABLES":
		ds := append([]string(nil), cat.Datasets()...)
		sort.Strings(ds)
		p.Columns = []Column{{Name: "dataset", Type: "String"}}
		for _, d := range ds {
			p.Rows = append(p.Rows, []any{d})
		}
	case "TIMEZONES":
		p.Columns = []Column{{Name: "name", Type: "String"}}
		for _, z := range ZoneNames() {
			p.Rows = append(p.Rows, []any{z})
		}
	case "TIMEZONE":
		p.Columns = []Column{{Name: "timezone", Type: "String"}}
		p.Rows = [][]any{{"Etc/UTC"}}
	}
	if int64(len(p.Rows)) > opts.MaxRows {
		p.Rows = p.Rows[:opts.MaxRows]
	}
	return p
}

func compileSelect(src string, st *selectStmt, cat Catalog, opts Options, b backend) (*Plan, error) {
	a := &analyzer{src: src, cat: cat, maxDepth: opts.MaxDepth}
	q, err := a.selectStmt(st)
	if err != nil {
		return nil, err
	}
	pr, err := b.print(q, opts.MaxRows+1)
	if err != nil {
		return nil, err
	}
	p := selectPlan(q, pr, opts.MaxRows)
	p.Format, p.FormatGiven = planFormat(st.Format), st.Format != ""
	if q.totals {
		tb := b.totals(q)
		tpr, err := tb.print(totalsQuery(q), 2)
		if err != nil {
			return nil, err
		}
		p.Totals = selectPlan(q, tpr, 1)
		p.Totals.Format = p.Format
	}
	return p, nil
}

// selectPlan makes the plan of a printed query; limit is the most rows
// its result may have.
func selectPlan(q *queryIR, pr *printed, limit int64) *Plan {
	p := &Plan{Kind: KindSelect, SQL: pr.sql, CountSQL: pr.countSQL, Args: pr.args,
		Limit: limit, sources: pr.sources, zones: pr.zones, countCol: pr.countCol, width: len(q.items)}
	if pr.countCol >= 0 {
		p.width = pr.countCol + 1
	} else if len(pr.zones) > 0 {
		p.width = pr.zones[len(pr.zones)-1].hidden + 1
	}
	for _, it := range q.items {
		p.Columns = append(p.Columns, Column{Name: it.name, Type: it.e.typ().String()})
	}
	return p
}

// GoType names the Go type a value of ClickHouse type t scans into from
// the DuckDB backend (database/sql with duckdb-go): see Plan.Columns.
func GoType(t string) string {
	nullable := false
	if strings.HasPrefix(t, "Nullable(") && strings.HasSuffix(t, ")") {
		nullable = true
		t = t[len("Nullable(") : len(t)-1]
	}
	var g string
	switch {
	case strings.HasPrefix(t, "DateTime("):
		g = "time.Time"
	case strings.HasPrefix(t, "Array("):
		g = "[]any of " + GoType(t[len("Array("):len(t)-1])
	default:
		g = map[string]string{
			"String": "string", "Float64": "float64", "Bool": "bool", "UInt8": "uint8", "UInt16": "uint16",
			"UInt32": "uint32", "UInt64": "uint64", "Int8": "int8", "Int16": "int16", "Int32": "int32", "Int64": "int64",
			"Date": "time.Time", "DateTime": "time.Time", "Nothing": "nil",
		}[t]
	}
	if nullable && g != "nil" {
		g += " or nil"
	}
	return g
}
