package alidade_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	alidade "github.com/alidade/alidade/sdk/go"
)

// TestRealServerSlog logs through the SlogHandler to a real server, records
// at the SDK's limits included, and reads them back from the logs dataset.
func TestRealServerSlog(t *testing.T) {
	s := startServer(t)
	write, read := s.project("slog")
	c := alidade.New(alidade.Config{URL: s.url(), Key: write, Service: "sdk-test",
		ErrorHandler: func(err error) { t.Logf("ErrorHandler: %v", err) }})
	h := c.SlogHandler(&alidade.SlogOptions{Level: slog.LevelDebug, AddSource: true})
	log := slog.New(h).With("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")
	const n = 300
	for i := range n {
		log.Info("request served", "i", i, "path", "/api/x")
	}
	log.Error("payment failed", "err", "card declined")
	log.Debug("debug", "x", 1)
	var big []any
	for i := range 100 {
		big = append(big, strings.Repeat("k", 150)+string(rune('a'+i%26))+strings.Repeat("z", i), strings.Repeat("v", 2000))
	}
	log.WithGroup("g").Warn(strings.Repeat("m", 20000), big...) // over every limit: cut to fit
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v; stderr:\n%s", err, s.stderr.String())
	}
	if st := h.Stats(); st.Sent != n+3 || st.Rejected != 0 || st.Dropped != 0 {
		t.Fatalf("Stats = %+v; want %d sent", st, n+3)
	}
	count := func(filter ...map[string]any) float64 {
		q := map[string]any{"dataset": "logs", "range": "1h", "aggregations": aggs("n", "count")}
		if len(filter) > 0 {
			q["filter"] = filter
		}
		return s.query(read, q)["n"]
	}
	if got := count(); got != n+3 {
		t.Errorf("logs: %v records; want %d", got, n+3)
	}
	for _, c := range []struct {
		field, value string
		want         float64
	}{
		{"level", "error", 1}, {"level", "debug", 1}, {"level", "warn", 1}, {"service", "sdk-test", n + 3},
		{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", n + 3}, {"origin", "api", n + 3},
	} {
		if got := count(map[string]any{"field": c.field, "op": "=", "value": c.value}); got != c.want {
			t.Errorf("logs with %s = %q: %v; want %v", c.field, c.value, got, c.want)
		}
	}
	if got := count(map[string]any{"field": "attributes", "op": "contains", "value": `"err":"card declined"`}); got != 1 {
		t.Errorf("logs whose attributes hold err: %v; want 1", got)
	}
	if got := count(map[string]any{"field": "attributes", "op": "contains", "value": `"file":`}); got != n+3 {
		t.Errorf("logs with a source: %v; want %d", got, n+3)
	}
}
