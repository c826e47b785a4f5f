// Package sampling owns equitable sampling at write time, with the semantics
// of Workers Analytics Engine: a dataset may have a budget of points per
// second per index1 value; above it, one point of each group of N arrivals
// of that index value is stored, with _sample_interval N (times the weights
// the points already carried), so that a hot index value cannot crowd out a
// cold one and every query weighted by _sample_interval stays unbiased.
//
// How: arrival time (the now of each call, not the points' timestamps) is
// cut into one-second windows. For each (project,
// dataset, index1) the stride N of a window is ceil(arrivals of the previous
// window / budget), at least 1; arrivals are cut into consecutive groups of N
// points, and each group is stored as one of its points, chosen at random in
// proportion to its weight (a weighted reservoir of one, seeded per index
// value), whose _sample_interval is the sum of the group's weights. A group
// never spans two windows: the group still open when a window ends is stored
// by the first call of a later window (or by Flush), so that
//
//   - weight is conserved exactly: for every index value and window, once
//     a call of a later window has returned (or Flush), the stored weights
//     of the points that arrived in it equal the weights that arrived in it,
//     and a point never stands for one of another window;
//   - the estimate of any sum Σw·x is unbiased: each point of a group is its
//     representative with probability w/Σw;
//   - the budget counts points stored, whatever their weight: at a steady
//     rate a hot index value stores at most budget+1 points per window; when
//     its rate jumps, the stride doubles each time another budget of points
//     has been stored in the window, so that window stores fewer than
//     budget·(1+log2(1+arrivals/(N·budget)))+1 points (N its first stride);
//     an index value that gets at most budget points in a window (and got
//     at most budget in the one before) has every point stored unchanged.
//
// Memory is bounded: at most MaxKeysPerDataset index values are tracked per
// (project, dataset), about 300 bytes each with its map entry, plus the
// index (and, while a group is open, a copy of one point); values idle for
// two windows are evicted when the cap is reached and every minute. Past the
// cap, the new values of that dataset are sampled together under one budget:
// their total weight stays exact, but one value's point may stand for
// another's.
//
// It must not touch storage, HTTP or metadata: it is given the budgets by a
// function and returns what to store. Rollups must be fed from its input,
// never from its output.
package sampling

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// maxScratch is the most points Sampler.scratch keeps room for between calls.
const maxScratch = 1 << 16

// sweepEvery is how many windows pass between two evictions of idle index
// values over every dataset.
const sweepEvery = 60

// Sampler samples the points of datasets that have a budget. It is safe for
// concurrent use.
type Sampler struct {
	budget func(project int64, dataset string) float64
	opts   Options

	// nOpen is len(open), read without mu by calls that have nothing to sample.
	nOpen atomic.Int64

	mu      sync.Mutex
	win     int64  // the latest window seen (Unix seconds)
	swept   int64  // the window of the last sweep over every dataset
	seq     uint64 // calls so far; marks what a call touched
	sets    map[dsKey]*dsState
	open    []*keyState // keys whose open group is held across calls
	touched []*keyState // scratch: the keys of the current call
	// scratch holds the points a sampled batch keeps, before their
	// exact-size copy.
	scratch []point.Point
}

type dsKey struct {
	project int64
	dataset string
}

// dsState is what the sampler tracks of one (project, dataset).
type dsState struct {
	project  int64
	dataset  string // the sampler's own copy
	keys     map[string]*keyState
	overflow *keyState // the index values past MaxKeysPerDataset, together
	swept    int64     // the window this dataset was last swept because full
}

// keyState is what the sampler tracks of one index value: the current
// window's stride and counts, and the open group.
type keyState struct {
	ds       *dsState
	index    string // the sampler's own copy; "" for the overflow key
	overflow bool
	rng      uint64

	win   int64   // the window of count and kept
	n     uint64  // the stride: arrivals per group
	limit float64 // groups stored in the window at which n doubles
	count uint64  // arrivals in the window
	kept  uint64  // groups stored in the window

	gn     uint64      // arrivals in the open group
	gw     uint64      // their weight
	rep    point.Point // the open group's representative
	repSeq uint64      // the call whose input rep shares memory with; 0 when rep is the sampler's own copy
	touch  uint64      // the last call that touched the key
	openAt int         // position in Sampler.open; -1 when not held
}

