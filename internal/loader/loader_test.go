package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// target is a store in memory with one transaction per day, as the DuckDB
// store has: failDay makes the commit of that day fail (after the earlier
// days of the same append committed), as a crash between two day files'
// commits would leave them.
type target struct {
	mu      sync.Mutex
	pos     map[int64]store.LogPos
	count   map[string]int // points per tag
	failDay int64
	fails   int
}

func newTarget() *target {
	return &target{pos: map[int64]store.LogPos{}, count: map[string]int{}}
}

func (t *target) AppendAt(_ context.Context, batches []store.Batch, pos store.LogPos) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	byDay := map[int64][]point.Point{}
	for _, b := range batches {
		for _, p := range b.Points {
			d := store.DayStart(p.Timestamp)
			byDay[d] = append(byDay[d], p)
		}
	}
	for _, d := range []int64{0, store.DayMs, 2 * store.DayMs} { // days in order
		pts, ok := byDay[d]
		if !ok {
			continue
		}
		if d == t.failDay && t.fails > 0 {
			t.fails--
			return errors.New("commit failed")
		}
		for _, p := range pts {
			t.count[p.Blobs[0]]++
		}
		t.pos[d] = pos
	}
	return nil
}

func (t *target) LoadedPositions(context.Context) (map[int64]store.LogPos, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int64]store.LogPos{}
	for d, p := range t.pos {
		out[d] = p
	}
	return out, nil
}

// record is a batch of two points on each of the first two days.
func record(i int) store.Batch {
	var pts []point.Point
	for _, d := range []int64{0, store.DayMs} {
		for j := range 2 {
			pts = append(pts, point.Point{Dataset: "d", Timestamp: d + int64(1000*i+j), Blobs: []string{fmt.Sprintf("r%d-%d", i, d/store.DayMs)}})
		}
	}
	return store.Batch{Project: 1, Points: pts}
}

func (t *target) exactlyOnce(tb testing.TB, n int) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range n {
		for d := range 2 {
			if c := t.count[fmt.Sprintf("r%d-%d", i, d)]; c != 2 {
				tb.Errorf("record %d day %d: %d points loaded; want 2 (once)", i, d, c)
			}
		}
	}
}

// TestLoaderExactlyOnce: a load whose second day file fails to commit (its
// first committed) is retried from the per-day positions; a new loader
// (a restart) replays only what no day file has; every point is loaded
// once.
func TestLoaderExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	lg, err := wal.Open(wal.Options{Dir: dir, SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget()
	tg.failDay, tg.fails = store.DayMs, 2
	l := New(lg, tg, Options{MaxPoints: 20, Idle: 10 * time.Millisecond})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Start()
	for i := range 40 {
		b := record(i)
		if _, err := lg.AppendBatches(context.Background(), []store.Batch{b}); err != nil {
			t.Fatal(err)
		}
		l.Notify()
	}
	if !l.Wait(context.Background(), 10*time.Second) {
		t.Fatalf("not loaded: at %v, log ends at %v", l.Loaded(), lg.End())
	}
	tg.exactlyOnce(t, 40)

	// A restart with some records unloaded, one append cut after its
	// first day: the replay loads each missing day once.
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 40; i < 60; i++ {
		b := record(i)
		if _, err := lg.AppendBatches(context.Background(), []store.Batch{b}); err != nil {
			t.Fatal(err)
		}
	}
	tg.fails = 1 // the first replay append fails after day 0
	lg.Close()
	lg, err = wal.Open(wal.Options{Dir: dir, SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	l2 := New(lg, tg, Options{MaxPoints: 20})
	if _, _, err := l2.Replay(context.Background()); err == nil {
		t.Fatal("the first replay did not fail; the test misses the partial commit")
	}
	l3 := New(lg, tg, Options{MaxPoints: 20})
	records, points, err := l3.Replay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tg.exactlyOnce(t, 60)
	if points == 0 || records == 0 {
		t.Errorf("replay read %d records, loaded %d points", records, points)
	}
	if l3.Loaded() != lg.End() {
		t.Errorf("loaded %v; log ends at %v", l3.Loaded(), lg.End())
	}
}

// gated is a target whose appends wait for a token on gate.
type gated struct {
	*target
	gate chan struct{}
}

func (g gated) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.target.AppendAt(ctx, batches, pos)
}

// TestAppendWaitsForBacklog: past MaxBacklog of unloaded log, Append waits
// until the loader loads; then it logs the write.
func TestAppendWaitsForBacklog(t *testing.T) {
	lg, err := wal.Open(wal.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	tg := gated{newTarget(), make(chan struct{})}
	l := New(lg, tg, Options{MaxBacklog: 1, Idle: 10 * time.Millisecond})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Start()
	ctx := context.Background()
	// The first write finds no backlog; the loader takes it and blocks.
	if err := l.Append(ctx, []store.Batch{record(0)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Append(ctx, []store.Batch{record(1)}) }()
	select {
	case err := <-done:
		t.Fatalf("Append returned (%v) with a backlog over MaxBacklog and the loader stuck", err)
	case <-time.After(200 * time.Millisecond):
	}
	if lg.Unloaded() == 0 {
		t.Fatalf("the log has %d unloaded bytes; want the first write's", lg.Unloaded())
	}
	before := lg.End()
	close(tg.gate) // the loader goes on
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(BacklogWait + 5*time.Second):
		t.Fatal("Append still waits after the loader loaded")
	}
	if !before.Less(lg.End()) {
		t.Error("the waiting write was not logged")
	}
	if !l.Wait(ctx, 10*time.Second) {
		t.Fatal("not loaded")
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	tg.exactlyOnce(t, 2)
}

// TestRestartReadsFromMark: after a full load, a restart reads no record
// again (the log's loaded mark), though the segment still holds them; a
// damaged mark only makes it read them (and load nothing twice).
func TestRestartReadsFromMark(t *testing.T) {
	dir := t.TempDir()
	lg, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget()
	l := New(lg, tg, Options{MaxPoints: 20})
	for i := range 30 {
		if _, err := lg.AppendBatches(context.Background(), []store.Batch{record(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	lg.Close()
	for _, damage := range []bool{false, true} {
		if damage {
			if err := os.WriteFile(filepath.Join(dir, "loaded"), []byte("garbage"), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		lg, err := wal.Open(wal.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		records, points, err := New(lg, tg, Options{MaxPoints: 20}).Replay(context.Background())
		lg.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{false: 0, true: 30}[damage]; records != want || points != 0 {
			t.Errorf("damaged mark %v: restart read %d records, loaded %d points; want %d read, 0 loaded", damage, records, points, want)
		}
	}
	tg.exactlyOnce(t, 30)
}
