package rollup

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/alidade/alidade/internal/point"
)

// stat is the weighted sum, min and max of one double over a cell's points.
type stat struct{ sum, min, max float64 }

// cell aggregates the points of one series in one bucket.
type cell struct {
	sid   uint32
	n     uint64   // stored points
	w     uint64   // Σ sample interval
	stats []stat   // per double position (1-based position = index+1)
	sk    []sketch // per distribution, in spec order
}

// stat returns the stat of double position i+1; positions past the cell's
// stats read 0 in every point, as unset doubles do.
func (c *cell) stat(i int) stat {
	if i < len(c.stats) {
		return c.stats[i]
	}
	return stat{}
}

func (c *cell) addPoint(p *point.Point, w uint64, width int, dists []int) {
	first := c.n == 0
	c.n++
	c.w += w
	if len(c.stats) < width {
		if c.stats == nil {
			c.stats = make([]stat, width)
		} else {
			c.stats = append(c.stats, make([]stat, width-len(c.stats))...)
		}
	}
	fw := float64(w)
	ds := p.Doubles
	st := c.stats[:width]
	for i := range st {
		var x float64
		if i < len(ds) {
			x = ds[i]
		}
		s := &st[i]
		s.sum += fw * x
		if first {
			s.min, s.max = x, x
		} else {
			if x < s.min {
				s.min = x
			}
			if x > s.max {
				s.max = x
			}
		}
	}
	for j, pos := range dists {
		c.sk[j].add(p.Double(pos), w)
	}
}

// bucket holds the cells of one time bucket of one tier: in cells while
// it is written, in fz once frozen (sealed). Read cells through ncells
// and at, which serve both forms.
type bucket struct {
	start int64
	cells []cell
	fz    *frozen
	// index maps sid to cell index + 1 (0: no cell), for the sids below
	// its length; nil until a bucket has more than a few cells and a
	// lookup misses the series' cache.
	index []int32
	// overflow says the bucket has an overflow cell (sid 0): its points'
	// dimension values are lost.
	overflow bool
	// thawed says the bucket was added to after it was frozen.
	thawed bool
	// spanKnown says lo and hi are the least and greatest timestamps
	// added to the bucket (lo > hi while it is empty); unknown for a
	// bucket loaded from a snapshot or merged. A range edge inside a
	// minute is answered from the minute's cell when the span shows all
	// of its points lie inside the range.
	spanKnown bool
	lo, hi    int64
	// adds counts the points added after the bucket was built (late
	// points into a sealed hour or day).
	adds uint64
	// slabStats, slabSketches and slabBins are what newCell hands out.
	slabStats    []stat
	slabSketches []sketch
	slabBins     []bin
	// total holds, per distribution, the merge of every cell's sketch:
	// what an unfiltered, ungrouped quantile reads instead of merging
	// each series. Built when the bucket is sealed (nil before), kept
	// current by late adds.
	total []sketch
}

// within reports whether every point of the bucket is known to lie in
// [from, to).
func (b *bucket) within(from, to int64) bool {
	return b.spanKnown && (b.lo > b.hi || b.lo >= from && b.hi < to)
}

// addTotal adds a point to the bucket's totals, if it keeps them.
func (b *bucket) addTotal(p *point.Point, w uint64, dists []int) {
	for j, pos := range dists {
		if b.total != nil {
			b.total[j].add(p.Double(pos), w)
		}
	}
}

// computeTotal sets the bucket's totals from its cells.
func (b *bucket) computeTotal(nd int, a *acc) {
	if nd == 0 {
		return
	}
	b.total = make([]sketch, nd)
	n := b.ncells()
	for j := range nd {
		a.reset()
		for i := range n {
			s := b.sketchAt(i, j)
			a.addSketch(&s)
		}
		b.total[j] = a.sketch()
	}
}

func (b *bucket) find(sid uint32) (int32, bool) {
	if b.index == nil {
		if len(b.cells) <= 8 {
			for i := range b.cells {
				if b.cells[i].sid == sid {
					return int32(i), true
				}
			}
			return 0, false
		}
		for i := range b.cells {
			b.indexCell(b.cells[i].sid, int32(i))
		}
	}
	if int(sid) < len(b.index) {
		if k := b.index[sid]; k > 0 {
			return k - 1, true
		}
	}
	return 0, false
}

