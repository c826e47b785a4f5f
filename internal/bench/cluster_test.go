package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestClusterStoreURL(t *testing.T) {
	tg := &ClusterTarget{HTTP: "http://ch1.internal:8123/", Database: "alidade", Cluster: "analytics", User: "bench", Password: "s3cr=t&x"}
	db := freshDatabase(tg.Database)
	if !regexp.MustCompile(`^alidade_bench_[0-9a-f]{8}$`).MatchString(db) || db == freshDatabase(tg.Database) {
		t.Errorf("freshDatabase = %q; want alidade_bench_ and 8 random hex digits", db)
	}
	got := tg.storeURL(db, false)
	if want := "clickhouse://ch1.internal:8123/" + db + "?cluster=analytics&password=s3cr%3Dt%26x&user=bench"; got != want {
		t.Errorf("storeURL = %q; want %q", got, want)
	}
	if got := tg.storeURL(db, true); strings.Contains(got, "s3cr") || !strings.HasSuffix(got, "?cluster=analytics&user=bench") {
		t.Errorf("redacted storeURL = %q", got)
	}
	tg.Rollups = "on"
	if got := tg.storeURL(db, true); !strings.HasSuffix(got, "?cluster=analytics&rollups=on&user=bench") {
		t.Errorf("storeURL with rollups = %q", got)
	}
	one := &ClusterTarget{HTTP: "http://127.0.0.1:8123/", Database: "a"}
	if got := one.storeURL("a_bench_0", false); got != "clickhouse://127.0.0.1:8123/a_bench_0" {
		t.Errorf("storeURL of one server = %q", got)
	}
	if got := redactMetaURL("postgres://alidade:pw@pg:5432/alidade?sslmode=require&password=pw"); got != "postgres://alidade@pg:5432/alidade" {
		t.Errorf("redactMetaURL = %q", got)
	}
}

