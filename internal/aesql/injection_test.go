package aesql

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// loadCorpus reads testdata/injection.txt: entries separated by blank
// lines, "# " lines are comments.
func loadCorpus(t testing.TB) []string {
	data, err := os.ReadFile("testdata/injection.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "# "):
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

// checkSafe asserts the contract for any input: a refusal is an *Error
// naming line, column and token; an accepted query's SQL reads only
// Catalog.Source outputs and calls only mapped functions.
func checkSafe(q string, p *Plan, err error) error {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return fmt.Errorf("refused without an *Error: %v", err)
		}
		if e.Line < 1 || e.Col < 1 || e.Token == "" || e.Msg == "" {
			return fmt.Errorf("refusal lacks position or token: %#v", e)
		}
		if e.Token != endOfInput && !strings.Contains(q, strings.TrimSuffix(e.Token, "…")) {
			return fmt.Errorf("token %q is not in the query", e.Token)
		}
		return nil
	}
	if p.Kind == KindConst {
		if p.SQL != "" || len(p.Args) != 0 {
			return fmt.Errorf("const plan with SQL")
		}
		return nil
	}
	if p.Kind != KindSelect {
		return fmt.Errorf("plan kind %d", p.Kind)
	}
	if len(p.Columns) == 0 {
		return fmt.Errorf("no columns")
	}
	if p.CountSQL != "" {
		if err := checkPrinted(p.CountSQL, p.sources); err != nil {
			return fmt.Errorf("count query: %w", err)
		}
	}
	return checkPrinted(p.SQL, p.sources)
}

func TestInjectionCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 60 {
		t.Fatalf("corpus has %d entries, want at least 60", len(corpus))
	}
	refused := 0
	for _, q := range corpus {
		p, err := mustCompile(q)
		if err := checkSafe(q, p, err); err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		if err != nil {
			refused++
			continue
		}
		// accepted: run it on DuckDB, where project 2's rows must not appear
		dp, rows, err := runDuck(t, q)
		if err != nil {
			t.Errorf("%q: accepted but fails on DuckDB: %v", q, err)
			continue
		}
		if strings.Contains(fmtRows(rows), "SECRET") {
			t.Errorf("%q read another project's rows:\n%s\n%s", q, dp.SQL, fmtRows(rows))
		}
	}
	t.Logf("%d entries: %d refused, %d compiled to scoped SQL", len(corpus), refused, len(corpus)-refused)
}

// TestCheckPrintedCatchesEscapes makes sure the loose SQL checker used by
// the corpus and fuzz tests fails on what it exists to catch.
func TestCheckPrintedCatchesEscapes(t *testing.T) {
	src := markerPrefix + "8 WHERE project = $1)"
	bad := []string{
		"SELECT 1 FROM main.api_keys",
		"SELECT 1 FROM " + src + " AS t0 UNION SELECT 1 FROM x",
		"SELECT read_csv('/etc/passwd')",
		"SELECT 1 FROM read_csv('x')",
		"SELECT 1; DROP TABLE x",
		"SELECT 1 -- x",
		"SELECT \"api_keys\" FROM " + src + " AS t0",
		"SELECT 1 FROM (SELECT * FROM __scoped_marker_1) AS t0",
	}
	for _, s := range bad {
		if err := checkPrinted(s, []string{src}); err == nil {
			t.Errorf("checkPrinted accepted %q", s)
		}
	}
	good := "SELECT CAST(t0.\"blob1\" AS VARCHAR) AS \"c0\" FROM " + src + " AS t0"
	if err := checkPrinted(good, []string{src}); err != nil {
		t.Errorf("checkPrinted refused %q: %v", good, err)
	}
}

// TestScopeInjected checks that the dataset reference of the innermost
// subquery is Catalog.Source's text with its arguments first, and that
// user strings follow as parameters.
func TestScopeInjected(t *testing.T) {
	p, err := mustCompile("SELECT n FROM (SELECT count() AS n FROM (SELECT * FROM weather WHERE blob1 = 'London'))")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.sources) != 1 || !strings.Contains(p.SQL, p.sources[0]+" AS t2") {
		t.Fatalf("sources %q in %s", p.sources, p.SQL)
	}
	if len(p.Args) != 2 || p.Args[0] != "proj:weather" || p.Args[1] != "London" {
		t.Errorf("args %#v", p.Args)
	}
	if strings.Contains(p.SQL, "London") || strings.Contains(p.SQL, "weather") {
		t.Errorf("user text in SQL: %s", p.SQL)
	}
	if err := checkPrinted(p.SQL, p.sources); err != nil {
		t.Error(err)
	}
}
