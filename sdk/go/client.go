package alidade

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what a Client did with the points it was given. When nothing
// is moving, Written = Sent + Rejected + Dropped + Buffered.
type Stats struct {
	// Written counts every point given to Write (or a typed helper),
	// including those rejected or dropped at once.
	Written uint64
	// Sent counts points the server acknowledged: they are durable.
	Sent uint64
	// Dropped counts points lost: the buffer was full, the point was
	// written after Close, its batch was given up after the retries or
	// refused for another reason than bad data (401, 403, 404…), or it was
	// still buffered when Close's context ended.
	Dropped uint64
	// Rejected counts invalid points: refused by Write's checks or by the
	// server. They are never retried.
	Rejected uint64
	// Retries counts write requests retried after a network error, a 429
	// or a 5xx.
	Retries uint64
	// Batches counts write requests the server acknowledged.
	Batches uint64
	// Requests counts write requests made, retries included.
	Requests uint64
	// Buffered is the number of points held now, the batch being sent
	// included, and BufferedBytes their accounted size.
	Buffered      int
	BufferedBytes int
}

const (
	stateOpen int32 = iota
	stateClosed
	stateBroken // the Config is invalid
)

// maxFreeChunks is how many emptied chunks are kept for reuse.
const maxFreeChunks = 4

// Client buffers points and sends them to an Alidade server in the
// background. Its methods are safe for concurrent use. A nil *Client is a
// valid, disabled client: every method does nothing and returns nil.
type Client struct {
	cfg      Config
	endpoint string
	auth     string
	cfgErr   error
	state    atomic.Int32

	mu         sync.Mutex
	active     *chunk   // where Write appends
	queue      []*chunk // sealed chunks, oldest first
	inflight   *chunk   // the chunk being sent, or nil
	free       []*chunk
	nbuf       int    // points buffered (active, queue and inflight)
	nbytes     int    // their accounted size
	seq        uint64 // sequence number of the next buffered point
	waiters    int    // Flush and Close calls waiting on progress
	progress   chan struct{}
	closing    bool
	abandoned  bool   // Close gave up: the buffer was counted as dropped
	written    uint64 // points that reached the buffer's lock
	sent       uint64
	rejected   uint64 // by the server
	droppedNew uint64 // refused by Write: buffer full (DropNewest)
	droppedBuf uint64 // buffered points lost
	// The losses Flush and Close have reported so far.
	lostDropped, lostRejected uint64

	// Counters of Write's paths that do not take the lock.
	aWritten, aRejected, aDropped atomic.Uint64
	retries, batches, requests    atomic.Uint64
	lastInvalid                   atomic.Pointer[error]
	clock                         atomic.Pointer[clockBase]

	kick   chan struct{} // wakes the sender
	done   chan struct{} // closed when the sender has returned
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error

	// testDeliver, when set by a test or benchmark, replaces the network.
	testDeliver func(ch *chunk) outcome

	// logs marks the log sender of a Client (see SlogHandler): its records
	// go to /api/v1/logs as log records.
	logs bool
	// logSender is made by the first SlogHandler, under logMu, unless
	// Close has begun (logClosed).
	logMu     sync.Mutex
	logClosed bool
	logSender atomic.Pointer[Client]

	// Owned by the sender goroutine.
	jbuf      []byte
	zbuf      bytes.Buffer
	zw        *gzip.Writer
	seenDrops uint64

	errMu         sync.Mutex
	errLast       time.Time
	errSuppressed int
}

// New returns a Client sending to cfg.URL with cfg.Key and starts its
// background goroutine; call Close to deliver what is buffered and stop it.
// New does not fail: when cfg is invalid (see Config.Validate) the Client
// drops every point, returns the error from Write, Flush and Close, and
// reports it once to cfg.ErrorHandler.
func New(cfg Config) *Client {
	return newClient(cfg, false)
}

