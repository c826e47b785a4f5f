package aesql

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds are the queries of the other tests and the injection corpus.
func fuzzSeeds(t testing.TB) []string {
	var seeds []string
	seeds = append(seeds, loadCorpus(t)...)
	for _, c := range duckCases {
		seeds = append(seeds, c.q)
	}
	for _, g := range goldenQueries {
		seeds = append(seeds, g.q)
	}
	corpus, err := ReadCorpusQueries("testdata/clickhouse/queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range corpus {
		seeds = append(seeds, q.SQL)
	}
	seeds = append(seeds,
		"SELECT a FROM t LIMIT 5, 10",
		"SELECT CASE x WHEN 1 THEN 'a' END, INTERVAL '5 hours', position('a' IN b)",
		"SELECT quantileWeighted(0.5, double1, _sample_interval) FROM requests",
		"SELECT bitRotateRight(toInt8(-3), 9), bitShiftRight(toInt64(-1), 70), hex(toInt16(-2)), bin(toDate('2024-01-01'))",
		"SELECT toDateTime('2022-12-01 16:17:00', 'America/New_York') AS t, formatDateTime(t, '%F %T %z', 'Etc/UTC'), toStartOfInterval(t, INTERVAL 2 HOUR) FROM WEATHER",
		"SELECT toStartOfDay(timestamp, 'Australia/Lord_Howe') + INTERVAL 1 MONTH, toStartOfHour(timestamp, 'Asia/Kathmandu') FROM requests ORDER BY 1 LIMIT 3",
		"SELECT DISTINCT toDate(timestamp, 'Pacific/Chatham') d, topK(2)(toDateTime(timestamp, 'Asia/Tokyo')) FROM requests GROUP BY d LIMIT 1 OFFSET 1",
		"SELECT hex(double1), bin(-0.0), bitCount(double1 / 0) FROM weather WHERE bitCount(double1) > 5",
		"SELECT index1, blob2, count() AS n FROM requests GROUP BY index1, blob2 WITH ROLLUP WITH TOTALS ORDER BY n DESC LIMIT 1 BY index1 LIMIT 5",
		"SELECT DISTINCT index1, blob2 FROM requests ORDER BY 1, 2 DESC LIMIT 1, 2 BY index1 LIMIT 3 OFFSET 1",
		"SELECT blob1, sum(double1) FROM requests GROUP BY CUBE(blob1, toDate(timestamp)) HAVING count() > 1",
		"SELECT count() FROM requests WITH TOTALS FORMAT JSON",
		"SELECT blob1, count() FROM requests GROUP BY blob1 FORMAT tsvWithNamesAndTypes",
		"SHOW TABLES FORMAT `CSVWithNames`",
		"SELECT any(blob1), anyLast(double1), quantileExact(0.9)(double1), quantilesExact(0.1, 1)(timestamp), groupArray(3)(blob2), medianExact(double2) FROM requests",
		"SELECT quantileExactIf(0.5)(double1, blob1 = 'a'), medianIf(double1, double2 > 1), groupArrayIf(blob1, 1), argMinIf(blob1, double1, index1 = 'x'), uniqExactIf(blob2, 0) FROM requests",
		`SELECT extract(blob1, 'id=([0-9]+)'), extractAll(blob1, '\\d+'), match(blob1, '(?-s)^a.b$'), replaceRegexpAll(blob1, '(a)(b)?', '<\\2|\\1|\\0|\\\\>') FROM requests`,
		"SELECT dateDiff('week', toDate('2024-01-07'), timestamp, 'Asia/Kolkata'), date_diff('MS', timestamp, now()), toTypeName(intDiv(toInt8(7), 2.0)), extract(DAY FROM timestamp) FROM requests",
		// subqueries and WITH (subquery.go)
		"SELECT blob1, count() * 100 / (SELECT count() FROM requests) AS pct FROM requests WHERE double1 > (SELECT avg(double1) FROM requests) GROUP BY blob1 HAVING pct > (SELECT 1)",
		"SELECT count() FROM requests WHERE index1 IN (SELECT index1 FROM requests GROUP BY index1 ORDER BY count() DESC LIMIT 2) AND blob2 NOT IN (SELECT NULL)",
		"WITH 10 AS ten, (SELECT max(double1) FROM weather) AS m, busiest AS (SELECT index1 FROM requests LIMIT 2), b2 AS (WITH 1 AS one SELECT index1 FROM busiest) SELECT m / ten FROM busiest WHERE index1 IN b2 AND index1 NOT IN `busiest`",
		"SELECT abs((SELECT -1)), (WITH a AS (SELECT 1 AS x) SELECT x FROM a), double1 AS d, (SELECT count() FROM requests WHERE double1 > d) FROM requests",
		"SELECT * FROM (WITH w AS (SELECT blob1 FROM weather) SELECT * FROM w) WHERE blob1 IN ((SELECT 'x'), 'y')",
	)
	return seeds
}

