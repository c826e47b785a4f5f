// Package metatest owns the conformance suite every metadata store passes
// (the embedded DuckDB store's and PostgreSQL's): the answers the rest of
// Alidade relies on — ids, orders, not-found and exists errors, the
// dataset cache, sessions, saved queries, alert rules, checks and cron
// monitors — stated once as tests with their answers written out, and run
// against each store through the same Run.
//
// It knows nothing of how a store keeps its records, and nothing of what
// only one store has (PostgreSQL's change notifications are tested in its
// own package).
package metatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/session"
)

// Meta is what the suite exercises: the metadata methods both stores have.
type Meta interface {
	Ping(ctx context.Context) error
	Close() error

	// Settings.
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error

	// Projects and keys.
	CreateProject(ctx context.Context, name string) (*meta.Project, error)
	Projects(ctx context.Context) ([]meta.Project, error)
	CreateKey(ctx context.Context, k *meta.Key) error
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
	RevokeKey(ctx context.Context, project, id int64) error

	// Datasets.
	Dataset(project int64, name string) *meta.Dataset
	Schema(project int64, name string) *point.Schema
	Datasets(project int64) []meta.Dataset
	AllDatasets() []meta.Dataset
	EnsureDataset(ctx context.Context, project int64, name string) error
	SetSchema(ctx context.Context, project int64, name string, schema *point.Schema) error
	SetRetention(ctx context.Context, project int64, name string, d time.Duration) error
	SetSampling(ctx context.Context, project int64, name string, pps float64) error
	Sampling(project int64, name string) float64

	// Dashboard sessions, alert rules, checks and cron monitors.
	session.Store
	alert.Store
	checks.Store
	monitors.Store

	// Saved queries (the server's savedQueryStore).
	SavedQueries(ctx context.Context, project int64, each func(id int64, name, sql string, created, updated time.Time)) error
	CountSavedQueries(ctx context.Context, project int64) (int, error)
	CreateSavedQuery(ctx context.Context, project int64, name, sql string, at time.Time) (int64, error)
	UpdateSavedQuery(ctx context.Context, project, id int64, name, sql string, at time.Time) (time.Time, error)
	DeleteSavedQuery(ctx context.Context, project, id int64) error
}

// Opener returns a new, empty store; it fails t when it cannot. The suite
// closes it when the test ends.
type Opener func(t *testing.T) Meta

// Run runs the whole suite, each test on a store of its own.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, m Meta)
	}{
		{"Settings", testSettings},
		{"Projects", testProjects},
		{"Keys", testKeys},
		{"Datasets", testDatasets},
		{"DatasetSettings", testDatasetSettings},
		{"Sessions", testSessions},
		{"SavedQueries", testSavedQueries},
		{"AlertRules", testAlertRules},
		{"Checks", testChecks},
		{"CheckRuns", testCheckRuns},
		{"Monitors", testMonitors},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := open(t)
			t.Cleanup(func() {
				if err := m.Close(); err != nil {
					t.Errorf("Close() = %v; want nil", err)
				}
			})
			if err := m.Ping(context.Background()); err != nil {
				t.Fatalf("Ping() = %v; want nil", err)
			}
			tt.fn(t, m)
		})
	}
}

// at is a time of the tests: milliseconds, which every store keeps.
func at(minute int) time.Time {
	return time.Date(2026, 11, 27, 10, minute, 30, 125_000_000, time.UTC)
}

// ok fails the test when err is not nil.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v; want nil", what, err)
	}
}

// is fails the test when err does not wrap want.
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v; want an error wrapping %q", what, err, want)
	}
}

// sameTime fails the test when a time differs from want or is not UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v; want %v in UTC", what, got, want)
	}
}
