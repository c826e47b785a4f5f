package aesql

import (
	"errors"
	"strings"
	"testing"
)

// runPlan runs a compiled plan on the test DuckDB and renders its rows
// (fmtVal, tab-separated), with the rows before LIMIT it reports.
func runPlan(t *testing.T, p *Plan) (rows []string, before int64) {
	t.Helper()
	db := testDB(t)
	rs, err := db.Query(p.SQL, p.Args...)
	if err != nil {
		t.Fatalf("backend: %v\nSQL: %s", err, p.SQL)
	}
	defer rs.Close()
	before = -1
	for rs.Next() {
		vals := make([]any, p.BackendColumns())
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row, n, err := p.Row(vals)
		if err != nil {
			t.Fatal(err)
		}
		before = max(before, n)
		var s []string
		for _, v := range row {
			s = append(s, fmtVal(v))
		}
		rows = append(rows, strings.Join(s, "\t"))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("backend: %v\nSQL: %s", err, p.SQL)
	}
	return rows, before
}

// The test DuckDB's requests of project 1 (testDB):
//
//	index1      blob2  double1
//	/api/chat   GET    12.5
//	/api/chat   POST   480
//	/api/grade  POST   33
//	/api/grade  GET    2.5
//	""          GET    -7.5
func TestGroupingModifiersAndLimitBy(t *testing.T) {
	cases := []struct {
		q      string
		rows   []string
		totals string // "" : none
		before int64  // -1: not reported
	}{
		// WITH TOTALS: key columns default, aggregates over every row
		{q: "SELECT blob2 AS m, count() AS n, sum(double1) AS s FROM requests GROUP BY m WITH TOTALS ORDER BY m",
			rows: []string{"GET\t3\t7.5", "POST\t2\t513"}, totals: "\t5\t520.5", before: -1},
		// with HAVING, the totals of the groups that pass it (after_having_exclusive)
		{q: "SELECT blob2 AS m, count() AS n, sum(double1) AS s FROM requests GROUP BY m WITH TOTALS HAVING n > 2",
			rows: []string{"GET\t3\t7.5"}, totals: "\t3\t7.5", before: -1},
		// an expression of a key is computed from the key's default value
		{q: "SELECT concat(blob2, '!') AS m2, blob2, count() FROM requests GROUP BY blob2 WITH TOTALS ORDER BY blob2 LIMIT 1",
			rows: []string{"GET!\tGET\t3"}, totals: "!\t\t5", before: 2},
		// LIMIT BY: the top row of each index1 by double1
		{q: "SELECT index1, blob2, double1 FROM requests ORDER BY double1 DESC LIMIT 1 BY index1",
			rows: []string{"/api/chat\tPOST\t480", "/api/grade\tPOST\t33", "\tGET\t-7.5"}, before: -1},
		{q: "SELECT index1, double1 FROM requests ORDER BY double1 DESC LIMIT 1 OFFSET 1 BY index1",
			rows: []string{"/api/chat\t12.5", "/api/grade\t2.5"}, before: -1},
		{q: "SELECT index1, double1 FROM requests ORDER BY double1 DESC LIMIT 1, 1 BY index1",
			rows: []string{"/api/chat\t12.5", "/api/grade\t2.5"}, before: -1},
		// LIMIT BY then LIMIT: rows before LIMIT count after LIMIT BY
		{q: "SELECT index1, double1 FROM requests ORDER BY double1 DESC LIMIT 1 BY index1 LIMIT 2",
			rows: []string{"/api/chat\t480", "/api/grade\t33"}, before: 3},
		// ORDER BY a column that is not selected
		{q: "SELECT index1 FROM requests ORDER BY double1 LIMIT 1 BY index1 LIMIT 5 OFFSET 1",
			rows: []string{"/api/grade", "/api/chat"}, before: 3},
		// on an aggregation: the busiest method of each endpoint
		{q: "SELECT index1, blob2, count() AS n, sum(double1) AS s FROM requests GROUP BY index1, blob2 ORDER BY s DESC LIMIT 1 BY index1",
			rows: []string{"/api/chat\tPOST\t1\t480", "/api/grade\tPOST\t1\t33", "\tGET\t1\t-7.5"}, before: -1},
		// LIMIT BY a position and an alias
		{q: "SELECT index1 AS e, double1 FROM requests ORDER BY double1 LIMIT 1 BY 1",
			rows: []string{"\t-7.5", "/api/grade\t2.5", "/api/chat\t12.5"}, before: -1},
		// WITH ROLLUP: subtotals with default values for the rolled-up keys
		{q: "SELECT index1, blob2, count() AS n FROM requests GROUP BY index1, blob2 WITH ROLLUP ORDER BY index1, blob2, n",
			rows: []string{"\t\t1", "\t\t5", "\tGET\t1", "/api/chat\t\t2", "/api/chat\tGET\t1", "/api/chat\tPOST\t1",
				"/api/grade\t\t2", "/api/grade\tGET\t1", "/api/grade\tPOST\t1"}, before: -1},
		{q: "SELECT index1, blob2, count() AS n FROM requests GROUP BY ROLLUP(index1, blob2) HAVING n > 1 ORDER BY index1, blob2, n",
			rows: []string{"\t\t5", "/api/chat\t\t2", "/api/grade\t\t2"}, before: -1},
		// WITH CUBE adds the subtotals by blob2 alone
		{q: "SELECT index1, blob2, count() AS n FROM requests GROUP BY index1, blob2 WITH CUBE ORDER BY index1, blob2, n",
			rows: []string{"\t\t1", "\t\t5", "\tGET\t1", "\tGET\t3", "\tPOST\t2", "/api/chat\t\t2", "/api/chat\tGET\t1", "/api/chat\tPOST\t1",
				"/api/grade\t\t2", "/api/grade\tGET\t1", "/api/grade\tPOST\t1"}, before: -1},
		// DISTINCT applies before LIMIT BY (ClickHouse's order)
		{q: "SELECT DISTINCT index1, blob2 FROM requests ORDER BY index1, blob2 LIMIT 1 BY index1",
			rows: []string{"\tGET", "/api/chat\tGET", "/api/grade\tGET"}, before: -1},
		{q: "SELECT DISTINCT index1, blob2 FROM requests ORDER BY index1, blob2 DESC LIMIT 1 BY index1 LIMIT 1 OFFSET 1",
			rows: []string{"/api/chat\tPOST"}, before: 3},
		// totals without GROUP BY, and of a Date key
		{q: "SELECT count() AS n, sum(double1) FROM requests WITH TOTALS",
			rows: []string{"5\t520.5"}, totals: "5\t520.5", before: -1},
		{q: "SELECT toDate(timestamp) AS d, count() FROM requests WHERE d < '2025-10-30' GROUP BY d WITH TOTALS ORDER BY d",
			rows: []string{"2025-10-27\t2", "2025-10-29\t1"}, totals: "1970-01-01\t3", before: -1},
		{q: "SELECT index1, count() AS n FROM requests GROUP BY index1 WITH ROLLUP WITH TOTALS ORDER BY index1, n",
			rows: []string{"\t1", "\t5", "/api/chat\t2", "/api/grade\t2"}, totals: "\t5", before: -1},
	}
	for _, c := range cases {
		p, err := Compile(c.q, duckCat(), DefaultOptions())
		if err != nil {
			t.Errorf("Compile(%q): %v", c.q, err)
			continue
		}
		rows, before := runPlan(t, p)
		if strings.Join(rows, "\n") != strings.Join(c.rows, "\n") {
			t.Errorf("%s\n got rows:\n%s\nwant:\n%s\nSQL: %s", c.q, strings.Join(rows, "\n"), strings.Join(c.rows, "\n"), p.SQL)
		}
		if c.before >= 0 && before != c.before {
			t.Errorf("%s: rows before limit %d, want %d", c.q, before, c.before)
		}
		switch {
		case c.totals == "" && p.Totals != nil:
			t.Errorf("%s: a totals plan", c.q)
		case c.totals != "":
			if p.Totals == nil {
				t.Errorf("%s: no totals plan", c.q)
				continue
			}
			tr, _ := runPlan(t, p.Totals)
			if len(tr) != 1 || tr[0] != c.totals {
				t.Errorf("%s: totals %q, want %q\nSQL: %s", c.q, tr, c.totals, p.Totals.SQL)
			}
		}
	}
}

