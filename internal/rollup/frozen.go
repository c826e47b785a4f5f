package rollup

import (
	"encoding/binary"
	"slices"
)

// frozen holds a sealed bucket's cells in flat arrays without pointers.
// Sealed buckets are most of a rollup's memory (a month of hours is about
// 700 buckets of every active series), so a frozen cell costs its numbers
// and its packed sketches and nothing else: no slice headers or allocation
// per cell, and nothing for the garbage collector to scan.
type frozen struct {
	nd    int // distributions per cell
	width int // stats per cell; a cell's positions past its own width hold zeros
	sids  []uint32
	nw    []uint64 // per cell: stored points n, then weight w
	stats []stat   // per cell: width stats
	// off delimits the sketch of distribution j of cell i in arena: it is
	// arena[off[i·nd+j]:off[i·nd+j+1]], a uvarint zero count followed by the
	// packed bins (appendPacked's format).
	off   []uint32
	arena []byte
}

func newFrozen(nd, width, cells, arenaHint int) *frozen {
	f := &frozen{nd: nd, width: width,
		sids:  make([]uint32, 0, cells),
		nw:    make([]uint64, 0, 2*cells),
		stats: make([]stat, 0, cells*width),
	}
	if nd > 0 {
		f.off = make([]uint32, 1, cells*nd+1)
		f.arena = make([]byte, 0, arenaHint)
	}
	return f
}

// begin appends a cell and returns its stats, zeroed, to fill in before
// the next begin.
func (f *frozen) begin(sid uint32, n, w uint64) []stat {
	f.sids = append(f.sids, sid)
	f.nw = append(f.nw, n, w)
	k := len(f.stats)
	f.stats = slices.Grow(f.stats, f.width)[:k+f.width]
	st := f.stats[k:]
	clear(st)
	return st
}

// setCount sets the counts of the last cell begun.
func (f *frozen) setCount(n, w uint64) {
	k := len(f.nw)
	f.nw[k-2], f.nw[k-1] = n, w
}

func (f *frozen) endSketch() {
	f.off = append(f.off, uint32(len(f.arena)))
}

// sketchPacked appends the last cell's next sketch in packed form.
func (f *frozen) sketchPacked(zero uint64, packed []byte) {
	f.arena = binary.AppendUvarint(f.arena, zero)
	if len(packed) == 0 {
		packed = []byte{0}
	}
	f.arena = append(f.arena, packed...)
	f.endSketch()
}

// sketchBins appends the last cell's next sketch from sorted, unique bins.
func (f *frozen) sketchBins(zero uint64, bins []bin) {
	f.arena = binary.AppendUvarint(f.arena, zero)
	f.arena = appendPacked(f.arena, bins)
	f.endSketch()
}

// sketchOf appends s as the last cell's next sketch.
func (f *frozen) sketchOf(s *sketch) {
	if s.packed != nil {
		f.sketchPacked(s.zero, s.packed)
	} else {
		f.sketchBins(s.zero, s.sortedBins())
	}
}

// done trims the arena when its estimate was well over.
func (f *frozen) done() {
	if cap(f.arena) > len(f.arena)+len(f.arena)/8+64 {
		f.arena = slices.Clone(f.arena)
	}
}

func (f *frozen) sketch(i, j int) sketch {
	k := i*f.nd + j
	p := f.arena[f.off[k]:f.off[k+1]]
	var z uint64
	if p[0] < 0x80 {
		z, p = uint64(p[0]), p[1:]
	} else {
		var n int
		z, n = binary.Uvarint(p)
		p = p[n:]
	}
	return sketch{zero: z, packed: p}
}

func (f *frozen) bytes() int64 {
	return int64(cap(f.sids))*4 + int64(cap(f.nw))*8 + int64(cap(f.stats))*24 + int64(cap(f.off))*4 + int64(cap(f.arena))
}

// ncells is the bucket's number of cells.
func (b *bucket) ncells() int {
	if b.fz != nil {
		return len(b.fz.sids)
	}
	return len(b.cells)
}

func (b *bucket) sidAt(i int) uint32 {
	if b.fz != nil {
		return b.fz.sids[i]
	}
	return b.cells[i].sid
}

// widthOf is the most stats a cell of the bucket has.
func (b *bucket) widthOf() int {
	if b.fz != nil {
		return b.fz.width
	}
	w := 0
	for i := range b.cells {
		w = max(w, len(b.cells[i].stats))
	}
	return w
}

// sketchAt returns the sketch of distribution j of cell i, to read.
func (b *bucket) sketchAt(i, j int) sketch {
	if b.fz != nil {
		return b.fz.sketch(i, j)
	}
	return b.cells[i].sk[j]
}

