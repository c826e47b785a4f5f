package rollup

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Scan reads the raw points of the Sub's project and dataset with
// from <= timestamp < to and calls fn with each (fn must not keep p).
type Scan func(ctx context.Context, from, to int64, fn func(p *point.Point)) error

// Exact is an answer of ExecuteExact.
type Exact struct {
	*query.SubResult
	// Edges are the parts of the range read from raw points: none when
	// the range is made of whole buckets.
	Edges [][2]int64
}

// ExecuteExact answers sub over exactly [From, To), also when its edges
// are not whole minutes (a relative range ends now, not on a minute): the
// whole buckets inside the range come from the cells, and so does a
// minute cut by an edge when all of its points lie in the range (the
// last minute of a live range, usually); the other partial edges come
// from the raw points scan reads, which are rolled up into a table of
// their own for the query and merged with the cells bucket by bucket. An
// edge read from raw points is less than a minute, or, where minute cells
// are compacted, less than an hour. With an interval, output buckets stay aligned to
// multiples of it and the first and last hold only points in the range.
// When even the whole buckets inside the range are not covered it returns
// an error wrapping ErrNotCovered.
func (r *Rollup) ExecuteExact(ctx context.Context, sub *query.Sub, scan Scan) (*Exact, error) {
	if sub == nil {
		return nil, fmt.Errorf("%w: no query", ErrNotCovered)
	}
	t, unlock := r.readTable(sub)
	inner, l, why := t.innerRange(sub)
	if why != "" {
		unlock()
		return nil, fmt.Errorf("%w: %s", ErrNotCovered, why)
	}
	if inner.From <= sub.From && inner.To >= sub.To {
		defer unlock()
		res, err := t.answer(ctx, sub, inner)
		if err != nil {
			return nil, err
		}
		return &Exact{SubResult: res}, nil
	}

	// Where minutes are compacted, an edge is the part of an hour inside
	// the range: up to an hour of raw points. That hour's points are rolled
	// up into minute cells once and kept (hourEdges), so that the query
	// reads only the part of a minute the edge cuts. A relative range's
	// edges move on with the clock, into the next hour: its cells are
	// rolled up ahead, in the background (prefetch), so that the first
	// query after the hour turns does not read an hour of raw points.
	var hcFrom, hcTo *hourCells
	var ahead []*hourCells
	hourOf := func(h int64, next bool) *hourCells {
		b := t.tiers[tierHour].buckets[h]
		if b == nil {
			return nil
		}
		if next {
			// The hour after an edge, where the edge will be in an hour:
			// only while it is compacted (past it, minute cells answer).
			if nb := t.tiers[tierHour].buckets[h+hourMs]; nb != nil && h+hourMs < t.minFrom {
				ahead = append(ahead, r.edgeHours.get(t.key, h+hourMs, nb, nb.adds))
			}
		}
		return r.edgeHours.get(t.key, h, b, b.adds)
	}
	if h := inner.From - hourMs; inner.From%hourMs == 0 && h < sub.From && inner.From-sub.From > minuteMs && h < t.minFrom {
		hcFrom = hourOf(h, true)
	}
	if h := inner.To; h%hourMs == 0 && sub.To-h > minuteMs && h < t.minFrom && h+hourMs > sub.To {
		hcTo = hourOf(h, true)
	}
	unlock()
	for _, hc := range ahead {
		r.edgeHours.prefetch(hc, l, &r.opts, r.seed, scan)
	}

	// Read the edges without holding the table: a commit may add to it
	// meanwhile (its points are in the store already, or not yet in
	// either), and an edge of up to an hour takes a while to read. The
	// two edges are read at once.
	type edgeRead struct {
		lo, hi int64
		hc     *hourCells
		srcs   []edgeSource
		err    error
	}
	var reads []*edgeRead
	if sub.From < inner.From {
		reads = append(reads, &edgeRead{lo: sub.From, hi: inner.From, hc: hcFrom})
	}
	if inner.To < sub.To {
		reads = append(reads, &edgeRead{lo: inner.To, hi: sub.To, hc: hcTo})
	}
	// read reads the edge [lo, hi): from a kept hour's whole minutes and
	// points when hc is set, else from raw points, rolled up into a table
	// of its own (a new table keeps minute cells only: it is never sealed).
	read := func(e *edgeRead) {
		if e.hc == nil {
			et := newTable(t.key, l, &r.opts, r.seed, sub.From, sub.To)
			if err := scan(ctx, e.lo, e.hi, et.add); err != nil {
				e.err = fmt.Errorf("read the range's edge %s..%s: %w", fmtMs(e.lo), fmtMs(e.hi), err)
				return
			}
			e.srcs = []edgeSource{minuteSource(et, sub.Interval)}
			return
		}
		ht, err := e.hc.cells(ctx, l, &r.opts, r.seed, scan)
		if err != nil {
			e.err = err
			return
		}
		mlo, mhi := ceilTo(e.lo, minuteMs), floorTo(e.hi, minuteMs)
		e.srcs = []edgeSource{
			newEdgeSource(ht, []*bucket{e.hc.pts.bucket(ht, e.lo, mlo)}, sub.Interval),
			e.hc.span(ht, mlo, mhi, sub.Interval),
			newEdgeSource(ht, []*bucket{e.hc.pts.bucket(ht, mhi, e.hi)}, sub.Interval)}
	}
	if len(reads) == 2 {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			read(reads[1])
		}()
		read(reads[0])
		wg.Wait()
	} else {
		for _, e := range reads {
			read(e)
		}
	}
	var edges [][2]int64
	var srcs []edgeSource
	for _, e := range reads {
		if e.err != nil {
			return nil, e.err
		}
		edges = append(edges, [2]int64{e.lo, e.hi})
		srcs = append(srcs, e.srcs...)
	}

	t, unlock = r.readTable(sub)
	defer unlock()
	if again, l2, _ := t.innerRange(sub); l2 != l || again == nil || again.From != inner.From || again.To != inner.To {
		return nil, fmt.Errorf("%w: the rollup of dataset %q changed while the query ran", ErrNotCovered, sub.Dataset)
	}
	for _, hc := range []*hourCells{hcFrom, hcTo} {
		// The hour's cells stand for its raw points as long as the hour
		// took no late point (or was rebuilt) since they were read.
		if hc == nil {
			continue
		}
		if b := t.tiers[tierHour].buckets[hc.start]; b != hc.bucket || b.adds != hc.adds {
			return nil, fmt.Errorf("%w: hour %s of dataset %q changed while the query ran", ErrNotCovered, fmtMs(hc.start), sub.Dataset)
		}
	}
	res, err := t.answer(ctx, sub, inner, srcs...)
	if err != nil {
		return nil, err
	}
	return &Exact{SubResult: res, Edges: edges}, nil
}

