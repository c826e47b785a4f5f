package ingest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// appenderFunc is a test double for Appender.
type appenderFunc struct {
	append func(ctx context.Context, b []store.Batch) error
}

func (a appenderFunc) Append(ctx context.Context, b []store.Batch) error { return a.append(ctx, b) }

func points(n int) []point.Point {
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{Dataset: "d", Timestamp: 1, Doubles: []float64{float64(i)}}
	}
	return pts
}

func newPipeline(t *testing.T, app Appender, opts Options) *Pipeline {
	t.Helper()
	p, err := New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return p
}

// TestGroupCommit: requests that arrive while a commit runs share the next one.
func TestGroupCommit(t *testing.T) {
	gate := make(chan struct{})
	var commits atomic.Int32
	var mu sync.Mutex
	var sizes []int
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		if commits.Add(1) == 1 {
			<-gate // hold the first commit until the others queue up
		}
		mu.Lock()
		sizes = append(sizes, len(b))
		mu.Unlock()
		return nil
	}}
	opts := DefaultOptions()
	opts.Committers = 1
	p := newPipeline(t, app, opts)
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	wg.Go(func() { errs <- p.Submit(context.Background(), 1, points(3), 10) })
	for p.QueuedBytes() == 0 || commits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		wg.Go(func() { errs <- p.Submit(context.Background(), int64(i+2), points(2), 10) })
	}
	for {
		time.Sleep(time.Millisecond)
		// 1 batch in the first commit's hands + 10 queued.
		if p.QueuedBytes() == int64(11*10+3*PointOverhead+10*2*PointOverhead) {
			break
		}
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Submit = %v; want nil", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 10 {
		t.Fatalf("commit batch counts = %v; want [1 10] (ten waiting writes share one commit)", sizes)
	}
	if q := p.QueuedBytes(); q != 0 {
		t.Fatalf("QueuedBytes after commits = %d; want 0", q)
	}
}

// TestOverloadIsImmediateAndBounded: a full queue refuses at once and keeps nothing.
func TestOverloadIsImmediateAndBounded(t *testing.T) {
	gate := make(chan struct{})
	var stored atomic.Int64
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		<-gate
		for _, x := range b {
			stored.Add(int64(len(x.Points)))
		}
		return nil
	}}
	opts := DefaultOptions()
	opts.QueueBytes = 1000
	p := newPipeline(t, app, opts)
	first := make(chan error, 1)
	go func() { first <- p.Submit(context.Background(), 1, points(1), 850) }()
	for p.QueuedBytes() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	err := p.Submit(context.Background(), 1, points(1), 200)
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Submit to a full queue = %v; want ErrOverloaded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Submit to a full queue blocked for %v; want an immediate refusal", d)
	}
	if !p.Full() {
		t.Errorf("Full() = false with %d of %d bytes queued", p.QueuedBytes(), opts.QueueBytes)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := stored.Load(); n != 1 {
		t.Fatalf("stored %d points; want 1 (the refused write keeps nothing)", n)
	}
}

