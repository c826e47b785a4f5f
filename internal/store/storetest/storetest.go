// Package storetest owns the conformance suite every store backend passes:
// the behaviour the rest of Alidade relies on, stated once as tests and run
// against each backend (DuckDB now, ClickHouse later) through the same Run.
//
// It owns a reference evaluator of query.Sub written in plain Go over the
// points the suite generated, the fixtures it generates, and the checks that
// compare a backend's answers with the reference's. It knows nothing of how a
// backend stores points; it measures disk use only through SizeBytes.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// Backend is everything the suite exercises.
type Backend interface {
	// Points.
	Append(ctx context.Context, batches []store.Batch) error
	Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error)
	// AppendAt is Append recording, with the rows of every day written,
	// that the write-ahead log is loaded up to pos; LoadedPositions reads
	// those positions back (the loader replays a crash from them).
	AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error
	LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error)
	// ScanRange reads the points of one project's dataset with
	// from <= timestamp < to (rollups read the edges of a range with it).
	ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error
	DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error)
	Expire(ctx context.Context, now time.Time, defaultRetention time.Duration) (store.ExpireReport, error)
	// SizeBytes is the disk the backend's data takes.
	SizeBytes() int64

	// Projects and keys.
	CreateProject(ctx context.Context, name string) (*meta.Project, error)
	Projects(ctx context.Context) ([]meta.Project, error)
	CreateKey(ctx context.Context, k *meta.Key) error
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
	RevokeKey(ctx context.Context, project, id int64) error

	// Datasets.
	SetSchema(ctx context.Context, project int64, name string, schema *point.Schema) error
	Schema(project int64, name string) *point.Schema
	Datasets(project int64) []meta.Dataset
	Dataset(project int64, name string) *meta.Dataset
	SetRetention(ctx context.Context, project int64, name string, d time.Duration) error
	EnsureDataset(ctx context.Context, project int64, name string) error

	Close() error
}

// Opener opens the backend over dir; called again with the same dir to test
// persistence. It fails t when the backend cannot be opened. The suite closes
// every backend it opens.
type Opener func(t *testing.T, dir string) Backend

// parts are the suite's parts, in the order Run runs them; their names
// are those of the subtests and of RunExcept's arguments.
var parts = []part{
	{"Aggregations", testAggregations},
	{"ProjectIsolation", testProjectIsolation},
	{"SampleInterval", testSampleInterval},
	{"ColumnGrowth", testColumnGrowth},
	{"EmptyAndUngrouped", testEmpty},
	{"Persistence", testPersistence},
	{"Retention", testRetention},
	{"MaxGroups", testMaxGroups},
	{"ScanRange", testScanRange},
	{"LogPositions", testLogPositions},
}

// Run runs the whole suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	RunExcept(t, open)
}

// RunExcept runs the suite but the parts named (top-level subtest names,
// such as "LogPositions"): for a backend that does not have what those
// parts test yet. The parts left out are logged, so that the gap shows in
// the test output; a name the suite does not have fails t, so that a typo
// cannot leave a part out unnoticed.
func RunExcept(t *testing.T, open Opener, except ...string) {
	run, left, err := selectParts(except)
	if err != nil {
		t.Error(err)
	}
	for _, name := range left {
		t.Logf("storetest: %s is left out of this run", name)
	}
	for _, p := range run {
		t.Run(p.name, func(t *testing.T) { p.run(t, open) })
	}
}

// part is one of the suite's parts.
type part struct {
	name string
	run  func(t *testing.T, open Opener)
}

// selectParts returns the parts to run and the names of those left out,
// in the suite's order; a name in except that the suite does not have is
// an error.
func selectParts(except []string) (run []part, left []string, err error) {
	skip := map[string]bool{}
	for _, name := range except {
		skip[name] = true
	}
	for _, p := range parts {
		if skip[p.name] {
			left = append(left, p.name)
			delete(skip, p.name)
			continue
		}
		run = append(run, p)
	}
	var unknown []string
	for _, name := range except {
		if skip[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		err = fmt.Errorf("storetest.RunExcept: the suite has no part named %q", unknown)
	}
	return run, left, err
}

// handle is an open backend that is closed at most once: explicitly by
// close, or else when the test ends.
type handle struct {
	Backend
	once sync.Once
	err  error
}

func (h *handle) close() error {
	h.once.Do(func() { h.err = h.Backend.Close() })
	return h.err
}

// openBackend opens the backend over dir and closes it when t ends (before
// t's temporary directories are removed, since cleanups run last first).
func openBackend(t *testing.T, open Opener, dir string) *handle {
	t.Helper()
	b := open(t, dir)
	if b == nil {
		t.Fatalf("Opener(%q) returned a nil backend", dir)
	}
	h := &handle{Backend: b}
	t.Cleanup(func() {
		if err := h.close(); err != nil {
			t.Errorf("Close() = %v; want nil", err)
		}
	})
	return h
}

// closeBackend closes h now, failing t on error.
func closeBackend(t *testing.T, h *handle) {
	t.Helper()
	if err := h.close(); err != nil {
		t.Fatalf("Close() = %v; want nil", err)
	}
}

// createProject creates a project and returns its id.
func createProject(t *testing.T, b Backend, name string) int64 {
	t.Helper()
	p, err := b.CreateProject(context.Background(), name)
	if err != nil {
		t.Fatalf("CreateProject(%q) = %v; want nil error", name, err)
	}
	if p == nil || p.ID == 0 || p.Name != name {
		t.Fatalf("CreateProject(%q) = %+v; want a project named %q with a non-zero id", name, p, name)
	}
	return p.ID
}