// innerRange returns sub narrowed to the whole buckets the table can
// answer: From rounded up and To rounded down to a minute, or to an hour
// where minute cells are compacted. It also returns the table's layout,
// which the edges are rolled up with. t is read-locked.
func (t *table) innerRange(sub *query.Sub) (*query.Sub, *layout, string) {
	if sub.From >= sub.To {
		return nil, nil, "empty range"
	}
	if why := t.checkFields(sub); why != "" {
		return nil, nil, why
	}
	// A minute (or, where minutes are compacted, an hour) cut by an edge
	// is answered from its cells when it holds no point outside the range
	// (a live range's last minute, usually), or no point at all.
	within := func(tier int, start int64) bool {
		switch {
		case tier == tierMinute && start < t.minFrom, tier == tierHour && start >= t.hourTo:
			return false
		}
		b := t.tiers[tier].buckets[start]
		return b == nil || b.within(sub.From, sub.To)
	}
	// edge returns where the whole buckets start (up) or end (!up) at an
	// edge x of the range.
	edge := func(x int64, up bool) int64 {
		for tier := tierMinute; tier <= tierHour; tier++ {
			w := tierWidth[tier]
			b := floorTo(x, w)
			if tier == tierMinute && b < t.minFrom {
				continue // compacted: an hour is the finest
			}
			if b == x {
				return x
			}
			if within(tier, b) == up {
				return b
			}
			return b + w
		}
		return x // not reached: minutes are kept from an hour boundary
	}
	from, to := edge(sub.From, true), edge(sub.To, false)
	if from >= to {
		return nil, nil, fmt.Sprintf("the range %s..%s holds no whole minute (or hour, where minutes are compacted) for rollups to answer",
			fmtMs(sub.From), fmtMs(sub.To))
	}
	in := *sub
	in.From, in.To = from, to
	return &in, t.l, ""
}

// edgeSource is cells of a table of their own that an answer adds: the
// raw points of a range's edges, rolled up for the query, or the cells of
// a compacted hour kept for its edges. byLabel groups its buckets by the
// output bucket they fall in (label 0 without an interval).
type edgeSource struct {
	t       *table
	labels  []int64
	byLabel map[int64][]*bucket
}

// minuteSource is every minute bucket of et.
func minuteSource(et *table, interval int64) edgeSource {
	ms := &et.tiers[tierMinute]
	var bs []*bucket
	for _, s := range ms.startsIn(math.MinInt64, math.MaxInt64) {
		bs = append(bs, ms.buckets[s])
	}
	return newEdgeSource(et, bs, interval)
}

