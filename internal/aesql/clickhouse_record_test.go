//go:build clickhouse

package aesql_test

// The recorder of the ClickHouse differential corpus. Not part of the
// normal suite:
//
//	go test -tags clickhouse -run TestRecordClickHouseCorpus ./internal/aesql/
//
// starts clickhouse-server (testinfra.StartClickHouse: $CLICKHOUSE_SERVER,
// else Debian's, which .ci/ensure-clickhouse installs as root) as a
// process of its own over a temporary directory, listening on free
// loopback ports only, loads the generated datasets of corpusData into
// tables of AE's columns, runs every query of testdata/clickhouse/
// queries.sql over its HTTP interface (FORMAT JSON) and rewrites
// testdata/clickhouse/answers.txt. TestClickHouseCorpus replays them.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// chServer is a running clickhouse-server, or (current) chDB behind
// .ci/chdb-http/server.js (clickhouse_current_test.go).
type chServer struct {
	url     string
	current bool

	featOnce sync.Once
	feat     aesql.ClickHouseFeatures
}

// features are what the SQL API's printer may use on s, decided from its
// version as the store decides them (clickhouse.SQLFeaturesOf).
func (s *chServer) features(t *testing.T) aesql.ClickHouseFeatures {
	s.featOnce.Do(func() {
		code, out := s.query(t, "SELECT version()", nil)
		if code != 200 {
			t.Fatalf("SELECT version(): %d %s", code, out)
		}
		v, err := clickhouse.ParseVersion(string(out))
		if err != nil {
			t.Fatal(err)
		}
		s.feat = clickhouse.SQLFeaturesOf(v)
		t.Logf("ClickHouse %s: the printer uses %+v", v, s.feat)
	})
	return s.feat
}

// startClickHouse starts a clickhouse-server of its own
// (testinfra.StartClickHouse: $CLICKHOUSE_SERVER or Debian's; skipped
// without one, failed with CI=true), in zone UTC as AE is.
func startClickHouse(t *testing.T) *chServer {
	t.Helper()
	return &chServer{url: testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{}).URL}
}

// query posts SQL and returns the status and body.
func (s *chServer) query(t *testing.T, sql string, body io.Reader) (int, []byte) {
	u := s.url
	if body != nil {
		u += "?query=" + url.QueryEscape(sql)
	} else {
		body = strings.NewReader(sql)
	}
	resp, err := http.Post(u, "text/plain", body)
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

func (s *chServer) exec(t *testing.T, sql string, body io.Reader) {
	if code, out := s.query(t, sql, body); code != 200 {
		t.Fatalf("%s: %d %s", sql, code, out)
	}
}

// chErrorRE reads the code and message of ClickHouse's error body, in
// 18.16's form ("Code: 47, e.displayText() = DB::Exception: msg, e.what()
// = DB::Exception") and the current one ("Code: 47. DB::Exception: msg.
// (UNKNOWN_IDENTIFIER) (version ...)").
var chErrorRE = regexp.MustCompile(`(?s)^Code: (\d+)[.,] (?:e\.displayText\(\) = )?(?:DB::Exception: )?(.*?)(?:, e\.what\(\) = .*|\s*\(version .*)?\s*$`)

func chError(body []byte) string {
	m := chErrorRE.FindSubmatch(body)
	if m == nil {
		return "? " + strings.TrimSpace(string(body))
	}
	msg := strings.Join(strings.Fields(string(m[2])), " ")
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return string(m[1]) + " " + msg
}

func TestRecordClickHouseCorpus(t *testing.T) {
	queries, err := aesql.ReadCorpusQueries(corpusQueries)
	if err != nil {
		t.Fatal(err)
	}
	s := startClickHouse(t)
	_, ver := s.query(t, "SELECT version()", nil)
	version := strings.TrimSpace(string(ver))
	cols := []string{"dataset String", "timestamp DateTime", "_sample_interval UInt32", "index1 String"}
	for i := 1; i <= point.MaxBlobs; i++ {
		cols = append(cols, fmt.Sprintf("blob%d String", i))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols = append(cols, fmt.Sprintf("double%d Float64", i))
	}
	for _, d := range corpusData() {
		s.exec(t, "CREATE TABLE "+d.Name+" ("+strings.Join(cols, ", ")+") ENGINE = Memory", nil)
		s.exec(t, "INSERT INTO "+d.Name+" FORMAT TabSeparated", bytes.NewReader(corpusTSV(d)))
		_, n := s.query(t, "SELECT count() FROM "+d.Name, nil)
		if got := strings.TrimSpace(string(n)); got != strconv.Itoa(len(d.Points)) {
			t.Fatalf("%s holds %s rows, want %d", d.Name, got, len(d.Points))
		}
	}
	answers := map[string]corpusAnswer{}
	var ids []string
	fails := 0
	for _, q := range queries {
		ids = append(ids, q.ID)
		code, body := s.query(t, q.SQL+"\nFORMAT JSON", nil)
		if code != 200 {
			answers[q.ID] = corpusAnswer{SQLHash: sqlHash(q.SQL), Err: chError(body)}
			fails++
			continue
		}
		a, err := answerFromJSON(body)
		if err != nil {
			// an exception after the first rows were sent
			i := bytes.LastIndex(body, []byte("Code: "))
			if i < 0 {
				t.Fatalf("%s: unreadable answer %v: %s", q.ID, err, body)
			}
			a = corpusAnswer{Err: chError(bytes.TrimSpace(body[i:]))}
			fails++
		}
		a.SQLHash = sqlHash(q.SQL)
		if !isOrdered(q.SQL) {
			slices.Sort(a.Rows) // a stable file: the replay compares such rows as a multiset
		}
		answers[q.ID] = a
	}
	header := []string{
		"ClickHouse's answers to the queries of queries.sql over the data of corpusData",
		"(corpus_data_test.go). Recorded by TestRecordClickHouseCorpus (clickhouse_record_test.go):",
		"  go test -tags clickhouse -run TestRecordClickHouseCorpus ./internal/aesql/",
		"ClickHouse " + version + ", server time zone UTC; rows as TabSeparated renders FORMAT JSON's values;",
		"an error is ClickHouse's error code and message. Do not edit by hand.",
	}
	if err := writeAnswers(corpusAnswers, header, corpusDataHash(), ids, answers); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d answers from ClickHouse %s (%d errors) in %s", len(ids), version, fails, corpusAnswers)
}

// The answers file: a comment header ("# " lines), then per query
//
//	=== <id> <sqlHash>
//	columns: name Type, name Type
//	rows: N
//	<N rows, TabSeparated; sorted when the query has no ORDER BY>
//
// or
//
//	=== <id> <sqlHash>
//	error: <ClickHouse error code> <message>
//
// A header line "data: <corpusDataHash>" names the data.
func writeAnswers(path string, header []string, dataHash string, ids []string, answers map[string]corpusAnswer) error {
	var b strings.Builder
	for _, h := range header {
		b.WriteString("# " + h + "\n")
	}
	b.WriteString("data: " + dataHash + "\n")
	for _, id := range ids {
		a := answers[id]
		b.WriteString("=== " + id + " " + a.SQLHash + "\n")
		if a.Err != "" {
			b.WriteString("error: " + strings.ReplaceAll(a.Err, "\n", " ") + "\n")
			continue
		}
		b.WriteString("columns: " + fmtCols(a.Cols) + "\n")
		b.WriteString("rows: " + strconv.Itoa(len(a.Rows)) + "\n")
		for _, r := range a.Rows {
			b.WriteString(r + "\n")
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
