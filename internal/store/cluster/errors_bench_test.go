//go:build cluster

package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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

// BenchmarkRecordOnClusterTwoNodes: two nodes' trackers recording, at
// once, batches of 100 events over the same 10 groups (each node's
// batches one after the other): what holding the groups' locks costs
// nodes that record the same groups.
//
//	ALIDADE_PG_BIN=/usr/lib/postgresql/15/bin go test -tags cluster -run '^$' -bench RecordOnClusterTwoNodes ./internal/store/cluster/
func BenchmarkRecordOnClusterTwoNodes(b *testing.B) {
	e := &env{pg: testinfra.StartPostgres(b), ch: testinfra.StartClickHouse(b, testinfra.ClickHouseOptions{})}
	db := e.database(b)
	_, a := e.node(b, db, time.Now)
	_, c := e.node(b, db, time.Now)
	kinds := []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for _, tr := range []*errtrack.Tracker{a, c} {
			wg.Go(func() {
				batch := make([]*errtrack.Incoming, 100)
				for j := range batch {
					k := int(n.Add(1))
					batch[j] = event(b, k, kinds[j%10], "1.0", fmt.Sprint("u", k%50), t0+int64(k))
				}
				if _, err := tr.Record(ctx, batch); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
}
