package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Budgets of error tracking on a 2-core machine (issue 13).
const (
	// BudgetErrorEventsPerS is the error events of ~5 KB acknowledged per
	// second, grouped and durable.
	BudgetErrorEventsPerS = 5_000
	// BudgetErrorsRSSBytes bounds the resident set of a server that only
	// tracks errors, at rest and under that load.
	BudgetErrorsRSSBytes = 150 << 20
)

// ErrorsOptions configure `alidade bench errors`.
type ErrorsOptions struct {
	Events      int // envelopes to send, one error event each
	Concurrency int // concurrent clients, each waiting for its answer
	Groups      int // distinct fingerprints
	Seed        uint64

	ServerExe  string   // the alidade binary to start
	ServerArgs []string // extra serve flags
	DataDir    string   // the started server's data directory ("": a temporary one)
	Keep       bool     // keep the temporary data directory
	Progress   io.Writer
}

// DefaultErrorsOptions returns 20,000 events from 64 clients over 40 groups.
func DefaultErrorsOptions() ErrorsOptions {
	return ErrorsOptions{Events: 20_000, Concurrency: 64, Groups: 40, Seed: 1}
}

// ErrorsReport is what `alidade bench errors` measured.
type ErrorsReport struct {
	Events      int     `json:"events"`
	Concurrency int     `json:"concurrency"`
	Groups      int     `json:"groups"`
	AvgBytes    int     `json:"avg_envelope_bytes"`
	Acked       int     `json:"acked"`
	Rejected    int     `json:"rejected"`
	Seconds     float64 `json:"seconds"`
	EventsPerS  float64 `json:"events_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	GroupsMade  int     `json:"groups_created"`
	// PointCommits and PointCommitMs are the ingest pipeline's commits of
	// the events' points during the run and their mean duration.
	PointCommits  int64   `json:"point_commits"`
	PointCommitMs float64 `json:"point_commit_ms"`
	// ServerCPUUs is the server's CPU time (user and system) per event
	// acknowledged, in µs: what the events/s would be on an idle machine
	// is about 2 cores / (it + the clients' share).
	ServerCPUUs float64 `json:"server_cpu_us_per_event"`
	RSSRest     int64   `json:"rss_rest_bytes"`
	RSSPeak     int64   `json:"rss_peak_bytes"`

	Budgets map[string]Verdict `json:"budgets"`
}

// ErrorEnvelope makes a Sentry envelope of one error event of about 5 KB,
// as a Go service's SDK sends it: an exception with 20 frames, 12
// breadcrumbs, tags, a user and contexts. bug picks the fingerprint (its
// functions and exception type); n makes the event id.
func ErrorEnvelope(n, bug int, now time.Time) []byte {
	var frames []string
	for i := range 20 {
		frames = append(frames, fmt.Sprintf(`{"function":"handler%d.step%d","module":"github.com/acme/tutor/internal/svc%d","abs_path":"/src/tutor/internal/svc%d/file%d.go","lineno":%d,"in_app":%v}`,
			bug, i, i%5, i%5, i, 100+i, i > 5))
	}
	var crumbs []string
	for i := range 12 {
		crumbs = append(crumbs, fmt.Sprintf(`{"timestamp":%d,"category":"http","message":"GET /api/lessons/%d returned 200 after %d ms","level":"info"}`, now.Unix()-int64(12-i), n%97+i, i*7))
	}
	ev := fmt.Sprintf(`{"event_id":"%032x","timestamp":%.3f,"level":"error","platform":"go","release":"tutor@1.4.%d","environment":"production","server_name":"web-%d",
		"exception":[{"type":"*svc.Error%d","value":"lesson %d not found in shard %d","stacktrace":{"frames":[%s]}}],
		"breadcrumbs":[%s],"tags":{"region":"eu-west","route":"/api/lessons/:id","method":"GET"},"user":{"id":"user-%d","ip_address":"10.0.0.%d"},
		"contexts":{"os":{"name":"linux"},"runtime":{"name":"go","version":"go1.26"},"device":{"arch":"amd64","num_cpu":2}},
		"sdk":{"name":"sentry.go","version":"0.46.2"}}`, n, float64(now.UnixMilli())/1000, bug%3, n%4, bug, n, n%7,
		strings.Join(frames, ","), strings.Join(crumbs, ","), n%1000, n%250)
	return fmt.Appendf(nil, "{\"event_id\":\"%032x\",\"sent_at\":\"%s\"}\n{\"type\":\"event\",\"length\":%d}\n%s\n", n, now.UTC().Format(time.RFC3339), len(ev), ev)
}

// RunErrors starts a server on a fresh data directory, sends it
// o.Events error envelopes from o.Concurrency clients, and reports the
// events acknowledged per second, the latencies, the groups made and the
// server's resident set at rest and under load.
func RunErrors(ctx context.Context, o ErrorsOptions) (rep *ErrorsReport, err error) {
	if o.Events < 1 || o.Concurrency < 1 || o.Groups < 1 {
		return nil, fmt.Errorf("bench errors: events, concurrency and groups must be positive")
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	dataDir := o.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "alidade-bench-errors-"); err != nil {
			return nil, err
		}
		if o.Keep {
			defer logf("data kept in %s", dataDir)
		} else {
			defer os.RemoveAll(dataDir)
		}
	}
	logf("starting %s serve (data in %s)", o.ServerExe, dataDir)
	srv, err := StartServer(ctx, ServerOptions{Exe: o.ServerExe, DataDir: dataDir, Args: o.ServerArgs})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = srv.Explain(err)
		}
		_ = srv.Stop(30 * time.Second)
	}()
	c := newClient(srv.URL, 1)
	defer c.close()
	var p struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	body, _ := json.Marshal(map[string]string{"name": "bench-errors"})
	if err := c.do(ctx, "POST", "/api/v1/projects", srv.RootKey, body, nil, &p); err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	if p.ID < 1 || p.Keys["public"] == "" || p.Keys["read"] == "" {
		return nil, errors.New("create project: the answer holds no id, public or read key")
	}

	// The bodies, before timing.
	rng := rand.New(rand.NewPCG(o.Seed, 13))
	now := time.Now()
	bodies := make([][]byte, o.Events)
	size := 0
	for i := range bodies {
		bodies[i] = ErrorEnvelope(int(rng.Int64N(1<<62))+1, i%o.Groups, now)
		size += len(bodies[i])
	}
	rep = &ErrorsReport{Events: o.Events, Concurrency: o.Concurrency, Groups: o.Groups, AvgBytes: size / o.Events}

	// At rest: the server with its project, a moment after start.
	time.Sleep(time.Second)
	if st, err := srv.Status(); err == nil {
		rep.RSSRest = st.RSS
	}
	logf("server at %s, pid %d, RSS at rest %.1f MB; sending %d envelopes of %d bytes from %d clients over %d groups",
		srv.URL, srv.PID(), mb(rep.RSSRest), o.Events, rep.AvgBytes, o.Concurrency, o.Groups)

	target := envelopeTarget(srv.URL, p.ID, p.Keys["public"])
	hc := envelopeHTTP(o.Concurrency)
	defer hc.CloseIdleConnections()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				_, _ = srv.Status() // keeps the peak
			}
		}
	}()
	commits0 := c.scrapeCommits(ctx)
	cpu0, cpuErr := ReadProcCPU(srv.PID())
	sent := sendEnvelopes(ctx, hc, target, bodies, o.Concurrency)
	cpu1, err := ReadProcCPU(srv.PID())
	close(stopSampling)
	<-sampled
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Before the first commit the histogram is not exposed yet: zero.
	if commits1 := c.scrapeCommits(ctx); commits1.ok && commits1.count > commits0.count {
		rep.PointCommits = commits1.count - commits0.count
		rep.PointCommitMs = 1000 * (commits1.seconds - commits0.seconds) / float64(rep.PointCommits)
	}
	acked := sent.latMs
	rep.Acked, rep.Rejected = len(acked), o.Events-len(acked)
	rep.Seconds = sent.elapsed.Seconds()
	rep.EventsPerS = float64(rep.Acked) / rep.Seconds
	if cpuErr == nil && err == nil && rep.Acked > 0 {
		rep.ServerCPUUs = (cpu1 - cpu0) * 1e6 / float64(rep.Acked)
	}
	if len(acked) > 0 {
		rep.P50Ms, rep.P99Ms, rep.MaxMs = Percentile(acked, 0.5), Percentile(acked, 0.99), Percentile(acked, 1)
	}
	if st, err := srv.Status(); err == nil {
		rep.RSSPeak = max(st.PeakRSS, srv.PeakRSS())
	}
	if rep.Rejected > 0 {
		logf("%d envelopes not acknowledged; the first: %v", rep.Rejected, sent.firstErr)
	}

	var groups struct {
		Groups []json.RawMessage `json:"groups"`
	}
	if err := c.do(ctx, "GET", "/api/v1/error-groups?status=all&limit=1000", p.Keys["read"], nil, nil, &groups); err != nil {
		return nil, fmt.Errorf("list error groups: %w", err)
	}
	rep.GroupsMade = len(groups.Groups)
	rep.Budgets = map[string]Verdict{
		"events_per_s": {Figure: fmt.Sprintf("%.0f ≥ %d", rep.EventsPerS, BudgetErrorEventsPerS), Met: rep.EventsPerS >= BudgetErrorEventsPerS},
		"rss_peak":     {Figure: fmt.Sprintf("%.0f MB ≤ %d MB", mb(rep.RSSPeak), BudgetErrorsRSSBytes>>20), Met: rep.RSSPeak > 0 && rep.RSSPeak <= BudgetErrorsRSSBytes},
		"groups":       {Figure: fmt.Sprintf("%d = %d", rep.GroupsMade, min(o.Groups, o.Events)), Met: rep.GroupsMade == min(o.Groups, o.Events)},
		"acked":        {Figure: fmt.Sprintf("%d of %d", rep.Acked, rep.Events), Met: rep.Rejected == 0},
	}
	return rep, nil
}

// envelopeSink is a project's Sentry envelope endpoint on one server.
type envelopeSink struct {
	url, auth string
}

// envelopeTarget is the envelope endpoint of project id on the server at
// base, with its public (DSN) key.
func envelopeTarget(base string, id int64, public string) envelopeSink {
	return envelopeSink{
		url:  fmt.Sprintf("%s/api/%d/envelope/", base, id),
		auth: "Sentry sentry_version=7, sentry_client=alidade-bench/1, sentry_key=" + public,
	}
}

// envelopeHTTP is the HTTP client of conc concurrent SDKs.
func envelopeHTTP(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: time.Minute}
}

// envelopesSent is what sendEnvelopes measured.
type envelopesSent struct {
	latMs    []float64 // the acknowledged envelopes' round trips, in ms
	rejected int       // envelopes not answered 200
	firstErr error     // the first of them
	elapsed  time.Duration
}

// sendEnvelopes posts bodies to s from conc clients, each waiting for its
// answer, and measures them; an envelope is acknowledged when it is
// answered 200.
func sendEnvelopes(ctx context.Context, hc *http.Client, s envelopeSink, bodies [][]byte, conc int) envelopesSent {
	lat := make([]float64, len(bodies))
	ok := make([]bool, len(bodies))
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", s.url, bytes.NewReader(bodies[i]))
				req.Header.Set("X-Sentry-Auth", s.auth)
				req.Header.Set("Content-Type", "application/x-sentry-envelope")
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = float64(time.Since(t0).Microseconds()) / 1000
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				ok[i] = true
			}
		})
	}
	wg.Wait()
	out := envelopesSent{elapsed: time.Since(start), firstErr: firstErr}
	for i, k := range ok {
		if k {
			out.latMs = append(out.latMs, lat[i])
		} else {
			out.rejected++
		}
	}
	return out
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// JSON is the report on one line.
func (r *ErrorsReport) JSON() []byte {
	b, _ := json.Marshal(r)
	return b
}

// WriteTable writes the report as a table.
func (r *ErrorsReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "error ingest\t%d envelopes of %d bytes, %d clients, %d fingerprints\t\n", r.Events, r.AvgBytes, r.Concurrency, r.Groups)
	fmt.Fprintf(tw, "acknowledged\t%d in %.2f s\t%s %s\n", r.Acked, r.Seconds, mark(r.Budgets["acked"].Met), r.Budgets["acked"].Figure)
	fmt.Fprintf(tw, "events/s\t%.0f\t%s %s\n", r.EventsPerS, mark(r.Budgets["events_per_s"].Met), r.Budgets["events_per_s"].Figure)
	fmt.Fprintf(tw, "latency\tp50 %.1f ms, p99 %.1f ms, max %.1f ms\t\n", r.P50Ms, r.P99Ms, r.MaxMs)
	if r.ServerCPUUs > 0 {
		fmt.Fprintf(tw, "server CPU\t%.0f µs an event (user + system)\t\n", r.ServerCPUUs)
	}
	if r.PointCommits > 0 {
		fmt.Fprintf(tw, "points commits\t%d, %.1f events each, %.1f ms mean\t\n", r.PointCommits, float64(r.Acked)/float64(r.PointCommits), r.PointCommitMs)
	}
	fmt.Fprintf(tw, "groups created\t%d\t%s %s\n", r.GroupsMade, mark(r.Budgets["groups"].Met), r.Budgets["groups"].Figure)
	fmt.Fprintf(tw, "server RSS\tat rest %.0f MB, peak under load %.0f MB\t%s %s\n", mb(r.RSSRest), mb(r.RSSPeak), mark(r.Budgets["rss_peak"].Met), r.Budgets["rss_peak"].Figure)
	return tw.Flush()
}