// newClient returns a Client of points, or the log sender of one (logs).
func newClient(cfg Config, logs bool) *Client {
	c := &Client{closeDone: make(chan struct{}), done: make(chan struct{}), logs: logs}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.rebaseClock()
	if err := cfg.Validate(); err != nil {
		c.cfg = cfg
		c.cfgErr = err
		c.state.Store(stateBroken)
		close(c.done)
		c.report(err)
		return c
	}
	c.cfg = cfg.withDefaults()
	c.endpoint = strings.TrimRight(c.cfg.URL, "/") + "/api/v1/points"
	if logs {
		c.endpoint = strings.TrimRight(c.cfg.URL, "/") + "/api/v1/logs"
	}
	c.auth = "Bearer " + c.cfg.Key
	c.active = &chunk{}
	c.progress = make(chan struct{})
	c.kick = make(chan struct{}, 1)
	if c.cfg.Gzip == GzipOn {
		c.zw, _ = gzip.NewWriterLevel(&c.zbuf, gzip.BestSpeed)
	}
	go c.run()
	return c
}

// Write buffers one point of dataset for sending. It never blocks on the
// network: it copies the point into the buffer and returns. The error says
// what became of a point that will not be sent — ErrBufferFull or ErrClosed
// (counted as dropped), or an error wrapping ErrInvalidPoint (counted as
// rejected) — and may be ignored, since Stats counts every outcome.
func (c *Client) Write(dataset string, p Point) (err error) {
	if c == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			c.aWritten.Add(1)
			c.aDropped.Add(1)
			err = fmt.Errorf("alidade: internal error in Write (recovered; the point was dropped): %v", r)
		}
	}()
	if s := c.state.Load(); s != stateOpen {
		c.aWritten.Add(1)
		c.aDropped.Add(1)
		if s == stateBroken {
			return c.cfgErr
		}
		return ErrClosed
	}
	size, err := check(dataset, &p)
	if err != nil {
		c.aWritten.Add(1)
		c.aRejected.Add(1)
		e := err
		c.lastInvalid.Store(&e)
		return err
	}
	var ts int64
	if p.Timestamp.IsZero() {
		ts = c.now() / 1e6
	} else {
		ts = p.Timestamp.UnixMilli()
	}
	full, err := c.buffer(dataset, ts, &p, size)
	if full {
		c.poke()
	}
	return err
}

// buffer appends a checked point to the active chunk, making room or
// dropping it as the Overflow policy says. full reports that it sealed the
// chunk, which the sender should now be told.
func (c *Client) buffer(dataset string, ts int64, p *Point, size int) (full bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		c.aWritten.Add(1)
		c.aDropped.Add(1)
		return false, ErrClosed
	}
	c.written++
	if c.nbuf >= c.cfg.BufferSize || c.nbytes+size > c.cfg.MaxBufferBytes {
		if !c.makeRoomLocked(size) {
			c.droppedNew++
			return false, ErrBufferFull
		}
	}
	ch := c.active
	ch.add(c.seq, dataset, ts, p, size)
	c.seq++
	c.nbuf++
	c.nbytes += size
	if ch.live() >= c.cfg.BatchSize || ch.bytes >= c.cfg.batchBytes() {
		c.sealLocked()
		return true, nil
	}
	return false, nil
}

// clockBase pairs a reading of the wall clock with the monotonic clock.
type clockBase struct {
	t  time.Time // with its monotonic reading
	ns int64     // t as Unix nanoseconds
}

// now returns the time in Unix nanoseconds from the monotonic clock and a
// recent reading of the wall clock: one clock read where time.Now takes
// two. The sender re-reads the wall clock every second or so.
func (c *Client) now() int64 {
	b := c.clock.Load()
	return b.ns + int64(time.Since(b.t))
}

func (c *Client) rebaseClock() {
	t := time.Now()
	c.clock.Store(&clockBase{t: t, ns: t.UnixNano()})
}

// makeRoomLocked drops the oldest points not being sent until a point of
// size fits (DropOldest). It reports whether it fits.
func (c *Client) makeRoomLocked(size int) bool {
	if c.cfg.Overflow != DropOldest || size > c.cfg.MaxBufferBytes {
		return false
	}
	dropped := false
	for c.nbuf >= c.cfg.BufferSize || c.nbytes+size > c.cfg.MaxBufferBytes {
		var ch *chunk
		switch {
		case len(c.queue) > 0 && c.queue[0].live() == 0: // not expected
			c.recycleLocked(c.popQueueLocked())
			continue
		case len(c.queue) > 0:
			ch = c.queue[0]
		case c.active.live() > 0:
			ch = c.active
		default:
			// Only the batch in flight is left; it cannot be recalled.
			if dropped {
				c.notifyLocked()
			}
			return false
		}
		c.nbytes -= ch.dropHead()
		c.nbuf--
		c.droppedBuf++
		dropped = true
		if ch.live() == 0 && ch != c.active {
			c.popQueueLocked()
			c.recycleLocked(ch)
		}
	}
	if dropped {
		c.notifyLocked()
	}
	return true
}