// indexCell records that sid's cell is cell i.
func (b *bucket) indexCell(sid uint32, i int32) {
	if int(sid) >= len(b.index) {
		b.index = append(b.index, make([]int32, int(sid)+1-len(b.index)+len(b.index)/2)...)
	}
	b.index[sid] = i + 1
}

// newCell appends a cell of sid with room for width stats and nd
// sketches, taken from the bucket's slabs: a new cell allocates nothing
// of its own, which matters when most points make a cell.
func (b *bucket) newCell(sid uint32, nd, width int) int32 {
	i := int32(len(b.cells))
	c := cell{sid: sid}
	chunk := max(16, len(b.cells)/2)
	if width > 0 {
		if len(b.slabStats) < width {
			b.slabStats = make([]stat, width*chunk)
		}
		c.stats = b.slabStats[:0:width]
		b.slabStats = b.slabStats[width:]
	}
	if nd > 0 {
		if len(b.slabSketches) < nd {
			b.slabSketches = make([]sketch, nd*chunk)
			b.slabBins = make([]bin, 2*nd*chunk)
		}
		c.sk = b.slabSketches[:nd:nd]
		b.slabSketches = b.slabSketches[nd:]
		for j := range c.sk {
			c.sk[j].bins = b.slabBins[:0:2]
			b.slabBins = b.slabBins[2:]
		}
	}
	b.cells = append(b.cells, c)
	if b.index != nil {
		b.indexCell(sid, i)
	}
	if sid == 0 {
		b.overflow = true
	}
	return i
}

type tierStore struct {
	buckets map[int64]*bucket
	last    *bucket // the bucket of the last add
}

// startsIn returns the starts of the tier's buckets in [from, to), sorted.
func (ts *tierStore) startsIn(from, to int64) []int64 {
	var out []int64
	for s := range ts.buckets {
		if s >= from && s < to {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// series is one distinct (index1, dimension values) of a table.
type series struct {
	hash  uint64
	index string
	blobs []string  // blob dimension values, in layout order
	nums  []float64 // double dimension values, in layout order
	// cache is the minute bucket the series was last added to, ci its
	// cell there.
	cache *bucket
	ci    int32
}

// table is the rollup of one (project, dataset).
//
// Invariants: every bucket holds exactly the points the table has taken
// (those in [validFrom, end)) in its span, so a bucket that straddles
// validFrom holds part of its span and queries use only buckets starting
// at or after validFrom; a sealed bucket's totals are the merge of its
// cells' sketches. The minute tier is materialized (every bucket that
// should hold points exists) for minutes >= minFrom, the hour tier for
// hours < hourTo, the day tier for days < dayTo; minFrom <= hourTo and
// dayTo <= hourTo; minFrom and hourTo are hour boundaries, dayTo a day
// boundary (each may be math.MinInt64). Series 0 is the overflow series;
// slots is an open-addressing hash table of the other sids.
type table struct {
	mu   sync.RWMutex
	key  tableKey
	l    *layout
	opts *Options
	seed maphash.Seed

	validFrom, end         int64
	minFrom, hourTo, dayTo int64
	width                  int // double positions tracked

	series []series
	slots  []uint32
	tiers  [nTiers]tierStore
	thawed []*bucket
	slot   []int32 // mergeBuckets' scratch, all 0 between calls
	hbuf   []byte  // hashPoint's scratch
}

func newTable(k tableKey, l *layout, opts *Options, seed maphash.Seed, from, end int64) *table {
	t := &table{key: k, opts: opts, seed: seed, end: end}
	t.reset(l, from)
	return t
}

// reset empties the table, which now covers [from, end).
func (t *table) reset(l *layout, from int64) {
	t.l = l
	t.validFrom = min(from, t.end)
	t.minFrom, t.hourTo, t.dayTo = math.MinInt64, math.MinInt64, math.MinInt64
	t.width = 0
	t.series = []series{{}}
	t.slots = make([]uint32, 64)
	for i := range t.tiers {
		t.tiers[i] = tierStore{buckets: map[int64]*bucket{}}
	}
	t.thawed = nil
}

// hashPoint hashes p's series key: index1, then the dimension values.
// The key is laid out in t.hbuf and hashed once (hashValues lays out the
// same bytes for stored values); a zero byte separates strings, so keys
// that differ only in where a string ends may collide, which matching
// resolves.
func (t *table) hashPoint(p *point.Point) uint64 {
	b := append(t.hbuf[:0], p.Index...)
	for _, pos := range t.l.blobDims {
		b = append(append(b, 0), p.Blob(pos)...)
	}
	for _, pos := range t.l.numDims {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Double(pos)+0))
	}
	t.hbuf = b
	return maphash.Bytes(t.seed, b)
}

func (t *table) hashValues(index string, blobs []string, nums []float64) uint64 {
	b := append(t.hbuf[:0], index...)
	for _, x := range blobs {
		b = append(append(b, 0), x...)
	}
	for _, x := range nums {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x+0))
	}
	t.hbuf = b
	return maphash.Bytes(t.seed, b)
}

