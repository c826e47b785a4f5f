// Package demo owns `alidade demo`: it makes a realistic stretch of traffic
// of an AI tutoring platform (chat with AI calls, assessments and grade
// passbacks, searches, WebSocket sessions, intent predictions labelled
// later, a couple of incidents and error spikes) for every built-in dataset,
// the browsers of its web app (page views and visits, Core Web Vitals, API
// calls, Redux actions, WebSocket events), and what its Sentry SDKs send
// (errors of a dozen bugs over two releases, transactions, sessions, logs,
// cron check-ins), and writes it to a server over the public HTTP API,
// fast. It knows the built-in datasets' positions, the write API and the
// Sentry envelope; nothing of the server's insides.
package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Options configure a run.
type Options struct {
	// URL is the server's base URL; Key is a write (or admin) key.
	URL, Key string
	// Days is how far back the traffic starts; it ends now.
	Days int
	// Scale is the requests per minute at the daily peak.
	Scale int
	// Seed makes the traffic reproducible.
	Seed uint64
	// Senders is how many requests are in flight at once.
	Senders int
	// BatchSize is the points per request.
	BatchSize int
	// Envelopes is how many Sentry envelopes are in flight at once.
	Envelopes int
	// Now anchors the traffic; zero means the time of Run.
	Now time.Time
	// Progress receives a line about once a second; nil means none.
	Progress io.Writer
	// Client sends the requests; nil means a client with a 2-minute timeout.
	Client *http.Client
}

// DefaultOptions returns the defaults: a week at 120 requests per minute at
// peak, which makes about 2.3 million points and 2,500 error events.
func DefaultOptions() Options {
	return Options{URL: "http://127.0.0.1:8080", Days: 7, Scale: 120, Seed: 1, Senders: 4, BatchSize: 10000, Envelopes: 8}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.URL == "":
		return errors.New("no server URL")
	case o.Key == "":
		return errors.New("no write key")
	case o.Days < 1 || o.Days > 90:
		return fmt.Errorf("days must be from 1 to 90, got %d", o.Days)
	case o.Scale < 1 || o.Scale > 100000:
		return fmt.Errorf("scale must be from 1 to 100000 requests per minute, got %d", o.Scale)
	case o.Senders < 1 || o.Senders > 64:
		return fmt.Errorf("senders must be from 1 to 64, got %d", o.Senders)
	case o.BatchSize < 1 || o.BatchSize > 100000:
		return fmt.Errorf("batch size must be from 1 to 100000, got %d", o.BatchSize)
	case o.Envelopes < 1 || o.Envelopes > 64:
		return fmt.Errorf("envelopes in flight must be from 1 to 64, got %d", o.Envelopes)
	}
	return nil
}

// Report says what a run wrote.
type Report struct {
	Points   int64 // accepted by the server
	Rejected int64 // refused by the server, point by point
	Requests int64 // write requests that succeeded
	Retries  int64 // write requests retried after 429, 503 or a network error
	// Elapsed is the whole run; PointsElapsed its points' part.
	Elapsed, PointsElapsed time.Duration
	// Datasets counts the points generated per dataset.
	Datasets map[string]int64
	// From and To bound the traffic's timestamps.
	From, To time.Time
	// FirstRejection is the server's reason for the first point it
	// refused, if any.
	FirstRejection string
	// Errors is what went to error tracking.
	Errors ErrorsReport
}

// ErrorsReport says what a run sent to error tracking.
type ErrorsReport struct {
	Project   int64 // the key's project
	Envelopes int64 // envelopes the server took
	Retries   int64
	// Events counts the error events, Bugs their distinct bugs (error
	// groups); Dropped those the project's error rate limit left out.
	Events, Bugs, Dropped                           int64
	Transactions, SessionAggregates, Logs, CheckIns int64
	// Statuses are the groups the run resolved or ignored ("resolved
	// d1-database-locked"); StatusNote says why there are none.
	Statuses   []string
	StatusNote string
	Elapsed    time.Duration
}

// maxAttempts bounds the tries of one batch.
const maxAttempts = 30

