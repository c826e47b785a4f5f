package duckdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// TestIdempotencyRecords: a record is committed in every day file its
// write names, also one where the write has no point, survives a restart,
// and is found only within the window asked.
func TestIdempotencyRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC).UnixMilli()
	const day = int64(86_400_000)
	today, yesterday := now-now%day, now-now%day-day
	rec := &store.Idem{Key: "k1", Hash: "h1", Days: []int64{yesterday, today}, Status: 200, Body: []byte(`{"accepted":1}`), At: now}
	pts := []point.Point{{Dataset: "d", Timestamp: now - 1000, Index: "x", Doubles: []float64{1}}}
	if err := st.Append(ctx, []store.Batch{{Project: 1, Points: pts, Idem: rec}}); err != nil {
		t.Fatalf("Append with a record = %v", err)
	}
	check := func(what string, since int64, want int) {
		t.Helper()
		got, err := st.IdemLookup(ctx, 1, "k1", []int64{yesterday, today}, since)
		if err != nil || len(got) != want {
			t.Fatalf("%s: IdemLookup = %v, %v; want %d days", what, got, err, want)
		}
		for d, r := range got {
			if r.Hash != "h1" || r.Status != 200 || string(r.Body) != `{"accepted":1}` || r.At != now || len(r.Days) != 2 {
				t.Errorf("%s: record of day %d = %+v", what, d, r)
			}
		}
	}
	check("committed", now-day, 2)
	check("outside the window", now+1, 0)
	if got, err := st.IdemLookup(ctx, 2, "k1", []int64{today}, 0); err != nil || len(got) != 0 {
		t.Errorf("another project's lookup = %v, %v; want none", got, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check("reopened", now-day, 2)
	// A day later the key may be used again: the new record replaces the
	// old one.
	later := &store.Idem{Key: "k1", Hash: "h2", Days: []int64{today}, Status: 200, Body: []byte(`{"accepted":2}`), At: now + day}
	if err := st.Append(ctx, []store.Batch{{Project: 1, Points: pts, Idem: later}}); err != nil {
		t.Fatalf("Append of a reused key = %v", err)
	}
	got, err := st.IdemLookup(ctx, 1, "k1", []int64{today}, now)
	if r, ok := got[today]; err != nil || !ok || r.Hash != "h2" || r.At != now+day {
		t.Errorf("after reuse: %+v, %v; want the new record", got, err)
	}
	// The record table is not a dataset.
	for _, d := range st.Datasets(1) {
		if d.Name == "idempotency-keys" {
			t.Errorf("dataset %q listed", d.Name)
		}
	}
}
