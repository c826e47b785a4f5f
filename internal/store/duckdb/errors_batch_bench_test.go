package duckdb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// BenchmarkCommitErrorsBatch measures the store's error commits by the
// events each carries (40 groups changed per commit at most): a commit's
// cost is mostly fixed, so events/s grows with the batch.
func BenchmarkCommitErrorsBatch(b *testing.B) {
	for _, size := range []int{16, 64, 256, -64} {
		noGroups := size < 0
		size = max(size, -size)
		name := fmt.Sprint(size)
		if noGroups {
			name += "-events-only"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := duckdb.Open(ctx, duckdb.Options{Dir: b.TempDir(), MemoryLimit: "256MB"})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var groups []*errtrack.Group
			for i := range 40 {
				groups = append(groups, &errtrack.Group{ID: int64(i + 1), Project: 1, Fingerprint: fmt.Sprint(i), Grouping: "v1", Title: "t", Status: "unresolved", Count: 1})
			}
			if err := st.CommitErrors(ctx, errtrack.Commit{New: groups}); err != nil {
				b.Fatal(err)
			}
			payload := errtrack.Compress([]byte(strings.Repeat(`{"frame":"handler.step","lineno":12},`, 140)))
			b.ResetTimer()
			var tot time.Duration
			for n := range b.N {
				c := errtrack.Commit{Changed: groups[:min(size, 40)]}
				if noGroups {
					c.Changed = nil
				}
				for i := range size {
					c.Events = append(c.Events, errtrack.StoredEvent{Project: 1, EventID: fmt.Sprintf("%032x", n*size+i), GroupID: int64(i%40 + 1), Timestamp: int64(n), Received: int64(n), Payload: payload, Size: 5000})
				}
				t0 := time.Now()
				if err := st.CommitErrors(ctx, c); err != nil {
					b.Fatal(err)
				}
				tot += time.Since(t0)
			}
			b.ReportMetric(float64(b.N*size)/tot.Seconds(), "events/s")
			b.ReportMetric(float64(tot.Microseconds())/float64(b.N)/1000, "ms/commit")
		})
	}
}