// TestClusterDropDatabase checks the statement and credentials sent to
// ClickHouse's HTTP interface, and that its refusal is an error carrying
// its message.
func TestClusterDropDatabase(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		user, pw, _ := r.BasicAuth()
		got = append(got, user+":"+pw+" "+b.String())
		if strings.Contains(b.String(), "refused") {
			http.Error(w, "Code: 497, e.displayText() = DB::Exception: not allowed", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	tg := &ClusterTarget{HTTP: srv.URL + "/", Cluster: "analytics", User: "u", Password: "p"}
	if err := tg.dropDatabase(context.Background(), "alidade_bench_0"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "u:p DROP DATABASE IF EXISTS alidade_bench_0 ON CLUSTER analytics" {
		t.Errorf("sent %q", got)
	}
	err := tg.dropDatabase(context.Background(), "refused")
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden: Code: 497") {
		t.Errorf("a refused drop = %v; want ClickHouse's message", err)
	}
	tg.Cluster = ""
	got = nil
	if err := tg.dropDatabase(context.Background(), "x"); err != nil || got[0] != "u:p DROP DATABASE IF EXISTS x" {
		t.Errorf("drop on one server: sent %q, %v", got, err)
	}
}

// TestExactComparison: an exact comparison (the embedded store's answers
// against a cluster's) holds quantiles to the other figures' tolerance and
// names both sides.
func TestExactComparison(t *testing.T) {
	embedded := decodeJSON(t, `[{"index1":"/a","n":600,"p95":30.25},{"index1":"/b","n":400,"p95":44}]`)
	same := decodeJSON(t, `[{"index1":"/b","n":400,"p95":44.00000000000001},{"index1":"/a","n":600,"p95":30.25}]`)
	c := comparison{left: "embedded", right: "cluster", exact: true}
	c.compare("q", embedded, same)
	if len(c.mismatches) != 0 || len(c.quantiles) != 0 {
		t.Errorf("equal answers: mismatches %q, quantiles %v", c.mismatches, c.quantiles)
	}
	c.compare("q", embedded, decodeJSON(t, `[{"index1":"/a","n":599,"p95":30.26}]`))
	want := []string{"q[/a].n: embedded has 600, cluster 599", "q[/a].p95: embedded has 30.25, cluster 30.26", "q[/b]: only in the embedded answer"}
	if strings.Join(c.mismatches, "\n") != strings.Join(want, "\n") {
		t.Errorf("mismatches %q; want %q", c.mismatches, want)
	}
}

func sampleCluster() *ClusterComparison {
	eb, cb, ep, cp := int64(14_000_000), int64(31_000_000), 14.0, 31.0
	peak, inserts, avg := int64(300<<20), int64(200), 420.5
	return &ClusterComparison{
		Store: "clickhouse://ch1:8123/alidade_bench_0a1b2c3d?cluster=analytics", Meta: "postgres://alidade@pg:5432/alidade",
		Database: "alidade_bench_0a1b2c3d", Cluster: "analytics", Project: "bench-0a1b2c3d",
		LeftBehind: "project bench-0a1b2c3d in PostgreSQL (Alidade deletes no project), its keys revoked",
		Points:     1_000_000, Rounds: 3,
		EmbeddedPointsPerS: []float64{400_000, 420_000, 380_000}, ClusterPointsPerS: []float64{150_000, 160_000, 140_000},
		EmbeddedMedian: 400_000, ClusterMedian: 150_000, IngestRatio: 0.375, ClusterCommitP50Ms: 250, ClusterCommitP99Ms: 700,
		Repeat:             3,
		Queries:            []ClusterQuery{{Name: "by_endpoint_8", EmbeddedMs: 120, ClusterMs: 300, Ratio: 2.5, Rows: 8}},
		EmbeddedStoreBytes: &eb, ClusterStoreBytes: &cb, EmbeddedBytesPerPoint: &ep, ClusterBytesPerPoint: &cp,
		ClusterPeakRSSBytes: &peak, ClusterInserts: &inserts, ClusterInsertAvgMs: &avg,
		ErrorEvents: 5000, ErrorGroups: 40, ErrorClients: 64, ErrorEnvelopeBytes: 5210,
		EmbeddedErrorEventsPerS: []float64{6100, 5900, 6000}, ClusterErrorEventsPerS: []float64{900, 1100, 1000},
		EmbeddedErrorMedian: 6000, ClusterErrorMedian: 1000, ErrorIngestRatio: 0.167,
		EmbeddedErrorP50Ms: 9.5, EmbeddedErrorP99Ms: 30, ClusterErrorP50Ms: 60, ClusterErrorP99Ms: 180,
		Disagreements: []string{},
	}
}

func TestReportCluster(t *testing.T) {
	r := sampleReport()
	r.VsCluster = sampleCluster()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"3, alternating with the cluster", "vs cluster", "clickhouse://ch1:8123/alidade_bench_0a1b2c3d?cluster=analytics",
		"cluster points/s", "150,000", "×0.38", "300 ms vs 120 ms (×2.50)", "31.00 vs 14.00 (×2.21)", "200, avg 420 ms", "5,000 points each on average", "peak 300.0 MiB", "all agree",
		"error events, each", "5,000", "5,210 bytes, 40 fingerprints, 64 clients, 3 alternating rounds", "cluster error events/s", "1,000", "p50 / p99 60.0 / 180 ms", "×0.17",
		"Note: left behind by the cluster comparison: project bench-0a1b2c3d",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	line := r.JSON()
	var back Report
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if back.VsCluster == nil || back.VsCluster.ClusterMedian != 150_000 || len(back.VsCluster.Queries) != 1 || *back.VsCluster.ClusterBytesPerPoint != 31 {
		t.Errorf("round trip of vs_cluster = %+v", back.VsCluster)
	}
	if !strings.Contains(string(line), `"disagreements":[]`) {
		t.Errorf("no empty disagreements in %s", line)
	}
	met := func() (bool, bool) {
		for _, v := range r.Verdicts() {
			if v.Figure == "cluster agrees with embedded" {
				return v.Met, true
			}
		}
		return false, false
	}
	if m, ok := met(); !ok || !m {
		t.Errorf("verdict on agreeing answers: met %v, present %v", m, ok)
	}
	r.VsCluster.Disagreements = []string{"q[/a].n: embedded has 600, cluster 599"}
	if m, _ := met(); m {
		t.Error("a disagreement meets the verdict")
	}
	b.Reset()
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "1 disagreement") || !strings.Contains(b.String(), "Note: the embedded store and the cluster disagree: q[/a].n") {
		t.Errorf("a disagreement is not in the table:\n%s", b.String())
	}
}

func TestOptionsCluster(t *testing.T) {
	o := DefaultOptions()
	o.ServerExe = "/bin/true"
	o.Cluster = &ClusterTarget{HTTP: "http://127.0.0.1:8123/", Database: "a", Meta: "postgres://x@y/z"}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.URL, o.RootKey = "http://x", "k" }, "takes no server URL"},
		{func(o *Options) { o.VictoriaLogs = "/bin/true" }, "one comparison at a time"},
		{func(o *Options) { o.Cluster = &ClusterTarget{HTTP: "http://x/", Database: "a"} }, "the metadata store's URL"},
		{func(o *Options) { o.ErrorEvents = -1 }, "error events must be 1 to"},
	} {
		o2 := o
		tc.set(&o2)
		if err := o2.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v; want %q", err, tc.want)
		}
	}
}

