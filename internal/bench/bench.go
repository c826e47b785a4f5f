// Package bench owns Alidade's end-to-end benchmark, `alidade bench`: it
// generates realistic points of the requests dataset (about 50 endpoints with
// skewed popularity, lognormal latencies, 1–5 % errors), writes them over HTTP
// with concurrent clients, runs a fixed set of structured queries, checks
// their answers, and reports throughput, commit latency, query times, the
// server's peak memory and its bytes on disk per point.
//
// It drives a server only through its public HTTP API, started as a child
// process of the alidade binary or reached at a URL. It does not import the
// server, store or query packages and must not: what it measures is what a
// client sees.
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
	"time"
)

// Options configure a run.
type Options struct {
	// Points is how many points to write.
	Points int64
	// Concurrency is the number of concurrent writing clients.
	Concurrency int
	// Batch is the points per write request.
	Batch int
	// Gzip compresses the write bodies (before timing).
	Gzip bool
	// Repeat is how often each query runs; the median is reported.
	Repeat int
	// Seed fixes the generated points.
	Seed uint64

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

	// Progress receives progress lines; nil means none.
	Progress io.Writer
	// StopTimeout bounds the started server's shutdown; 0 means 5 minutes.
	StopTimeout time.Duration
}

// DefaultOptions returns the defaults of `alidade bench`.
func DefaultOptions() Options {
	return Options{Points: 1_000_000, Concurrency: 4, Batch: 10_000, Repeat: 5, Seed: 1}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Points < 1 || o.Points > MaxCount:
		return fmt.Errorf("points must be 1 to %d, got %d", int64(MaxCount), o.Points)
	case o.Concurrency < 1 || o.Concurrency > 1024:
		return fmt.Errorf("concurrency must be 1 to 1024, got %d", o.Concurrency)
	case o.Batch < 1:
		return fmt.Errorf("batch must be at least 1 point, got %d", o.Batch)
	case o.Repeat < 1:
		return fmt.Errorf("repeat must be at least 1, got %d", o.Repeat)
	case o.URL == "" && o.ServerExe == "":
		return errors.New("no server: give a URL or the alidade binary to start")
	case o.URL != "" && o.RootKey == "" && (o.WriteKey == "" || o.ReadKey == ""):
		return errors.New("a server URL needs a write key and a read key of one project, or the root key to create one")
	}
	return nil
}

// Run runs the bench and returns its report. A wrong answer to a query is an
// error; a missed budget is not (see Report.Verdicts).
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	rep = &Report{
		Points: o.Points, Concurrency: o.Concurrency, Batch: o.Batch, Gzip: o.Gzip,
		Repeat: o.Repeat, Seed: o.Seed, Target: o.URL,
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
			if err != nil {
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

	// The workload, generated before timing: the last 24 hours of traffic.
	to := time.Now().UnixMilli()
	from := to - 24*time.Hour.Milliseconds()
	gen := NewGenerator(o.Seed, from, to)
	w, err := NewWorkload(ctx, gen, o.Points, o.Batch, o.Gzip)
	if err != nil {
		return nil, err
	}
	rep.Requests = w.Requests
	logf("generated %s points in %s requests (%d distinct bodies, %s of NDJSON)",
		groupDigits(o.Points), groupDigits(w.Requests), w.DistinctBodies, humanBytes(w.DistinctBytes))
	baseline, err := countInRange(ctx, c, keys.Read, from, to)
	if err != nil {
		return nil, fmt.Errorf("count the points already there: %w", err)
	}

	// Ingest.
	logf("writing with %d clients", o.Concurrency)
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
	in, err := ingest(ctx, c, keys.Write, w, o.Concurrency, tick)
	if err != nil {
		return nil, err
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

	// Queries.
	bodies := querySet(from, to, gen.Top(8))
	answers := map[string]*queryAnswer{}
	for _, name := range QueryNames {
		times := make([]float64, 0, o.Repeat)
		for i := range o.Repeat {
			ans, d, err := runQuery(ctx, c, keys.Read, bodies[name])
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", name, err)
			}
			if i == 0 {
				answers[name] = ans
			}
			times = append(times, float64(d.Microseconds())/1000)
		}
		med := round(Median(times), 2)
		rep.QueriesMs = append(rep.QueriesMs, QueryTime{Name: name, Ms: med})
		logf("query %s: %s ms (median of %d; %s rows scanned)", name, ms(med), o.Repeat, groupDigits(answers[name].Meta.RowsScanned))
	}
	exp := expectation{
		Total: baseline + w.Expected.Points, Baseline: baseline, Written: w.Expected,
		Top8: gen.Top(8), From: from, To: to,
	}
	for _, e := range gen.Endpoints {
		exp.Endpoints = append(exp.Endpoints, e.Path)
	}
	if err := checkAnswers(answers, exp); err != nil {
		return nil, fmt.Errorf("wrong answers:\n%w", err)
	}

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
	}
	rep.ElapsedS = round(time.Since(started).Seconds(), 2)
	return rep, nil
}

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
