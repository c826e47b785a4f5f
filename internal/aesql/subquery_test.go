package aesql

import (
	"errors"
	"strings"
	"testing"
)

// cteChain is WITH c0 AS (SELECT 1 AS x), c1 AS (SELECT x FROM c0), ...
// SELECT x FROM c<n-1>: n+1 nested queries once inlined.
func cteChain(n int) string {
	var b strings.Builder
	b.WriteString("WITH c0 AS (SELECT 1 AS x)")
	for i := 1; i < n; i++ {
		b.WriteString(", c" + itoa(i) + " AS (SELECT x FROM c" + itoa(i-1) + ")")
	}
	b.WriteString(" SELECT x FROM c" + itoa(n-1))
	return b.String()
}

func TestSubqueryDepth(t *testing.T) {
	// 63 CTEs inline to 64 nested queries: the limit
	if _, err := Compile(cteChain(63), newMarkerCatalog(), DefaultOptions()); err != nil {
		t.Errorf("63 chained CTEs: %v", err)
	}
	_, err := Compile(cteChain(64), newMarkerCatalog(), DefaultOptions())
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "limit of 64 levels") || !strings.Contains(e.Hint, "common table expression") {
		t.Errorf("64 chained CTEs: %v", err)
	}
	// nesting in the text counts in the parser, with expressions
	_, err = Compile("SELECT (SELECT (SELECT (SELECT 1)))", newMarkerCatalog(), Options{MaxDepth: 3})
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "limit of 3 levels") {
		t.Errorf("MaxDepth 3: %v", err)
	}
	if _, err := Compile("SELECT (SELECT (SELECT 1))", newMarkerCatalog(), Options{MaxDepth: 3}); err != nil {
		t.Errorf("3 levels: %v", err)
	}
}

func TestCTEBomb(t *testing.T) {
	// each CTE uses the previous one twice: 2^30 inlined queries
	var b strings.Builder
	b.WriteString("WITH c0 AS (SELECT double1 AS x FROM requests)")
	for i := 1; i <= 30; i++ {
		p := "c" + itoa(i-1)
		b.WriteString(", c" + itoa(i) + " AS (SELECT x FROM " + p + " WHERE x IN " + p + ")")
	}
	b.WriteString(" SELECT count() FROM c30")
	_, err := mustCompile(b.String())
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "expression nodes") {
		t.Fatalf("CTE bomb: %v", err)
	}
}

