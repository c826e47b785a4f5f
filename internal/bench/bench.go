// Package bench owns Alidade's end-to-end benchmark, `alidade bench`: it
// generates realistic points of the requests dataset (about 50 endpoints with
// skewed popularity, lognormal latencies, 1–5 % errors) over the last days,
// writes them oldest first over HTTP with concurrent clients, runs a fixed
// set of structured queries and the dashboard overview both from raw points
// and as the server chooses (rollups where they cover), checks the answers
// and measures how far rollup quantiles are from exact ones, compares the
// ingest rate of servers with rollups on and off, and reports throughput,
// commit latency, query times, the server's memory and its bytes on disk
// per point, with each budget's verdict. Given a VictoriaLogs binary, it
// also sends the same events to that peer in alternating rounds, asks both
// the same grouped query, checks that their answers agree, and reports both
// sides' figures and their ratios. Given a ClickHouse and a PostgreSQL, it
// does the same with a cluster node over them (a fresh database and
// project, cleaned up afterwards) against the embedded store: the same
// points in alternating rounds, the same queries from raw points, answers
// that must agree exactly.
//
// It drives a server only through its public HTTP API, started as a child
// process of the alidade binary or reached at a URL; the peer likewise,
// through its own HTTP API. It does not import the
// server, store, planner or query packages and must not: what it measures is
// what a client sees.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of the ingest-overhead comparison.
const (
	// DefaultBaselinePoints caps the sample each overhead run writes.
	DefaultBaselinePoints = 5_000_000
	// DefaultBaselinePairs is the (rollups off, rollups on) runs made by
	// default from AutoBaselineFrom points on; smaller runs skip them.
	DefaultBaselinePairs = 3
	AutoBaselineFrom     = 10_000_000
)

// MaxDays bounds Options.Days (the longest range a query may ask).
const MaxDays = 400

// Options configure a run.
type Options struct {
	// Points is how many points to write.
	Points int64
	// Days spreads the points over the last Days days, oldest first; 0
	// means one day.
	Days int
	// Concurrency is the number of concurrent writing clients.
	Concurrency int
	// Batch is the points per write request.
	Batch int
	// Gzip compresses the write bodies (before timing, up to
	// MaxDistinctPoints points).
	Gzip bool
	// Repeat is how often each query runs; the median is reported.
	Repeat int
	// Seed fixes the generated points.
	Seed uint64
	// Settle makes the bench wait, before the queries, for the started
	// server's next minute tick after ingest, when it seals hours and
	// compacts old minutes: the state a server that
	// received the same history over days would be in.
	Settle bool

	// BaselinePoints is the sample each ingest-overhead run writes; 0
	// means min(Points, DefaultBaselinePoints).
	BaselinePoints int64
	// BaselinePairs is how many times the overhead comparison runs a
	// server with rollups off and then one with rollups on; 0 skips it, -1
	// means DefaultBaselinePairs from AutoBaselineFrom points on, else 0.
	// It needs ServerExe.
	BaselinePairs int

	// URL targets a running server instead of starting one. With it, either
	// WriteKey and ReadKey (of one project) or RootKey (to create a project)
	// is needed.
	URL                        string
	WriteKey, ReadKey, RootKey string

	// ServerExe is the alidade binary started as the server when URL is "".
	ServerExe string
	// ServerArgs are extra flags of the started server.
	ServerArgs []string
	// DataDir is the started server's data directory; "" means a temporary
	// directory, removed afterwards unless Keep. With URL, it is the
	// server's data directory, only measured ("" means unknown).
	DataDir string
	Keep    bool

	// VictoriaLogs is a VictoriaLogs binary to compare with; "" means no
	// comparison. It is started on a temporary data directory next to
	// Alidade and sent the same events in VsRounds alternating rounds,
	// then asked the same grouped query.
	VictoriaLogs string
	// VsRounds is the comparison's rounds; 0 means DefaultVsRounds (or
	// fewer when there are fewer write requests).
	VsRounds int

	// Cluster, when set, starts a cluster node over that ClickHouse and
	// PostgreSQL next to the embedded store's server, sends both the same
	// points in VsRounds alternating rounds, runs the same queries from
	// raw points on both and compares the answers and figures. It needs
	// ServerExe (not URL) and excludes VictoriaLogs.
	Cluster *ClusterTarget
	// ErrorEvents is the Sentry envelopes a cluster comparison sends each
	// side after the points, in VsRounds alternating rounds; 0 means
	// DefaultClusterErrorEvents.
	ErrorEvents int

	// Progress receives progress lines; nil means none.
	Progress io.Writer
	// StopTimeout bounds the started server's shutdown; 0 means 5 minutes.
	StopTimeout time.Duration
}