// at returns cell i to read: the cell itself when the bucket is writable,
// else sc filled in as a view of the frozen cell (valid until the next at
// with sc), with its sketches only when sk (they are the view's one random
// memory access).
func (b *bucket) at(i int, sc *cell, sk bool) *cell {
	f := b.fz
	if f == nil {
		return &b.cells[i]
	}
	sc.sid = f.sids[i]
	sc.n, sc.w = f.nw[2*i], f.nw[2*i+1]
	sc.stats = f.stats[i*f.width : (i+1)*f.width : (i+1)*f.width]
	if f.nd == 0 || !sk {
		sc.sk = nil
		return sc
	}
	if cap(sc.sk) < f.nd {
		sc.sk = make([]sketch, f.nd)
	}
	sc.sk = sc.sk[:f.nd]
	for j := range sc.sk {
		sc.sk[j] = f.sketch(i, j)
	}
	return sc
}

// freezeWithTotals freezes the bucket and sets its totals, merged as the
// cells are packed (tot holds an accumulator per distribution).
func (b *bucket) freezeWithTotals(nd int, tot []acc) {
	if b.fz != nil {
		b.freeze(nd)
		b.computeTotal(nd, &tot[0])
		return
	}
	for j := range tot {
		tot[j].reset()
	}
	b.freezeInto(nd, tot)
	if nd > 0 {
		b.total = make([]sketch, nd)
		for j := range nd {
			b.total[j] = tot[j].sketch()
		}
	}
}

// freeze makes the bucket read-only and compact: its cells move into a
// frozen, with sketches packed.
func (b *bucket) freeze(nd int) { b.freezeInto(nd, nil) }

// freezeInto is freeze, adding every cell's sketch j to tot[j] when tot
// is set.
func (b *bucket) freezeInto(nd int, tot []acc) {
	for j := range b.total {
		b.total[j].freeze()
	}
	b.index, b.thawed = nil, false
	if b.fz != nil {
		return
	}
	width, hint := 0, 0
	for i := range b.cells {
		c := &b.cells[i]
		width = max(width, len(c.stats))
		for j := range c.sk {
			hint += 2 + len(c.sk[j].packed) + 3*len(c.sk[j].bins)
		}
	}
	f := newFrozen(nd, width, len(b.cells), hint)
	for i := range b.cells {
		c := &b.cells[i]
		copy(f.begin(c.sid, c.n, c.w), c.stats)
		for j := range nd {
			s := &c.sk[j]
			if s.packed != nil {
				f.sketchPacked(s.zero, s.packed)
				if tot != nil {
					tot[j].addSketch(s)
				}
				continue
			}
			// The cells go with this freeze: sort their bins in place.
			m := mergeBins(s.bins)
			f.sketchBins(s.zero, m)
			if tot != nil {
				tot[j].zero += s.zero
				tot[j].addBins(m)
			}
		}
	}
	f.done()
	b.fz, b.cells = f, nil
	b.slabStats, b.slabSketches, b.slabBins = nil, nil, nil
}

// thaw makes a frozen bucket writable again (a late point arrived). The
// cells' stats and packed sketches alias the frozen arrays, which nothing
// else holds.
func (b *bucket) thaw() {
	f := b.fz
	if f == nil {
		return
	}
	cells := make([]cell, len(f.sids))
	var sks []sketch
	if f.nd > 0 {
		sks = make([]sketch, len(cells)*f.nd)
	}
	for i := range cells {
		c := &cells[i]
		c.sid = f.sids[i]
		c.n, c.w = f.nw[2*i], f.nw[2*i+1]
		if f.width > 0 {
			c.stats = f.stats[i*f.width : (i+1)*f.width : (i+1)*f.width]
		}
		if f.nd > 0 {
			c.sk = sks[i*f.nd : (i+1)*f.nd : (i+1)*f.nd]
			for j := range c.sk {
				c.sk[j] = f.sketch(i, j)
			}
		}
	}
	b.cells, b.fz = cells, nil
}

// mergeBins sorts bins by ord and merges repeats, in place, and returns
// the merged prefix.
func mergeBins(bins []bin) []bin {
	sortBins(bins)
	n := 0
	for i := range bins {
		if n > 0 && bins[n-1].ord == bins[i].ord {
			bins[n-1].n += bins[i].n
			continue
		}
		bins[n] = bins[i]
		n++
	}
	return bins[:n]
}

// addBins merges bins into a.
func (a *acc) addBins(bins []bin) {
	for _, b := range bins {
		a.addOrd(b.ord, b.n)
	}
}

// appendBins appends s's bins, in any order, to dst.
func (s *sketch) appendBins(dst []bin) []bin {
	if s.packed == nil {
		return append(dst, s.bins...)
	}
	return appendUnpacked(dst, s.packed)
}

// sortBins sorts bins by ord: by insertion when few (a sparse cell's
// sketches, merged at sealing, hold a handful), else by pdqsort.
func sortBins(bins []bin) {
	if len(bins) > 48 {
		slices.SortFunc(bins, func(a, b bin) int { return int(a.ord) - int(b.ord) })
		return
	}
	for i := 1; i < len(bins); i++ {
		x := bins[i]
		j := i
		for ; j > 0 && bins[j-1].ord > x.ord; j-- {
			bins[j] = bins[j-1]
		}
		bins[j] = x
	}
}
