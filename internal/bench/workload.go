package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"runtime"
	"sync"
)

// MaxDistinctPoints bounds the points generated ahead of a run (about 130 MB
// of NDJSON): a larger run reuses a pool of bodies round-robin, so its
// timestamps repeat.
const MaxDistinctPoints = 1_000_000

// distinctPoints is MaxDistinctPoints; tests lower it.
var distinctPoints int64 = MaxDistinctPoints

// Body is one write request's body.
type Body struct {
	// Data is what is sent: NDJSON, gzipped when the workload is.
	Data []byte
	// RawBytes is the NDJSON size before compression.
	RawBytes int
	Stats    BodyStats
}

// Workload is every write request of a run, generated before timing.
type Workload struct {
	Points   int64
	Batch    int
	Gzip     bool
	Requests int64 // write requests: ceil(Points / Batch)
	// Expected sums the stats of every request's body.
	Expected BodyStats
	// DistinctBodies and DistinctBytes describe what was generated.
	DistinctBodies int
	DistinctBytes  int64

	slots int64   // request k uses slot k % slots
	pool  []*Body // full bodies by slot
	tail  *Body   // the last, shorter body, or nil
}

// NewWorkload generates the bodies of points points in requests of batch
// points, in parallel, gzipping them when gz is set.
func NewWorkload(ctx context.Context, g *Generator, points int64, batch int, gz bool) (*Workload, error) {
	batch = max(batch, 1)
	full := points / int64(batch)
	tailN := int(points % int64(batch))
	w := &Workload{Points: points, Batch: batch, Gzip: gz, Requests: full}
	if tailN > 0 {
		w.Requests++
	}
	perPool := max(1, (distinctPoints+int64(batch)-1)/int64(batch))
	w.slots = max(1, min(w.Requests, perPool))
	w.pool = make([]*Body, min(w.slots, full))
	type job struct {
		dst        **Body
		slot, size int
	}
	jobs := make([]job, 0, len(w.pool)+1)
	for s := range w.pool {
		jobs = append(jobs, job{&w.pool[s], s, batch})
	}
	if tailN > 0 {
		jobs = append(jobs, job{&w.tail, int((w.Requests - 1) % w.slots), tailN})
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				data, st := g.Body(j.slot, int(w.slots), j.size)
				b := &Body{Data: data, RawBytes: len(data), Stats: st}
				if gz {
					b.Data = gzipBytes(data)
				}
				*j.dst = b
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for s, b := range w.pool {
		uses := full / w.slots
		if int64(s) < full%w.slots {
			uses++
		}
		w.Expected.Points += b.Stats.Points * uses
		w.Expected.Errors5xx += b.Stats.Errors5xx * uses
		w.Expected.LatencySum += b.Stats.LatencySum * float64(uses)
		w.DistinctBytes += int64(b.RawBytes)
	}
	if w.tail != nil {
		w.Expected = w.Expected.Add(w.tail.Stats)
		w.DistinctBytes += int64(w.tail.RawBytes)
	}
	w.DistinctBodies = len(jobs)
	return w, nil
}

// Request returns the body of write request k, 0 <= k < Requests.
func (w *Workload) Request(k int64) *Body {
	if w.tail != nil && k == w.Requests-1 {
		return w.tail
	}
	return w.pool[k%w.slots]
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) / 6)
	zw := gzip.NewWriter(&b)
	// Writes to a bytes.Buffer do not fail.
	_, _ = zw.Write(data)
	_ = zw.Close()
	return b.Bytes()
}