func TestGroupingModifierErrors(t *testing.T) {
	for _, c := range []struct{ q, tok, msg string }{
		{"SELECT blob1 FROM requests WITH TOTALS", "TOTALS", "needs GROUP BY or an aggregate"},
		{"SELECT n FROM (SELECT count() AS n FROM requests GROUP BY blob1 WITH TOTALS)", "TOTALS", "only allowed in the outermost query"},
		{"SELECT blob1, count() AS n FROM requests GROUP BY blob1 WITH ROLLUP WITH TOTALS HAVING n > 1", "TOTALS", "not supported together in presence of HAVING"},
		{"SELECT blob1, count() FROM requests GROUP BY blob1 ORDER BY 2 LIMIT 1 BY double1", "double1", "neither aggregated nor in GROUP BY"},
		{"SELECT DISTINCT blob1 FROM requests LIMIT 1 BY blob2", "blob2", "must appear in the select list"},
		{"SELECT count() FROM requests WITH ROLLUP", "ROLLUP", "needs GROUP BY"},
		// ORDER BY a column in a query that aggregates into one row orders
		// nothing (ClickHouse refuses it), unless first_value/last_value read
		// the rows in that order (AE's documented example)
		{"SELECT count() FROM requests ORDER BY _sample_interval", "_sample_interval", "neither aggregated nor in GROUP BY"},
	} {
		_, err := Compile(c.q, duckCat(), DefaultOptions())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q) = %v; want an *Error", c.q, err)
			continue
		}
		if e.Token != c.tok || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("Compile(%q): token %q msg %q; want token %q msg ~%q", c.q, e.Token, e.Msg, c.tok, c.msg)
		}
	}
}
