//go:build clickhouse

package aesql_test

// TestClickHouseBackend proves the ClickHouse backend of the SQL API
// (print_clickhouse.go, CompileClickHouse): it starts clickhouse-server
// (as the recorder does, clickhouse_record_test.go), loads the corpus
// data into one table of points with a project column (the corpus's
// points under project 1, and the same points again under project 2, so
// that a query that escaped its project would count twice), runs every
// query of testdata/clickhouse/queries.sql compiled for ClickHouse over
// its HTTP interface through chSQLAPI (clickhouse_exec_test.go: the SQL
// API's steps, down to aesql.WriteResult), and compares each answer, its
// WITH TOTALS row included, with Alidade's DuckDB answer to the same query
// over the same points (a real in-process server, as corpus_test.go
// replays). It logs how many are identical and
// fails on a difference that testdata/clickhouse/backend_differences.txt
// does not list with its reason, and on a listed one that has gone.
//
//	make test-clickhouse-sql
//	go test -tags clickhouse -run TestClickHouseBackend ./internal/aesql/ [-args -corpus-update]

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
)

const backendDifferences = "testdata/clickhouse/backend_differences.txt"

// chCatalog is the project's datasets in the points table.
type chCatalog struct {
	project  int64
	datasets []string
}

func (c *chCatalog) Datasets() []string          { return c.datasets }
func (c *chCatalog) Schema(string) *point.Schema { return nil }
func (c *chCatalog) Source(d string, _ int) (string, []any, bool) {
	for _, x := range c.datasets {
		if x == d {
			s, err := aesql.ClickHouseSource("points", c.project, d)
			if err != nil {
				panic(err)
			}
			return s, nil, true
		}
	}
	return "", nil, false
}

// apiAnswer reads an answer of the SQL API: the rows of a FORMAT JSON
// body and its totals row (TabSeparated, "" without WITH TOTALS), or the
// status and message of an error.
func apiAnswer(t *testing.T, id, backend string, code int, body []byte) (corpusAnswer, string) {
	var a corpusAnswer
	if code != 200 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(body, &eb)
		a.Err = fmt.Sprintf("%d %s", code, eb.Error.Message)
		return a, ""
	}
	a, err := answerFromJSON(body)
	if err != nil {
		t.Fatalf("%s: unreadable %s answer: %v\n%s", id, backend, err, body)
	}
	totals, err := totalsFromJSON(body)
	if err != nil {
		t.Fatalf("%s: unreadable %s totals: %v\n%s", id, backend, err, body)
	}
	return a, totals
}

// duckAnswers runs queries through a real in-process Alidade server (the
// DuckDB backend) holding the corpus's points: the answers and the
// totals rows.
func duckAnswers(t *testing.T, queries []aesql.CorpusQuery) (map[string]corpusAnswer, map[string]string) {
	sqlAPI := corpusServer(t, "clickhouse-backend")
	out, totals := map[string]corpusAnswer{}, map[string]string{}
	for _, q := range queries {
		code, body := sqlAPI(q.SQL)
		out[q.ID], totals[q.ID] = apiAnswer(t, q.ID, "DuckDB", code, body)
	}
	return out, totals
}

// loadPoints makes the points table: the corpus's datasets under
// projects 1 and 2.
func loadPoints(t *testing.T, s *chServer) []string {
	cols := []string{"dataset String", "timestamp DateTime", "_sample_interval UInt32", "index1 String"}
	for i := 1; i <= point.MaxBlobs; i++ {
		cols = append(cols, fmt.Sprintf("blob%d String", i))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols = append(cols, fmt.Sprintf("double%d Float64", i))
	}
	s.exec(t, "CREATE TABLE points (project UInt64, "+strings.Join(cols, ", ")+") ENGINE = MergeTree() ORDER BY (project, dataset, timestamp)", nil)
	var names []string
	for _, d := range corpusData() {
		names = append(names, d.Name)
		s.exec(t, "CREATE TABLE load_"+d.Name+" ("+strings.Join(cols, ", ")+") ENGINE = Memory", nil)
		s.exec(t, "INSERT INTO load_"+d.Name+" FORMAT TabSeparated", bytes.NewReader(corpusTSV(d)))
		for _, project := range []string{"1", "2"} {
			s.exec(t, "INSERT INTO points SELECT "+project+", * FROM load_"+d.Name, nil)
		}
	}
	return names
}

