package planner_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// BenchmarkAppend measures a commit of 10k live points (requests, ai_usage
// and checkout, stamped over the last four minutes, which upkeep leaves
// open) through the planner into a real DuckDB store, with rollups on and
// off: the difference is what rollups cost the write path.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"off", "on"} {
		b.Run("rollups="+mode, func(b *testing.B) {
			dir := b.TempDir()
			st, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "1GB"})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.SetSchema(context.Background(), 1, "checkout", &checkoutSchema); err != nil {
				b.Fatal(err)
			}
			pl, err := planner.Open(context.Background(), st, planner.Options{Dir: filepath.Join(dir, "rollups"),
				Disabled: mode == "off", Spec: planner.SchemaSpec(st.Schema), Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			batches := gen(9, 4000, now.Add(-4*time.Minute).UnixMilli(), now.UnixMilli()) // 10k points
			n := 0
			for _, bt := range batches {
				n += len(bt.Points)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := pl.Append(context.Background(), batches); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