// sealLocked queues the active chunk and starts a new one.
func (c *Client) sealLocked() {
	prev := c.active
	c.queue = append(c.queue, prev)
	if n := len(c.free); n > 0 {
		c.active = c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		return
	}
	// Size the new chunk like the one just sealed, so that it fills
	// without growing.
	c.active = &chunk{
		recs: make([]rec, 0, max(len(prev.recs), 16)),
		strs: make([]byte, 0, max(len(prev.strs), 1024)),
		lens: make([]uint32, 0, max(len(prev.lens), 64)),
		dbls: make([]float64, 0, max(len(prev.dbls), 64)),
	}
}

func (c *Client) popQueueLocked() *chunk {
	ch := c.queue[0]
	copy(c.queue, c.queue[1:])
	c.queue[len(c.queue)-1] = nil
	c.queue = c.queue[:len(c.queue)-1]
	return ch
}

func (c *Client) recycleLocked(ch *chunk) {
	ch.reset()
	if len(c.free) < maxFreeChunks && cap(ch.strs) <= 2*maxBatchBytes {
		c.free = append(c.free, ch)
	}
}

// notifyLocked wakes the Flush and Close calls waiting for progress.
func (c *Client) notifyLocked() {
	if c.waiters > 0 {
		close(c.progress)
		c.progress = make(chan struct{})
	}
}

// poke wakes the sender.
func (c *Client) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// oldestLocked returns the sequence number of the oldest point still
// buffered, or c.seq when none is.
func (c *Client) oldestLocked() uint64 {
	if c.inflight != nil && c.inflight.live() > 0 {
		return c.inflight.headSeq()
	}
	for _, ch := range c.queue {
		if ch.live() > 0 {
			return ch.headSeq()
		}
	}
	if c.active.live() > 0 {
		return c.active.headSeq()
	}
	return c.seq
}

// pendingLocked counts buffered points with a sequence number below target.
func (c *Client) pendingLocked(target uint64) uint64 {
	var n uint64
	count := func(ch *chunk) {
		if ch == nil || ch.live() == 0 {
			return
		}
		lo, hi := ch.headSeq(), ch.seq+uint64(len(ch.recs))
		if hi > target {
			hi = target
		}
		if hi > lo {
			n += hi - lo
		}
	}
	count(c.inflight)
	for _, ch := range c.queue {
		count(ch)
	}
	count(c.active)
	return n
}

// Flush sends everything buffered when it is called and waits until the
// server has acknowledged it, or until ctx ends. It returns nil when no point
// was lost since the previous Flush or Close returned, else a *DeliveryError
// counting the points dropped or rejected since then and, when ctx ended
// first, those still buffered (which are still being sent). Points written
// during Flush may be sent too.
func (c *Client) Flush(ctx context.Context) error {
	if c == nil {
		return nil
	}
	err := c.flush(ctx)
	if l := c.logSenderIfAny(); l != nil {
		err = joinErrors(err, l.flush(ctx))
	}
	return err
}

func (c *Client) flush(ctx context.Context) error {
	if c.state.Load() == stateBroken {
		return c.cfgErr
	}
	c.mu.Lock()
	target := c.seq
	if c.active.live() > 0 {
		c.sealLocked()
	}
	c.mu.Unlock()
	c.poke()
	ctxErr := c.waitFor(ctx, target)
	c.mu.Lock()
	e := &DeliveryError{Op: "flush", Err: ctxErr}
	e.Dropped, e.Rejected = c.lossesLocked()
	if ctxErr != nil {
		e.Pending = c.pendingLocked(target)
	}
	c.mu.Unlock()
	if e.Dropped == 0 && e.Rejected == 0 && e.Pending == 0 {
		return nil
	}
	return e
}

