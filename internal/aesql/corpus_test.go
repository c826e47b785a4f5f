package aesql_test

// TestClickHouseCorpus replays the ClickHouse differential corpus: the
// queries of testdata/clickhouse/queries.sql, whose answers ClickHouse
// gave over the data of corpusData are in testdata/clickhouse/answers.txt
// (recorded by clickhouse_record_test.go), run against a real in-process
// Alidade server holding the same points. It logs how many answers are
// identical and fails on every difference that testdata/clickhouse/
// differences.txt does not list with its reason, and on every listed
// difference that has gone (so the list stays true).
//
// The differences file has a line per differing query: its id, then the
// reason (lines starting with "#" are comments, grouping them). With
// -corpus-update the test rewrites it: listed queries that still differ
// keep their reasons, new ones get "NEW: <what differs>", which fails the
// test until a person writes the reason.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/aesql"
)

var corpusUpdate = flag.Bool("corpus-update", false, "rewrite testdata/clickhouse/differences.txt from this run")

type corpusDifference struct {
	id, reason string
	line       int
}

// readDifferences keeps the file's lines so that an update keeps its
// comments and order.
func readDifferences(path string) ([]string, map[string]corpusDifference, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, map[string]corpusDifference{}, nil
		}
		return nil, nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	out := map[string]corpusDifference{}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id, reason, _ := strings.Cut(l, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return nil, nil, fmt.Errorf("%s:%d: %s has no reason", path, i+1, id)
		}
		if _, dup := out[id]; dup {
			return nil, nil, fmt.Errorf("%s:%d: %s listed twice", path, i+1, id)
		}
		out[id] = corpusDifference{id, reason, i + 1}
	}
	return lines, out, nil
}

func TestClickHouseCorpus(t *testing.T) {
	queries, err := aesql.ReadCorpusQueries(corpusQueries)
	if err != nil {
		t.Fatal(err)
	}
	dataHash, answers, err := readAnswers(corpusAnswers)
	if err != nil {
		t.Fatal(err)
	}
	if want := corpusDataHash(); dataHash != want {
		t.Fatalf("%s was recorded over other data (data %q; corpusData now gives %q): re-record it (go test -tags clickhouse -run TestRecordClickHouseCorpus ./internal/aesql/)", corpusAnswers, dataHash, want)
	}
	diffLines, listed, err := readDifferences(corpusDifferences)
	if err != nil {
		t.Fatal(err)
	}
	sqlAPI := corpusServer(t, "clickhouse-corpus")

	start := time.Now()
	same, bothFail := 0, 0
	differ := map[string]string{}
	var order []string
	for _, q := range queries {
		ch, ok := answers[q.ID]
		if !ok {
			t.Errorf("%s:%d: %s has no recorded answer; run the recorder (go test -tags clickhouse -run TestRecordClickHouseCorpus ./internal/aesql/)", corpusQueries, q.Line, q.ID)
			continue
		}
		if ch.SQLHash != sqlHash(q.SQL) {
			t.Errorf("%s:%d: %s changed since its answer was recorded; re-record (go test -tags clickhouse -run TestRecordClickHouseCorpus ./internal/aesql/)", corpusQueries, q.Line, q.ID)
			continue
		}
		code, body := sqlAPI(q.SQL)
		var got corpusAnswer
		if code == 200 {
			if got, err = answerFromJSON(body); err != nil {
				t.Errorf("%s: unreadable answer: %v\n%s", q.ID, err, body)
				continue
			}
		} else {
			var eb struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(body, &eb) != nil || eb.Error.Message == "" {
				t.Errorf("%s: status %d without an error body: %s", q.ID, code, body)
				continue
			}
			if code >= 500 {
				t.Errorf("%s: status %d: %s (a query the dialect cannot run is a 4xx)", q.ID, code, eb.Error.Message)
			}
			got.Err = fmt.Sprintf("%d %s", code, eb.Error.Message)
		}
		if d := sameAnswer(ch, got, isOrdered(q.SQL)); d != "" {
			differ[q.ID] = d
			order = append(order, q.ID)
			if l, ok := listed[q.ID]; !ok || strings.HasPrefix(l.reason, "NEW:") {
				if !*corpusUpdate {
					t.Errorf("%s:%d: %s differs from ClickHouse, and %s gives no reason:\n  %s\n  %s", corpusQueries, q.Line, q.ID, corpusDifferences, oneLine(q.SQL), d)
				}
			} else if testing.Verbose() {
				t.Logf("%s (listed: %s): %s", q.ID, l.reason, d)
			}
			continue
		}
		same++
		if ch.Err != "" {
			bothFail++
		}
		if l, ok := listed[q.ID]; ok && !*corpusUpdate {
			t.Errorf("%s:%d: %s now answers as ClickHouse does; remove it from the list", corpusDifferences, l.line, q.ID)
		}
	}
	known := map[string]bool{}
	for _, q := range queries {
		known[q.ID] = true
	}
	for id, l := range listed {
		if !known[id] && !*corpusUpdate {
			t.Errorf("%s:%d: %s is not a query of %s", corpusDifferences, l.line, id, corpusQueries)
		}
	}
	t.Logf("corpus: %d of %d identical (%d of them refused by both); %d differences, listed in %s; %v", same, len(queries), bothFail, len(differ), corpusDifferences, time.Since(start).Round(time.Millisecond))
	if *corpusUpdate {
		var out []string
		kept := map[string]bool{}
		for _, l := range diffLines {
			id, _, _ := strings.Cut(l, " ")
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				out = append(out, l)
				continue
			}
			if _, still := differ[id]; still && known[id] {
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
		if err := os.WriteFile(corpusDifferences, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "..."
	}
	return s
}
