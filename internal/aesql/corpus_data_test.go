package aesql_test

// Shared by the ClickHouse differential corpus's recorder
// (clickhouse_record_test.go, build tag clickhouse) and its replay
// (corpus_test.go): the generated data both sides load, and the answers
// file's format.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
)

const (
	corpusQueries     = "testdata/clickhouse/queries.sql"
	corpusAnswers     = "testdata/clickhouse/answers.txt"
	corpusDifferences = "testdata/clickhouse/differences.txt"
)

// corpusDataset is one generated dataset: a ClickHouse table of AE's
// columns named like the dataset.
type corpusDataset struct {
	Name   string
	Points []point.Point // Timestamp in Unix ms (whole seconds), SampleInterval >= 1
}

// corpusRand is splitmix64: a generator whose sequence never changes
// with the Go version, so the recorded answers stay true.
type corpusRand uint64

func (r *corpusRand) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *corpusRand) intn(n int) int { return int(r.next() % uint64(n)) }

func pick[T any](r *corpusRand, xs []T) T { return xs[r.intn(len(xs))] }

// corpusData generates the corpus's datasets:
//
//   - reqs: 2400 web requests, one every 97 s from 2025-03-29 00:00:00
//     UTC (about 2.7 days, across the start of European summer time on
//     2025-03-30 01:00 UTC). index1 a user (u1..u30, or empty); blob1 a
//     path, blob2 a method, blob3 a country (some empty), blob4 a user
//     agent (one with a tab, one with a newline, some non-ASCII); double1
//     a duration in ms with one decimal (many ties), double2 an HTTP
//     status, double3 a size in bytes (integer), double4 a signed value in
//     eighths (halves for rounding ties), double5 mostly 0. Every 10th
//     point has _sample_interval 10, every 97th 100, the rest 1.
//   - weather: 600 hourly readings from 2025-03-20 00:00:00 UTC (25 days,
//     across a month end): index1 and blob1 a city, blob2 a condition,
//     double1 a temperature in tenths (negative too), double2 a humidity
//     percentage (integer), double3 a rain amount (0 most hours).
func corpusData() []corpusDataset {
	r := corpusRand(20250329)
	var reqs []point.Point
	t0 := time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC).UnixMilli()
	paths := []string{"/", "/api/users", "/api/orders", "/api/users/42", "/login", "/static/app.js", "/static/app.css", "/search", ""}
	methods := []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	countries := []string{"US", "US", "DE", "FR", "JP", "BR", "GB", "", "IN", "de"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh)", "curl/8.5.0", "Grüße-Bot/1.0 ☃", "python-requests/2.31", "Go-http-client/1.1", "", "tab\there", "line\nbreak"}
	statuses := []float64{200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 404, 500, 503}
	for i := 0; i < 2400; i++ {
		user := ""
		if u := r.intn(32); u < 30 {
			user = "u" + strconv.Itoa(u+1)
		}
		si := uint32(1)
		switch {
		case i%97 == 0:
			si = 100
		case i%10 == 0:
			si = 10
		}
		agent := pick(&r, agents[:7])
		if i == 1234 {
			agent = agents[7]
		}
		if i == 2001 {
			agent = agents[8]
		}
		d5 := 0.0
		if r.intn(5) == 0 {
			d5 = float64(r.intn(7))
		}
		reqs = append(reqs, point.Point{
			Dataset:        "reqs",
			Timestamp:      t0 + int64(i)*97_000,
			SampleInterval: si,
			Index:          user,
			Blobs:          []string{pick(&r, paths), pick(&r, methods), pick(&r, countries), agent},
			Doubles: []float64{
				float64(r.intn(3000)) / 10,
				pick(&r, statuses),
				float64(r.intn(200000)),
				float64(r.intn(2001)-1000) / 8,
				d5,
			},
		})
	}
	r = corpusRand(20250320)
	var weather []point.Point
	w0 := time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC).UnixMilli()
	cities := []string{"Oslo", "Lisbon", "Tokyo", "Zürich"}
	base := map[string]int{"Oslo": 20, "Lisbon": 150, "Tokyo": 110, "Zürich": 70}
	conds := []string{"sun", "cloud", "cloud", "rain", "snow", "fog"}
	for i := 0; i < 600; i++ {
		city := cities[i%len(cities)]
		rain := 0.0
		if r.intn(4) == 0 {
			rain = float64(r.intn(50)) / 10
		}
		weather = append(weather, point.Point{
			Dataset:        "weather",
			Timestamp:      w0 + int64(i)*3_600_000,
			SampleInterval: 1,
			Index:          city,
			Blobs:          []string{city, pick(&r, conds)},
			Doubles: []float64{
				float64(base[city]+r.intn(161)-80) / 10,
				float64(30 + r.intn(70)),
				rain,
			},
		})
	}
	return []corpusDataset{{"reqs", reqs}, {"weather", weather}}
}

