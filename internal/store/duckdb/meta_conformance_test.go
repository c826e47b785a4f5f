package duckdb_test

import (
	"context"
	"testing"

	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/metatest"
)

var _ metatest.Meta = (*duckdb.Store)(nil)

// TestMetaConformance runs the metadata suite the PostgreSQL store passes
// too (internal/store/postgres, build tag cluster).
func TestMetaConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) metatest.Meta {
		t.Helper()
		dir := t.TempDir()
		s, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "128MB", Threads: 1})
		if err != nil {
			t.Fatalf("Open(%q) = %v; want nil error", dir, err)
		}
		return s
	})
}