// Run generates the traffic and writes it. It stops at the first batch the
// server refuses for good (a bad key, say) or when ctx ends.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	// Ends a second ago and starts a minute inside the server's
	// retention window, which is measured when each batch arrives.
	end := now.Add(-time.Second).UnixMilli()
	start := now.Add(-time.Duration(o.Days)*24*time.Hour + time.Minute).UnixMilli()
	rep := &Report{Datasets: map[string]int64{}, From: time.UnixMilli(start), To: time.UnixMilli(end)}
	began := time.Now()

	// Error tracking needs the key's project: asked first, so that a
	// key the server refuses stops the run at once.
	api := &apiClient{base: strings.TrimRight(o.URL, "/"), key: o.Key, client: client}
	pid, err := api.projectID(ctx)
	if err != nil {
		return nil, err
	}
	rep.Errors.Project = pid

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []byte, o.Senders)
	s := &sender{url: strings.TrimRight(o.URL, "/") + "/api/v1/points", key: o.Key, client: client}
	var wg sync.WaitGroup
	for range o.Senders {
		wg.Go(func() {
			for b := range batches {
				if err := s.send(ctx, b); err != nil {
					cancel(err)
					for range batches { // drain so that the generator never blocks
					}
					return
				}
			}
		})
	}
	var progressDone chan struct{}
	if o.Progress != nil {
		progressDone = make(chan struct{})
		var simulated atomic.Int64
		s.simulated = &simulated
		go s.report(o.Progress, start, end, began, progressDone)
	}

	// A batch holds one dataset: a commit then touches few of the day
	// file's tables (each one touched costs the commit), and the
	// servers' and browsers' datasets interleave in time anyway.
	type pending struct {
		buf bytes.Buffer
		n   int
	}
	bufs := map[string]*pending{}
	flush := func(p *pending) {
		if p.n == 0 {
			return
		}
		b := bytes.Clone(p.buf.Bytes())
		p.buf.Reset()
		p.n = 0
		select {
		case batches <- b:
		case <-ctx.Done():
		}
	}
	var last int64
	t := newTraffic(o.Seed, start, end, o.Scale, func(r *Point) {
		if r.Timestamp < start || r.Timestamp >= end {
			return
		}
		rep.Datasets[r.Dataset]++
		p := bufs[r.Dataset]
		if p == nil {
			p = &pending{}
			bufs[r.Dataset] = p
		}
		appendRecord(&p.buf, r)
		p.n++
		last = max(last, r.Timestamp)
		if p.n >= o.BatchSize {
			if s.simulated != nil {
				s.simulated.Store(last)
			}
			flush(p)
		}
	})
	t.run(func() bool { return ctx.Err() != nil })
	names := make([]string, 0, len(bufs))
	for ds := range bufs {
		names = append(names, ds)
	}
	sort.Strings(names)
	for _, ds := range names {
		flush(bufs[ds])
	}
	close(batches)
	wg.Wait()
	if progressDone != nil {
		close(progressDone)
	}
	rep.Points, rep.Rejected = s.accepted.Load(), s.rejected.Load()
	rep.Requests, rep.Retries = s.requests.Load(), s.retries.Load()
	if v, ok := s.firstReject.Load().(string); ok {
		rep.FirstRejection = v
	}
	rep.PointsElapsed = time.Since(began)
	if err := context.Cause(ctx); err != nil {
		rep.Elapsed = time.Since(began)
		return rep, err
	}
	err = sendErrors(ctx, api, pid, t.envelopes(now.UnixMilli()), o, &rep.Errors)
	rep.Elapsed = time.Since(began)
	return rep, err
}

// traffic is the whole period's traffic: the servers', the browsers' and
// error tracking's.
type traffic struct {
	g *generator
	b *browserGen
	s *sentryGen
}

// newTraffic makes the traffic of [start, end); emit gets every point
// (some outside the period: the caller drops them).
func newTraffic(seed uint64, start, end int64, scale int, emit func(*Point)) *traffic {
	g := newGenerator(seed, start, end, scale, emit)
	tl := newTimeline(start, end)
	b := newBrowserGen(seed, g, tl)
	s := newSentryGen(seed, g, tl, len(b.students))
	g.obs, g.browser = s, b
	return &traffic{g: g, b: b, s: s}
}

// run makes every point, the cron check-ins' history last.
func (t *traffic) run(stop func() bool) {
	t.g.run(stop)
	if stop == nil || !stop() {
		t.s.checkInHistory(t.g.emit)
	}
}