func (s *series) matchesPoint(p *point.Point, l *layout) bool {
	if s.index != p.Index {
		return false
	}
	for i, pos := range l.blobDims {
		if s.blobs[i] != p.Blob(pos) {
			return false
		}
	}
	for i, pos := range l.numDims {
		if s.nums[i] != p.Double(pos) {
			return false
		}
	}
	return true
}

func (s *series) matches(index string, blobs []string, nums []float64) bool {
	return s.index == index && slices.Equal(s.blobs, blobs) && slices.Equal(s.nums, nums)
}

// intern returns the sid of p's series, adding it; 0 (overflow) when the
// table has MaxSeries series.
func (t *table) intern(p *point.Point) uint32 {
	h := t.hashPoint(p)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sid := t.slots[i]
		if sid == 0 {
			break
		}
		if s := &t.series[sid]; s.hash == h && s.matchesPoint(p, t.l) {
			return sid
		}
	}
	if len(t.series)-1 >= t.opts.MaxSeries {
		return 0
	}
	s := series{hash: h, index: strings.Clone(p.Index)}
	if n := len(t.l.blobDims); n > 0 {
		s.blobs = make([]string, n)
		for i, pos := range t.l.blobDims {
			s.blobs[i] = strings.Clone(p.Blob(pos))
		}
	}
	if n := len(t.l.numDims); n > 0 {
		s.nums = make([]float64, n)
		for i, pos := range t.l.numDims {
			s.nums[i] = p.Double(pos) + 0
		}
	}
	return t.insertSeries(s)
}

// internValues is intern for stored values (Load and Merge); capped says
// whether MaxSeries applies.
func (t *table) internValues(index string, blobs []string, nums []float64, capped bool) (sid uint32, existed bool) {
	h := t.hashValues(index, blobs, nums)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sid := t.slots[i]
		if sid == 0 {
			break
		}
		if s := &t.series[sid]; s.hash == h && s.matches(index, blobs, nums) {
			return sid, true
		}
	}
	if capped && len(t.series)-1 >= t.opts.MaxSeries {
		return 0, false
	}
	return t.insertSeries(series{hash: h, index: index, blobs: blobs, nums: nums}), false
}

func (t *table) insertSeries(s series) uint32 {
	sid := uint32(len(t.series))
	t.series = append(t.series, s)
	if 2*len(t.series) > len(t.slots) {
		t.slots = make([]uint32, 2*len(t.slots))
		for i := 1; i < len(t.series); i++ {
			t.place(uint32(i))
		}
	} else {
		t.place(sid)
	}
	return sid
}

func (t *table) place(sid uint32) {
	mask := uint64(len(t.slots) - 1)
	for i := t.series[sid].hash & mask; ; i = (i + 1) & mask {
		if t.slots[i] == 0 {
			t.slots[i] = sid
			return
		}
	}
}

func (t *table) bucket(tier int, start int64) *bucket {
	ts := &t.tiers[tier]
	if b := ts.last; b != nil && b.start == start {
		return b
	}
	b := ts.buckets[start]
	if b == nil {
		b = &bucket{start: start, spanKnown: true, lo: math.MaxInt64, hi: math.MinInt64}
		if ts.last != nil {
			// Size it like the last bucket: a minute has about as many
			// series as the one before.
			b.cells = make([]cell, 0, min(len(ts.last.cells)+len(ts.last.cells)/8+4, t.opts.MaxCellsPerMinute+1))
		}
		ts.buckets[start] = b
	}
	ts.last = b
	return b
}

