package duckdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// blockSizes returns the block size of each database the store has open.
func blockSizes(t *testing.T, s *duckdb.Store) map[string]int64 {
	t.Helper()
	rows, err := s.QuerySQL(context.Background(), `SELECT database_name, block_size FROM pragma_database_size()`, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			t.Fatal(err)
		}
		out[name] = size
	}
	return out
}

// TestBlockSizes: a new metadata database has 16 KiB blocks (DuckDB
// holds a block per column of a table appended to since its checkpoint),
// day files DuckDB's 256 KiB; a metadata database made with 256 KiB
// blocks (before) keeps them and works.
func TestBlockSizes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := s.Append(ctx, dayBatch(day, 10)); err != nil {
		t.Fatal(err)
	}
	got := blockSizes(t, s)
	if got["alidade"] != 16<<10 || got["p20261120"] != 256<<10 {
		t.Errorf("block sizes = %v; want alidade 16 KiB, p20261120 256 KiB", got)
	}
	s.Close()
	s = openStore(t, dir)
	if got := blockSizes(t, s); got["alidade"] != 16<<10 || got["p20261120"] != 256<<10 {
		t.Errorf("block sizes after a restart = %v", got)
	}
	s.Close()

	// A metadata database made with DuckDB's default blocks.
	old := t.TempDir()
	db, err := sql.Open("duckdb", filepath.Join(old, "alidade.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE before (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openStore(t, old)
	defer s.Close()
	if got := blockSizes(t, s); got["alidade"] != 256<<10 {
		t.Errorf("block sizes of an older data directory = %v; want alidade's 256 KiB kept", got)
	}
	g := &errtrack.Group{ID: 1, Project: 1, Fingerprint: "f", Grouping: "v1", Title: "t", Status: "unresolved", Count: 1}
	if err := s.CommitErrors(ctx, errtrack.Commit{New: []*errtrack.Group{g}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, dayBatch(day, 10)); err != nil {
		t.Fatal(err)
	}
}