// New returns a sampler. budget gives the points-per-second budget of a
// dataset for each index1 value; 0 (or less, or NaN) means sampling is off,
// and a budget under 1 is read as 1. budget is called outside the sampler's
// lock, by concurrent calls at once, and must be safe for that. New panics
// when opts fail Validate.
func New(budget func(project int64, dataset string) float64, opts Options) *Sampler {
	if err := opts.Validate(); err != nil {
		panic("BUG: sampling.New: " + err.Error())
	}
	return &Sampler{budget: budget, opts: opts, sets: map[dsKey]*dsState{}}
}

// Sample returns the points to store. For datasets with a budget, per
// (project, dataset, index1) at most about budget points per second of
// arrival time (now) are kept, each kept point standing for the points
// dropped beside it: its SampleInterval is the sum of their weights
// (SampleInterval, 0 read as 1), so a point already carrying a client-side
// interval keeps it multiplied. Points of datasets without a budget pass
// through untouched.
//
// The answer does not map one to one to the input: batches with nothing to
// sample are returned as they are (the input itself when no batch has
// anything to sample and nothing is owed), sampled batches are new slices of
// point copies, and the first call in a new window also returns, in batches
// of their own, the representatives of groups left open by earlier windows
// (points of earlier calls, copied by the sampler). Input points are never
// modified. A now earlier than the latest window seen counts in that window.
func (s *Sampler) Sample(batches []store.Batch, now time.Time) []store.Batch {
	var c budgets
	c.entries = c.buf[:0]
	var marked []int
	for bi := range batches {
		b := &batches[bi]
		sampled := false
		lastDataset, lastBudget := "", -1.0
		for pi := range b.Points {
			if ds := b.Points[pi].Dataset; lastBudget < 0 || ds != lastDataset {
				lastDataset, lastBudget = ds, c.lookup(s, b.Project, ds).budget
			}
			sampled = sampled || lastBudget > 0
		}
		if sampled {
			marked = append(marked, bi)
		}
	}
	if len(marked) == 0 && s.nOpen.Load() == 0 {
		return batches
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	var out []store.Batch
	if w := now.Unix(); w > s.win {
		out = s.flushLocked(out)
		s.win = w
		if w-s.swept >= sweepEvery {
			s.sweepLocked(w)
			s.swept = w
		}
	}
	if len(marked) == 0 {
		if len(out) == 0 {
			return batches
		}
		return append(out, batches...)
	}
	out = slices.Grow(out, len(batches))
	for bi := range batches {
		if len(marked) > 0 && marked[0] == bi {
			marked = marked[1:]
			if pts := s.sampleBatch(&c, &batches[bi]); len(pts) > 0 {
				out = append(out, store.Batch{Project: batches[bi].Project, Points: pts})
			}
			continue
		}
		out = append(out, batches[bi])
	}
	s.holdLocked()
	return out
}

// Flush returns the representatives of every open group, whatever its
// window, so that everything that arrived is stored. Call it once before the
// last commit on shutdown.
func (s *Sampler) Flush() []store.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(nil)
}

// Stats are the sampler's figures.
type Stats struct {
	Datasets   int // (project, dataset) pairs tracked
	Keys       int // index values tracked, overflow keys included
	OpenGroups int // groups held open across calls: points owed to the store
}

// Stats returns the sampler's figures.
func (s *Sampler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Datasets: len(s.sets), OpenGroups: len(s.open)}
	for _, ds := range s.sets {
		st.Keys += len(ds.keys)
		if ds.overflow != nil {
			st.Keys++
		}
	}
	return st
}

// sampleBatch samples one batch that has points of a dataset with a budget.
func (s *Sampler) sampleBatch(c *budgets, b *store.Batch) []point.Point {
	pts := s.scratch[:0]
	defer func() {
		// The scratch must not keep the input's memory alive, nor hold
		// on to the memory of one huge batch.
		if cap(pts) > maxScratch {
			s.scratch = nil
			return
		}
		clear(pts)
		s.scratch = pts[:0]
	}()
	var ks *keyState
	var ksIndex string
	for i := range b.Points {
		p := &b.Points[i]
		e := c.lookup(s, b.Project, p.Dataset)
		if e.budget <= 0 {
			pts = append(pts, *p)
			continue
		}
		if e.ds == nil {
			e.ds = s.datasetLocked(b.Project, p.Dataset)
		}
		if ks == nil || ks.ds != e.ds || ksIndex != p.Index {
			ks, ksIndex = s.keyLocked(e.ds, p.Index), p.Index
		}
		pts = s.arrive(ks, p, e.budget, pts)
	}
	if len(pts) == 0 {
		return nil
	}
	return append([]point.Point(nil), pts...)
}