// add rolls up one point.
func (t *table) add(p *point.Point) {
	ts := p.Timestamp
	if ts < t.validFrom || ts >= t.end {
		return
	}
	if n := len(p.Doubles); n > t.width {
		t.width = min(n, point.MaxDoubles)
	}
	m := floorTo(ts, minuteMs)
	sid := t.intern(p)
	w := uint64(p.Weight())
	if m >= t.minFrom {
		c, b := t.minuteCell(sid, m)
		c.addPoint(p, w, t.width, t.l.dists)
		b.lo, b.hi = min(b.lo, ts), max(b.hi, ts)
		if m < t.hourTo {
			b.addTotal(p, w, t.l.dists)
			t.markThawed(b)
		}
	}
	if m < t.hourTo {
		t.addSealed(tierHour, floorTo(m, hourMs), sid, p, w)
		if m < t.dayTo {
			t.addSealed(tierDay, floorTo(m, dayMs), sid, p, w)
		}
	}
}

// minuteCell returns the cell of sid in minute m and its bucket, creating
// the cell; past MaxCellsPerMinute cells it returns the minute's overflow
// cell.
func (t *table) minuteCell(sid uint32, m int64) (*cell, *bucket) {
	s := &t.series[sid]
	if b := s.cache; b != nil && b.start == m && b.fz == nil {
		return &b.cells[s.ci], b
	}
	b := t.bucket(tierMinute, m)
	b.thaw()
	ci, ok := b.find(sid)
	if !ok && sid != 0 && len(b.cells) >= t.opts.MaxCellsPerMinute {
		sid = 0
		b.overflow = true
		ci, ok = b.find(0)
	}
	if !ok {
		ci = b.newCell(sid, len(t.l.dists), t.width)
	}
	s.cache, s.ci = b, ci
	return &b.cells[ci], b
}

// addSealed adds a late point to a sealed hour or day bucket.
func (t *table) addSealed(tier int, start int64, sid uint32, p *point.Point, w uint64) {
	b := t.bucket(tier, start)
	b.thaw()
	ci, ok := b.find(sid)
	if !ok {
		ci = b.newCell(sid, len(t.l.dists), t.width)
	}
	b.cells[ci].addPoint(p, w, t.width, t.l.dists)
	b.addTotal(p, w, t.l.dists)
	b.lo, b.hi = min(b.lo, p.Timestamp), max(b.hi, p.Timestamp)
	b.adds++
	t.markThawed(b)
}

func (t *table) markThawed(b *bucket) {
	if !b.thawed {
		b.thawed = true
		t.thawed = append(t.thawed, b)
	}
}

// seal builds hours before upTo and the days they complete.
func (t *table) seal(upTo int64) {
	var a acc
	nd := len(t.l.dists)
	if h := floorTo(upTo, hourMs); h > t.hourTo {
		mins := t.tiers[tierMinute].startsIn(t.hourTo, h)
		tot := make([]acc, max(nd, 1))
		for _, s := range mins {
			t.tiers[tierMinute].buckets[s].freezeWithTotals(nd, tot)
		}
		t.buildFrom(tierHour, tierMinute, mins)
		t.hourTo = h
	}
	if d := floorTo(t.hourTo, dayMs); d > t.dayTo {
		t.buildFrom(tierDay, tierHour, t.tiers[tierHour].startsIn(t.dayTo, d))
		t.dayTo = d
	}
	for _, b := range t.thawed {
		if b.thawed {
			b.freeze(nd)
			if b.total == nil {
				b.computeTotal(nd, &a)
			}
		}
	}
	t.thawed = nil
}

// buildFrom builds buckets of tier dst from the buckets of tier src that
// start at starts (sorted); the dst buckets must not exist.
func (t *table) buildFrom(dst, src int, starts []int64) {
	var a acc
	for i := 0; i < len(starts); {
		d := floorTo(starts[i], tierWidth[dst])
		j := i
		var srcs []*bucket
		for ; j < len(starts) && floorTo(starts[j], tierWidth[dst]) == d; j++ {
			srcs = append(srcs, t.tiers[src].buckets[starts[j]])
		}
		t.tiers[dst].buckets[d] = t.mergeBuckets(d, srcs, &a)
		i = j
	}
}