func newEdgeSource(t *table, bs []*bucket, interval int64) edgeSource {
	src := edgeSource{t: t, byLabel: map[int64][]*bucket{}}
	for _, b := range bs {
		var label int64
		if interval > 0 {
			label = floorTo(b.start, interval)
		}
		if _, ok := src.byLabel[label]; !ok {
			src.labels = append(src.labels, label)
		}
		src.byLabel[label] = append(src.byLabel[label], b)
	}
	return src
}

// mergeLabels returns the sorted union of the plan's labels and the edge
// sources' labels.
func mergeLabels(plan []outBucket, srcs []edgeSource) []int64 {
	var out []int64
	for _, ob := range plan {
		out = append(out, ob.label)
	}
	for _, s := range srcs {
		out = append(out, s.labels...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// hourCells are the minute cells of one compacted hour of one table,
// rolled up again from its raw points for the queries whose range starts
// or ends inside it, with the merges of the runs of minutes they read. They stand for
// the hour while its bucket in the table is unchanged (adds).
type hourCells struct {
	key    tableKey
	start  int64
	bucket *bucket
	adds   uint64

	load    sync.Mutex // held while the hour is read
	ready   atomic.Bool
	queued  atomic.Bool // for prefetch
	ht      *table
	pts     hourPoints
	mu      sync.Mutex
	merged  map[[2]int64]*bucket // merged minutes [lo, hi)
	lastUse atomic.Int64
}

// cells reads the hour's raw points into minute cells, once: callers
// meanwhile wait for the first, and a failed read (a query canceled) is
// not kept, the next caller reads again.
func (hc *hourCells) cells(ctx context.Context, l *layout, opts *Options, seed maphash.Seed, scan Scan) (*table, error) {
	hc.load.Lock()
	defer hc.load.Unlock()
	if hc.ht == nil {
		ht := newTable(hc.key, l, opts, seed, hc.start, hc.start+hourMs)
		var pts hourPoints
		keep := func(p *point.Point) {
			ht.add(p)
			pts.add(ht, p)
		}
		if err := scan(ctx, hc.start, hc.start+hourMs, keep); err != nil {
			return nil, fmt.Errorf("read hour %s for the range's edge: %w", fmtMs(hc.start), err)
		}
		// Frozen, the cells take less than half the memory.
		for _, b := range ht.tiers[tierMinute].buckets {
			b.freeze(len(l.dists))
		}
		pts.sort()
		hc.ht, hc.pts = ht, pts
		hc.ready.Store(true)
	}
	if hc.ht.l != l {
		return nil, fmt.Errorf("%w: the rollup's layout changed", ErrNotCovered)
	}
	return hc.ht, nil
}

// span returns the hour's cells of the minutes in [lo, hi): one merged
// bucket (kept for the next query) when the answer has no interval or
// whole hours, else the minute buckets.
func (hc *hourCells) span(ht *table, lo, hi, interval int64) edgeSource {
	hc.lastUse.Store(time.Now().UnixNano())
	ms := &ht.tiers[tierMinute]
	starts := ms.startsIn(lo, hi)
	bs := make([]*bucket, len(starts))
	for i, s := range starts {
		bs[i] = ms.buckets[s]
	}
	if interval > 0 && interval%hourMs != 0 || len(bs) <= 1 {
		return newEdgeSource(ht, bs, interval)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	k := [2]int64{lo, hi}
	b := hc.merged[k]
	if b == nil {
		var a acc
		b = ht.mergeBuckets(lo, bs, &a)
		if hc.merged == nil {
			hc.merged = map[[2]int64]*bucket{}
		}
		hc.merged[k] = b
	}
	return newEdgeSource(ht, []*bucket{b}, interval)
}

// hourPoints are the raw points of a kept hour, in time order, as much of
// them as a cell needs: the part of a minute an edge cuts is rolled up
// from them, without reading the store.
type hourPoints struct {
	ts      []int64
	sid     []uint32
	w       []uint32
	off     []int32 // point i's doubles are doubles[off[i]:off[i+1]]
	doubles []float64
}

func (hp *hourPoints) add(ht *table, p *point.Point) {
	if len(hp.off) == 0 {
		hp.off = append(hp.off, 0)
	}
	hp.ts = append(hp.ts, p.Timestamp)
	hp.sid = append(hp.sid, ht.intern(p))
	hp.w = append(hp.w, p.Weight())
	hp.doubles = append(hp.doubles, p.Doubles...)
	hp.off = append(hp.off, int32(len(hp.doubles)))
}

// sort orders the points by time.
func (hp *hourPoints) sort() {
	n := len(hp.ts)
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(hp.ts[a], hp.ts[b]) })
	out := hourPoints{ts: make([]int64, n), sid: make([]uint32, n), w: make([]uint32, n), off: make([]int32, 1, n+1),
		doubles: make([]float64, 0, len(hp.doubles))}
	for i, j := range idx {
		out.ts[i], out.sid[i], out.w[i] = hp.ts[j], hp.sid[j], hp.w[j]
		out.doubles = append(out.doubles, hp.doubles[hp.off[j]:hp.off[j+1]]...)
		out.off = append(out.off, int32(len(out.doubles)))
	}
	*hp = out
}

// bucket rolls the points in [from, to) up into a bucket of ht's series.
func (hp *hourPoints) bucket(ht *table, from, to int64) *bucket {
	lo, _ := slices.BinarySearch(hp.ts, from)
	hi, _ := slices.BinarySearch(hp.ts, to)
	b := &bucket{start: floorTo(from, minuteMs)}
	nd := len(ht.l.dists)
	var p point.Point
	for i := lo; i < hi; i++ {
		ci, ok := b.find(hp.sid[i])
		if !ok {
			ci = b.newCell(hp.sid[i], nd, ht.width)
		}
		p.Doubles = hp.doubles[hp.off[i]:hp.off[i+1]]
		b.cells[ci].addPoint(&p, uint64(hp.w[i]), ht.width, ht.l.dists)
	}
	return b
}

// hourEdges keeps the hourCells of the few hours ranges start in (a
// dashboard asks for the same periods again and again), the least
// recently used dropped past its capacity.
type hourEdges struct {
	mu sync.Mutex
	m  map[hourKey]*hourCells
	// queue holds the reads of hours ahead (see prefetch); reading is
	// set while a goroutine works through it.
	queue   []func()
	reading bool
}

type hourKey struct {
	t     tableKey
	start int64
}

// maxEdgeHours bounds the hours kept: a few periods (24h, 7d, 30d) of a
// few datasets, and the hours after them (see prefetch). An hour of
// 140,000 points (100M over 30 days) takes 10–30 MB: its points alone
// (timestamp, series, weight, doubles) about 6 MB. It stays at 8, as
// before the hours read ahead, so that the memory the edges may hold
// (up to ~240 MB at 100M points) is what the RSS budget was measured with.
const maxEdgeHours = 8

// prefetch queues hc's hour to be read in the background, unless it is
// read or queued already or the queue is full. One goroutine reads the
// queue, an hour at a time, each read bounded by a minute, and ends when
// it is empty.
func (he *hourEdges) prefetch(hc *hourCells, l *layout, opts *Options, seed maphash.Seed, scan Scan) {
	if hc.ready.Load() || !hc.queued.CompareAndSwap(false, true) {
		return
	}
	he.mu.Lock()
	defer he.mu.Unlock()
	if len(he.queue) >= maxEdgeHours {
		hc.queued.Store(false)
		return
	}
	he.queue = append(he.queue, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = hc.cells(ctx, l, opts, seed, scan) // a failure is read again by the query that needs it
	})
	if he.reading {
		return
	}
	he.reading = true
	go func() {
		for {
			he.mu.Lock()
			if len(he.queue) == 0 {
				he.reading = false
				he.mu.Unlock()
				return
			}
			read := he.queue[0]
			he.queue = he.queue[1:]
			he.mu.Unlock()
			read()
		}
	}()
}

// busy reports whether hours are being read ahead.
func (he *hourEdges) busy() bool {
	he.mu.Lock()
	defer he.mu.Unlock()
	return he.reading
}

// get returns the cells of hour start of table k, made anew when the
// table's bucket changed.
func (he *hourEdges) get(k tableKey, start int64, b *bucket, adds uint64) *hourCells {
	he.mu.Lock()
	defer he.mu.Unlock()
	if he.m == nil {
		he.m = map[hourKey]*hourCells{}
	}
	hk := hourKey{k, start}
	if hc := he.m[hk]; hc != nil && hc.bucket == b && hc.adds == adds {
		return hc
	}
	if len(he.m) >= maxEdgeHours {
		var oldest hourKey
		first := true
		for key, hc := range he.m {
			if first || hc.lastUse.Load() < he.m[oldest].lastUse.Load() {
				oldest, first = key, false
			}
		}
		delete(he.m, oldest)
	}
	hc := &hourCells{key: k, start: start, bucket: b, adds: adds}
	hc.lastUse.Store(time.Now().UnixNano())
	he.m[hk] = hc
	return hc
}
