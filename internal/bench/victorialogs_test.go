package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// peerEvent is one event of a FormatVictoriaLogs body as decoded JSON.
type peerEvent struct {
	TS        int64   `json:"ts"`
	Msg       string  `json:"msg"`
	Route     string  `json:"route"`
	Method    string  `json:"method"`
	Region    string  `json:"region"`
	LatencyMs float64 `json:"latency_ms"`
	Status    int     `json:"status"`
	Bytes     int64   `json:"bytes"`
}

func decodePeerBody(t *testing.T, body []byte) []peerEvent {
	t.Helper()
	var out []peerEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var e peerEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d %q: %v", len(out)+1, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// samePoints fails unless the Alidade points and the peer's events are the
// same events.
func samePoints(t *testing.T, pts []genPoint, evs []peerEvent) {
	t.Helper()
	if len(pts) != len(evs) {
		t.Fatalf("%d points, %d peer events", len(pts), len(evs))
	}
	for i, p := range pts {
		e := evs[i]
		want := peerEvent{TS: p.Timestamp, Msg: "req", Route: p.Index, Method: p.Blobs[1], Region: p.Blobs[2],
			LatencyMs: p.Doubles[0], Status: int(p.Doubles[1]), Bytes: int64(p.Doubles[2])}
		if e != want {
			t.Fatalf("event %d = %+v; want %+v (point %+v)", i, e, want, p)
		}
	}
}

func TestBodyFormatsHoldTheSameEvents(t *testing.T) {
	g := NewGenerator(11, testFrom, testTo)
	a, sa := g.Body(2, 5, 3000)
	v, sv := g.BodyAs(FormatVictoriaLogs, 2, 5, 3000)
	if sa != sv {
		t.Errorf("stats %+v and %+v differ", sa, sv)
	}
	samePoints(t, decodeBody(t, a), decodePeerBody(t, v))

	// Reused and restamped bodies too: request k of both workloads.
	defer func(old int64) { distinctPoints = old }(distinctPoints)
	distinctPoints = 3000
	ctx := context.Background()
	w, err := NewWorkload(ctx, g, 10_500, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	vw, err := w.As(ctx, FormatVictoriaLogs)
	if err != nil {
		t.Fatal(err)
	}
	if !vw.Restamped || vw.Requests != w.Requests || vw.Expected != w.Expected || vw.Format != FormatVictoriaLogs {
		t.Fatalf("peer workload %+v; want the requests of %+v", vw, w)
	}
	for k := range w.Requests {
		samePoints(t, decodeBody(t, w.Request(k).Data), decodePeerBody(t, vw.Request(k).Data))
	}
}

// fakeVictoriaLogs answers like VictoriaLogs: it stores the JSON lines it
// is sent and answers vlStatsQuery by route, with quantiles by nearest rank
// and every value a string.
type fakeVictoriaLogs struct {
	t       *testing.T
	mu      sync.Mutex
	events  []peerEvent
	flushes int
	// shift, when set, changes an answer row before it is sent.
	shift func(row map[string]string)
}

var vlRange = regexp.MustCompile(`^_time:\[(\S+), (\S+)\) \| stats by \(route\) `)

func (f *fakeVictoriaLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/health":
		fmt.Fprint(w, "OK")
	case "/insert/jsonline":
		q := r.URL.Query()
		if r.Method != "POST" || q.Get("_time_field") != "ts" || q.Get("_msg_field") != "msg" || q.Get("_stream_fields") != "route" ||
			strings.Contains(r.Header.Get("Content-Type"), "form") {
			http.Error(w, "bad request line or content type "+r.Header.Get("Content-Type"), http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.events = append(f.events, decodePeerBody(f.t, body)...)
	case "/internal/force_flush":
		f.flushes++
	case "/metrics":
		fmt.Fprintf(w, "vl_rows_ingested_total{type=\"jsonline\"} %d\nvl_rows_dropped_total{reason=\"too_small_timestamp\"} 0\n", len(f.events))
	case "/select/logsql/query":
		m := vlRange.FindStringSubmatch(r.URL.Query().Get("query"))
		if m == nil {
			http.Error(w, "cannot parse query", http.StatusBadRequest)
			return
		}
		from, err1 := time.Parse(time.RFC3339Nano, m[1])
		to, err2 := time.Parse(time.RFC3339Nano, m[2])
		if err1 != nil || err2 != nil {
			http.Error(w, "cannot parse time range", http.StatusBadRequest)
			return
		}
		lats := map[string][]float64{}
		errs := map[string]int{}
		for _, e := range f.events {
			if e.TS < from.UnixMilli() || e.TS >= to.UnixMilli() {
				continue
			}
			lats[e.Route] = append(lats[e.Route], e.LatencyMs)
			if e.Status >= 400 {
				errs[e.Route]++
			}
		}
		for _, route := range slices.Sorted(maps.Keys(lats)) {
			l := lats[route]
			sort.Float64s(l)
			var sum float64
			for _, x := range l {
				sum += x
			}
			q := func(phi float64) string { return strconv.FormatFloat(l[int(phi*float64(len(l)))], 'g', -1, 64) }
			row := map[string]string{"route": route, "n": strconv.Itoa(len(l)), "avg": strconv.FormatFloat(sum/float64(len(l)), 'g', -1, 64),
				"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "errs": strconv.Itoa(errs[route])}
			if f.shift != nil {
				f.shift(row)
			}
			b, _ := json.Marshal(row)
			fmt.Fprintf(w, "%s\n", b)
		}
	default:
		http.NotFound(w, r)
	}
}

// exactRows is what Alidade answers peerQueryBody from raw points: exact
// figures, quantiles interpolated.
func exactRows(t *testing.T, w *Workload) map[string]endpointRow {
	t.Helper()
	lats := map[string][]float64{}
	errs := map[string]float64{}
	for k := range w.Requests {
		for _, p := range decodeBody(t, w.Request(k).Data) {
			lats[p.Index] = append(lats[p.Index], p.Doubles[0])
			if p.Doubles[1] >= 400 {
				errs[p.Index]++
			}
		}
	}
	out := map[string]endpointRow{}
	for ep, l := range lats {
		var sum float64
		for _, x := range l {
			sum += x
		}
		n := float64(len(l))
		out[ep] = endpointRow{n: n, avg: sum / n, p50: Percentile(l, 0.5), p95: Percentile(l, 0.95), p99: Percentile(l, 0.99), err: 100 * errs[ep] / n}
	}
	return out
}

func TestVictoriaLogsClientAndComparison(t *testing.T) {
	fake := &fakeVictoriaLogs{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	g := NewGenerator(4, testFrom, testTo)
	w, err := NewWorkload(ctx, g, 30_000, 2500, false)
	if err != nil {
		t.Fatal(err)
	}
	vw, err := w.As(ctx, FormatVictoriaLogs)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(srv.URL, 3)
	defer c.close()
	for r := range 3 {
		lo, hi := roundShare(vw.Requests, r, 3)
		in, err := ingestRange(ctx, c, vlSink(), vw, lo, hi, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		if in.Points != 10_000 || len(in.LatenciesMs) != int(hi-lo) {
			t.Errorf("round %d: %d events in %d requests acknowledged; want 10000 in %d", r, in.Points, len(in.LatenciesMs), hi-lo)
		}
	}
	if n, dropped, ok := vlIngested(ctx, c); !ok || n != 30_000 || dropped != 0 {
		t.Errorf("vlIngested = %d, %d, %v; want 30000, 0, true", n, dropped, ok)
	}
	if err := vlFlush(ctx, c); err != nil || fake.flushes != 1 {
		t.Fatalf("vlFlush = %v after %d flushes", err, fake.flushes)
	}

	query := vlStatsQuery(testFrom, testTo)
	const want = "_time:[2026-11-26T10:00:00.000Z, 2026-11-27T10:00:00.000Z) | stats by (route) count() n, avg(latency_ms) avg, " +
		"quantile(0.5, latency_ms) p50, quantile(0.95, latency_ms) p95, quantile(0.99, latency_ms) p99, count() if (status:>=400) errs"
	if query != want {
		t.Errorf("vlStatsQuery = %q; want %q", query, want)
	}
	rows, d, err := vlQuery(ctx, c, query)
	if err != nil || d <= 0 {
		t.Fatalf("vlQuery = %v, %v", d, err)
	}
	groups, err := vlGroups(rows)
	if err != nil {
		t.Fatal(err)
	}
	exact := exactRows(t, w)
	if len(groups) != len(exact) || len(groups) < 40 {
		t.Fatalf("%d groups from the peer, %d exact; want the same, about 50", len(groups), len(exact))
	}
	diffs, at, dis := comparePeerAnswers("VictoriaLogs", exact, groups, 30_000, 0)
	if len(dis) != 0 {
		t.Fatalf("disagreements on the same events: %q", dis)
	}
	for _, q := range peerQuantileTolerance {
		if d, ok := diffs[q.key]; !ok || d > q.tol/2 || !strings.Contains(at[q.key], ": Alidade ") {
			t.Errorf("largest %s difference %v (present %v) at %q; want under %v", q.key, d, ok, at[q.key], q.tol/2)
		}
	}
	// Only a part of the range: fewer events than were sent.
	rows, _, err = vlQuery(ctx, c, vlStatsQuery(testFrom, testFrom+(testTo-testFrom)/3))
	if err != nil {
		t.Fatal(err)
	}
	if part, _ := vlGroups(rows); sumN(part) < 9000 || sumN(part) > 11000 {
		t.Errorf("the first third of the range holds %d events; want about 10000", sumN(part))
	}

	// Each way the answers can part is reported, naming the route.
	top := g.Endpoints[0].Path
	for _, tc := range []struct {
		name  string
		shift func(row map[string]string)
		want  string
	}{
		{"count", func(r map[string]string) { r["n"] = bump(r["n"], 1) }, "VictoriaLogs counts 30050 events; 30000 were sent"},
		{"avg", func(r map[string]string) { r["avg"] = scale(r["avg"], 1.001) }, "route " + top + ": avg latency"},
		{"errors", func(r map[string]string) { r["errs"] = bump(r["errs"], 1) }, "events with status >= 400 in Alidade"},
		{"p99", func(r map[string]string) { r["p99"] = scale(r["p99"], 1.5) }, "route " + top + ": p99 latency"},
		{"route", func(r map[string]string) { r["route"] += "x" }, "route " + top + ": only Alidade has it"},
	} {
		fake.mu.Lock()
		fake.shift = tc.shift
		fake.mu.Unlock()
		rows, _, err := vlQuery(ctx, c, query)
		if err != nil {
			t.Fatal(err)
		}
		groups, err := vlGroups(rows)
		if err != nil {
			t.Fatal(err)
		}
		_, _, dis := comparePeerAnswers("VictoriaLogs", exact, groups, 30_000, 0)
		if !slices.ContainsFunc(dis, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("%s: disagreements %q; want one with %q", tc.name, dis, tc.want)
		}
	}
	// Points in Alidade's range from before the run: only totals compare.
	if _, _, dis := comparePeerAnswers("VictoriaLogs", exact, groups, 29_000, 1000); len(dis) != 1 || !strings.Contains(dis[0], "VictoriaLogs counts 30000 events; 29000 were sent") {
		t.Errorf("with a baseline: %q", dis)
	}

	// Errors carry the peer's plain-text answer.
	if _, _, err := vlQuery(ctx, c, "bad((syntax"); err == nil || !strings.Contains(err.Error(), "400 Bad Request: cannot parse query") {
		t.Errorf("vlQuery of a bad query = %v", err)
	}
}

func sumN(groups map[string]peerRow) int64 {
	var n int64
	for _, g := range groups {
		n += int64(g.n)
	}
	return n
}

func bump(s string, d int) string {
	n, _ := strconv.Atoi(s)
	return strconv.Itoa(n + d)
}

func scale(s string, f float64) string {
	v, _ := strconv.ParseFloat(s, 64)
	return strconv.FormatFloat(v*f, 'g', -1, 64)
}

func TestParseVLRows(t *testing.T) {
	rows, err := parseVLRows([]byte(`{"route":"/a","n":"2","avg":"16.375","p50":"20.25","p95":"20.25","p99":"20.25","errs":"1"}` + "\n\n" +
		`{"route":"/b","n":"1","avg":"1","p50":"1","p95":"1","p99":"1","errs":"0"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := vlGroups(rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := (peerRow{n: 2, avg: 16.375, p50: 20.25, p95: 20.25, p99: 20.25, errs: 1}); g["/a"] != want || len(g) != 2 {
		t.Errorf("groups = %+v; want /a = %+v", g, want)
	}
	for _, bad := range []string{
		`{"route":"/a","n":2}`, // a number where a string is
		`not json`,
	} {
		if _, err := parseVLRows([]byte(bad)); err == nil {
			t.Errorf("parseVLRows(%q) = nil error", bad)
		}
	}
	for _, bad := range [][]map[string]string{
		{{"n": "1", "avg": "1", "p50": "1", "p95": "1", "p99": "1", "errs": "0"}},
		{{"route": "/a", "n": "x", "avg": "1", "p50": "1", "p95": "1", "p99": "1", "errs": "0"}},
		{{"route": "/a", "n": "1", "avg": "1", "p50": "1", "p95": "1", "p99": "1", "errs": ""}},
		{{"route": "/a", "n": "1", "avg": "1", "p50": "1", "p95": "1", "p99": "1", "errs": "0"}, {"route": "/a", "n": "1", "avg": "1", "p50": "1", "p95": "1", "p99": "1", "errs": "0"}},
	} {
		if _, err := vlGroups(bad); err == nil {
			t.Errorf("vlGroups(%v) = nil error", bad)
		}
	}
}

func TestCheckPeerExe(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "peer")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := CheckPeerExe(exe); err != nil || got != exe {
		t.Errorf("CheckPeerExe(%q) = %q, %v", exe, got, err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{dir, "is a directory"},
		{plain, "is not executable"},
		{"", "no peer binary"},
	} {
		if _, err := CheckPeerExe(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckPeerExe(%q) = %v; want an error saying %q", tc.path, err, tc.want)
		}
	}
}

// TestStartVictoriaLogsFailsLoudly starts stand-ins that fail: the error
// shows the end of what they printed.
func TestStartVictoriaLogsFailsLoudly(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	for _, tc := range []struct {
		exe  string
		want []string
	}{
		{script("dies", `[ "$1" = -version ] && { echo fake-1.0; exit 0; }
echo "FATAL: cannot open storage at $1" >&2
exit 3
`), []string{"VictoriaLogs exited at start: exit status 3", "FATAL: cannot open storage at -storageDataPath="}},
		{script("noversion", "echo 'flag provided but not defined: -version' >&2\nexit 2\n"), []string{"-version: exit status 2", "flag provided but not defined"}},
		{filepath.Join(dir, "missing"), []string{"no such file"}},
	} {
		_, err := StartVictoriaLogs(ctx, VictoriaLogsOptions{Exe: tc.exe, DataDir: t.TempDir(), StartTimeout: 10 * time.Second})
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("StartVictoriaLogs(%s) = %v; want an error with %q", filepath.Base(tc.exe), err, w)
			}
		}
	}
}

func TestPeerComparisonReport(t *testing.T) {
	rss, peak, disk := int64(340<<20), int64(367<<20), int64(20<<20)
	r := sampleReport()
	r.VsVictoriaLogs = &PeerComparison{
		Peer: PeerVictoriaLogs, Version: "victoria-logs-v1.26.0", Events: 2_000_000, Rounds: 3,
		AlidadeEventsPerS: []float64{1_020_000, 980_000, 1_100_000}, PeerEventsPerS: []float64{390_000, 410_000, 400_000},
		AlidadeMedian: 1_020_000, PeerMedian: 400_000, IngestRatio: 2.55,
		AlidadeQueryMs: 13, AlidadeQuerySource: "rollup", AlidadeQueryRawMs: 104, PeerQueryMs: 1796, QuerySpeedup: 138.15, QuerySpeedupRaw: 17.27,
		Groups: 50, AlidadeCount: 2_000_000, PeerCount: 2_000_000, QuantileDiff: map[string]float64{"p50": 0.0084, "p95": 0.023, "p99": 0.024},
		PeerRSSAfterIngestBytes: &rss, PeerPeakRSSBytes: &peak, PeerDiskBytes: &disk,
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vs VictoriaLogs", "Alidade events/s", "1,020,000", "VictoriaLogs events/s", "400,000", "×2.55", "≥ ×2", "1796 ms",
		"×138 (raw ×17)", "2,000,000 events each, all agree", "p50 0.84%, p95 2.3%, p99 2.4%", "peak 367.0 MiB", "median of rounds 1.02M, 980k, 1.1M"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if v := r.Verdicts(); !slices.Contains(v, Verdict{"ingest vs VictoriaLogs", true}) {
		t.Errorf("verdicts %+v; want ingest vs VictoriaLogs met", v)
	}
	r.VsVictoriaLogs.IngestRatio = 1.9
	if v := r.Verdicts(); !slices.Contains(v, Verdict{"ingest vs VictoriaLogs", false}) {
		t.Errorf("verdicts %+v; want ingest vs VictoriaLogs missed at ×1.9", v)
	}
	line := r.JSON()
	var back Report
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if pc := back.VsVictoriaLogs; pc == nil || pc.PeerMedian != 400_000 || pc.IngestRatio != 1.9 || math.Abs(pc.QuerySpeedup-138.15) > 1e-9 {
		t.Errorf("vs_victorialogs did not round-trip: %s", line)
	}
	if !bytes.Contains(line, []byte(`"vs_victorialogs":{"peer":"VictoriaLogs"`)) {
		t.Errorf("JSON lacks vs_victorialogs: %s", line)
	}
}