// TestSendEnvelopes: an envelope is acknowledged when answered 200; a
// 503 is counted as not acknowledged, with its status; every body is sent
// once with the Sentry auth header.
func TestSendEnvelopes(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[string(body)]++
		mu.Unlock()
		if r.URL.Path != "/api/7/envelope/" || !strings.HasSuffix(r.Header.Get("X-Sentry-Auth"), "sentry_key=pub") {
			http.Error(w, "bad target", http.StatusBadRequest)
			return
		}
		if strings.HasPrefix(string(body), "down") {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"id":"x"}`)
	}))
	defer srv.Close()
	var bodies [][]byte
	for i := range 50 {
		b := fmt.Sprintf("up %d", i)
		if i%10 == 3 {
			b = fmt.Sprintf("down %d", i)
		}
		bodies = append(bodies, []byte(b))
	}
	hc := envelopeHTTP(4)
	defer hc.CloseIdleConnections()
	got := sendEnvelopes(context.Background(), hc, envelopeTarget(srv.URL, 7, "pub"), bodies, 4)
	if len(got.latMs) != 45 || got.rejected != 5 || got.firstErr == nil || !strings.Contains(got.firstErr.Error(), "503") || got.elapsed <= 0 {
		t.Errorf("sendEnvelopes = %d acknowledged, %d rejected (first %v) in %v; want 45, 5 with status 503", len(got.latMs), got.rejected, got.firstErr, got.elapsed)
	}
	for _, b := range bodies {
		if seen[string(b)] != 1 {
			t.Errorf("body %q sent %d times; want once", b, seen[string(b)])
		}
	}
}

func TestParseGauge(t *testing.T) {
	text := "# HELP alidade_store_bytes Bytes the store's files take on disk.\n# TYPE alidade_store_bytes gauge\n" +
		"alidade_store_bytes_total 7\nalidade_store_bytes 2.4135685e+07\nalidade_ingest_queue_bytes 0\n"
	if v, ok := parseGauge(text, "alidade_store_bytes"); !ok || v != 24135685 {
		t.Errorf("parseGauge = %v, %v; want 24135685", v, ok)
	}
	for _, bad := range []string{"", "alidade_store_bytes\n", "alidade_store_bytes x\n", "alidade_store_bytes{a=\"b\"} 1\n"} {
		if v, ok := parseGauge(bad, "alidade_store_bytes"); ok {
			t.Errorf("parseGauge(%q) = %v; want not found", bad, v)
		}
	}
}

// FuzzParseGauge: any scrape parses without panicking, and a sample line
// appended to it is found unless an earlier line names the metric.
func FuzzParseGauge(f *testing.F) {
	f.Add("alidade_store_bytes 12\n")
	f.Add("# TYPE x gauge\nx 1\nalidade_store_bytes -1\n")
	f.Add("alidade_store_bytes")
	f.Fuzz(func(t *testing.T, text string) {
		parseGauge(text, "alidade_store_bytes")
		if strings.Contains(text, "alidade_store_bytes") {
			return
		}
		if v, ok := parseGauge(text+"\nalidade_store_bytes 42\n", "alidade_store_bytes"); !ok || v != 42 {
			t.Fatalf("the appended sample: %v, %v", v, ok)
		}
	})
}
