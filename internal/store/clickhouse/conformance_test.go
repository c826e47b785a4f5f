//go:build cluster && chconformance

package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/storetest"
	"github.com/alidade/alidade/internal/testinfra"
)

// hybrid is a storetest.Backend whose points are on ClickHouse (Append,
// ScanRange) and whose metadata (projects, keys, datasets) is a DuckDB
// store's, standing in for the PostgreSQL metadata store of a later slice.
// What the ClickHouse store cannot do yet answers errNotYet, so the suite's
// report lists it: Execute (query.Sub on ClickHouse), AppendAt and
// LoadedPositions (log positions), DatasetStats, Expire (per-dataset
// retention) and SizeBytes.
type hybrid struct {
	*duckdb.Store
	ch *clickhouse.Store
}

var errNotYet = errors.New("not implemented by the ClickHouse store yet")

func (h *hybrid) Append(ctx context.Context, batches []store.Batch) error {
	return h.ch.Append(ctx, batches)
}
func (h *hybrid) ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error {
	return h.ch.ScanRange(ctx, project, dataset, from, to, fn)
}
func (h *hybrid) Execute(context.Context, *query.Sub) (*query.SubResult, error) {
	return nil, fmt.Errorf("Execute: %w", errNotYet)
}
func (h *hybrid) AppendAt(context.Context, []store.Batch, store.LogPos) error {
	return fmt.Errorf("AppendAt: %w", errNotYet)
}
func (h *hybrid) LoadedPositions(context.Context) (map[int64]store.LogPos, error) {
	return nil, fmt.Errorf("LoadedPositions: %w", errNotYet)
}
func (h *hybrid) Expire(context.Context, time.Time, time.Duration) (store.ExpireReport, error) {
	return store.ExpireReport{}, fmt.Errorf("Expire: %w", errNotYet)
}
func (h *hybrid) SizeBytes() int64 { return -1 }
func (h *hybrid) Close() error {
	h.ch.Close()
	return h.Store.Close()
}

// TestConformance runs storetest against the hybrid: a report of what the
// ClickHouse store passes, not (yet) a gate, so it has a build tag of its
// own and CI never runs it (rather than skipping it). Run it alone:
//
//	ALIDADE_CH_CONFORMANCE=1 go test -tags "cluster chconformance" -run TestConformance -v ./internal/store/clickhouse/
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if v := lookupEnv("ALIDADE_CH_CONFORMANCE"); v != "1" {
		t.Skip("set ALIDADE_CH_CONFORMANCE=1: the suite mostly fails until the ClickHouse store has Execute (see the report)")
	}
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	storetest.Run(t, func(t *testing.T, dir string) storetest.Backend {
		t.Helper()
		d, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
		if err != nil {
			t.Fatal(err)
		}
		// One database per dir: opening the same dir again finds its points.
		h := fnv.New64a()
		h.Write([]byte(dir))
		c, err := clickhouse.Open(context.Background(), clickhouse.Options{URL: chURL(ch, fmt.Sprintf("t%x", h.Sum64()), "")})
		if err != nil {
			d.Close()
			t.Fatal(err)
		}
		return &hybrid{Store: d, ch: c}
	})
}

func lookupEnv(k string) string { return os.Getenv(k) }
