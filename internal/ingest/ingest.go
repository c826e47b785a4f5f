// Package ingest owns the write path between a decoded request and the store:
// a bounded queue of batches and a single committer that commits everything
// queued in one group commit, then acknowledges each batch. An acknowledged
// batch is durable. It does not decode, authenticate or know HTTP.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// Errors Submit returns; the server maps ErrOverloaded to 429 and ErrClosed to 503.
var (
	ErrOverloaded = errors.New("ingest queue is full")
	ErrClosed     = errors.New("server is shutting down; not accepting writes")
)

// Appender commits batches durably. It is called from Options.Committers
// goroutines at once.
type Appender interface {
	Append(ctx context.Context, batches []store.Batch) error
}

// Options configure the pipeline.
type Options struct {
	// QueueBytes bounds the memory held by queued batches (request bytes plus
	// a per-point overhead). Submits past it fail with ErrOverloaded.
	QueueBytes int64
	// MaxCommitPoints bounds one group commit.
	MaxCommitPoints int
	// Committers is how many group commits may run at once (the store
	// must accept that many concurrent Appends); 0 means 1.
	Committers int
	// OnCommit, when set, observes each commit.
	OnCommit func(points int, d time.Duration, err error)
	// OnAppended, when set, is told the batches of each successful
	// commit (the dashboard's live updates); it must not block.
	OnAppended func(batches []store.Batch)
	Logger     *slog.Logger
}

// DefaultOptions returns a 256 MB queue, commits of up to 500k points, and
// two committers.
func DefaultOptions() Options {
	return Options{QueueBytes: 256 << 20, MaxCommitPoints: 500_000, Committers: 2}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.QueueBytes <= 0 {
		return fmt.Errorf("queue size must be positive, got %d bytes", o.QueueBytes)
	}
	if o.Committers < 0 || o.Committers > 64 {
		return fmt.Errorf("committers must be 0 to 64, got %d", o.Committers)
	}
	if o.MaxCommitPoints <= 0 {
		return fmt.Errorf("max commit points must be positive, got %d", o.MaxCommitPoints)
	}
	return nil
}

// PointOverhead is the memory a queued point costs beyond its request bytes.
const PointOverhead = 96

type pending struct {
	batches []store.Batch // committed together
	points  int
	cost    int64
	done    chan error
}

// Pipeline is the bounded queue and its committer.
type Pipeline struct {
	app  Appender
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*pending
	queued  int64 // cost of queue
	closing bool
	stopped chan struct{}
}

// New makes a pipeline; Start runs its committer.
func New(app Appender, opts Options) (*Pipeline, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pipeline{app: app, opts: opts, log: log, stopped: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	return p, nil
}

// Start runs the committers until Close.
func (p *Pipeline) Start() {
	n := max(p.opts.Committers, 1)
	var wg sync.WaitGroup
	for range n {
		wg.Go(p.run)
	}
	go func() {
		wg.Wait()
		close(p.stopped)
	}()
}

// Submit queues a project's points and waits until they are durable. size is
// the request bytes the points were decoded from (they may share its memory).
// A full queue fails at once with ErrOverloaded; nothing is queued then.
func (p *Pipeline) Submit(ctx context.Context, project int64, pts []point.Point, size int) error {
	return p.SubmitBatch(ctx, store.Batch{Project: project, Points: pts}, size)
}

// SubmitBatch is Submit for a batch that may carry an idempotency record.
func (p *Pipeline) SubmitBatch(ctx context.Context, b store.Batch, size int) error {
	return p.SubmitMany(ctx, []store.Batch{b}, size)
}

// SubmitMany queues batches (of any projects) that commit together, in
// one group commit, and waits until they are durable: what several
// requests grouped elsewhere (error events committed together) then costs
// one commit. size is the request bytes the points were decoded from.
func (p *Pipeline) SubmitMany(ctx context.Context, bs []store.Batch, size int) error {
	it := &pending{done: make(chan error, 1)}
	for _, b := range bs {
		if len(b.Points) == 0 && b.Idem == nil {
			continue
		}
		it.batches = append(it.batches, b)
		it.points += len(b.Points)
	}
	if len(it.batches) == 0 {
		return nil
	}
	it.cost = int64(size) + int64(it.points)*PointOverhead
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return ErrClosed
	}
	// A batch larger than the whole queue is still taken when the queue is
	// empty, so that no valid request is refused forever.
	if p.queued > 0 && p.queued+it.cost > p.opts.QueueBytes {
		p.mu.Unlock()
		return ErrOverloaded
	}
	p.queue = append(p.queue, it)
	p.queued += it.cost
	p.cond.Signal()
	p.mu.Unlock()

	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// QueuedBytes returns the cost of what waits to be committed.
func (p *Pipeline) QueuedBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// Full reports whether the queue is at least 90% full.
func (p *Pipeline) Full() bool {
	return p.QueuedBytes()*10 >= p.opts.QueueBytes*9
}

// Close stops intake, commits everything already accepted, and returns when
// the committer has finished or ctx ends.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closing = true
	p.cond.Broadcast()
	p.mu.Unlock()
	select {
	case <-p.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: stop before the queue drained: %w", ctx.Err())
	}
}

func (p *Pipeline) run() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closing {
			p.cond.Wait()
		}
		if len(p.queue) == 0 && p.closing {
			p.cond.Broadcast() // wake the other committers to stop too
			p.mu.Unlock()
			return
		}
		take, points := 0, 0
		for take < len(p.queue) && (take == 0 || points+p.queue[take].points <= p.opts.MaxCommitPoints) {
			points += p.queue[take].points
			take++
		}
		group := make([]*pending, take)
		copy(group, p.queue)
		clear(p.queue[:take])
		p.queue = p.queue[take:]
		p.mu.Unlock()

		p.commit(group, points)
	}
}

func (p *Pipeline) commit(group []*pending, points int) {
	var batches []store.Batch
	var cost int64
	for _, it := range group {
		batches = append(batches, it.batches...)
		cost += it.cost
	}
	start := time.Now()
	err := p.app.Append(context.Background(), batches)
	if p.opts.OnCommit != nil {
		p.opts.OnCommit(points, time.Since(start), err)
	}
	if err != nil {
		p.log.Error("commit failed", "points", points, "err", err)
		err = fmt.Errorf("commit: %w", err)
	} else if p.opts.OnAppended != nil {
		p.opts.OnAppended(batches)
	}
	p.mu.Lock()
	p.queued -= cost
	p.mu.Unlock()
	for _, it := range group {
		it.done <- err
	}
}