// cref is cell i of bucket b.
type cref struct {
	b *bucket
	i int32
}

// mergeBuckets returns a frozen bucket holding the cells of srcs, with
// totals, its cells in the order their series first appear in srcs.
func (t *table) mergeBuckets(start int64, srcs []*bucket, a *acc) *bucket {
	nb := &bucket{start: start, spanKnown: true, lo: math.MaxInt64, hi: math.MinInt64}
	nd := len(t.l.dists)
	// Group the cells by series with a counting sort: slot[sid] is the
	// series' output cell + 1 while merging.
	if len(t.slot) < len(t.series) {
		t.slot = make([]int32, len(t.series)+len(t.series)/4)
	}
	slot := t.slot
	var order []uint32
	var cnt []int32
	width, total, hint := 0, 0, 0
	for _, sb := range srcs {
		nb.overflow = nb.overflow || sb.overflow
		nb.spanKnown = nb.spanKnown && sb.spanKnown
		nb.lo, nb.hi = min(nb.lo, sb.lo), max(nb.hi, sb.hi)
		width = max(width, sb.widthOf())
		n := sb.ncells()
		total += n
		if sb.fz != nil {
			hint += len(sb.fz.arena)
		}
		for i := range n {
			sid := sb.sidAt(i)
			k := slot[sid]
			if k == 0 {
				order = append(order, sid)
				cnt = append(cnt, 0)
				k = int32(len(order))
				slot[sid] = k
			}
			cnt[k-1]++
		}
	}
	first := make([]int32, len(order)+1)
	for k, c := range cnt {
		first[k+1] = first[k] + c
	}
	refs := make([]cref, total)
	next := slices.Clone(first[:len(order)])
	for _, sb := range srcs {
		for i := range sb.ncells() {
			k := slot[sb.sidAt(i)] - 1
			refs[next[k]] = cref{sb, int32(i)}
			next[k]++
		}
	}
	for _, sid := range order {
		slot[sid] = 0
	}
	f := newFrozen(nd, width, len(order), hint)
	var sc cell
	var bins []bin
	tot := make([]acc, nd)
	for k, sid := range order {
		rs := refs[first[k]:first[k+1]]
		st := f.begin(sid, 0, 0)
		var n, w uint64
		for r, ref := range rs {
			c := ref.b.at(int(ref.i), &sc, false)
			n += c.n
			w += c.w
			for x := range st {
				o := c.stat(x)
				if r == 0 {
					st[x] = o
					continue
				}
				s := &st[x]
				s.sum += o.sum
				s.min = min(s.min, o.min)
				s.max = max(s.max, o.max)
			}
		}
		f.setCount(n, w)
		for j := range nd {
			if len(rs) == 1 {
				s := rs[0].b.sketchAt(int(rs[0].i), j)
				f.sketchOf(&s)
				tot[j].addSketch(&s)
				continue
			}
			// Few bins (sparse cells) merge fastest sorted; many, in
			// the dense accumulator.
			nbins := 0
			if len(rs) > 8 {
				for _, ref := range rs {
					s := ref.b.sketchAt(int(ref.i), j)
					nbins += s.nbins()
				}
			}
			if nbins > 128 {
				a.reset()
				for _, ref := range rs {
					s := ref.b.sketchAt(int(ref.i), j)
					a.addSketch(&s)
					tot[j].addSketch(&s)
				}
				f.arena = binary.AppendUvarint(f.arena, a.zero)
				f.arena = a.appendPacked(f.arena)
				f.endSketch()
				continue
			}
			var zero uint64
			bins = bins[:0]
			for _, ref := range rs {
				s := ref.b.sketchAt(int(ref.i), j)
				zero += s.zero
				bins = s.appendBins(bins)
			}
			m := mergeBins(bins)
			f.sketchBins(zero, m)
			tot[j].zero += zero
			tot[j].addBins(m)
		}
	}
	f.done()
	nb.fz = f
	if nd > 0 {
		nb.total = make([]sketch, nd)
		for j := range nd {
			nb.total[j] = tot[j].sketch()
		}
	}
	return nb
}

// sketch returns a's contents as a frozen sketch.
func (a *acc) sketch() sketch {
	s := sketch{zero: a.zero}
	if p := a.appendPacked(nil); len(p) > 1 {
		s.packed = p
	}
	return s
}

