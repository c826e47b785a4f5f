//go:build cluster

package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/storetest"
	"github.com/alidade/alidade/internal/testinfra"
)

// hybrid is a storetest.Backend whose points are on ClickHouse and whose
// metadata (projects, keys, datasets, retention) is a DuckDB store's,
// standing in for the PostgreSQL metadata store of a later slice. As the
// server will, it records a dataset in the metadata when points of it are
// appended, and hands Expire the datasets of every project.
type hybrid struct {
	*duckdb.Store
	ch *clickhouse.Store
}

var errNotYet = errors.New("not implemented by the ClickHouse store yet")

func (h *hybrid) Append(ctx context.Context, batches []store.Batch) error {
	seen := map[string]bool{}
	for _, b := range batches {
		for i := range b.Points {
			k := fmt.Sprint(b.Project, "/", b.Points[i].Dataset)
			if seen[k] {
				continue
			}
			seen[k] = true
			if err := h.Store.EnsureDataset(ctx, b.Project, b.Points[i].Dataset); err != nil {
				return err
			}
		}
	}
	return h.ch.Append(ctx, batches)
}

func (h *hybrid) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	return h.ch.Execute(ctx, sub)
}

func (h *hybrid) ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error {
	return h.ch.ScanRange(ctx, project, dataset, from, to, fn)
}

func (h *hybrid) DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error) {
	return h.ch.DatasetStats(ctx, project, dataset)
}

func (h *hybrid) Expire(ctx context.Context, now time.Time, def time.Duration) (store.ExpireReport, error) {
	projects, err := h.Store.Projects(ctx)
	if err != nil {
		return store.ExpireReport{}, err
	}
	var datasets []meta.Dataset
	for _, p := range projects {
		datasets = append(datasets, h.Store.Datasets(p.ID)...)
	}
	return h.ch.Expire(ctx, now, def, datasets)
}

func (h *hybrid) SizeBytes() int64 { return h.ch.SizeBytes() }

// AppendAt and LoadedPositions (log positions recorded in ClickHouse) are
// a later slice: the suite's LogPositions part is left out.
func (h *hybrid) AppendAt(context.Context, []store.Batch, store.LogPos) error {
	return fmt.Errorf("AppendAt: %w", errNotYet)
}

func (h *hybrid) LoadedPositions(context.Context) (map[int64]store.LogPos, error) {
	return nil, fmt.Errorf("LoadedPositions: %w", errNotYet)
}

func (h *hybrid) Close() error {
	h.ch.Close()
	return h.Store.Close()
}

// notYet are the parts of storetest the ClickHouse store cannot pass yet.
var notYet = []string{"LogPositions"}

// hybridOpener opens hybrids whose points are in a database of their own
// per dir (opening the same dir again finds its points) on the server at
// chURL(db).
func hybridOpener(chURL func(db string) string) storetest.Opener {
	return func(t *testing.T, dir string) storetest.Backend {
		t.Helper()
		d, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
		if err != nil {
			t.Fatal(err)
		}
		h := fnv.New64a()
		h.Write([]byte(dir))
		c, err := clickhouse.Open(context.Background(), clickhouse.Options{URL: chURL(fmt.Sprintf("t%x", h.Sum64()))})
		if err != nil {
			d.Close()
			t.Fatal(err)
		}
		return &hybrid{Store: d, ch: c}
	}
}

// TestConformance runs the store conformance suite against ClickHouse
// points (one server) with DuckDB metadata: same data, same answers as the
// DuckDB store, but for the parts in notYet.
func TestConformance(t *testing.T) {
	t.Parallel()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	start := time.Now()
	storetest.RunExcept(t, hybridOpener(func(db string) string { return chURL(ch, db, "") }), notYet...)
	t.Logf("the suite took %v on one server", time.Since(start).Round(time.Millisecond))
}

// TestConformanceCluster runs the same suite with the points spread over a
// cluster of two shards (Distributed table, ON CLUSTER DDL and mutations).
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	c := testinfra.StartClickHouseCluster(t, 2)
	start := time.Now()
	storetest.RunExcept(t, hybridOpener(func(db string) string { return chURL(c.Shards[0], db, "cluster="+c.Name) }), notYet...)
	t.Logf("the suite took %v on a cluster of 2 shards", time.Since(start).Round(time.Millisecond))
}
