package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func sampleReport() *Report {
	rss, disk, per := int64(212<<20), int64(14_716_928), 14.72
	return &Report{
		IngestPointsPerS: 612_345, IngestMBPerS: 80.1, CommitP50Ms: 117, CommitP99Ms: 416,
		QueriesMs: QueryTimes{
			{"overview_count", 8.9}, {"by_endpoint_8", 317.5}, {"by_endpoint_all", 139},
			{"timeseries_5m", 33.8}, {"error_rate_by_endpoint", 23.3},
		},
		PeakRSSBytes: &rss, RSSAfterIngestBytes: &rss, RSSAfterQueriesBytes: &rss, DiskBytesPerPoint: &per, DiskBytes: &disk,
		Points: 1_000_000, Concurrency: 4, Batch: 10_000, Repeat: 5, Seed: 1, Target: "child",
	}
}

// contractKeys are the JSON keys the issue names, in order.
var contractKeys = []string{"ingest_points_per_s", "ingest_mb_per_s", "commit_p50_ms", "commit_p99_ms", "queries_ms", "peak_rss_bytes", "disk_bytes_per_point"}

// jsonKeys returns the top-level keys of a JSON object in order.
func jsonKeys(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestReportJSON(t *testing.T) {
	line := sampleReport().JSON()
	if bytes.ContainsAny(line, "\n") {
		t.Errorf("JSON spans lines: %s", line)
	}
	keys := jsonKeys(t, line)
	if len(keys) < len(contractKeys) || strings.Join(keys[:len(contractKeys)], ",") != strings.Join(contractKeys, ",") {
		t.Errorf("keys %v; want them to start with %v", keys, contractKeys)
	}
	if !strings.Contains(string(line), `"queries_ms":{"overview_count":8.9,"by_endpoint_8":317.5,"by_endpoint_all":139,"timeseries_5m":33.8,"error_rate_by_endpoint":23.3}`) {
		t.Errorf("queries_ms not in query order: %s", line)
	}
	var back Report
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.QueriesMs) != 5 || back.QueriesMs[1] != (QueryTime{"by_endpoint_8", 317.5}) || *back.PeakRSSBytes != 212<<20 {
		t.Errorf("round trip = %+v", back)
	}

	// Unknown figures are null, not missing.
	r := sampleReport()
	r.PeakRSSBytes, r.DiskBytesPerPoint = nil, nil
	line = r.JSON()
	for _, want := range []string{`"peak_rss_bytes":null`, `"disk_bytes_per_point":null`} {
		if !strings.Contains(string(line), want) {
			t.Errorf("JSON %s lacks %s", line, want)
		}
	}
}

func TestReportTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"612,345", "≥ 500,000", "117 / 416 ms", "by_endpoint_8", "318 ms", "≤ 300 ms at 10M points",
		"212.0 MiB", "≤ 1.00 GiB", "14.72", "≤ 20", "defined at 10M points; this run wrote 1M",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lineWith := func(s string) string {
		for l := range strings.Lines(out) {
			if strings.Contains(l, s) {
				return l
			}
		}
		return ""
	}
	for s, mark := range map[string]string{"points/s": "✓", "by_endpoint_8": "✗", "RSS after ingest": "✓", "bytes/point": "✓"} {
		if l := lineWith(s); !strings.HasSuffix(strings.TrimRight(l, " \n"), mark) {
			t.Errorf("line %q does not end with %s", l, mark)
		}
	}
	v := sampleReport().Verdicts()
	if len(v) != 4 || !v[0].Met || v[1].Met || !v[2].Met || !v[3].Met {
		t.Errorf("Verdicts = %+v", v)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q; want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{20000: "20k", 1_000_000: "1M", 1_500_000: "1.5M", 10_000_000: "10M", 999: "999"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q; want %q", n, got, want)
		}
	}
}

// rollupReport is sampleReport with the rollup figures of a 100M run.
func rollupReport() *Report {
	r := sampleReport()
	raw, auto24, auto30 := 5400.0, 4.2, 61.5
	after := int64(700 << 20)
	r.Points, r.Days, r.RangeFrom, r.RangeTo, r.SetupPath, r.SettleS = 100_000_000, 30, "2026-10-28T11:00:00Z", "2026-11-27T11:00:00Z", SetupHTTP, 41
	r.QueriesRawMs = QueryTimes{{"overview_count", 890}, {"by_endpoint_8", 3175}, {"by_endpoint_all", 1390}, {"timeseries_5m", 33.8}, {"error_rate_by_endpoint", 233}}
	r.QuerySources = QueryNotes{{"overview_count", "rollup"}, {"by_endpoint_8", "rollup"}, {"by_endpoint_all", "rollup"}, {"timeseries_5m", "raw"}, {"error_rate_by_endpoint", "rollup"}}
	r.RollupNotCovered = QueryNotes{{"timeseries_5m", "minutes before X are compacted to hours"}}
	r.Overview = []OverviewTime{
		{Range: "24h", AutoMs: &auto24, AutoSource: "rollup", AutoServerMs: 3.9, RawMs: &raw, RawSource: "raw"},
		{Range: "30d", AutoMs: &auto30, AutoSource: "rollup", AutoServerMs: 58, RawError: "server said 504 query_timeout: too slow"},
	}
	r.QuantileError = &QuantileError{Compared: 1234, MaxRel: 0.0074, MedianRel: 0.0021, P99Rel: 0.006, MaxAt: "by_endpoint_all[/x].p99: rollup 1, raw 1"}
	r.IngestOverhead = &IngestOverhead{Points: 5_000_000, Pairs: 3, OffMedian: 300_000, OnMedian: 282_000, Ratio: 0.94}
	r.RSSAfterIngestBytes, r.RSSAfterQueriesBytes = &after, &after
	return r
}

