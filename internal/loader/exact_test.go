package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// dedupTarget is a store that keeps no log position but drops an insert
// block identical to one of its last window blocks, as a ClickHouse
// ReplicatedMergeTree does: an insert is cut into one block per day (a
// partition), each keyed by its day and the hash of its rows in order.
// fail makes the next inserts fail after storing their first day's block
// (a shard or a partition stored, the rest not), as an insert cut short by
// an outage or a crash leaves it.
type dedupTarget struct {
	mu      sync.Mutex
	window  int
	recent  []string       // block keys, oldest first
	count   map[string]int // points stored per tag
	inserts []int          // points of each insert call that stored anything new
	calls   int
	fail    int   // inserts still to fail after their first block
	down    error // when set, every insert fails with it before storing anything
}

func newDedupTarget() *dedupTarget {
	return &dedupTarget{window: 100, count: map[string]int{}}
}

func (t *dedupTarget) AppendAt(_ context.Context, batches []store.Batch, _ store.LogPos) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.down != nil {
		return t.down
	}
	type block struct {
		h    []byte
		tags []string
	}
	var days []int64
	blocks := map[int64]*block{}
	for _, b := range batches {
		for _, p := range b.Points {
			d := store.DayStart(p.Timestamp)
			bl := blocks[d]
			if bl == nil {
				bl = &block{}
				blocks[d] = bl
				days = append(days, d)
			}
			bl.h = fmt.Appendf(bl.h, "%d/%s/%d/%s;", b.Project, p.Dataset, p.Timestamp, strings.Join(p.Blobs, ","))
			bl.tags = append(bl.tags, p.Blobs[0])
		}
	}
	stored := 0
	for i, d := range days {
		if i == 1 && t.fail > 0 {
			t.fail--
			return errors.New("connection reset after the first block")
		}
		h := fnv.New128a()
		h.Write(blocks[d].h)
		key := fmt.Sprintf("%d_%x", d, h.Sum(nil))
		dup := false
		for _, k := range t.recent {
			dup = dup || k == key
		}
		if dup {
			continue
		}
		t.recent = append(t.recent, key)
		if len(t.recent) > t.window {
			t.recent = t.recent[1:]
		}
		for _, tag := range blocks[d].tags {
			t.count[tag]++
		}
		stored += len(blocks[d].tags)
	}
	if stored > 0 {
		t.inserts = append(t.inserts, stored)
	}
	return nil
}

func (t *dedupTarget) LoadedPositions(context.Context) (map[int64]store.LogPos, error) {
	return nil, errors.New("a loader with a ranges file must not ask the target for positions")
}

func (t *dedupTarget) exactlyOnce(tb testing.TB, n int) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range n {
		for d := range 2 {
			if c := t.count[fmt.Sprintf("r%d-%d", i, d)]; c != 2 {
				tb.Errorf("record %d day %d: %d points stored; want 2 (once)", i, d, c)
			}
		}
	}
}

