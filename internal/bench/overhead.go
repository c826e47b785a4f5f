package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// IngestOverhead compares the ingest rate of servers with rollups on and
// off, each run on a fresh server and data directory writing the same
// sample, alternating off and on.
type IngestOverhead struct {
	Points int64 `json:"points"`
	// SpanMs is the time the sample's points span: the data set's range
	// scaled by Points over its points, so both have the same density.
	SpanMs int64 `json:"span_ms"`
	Pairs  int   `json:"pairs"`
	// OffPointsPerS and OnPointsPerS are the runs' rates, in run order.
	OffPointsPerS []float64 `json:"off_points_per_s"`
	OnPointsPerS  []float64 `json:"on_points_per_s"`
	OffMedian     float64   `json:"off_median_points_per_s"`
	OnMedian      float64   `json:"on_median_points_per_s"`
	// Ratio is OnMedian / OffMedian; the budget is at least
	// BudgetRollupIngestRatio.
	Ratio float64 `json:"ratio"`
}

// measureOverhead runs pairs of ingests of w (off, then on) against fresh
// servers.
func measureOverhead(ctx context.Context, o *Options, w *Workload, logf func(string, ...any)) (*IngestOverhead, error) {
	ov := &IngestOverhead{Points: w.Points, Pairs: o.BaselinePairs}
	for pair := range o.BaselinePairs {
		for _, mode := range []string{"off", "on"} {
			rate, err := ingestFresh(ctx, o, w, mode)
			if err != nil {
				return nil, fmt.Errorf("ingest overhead, rollups %s, run %d: %w", mode, pair+1, err)
			}
			if mode == "off" {
				ov.OffPointsPerS = append(ov.OffPointsPerS, rate)
			} else {
				ov.OnPointsPerS = append(ov.OnPointsPerS, rate)
			}
			logf("ingest overhead: rollups %-3s run %d of %d: %s points/s", mode, pair+1, o.BaselinePairs, groupDigits(int64(rate)))
		}
	}
	ov.OffMedian = math.Round(Median(ov.OffPointsPerS))
	ov.OnMedian = math.Round(Median(ov.OnPointsPerS))
	if ov.OffMedian > 0 {
		ov.Ratio = round(ov.OnMedian/ov.OffMedian, 4)
	}
	return ov, nil
}

// ingestFresh starts a server with --rollups mode on a temporary data
// directory, writes w into a new project, stops the server, removes the
// directory and returns the acknowledged points per second.
func ingestFresh(ctx context.Context, o *Options, w *Workload, mode string) (rate float64, err error) {
	dir, err := os.MkdirTemp("", "alidade-bench-overhead-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args := append(append([]string(nil), o.ServerArgs...), "--rollups", mode)
	srv, err := StartServer(ctx, ServerOptions{Exe: o.ServerExe, DataDir: dir, Args: args})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			err = srv.Explain(err)
		}
		if stopErr := srv.Stop(5 * time.Minute); err == nil && stopErr != nil {
			err = stopErr
		}
	}()
	keys, err := CreateProject(ctx, srv.URL, srv.RootKey, "bench")
	if err != nil {
		return 0, err
	}
	c := newClient(srv.URL, o.Concurrency)
	defer c.close()
	in, err := ingest(ctx, c, keys.Write, w, o.Concurrency, nil)
	if err != nil {
		return 0, err
	}
	return float64(in.Points) / in.Elapsed.Seconds(), nil
}