// lossesLocked returns the points dropped and rejected since its last call.
func (c *Client) lossesLocked() (dropped, rejected uint64) {
	d := c.droppedNew + c.droppedBuf + c.aDropped.Load()
	r := c.rejected + c.aRejected.Load()
	dropped, rejected = d-c.lostDropped, r-c.lostRejected
	c.lostDropped, c.lostRejected = d, r
	return dropped, rejected
}

// waitFor waits until every point with a sequence number below target has
// left the buffer, or ctx ends (its error is returned).
func (c *Client) waitFor(ctx context.Context, target uint64) error {
	for {
		c.mu.Lock()
		if c.abandoned || c.oldestLocked() >= target {
			c.mu.Unlock()
			return nil
		}
		ch := c.progress
		c.waiters++
		c.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Close stops the Client: later writes are dropped (ErrClosed), and what is
// buffered is delivered before Close returns. When ctx ends first, the points
// still buffered are counted as dropped and the request in flight is
// cancelled. Close returns nil when no point was lost since the previous
// Flush or Close returned, else a *DeliveryError counting the points dropped
// and rejected since then. Calling Close again returns the first call's
// result.
func (c *Client) Close(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.logMu.Lock()
	c.logClosed = true // no log sender is made after Close
	c.logMu.Unlock()
	if l := c.logSender.Load(); l != nil {
		// Both drain at once, under the same ctx.
		lerr := make(chan error, 1)
		go func() { lerr <- l.close(ctx) }()
		err := c.close(ctx)
		return joinErrors(err, <-lerr)
	}
	return c.close(ctx)
}

func (c *Client) close(ctx context.Context) error {
	first := false
	c.closeOnce.Do(func() { first = true })
	if !first {
		select {
		case <-c.closeDone:
			return c.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer close(c.closeDone)
	if c.state.Load() == stateBroken {
		c.cancel()
		c.closeErr = c.cfgErr
		return c.closeErr
	}
	c.mu.Lock()
	c.closing = true
	c.state.Store(stateClosed)
	if c.active.live() > 0 {
		c.sealLocked()
	}
	c.mu.Unlock()
	c.poke()
	var ctxErr error
	select {
	case <-c.done:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		c.abandon()
	}
	c.cancel()
	c.mu.Lock()
	e := &DeliveryError{Op: "close", Err: ctxErr}
	e.Dropped, e.Rejected = c.lossesLocked()
	c.mu.Unlock()
	if e.Dropped > 0 || e.Rejected > 0 {
		c.closeErr = e
	}
	return c.closeErr
}

// abandon counts everything still buffered as dropped and stops the sender.
func (c *Client) abandon() {
	c.mu.Lock()
	if !c.abandoned {
		c.abandoned = true
		c.droppedBuf += uint64(c.nbuf)
		c.nbuf, c.nbytes = 0, 0
		c.queue, c.inflight, c.free = nil, nil, nil
		c.active = &chunk{}
		c.notifyLocked()
	}
	c.mu.Unlock()
	c.cancel()
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	s := Stats{
		Written:       c.written,
		Sent:          c.sent,
		Dropped:       c.droppedNew + c.droppedBuf,
		Rejected:      c.rejected,
		Buffered:      c.nbuf,
		BufferedBytes: c.nbytes,
	}
	c.mu.Unlock()
	s.Written += c.aWritten.Load()
	s.Dropped += c.aDropped.Load()
	s.Rejected += c.aRejected.Load()
	s.Retries = c.retries.Load()
	s.Batches = c.batches.Load()
	s.Requests = c.requests.Load()
	return s
}

// logSenderIfAny returns the log sender, nil when no SlogHandler made one.
func (c *Client) logSenderIfAny() *Client { return c.logSender.Load() }

// logSenderOf returns the log sender, made on the first call; nil after
// Close, or when c is a log sender itself.
func (c *Client) logSenderOf() *Client {
	if l := c.logSender.Load(); l != nil || c.logs {
		return l
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if l := c.logSender.Load(); l != nil || c.logClosed {
		return l
	}
	l := newClient(c.cfg, true)
	c.logSender.Store(l)
	return l
}

// joinErrors returns a alone, b alone, or both joined.
func joinErrors(a, b error) error {
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	}
	return errors.Join(a, b)
}
