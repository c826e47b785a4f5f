package aesql

import (
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hintCases trigger every error whose hint suggests SQL. from is the text
// of the query that each suggestion replaces, in the order the hint gives
// them (one entry: all of them; "": the suggestion is the whole query).
var hintCases = []struct {
	q    string
	from []string
}{
	// aggregation: the misuse of _sample_interval the issue reports (the
	// hint named any, which the dialect does not have)
	{"SELECT _sample_interval, count() FROM requests", []string{"_sample_interval"}},
	{"SELECT count() FROM requests HAVING _sample_interval > 1", []string{"_sample_interval"}},
	{"SELECT endpoint, sum(_sample_interval) FROM requests", []string{"endpoint"}},
	{"SELECT double1 FROM requests HAVING double1 > 1", []string{"HAVING double1 > 1"}},
	{"SELECT double1 FROM requests WHERE double2 > 0 HAVING double1 > 1", []string{"WHERE double2 > 0 HAVING double1 > 1"}},
	// tables
	{"SELECT count() FROM Requests", []string{""}}, // ambiguous: requests and REQUESTS
	{"SELECT count() FROM nosuch", []string{""}},
	{"SELECT count() FROM systemtables", []string{""}},
	{"SHOW DATABASES", []string{""}},
	{"SELECT 1 FORMAT XML", []string{"XML"}},
	// names and types
	{"SELECT BLOB1 FROM requests", []string{"BLOB1"}},
	{"SELECT INTERVAL 1 DAY AS i", []string{"INTERVAL 1 DAY"}},
	{"SELECT extract(WEEK FROM timestamp) FROM requests", []string{"WEEK"}},
	{"SELECT extract(FORTNIGHT FROM timestamp) FROM requests", []string{"FORTNIGHT"}},
	{"SELECT CAST(_sample_interval AS Decimal) FROM requests", []string{"Decimal"}},
	{"SELECT double1 || 'x' FROM requests", []string{"double1"}},
	{"SELECT toDate(timestamp) - toStartOfDay(timestamp) FROM requests", []string{"toDate(timestamp) - toStartOfDay(timestamp)"}},
	{"SELECT count() FROM requests WHERE timestamp > double1", []string{"timestamp"}},
	{"SELECT count() FROM requests WHERE double1 < timestamp", []string{"timestamp"}},
	{"SELECT bitShiftLeft(1, double1) FROM requests", []string{"double1"}},
	{"SELECT lower(double1) FROM requests", []string{"double1"}},
	{"SELECT toHour(blob1) FROM empty", []string{"blob1"}},
	{"SELECT now() - INTERVAL '1 DAY 2' FROM requests", []string{"INTERVAL '1 DAY 2'"}},
	{"SELECT now() - INTERVAL '1 FORTNIGHT' FROM requests", []string{"FORTNIGHT"}},
	// time zones and formats
	{"SELECT toHour(timestamp, blob1) FROM requests", []string{""}},
	{"SELECT toHour(timestamp, 'europe/berlin') FROM requests", []string{"'europe/berlin'"}},
	{"SELECT toHour(timestamp, 'Mars/Olympus_Mons') FROM requests", []string{""}},
	{"SELECT formatDateTime(timestamp, 'at 100%x') FROM requests", []string{"%"}},
}

// suggestions extracts the SQL a hint quotes with code.
var suggestionRE = regexp.MustCompile("`` (.+?) ``|`([^`]+)`")

func suggestions(hint string) []string {
	var out []string
	for _, m := range suggestionRE.FindAllStringSubmatch(hint, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// TestHintsWork triggers each error of hintCases, writes each suggestion
// of its hint into the query and runs the result on DuckDB: every
// suggestion must compile and run.
func TestHintsWork(t *testing.T) {
	cat := &duckCatalog{*newMarkerCatalog()}
	cat.datasets = append(cat.datasets, "REQUESTS")
	db := testDB(t)
	for _, c := range hintCases {
		_, err := Compile(c.q, cat, DefaultOptions())
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%s: error %v, want an *Error", c.q, err)
			continue
		}
		sugg := suggestions(e.Hint)
		if len(sugg) == 0 {
			t.Errorf("%s: hint %q suggests no SQL", c.q, e.Hint)
			continue
		}
		if len(c.from) != 1 && len(c.from) != len(sugg) {
			t.Errorf("%s: %d suggestions in %q for %d replacements", c.q, len(sugg), e.Hint, len(c.from))
			continue
		}
		for i, s := range sugg {
			from := c.from[min(i, len(c.from)-1)]
			fixed := s
			if from != "" {
				if !strings.Contains(c.q, from) {
					t.Fatalf("%s: no %q to replace", c.q, from)
				}
				fixed = strings.Replace(c.q, from, s, 1)
			}
			p, err := Compile(fixed, cat, DefaultOptions())
			if err != nil {
				t.Errorf("%s\n  hint: %s\n  suggested %s\n  fails: %v", c.q, e.Hint, fixed, err)
				continue
			}
			if p.Kind != KindSelect {
				continue
			}
			rows, err := db.Query(p.SQL, p.Args...)
			if err != nil {
				t.Errorf("%s\n  suggested %s\n  fails on DuckDB: %v", c.q, fixed, err)
				continue
			}
			for rows.Next() {
			}
			if err := rows.Err(); err != nil {
				t.Errorf("%s\n  suggested %s\n  fails on DuckDB: %v", c.q, fixed, err)
			}
			rows.Close()
		}
	}
}

// TestHintsCovered: every hint of the package's source that quotes SQL
// with code or codeList is one hintCases triggers (its format string
// matches the hint of some case).
func TestHintsCovered(t *testing.T) {
	var hints []string
	cat := &duckCatalog{*newMarkerCatalog()}
	cat.datasets = append(cat.datasets, "REQUESTS")
	for _, c := range hintCases {
		if _, err := Compile(c.q, cat, DefaultOptions()); err != nil {
			if e, ok := err.(*Error); ok {
				hints = append(hints, e.Hint)
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	sites := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := goparser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "hint" || len(call.Args) == 0 {
				return true
			}
			quotes := false
			for _, arg := range call.Args[1:] {
				ast.Inspect(arg, func(n ast.Node) bool {
					if c, ok := n.(*ast.CallExpr); ok {
						if id, ok := c.Fun.(*ast.Ident); ok && (id.Name == "code" || id.Name == "codeList") {
							quotes = true
						}
					}
					return !quotes
				})
			}
			if !quotes {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: a hint's format is not a literal", fset.Position(call.Pos()))
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			sites++
			re := regexp.MustCompile("^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(format), "%s", ".*"), "%%", "%") + "$")
			for _, h := range hints {
				if re.MatchString(h) {
					return true
				}
			}
			t.Errorf("%s: no case of hintCases gives the hint %q", fset.Position(call.Pos()), format)
			return true
		})
	}
	if sites < 20 {
		t.Errorf("found %d hints that quote SQL; want at least 20", sites)
	}
}
