package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxRetryAfter caps how long a 429 makes a client wait.
const maxRetryAfter = 30 * time.Second

// ingestResult is what the ingest phase measured.
type ingestResult struct {
	Points    int64
	RawBytes  int64 // NDJSON bytes acknowledged
	WireBytes int64 // bytes sent on the wire for acknowledged requests
	Elapsed   time.Duration
	// LatenciesMs are the acknowledged requests' round trips: the commit
	// latency as a client sees it.
	LatenciesMs []float64
	Retries429  int64
}

// writeAnswer is the server's answer to a write.
type writeAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Position int    `json:"position"`
		Error    string `json:"error"`
	} `json:"rejected"`
}

// sink is where ingest sends a workload's bodies.
type sink struct {
	// path is the write endpoint, key the bearer key ("" for none).
	path, key string
	// counted says the answer is Alidade's {"accepted":n,"rejected":[...]},
	// checked against the body; otherwise any 2xx acknowledges the body.
	counted bool
}

// alidadeSink writes the bench's dataset with a project's write key.
func alidadeSink(key string) sink {
	return sink{path: "/api/v1/datasets/" + Dataset + "/points", key: key, counted: true}
}

// ingest sends every request of w to Alidade with conc concurrent clients
// and waits for each acknowledgement. A 429 is retried after its
// Retry-After; any other failure stops the phase. tick, when set, is called
// every 2 s with the points acknowledged and the 429s so far.
func ingest(ctx context.Context, c *client, key string, w *Workload, conc int, tick func(acked, retries int64, elapsed time.Duration)) (*ingestResult, error) {
	return ingestRange(ctx, c, alidadeSink(key), w, 0, w.Requests, conc, tick)
}

// ingestRange is ingest of requests [lo, hi) of w to s.
func ingestRange(ctx context.Context, c *client, s sink, w *Workload, lo, hi int64, conc int, tick func(acked, retries int64, elapsed time.Duration)) (*ingestResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// NDJSON, never a form type: VictoriaLogs reads a form body as a form
	// and stores nothing from it.
	hdr := map[string]string{"Content-Type": "application/x-ndjson"}
	if w.Gzip {
		hdr["Content-Encoding"] = "gzip"
	}
	path, key := s.path, s.key
	var (
		next, acked, retries atomic.Int64
		rawBytes, wireBytes  atomic.Int64
		mu                   sync.Mutex
		lats                 = make([]float64, 0, hi-lo)
		wg                   sync.WaitGroup
	)
	send := func(k int64, m *bodyMaker) error {
		b := w.request(k, m)
		for {
			var ans writeAnswer
			var out any
			if s.counted {
				out = &ans
			}
			t0 := time.Now()
			err := c.do(ctx, "POST", path, key, b.Data, hdr, out)
			d := time.Since(t0)
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
				retries.Add(1)
				wait := ae.RetryAfter
				if wait < 0 {
					wait = time.Second
				}
				select {
				case <-time.After(min(wait, maxRetryAfter)):
					continue
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			if err != nil {
				return fmt.Errorf("write request %d of %d: %w", k+1, w.Requests, err)
			}
			if s.counted && (int64(ans.Accepted) != b.Stats.Points || len(ans.Rejected) > 0) {
				msg := ""
				if len(ans.Rejected) > 0 {
					msg = fmt.Sprintf("; the first rejection: position %d: %s", ans.Rejected[0].Position, ans.Rejected[0].Error)
				}
				return fmt.Errorf("write request %d: the server accepted %d of %d points%s", k+1, ans.Accepted, b.Stats.Points, msg)
			}
			acked.Add(b.Stats.Points)
			rawBytes.Add(int64(b.RawBytes))
			wireBytes.Add(int64(len(b.Data)))
			mu.Lock()
			lats = append(lats, float64(d.Microseconds())/1000)
			mu.Unlock()
			return nil
		}
	}
	next.Store(lo)
	start := time.Now()
	for range max(conc, 1) {
		wg.Go(func() {
			var m bodyMaker
			for ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= hi {
					return
				}
				if err := send(k, &m); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	if tick != nil {
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					tick(acked.Load(), retries.Load(), time.Since(start))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return &ingestResult{
		Points:      acked.Load(),
		RawBytes:    rawBytes.Load(),
		WireBytes:   wireBytes.Load(),
		Elapsed:     elapsed,
		LatenciesMs: lats,
		Retries429:  retries.Load(),
	}, nil
}
