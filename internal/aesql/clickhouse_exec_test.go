//go:build clickhouse

package aesql_test

// chSQLAPI is the SQL API over the ClickHouse backend as the tests run it:
// what the server's SQL handler does with a DuckDB plan (internal/server/
// sql.go), done with aesql.CompileClickHouse and a real clickhouse-server.
// The statement is compiled for the project's catalog (a refusal is a 400
// bad_sql), the plan's SQL runs over ClickHouse's HTTP interface (FORMAT
// JSONCompact), every row goes through Plan.Row, a result of more than
// Plan.Limit rows is a 400 too_many_rows, a failure on the server a 400
// query_failed, the WITH TOTALS statement runs after it, and the answer
// is written by aesql.WriteResult in the statement's format. So the
// corpus and the scripts compare what a client would get.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/aesql"
)

// chQueryJSON runs sql with FORMAT JSONCompact, 64-bit integers and
// non-finite floats quoted, and at most timeout of execution.
func (s *chServer) queryJSON(t *testing.T, sql string, timeout time.Duration) (int, []byte) {
	params := url.Values{}
	params.Set("output_format_json_quote_64bit_integers", "1")
	params.Set("output_format_json_quote_denormals", "1")
	params.Set("max_execution_time", strconv.Itoa(int(timeout.Seconds())))
	// buffered on the server, so that a failure after the first rows is
	// an HTTP error rather than a cut answer
	params.Set("wait_end_of_query", "1")
	resp, err := http.Post(s.url+"?"+params.Encode(), "text/plain", strings.NewReader(sql+"\nFORMAT JSONCompact"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

var errCHTooManyRows = errors.New("too many rows")

// chRun runs a plan's SQL and returns its rows as Plan.Row makes them,
// and the rows before LIMIT that ClickHouse reports.
func chRun(t *testing.T, s *chServer, p *aesql.Plan, timeout time.Duration) ([][]any, int64, error) {
	code, body := s.queryJSON(t, p.SQL, timeout)
	if code != 200 {
		return nil, 0, errors.New(chError(body))
	}
	var raw struct {
		Meta   []column            `json:"meta"`
		Data   [][]json.RawMessage `json:"data"`
		Before *int64              `json:"rows_before_limit_at_least"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("unreadable ClickHouse answer: %v\n%s", err, body)
	}
	if len(raw.Meta) != p.BackendColumns() {
		return nil, 0, fmt.Errorf("BUG: %d columns from ClickHouse for %d", len(raw.Meta), p.BackendColumns())
	}
	var rows [][]any
	for _, r := range raw.Data {
		if int64(len(rows)) >= p.Limit {
			return nil, 0, errCHTooManyRows
		}
		vals := make([]any, len(r))
		for j, v := range r {
			var err error
			if vals[j], err = chValue(raw.Meta[j].Type, v); err != nil {
				t.Fatalf("ClickHouse column %s (%s) value %s: %v", raw.Meta[j].Name, raw.Meta[j].Type, v, err)
			}
		}
		row, _, err := p.Row(vals)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, row)
	}
	before := int64(len(rows))
	if raw.Before != nil {
		before = max(before, *raw.Before)
	}
	return rows, before, nil
}

// chValue turns a JSONCompact value of ClickHouse type typ into the Go
// value the DuckDB backend scans for it (aesql.Column), integers as
// int64 or uint64.
func chValue(typ string, v json.RawMessage) (any, error) {
	if string(v) == "null" {
		return nil, nil
	}
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		if inner, ok := strings.CutPrefix(typ, w); ok {
			return chValue(strings.TrimSuffix(inner, ")"), v)
		}
	}
	if inner, ok := strings.CutPrefix(typ, "Array("); ok {
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			var err error
			if out[i], err = chValue(strings.TrimSuffix(inner, ")"), e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	str := string(v)
	if len(v) > 0 && v[0] == '"' {
		if err := json.Unmarshal(v, &str); err != nil {
			return nil, err
		}
	}
	switch {
	case typ == "String" || strings.HasPrefix(typ, "FixedString("):
		return str, nil
	case strings.HasPrefix(typ, "UInt"):
		return strconv.ParseUint(str, 10, 64)
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(str, 10, 64)
	case strings.HasPrefix(typ, "Float"):
		if str == "-nan" || str == "+nan" {
			str = "nan"
		}
		return strconv.ParseFloat(str, 64)
	case typ == "Date":
		if str == "0000-00-00" { // 18.16 spells day 0 so
			return time.Unix(0, 0).UTC(), nil
		}
		return time.Parse(time.DateOnly, str)
	case typ == "DateTime" || strings.HasPrefix(typ, "DateTime("):
		if str == "0000-00-00 00:00:00" { // 18.16 spells second 0 so
			return time.Unix(0, 0).UTC(), nil
		}
		// a DateTime('tz') is its wall clock time there: the result
		// writer shows the time's own digits
		return time.Parse(time.DateTime, str)
	case typ == "Nothing":
		return nil, nil
	}
	return nil, fmt.Errorf("type %s is not read", typ)
}

// chAPIOptions are the limits of chSQLAPI.
type chAPIOptions struct {
	MaxRows int64
	Timeout time.Duration
}

// chSQLAPI answers a statement as the SQL API would over ClickHouse:
// the status and the body.
func chSQLAPI(t *testing.T, s *chServer, cat aesql.Catalog, text string, o chAPIOptions) (int, []byte) {
	fail := func(status int, code, msg string) (int, []byte) {
		var b struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		b.Error.Code, b.Error.Message = code, msg
		data, _ := json.Marshal(b)
		return status, data
	}
	plan, err := aesql.CompileClickHouseFor(text, cat, aesql.Options{MaxRows: o.MaxRows}, s.features(t))
	if err != nil {
		var ae *aesql.Error
		if !errors.As(err, &ae) {
			t.Errorf("compile %q: %v", text, err)
			return fail(500, "internal", err.Error())
		}
		return fail(400, "bad_sql", err.Error())
	}
	res := &aesql.Result{Columns: plan.Columns, Rows: plan.Rows, RowsBeforeLimit: int64(len(plan.Rows))}
	if plan.Kind == aesql.KindSelect {
		res.Rows, res.RowsBeforeLimit, err = chRun(t, s, plan, o.Timeout)
		if err == nil && plan.Totals != nil {
			var tr [][]any
			tr, _, err = chRun(t, s, plan.Totals, o.Timeout)
			if err == nil && len(tr) != 1 {
				err = fmt.Errorf("BUG: the totals query returned %d rows", len(tr))
			}
			if err == nil {
				res.Totals = tr[0]
			}
		}
		switch {
		case errors.Is(err, errCHTooManyRows):
			return fail(400, "too_many_rows", fmt.Sprintf("the result has more than %d rows, the limit; add a LIMIT or aggregate", plan.Limit))
		case err != nil:
			return fail(400, "query_failed", "the query failed while running: "+err.Error())
		}
	}
	var buf bytes.Buffer
	if err := aesql.WriteResult(&buf, plan.Format, res); err != nil {
		t.Fatalf("write %q: %v", text, err)
	}
	return 200, buf.Bytes()
}

// totalsFromJSON renders the "totals" of a FORMAT JSON body ("" when it
// has none) as a TabSeparated row.
func totalsFromJSON(body []byte) (string, error) {
	var top struct {
		Meta   []column        `json:"meta"`
		Totals json.RawMessage `json:"totals"`
	}
	if err := json.Unmarshal(body, &top); err != nil || top.Totals == nil {
		return "", err
	}
	names, vals, err := decodeOrderedObject(json.NewDecoder(bytes.NewReader(top.Totals)))
	if err != nil {
		return "", err
	}
	if len(names) != len(top.Meta) {
		return "", fmt.Errorf("totals of %d values for %d columns", len(names), len(top.Meta))
	}
	cells := make([]string, len(vals))
	for i, v := range vals {
		if cells[i], err = renderTSV(top.Meta[i].Type, v, false); err != nil {
			return "", err
		}
	}
	return strings.Join(cells, "\t"), nil
}