// DefaultOptions returns the defaults of `alidade bench`.
func DefaultOptions() Options {
	return Options{Points: 1_000_000, Concurrency: 4, Batch: 10_000, Repeat: 5, Seed: 1, Settle: true, BaselinePairs: -1}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Points < 1 || o.Points > MaxCount:
		return fmt.Errorf("points must be 1 to %d, got %d", int64(MaxCount), o.Points)
	case o.Days < 0 || o.Days > MaxDays:
		return fmt.Errorf("days must be 1 to %d, got %d", MaxDays, o.Days)
	case o.Concurrency < 1 || o.Concurrency > 1024:
		return fmt.Errorf("concurrency must be 1 to 1024, got %d", o.Concurrency)
	case o.Batch < 1:
		return fmt.Errorf("batch must be at least 1 point, got %d", o.Batch)
	case o.Repeat < 1:
		return fmt.Errorf("repeat must be at least 1, got %d", o.Repeat)
	case o.BaselinePoints < 0 || o.BaselinePoints > MaxCount:
		return fmt.Errorf("baseline points must be 1 to %d, got %d", int64(MaxCount), o.BaselinePoints)
	case o.BaselinePairs < -1 || o.BaselinePairs > 100:
		return fmt.Errorf("baseline pairs must be 0 to 100, got %d", o.BaselinePairs)
	case o.URL == "" && o.ServerExe == "":
		return errors.New("no server: give a URL or the alidade binary to start")
	case o.URL != "" && o.RootKey == "" && (o.WriteKey == "" || o.ReadKey == ""):
		return errors.New("a server URL needs a write key and a read key of one project, or the root key to create one")
	case o.ErrorEvents < 0 || o.ErrorEvents > 1<<24:
		return fmt.Errorf("error events must be 1 to %d, got %d", 1<<24, o.ErrorEvents)
	case o.VsRounds < 0 || o.VsRounds > 100:
		return fmt.Errorf("rounds against the peer must be 1 to 100, got %d", o.VsRounds)
	case o.Cluster != nil && o.URL != "":
		return errors.New("a cluster comparison starts both servers itself: it takes no server URL")
	case o.Cluster != nil && o.VictoriaLogs != "":
		return errors.New("one comparison at a time: the cluster or VictoriaLogs")
	case o.Cluster != nil && (o.Cluster.HTTP == "" || o.Cluster.Database == "" || o.Cluster.Meta == ""):
		return errors.New("a cluster comparison needs ClickHouse's HTTP address, a database and the metadata store's URL")
	}
	if o.VictoriaLogs != "" {
		if _, err := CheckPeerExe(o.VictoriaLogs); err != nil {
			return fmt.Errorf("the VictoriaLogs binary: %w", err)
		}
	}
	return nil
}

// resolve fills the automatic settings.
func (o *Options) resolve() {
	if o.Days == 0 {
		o.Days = 1
	}
	if o.BaselinePoints == 0 {
		o.BaselinePoints = min(o.Points, DefaultBaselinePoints)
	}
	if o.BaselinePairs < 0 {
		o.BaselinePairs = 0
		if o.Points >= AutoBaselineFrom {
			o.BaselinePairs = DefaultBaselinePairs
		}
	}
	if o.VsRounds == 0 {
		o.VsRounds = DefaultVsRounds
	}
	if o.ErrorEvents == 0 {
		o.ErrorEvents = DefaultClusterErrorEvents
	}
	requests := (o.Points + int64(max(o.Batch, 1)) - 1) / int64(max(o.Batch, 1))
	o.VsRounds = int(min(int64(o.VsRounds), requests))
}

