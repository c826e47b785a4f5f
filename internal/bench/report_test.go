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
		PeakRSSBytes: &rss, DiskBytesPerPoint: &per, DiskBytes: &disk,
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
	for s, mark := range map[string]string{"points/s": "✓", "by_endpoint_8": "✗", "peak RSS": "✓", "bytes/point": "✓"} {
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