// corpusTSV renders a dataset as TabSeparated rows of the table's columns,
// as the recorder loads them into ClickHouse.
func corpusTSV(d corpusDataset) []byte {
	var b bytes.Buffer
	for _, p := range d.Points {
		b.WriteString(tsvEscape(d.Name, false))
		b.WriteString("\t" + time.UnixMilli(p.Timestamp).UTC().Format("2006-01-02 15:04:05"))
		b.WriteString("\t" + strconv.FormatUint(uint64(p.Weight()), 10))
		b.WriteString("\t" + tsvEscape(p.Index, false))
		for i := 1; i <= point.MaxBlobs; i++ {
			b.WriteString("\t" + tsvEscape(p.Blob(i), false))
		}
		for i := 1; i <= point.MaxDoubles; i++ {
			b.WriteString("\t" + strconv.FormatFloat(p.Double(i), 'g', -1, 64))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// corpusDataHash identifies the generated data; the answers file records
// it, so that answers recorded over other data are never compared.
func corpusDataHash() string {
	h := sha256.New()
	for _, d := range corpusData() {
		h.Write(corpusTSV(d))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// sqlHash identifies a query's text in the answers file, so that an
// edited query without a new recording is noticed.
func sqlHash(sql string) string {
	h := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(h[:4])
}

// ---- answers ----

// corpusAnswer is one query's answer: columns and rows in TabSeparated
// style (rendered from FORMAT JSON by renderTSV), or an error.
type corpusAnswer struct {
	SQLHash string // sqlHash of the query the answer is to (answers file only)
	Cols    []column
	Rows    []string
	Err     string // "<code> <message>" from ClickHouse; Alidade's message
}

// answerFromJSON renders a FORMAT JSON body.
func answerFromJSON(body []byte) (corpusAnswer, error) {
	cols, rows, err := decodeJSONResult(body)
	if err != nil {
		return corpusAnswer{}, err
	}
	a := corpusAnswer{Cols: cols}
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, v := range row {
			if cells[j], err = renderTSV(cols[j].Type, v, false); err != nil {
				return corpusAnswer{}, fmt.Errorf("row %d column %s: %v", i+1, cols[j].Name, err)
			}
		}
		a.Rows = append(a.Rows, strings.Join(cells, "\t"))
	}
	return a, nil
}

func readAnswers(path string) (string, map[string]corpusAnswer, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	out := map[string]corpusAnswer{}
	dataHash := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		n++
		return sc.Text(), true
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...))
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if h, ok := strings.CutPrefix(line, "data: "); ok {
			dataHash = h
			continue
		}
		head, ok := strings.CutPrefix(line, "=== ")
		id, hash, _ := strings.Cut(head, " ")
		if !ok {
			return "", nil, bad("want \"=== <id>\", got %q", line)
		}
		line, ok = next()
		if !ok {
			return "", nil, bad("answer %s ends early", id)
		}
		if e, ok := strings.CutPrefix(line, "error: "); ok {
			out[id] = corpusAnswer{SQLHash: hash, Err: e}
			continue
		}
		c, ok := strings.CutPrefix(line, "columns: ")
		if !ok {
			return "", nil, bad("answer %s: want columns: or error:", id)
		}
		a := corpusAnswer{SQLHash: hash}
		if a.Cols, err = parseColumns(c); err != nil {
			return "", nil, bad("%v", err)
		}
		line, _ = next()
		rc, ok := strings.CutPrefix(line, "rows: ")
		cnt, err := strconv.Atoi(rc)
		if !ok || err != nil {
			return "", nil, bad("answer %s: want rows: N", id)
		}
		for i := 0; i < cnt; i++ {
			r, ok := next()
			if !ok {
				return "", nil, bad("answer %s ends after %d of %d rows", id, i, cnt)
			}
			a.Rows = append(a.Rows, r)
		}
		out[id] = a
	}
	return dataHash, out, sc.Err()
}

// ---- comparison ----

// sameAnswer compares ClickHouse's answer with Alidade's: both errors
// agree; otherwise the columns (names and types) must be equal and the
// rows too, in order when ordered, floats (also in arrays) within a
// relative 1e-9. It returns "" or what differs.
func sameAnswer(ch, got corpusAnswer, ordered bool) string {
	switch {
	case ch.Err != "" && got.Err != "":
		return ""
	case ch.Err != "":
		return "ClickHouse fails (" + ch.Err + "), Alidade answers"
	case got.Err != "":
		return "Alidade fails: " + got.Err
	}
	if !slices.Equal(ch.Cols, got.Cols) {
		return fmt.Sprintf("columns: ClickHouse %s, Alidade %s", fmtCols(ch.Cols), fmtCols(got.Cols))
	}
	w, g := ch.Rows, got.Rows
	if !ordered {
		w, g = slices.Clone(w), slices.Clone(g)
		slices.Sort(w)
		slices.Sort(g)
	}
	if len(w) != len(g) {
		return fmt.Sprintf("%d rows from ClickHouse, %d from Alidade", len(w), len(g))
	}
	for i := range w {
		if w[i] == g[i] {
			continue
		}
		wc, gc := strings.Split(w[i], "\t"), strings.Split(g[i], "\t")
		if len(wc) != len(gc) || len(wc) != len(ch.Cols) {
			return fmt.Sprintf("row %d: ClickHouse %q, Alidade %q", i+1, w[i], g[i])
		}
		for j := range wc {
			if !sameCell(ch.Cols[j].Type, wc[j], gc[j]) {
				return fmt.Sprintf("row %d column %s: ClickHouse %q, Alidade %q", i+1, ch.Cols[j].Name, wc[j], gc[j])
			}
		}
	}
	return ""
}

func sameCell(typ, want, got string) bool {
	if want == got {
		return true
	}
	t := unwrapType(typ)
	if elem, ok := strings.CutPrefix(t, "Array("); ok {
		if !isFloatType(strings.TrimSuffix(elem, ")")) {
			return false
		}
		wa, ga := strings.Split(strings.Trim(want, "[]"), ","), strings.Split(strings.Trim(got, "[]"), ",")
		if len(wa) != len(ga) {
			return false
		}
		for i := range wa {
			if !sameFloat(wa[i], ga[i]) {
				return false
			}
		}
		return true
	}
	return isFloatType(t) && sameFloat(want, got)
}

func sameFloat(want, got string) bool {
	if want == got {
		return true
	}
	wf, err1 := strconv.ParseFloat(want, 64)
	gf, err2 := strconv.ParseFloat(got, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return math.Abs(wf-gf) <= 1e-9*math.Max(1, math.Abs(wf))
}

// isOrdered reports whether a query's rows come in a decided order: it
// has an ORDER BY (a query without one compares as a multiset).
func isOrdered(sql string) bool {
	return strings.Contains(strings.ToUpper(strings.Join(strings.Fields(sql), " ")), "ORDER BY")
}

// corpusServer starts a real in-process Alidade server (the DuckDB backend)
// holding the corpus's points in a new project named name, and returns a
// function that runs one query through its SQL API with the project's
// read key. The data is from 2025: the server keeps it (retention of a
// century).
func corpusServer(t *testing.T, name string) func(sql string) (status int, body []byte) {
	t.Helper()
	se := servertest.Start(t, servertest.Options{RootKey: scriptRootKey, Planner: func(o *planner.Options) {
		o.Retention = 100 * 365 * 24 * time.Hour
	}})
	do := func(path, key, body string) (int, []byte) {
		req, err := http.NewRequest("POST", se.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
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
	code, body := do("/api/v1/projects", scriptRootKey, `{"name":"`+name+`"}`)
	var proj struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	if code != 201 || json.Unmarshal(body, &proj) != nil {
		t.Fatalf("create project = %d %s", code, body)
	}
	for _, d := range corpusData() {
		pts := make([]point.Point, len(d.Points))
		copy(pts, d.Points)
		if err := se.Store.Append(context.Background(), []store.Batch{{Project: proj.ID, Points: pts}}); err != nil {
			t.Fatalf("append %s: %v", d.Name, err)
		}
	}
	return func(sql string) (int, []byte) { return do("/api/v1/sql", proj.Keys["read"], sql) }
}
