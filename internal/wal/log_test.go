package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

func batchN(project int64, n, tag int) store.Batch {
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{Dataset: "requests", Timestamp: 1796470000000 + int64(i), Index: fmt.Sprintf("/e%d", tag),
			Blobs: []string{fmt.Sprintf("b%d-%d", tag, i)}, Doubles: []float64{float64(i), float64(tag)}}
	}
	return store.Batch{Project: project, Points: pts}
}

func replayAll(t *testing.T, l *Log, from Pos) (tags []float64, last Pos) {
	t.Helper()
	err := l.Replay(from, func(pos Pos, b store.Batch) error {
		if !last.Less(pos) {
			t.Fatalf("replay positions out of order: %v after %v", pos, last)
		}
		last = pos
		tags = append(tags, b.Points[0].Doubles[1])
		return nil
	})
	if err != nil {
		t.Fatalf("Replay = %v", err)
	}
	return tags, last
}

// TestLogAppendReplayRelease: concurrent appends are all replayed after a
// reopen, across segments; Replay from a position skips what is before
// it; Release deletes whole segments only.
func TestLogAppendReplayRelease(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	pos := map[int]Pos{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				tag := g*100 + i
				b := batchN(1, 3, tag)
				p, err := l.Append(context.Background(), &b)
				if err != nil {
					t.Errorf("Append = %v", err)
					return
				}
				mu.Lock()
				pos[tag] = p
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(Options{Dir: dir, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tags, _ := replayAll(t, l, Pos{})
	if len(tags) != 200 {
		t.Fatalf("replayed %d records; want 200", len(tags))
	}
	seen := map[int]bool{}
	for _, x := range tags {
		seen[int(x)] = true
	}
	if len(seen) != 200 {
		t.Errorf("replayed %d distinct records; want 200", len(seen))
	}
	segs, _ := l.segments()
	if len(segs) < 3 {
		t.Fatalf("%d segments; want several at 4 KiB each", len(segs))
	}
	// From the position of some record on: only the later ones.
	mid := pos[305]
	after, _ := replayAll(t, l, mid)
	n := 0
	for _, p := range pos {
		if mid.Less(p) {
			n++
		}
	}
	if len(after) != n {
		t.Errorf("replay after %v gave %d records; want %d", mid, len(after), n)
	}
	// Release up to it: the segments wholly before it go.
	if err := l.Release(mid); err != nil {
		t.Fatal(err)
	}
	left, _ := l.segments()
	if len(left) == 0 || left[0] != mid.Seg && left[0] != mid.Seg+1 {
		t.Errorf("after Release(%v) segments %v remain", mid, left)
	}
	again, _ := replayAll(t, l, mid)
	if len(again) != n {
		t.Errorf("replay after release gave %d records; want %d", len(again), n)
	}
}

// TestLogTornTail: a record cut short at the end of the last segment is
// dropped at open (it was never acknowledged), and writing goes on.
func TestLogTornTail(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		b := batchN(1, 5, i)
		if _, err := l.Append(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	path := filepath.Join(dir, segName(1))
	full, _ := os.ReadFile(path)
	b := batchN(1, 5, 9)
	rec := AppendRecord(nil, &b)
	for _, cut := range []int{1, 7, 8, 20, len(rec) - 1} {
		if err := os.WriteFile(path, append(append([]byte(nil), full...), rec[:cut]...), 0o640); err != nil {
			t.Fatal(err)
		}
		l, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("Open with a record cut at %d of %d bytes = %v; want it dropped", cut, len(rec), err)
		}
		if tags, _ := replayAll(t, l, Pos{}); len(tags) != 3 || l.Recovered() != int64(cut) {
			t.Errorf("cut at %d: replayed %v, recovered %d bytes", cut, tags, l.Recovered())
		}
		l.Close()
	}
	// A whole record whose bytes did not all reach the disk (zeros).
	zeroed := append([]byte(nil), rec...)
	for i := headerSize + 3; i < len(zeroed); i++ {
		zeroed[i] = 0
	}
	os.WriteFile(path, append(append([]byte(nil), full...), zeroed...), 0o640)
	l, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open with a zeroed last record = %v; want it dropped", err)
	}
	b = batchN(1, 5, 4)
	if _, err := l.Append(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if tags, _ := replayAll(t, l, Pos{}); fmt.Sprint(tags) != "[0 1 2 4]" {
		t.Errorf("after a dropped tail and a new write: %v", tags)
	}
	l.Close()
}

// TestLogCorruptMiddle: damage before the end stops Open with the segment,
// the offset and what to do.
func TestLogCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ends []Pos
	for i := range 3 {
		b := batchN(1, 5, i)
		p, err := l.Append(context.Background(), &b)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, p)
	}
	l.Close()
	path := filepath.Join(dir, segName(1))
	data, _ := os.ReadFile(path)
	data[ends[0].Off+headerSize+5] ^= 0xff // inside the second record
	os.WriteFile(path, data, 0o640)
	_, err = Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), segName(1)) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", ends[0].Off)) ||
		!strings.Contains(err.Error(), "truncate -s") {
		t.Fatalf("Open of a log damaged in the middle = %v; want an error naming the segment, offset and what to do", err)
	}
}