// TestSubquerySources checks that every dataset a subquery names is read
// through Catalog.Source, once per reference (a CTE at each use), and that
// the printed SQL reads nothing else.
func TestSubquerySources(t *testing.T) {
	cases := []struct {
		q       string
		sources int
	}{
		{"SELECT count() * 100 / (SELECT count() FROM requests) FROM requests WHERE blob1 = 'x'", 2},
		{"SELECT count() FROM requests WHERE index1 IN (SELECT index1 FROM requests GROUP BY index1 ORDER BY count() DESC LIMIT 2)", 2},
		{"WITH w AS (SELECT blob1 FROM weather) SELECT count() FROM requests WHERE blob1 IN w OR blob2 IN w", 3},
		{"WITH w AS (SELECT blob1 FROM weather) SELECT 1", 0},
		{"WITH (SELECT max(double1) FROM weather) AS m SELECT m, m + 1 FROM requests", 3},
		{"SELECT * FROM (SELECT (SELECT count() FROM weather) AS n FROM requests) WHERE n IN (SELECT count() FROM requests)", 3},
	}
	for _, c := range cases {
		p, err := mustCompile(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if len(p.sources) != c.sources {
			t.Errorf("%s: %d sources, want %d\n%s", c.q, len(p.sources), c.sources, p.SQL)
		}
		if err := checkPrinted(p.SQL, p.sources); err != nil {
			t.Errorf("%s: %v\n%s", c.q, err, p.SQL)
		}
	}
}

// TestSubqueryDuckDB runs subqueries on DuckDB: the test database holds
// five requests of project 1 (double1 12.5, 480, 33, 2.5, -7.5) and one of
// project 2 (double1 1e9), which no answer may see.
func TestSubqueryDuckDB(t *testing.T) {
	cases := []struct{ q, cols, rows string }{
		// max 480; the other project's 1e9 is not read
		{"SELECT (SELECT max(double1) FROM requests) AS m", "m:Float64", "480"},
		// 12.5 + 480 + 33 + 2.5 - 7.5 = 520.5 over 5 rows: 104.1; above it: 480
		{"SELECT double1 FROM requests WHERE double1 > (SELECT avg(double1) FROM requests)", "double1:Float64", "480"},
		// /api/chat and /api/grade have 2 rows each, '' 1
		{"SELECT count() AS n FROM requests WHERE index1 IN (SELECT index1 FROM requests GROUP BY index1 ORDER BY count() DESC LIMIT 2)", "n:UInt64", "4"},
		{"SELECT count() AS n FROM requests WHERE index1 NOT IN (SELECT index1 FROM requests WHERE double1 < 0)", "n:UInt64", "4"},
		{"WITH w AS (SELECT blob1 FROM weather) SELECT count() AS n, (SELECT count() FROM w) AS k FROM w", "n:UInt64, k:UInt64", "2|2"},
		// IN a small set (a list) and IN a large one (a semi join) compare
		// by value across types: 1.5 is not 1, 1.0 is; UInt64 max is not -1
		{"SELECT 1.5 IN (SELECT 1) AS a, 1.0 IN (SELECT 1 LIMIT 5) AS b, 18446744073709551615 IN (SELECT -1) AS c, -1 NOT IN (SELECT 18446744073709551615) AS d", "a:UInt8, b:UInt8, c:UInt8, d:UInt8", "0|1|0|1"},
		{"SELECT 1.5 IN (SELECT toUInt8(1) FROM requests) AS a, 1.0 IN (SELECT toUInt8(1) FROM requests) AS b, 18446744073709551615 IN (SELECT toInt8(-1) FROM requests) AS c", "a:UInt8, b:UInt8, c:UInt8", "0|1|0"},
		// no row: nothing matches, in both forms
		{"SELECT count() AS n FROM requests WHERE double1 NOT IN (SELECT double1 FROM requests WHERE double1 > 1e6 LIMIT 3)", "n:UInt64", "5"},
		{"SELECT count() AS n FROM requests WHERE double1 IN (SELECT double1 FROM requests WHERE double1 > 1e6 LIMIT 3)", "n:UInt64", "0"},
		{"SELECT count() AS n FROM requests WHERE double1 NOT IN (SELECT double1 FROM requests WHERE double1 > 1e6)", "n:UInt64", "5"},
		// NULLs of the set never match: {12.5, 2.5, -7.5}, so 480 and 33
		{"SELECT count() AS n FROM requests WHERE double1 NOT IN (SELECT CASE WHEN double1 > 20 THEN NULL ELSE double1 END FROM requests LIMIT 10)", "n:UInt64", "2"},
		{"SELECT count() AS n FROM requests WHERE double1 NOT IN (SELECT CASE WHEN double1 > 20 THEN NULL ELSE double1 END FROM requests)", "n:UInt64", "2"},
		// a Date is its midnight: the request of 2025-10-29 00:00:00; and
		// among all timestamps, the midnights of 2025-10-29 and 2026-01-01
		{"SELECT count() AS n FROM requests WHERE toDate(timestamp) IN (SELECT toDateTime('2025-10-29 00:00:00'))", "n:UInt64", "1"},
		{"SELECT count() AS n FROM requests WHERE toDate(timestamp) IN (SELECT timestamp FROM requests)", "n:UInt64", "2"},
		// no row: NULL
		{"SELECT (SELECT blob1 FROM weather WHERE double1 > 100) AS b", "b:Nullable(String)", "NULL"},
	}
	for _, c := range cases {
		p, rows, err := runDuck(t, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := colsString(p.Columns); got != c.cols {
			t.Errorf("%s: columns %s, want %s", c.q, got, c.cols)
		}
		if got := fmtRows(rows); got != c.rows {
			t.Errorf("%s: rows %s, want %s", c.q, got, c.rows)
		}
		checkGoTypes(t, p, rows)
	}
}