// TestCloseDrainsAndRefuses: Close commits what was accepted and refuses new writes.
func TestCloseDrainsAndRefuses(t *testing.T) {
	gate := make(chan struct{})
	var stored atomic.Int64
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		<-gate
		for _, x := range b {
			stored.Add(int64(len(x.Points)))
		}
		return nil
	}}
	p, err := New(app, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	results := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func() { results <- p.Submit(context.Background(), 1, points(10), 100) }()
	}
	for p.QueuedBytes() < 5*(100+10*PointOverhead) {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	for {
		p.mu.Lock()
		c := p.closing
		p.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.Submit(context.Background(), 1, points(1), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit while closing = %v; want ErrClosed", err)
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := <-results; err != nil {
			t.Fatalf("accepted write = %v; want nil", err)
		}
	}
	if n := stored.Load(); n != 50 {
		t.Fatalf("stored %d points after Close; want all 50 accepted", n)
	}
}

// TestCommitErrorReachesEveryWriter: a failed commit fails every batch in it.
func TestCommitErrorReachesEveryWriter(t *testing.T) {
	boom := errors.New("disk full")
	p := newPipeline(t, appenderFunc{func(ctx context.Context, b []store.Batch) error { return boom }}, DefaultOptions())
	if err := p.Submit(context.Background(), 1, points(1), 1); !errors.Is(err, boom) {
		t.Fatalf("Submit = %v; want it to wrap %v", err, boom)
	}
	if q := p.QueuedBytes(); q != 0 {
		t.Fatalf("QueuedBytes after a failed commit = %d; want 0", q)
	}
}

func TestMaxCommitPoints(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []int
	first := true
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		mu.Lock()
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-gate
		}
		n := 0
		for _, x := range b {
			n += len(x.Points)
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		return nil
	}}
	opts := DefaultOptions()
	opts.MaxCommitPoints = 25
	opts.Committers = 1
	p := newPipeline(t, app, opts)
	var wg sync.WaitGroup
	wg.Go(func() { p.Submit(context.Background(), 1, points(1), 1) })
	for p.QueuedBytes() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	for i := 0; i < 6; i++ {
		wg.Go(func() { p.Submit(context.Background(), 1, points(10), 1) })
	}
	for p.QueuedBytes() < 1+PointOverhead+6*(1+10*PointOverhead) {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i, n := range got[1:] {
		if n > 25 {
			t.Fatalf("commit %d had %d points; want at most MaxCommitPoints 25 (commits %v)", i+1, n, got)
		}
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if total != 61 {
		t.Fatalf("committed %d points; want 61", total)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{QueueBytes: 0, MaxCommitPoints: 1}, {QueueBytes: 1, MaxCommitPoints: 0}} {
		if _, err := New(appenderFunc{}, o); err == nil {
			t.Errorf("New(%+v) = nil error; want a validation error", o)
		}
	}
}

// TestCommittersRunConcurrently: with two committers, a second group commit
// starts while the first is still running.
func TestCommittersRunConcurrently(t *testing.T) {
	var inFlight, peak atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if n == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(5 * time.Second):
		}
		return nil
	}}
	opts := DefaultOptions()
	opts.Committers = 2
	p := newPipeline(t, app, opts)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Go(func() {
			if err := p.Submit(context.Background(), 1, points(1), 1); err != nil {
				t.Error(err)
			}
		})
		// The second write arrives while the first is committing. (Not
		// after the second: both may already have finished.)
		for i == 0 && inFlight.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("peak concurrent commits = %d; want 2", peak.Load())
	}
}

// TestSubmitManyCommitsTogether: the batches of one SubmitMany go into one
// commit even with several committers free, and share its outcome.
func TestSubmitManyCommitsTogether(t *testing.T) {
	var mu sync.Mutex
	var commits [][]int64
	fail := errors.New("disk on fire")
	app := appenderFunc{func(ctx context.Context, b []store.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		var ps []int64
		for _, x := range b {
			ps = append(ps, x.Project)
		}
		commits = append(commits, ps)
		if len(commits) == 2 {
			return fail
		}
		return nil
	}}
	opts := DefaultOptions()
	opts.Committers = 4
	p := newPipeline(t, app, opts)
	bs := []store.Batch{{Project: 1, Points: points(2)}, {Project: 2}, {Project: 3, Points: points(1)}, {Project: 1, Points: points(3)}}
	if err := p.SubmitMany(context.Background(), bs, 100); err != nil {
		t.Fatal(err)
	}
	if err := p.SubmitMany(context.Background(), bs[:1], 10); !errors.Is(err, fail) {
		t.Fatalf("second SubmitMany = %v; want the commit's error", err)
	}
	if err := p.SubmitMany(context.Background(), []store.Batch{{Project: 9}}, 10); err != nil {
		t.Fatalf("SubmitMany of nothing = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The empty batch (no point, no idempotency record) is left out.
	if len(commits) != 2 || !slices.Equal(commits[0], []int64{1, 3, 1}) || !slices.Equal(commits[1], []int64{1}) {
		t.Fatalf("commits = %v; want [[1 3 1] [1]]", commits)
	}
	if q := p.QueuedBytes(); q != 0 {
		t.Fatalf("QueuedBytes = %d; want 0", q)
	}
}