func FuzzLex(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := lex(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 || e.Token == "" {
				t.Fatalf("lex error without position: %#v", err)
			}
			return
		}
		if len(toks) == 0 || toks[len(toks)-1].Kind != tEOF {
			t.Fatal("tokens do not end with EOF")
		}
		prev := 0
		for _, tk := range toks {
			if tk.Pos < prev || tk.End < tk.Pos || tk.End > len(s) || s[tk.Pos:tk.End] != tk.Text {
				t.Fatalf("token %+v out of place", tk)
			}
			if !utf8.ValidString(tk.Val) {
				t.Fatalf("token value is not UTF-8: %q", tk.Val)
			}
			prev = tk.End
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parse(s, 64)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 || e.Token == "" {
				t.Fatalf("parse error without position: %#v", err)
			}
			return
		}
		// the canonical form parses back to itself
		canon := stmtString(st)
		st2, err := parse(canon, 1<<20)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if again := stmtString(st2); again != canon {
			t.Fatalf("canonical form unstable:\n%q\n%q", canon, again)
		}
	})
}

// compileWithin compiles s with compile, failing t when it runs for more
// than 5 s (a fuzzed statement must never hang the compiler).
func compileWithin(t *testing.T, name string, compile func(string, Catalog, Options) (*Plan, error), s string, cat Catalog) (p *Plan, err error) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, err = compile(s, cat, DefaultOptions())
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s(%q) runs for more than 5 s", name, s)
	}
	return p, err
}

func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	cat := newMarkerCatalog()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := compileWithin(t, "Compile", Compile, s, cat)
		if err := checkSafe(s, p, err); err != nil {
			if p != nil {
				t.Fatalf("%q: %v\nSQL: %s", s, err, p.SQL)
			}
			t.Fatalf("%q: %v", s, err)
		}
		if err == nil && p.Kind == KindSelect && strings.Count(p.SQL, "$") < len(p.Args) {
			t.Fatalf("%q: %d args but SQL has fewer parameters", s, len(p.Args))
		}
		if err == nil && p.Totals != nil {
			// the WITH TOTALS statement is held to the same rules
			if err := checkSafe(s, p.Totals, nil); err != nil {
				t.Fatalf("%q: totals: %v\nSQL: %s", s, err, p.Totals.SQL)
			}
		}
	})
}

// FuzzCompileClickHouse holds the ClickHouse printer to the same rules as
// FuzzCompile holds the DuckDB one: it never panics or hangs, refusals are
// *Errors with a position, and accepted statements (and their WITH TOTALS
// statements) have no parameters, stay within maxSQLBytes, read only the
// catalog's (project-scoped) sources, and keep user text inside string
// literals escaped only as \xHH (checkPrintedCH re-lexes them).
func FuzzCompileClickHouse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	cat := chMarkerCatalog{newMarkerCatalog()}
	newest := func(s string, cat Catalog, o Options) (*Plan, error) {
		return CompileClickHouseFor(s, cat, o, ClickHouseFeatures{LimitByOffset: true, FormatOffset: true})
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := compileWithin(t, "CompileClickHouse", CompileClickHouse, s, cat)
		if err != nil {
			if err := checkSafe(s, nil, err); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		// the SQL for servers with every feature (native forms)
		pn, err := compileWithin(t, "CompileClickHouseFor", newest, s, cat)
		if err != nil {
			t.Fatalf("%q: accepted for 18.16, refused for newer servers: %v", s, err)
		}
		for _, pl := range []*Plan{p, p.Totals, pn, pn.Totals} {
			if pl == nil || pl.Kind == KindConst {
				continue
			}
			if len(pl.Args) > 0 || pl.CountSQL != "" {
				t.Fatalf("%q: %d parameters, count SQL %q", s, len(pl.Args), pl.CountSQL)
			}
			if len(pl.SQL) > maxSQLBytes {
				t.Fatalf("%q: %d bytes of SQL", s, len(pl.SQL))
			}
			if n := strings.Count(pl.SQL, "__scoped_marker_"); n != len(pl.sources) {
				t.Fatalf("%q: %d sources recorded, %d in the SQL", s, len(pl.sources), n)
			}
			for _, src := range pl.sources {
				if !strings.HasSuffix(src, " WHERE project = 7)") {
					t.Fatalf("%q: source %q is not the catalog's", s, src)
				}
			}
			if err := checkPrintedCH(pl.SQL, pl.sources); err != nil {
				t.Fatalf("%q: %v\nSQL: %s", s, err, pl.SQL)
			}
		}
	})
}