// arrive counts one arrival of a key and appends what it lets go to store.
func (s *Sampler) arrive(ks *keyState, p *point.Point, budget float64, out []point.Point) []point.Point {
	if ks.touch != s.seq {
		ks.touch = s.seq
		s.touched = append(s.touched, ks)
		if ks.win != s.win {
			ks.rollover(s.win, budget)
		}
	}
	ks.count++
	if ks.gn == 0 && ks.n == 1 {
		// A group of one: the point stands for itself.
		out = append(out, *p)
		ks.stored(budget)
		return out
	}
	w := uint64(p.Weight())
	if ks.gw+w > math.MaxUint32 {
		// The group's weight would not fit _sample_interval: store it as
		// it is and start another.
		out = append(out, s.emitLocked(ks))
		ks.stored(budget)
	}
	ks.gn++
	ks.gw += w
	if ks.gn == 1 || ks.below(ks.gw) < w {
		ks.rep = *p
		ks.repSeq = s.seq
	}
	if ks.gn >= ks.n {
		out = append(out, s.emitLocked(ks))
		ks.stored(budget)
	}
	return out
}

// rollover starts window w of a key from the previous window's arrivals.
func (ks *keyState) rollover(w int64, budget float64) {
	if ks.gn != 0 {
		panic("BUG: sampling group open across windows")
	}
	var prev uint64
	if ks.win == w-1 {
		prev = ks.count
	}
	n := uint64(1)
	if f := math.Ceil(float64(prev) / budget); f > 1 {
		n = uint64(min(f, 1<<62))
	}
	ks.win, ks.n, ks.limit, ks.count, ks.kept = w, n, budget, 0, 0
}

// stored counts a group stored in the window and doubles the stride each
// time another budget of groups has been stored.
func (ks *keyState) stored(budget float64) {
	ks.kept++
	if float64(ks.kept) >= ks.limit {
		if ks.n < 1<<62 {
			ks.n *= 2
		}
		ks.limit += budget
	}
}

// emitLocked closes a key's open group and returns its representative,
// standing for the group's weight.
func (s *Sampler) emitLocked(ks *keyState) point.Point {
	p := ks.rep
	p.SampleInterval = uint32(ks.gw)
	ks.rep, ks.repSeq, ks.gn, ks.gw = point.Point{}, 0, 0, 0
	if i := ks.openAt; i >= 0 {
		last := len(s.open) - 1
		s.open[i] = s.open[last]
		s.open[i].openAt = i
		s.open[last] = nil
		s.open = s.open[:last]
		ks.openAt = -1
		s.nOpen.Store(int64(len(s.open)))
	}
	return p
}