// envelopes are error tracking's envelopes, once run has made the
// points; now is when the check-ins are sent.
func (t *traffic) envelopes(now int64) []envelope {
	js := t.s.finish(t.b.jsErrors, t.b)
	return t.s.envelopes(js, t.b.sessions, now)
}

// Statuses the demo gives error groups, with an admin key, at the
// deploy: the two bugs 1.5.0 fixed are resolved (one comes back, a
// regression), and the ResizeObserver noise is ignored.
var groupStatuses = []struct {
	query, key, status string
}{
	{goBugs[bugDBLocked].query, goBugs[bugDBLocked].key, "resolved"},
	{goBugs[bugRetriever].query, goBugs[bugRetriever].key, "resolved"},
	{jsBugs[bugResize].query, jsBugs[bugResize].key, "ignored"},
}

// sendErrors posts the envelopes in the order things happened: what came
// before the deploy, then (with an admin key) the statuses the team gave
// the groups at the deploy, then what came after, and the check-ins of
// now last, one after the other.
func sendErrors(ctx context.Context, api *apiClient, pid int64, envs []envelope, o Options, rep *ErrorsReport) error {
	began := time.Now()
	defer func() { rep.Elapsed = time.Since(began) }()
	var phases [3][]*envelope
	bugs := map[string]bool{}
	for i := range envs {
		e := &envs[i]
		phases[e.phase] = append(phases[e.phase], e)
		rep.Events += int64(e.events)
		if e.bug != "" {
			bugs[e.bug] = true
		}
		for _, it := range e.items {
			switch it.typ {
			case "transaction":
				rep.Transactions++
			case "sessions":
				rep.SessionAggregates += int64(bytes.Count(it.payload, []byte(`"started"`)))
			case "log":
				rep.Logs += int64(bytes.Count(it.payload, []byte(`"severity_number"`)))
			case "check_in":
				rep.CheckIns++
			}
		}
	}
	rep.Bugs = int64(len(bugs))
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "demo: error tracking: %d envelopes to project %d (%d error events of %d bugs, %d transactions, %d logs, %d session aggregates, %d check-ins)\n",
			len(envs), pid, rep.Events, rep.Bugs, rep.Transactions, rep.Logs, rep.SessionAggregates, rep.CheckIns)
	}
	defer func() {
		rep.Envelopes, rep.Retries, rep.Dropped = api.envelopes.Load(), api.retries.Load(), api.dropped.Load()
	}()
	if err := api.postAll(ctx, pid, phases[0], o.Envelopes); err != nil {
		return err
	}
	// A noise group the traffic has not raised by the deploy (its events are
	// rare and the traffic follows the clock) is ignored once it shows up.
	var later []int
	for i, st := range groupStatuses {
		ok, err := api.setStatus(ctx, st.query, st.status)
		if errors.Is(err, errNotAllowed) {
			rep.StatusNote = "a write key may not resolve error groups: run the demo with an admin key to see a bug fixed in " + releaseNew + " come back (a regression)"
			break
		}
		if err != nil {
			return err
		}
		switch {
		case ok:
			rep.Statuses = append(rep.Statuses, st.status+" "+st.key)
		case st.status == "ignored":
			later = append(later, i)
		}
	}
	if err := api.postAll(ctx, pid, phases[1], o.Envelopes); err != nil {
		return err
	}
	for _, i := range later {
		st := groupStatuses[i]
		ok, err := api.setStatus(ctx, st.query, st.status)
		if err != nil {
			return err
		}
		if ok {
			rep.Statuses = append(rep.Statuses, st.status+" "+st.key)
		}
	}
	return api.postAll(ctx, pid, phases[2], 1)
}

// sender posts batches, retrying what the server asks to be retried.
type sender struct {
	url, key string
	client   *http.Client

	accepted, rejected, requests, retries atomic.Int64
	firstReject                           atomic.Value // string
	simulated                             *atomic.Int64
}

