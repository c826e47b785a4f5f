// Package loader owns moving the write-ahead log's records into the store,
// off the acknowledgement path: it tails the log and hands its batches to
// the target in large appends, each of which records, in every day file it
// writes and in the same transaction as the rows, how far the log is
// loaded. At start it replays what a crash left unloaded, exactly once:
// a record's points of a day are loaded only when that day's file was
// loaded up to an earlier position. It releases the log's segments once
// they are loaded. It knows nothing of HTTP or of how the store keeps rows.
//
// A target that records no log position with its rows (ClickHouse) gets a
// loader with a ranges file instead (Options.Ranges, see exact): the
// loader notes each group's range on the node's disk before loading it,
// and loads a group it cannot tell was stored again as the very same
// insert, which the target drops as a repeat.
package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// Target is where the loader puts batches: the planner in front of the
// store (a later ClickHouse backend is another).
type Target interface {
	// AppendAt commits batches and records, with them, that the log is
	// loaded up to pos in every day file written.
	AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error
	// LoadedPositions returns how far each day (its start, Unix ms) was
	// loaded.
	LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error)
}

// Options configure a Loader.
type Options struct {
	// MaxPoints bounds one append (default 100,000).
	MaxPoints int
	// MaxBacklog bounds the log not yet loaded that Append lets writes
	// add to: past it, a write waits (up to BacklogWait) for the loader,
	// so that acknowledged writes reach queries within about a second
	// even when writers outpace the loader. 0 means 4 MiB; negative, no
	// bound (the log's own MaxBytes still applies).
	MaxBacklog int64
	// ReadBytes bounds the records read from the log at once (default
	// 16 MiB).
	ReadBytes int
	// Idle is how often the loader looks at the log when nothing woke it
	// (default 100 ms).
	Idle time.Duration
	// Ranges, when set, is the path of a file (beside the log) in which
	// the loader notes each group's exact range of the log before it
	// loads it, and how far the log is loaded after: for a target that
	// records no log position with its rows but drops an insert that
	// repeats one of its recent inserts (ClickHouse's replicated tables).
	// A group whose load failed, or that a crash cut short, is loaded
	// again with the same records in the same order, never regrouped;
	// the target's LoadedPositions is not read, nor the log's mark.
	// Groups then wait for more records up to MaxDelay (see exact).
	Ranges string
	// MaxDelay, with Ranges, is how long a group under MaxPoints waits
	// for more records before it is loaded (default 1 s).
	MaxDelay time.Duration
	Logger   *slog.Logger
}

// Loader moves the log's records into the target.
type Loader struct {
	log  *wal.Log
	t    Target
	opts Options
	lg   *slog.Logger

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// work serializes reading and loading; r is the reader.
	work sync.Mutex
	r    *wal.Reader
	err  error // the last load's failure, while it is retried

	// x is the state of a loader with Options.Ranges (nil without).
	x *exact

	mu      sync.Mutex
	cond    *sync.Cond
	loaded  store.LogPos // every record up to it is in the target
	started bool
	lastErr error // the last load's error, nil once one succeeds

	loads, loadedPoints, busy atomic.Int64
}

