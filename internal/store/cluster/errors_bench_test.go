//go:build cluster

package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/testinfra"
)

// BenchmarkRecordOnCluster: one node's tracker recording batches of 100
// events over 10 groups on a real PostgreSQL and clickhouse-server (one
// transaction and one ClickHouse insert a batch):
//
//	ALIDADE_PG_BIN=/usr/lib/postgresql/15/bin go test -tags cluster -run '^$' -bench RecordOnCluster ./internal/store/cluster/
func BenchmarkRecordOnCluster(b *testing.B) {
	e := &env{pg: testinfra.StartPostgres(b), ch: testinfra.StartClickHouse(b, testinfra.ClickHouseOptions{})}
	db := e.database(b)
	_, tr := e.node(b, db, time.Now)
	kinds := []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch := make([]*errtrack.Incoming, 100)
		for j := range batch {
			batch[j] = event(b, n, kinds[j%10], "1.0", fmt.Sprint("u", n%50), t0+int64(n))
			n++
		}
		if _, err := tr.Record(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