// TestLogFullAndDiskFull: past MaxBytes Append is ErrFull until Release;
// a write the disk refuses is a DiskFullError, acknowledges nothing, and
// the log takes writes again afterwards.
func TestLogFullAndDiskFull(t *testing.T) {
	dir := t.TempDir()
	var noSpace bool
	var mu sync.Mutex
	opts := Options{Dir: dir, SegmentBytes: 2048, MaxBytes: 8192,
		Write: func(f *os.File, b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			if noSpace {
				n, _ := f.Write(b[:len(b)/2]) // a partial write, then no room
				return n, syscall.ENOSPC
			}
			return f.Write(b)
		}}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	last, full := fillUntilFull(t, l)
	if !strings.Contains(full.Error(), "--wal-max") {
		t.Errorf("ErrFull message %q does not name --wal-max", full)
	}
	if err := l.Release(last); err != nil {
		t.Fatal(err)
	}
	if l.Size() >= 8192 {
		t.Fatalf("size %d after Release; want room", l.Size())
	}
	mu.Lock()
	noSpace = true
	mu.Unlock()
	b := batchN(1, 4, 1000)
	_, err = l.Append(context.Background(), &b)
	var df *DiskFullError
	if !errors.As(err, &df) {
		t.Fatalf("Append on a full disk = %v; want a DiskFullError", err)
	}
	mu.Lock()
	noSpace = false
	mu.Unlock()
	b = batchN(1, 4, 2000)
	if _, err := l.Append(context.Background(), &b); err != nil {
		t.Fatalf("Append after space returned = %v", err)
	}
	tags, _ := replayAll(t, l, Pos{})
	if len(tags) == 0 || tags[len(tags)-1] != 2000 {
		t.Errorf("replay ends with %v; want the write after the disk-full one", tags)
	}
	for _, x := range tags {
		if x == 1000 {
			t.Errorf("the write refused for lack of space was replayed")
		}
	}
	l.Close()
	// Reopened: the half-written record left nothing behind.
	l2, err := Open(Options{Dir: dir, SegmentBytes: 2048, MaxBytes: 8192})
	if err != nil {
		t.Fatalf("reopen = %v", err)
	}
	defer l2.Close()
	if again, _ := replayAll(t, l2, Pos{}); fmt.Sprint(again) != fmt.Sprint(tags) {
		t.Errorf("after reopen %v; want %v", again, tags)
	}
}

// TestReaderTails: a Reader sees every record once, in order, across
// segments, as writers append concurrently, and stops at the durable end.
func TestReaderTails(t *testing.T) {
	l, err := Open(Options{Dir: t.TempDir(), SegmentBytes: 8192})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := l.NewReader(Pos{})
	defer r.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b := batchN(1, 3, g*1000+i)
				if _, err := l.AppendBatches(context.Background(), []store.Batch{b, batchN(1, 1, -1)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[float64]int{}
	var last Pos
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		es, err := r.Next(1 << 16)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if !last.Less(e.Pos) {
				t.Fatalf("position %v after %v", e.Pos, last)
			}
			last = e.Pos
			seen[e.Batch.Points[0].Doubles[1]]++
		}
		if finished && len(es) == 0 {
			break
		}
	}
	if len(seen) != 201 || seen[-1] != 200 {
		t.Fatalf("read %d distinct records (%d fillers); want 200 + 200 fillers", len(seen), seen[-1])
	}
	for k, n := range seen {
		if k != -1 && n != 1 {
			t.Errorf("record %v read %d times", k, n)
		}
	}
	if last != l.End() || r.Pos() != last {
		t.Errorf("reader at %v, log ends at %v", r.Pos(), l.End())
	}
	// From a position: the rest only.
	r2 := l.NewReader(last)
	if es, err := r2.Next(1 << 20); err != nil || len(es) != 0 {
		t.Errorf("reader from the end = %d records, %v", len(es), err)
	}
	r2.Close()
}

