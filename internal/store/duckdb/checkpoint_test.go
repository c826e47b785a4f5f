package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

func dayBatch(day time.Time, n int) []store.Batch {
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{Dataset: "requests", Timestamp: day.UnixMilli() + int64(i)*1000, Index: fmt.Sprintf("/e/%d", i%7),
			Blobs: []string{"https://example.test/" + fmt.Sprint(i), "GET"}, Doubles: []float64{float64(i % 100), 200}}
	}
	return []store.Batch{{Project: 1, Points: pts}}
}

// TestCheckpointIdle checks that idle day files are checkpointed (their
// logs emptied, their rows intact) while another day keeps being written,
// and that a file written after its checkpoint is checkpointed again.
func TestCheckpointIdle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close()
	d0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for k := range 3 {
		if err := s.Append(ctx, dayBatch(d0.AddDate(0, 0, k), 2000)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CheckpointIdle(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("CheckpointIdle(1h) right after the writes = %d, %v; want 0, nil", n, err)
	}
	walOf := func(k int) string {
		return filepath.Join(dir, "points", d0.AddDate(0, 0, k).Format("2006-01-02")+".duckdb.wal")
	}
	for k := range 3 {
		if fi, err := os.Stat(walOf(k)); err != nil || fi.Size() == 0 {
			t.Fatalf("no write-ahead log %s after the writes (%v): the test cannot tell a checkpoint", walOf(k), err)
		}
	}

	// Keep writing a fourth day while the three idle ones are checkpointed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Append(ctx, dayBatch(d0.AddDate(0, 0, 3), 200)); err != nil {
				writeErr = err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	n, err := s.CheckpointIdle(ctx, 10*time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatalf("CheckpointIdle beside writes: %v; writes: %v", err, writeErr)
	}
	if n < 3 {
		t.Fatalf("CheckpointIdle checkpointed %d files; want the 3 idle days", n)
	}
	for k := range 3 {
		name := walOf(k)
		if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
			t.Errorf("%s holds %d bytes after its checkpoint", name, fi.Size())
		}
	}
	if n, err := s.CheckpointIdle(ctx, 0); err != nil || n != 1 {
		t.Fatalf("CheckpointIdle(0) after the fourth day's writes = %d, %v; want 1 (that day), nil", n, err)
	}
	if n, err := s.CheckpointIdle(ctx, 0); err != nil || n != 0 {
		t.Fatalf("CheckpointIdle(0) with nothing written since = %d, %v; want 0, nil", n, err)
	}
	// The rows are all there.
	res, err := s.Execute(ctx, &query.Sub{Project: 1, Dataset: "requests", From: d0.UnixMilli(), To: d0.AddDate(0, 0, 3).UnixMilli(),
		Aggs: []query.Agg{{Type: query.AggCount}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0].Values[0]; got != float64(6000) {
		t.Fatalf("count over the checkpointed days = %v; want 6000", got)
	}
}
