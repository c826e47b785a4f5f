package alidade

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// run is the background goroutine: it sends the sealed chunks one at a
// time, seals the active chunk every FlushInterval, and returns once the
// Client is closed and drained (or abandoned). A panic is recovered: the
// batch being sent is counted as dropped and the loop goes on.
func (c *Client) run() {
	defer close(c.done)
	for !c.loop() {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-c.ctx.Done():
			return
		}
	}
}

// loop runs the sender until it should exit (true) or a panic escapes
// (false).
func (c *Client) loop() (exit bool) {
	defer func() {
		if r := recover(); r != nil {
			c.report(fmt.Errorf("alidade: internal error in the sender (recovered): %v", r))
			exit = false
		}
	}()
	t := time.NewTicker(c.cfg.FlushInterval)
	defer t.Stop()
	var rebase <-chan time.Time // keeps the clock of Write close to the wall clock
	if c.cfg.FlushInterval > time.Second {
		rt := time.NewTicker(time.Second)
		defer rt.Stop()
		rebase = rt.C
	}
	for {
		c.rebaseClock()
		ch, stop := c.take()
		if stop {
			return true
		}
		if ch != nil {
			c.deliver(ch)
			continue
		}
		c.reportWriteProblems()
		select {
		case <-c.kick:
		case <-t.C:
			c.sealActive()
		case <-rebase:
		case <-c.ctx.Done():
			return true
		}
	}
}

// sealActive queues the active chunk, if it holds anything.
func (c *Client) sealActive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active.live() > 0 {
		c.sealLocked()
	}
}

// take returns the next chunk to send, or stop when the sender should exit.
func (c *Client) take() (ch *chunk, stop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abandoned {
		return nil, true
	}
	if len(c.queue) == 0 && c.closing && c.active.live() > 0 {
		c.sealLocked()
	}
	if len(c.queue) > 0 {
		ch = c.popQueueLocked()
		c.inflight = ch
		return ch, false
	}
	return nil, c.closing
}

// outcome counts what became of the points of a batch.
type outcome struct {
	sent, rejected, dropped int
}

// deliver sends one chunk, with retries, and accounts for its points.
func (c *Client) deliver(ch *chunk) {
	var o outcome
	defer func() {
		if r := recover(); r != nil {
			c.report(fmt.Errorf("alidade: internal error sending a batch (recovered; its unsent points are dropped): %v", r))
		}
		c.resolve(ch, o)
	}()
	if c.testDeliver != nil {
		o = c.testDeliver(ch)
		return
	}
	c.sendRange(ch, ch.head, len(ch.recs), &o)
}

// resolve removes a sent chunk from the buffer and counts its points.
func (c *Client) resolve(ch *chunk, o outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abandoned {
		return // Close counted the chunk as dropped
	}
	n := ch.live()
	if rest := n - o.sent - o.rejected - o.dropped; rest > 0 {
		o.dropped += rest // a panic cut the delivery short
	}
	c.sent += uint64(o.sent)
	c.rejected += uint64(o.rejected)
	c.droppedBuf += uint64(o.dropped)
	c.nbuf -= n
	c.nbytes -= ch.bytes
	if c.inflight == ch {
		c.inflight = nil
	}
	c.recycleLocked(ch)
	c.notifyLocked()
}

// encode returns the body of records [lo, hi) of ch.
func (c *Client) encode(ch *chunk, lo, hi int) []byte {
	b := c.jbuf[:0]
	for i := lo; i < hi; i++ {
		v := ch.view(i)
		if c.logs {
			b = appendLogLine(b, &v)
		} else {
			b = appendLine(b, &v)
		}
	}
	c.jbuf = b
	if c.zw == nil {
		return bytes.Clone(b)
	}
	c.zbuf.Reset()
	c.zw.Reset(&c.zbuf)
	c.zw.Write(b) // writes to a bytes.Buffer do not fail
	c.zw.Close()
	// The transport may read a body after Do returns, so each body is a
	// copy of its own.
	return bytes.Clone(c.zbuf.Bytes())
}