// send gzips and posts one NDJSON batch until the server takes it.
func (s *sender) send(ctx context.Context, ndjson []byte) error {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(ndjson)
	zw.Close()
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wait, err := s.post(ctx, gz.Bytes())
		if err == nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) || attempt >= maxAttempts || ctx.Err() != nil {
			return err
		}
		s.retries.Add(1)
		if wait <= 0 {
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)))
			backoff = min(backoff*2, 10*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fatalError is an answer that retrying cannot change.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// post sends one request. It returns how long the server asked to wait
// (Retry-After) with a retryable error.
func (s *sender) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, &fatalError{err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("write points: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var ans struct {
		Accepted int64 `json:"accepted"`
		Rejected []struct {
			Position int    `json:"position"`
			Error    string `json:"error"`
		} `json:"rejected"`
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(data, &ans)
	switch {
	case resp.StatusCode == http.StatusOK:
		s.requests.Add(1)
		s.accepted.Add(ans.Accepted)
		s.rejected.Add(int64(len(ans.Rejected)))
		if len(ans.Rejected) > 0 {
			s.firstReject.CompareAndSwap(nil, ans.Rejected[0].Error)
		}
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		wait := time.Second
		if v, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && v >= 0 {
			wait = time.Duration(v) * time.Second
		}
		return wait + time.Duration(rand.Int64N(int64(250*time.Millisecond))), fmt.Errorf("server busy (%d)", resp.StatusCode)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("server error %d: %s", resp.StatusCode, ans.Error.Message)
	}
	msg := ans.Error.Message
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	return 0, &fatalError{fmt.Sprintf("the server refused the points: %d %s: %s", resp.StatusCode, ans.Error.Code, msg)}
}

// report prints progress about once a second until done closes.
func (s *sender) report(w io.Writer, start, end int64, began time.Time, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			sim := s.simulated.Load()
			pct := 0.0
			if sim > start {
				pct = 100 * float64(sim-start) / float64(end-start)
			}
			el := time.Since(began).Seconds()
			fmt.Fprintf(w, "demo: %5.1f%% of the period generated, %d points stored (%.0f points/s), %d retries\n",
				pct, s.accepted.Load(), float64(s.accepted.Load())/el, s.retries.Load())
		}
	}
}

// String summarizes the run in one line.
func (r *Report) String() string {
	var b strings.Builder
	pe := r.PointsElapsed
	if pe == 0 {
		pe = r.Elapsed
	}
	fmt.Fprintf(&b, "%d points stored in %d requests in %.1fs (%.0f points/s)", r.Points, r.Requests, pe.Seconds(),
		float64(r.Points)/math.Max(pe.Seconds(), 1e-9))
	if r.Rejected > 0 {
		fmt.Fprintf(&b, "; %d rejected", r.Rejected)
	}
	if r.Retries > 0 {
		fmt.Fprintf(&b, "; %d retries", r.Retries)
	}
	if e := r.Errors; e.Envelopes > 0 {
		fmt.Fprintf(&b, "; error tracking: %d envelopes in %.1fs (%d error events of %d bugs, %d transactions, %d logs, %d session aggregates, %d check-ins)",
			e.Envelopes, e.Elapsed.Seconds(), e.Events-e.Dropped, e.Bugs, e.Transactions, e.Logs, e.SessionAggregates, e.CheckIns)
		if e.Dropped > 0 {
			fmt.Fprintf(&b, "; %d error events over the project's rate limit", e.Dropped)
		}
		if len(e.Statuses) > 0 {
			fmt.Fprintf(&b, "; %s", strings.Join(e.Statuses, ", "))
		}
		fmt.Fprintf(&b, "; %.1fs in all", r.Elapsed.Seconds())
	}
	return b.String()
}

// appendRecord writes r as one NDJSON line in the AE positional form.
func appendRecord(buf *bytes.Buffer, r *Point) {
	buf.Write(AppendNDJSON(buf.AvailableBuffer(), r))
}

// AppendNDJSON appends p to b as one line of NDJSON in the AE positional
// form, with its dataset and timestamp.
func AppendNDJSON(b []byte, r *Point) []byte {
	b = append(b, `{"dataset":`...)
	b = appendString(b, r.Dataset)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, r.Timestamp, 10)
	if r.Index != "" {
		b = append(b, `,"indexes":[`...)
		b = appendString(b, r.Index)
		b = append(b, ']')
	}
	if len(r.Blobs) > 0 {
		b = append(b, `,"blobs":[`...)
		for i, s := range r.Blobs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if len(r.Doubles) > 0 {
		b = append(b, `,"doubles":[`...)
		for i, v := range r.Doubles {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(b, '"')
}