// New returns a Loader of log into t. Call Replay, then Start.
func New(log *wal.Log, t Target, opts Options) *Loader {
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 100_000
	}
	if opts.MaxBacklog == 0 {
		opts.MaxBacklog = 4 << 20
	}
	if opts.ReadBytes <= 0 {
		opts.ReadBytes = 16 << 20
	}
	if opts.Idle <= 0 {
		opts.Idle = 100 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Second
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Loader{log: log, t: t, opts: opts, lg: lg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// Replay loads every record of the log that the target has not loaded
// (per day file; with Options.Ranges, after the ranges file's position,
// the group in flight first), and leaves the loader at the log's end. It
// returns the records read and the points loaded.
func (l *Loader) Replay(ctx context.Context) (records, points int64, err error) {
	l.work.Lock()
	defer l.work.Unlock()
	if l.opts.Ranges != "" {
		return l.replayExact(ctx)
	}
	return l.reload(ctx)
}

// reload reads the log again from the last position known loaded, and
// loads each record's points of the days not loaded up to it. l.work is
// held.
func (l *Loader) reload(ctx context.Context) (records, points int64, err error) {
	if l.r != nil {
		l.r.Close()
	}
	// The log's mark says up to where every record is loaded, for every
	// day: the records before it need no reading.
	from := l.Loaded()
	if m := l.log.Mark(); from.Less(m) {
		from = m
		l.mu.Lock()
		l.loaded = m
		l.mu.Unlock()
	}
	l.r = l.log.NewReader(from)
	pos, err := l.t.LoadedPositions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read how far the store loaded the log: %w", err)
	}
	return l.loadAvailable(ctx, pos)
}

// loadAvailable loads the records the reader has not read, up to the
// log's durable end; with pos, only the points of days loaded up to an
// earlier position. Reading and decoding run one group ahead of the
// target's append, on a goroutine of their own. l.work is held.
func (l *Loader) loadAvailable(ctx context.Context, pos map[int64]store.LogPos) (records, points int64, err error) {
	groups := make(chan group, 1)
	stop := make(chan struct{})
	go l.readGroups(pos, groups, stop)
	for g := range groups {
		records += g.records
		if g.err != nil {
			err = g.err
			break
		}
		if len(g.batches) > 0 {
			start := time.Now()
			if err = l.t.AppendAt(ctx, g.batches, g.last); err != nil {
				break
			}
			l.busy.Add(int64(time.Since(start)))
			l.loads.Add(1)
			l.loadedPoints.Add(int64(g.n))
		}
		// Release as loading goes, so that the backlog writers wait on
		// shrinks while writers keep the loader busy; and mark how far
		// the log is loaded, for the next start to read from there.
		if rerr := l.log.Release(g.last); rerr != nil {
			l.lg.Warn("release loaded log segments", "err", rerr)
		}
		if merr := l.log.SaveMark(g.last); merr != nil {
			l.lg.Warn("mark the loaded log", "err", merr)
		}
		l.mu.Lock()
		l.loaded = g.last
		l.cond.Broadcast()
		l.mu.Unlock()
		points += int64(g.n)
	}
	close(stop)
	for range groups { // the reader stops at its next send
	}
	if err != nil {
		return records, points, err
	}
	if err := l.log.Release(l.Loaded()); err != nil {
		l.lg.Warn("release loaded log segments", "err", err)
	}
	return records, points, nil
}

// group is records read for one append: their batches (filtered by
// loaded days), points, and the position after the last.
type group struct {
	batches []store.Batch
	n       int
	records int64
	last    store.LogPos
	err     error // reading failed after the records before it
}

// readGroups reads the log's records to its durable end into groups of
// about MaxPoints points, sent on out, which it closes when done or when
// stop closes. A read error goes out as the last group's err.
func (l *Loader) readGroups(pos map[int64]store.LogPos, out chan<- group, stop <-chan struct{}) {
	defer close(out)
	var g group
	send := func() bool {
		select {
		case out <- g:
			g = group{}
			return true
		case <-stop:
			return false
		}
	}
	for {
		es, err := l.r.Next(l.opts.ReadBytes)
		if err != nil {
			g.err = err
			send()
			return
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			g.records++
			b := e.Batch
			if pos != nil {
				b = unloaded(b, e.Pos, pos)
			}
			if len(b.Points) > 0 || b.Idem != nil {
				g.batches = append(g.batches, b)
				g.n += len(b.Points)
			}
			g.last = e.Pos
			if g.n >= l.opts.MaxPoints && !send() {
				return
			}
		}
	}
	if g.records > 0 {
		send()
	}
}

// unloaded returns b without the points (and idempotency days) of the days
// whose file was loaded up to at or after at.
func unloaded(b store.Batch, at store.LogPos, pos map[int64]store.LogPos) store.Batch {
	loaded := func(ts int64) bool {
		p, ok := pos[store.DayStart(ts)]
		return ok && !p.Less(at)
	}
	// Most records have no point loaded: keep their points as they are.
	// A batch's points mostly share a day; look a day up once per run.
	kept := b.Points[:0:0]
	all := true
	var day int64
	var dayLoaded bool
	for i := range b.Points {
		if d := store.DayStart(b.Points[i].Timestamp); i == 0 || d != day {
			day, dayLoaded = d, loaded(b.Points[i].Timestamp)
		}
		if dayLoaded {
			if all {
				all = false
				kept = append(make([]point.Point, 0, len(b.Points)-1), b.Points[:i]...)
			}
			continue
		}
		if !all {
			kept = append(kept, b.Points[i])
		}
	}
	out := store.Batch{Project: b.Project, Points: kept}
	if all {
		out.Points = b.Points
	}
	if b.Idem != nil {
		r := *b.Idem
		r.Days = nil
		for _, d := range b.Idem.Days {
			if !loaded(d) {
				r.Days = append(r.Days, d)
			}
		}
		if len(r.Days) > 0 {
			out.Idem = &r
		}
	}
	return out
}

// Start runs the loader until Close.
func (l *Loader) Start() {
	l.mu.Lock()
	l.started = true
	l.mu.Unlock()
	go l.run()
}

// Notify tells the loader records were appended.
func (l *Loader) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Loader) run() {
	defer close(l.done)
	t := time.NewTicker(l.opts.Idle)
	defer t.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		case <-t.C:
		}
		if backoff > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(backoff):
			}
		}
		l.work.Lock()
		var err error
		if l.opts.Ranges != "" {
			if l.x == nil {
				_, _, err = l.replayExact(context.Background())
			} else {
				_, _, err = l.loadExact(context.Background(), false)
			}
		} else if l.r == nil || l.err != nil {
			// A failed load may have committed some of its days: read
			// again from the last position known loaded, per day.
			_, _, err = l.reload(context.Background())
		} else {
			_, _, err = l.loadAvailable(context.Background(), nil)
		}
		l.err = err
		l.work.Unlock()
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		if err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			l.lg.Error("load the write-ahead log into the store; retrying", "err", err, "in", backoff)
		} else {
			backoff = 0
		}
	}
}