// TestLogFullCountsUnloaded: the limit counts records not yet released,
// not the loaded ones the segment being written still holds.
func TestLogFullCountsUnloaded(t *testing.T) {
	l, err := Open(Options{Dir: t.TempDir(), MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for round := range 3 {
		last, _ := fillUntilFull(t, l)
		if last.IsZero() {
			t.Fatalf("round %d: full before the first append", round)
		}
		if err := l.Release(last); err != nil {
			t.Fatal(err)
		}
		if u := l.Unloaded(); u != 0 {
			t.Fatalf("round %d: %d bytes unloaded after releasing everything", round, u)
		}
	}
	if l.Size() <= 4096 {
		t.Errorf("size %d: the test wanted the one segment to outgrow the limit", l.Size())
	}
}

// fillUntilFull appends until the log is full and returns the position of
// the last record taken and the ErrFull.
func fillUntilFull(t *testing.T, l *Log) (last Pos, full error) {
	t.Helper()
	for n := 0; ; n++ {
		b := batchN(1, 4, n)
		p, err := l.Append(context.Background(), &b)
		if errors.Is(err, ErrFull) {
			return last, err
		}
		if err != nil {
			t.Fatal(err)
		}
		last = p
	}
}

// TestLogDiskFullAcrossSegments: a group whose records start a new
// segment, where the disk refuses them, acknowledges none of its records:
// those it synced in the earlier segment are cut off too, no Reader sees
// them (not even while the group is being written), a reopen finds none,
// and the log takes writes again.
func TestLogDiskFullAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	inSecond := make(chan struct{})
	release := make(chan struct{})
	opts := Options{Dir: dir, SegmentBytes: 2048,
		Write: func(f *os.File, b []byte) (int, error) {
			if strings.HasSuffix(f.Name(), segName(2)) {
				close(inSecond)
				<-release
				return 0, syscall.ENOSPC
			}
			return f.Write(b)
		}}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []float64
	for i := 0; l.End().Off < 1500; i++ {
		b := batchN(1, 4, i)
		if _, err := l.Append(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		want = append(want, float64(i))
	}
	r := l.NewReader(Pos{})
	defer r.Close()
	read := func() (tags []float64) {
		t.Helper()
		es, err := r.Next(1 << 20)
		if err != nil {
			t.Fatalf("Next = %v", err)
		}
		for _, e := range es {
			tags = append(tags, e.Batch.Points[0].Doubles[1])
		}
		return tags
	}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read %v; want %v", got, want)
	}
	// Five records: the first ones fill segment 1, the rest go to 2.
	group := []store.Batch{batchN(1, 4, 500), batchN(1, 4, 501), batchN(1, 4, 502), batchN(1, 4, 503), batchN(1, 4, 504)}
	done := make(chan error, 1)
	go func() {
		_, err := l.AppendBatches(context.Background(), group)
		done <- err
	}()
	<-inSecond
	// Segment 1's part of the group is synced, the group is not done.
	if got := read(); len(got) != 0 {
		t.Errorf("while the group is written a Reader sees %v; want nothing", got)
	}
	close(release)
	var df *DiskFullError
	if err := <-done; !errors.As(err, &df) {
		t.Fatalf("AppendBatches on a full disk = %v; want a DiskFullError", err)
	}
	if got := read(); len(got) != 0 {
		t.Errorf("after the refused group a Reader sees %v; want nothing", got)
	}
	if tags, _ := replayAll(t, l, Pos{}); fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("after the refused group the log holds %v; want %v", tags, want)
	}
	if _, err := os.Stat(filepath.Join(dir, segName(2))); !os.IsNotExist(err) {
		t.Errorf("the segment the refused group opened is still there (%v)", err)
	}
	b := batchN(1, 4, 900)
	if _, err := l.Append(context.Background(), &b); err != nil {
		t.Fatalf("Append after the refused group = %v", err)
	}
	want = append(want, 900)
	if got := read(); fmt.Sprint(got) != "[900]" {
		t.Errorf("read after the refused group %v; want [900]", got)
	}
	l.Close()
	l2, err := Open(Options{Dir: dir, SegmentBytes: 2048})
	if err != nil {
		t.Fatalf("reopen = %v", err)
	}
	defer l2.Close()
	if tags, _ := replayAll(t, l2, Pos{}); fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("after reopen %v; want %v", tags, want)
	}
}

// TestFailedGroupsAllRefused: while every write fails (a full disk), no
// concurrent Append is acknowledged — also a writer whose group failed
// and who wakes only after a later group failed too.
func TestFailedGroupsAllRefused(t *testing.T) {
	l, err := Open(Options{Dir: t.TempDir(), Write: func(f *os.File, b []byte) (int, error) {
		return 0, syscall.ENOSPC
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	var acked atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				b := batchN(1, 2, w*1000+i)
				if _, err := l.Append(context.Background(), &b); err == nil {
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := acked.Load(); n != 0 {
		t.Fatalf("%d appends acknowledged though every write failed", n)
	}
}
