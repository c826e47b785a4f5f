package duckdb_test

import (
	"context"
	"testing"

	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/storetest"
)

var _ storetest.Backend = (*duckdb.Store)(nil)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) storetest.Backend {
		t.Helper()
		s, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "512MB"})
		if err != nil {
			t.Fatalf("Open(%q) = %v; want nil error", dir, err)
		}
		return s
	})
}