// holdLocked ends a call: the keys it left with an open group keep a copy of
// their representative (the input's memory may be reused once the call
// returns) and are listed as open.
func (s *Sampler) holdLocked() {
	for _, ks := range s.touched {
		if ks.gn == 0 {
			continue
		}
		if ks.repSeq == s.seq {
			ks.rep = ks.ownCopy(&ks.rep)
			ks.repSeq = 0
		}
		if ks.openAt < 0 {
			ks.openAt = len(s.open)
			s.open = append(s.open, ks)
		}
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	s.nOpen.Store(int64(len(s.open)))
}

// ownCopy returns a copy of p that shares no memory with the input.
func (ks *keyState) ownCopy(p *point.Point) point.Point {
	c := *p
	c.Dataset = ks.ds.dataset
	if ks.overflow {
		c.Index = strings.Clone(p.Index)
	} else {
		c.Index = ks.index
	}
	if p.Blobs != nil {
		c.Blobs = make([]string, len(p.Blobs))
		for i, b := range p.Blobs {
			c.Blobs[i] = strings.Clone(b)
		}
	}
	if p.Doubles != nil {
		c.Doubles = append([]float64(nil), p.Doubles...)
	}
	return c
}

// flushLocked appends to out, one batch per project, the representatives of
// every open group.
func (s *Sampler) flushLocked(out []store.Batch) []store.Batch {
	if len(s.open) == 0 {
		return out
	}
	at := map[int64]int{}
	for len(s.open) > 0 {
		ks := s.open[len(s.open)-1]
		p := s.emitLocked(ks)
		i, ok := at[ks.ds.project]
		if !ok {
			i = len(out)
			at[ks.ds.project] = i
			out = append(out, store.Batch{Project: ks.ds.project})
		}
		out[i].Points = append(out[i].Points, p)
	}
	return out
}

// datasetLocked returns the state of a (project, dataset), created when missing.
func (s *Sampler) datasetLocked(project int64, dataset string) *dsState {
	if ds := s.sets[dsKey{project, dataset}]; ds != nil {
		return ds
	}
	ds := &dsState{project: project, dataset: strings.Clone(dataset), keys: map[string]*keyState{}, swept: math.MinInt64}
	s.sets[dsKey{project, ds.dataset}] = ds
	return ds
}

// keyLocked returns the state of an index value, created when missing; past
// the cap, once idle values are evicted, the dataset's overflow key.
func (s *Sampler) keyLocked(ds *dsState, index string) *keyState {
	if ks := ds.keys[index]; ks != nil {
		return ks
	}
	if len(ds.keys) >= s.opts.MaxKeysPerDataset {
		if ds.swept != s.win {
			ds.swept = s.win
			sweepDataset(ds, s.win)
		}
		if len(ds.keys) >= s.opts.MaxKeysPerDataset {
			if ds.overflow == nil {
				ds.overflow = s.newKey(ds, "", true)
			}
			return ds.overflow
		}
	}
	ks := s.newKey(ds, strings.Clone(index), false)
	ds.keys[ks.index] = ks
	return ks
}

func (s *Sampler) newKey(ds *dsState, index string, overflow bool) *keyState {
	// FNV-1a of the key, mixed with the seed: each index value draws from
	// its own sequence, whatever the other values do.
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * 1099511628211 }
	for i := range 8 {
		mix(byte(ds.project >> (8 * i)))
	}
	for i := 0; i < len(ds.dataset); i++ {
		mix(ds.dataset[i])
	}
	mix(0)
	for i := 0; i < len(index); i++ {
		mix(index[i])
	}
	if overflow {
		mix(1)
	}
	return &keyState{ds: ds, index: index, overflow: overflow, rng: h ^ s.opts.Seed, win: math.MinInt64, openAt: -1}
}

// sweepLocked evicts the idle keys of every dataset and the datasets left empty.
func (s *Sampler) sweepLocked(w int64) {
	for k, ds := range s.sets {
		sweepDataset(ds, w)
		if len(ds.keys) == 0 && ds.overflow == nil {
			delete(s.sets, k)
		}
	}
}

// sweepDataset evicts the keys that saw no arrival in window w nor the one
// before and hold no open group: their state is that of a new key, so
// evicting them loses nothing.
func sweepDataset(ds *dsState, w int64) {
	idle := func(ks *keyState) bool { return ks.win < w-1 && ks.gn == 0 }
	for index, ks := range ds.keys {
		if idle(ks) {
			delete(ds.keys, index)
		}
	}
	if ds.overflow != nil && idle(ds.overflow) {
		ds.overflow = nil
	}
}

// below returns a pseudo-random number in [0, n) (splitmix64, then
// Lemire's multiply-shift).
func (ks *keyState) below(n uint64) uint64 {
	ks.rng += 0x9e3779b97f4a7c15
	z := ks.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	hi, _ := bits.Mul64(z, n)
	return hi
}

// budgets caches a call's budget per (project, dataset), so that the budget
// function is called once per dataset per call, outside the lock.
type budgets struct {
	buf     [4]budgetEntry
	entries []budgetEntry
	last    int
}

type budgetEntry struct {
	project int64
	dataset string // the input's memory: valid during the call only
	budget  float64
	ds      *dsState
}

func (c *budgets) lookup(s *Sampler, project int64, dataset string) *budgetEntry {
	if c.last < len(c.entries) {
		if e := &c.entries[c.last]; e.project == project && e.dataset == dataset {
			return e
		}
	}
	for i := range c.entries {
		if e := &c.entries[i]; e.project == project && e.dataset == dataset {
			c.last = i
			return e
		}
	}
	b := s.budget(project, dataset)
	switch {
	case !(b > 0): // off, negative or NaN
		b = 0
	case b < MinPointsPerSecond:
		b = MinPointsPerSecond
	}
	c.entries = append(c.entries, budgetEntry{project: project, dataset: dataset, budget: b})
	c.last = len(c.entries) - 1
	return &c.entries[c.last]
}