// appendPacked appends a's bins in packed form (appendPacked's format).
func (a *acc) appendPacked(dst []byte) []byte {
	nb := 0
	for _, n := range a.neg.c {
		if n > 0 {
			nb++
		}
	}
	for _, n := range a.pos.c {
		if n > 0 {
			nb++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(nb))
	var prev int32
	put := func(ord int32, n uint64) {
		dst = binary.AppendVarint(dst, int64(ord)-int64(prev))
		dst = binary.AppendUvarint(dst, n)
		prev = ord
	}
	for i := len(a.neg.c) - 1; i >= 0; i-- {
		if n := a.neg.c[i]; n > 0 {
			put(-(a.neg.base + int32(i) + ordBias), n)
		}
	}
	for i, n := range a.pos.c {
		if n > 0 {
			put(a.pos.base+int32(i)+ordBias, n)
		}
	}
	return dst
}

// compact seals up to olderThan and drops the minutes of the hours before it.
func (t *table) compact(olderThan int64) {
	t.seal(olderThan)
	cut := min(floorTo(olderThan, hourMs), t.hourTo)
	if cut <= t.minFrom {
		return
	}
	t.dropBefore(tierMinute, cut)
	t.minFrom = cut
}

// dropBefore deletes a tier's buckets that start before cut.
func (t *table) dropBefore(tier int, cut int64) {
	ts := &t.tiers[tier]
	for s := range ts.buckets {
		if s < cut {
			delete(ts.buckets, s)
		}
	}
	if ts.last != nil && ts.last.start < cut {
		ts.last = nil
	}
	if tier == tierMinute {
		for i := range t.series {
			if c := t.series[i].cache; c != nil && c.start < cut {
				t.series[i].cache = nil
			}
		}
	}
	t.thawed = slices.DeleteFunc(t.thawed, func(b *bucket) bool { return b.start < cut })
}

// expire makes the table cover from from (a day boundary) and drops what
// lies before.
func (t *table) expire(from int64) {
	if from <= t.validFrom {
		return
	}
	t.validFrom = min(from, t.end)
	for tier := range nTiers {
		t.dropBefore(tier, t.validFrom)
	}
}

func (t *table) stats(s *Stats) {
	s.Tables++
	s.Series += len(t.series) - 1
	var b int64
	for i := range t.series {
		sr := &t.series[i]
		b += int64(unsafe.Sizeof(*sr)) + int64(len(sr.index)) + 16*int64(len(sr.blobs)) + 8*int64(len(sr.nums))
		for _, x := range sr.blobs {
			b += int64(len(x))
		}
	}
	b += 4 * int64(len(t.slots))
	for tier := range nTiers {
		var tb int64
		for _, bk := range t.tiers[tier].buckets {
			s.Buckets[tier]++
			if bk.overflow {
				s.OverflowBuckets++
			}
			tb += int64(unsafe.Sizeof(*bk)) + 48 // + map entry
			s.Cells[tier] += bk.ncells()
			if f := bk.fz; f != nil {
				tb += int64(unsafe.Sizeof(*f)) + f.bytes()
				for i := range f.sids {
					for j := range f.nd {
						sk := f.sketch(i, j)
						s.SketchBins += sk.nbins()
					}
				}
			}
			tb += int64(unsafe.Sizeof(cell{})) * int64(cap(bk.cells))
			tb += 4 * int64(cap(bk.index))
			for i := range bk.cells {
				c := &bk.cells[i]
				tb += int64(unsafe.Sizeof(stat{})) * int64(cap(c.stats))
				tb += int64(unsafe.Sizeof(sketch{})) * int64(cap(c.sk))
				for j := range c.sk {
					sk := &c.sk[j]
					s.SketchBins += sk.nbins()
					tb += int64(cap(sk.packed)) + int64(unsafe.Sizeof(bin{}))*int64(cap(sk.bins))
				}
			}
			for j := range bk.total {
				sk := &bk.total[j]
				tb += int64(unsafe.Sizeof(*sk)) + int64(cap(sk.packed)) + int64(unsafe.Sizeof(bin{}))*int64(cap(sk.bins))
			}
		}
		s.TierBytes[tier] += tb
		b += tb
	}
	s.Bytes += b
}
