package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/aesql"
)

// SQLSource returns the SQL API's source of a project's dataset for
// aesql.CompileClickHouse (Catalog.Source): a subquery over the points
// table with the project and dataset filters inside it, and no
// parameters (the ClickHouse printer writes constants as literals: 18.16's
// HTTP interface has no query parameters). ok is always true: whether the
// dataset exists is the metadata store's to say (the SQL API asks it
// first), and a dataset without points is an empty subquery.
func (s *Store) SQLSource(project int64, dataset string, argBase int) (string, []any, bool) {
	src, err := aesql.ClickHouseSource(s.table, project, dataset)
	if err != nil { // the table name is the store's own identifiers
		panic(err)
	}
	return src, nil, true
}

// RawSource is the points of project's dataset as a ClickHouse subquery:
// every column of the points table, and ts_ms, the timestamp in Unix ms
// (the SQL API's source, SQLSource, has whole seconds as AE has). The web
// analytics ask their raw questions of it (web.ClickHouseRunner).
func (s *Store) RawSource(project int64, dataset string) string {
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(dataset) + "'"
	return "(SELECT *, toUInt64(timestamp) * 1000 + timestamp_ms AS ts_ms FROM " + s.table +
		" WHERE project = " + strconv.FormatInt(project, 10) + " AND dataset = " + quoted + ")"
}

// Column is a result column: its name and ClickHouse type.
type Column struct {
	Name string
	Type string
}

// Result is the answer of Query.
type Result struct {
	Columns []Column
	Rows    [][]any
	// RowsBeforeLimit is ClickHouse's rows_before_limit_at_least: the rows
	// the query has before its LIMIT, or -1 when it has no LIMIT (the
	// answer then carries no count).
	RowsBeforeLimit int64
}

// QuerySQL runs backend SQL that the SQL API printed from an AST (never
// user text) and returns its rows as Go values: String string, UInt*
// uint64, Int* int64, Float* float64 (NaN for nan), Date and DateTime
// time.Time (UTC), Array(T) []any, Nullable(T) T or nil. args must be
// empty (the ClickHouse printer has none).
func (s *Store) QuerySQL(ctx context.Context, query string, args []any) (*Result, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("clickhouse: QuerySQL: %d parameters; the ClickHouse backend takes none", len(args))
	}
	var buf bytes.Buffer
	err := s.do(ctx, query+"\nFORMAT JSONCompact", nil, &buf,
		"output_format_json_quote_64bit_integers", "1", "output_format_json_quote_denormals", "1")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Meta   []Column            `json:"meta"`
		Data   [][]json.RawMessage `json:"data"`
		Before *int64              `json:"rows_before_limit_at_least"`
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("clickhouse %s: unreadable answer: %w", s.cfg.HTTP, err)
	}
	res := &Result{Columns: raw.Meta, Rows: make([][]any, len(raw.Data)), RowsBeforeLimit: -1}
	if raw.Before != nil {
		res.RowsBeforeLimit = *raw.Before
	}
	for i, r := range raw.Data {
		if len(r) != len(raw.Meta) {
			return nil, fmt.Errorf("clickhouse: a row of %d values for %d columns", len(r), len(raw.Meta))
		}
		row := make([]any, len(r))
		for j, v := range r {
			if row[j], err = decodeValue(raw.Meta[j].Type, v); err != nil {
				return nil, fmt.Errorf("clickhouse: column %s (%s): %w", raw.Meta[j].Name, raw.Meta[j].Type, err)
			}
		}
		res.Rows[i] = row
	}
	return res, nil
}

// decodeValue turns a JSONCompact value of ClickHouse type typ into Go.
func decodeValue(typ string, v json.RawMessage) (any, error) {
	if inner, ok := strings.CutPrefix(typ, "Nullable("); ok {
		if string(v) == "null" {
			return nil, nil
		}
		return decodeValue(strings.TrimSuffix(inner, ")"), v)
	}
	if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
		return decodeValue(strings.TrimSuffix(inner, ")"), v)
	}
	if inner, ok := strings.CutPrefix(typ, "Array("); ok {
		inner = strings.TrimSuffix(inner, ")")
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			var err error
			if out[i], err = decodeValue(inner, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var str string
	if len(v) > 0 && v[0] == '"' {
		if err := json.Unmarshal(v, &str); err != nil {
			return nil, err
		}
	} else {
		str = string(v)
	}
	switch {
	case typ == "String" || strings.HasPrefix(typ, "FixedString(") || strings.HasPrefix(typ, "Enum"):
		return str, nil
	case strings.HasPrefix(typ, "UInt"):
		return strconv.ParseUint(str, 10, 64)
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(str, 10, 64)
	case strings.HasPrefix(typ, "Float"):
		switch str {
		case "nan", "-nan":
			return math.NaN(), nil
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(str, 64)
	case typ == "Date":
		if str == "0000-00-00" { // 18.16's spelling of day 0
			return time.Unix(0, 0).UTC(), nil
		}
		return time.Parse(time.DateOnly, str)
	case typ == "DateTime":
		if str == "0000-00-00 00:00:00" { // 18.16's spelling of second 0
			return time.Unix(0, 0).UTC(), nil
		}
		return time.Parse(time.DateTime, str)
	case strings.HasPrefix(typ, "DateTime('") && strings.HasSuffix(typ, "')"):
		// ClickHouse writes the wall clock time of the column's zone.
		loc, err := time.LoadLocation(typ[len("DateTime('") : len(typ)-2])
		if err != nil {
			return nil, err
		}
		if str == "0000-00-00 00:00:00" {
			return time.Unix(0, 0).In(loc), nil
		}
		return time.ParseInLocation(time.DateTime, str, loc)
	}
	return nil, fmt.Errorf("type %s is not read yet", typ)
}
