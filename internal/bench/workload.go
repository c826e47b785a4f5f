package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"runtime"
	"sync"
)

// MaxDistinctPoints bounds the points generated ahead of a run (about 130 MB
// of NDJSON): a larger run reuses a pool of bodies round-robin, each use
// with its timestamps moved to the request's own slice of the time range,
// so that the run still replays the range in order, oldest first.
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

// template is a generated body and where its timestamps are.
type template struct {
	body   Body
	stamps []stamp // nil unless the body is reused
}

// Workload is every write request of a run. Request k holds points of the
// k-th of Requests equal slices of the generator's range, so requests sent
// in order replay the range oldest first and each lands in one or two UTC
// days. Up to MaxDistinctPoints, every body is generated (and gzipped)
// before timing; beyond, request k reuses pool body k % pool size with its
// timestamps rewritten, and, with gzip, is compressed as it is sent.
type Workload struct {
	// Format is how the bodies write the points.
	Format   Format
	Points   int64
	Batch    int
	Gzip     bool
	Requests int64 // write requests: ceil(Points / Batch)
	// Expected sums the stats of every request's body.
	Expected BodyStats
	// DistinctBodies and DistinctBytes describe what was generated.
	DistinctBodies int
	DistinctBytes  int64
	// Restamped is set when bodies are reused with rewritten timestamps.
	Restamped bool

	gen   *Generator
	slots int64       // request k uses slot k % slots
	pool  []*template // full bodies by slot
	tail  *template   // the last, shorter body, or nil
}

// NewWorkload generates the bodies of points points in requests of batch
// points, in parallel, gzipping them when gz is set.
func NewWorkload(ctx context.Context, g *Generator, points int64, batch int, gz bool) (*Workload, error) {
	return newWorkload(ctx, g, FormatAlidade, points, batch, gz)
}

// As returns the same requests written in format f: request k of both holds
// the same events with the same timestamps.
func (w *Workload) As(ctx context.Context, f Format) (*Workload, error) {
	return newWorkload(ctx, w.gen, f, w.Points, w.Batch, w.Gzip)
}

func newWorkload(ctx context.Context, g *Generator, f Format, points int64, batch int, gz bool) (*Workload, error) {
	batch = max(batch, 1)
	full := points / int64(batch)
	tailN := int(points % int64(batch))
	w := &Workload{Format: f, Points: points, Batch: batch, Gzip: gz, Requests: full, gen: g}
	if tailN > 0 {
		w.Requests++
	}
	perPool := max(1, (distinctPoints+int64(batch)-1)/int64(batch))
	w.slots = max(1, min(w.Requests, perPool))
	w.Restamped = w.slots < w.Requests
	w.pool = make([]*template, min(w.slots, full))
	type job struct {
		dst        **template
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
				t := &template{}
				var stamps *[]stamp
				if w.Restamped {
					stamps = &t.stamps
				}
				data, st := g.body(f, j.slot, int(w.slots), j.size, stamps)
				t.body = Body{Data: data, RawBytes: len(data), Stats: st}
				if gz && !w.Restamped {
					t.body.Data = gzipBytes(data)
				}
				*j.dst = t
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for s, t := range w.pool {
		b := &t.body
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
		w.Expected = w.Expected.Add(w.tail.body.Stats)
		w.DistinctBytes += int64(w.tail.body.RawBytes)
	}
	w.DistinctBodies = len(jobs)
	return w, nil
}

// bodyMaker holds the buffers of the bodies one client makes; a body it
// returns is valid until its next one.
type bodyMaker struct {
	raw []byte
	gz  bytes.Buffer
	zw  *gzip.Writer
	out Body
}

// Request returns the body of write request k, 0 <= k < Requests. A
// restamped body is made afresh on each call.
func (w *Workload) Request(k int64) *Body {
	return w.request(k, &bodyMaker{})
}

// request is Request reusing m's buffers.
func (w *Workload) request(k int64, m *bodyMaker) *Body {
	t := w.tail
	if t == nil || k != w.Requests-1 {
		t = w.pool[k%w.slots]
	}
	if !w.Restamped {
		return &t.body
	}
	m.raw = append(m.raw[:0], t.body.Data...)
	lo, hi := sliceOf(w.gen.From, w.gen.To, k, w.Requests)
	w.gen.restamp(m.raw, t.stamps, lo, hi)
	m.out = Body{Data: m.raw, RawBytes: len(m.raw), Stats: t.body.Stats}
	if w.Gzip {
		m.gz.Reset()
		if m.zw == nil {
			m.zw = gzip.NewWriter(&m.gz)
		} else {
			m.zw.Reset(&m.gz)
		}
		// Writes to a bytes.Buffer do not fail.
		_, _ = m.zw.Write(m.raw)
		_ = m.zw.Close()
		m.out.Data = m.gz.Bytes()
	}
	return &m.out
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