// Loaded returns the position up to which every record is in the target.
func (l *Loader) Loaded() store.LogPos {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded
}

// Wait waits until every record appended before the call is loaded, or
// until ctx ends or timeout passes; it reports whether they are.
func (l *Loader) Wait(ctx context.Context, timeout time.Duration) bool {
	end := l.log.End()
	deadline := time.Now().Add(timeout)
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.loaded.Less(end) {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return false
		}
		l.Notify()
		// Wake up at the deadline even if no load finishes.
		stop := time.AfterFunc(time.Until(deadline), func() {
			l.mu.Lock()
			l.cond.Broadcast()
			l.mu.Unlock()
		})
		l.cond.Wait()
		stop.Stop()
	}
	return true
}

func (l *Loader) isStarted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started
}

// ErrNotDrained is Close's error when the log could not be loaded.
var ErrNotDrained = errors.New("the write-ahead log is not fully loaded")

// Close loads what the log holds, then stops. Records it could not load
// stay in the log and are loaded at the next start.
func (l *Loader) Close(ctx context.Context) error {
	for l.isStarted() && !l.Wait(ctx, time.Second) {
		if ctx.Err() != nil {
			break
		}
	}
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if started {
		close(l.stop)
		<-l.done
	}
	l.work.Lock()
	if l.r != nil {
		l.r.Close()
	}
	l.work.Unlock()
	if loaded := l.Loaded(); loaded.Less(l.log.End()) {
		return fmt.Errorf("%w: loaded up to %v, the log ends at %v (the rest loads at the next start)", ErrNotDrained, loaded, l.log.End())
	}
	return nil
}

// Append logs batches, one record each, and returns once they are durable
// in the log (the acknowledgement), waking the loader: it is the ingest
// pipeline's Appender. wal.ErrFull and *wal.DiskFullError say nothing was
// logged; a wal.ErrFull while the store cannot be reached wraps the load's
// error too (store.ErrUnavailable): the log is full because the store is
// down, not because writers outpace the loader.
func (l *Loader) Append(ctx context.Context, batches []store.Batch) error {
	l.waitBacklog(ctx)
	if _, err := l.log.AppendBatches(ctx, batches); err != nil {
		if down := l.storeDown(); down != nil && errors.Is(err, wal.ErrFull) {
			return fmt.Errorf("%w; it fills because the store cannot be reached: %w", err, down)
		}
		return err
	}
	l.Notify()
	return nil
}

// BacklogWait bounds how long Append waits for the loader to bring the
// backlog under MaxBacklog; past it the write is logged anyway (a loader
// that cannot load meanwhile fills the log to its MaxBytes, and writes get
// ErrFull).
const BacklogWait = 5 * time.Second

// waitBacklog waits until the log's unloaded records are under
// MaxBacklog, the loader having loaded some, or BacklogWait passed, or ctx
// ended. While the store cannot be reached it does not wait: the loader
// loads nothing meanwhile, and the log holds the writes (up to its
// MaxBytes) without each waiting BacklogWait first.
func (l *Loader) waitBacklog(ctx context.Context) {
	if l.opts.MaxBacklog < 0 || l.log.Unloaded() < l.opts.MaxBacklog || !l.isStarted() || l.storeDown() != nil {
		return
	}
	l.Notify()
	wake := func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	}
	stopCtx := context.AfterFunc(ctx, wake)
	defer stopCtx()
	timer := time.AfterFunc(BacklogWait, wake)
	defer timer.Stop()
	deadline := time.Now().Add(BacklogWait)
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.log.Unloaded() >= l.opts.MaxBacklog && ctx.Err() == nil && time.Now().Before(deadline) {
		l.cond.Wait()
	}
}