// ErrRollupMismatch is what Run returns, with its report, when answers from
// rollups disagree with answers from raw points beyond the sketches' error.
var ErrRollupMismatch = errors.New("answers from rollups disagree with raw points")

// ErrPeerMismatch is what Run returns, with its report, when the peer's
// answer to the grouped query disagrees with Alidade's: one of them lost
// or changed events, and the comparison does not hold.
var ErrPeerMismatch = errors.New("the peer's answer disagrees with Alidade's")

// dataRange returns the range of a run's points and queries: the span that
// a relative range of that length asked at now covers, exactly
// [now − span, now). Points are written over it.
func dataRange(now, span int64) (from, to int64) {
	return now - span, now
}

// Run runs the bench and returns its report. A wrong answer from raw points
// is an error; a rollup answer that disagrees with raw points returns the
// report with an error wrapping ErrRollupMismatch, a peer's answer that
// disagrees with Alidade's one wrapping ErrPeerMismatch, a cluster's that
// disagrees with the embedded store's wrapping ErrClusterMismatch; a missed
// budget is not an error (see Report.Verdicts).
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.resolve()
	started := time.Now()
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	rep = &Report{
		Points: o.Points, Concurrency: o.Concurrency, Batch: o.Batch, Gzip: o.Gzip,
		Repeat: o.Repeat, Seed: o.Seed, Target: o.URL, Days: o.Days, SetupPath: SetupHTTP,
	}

	// The server.
	url, keys, rootKey, dataDir := o.URL, Keys{Write: o.WriteKey, Read: o.ReadKey}, o.RootKey, o.DataDir
	var srv *Server
	if url == "" {
		rep.Target = "child"
		if dataDir == "" {
			if dataDir, err = os.MkdirTemp("", "alidade-bench-"); err != nil {
				return nil, err
			}
			if o.Keep {
				defer logf("data kept in %s", dataDir)
			} else {
				defer os.RemoveAll(dataDir)
			}
		}
		logf("starting %s serve (data in %s)", o.ServerExe, dataDir)
		if srv, err = StartServer(ctx, ServerOptions{Exe: o.ServerExe, DataDir: dataDir, Args: o.ServerArgs}); err != nil {
			return nil, err
		}
		defer func() {
			// On failure: stop the server, and say why it died if it did.
			if err != nil && !errors.Is(err, ErrRollupMismatch) && !errors.Is(err, ErrPeerMismatch) && !errors.Is(err, ErrClusterMismatch) {
				err = srv.Explain(err)
				_ = srv.Stop(30 * time.Second)
			}
		}()
		url, rootKey = srv.URL, srv.RootKey
		logf("server at %s, pid %d", url, srv.PID())
		keys = Keys{}
	}
	if keys.Write == "" || keys.Read == "" {
		if keys, err = CreateProject(ctx, url, rootKey, "bench"); err != nil {
			return nil, err
		}
	}
	c := newClient(url, o.Concurrency)
	defer c.close()

	// The cluster node, next to the embedded store's server, on a fresh
	// ClickHouse database and a fresh project of the metadata store.
	var cl *clusterRun
	if o.Cluster != nil {
		if cl, err = startCluster(ctx, &o, logf); err != nil {
			return nil, err
		}
		defer cl.cleanup(ctx)
		defer func() {
			if err != nil && !errors.Is(err, ErrClusterMismatch) {
				err = cl.srv.Explain(err)
			}
		}()
		rep.VsCluster = cl.cmp
	}

	// The peer, next to Alidade, on a data directory of its own.
	var (
		vl    *VictoriaLogs
		vc    *client
		vlDir string
	)
	if o.VictoriaLogs != "" {
		if vlDir, err = os.MkdirTemp("", "alidade-bench-victorialogs-"); err != nil {
			return nil, err
		}
		if o.Keep {
			defer logf("%s data kept in %s", PeerVictoriaLogs, vlDir)
		} else {
			defer os.RemoveAll(vlDir)
		}
		logf("starting %s (data in %s)", o.VictoriaLogs, vlDir)
		vl, err = StartVictoriaLogs(ctx, VictoriaLogsOptions{Exe: o.VictoriaLogs, DataDir: vlDir, RetentionDays: o.Days + 2})
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				err = vl.Explain(err)
			}
			_ = vl.Stop(time.Minute)
		}()
		logf("%s %s at %s, pid %d", PeerVictoriaLogs, vl.Version, vl.URL, vl.PID())
		vc = newClient(vl.URL, o.Concurrency)
		defer vc.close()
	}

	// The workload, generated before timing: the last Days days of
	// traffic, replayed oldest first.
	now := time.Now().UnixMilli()
	from, to := dataRange(now, int64(o.Days)*24*3_600_000)
	rep.RangeFrom, rep.RangeTo = formatMs(from), formatMs(to)
	gen := NewGenerator(o.Seed, from, now)
	w, err := NewWorkload(ctx, gen, o.Points, o.Batch, o.Gzip)
	if err != nil {
		return nil, err
	}
	rep.Requests = w.Requests
	logf("generated %s points in %s requests (%d distinct bodies, %s of NDJSON), timestamps from %s to now, oldest first",
		groupDigits(o.Points), groupDigits(w.Requests), w.DistinctBodies, humanBytes(w.DistinctBytes), rep.RangeFrom)
	if w.Restamped {
		note := "bodies are reused with their timestamps moved to each request's slice of time"
		if o.Gzip {
			note += "; with gzip each is compressed as it is sent, on the bench's CPU"
		}
		logf("%s", note)
	}
	var vw *Workload
	if vl != nil {
		if vw, err = w.As(ctx, FormatVictoriaLogs); err != nil {
			return nil, err
		}
		logf("the same events for %s: %s of JSON lines (%d distinct bodies)", PeerVictoriaLogs, humanBytes(vw.DistinctBytes), vw.DistinctBodies)
	}
	baseline, err := countInRange(ctx, c, keys.Read, from, to)
	if err != nil {
		return nil, fmt.Errorf("count the points already there: %w", err)
	}

	// Ingest.
	logf("set-up path: %s; writing with %d clients", setupPaths[SetupHTTP], o.Concurrency)
	before := c.scrapeCommits(ctx)
	tick := func(acked, retries int64, elapsed time.Duration) {
		line := fmt.Sprintf("ingest: %s of %s points acknowledged (%.0f%%), %s points/s",
			groupDigits(acked), groupDigits(o.Points), 100*float64(acked)/float64(o.Points), groupDigits(int64(float64(acked)/elapsed.Seconds())))
		if retries > 0 {
			line += fmt.Sprintf(", %d retries after 429", retries)
		}
		if srv != nil {
			if st, err := srv.Status(); err == nil {
				line += ", server RSS " + humanBytes(st.RSS)
			}
		}
		fmt.Fprintln(progress, line)
	}
	// The freshness probe runs beside the writers of the ingest phase.
	probeStop := make(chan struct{})
	probeDone := make(chan *Freshness, 1)
	go func() { probeDone <- probeFreshness(ctx, newClient(url, 1), keys, FreshnessEvery, probeStop) }()
	endProbe := func() {
		if probeStop != nil {
			close(probeStop)
			probeStop = nil
			rep.Freshness = <-probeDone
		}
	}
	defer endProbe()
	var in *ingestResult
	if vl != nil {
		pc := &PeerComparison{Peer: PeerVictoriaLogs, Version: vl.Version, Rounds: o.VsRounds}
		rep.VsVictoriaLogs = pc
		logf("%d rounds alternating Alidade and %s, each round the next share of the requests to both", o.VsRounds, PeerVictoriaLogs)
		if perRound := o.Points / int64(o.VsRounds); perRound < minRoundEvents {
			logf("note: rounds of %s events measure start-up more than throughput; give --points of %s or more for figures to compare", groupDigits(perRound), shortCount(minRoundEvents*int64(o.VsRounds)))
		}
		if in, err = ingestAlternating(ctx, c, keys.Write, w, vc, vw, o.Concurrency, pc, logf); err != nil {
			return nil, err
		}
		if st, err := vl.Status(); err == nil {
			pc.PeerRSSAfterIngestBytes = &st.RSS
		}
		if n, dropped, ok := vlIngested(ctx, vc); ok {
			pc.PeerRowsIngested, pc.PeerRowsDropped = &n, &dropped
		}
		logf("ingest medians of %d rounds: Alidade %s events/s, %s %s events/s: ×%.2f (budget ≥ ×%g)",
			pc.Rounds, groupDigits(int64(pc.AlidadeMedian)), pc.Peer, groupDigits(int64(pc.PeerMedian)), pc.IngestRatio, BudgetPeerIngestRatio)
	} else if cl != nil {
		logf("%d rounds alternating the embedded store and the cluster, each round the next share of the requests to both", o.VsRounds)
		clBefore := cl.c.scrapeCommits(ctx)
		alt, err := alternate(ctx, [2]side{{"embedded", c, alidadeSink(keys.Write), w}, {"cluster", cl.c, alidadeSink(cl.keys["write"]), w}}, o.VsRounds, o.Concurrency, "points", logf)
		if err != nil {
			return nil, err
		}
		in = alt.total[0]
		cl.ingested(ctx, alt, clBefore, from, to)
		// Error events, after the points so that the points' rates are
		// the points' alone.
		if err := cl.errorRounds(ctx, c, envelopeTarget(url, keys.Project, keys.Public), keys.Read, o.ErrorEvents, o.VsRounds, o.Seed); err != nil {
			return nil, err
		}
	} else if in, err = ingest(ctx, c, keys.Write, w, o.Concurrency, tick); err != nil {
		return nil, err
	}
	endProbe()
	if f := rep.Freshness; f != nil {
		logf("freshness: %d probes during ingest, acknowledged to counted by a query: p50 %.0f ms, p99 %.0f ms, max %.0f ms (budget p99 ≤ %d ms)",
			f.Probes, f.P50Ms, f.P99Ms, f.MaxMs, BudgetFreshnessMs)
	}
	after := c.scrapeCommits(ctx)
	secs := in.Elapsed.Seconds()
	rep.IngestS = round(secs, 3)
	rep.IngestPointsPerS = math.Round(float64(in.Points) / secs)
	rep.IngestMBPerS = round(float64(in.RawBytes)/secs/1e6, 2)
	rep.IngestWireMBPerS = round(float64(in.WireBytes)/secs/1e6, 2)
	rep.CommitP50Ms = round(Percentile(in.LatenciesMs, 0.5), 2)
	rep.CommitP99Ms = round(Percentile(in.LatenciesMs, 0.99), 2)
	rep.Retries429 = in.Retries429
	// An unobserved histogram prints no series: before may be empty.
	if after.ok && after.count > before.count {
		n := after.count - before.count
		avg := round((after.seconds-before.seconds)/float64(n)*1000, 2)
		rep.ServerCommits, rep.ServerCommitAvgMs = &n, &avg
	}
	logf("wrote %s points in %.2f s: %s points/s, %.1f MB/s, commit p50 %s ms, p99 %s ms",
		groupDigits(in.Points), secs, groupDigits(int64(rep.IngestPointsPerS)), rep.IngestMBPerS, ms(rep.CommitP50Ms), ms(rep.CommitP99Ms))
	rep.RSSAfterIngestBytes = sampleRSS(srv, "after ingest", logf)
	if srv != nil && o.Settle {
		wait := settleWait(srv.Listening, time.Now())
		logf("waiting %.0f s for the server's next minute tick (rollups seal hours and compact old minutes), as a server that received this history over days would have", wait.Seconds())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		rep.SettleS = round(wait.Seconds(), 1)
		sampleRSS(srv, "after the tick", logf)
	}

	// Queries, from raw points and as the server chooses.
	logf("queries over %s – %s", rep.RangeFrom, rep.RangeTo)
	bodies := querySet(from, to, gen.Top(8))
	res, err := runQueries(ctx, c, keys.Read, bodies, o.Repeat, rep, logf)
	if err != nil {
		return nil, err
	}
	exp := expectation{
		Total: baseline + w.Expected.Points, Baseline: baseline, Written: w.Expected,
		Top8: gen.Top(8), From: from, To: to,
	}
	for _, e := range gen.Endpoints {
		exp.Endpoints = append(exp.Endpoints, e.Path)
	}
	if err := checkAnswers(res.raw, exp); err != nil {
		return nil, fmt.Errorf("wrong answers from raw points:\n%w", err)
	}
	cmp := &comparison{}
	if err := checkAnswers(res.auto, exp); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			cmp.mismatch("source auto: %s", line)
		}
	}
	compareQueries(res, cmp)

	// The dashboard overview.
	for _, rng := range OverviewRanges {
		ot, err := timeOverview(ctx, c, keys.Read, rng, o.Repeat)
		if err != nil {
			return nil, err
		}
		rep.Overview = append(rep.Overview, ot)
		logf("%s (medians of %d)", ot.describe(), o.Repeat)
	}
	src, err := compareOverview(ctx, c, keys.Read, from, to, cmp)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		logf("the overview over %s – %s failed (%v): its quantiles are not compared", rep.RangeFrom, rep.RangeTo, err)
	case err != nil:
		return nil, err
	case !fromRollups(src):
		logf("the overview over %s – %s came from %s: its quantiles are not compared", rep.RangeFrom, rep.RangeTo, orUnknown(src))
	}

	// The grouped query on both, then the peer's memory and disk.
	if pc := rep.VsVictoriaLogs; pc != nil {
		if err := peerQueries(ctx, c, keys.Read, vc, from, to, o.Repeat, w.Expected.Points, baseline, pc, cmp, logf); err != nil {
			return nil, err
		}
		for _, d := range pc.Disagreements {
			logf("DISAGREEMENT with %s: %s", pc.Peer, d)
		}
		logf("stopping %s", pc.Peer)
		if err := vl.Stop(time.Minute); err != nil {
			return nil, err
		}
		if peak := vl.PeakRSS(); peak > 0 {
			pc.PeerPeakRSSBytes = &peak
		}
		if n, err := dirBytes(vlDir); err == nil {
			pc.PeerDiskBytes = &n
		}
	}
	// The same queries on the cluster node, then its bytes on disk; it
	// is stopped and its database dropped (unless Keep).
	if cl != nil {
		if err := cl.queries(ctx, c, keys.Read, bodies, o.Repeat, exp); err != nil {
			return nil, err
		}
		cl.cleanup(ctx)
	}
	rep.QuantileError = quantileError(cmp.quantiles)
	rep.RollupMismatches = cmp.mismatches
	if cmp.dropped > 0 {
		rep.RollupMismatches = append(rep.RollupMismatches, fmt.Sprintf("and %d more", cmp.dropped))
	}
	if q := rep.QuantileError; q != nil {
		logf("quantiles from rollups vs exact: %d compared, max relative error %.3f%% (%s), median %.3f%%",
			q.Compared, 100*q.MaxRel, q.MaxAt, 100*q.MedianRel)
	}
	for _, m := range rep.RollupMismatches {
		logf("MISMATCH %s", m)
	}
	rep.RSSAfterQueriesBytes = sampleRSS(srv, "after queries", logf)

	// Memory and disk.
	if dataDir != "" {
		if n, err := dirBytes(dataDir); err == nil {
			rep.DiskBytesBeforeStop = &n
		}
	}
	if srv != nil {
		_, _ = srv.Status()
		logf("stopping the server (it commits and checkpoints)")
		timeout := o.StopTimeout
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		if err := srv.Stop(timeout); err != nil {
			return nil, err
		}
		if peak := srv.PeakRSS(); peak > 0 {
			rep.PeakRSSBytes = &peak
		}
	}
	if dataDir != "" {
		n, err := dirBytes(dataDir)
		if err != nil {
			return nil, fmt.Errorf("measure the data directory: %w", err)
		}
		per := round(float64(n)/float64(o.Points), 2)
		rep.DiskBytes, rep.DiskBytesPerPoint = &n, &per
		if n, err := dirBytes(filepath.Join(dataDir, "rollups")); err == nil && n > 0 {
			rep.RollupDiskBytes = &n
		}
		if cc := rep.VsCluster; cc != nil {
			b := *rep.DiskBytes
			if rep.RollupDiskBytes != nil {
				b -= *rep.RollupDiskBytes
			}
			per := round(float64(b)/float64(o.Points), 2)
			cc.EmbeddedStoreBytes, cc.EmbeddedBytesPerPoint = &b, &per
		}
	}

	// The cost of rollups at ingest, on fresh servers.
	switch {
	case o.BaselinePairs == 0:
	case o.ServerExe == "":
		logf("ingest overhead: skipped, it starts its own servers (run without --url)")
	default:
		// The sample keeps the data set's density (points per minute and
		// series), which is what rollups' cost per point depends on: it
		// spans the newest BaselinePoints/Points of the range.
		bfrom := now - int64(float64(now-from)*float64(o.BaselinePoints)/float64(o.Points))
		bw, err := NewWorkload(ctx, NewGenerator(o.Seed, min(bfrom, now-1), now), o.BaselinePoints, o.Batch, o.Gzip)
		if err != nil {
			return nil, err
		}
		logf("ingest overhead: %d pairs of fresh servers with rollups off, then on, each writing the same %s points over the last %s (the data set's density)",
			o.BaselinePairs, groupDigits(o.BaselinePoints), time.Duration(now-bfrom)*time.Millisecond)
		if rep.IngestOverhead, err = measureOverhead(ctx, &o, bw, logf); err != nil {
			return nil, err
		}
		ov := rep.IngestOverhead
		ov.SpanMs = now - bfrom
		logf("ingest overhead: median %s points/s with rollups on, %s off: %.1f%%", groupDigits(int64(ov.OnMedian)), groupDigits(int64(ov.OffMedian)), 100*ov.Ratio)
	}
	rep.ElapsedS = round(time.Since(started).Seconds(), 2)
	rep.Budgets = rep.Verdicts()
	var errs []error
	if len(rep.RollupMismatches) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d disagreements (see rollup_mismatches)", ErrRollupMismatch, len(cmp.mismatches)+cmp.dropped))
	}
	if pc := rep.VsVictoriaLogs; pc != nil && len(pc.Disagreements) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d disagreements (see vs_victorialogs.disagreements)", ErrPeerMismatch, len(pc.Disagreements)))
	}
	if cc := rep.VsCluster; cc != nil && len(cc.Disagreements) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d disagreements (see vs_cluster.disagreements)", ErrClusterMismatch, len(cc.Disagreements)))
	}
	return rep, errors.Join(errs...)
}

// tickMargin is how long after its minute tick the server is given to
// finish its rollup upkeep.
const tickMargin = 5 * time.Second

// settleWait returns how long to wait at now for the first minute tick of a
// server listening since listening to be past (with tickMargin).
func settleWait(listening, now time.Time) time.Duration {
	since := now.Sub(listening)
	next := (since/time.Minute + 1) * time.Minute
	return next - since + tickMargin
}

// sampleRSS returns the started server's resident set now, or nil.
func sampleRSS(srv *Server, when string, logf func(string, ...any)) *int64 {
	if srv == nil {
		return nil
	}
	st, err := srv.Status()
	if err != nil {
		return nil
	}
	logf("server RSS %s: %s (peak so far %s)", when, humanBytes(st.RSS), humanBytes(st.PeakRSS))
	return &st.RSS
}

// Set-up paths: how the points reach the server.
const SetupHTTP = "http"

var setupPaths = map[string]string{SetupHTTP: "HTTP (POST /api/v1/datasets/" + Dataset + "/points, the path clients use)"}

func formatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// dirBytes sums the sizes of the files under dir.
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// round rounds v to digits decimals.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