// sendRange sends records [lo, hi) of ch, retrying as the answers allow,
// and adds what became of them to o. A body the server finds too large
// (413) is split in two.
func (c *Client) sendRange(ch *chunk, lo, hi int, o *outcome) {
	n := hi - lo
	if n <= 0 {
		return
	}
	body := c.encode(ch, lo, hi)
	// One key for the batch, the same on every retry of it: when an
	// answer is lost after the server stored the batch, the retry stores
	// nothing and gets the first answer again.
	key := newIdempotencyKey()
	start := time.Now()
	for attempt := 0; ; attempt++ {
		r := c.post(body, n, key)
		switch r.kind {
		case resDone:
			o.sent += r.sent
			o.rejected += r.rejected
			if r.err != nil {
				c.report(r.err)
			}
			return
		case resRejected:
			o.rejected += n
			c.report(r.err)
			return
		case resDropped:
			o.dropped += n
			c.report(r.err)
			return
		case resTooLarge:
			if n > 1 {
				mid := lo + n/2
				c.sendRange(ch, lo, mid, o)
				c.sendRange(ch, mid, hi, o)
				return
			}
			o.rejected++
			c.report(r.err)
			return
		}
		// resRetry
		if c.ctx.Err() != nil {
			o.dropped += n
			return
		}
		if c.cfg.MaxRetries < 0 || c.cfg.MaxRetries > 0 && attempt >= c.cfg.MaxRetries {
			o.dropped += n
			c.report(fmt.Errorf("alidade: %d points dropped after %d retries: %w", n, attempt, r.err))
			return
		}
		wait := backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)
		if r.retryAfter > wait {
			wait = r.retryAfter
		}
		if c.cfg.MaxRetryTime > 0 && time.Since(start)+wait > c.cfg.MaxRetryTime {
			o.dropped += n
			c.report(fmt.Errorf("alidade: %d points dropped after retrying for %v (MaxRetryTime %v): %w",
				n, time.Since(start).Round(time.Millisecond), c.cfg.MaxRetryTime, r.err))
			return
		}
		c.report(fmt.Errorf("alidade: %w; retrying in %v", r.err, wait.Round(time.Millisecond)))
		c.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			o.dropped += n
			return
		}
	}
}

// backoff returns the wait before retry attempt (from 0): uniform in
// [b/2, b] with b = min(max, min·2^attempt).
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	b := hi
	if attempt < 62 && lo<<attempt > 0 && lo<<attempt < hi {
		b = lo << attempt
	}
	half := b / 2
	return half + rand.N(b-half+1)
}

const (
	resDone     = iota // acknowledged; some points may be rejected
	resRejected        // every point refused as invalid: never retried
	resDropped         // refused for another reason: not retried
	resTooLarge        // 413: split
	resRetry
)

type result struct {
	kind       int
	sent       int
	rejected   int
	retryAfter time.Duration
	err        error
}