func TestReportRollups(t *testing.T) {
	r := rollupReport()
	r.Budgets = r.Verdicts()
	line := r.JSON()
	keys := jsonKeys(t, line)
	if strings.Join(keys[:len(contractKeys)], ",") != strings.Join(contractKeys, ",") {
		t.Errorf("keys %v; want them to start with %v", keys, contractKeys)
	}
	for _, want := range []string{
		`"days":30`, `"setup_path":"http"`, `"settle_s":41`,
		`"queries_raw_ms":{"overview_count":890,`, `"query_sources":{"overview_count":"rollup","by_endpoint_8":"rollup",`,
		`"rollup_not_covered":{"timeseries_5m":"minutes before X are compacted to hours"}`,
		`{"range":"30d","auto_ms":61.5,"auto_source":"rollup","auto_server_ms":58,"raw_ms":null,"raw_error":"server said 504 query_timeout: too slow"}`,
		`"quantile_error":{"compared":1234,"max_rel":0.0074,`, `"ratio":0.94`, `"rss_after_queries_bytes":734003200`,
		`{"figure":"overview 30d","met":false}`, `{"figure":"quantile error","met":true}`, `{"figure":"ingest with rollups","met":true}`,
	} {
		if !strings.Contains(string(line), want) {
			t.Errorf("JSON lacks %s:\n%s", want, line)
		}
	}
	var back Report
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.QuerySources) != 5 || back.QuerySources[3] != (QueryNote{"timeseries_5m", "raw"}) || back.Overview[1].RawMs != nil || back.IngestOverhead.Pairs != 3 {
		t.Errorf("round trip = %+v", back)
	}

	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"30 days, oldest first", "HTTP (POST /api/v1/datasets/requests/points",
		"8.90 ms from rollup; raw 890 ms, ×100", "33.8 ms from raw; raw 33.8 ms",
		"4.20 ms from rollup (server 3.90 ms); raw 5400 ms, ×1286",
		"61.5 ms from rollup (server 58.0 ms); raw failed", "≤ 50 ms at 100M points",
		"max 0.74%, median 0.21%, p99 0.6% of 1,234 quantiles", "≤ 1%",
		"282,000 / 300,000 points/s = 94.0%", "≥ 90%",
		"Note: rollups cannot answer timeseries_5m: minutes before X are compacted to hours.",
		"Note: the overview range=30d from raw points failed: server said 504",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "overview budget is defined") || strings.Contains(out, "ingest overhead of rollups was not measured") {
		t.Errorf("a 100M-point, 30-day run with the overhead measured gets no caveats:\n%s", out)
	}
	lineWith := func(s string) string {
		for l := range strings.Lines(out) {
			if strings.Contains(l, s) {
				return strings.TrimRight(l, " \n")
			}
		}
		return ""
	}
	for s, mark := range map[string]string{"range=30d": "✗", "quantile rel. error": "✓", "rollups on / off": "✓", "RSS after queries": "✓", "counts, sums, rates": "✓"} {
		if l := lineWith(s); !strings.HasSuffix(l, mark) {
			t.Errorf("line %q does not end with %s", l, mark)
		}
	}

	// A failed overview fails its budget and says why.
	r.Overview = append(r.Overview, OverviewTime{Range: "90d", AutoError: "server said 504 query_timeout: slow"})
	r.Overview[1].AutoMs, r.Overview[1].AutoError = nil, "server said 504 query_timeout: slow"
	b.Reset()
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	if l := lineWith("range=30d"); !strings.Contains(l, " failed; raw failed ") || !strings.HasSuffix(l, "✗") {
		t.Errorf("a failed overview: %q", l)
	}
	if !strings.Contains(b.String(), "Note: the overview range=90d failed: server said 504") {
		t.Errorf("no note on the failed overview:\n%s", b.String())
	}
	for _, v := range r.Verdicts() {
		if v.Figure == "overview 30d" && v.Met {
			t.Error("a failed overview meets its budget")
		}
	}

	// A disagreement fails its verdict.
	r.RollupMismatches = []string{"by_endpoint_all[/x].n: raw has 2, rollup 1"}
	found := false
	for _, v := range r.Verdicts() {
		if v.Figure == "rollups agree with raw" {
			found = true
			if v.Met {
				t.Error("rollups agree with raw is met with a mismatch")
			}
		}
	}
	if !found {
		t.Error("no verdict on rollups agreeing with raw")
	}
}

func TestQueryNotesJSON(t *testing.T) {
	in := QueryNotes{{"b", "x \"y\""}, {"a", ""}}
	data, err := json.Marshal(in)
	if err != nil || string(data) != `{"b":"x \"y\"","a":""}` {
		t.Fatalf("Marshal = %s, %v", data, err)
	}
	var out QueryNotes
	if err := json.Unmarshal(data, &out); err != nil || len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`null`), &out); err != nil || out != nil {
		t.Errorf("Unmarshal(null) = %+v, %v", out, err)
	}
	if data, _ := json.Marshal(QueryNotes(nil)); string(data) != "{}" {
		t.Errorf("Marshal(nil) = %s; want {}", data)
	}
}