func TestClickHouseBackend(t *testing.T) {
	runClickHouseBackend(t, startClickHouse(t), backendDifferences)
}

// runClickHouseBackend is TestClickHouseBackend on server s, with the
// differences listed in the file differences.
func runClickHouseBackend(t *testing.T, s *chServer, backendDifferences string) {
	queries, err := aesql.ReadCorpusQueries(corpusQueries)
	if err != nil {
		t.Fatal(err)
	}
	diffLines, listed, err := readDifferences(backendDifferences)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, ver := s.query(t, "SELECT version()", nil)
	cat := &chCatalog{project: 1, datasets: loadPoints(t, s)}
	started := time.Since(start)

	start = time.Now()
	duck, duckTotals := duckAnswers(t, queries)
	duckTime := time.Since(start)

	start = time.Now()
	same, bothFail, withTotals := 0, 0, 0
	differ := map[string]string{}
	var order []string
	for _, q := range queries {
		code, body := chSQLAPI(t, s, cat, q.SQL, chAPIOptions{Timeout: 30 * time.Second})
		got, gotTotals := apiAnswer(t, q.ID, "ClickHouse", code, body)
		d := sameAnswer(duck[q.ID], got, isOrdered(q.SQL))
		if d == "" && duckTotals[q.ID] != gotTotals {
			d = fmt.Sprintf("totals: Alidade %q, ClickHouse %q", gotTotals, duckTotals[q.ID])
		}
		if d == "" && gotTotals != "" {
			withTotals++
		}
		if d != "" {
			// sameAnswer names its first answer ClickHouse and its second Alidade
			d = strings.NewReplacer("ClickHouse fails", "DuckDB fails", "Alidade fails", "ClickHouse fails", "from ClickHouse", "from DuckDB",
				"from Alidade", "from ClickHouse", `ClickHouse "`, `DuckDB "`, `Alidade "`, `ClickHouse "`).Replace(d)
			differ[q.ID] = d
			order = append(order, q.ID)
			if l, ok := listed[q.ID]; !ok || strings.HasPrefix(l.reason, "NEW:") {
				if !*corpusUpdate {
					t.Errorf("%s:%d: %s: the ClickHouse backend differs from DuckDB, and %s gives no reason:\n  %s\n  %s", corpusQueries, q.Line, q.ID, backendDifferences, oneLine(q.SQL), d)
				}
			} else if testing.Verbose() {
				t.Logf("%s (listed: %s): %s", q.ID, l.reason, d)
			}
			continue
		}
		same++
		if got.Err != "" {
			bothFail++
		}
		if l, ok := listed[q.ID]; ok && !*corpusUpdate {
			t.Errorf("%s:%d: %s now answers as DuckDB does; remove it from the list", backendDifferences, l.line, q.ID)
		}
	}
	t.Logf("clickhouse backend (ClickHouse %s): %d of %d identical to the DuckDB backend (%d of them refused by both, %d with equal totals rows); %d differences, listed in %s; load %v, DuckDB replay %v, ClickHouse %v",
		strings.TrimSpace(string(ver)), same, len(queries), bothFail, withTotals, len(differ), backendDifferences,
		started.Round(time.Millisecond), duckTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if *corpusUpdate {
		var out []string
		kept := map[string]bool{}
		for _, l := range diffLines {
			id, _, _ := strings.Cut(l, " ")
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				out = append(out, l)
				continue
			}
			if _, still := differ[id]; still {
				if strings.HasPrefix(listed[id].reason, "NEW:") {
					l = id + " NEW: " + oneLine(differ[id])
				}
				out = append(out, l)
				kept[id] = true
			}
		}
		for _, id := range order {
			if !kept[id] {
				out = append(out, id+" NEW: "+oneLine(differ[id]))
			}
		}
		if err := os.WriteFile(backendDifferences, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