// answer is the server's JSON answer to a write (or an error).
type answer struct {
	Accepted *int `json:"accepted"`
	Rejected []struct {
		Position int    `json:"position"`
		Error    string `json:"error"`
	} `json:"rejected"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (a *answer) firstRejection() string {
	if len(a.Rejected) == 0 {
		return ""
	}
	return fmt.Sprintf("position %d: %s", a.Rejected[0].Position, a.Rejected[0].Error)
}

// newIdempotencyKey returns a fresh Idempotency-Key: 128 random bits.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand panics instead)
	return "alidade-go-" + hex.EncodeToString(b[:])
}

// post makes one write request of n points with an Idempotency-Key.
func (c *Client) post(body []byte, n int, key string) result {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return result{kind: resDropped, err: fmt.Errorf("alidade: %d points dropped: %w", n, err)}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", "alidade-go")
	req.Header.Set("Idempotency-Key", key)
	if c.zw != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	c.requests.Add(1)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) && c.ctx.Err() != nil {
			return result{kind: resDropped, err: fmt.Errorf("alidade: %d points dropped: the client was closed while sending them", n)}
		}
		return result{kind: resRetry, err: fmt.Errorf("write of %d points failed: %w", n, err)}
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var a answer
	jsonErr := json.Unmarshal(data, &a)
	serverSays := func() string {
		if a.Error.Message != "" {
			return a.Error.Message
		}
		if jsonErr != nil {
			return strings.TrimSpace(truncate(string(data), 200))
		}
		return ""
	}
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		if jsonErr != nil || a.Accepted == nil {
			// Not Alidade's answer (a proxy, or a wrong URL): the points
			// did not reach it, and asking again will not help.
			return result{kind: resDropped, err: fmt.Errorf("alidade: %d points dropped: %s answered %d without an Alidade write answer (is URL right?): %q",
				n, c.endpoint, status, truncate(string(data), 100))}
		}
		c.batches.Add(1)
		rej := min(len(a.Rejected), n)
		r := result{kind: resDone, sent: n - rej, rejected: rej}
		if rej > 0 {
			r.err = fmt.Errorf("alidade: the server rejected %d of %d points as invalid; the first, %s", rej, n, a.firstRejection())
		}
		return r
	case status == http.StatusBadRequest:
		msg := a.firstRejection()
		if msg == "" {
			msg = serverSays()
		} else {
			msg = "the first, " + msg
		}
		return result{kind: resRejected, err: fmt.Errorf("alidade: the server rejected a batch of %d points (400): %s", n, msg)}
	case status == http.StatusRequestEntityTooLarge:
		return result{kind: resTooLarge, err: fmt.Errorf("alidade: the server refused a point as too large (413): %s", serverSays())}
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly ||
		status == http.StatusTooManyRequests || status >= 500 ||
		// A cluster node answers 409 while another node writes the
		// batch's Idempotency-Key: retried, the same key gets its answer.
		status == http.StatusConflict:
		return result{kind: resRetry, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			err: fmt.Errorf("write of %d points: the server answered %d %s", n, status, serverSays())}
	}
	return result{kind: resDropped, err: fmt.Errorf("alidade: %d points dropped: the server answered %d %s", n, status, serverSays())}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date. It
// returns 0 when there is none, and at most maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// reportWriteProblems tells the ErrorHandler about points Write refused
// since the last call.
func (c *Client) reportWriteProblems() {
	if c.cfg.ErrorHandler == nil {
		return
	}
	if p := c.lastInvalid.Swap(nil); p != nil {
		c.report(fmt.Errorf("%w (%d points rejected by Write so far)", *p, c.aRejected.Load()))
	}
	c.mu.Lock()
	drops := c.droppedNew + c.droppedBuf
	c.mu.Unlock()
	if drops > c.seenDrops {
		c.report(fmt.Errorf("alidade: %d points dropped so far (buffer full under %v, or delivery failed); see Stats", drops, c.cfg.Overflow))
		c.seenDrops = drops
	}
}

// report passes err to the ErrorHandler, at most once per ErrorInterval.
func (c *Client) report(err error) {
	h := c.cfg.ErrorHandler
	if h == nil || err == nil || c.ctx.Err() != nil {
		return // nothing to call, or Close has returned
	}
	c.errMu.Lock()
	now := time.Now()
	if !c.errLast.IsZero() && now.Sub(c.errLast) < c.cfg.ErrorInterval {
		c.errSuppressed++
		c.errMu.Unlock()
		return
	}
	n := c.errSuppressed
	c.errSuppressed = 0
	c.errLast = now
	c.errMu.Unlock()
	if n > 0 {
		err = fmt.Errorf("%w (and %d more errors since the last report)", err, n)
	}
	defer func() { recover() }()
	h(err)
}
