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

// BenchmarkCommitErrors commits batches of 16 events of 5 KB (about 1.5 KB
// compressed) that change 10 of 50 groups, as a busy tracker does.

func BenchmarkCommitErrors(b *testing.B) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: b.TempDir(), MemoryLimit: "256MB"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var groups []*errtrack.Group
	for i := range 50 {
		groups = append(groups, &errtrack.Group{ID: int64(i + 1), Project: 1, Fingerprint: fmt.Sprint(i), Grouping: "v1", Title: "t", Status: "unresolved", Count: 1})
	}
	if err := st.CommitErrors(ctx, errtrack.Commit{New: groups}); err != nil {
		b.Fatal(err)
	}
	payload := errtrack.Compress([]byte(strings.Repeat(`{"frame":"handler.step","lineno":12},`, 140)))
	b.ReportAllocs()
	b.ResetTimer()
	var tot time.Duration
	for n := range b.N {
		c := errtrack.Commit{Changed: groups[n%5*10 : n%5*10+10]}
		for i := range 16 {
			c.Events = append(c.Events, errtrack.StoredEvent{Project: 1, EventID: fmt.Sprintf("%032x", n*16+i), GroupID: int64(i%10 + 1), Timestamp: int64(n), Received: int64(n), Payload: payload, Size: 5000})
		}
		t0 := time.Now()
		if err := st.CommitErrors(ctx, c); err != nil {
			b.Fatal(err)
		}
		tot += time.Since(t0)
	}
	b.ReportMetric(float64(b.N*16)/tot.Seconds(), "events/s")
}