func openLog(t *testing.T, dir string) *wal.Log {
	t.Helper()
	lg, err := wal.Open(wal.Options{Dir: dir, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

func appendRecords(t *testing.T, l *Loader, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := l.Append(context.Background(), []store.Batch{record(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExactRetriesTheSameGroup: inserts that fail after storing part of
// their rows are retried as the same group, which the target's
// deduplication completes: every point is stored once.
func TestExactRetriesTheSameGroup(t *testing.T) {
	dir := t.TempDir()
	lg := openLog(t, dir)
	defer lg.Close()
	tg := newDedupTarget()
	tg.fail = 5
	l := New(lg, tg, Options{Ranges: filepath.Join(dir, "ranges"), MaxPoints: 40, MaxDelay: 20 * time.Millisecond, Idle: 5 * time.Millisecond})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Start()
	appendRecords(t, l, 0, 100)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tg.fail != 0 {
		t.Fatalf("%d failures left: the test did not exercise them", tg.fail)
	}
	tg.exactlyOnce(t, 100)
	r, _, err := ReadRange(filepath.Join(dir, "ranges"))
	if err != nil {
		t.Fatal(err)
	}
	if r.InFlight() || r.Loaded != lg.End() {
		t.Errorf("ranges file %+v; want everything loaded, up to %v", r, lg.End())
	}
}

// TestExactReplayAfterCrash: a group whose insert stored part of its rows
// when the node stopped (its load never seen to end) is loaded again at the
// next start with the same records, whatever MaxPoints says now; the
// target keeps each point once, and the records after it load too.
func TestExactReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	ranges := filepath.Join(dir, "ranges")
	lg := openLog(t, dir)
	tg := newDedupTarget()
	l := New(lg, tg, Options{Ranges: ranges, MaxPoints: 40})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := lg.AppendBatches(context.Background(), []store.Batch{record(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tg.fail = 1 // the second group stores its first day, then fails
	if _, _, err := l.Replay(context.Background()); err == nil {
		t.Fatal("the replay did not fail")
	}
	r, _, err := ReadRange(ranges)
	if err != nil {
		t.Fatal(err)
	}
	if !r.InFlight() {
		t.Fatalf("ranges file %+v after a failed load; want the group in flight", r)
	}
	// The crash: nothing of the loader's memory survives, and the log
	// gets more records before the restart.
	lg.Close()
	lg = openLog(t, dir)
	defer lg.Close()
	for i := 30; i < 50; i++ {
		if _, err := lg.AppendBatches(context.Background(), []store.Batch{record(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l2 := New(lg, tg, Options{Ranges: ranges, MaxPoints: 7}) // other groups than before
	records, points, err := l2.Replay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tg.exactlyOnce(t, 50)
	if l2.Loaded() != lg.End() {
		t.Errorf("loaded %v; the log ends at %v", l2.Loaded(), lg.End())
	}
	if records == 0 || points == 0 {
		t.Errorf("replay read %d records, loaded %d points", records, points)
	}
	// A restart with nothing in flight reads and loads nothing.
	records, points, err = New(lg, tg, Options{Ranges: ranges}).Replay(context.Background())
	if err != nil || records != 0 || points != 0 {
		t.Errorf("second restart: %d records, %d points, %v; want none", records, points, err)
	}
	tg.exactlyOnce(t, 50)
}

// TestExactBatches: small writes are gathered into groups of MaxPoints or
// of MaxDelay's worth, not loaded one by one.
func TestExactBatches(t *testing.T) {
	dir := t.TempDir()
	lg := openLog(t, dir)
	defer lg.Close()
	tg := newDedupTarget()
	tg.window = 10_000
	l := New(lg, tg, Options{Ranges: filepath.Join(dir, "ranges"), MaxPoints: 400, MaxDelay: 300 * time.Millisecond, Idle: 5 * time.Millisecond})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Start()
	start := time.Now()
	for i := range 200 { // 4 points every 2 ms: 400 points in about 0.4 s
		appendRecords(t, l, i, i+1)
		time.Sleep(2 * time.Millisecond)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	tg.exactlyOnce(t, 200)
	st := l.Stats()
	if st.Points != 800 {
		t.Errorf("stats: %d points loaded; want 800", st.Points)
	}
	// At most one group per MaxDelay, plus those MaxPoints closed, plus
	// the last.
	if most := int64(elapsed/(300*time.Millisecond)) + 800/400 + 2; st.Loads > most {
		t.Errorf("%d loads of %v in %v; want at most %d", st.Loads, tg.inserts, elapsed, most)
	}
	for i, n := range tg.inserts {
		if n > 400+4 {
			t.Errorf("insert %d of %d points; MaxPoints is 400", i, n)
		}
	}
}

// TestExactStoreDown: while the target cannot be reached, writes are
// logged without waiting on the backlog; once the log is full its error
// says the store is unavailable; once it is back, everything loads once.
func TestExactStoreDown(t *testing.T) {
	dir := t.TempDir()
	lg, err := wal.Open(wal.Options{Dir: dir, SegmentBytes: 4096, MaxBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	tg := newDedupTarget()
	tg.down = &store.UnavailableError{What: "clickhouse shard 127.0.0.1:9000", Err: errors.New("connection refused")}
	l := New(lg, tg, Options{Ranges: filepath.Join(dir, "ranges"), MaxBacklog: 1024, MaxDelay: 10 * time.Millisecond, Idle: 5 * time.Millisecond})
	if _, _, err := l.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Start()
	appendRecords(t, l, 0, 1)
	deadline := time.Now().Add(10 * time.Second)
	for l.storeDown() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the loader did not see the store down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	n := 1
	for ; ; n++ {
		err := l.Append(context.Background(), []store.Batch{record(n)})
		if err == nil {
			continue
		}
		if !errors.Is(err, wal.ErrFull) || !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("write %d: %v; want wal.ErrFull and store.ErrUnavailable", n, err)
		}
		break
	}
	if n < 20 {
		t.Fatalf("the log took %d writes; want it to fill its 16 KiB", n)
	}
	if took := time.Since(start); took > BacklogWait {
		t.Errorf("%d writes took %v with the store down: they waited on the backlog", n, took)
	}
	tg.mu.Lock()
	tg.down = nil
	tg.mu.Unlock()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tg.exactlyOnce(t, n)
}

// TestExactRangesFile: a log with records and no ranges file, a damaged
// file, and a file past the log's end are refused, naming the file.
func TestExactRangesFile(t *testing.T) {
	dir := t.TempDir()
	ranges := filepath.Join(dir, "ranges")
	lg := openLog(t, dir)
	defer lg.Close()
	if _, err := lg.AppendBatches(context.Background(), []store.Batch{record(0)}); err != nil {
		t.Fatal(err)
	}
	tg := newDedupTarget()
	_, _, err := New(lg, tg, Options{Ranges: ranges}).Replay(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no ranges file") {
		t.Errorf("no ranges file: %v", err)
	}
	if err := os.WriteFile(ranges, []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, _, err = New(lg, tg, Options{Ranges: ranges}).Replay(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), ranges) {
		t.Errorf("damaged ranges file: %v", err)
	}
	if err := WriteRange(ranges, Range{To: store.LogPos{Seg: 9, Off: 1}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = New(lg, tg, Options{Ranges: ranges}).Replay(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not this log's") {
		t.Errorf("ranges file past the log's end: %v", err)
	}
	if c := tg.calls; c != 0 {
		t.Errorf("%d inserts; want none", c)
	}
	// A group end that falls inside a record.
	end := lg.End()
	if err := WriteRange(ranges, Range{To: store.LogPos{Seg: end.Seg, Off: end.Off - 1}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = New(lg, tg, Options{Ranges: ranges}).Replay(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no record of the log ends there") {
		t.Errorf("group end inside a record: %v", err)
	}
}

func TestRangeRoundTrip(t *testing.T) {
	for _, r := range []Range{{}, {Loaded: store.LogPos{Seg: 1, Off: 10}, To: store.LogPos{Seg: 3, Off: 0}}} {
		got, err := DecodeRange(EncodeRange(r))
		if err != nil || got != r {
			t.Errorf("DecodeRange(EncodeRange(%+v)) = %+v, %v", r, got, err)
		}
	}
	b := EncodeRange(Range{To: store.LogPos{Seg: 1, Off: 5}})
	b[20] ^= 1
	if _, err := DecodeRange(b); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a flipped bit: %v", err)
	}
	backwards := EncodeRange(Range{Loaded: store.LogPos{Seg: 2}, To: store.LogPos{Seg: 1}})
	if _, err := DecodeRange(backwards); err == nil || !strings.Contains(err.Error(), "before") {
		t.Errorf("an end before the loaded position: %v", err)
	}
}

func FuzzDecodeRange(f *testing.F) {
	f.Add(EncodeRange(Range{}))
	f.Add(EncodeRange(Range{Loaded: store.LogPos{Seg: 1, Off: 10}, To: store.LogPos{Seg: 3, Off: 7}}))
	f.Add([]byte("ALRG"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRange(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeRange(r), b) {
			t.Fatalf("DecodeRange accepted %x as %+v, which encodes otherwise", b, r)
		}
		if r.To.Less(r.Loaded) || r.Loaded.Off < 0 {
			t.Fatalf("DecodeRange accepted an impossible range %+v", r)
		}
	})
}
