package rollup

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy is the sketches' relative accuracy: a quantile read from
// a sketch is within this fraction of the exact value. Merging DDSketches
// that share a mapping is lossless, so answers over merged cells keep it.
const RelativeAccuracy = 0.005

// The sketches are DDSketches: sketches-go's cubically interpolated index
// mapping (a value's bin is mapping.Index(|x|), its representative value
// mapping.Value(bin), within RelativeAccuracy of every value in the bin),
// with a store of our own. sketches-go's stores cost 0.4 KB (buffered
// paginated) to 4.7 KB (dense) for a minute cell of 15 values and 5–10 KB
// for 1000; this one costs 16 bytes a bin while a cell is written and about
// 2–3 bytes a bin once frozen (varint deltas), and merges into a dense
// accumulator at query time. toDDSketch converts a cell's sketch to a
// sketches-go DDSketch with the same bins, losslessly.
var ddMapping = mustMapping()

func mustMapping() *mapping.CubicallyInterpolatedMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(RelativeAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}

var (
	minIndexable = ddMapping.MinIndexableValue()
	maxIndexable = ddMapping.MaxIndexableValue()
	// valueFactor makes keyValue(k) equal ddMapping.Value(k), which
	// recomputes it (an Exp) on every call.
	valueFactor = 1 + ddMapping.RelativeAccuracy()
)

// keyValue is the representative value of the bin of key k (of |x|).
func keyValue(k int) float64 {
	return ddMapping.LowerBound(k) * valueFactor
}

// ordBias makes every bin's ord nonzero and signed like its values:
// ord = +(key+ordBias) for x > 0, -(key+ordBias) for x < 0, so ascending
// ords are ascending values. Keys of finite float64s lie within ±2^17.
const (
	ordBias = 1 << 20
	maxKey  = 1 << 19
)

func ordOf(x float64) int32 {
	switch {
	case x > minIndexable:
		return int32(ddMapping.Index(min(x, maxIndexable)) + ordBias)
	case x < -minIndexable:
		return -int32(ddMapping.Index(min(-x, maxIndexable)) + ordBias)
	}
	return 0
}

// ordValue is the representative value of a bin.
func ordValue(ord int32) float64 {
	if ord > 0 {
		return keyValue(int(ord) - ordBias)
	}
	return -keyValue(int(-ord) - ordBias)
}

func validOrd(ord int32) bool {
	k := ord
	if k < 0 {
		k = -k
	}
	return k-ordBias >= -maxKey && k-ordBias <= maxKey
}

// bin is one sketch bin: n weighted values in the bin of ord.
type bin struct {
	ord int32
	n   uint64
}

// sketch is a DDSketch of one double in one cell, weighted by sample
// interval. While written it holds bins as an append buffer: the first
// clean entries sorted by ord and unique, then raw appends, normalized
// when the buffer is full (adding a value is an append, as in sketches-go's
// buffered store). Frozen, packed holds the bins as a uvarint count, then
// per bin a zigzag varint ord delta and a uvarint n (the snapshot encoding
// too), and bins is nil.
type sketch struct {
	zero   uint64 // values too close to 0 to index, 0 itself included
	bins   []bin
	clean  int
	packed []byte
}

func (s *sketch) add(x float64, w uint64) {
	ord := ordOf(x)
	if ord == 0 {
		s.zero += w
		return
	}
	s.addOrd(ord, w)
}

func (s *sketch) addOrd(ord int32, w uint64) {
	if s.packed != nil {
		s.thaw()
	}
	if n := len(s.bins); n > 0 && s.bins[n-1].ord == ord {
		s.bins[n-1].n += w
		return
	}
	if len(s.bins) == cap(s.bins) {
		s.bins = normalizeInto(s.bins, s.clean, true)
		s.clean = len(s.bins)
	}
	s.bins = append(s.bins, bin{ord: ord, n: w})
}

// normalize sorts the bins and merges repeats.
func (s *sketch) normalize() {
	if s.clean == len(s.bins) {
		return
	}
	s.bins = normalizeInto(s.bins, s.clean, false)
	s.clean = len(s.bins)
}

// normalizeInto returns bins (whose first clean entries are sorted and
// unique) sorted with repeats merged, in a new slice: with room to grow
// when grow (twice the result, at least 16), else exactly sized. It sorts
// the tail in place.
func normalizeInto(bins []bin, clean int, grow bool) []bin {
	tail := bins[clean:]
	slices.SortFunc(tail, func(a, b bin) int { return int(a.ord) - int(b.ord) })
	// Count the merged size, then merge.
	n := 0
	for i, j := 0, clean; i < clean || j < len(bins); n++ {
		var o int32
		switch {
		case j == len(bins) || i < clean && bins[i].ord < bins[j].ord:
			o = bins[i].ord
			i++
		default:
			o = bins[j].ord
			j++
		}
		for i < clean && bins[i].ord == o {
			i++
		}
		for j < len(bins) && bins[j].ord == o {
			j++
		}
	}
	size := n
	if grow {
		size = max(4, 2*n)
	}
	out := make([]bin, 0, size)
	for i, j := 0, clean; i < clean || j < len(bins); {
		var b bin
		switch {
		case j == len(bins) || i < clean && bins[i].ord < bins[j].ord:
			b = bins[i]
			i++
		default:
			b = bins[j]
			j++
		}
		for i < clean && bins[i].ord == b.ord {
			b.n += bins[i].n
			i++
		}
		for j < len(bins) && bins[j].ord == b.ord {
			b.n += bins[j].n
			j++
		}
		out = append(out, b)
	}
	return out
}

// sortedBins returns the bins sorted and unique without changing s (for
// readers under a read lock).
func (s *sketch) sortedBins() []bin {
	if s.clean == len(s.bins) {
		return s.bins
	}
	return normalizeInto(slices.Clone(s.bins), s.clean, false)
}

// count is the sketch's total weight.
func (s *sketch) count() uint64 {
	n := s.zero
	s.each(func(_ int32, c uint64) { n += c })
	return n
}

// each calls f for every bin in ascending ord.
func (s *sketch) each(f func(ord int32, n uint64)) {
	if s.packed == nil {
		for _, b := range s.sortedBins() {
			f(b.ord, b.n)
		}
		return
	}
	p := s.packed
	nb, k := binary.Uvarint(p)
	p = p[k:]
	var ord int64
	for range nb {
		d, k := binary.Varint(p)
		p = p[k:]
		n, k2 := binary.Uvarint(p)
		p = p[k2:]
		ord += d
		f(int32(ord), n)
	}
}

// nbins counts the bins (for writable sketches, the buffer's entries).
func (s *sketch) nbins() int {
	if s.packed != nil {
		n, _ := binary.Uvarint(s.packed)
		return int(n)
	}
	return len(s.bins)
}

// freeze packs the bins.
func (s *sketch) freeze() {
	if s.packed != nil || len(s.bins) == 0 {
		return
	}
	s.normalize()
	s.packed = appendPacked(make([]byte, 0, 1+3*len(s.bins)), s.bins)
	s.bins, s.clean = nil, 0
}

func (s *sketch) thaw() {
	s.bins = appendUnpacked(make([]bin, 0, s.nbins()+8), s.packed)
	s.clean = len(s.bins)
	s.packed = nil
}

func appendPacked(dst []byte, bins []bin) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(bins)))
	var prev int32
	for _, b := range bins {
		dst = binary.AppendVarint(dst, int64(b.ord)-int64(prev))
		dst = binary.AppendUvarint(dst, b.n)
		prev = b.ord
	}
	return dst
}

func appendUnpacked(dst []bin, p []byte) []bin {
	s := sketch{packed: p}
	s.each(func(ord int32, n uint64) { dst = append(dst, bin{ord: ord, n: n}) })
	return dst
}

var errBadSketch = errors.New("malformed sketch")

// checkPacked validates packed bins: ords strictly ascending, nonzero and
// in range, counts positive, nothing left over. It returns their total.
func checkPacked(p []byte) (uint64, error) {
	nb, k := binary.Uvarint(p)
	if k <= 0 || nb > uint64(len(p)) {
		return 0, errBadSketch
	}
	p = p[k:]
	var ord int64
	var total uint64
	for i := range nb {
		d, k := binary.Varint(p)
		if k <= 0 {
			return 0, errBadSketch
		}
		p = p[k:]
		n, k2 := binary.Uvarint(p)
		if k2 <= 0 || n == 0 || (i > 0 && d <= 0) {
			return 0, errBadSketch
		}
		p = p[k2:]
		ord += d
		if ord < math.MinInt32 || ord > math.MaxInt32 || ord == 0 || !validOrd(int32(ord)) {
			return 0, errBadSketch
		}
		if total+n < total {
			return 0, errBadSketch
		}
		total += n
	}
	if len(p) != 0 {
		return 0, errBadSketch
	}
	return total, nil
}

// toDDSketch returns the sketch as a sketches-go DDSketch with the same
// mapping and bins (for interoperability and tests).
func (s *sketch) toDDSketch() *ddsketch.DDSketch {
	d := ddsketch.NewDDSketch(ddMapping, store.NewDenseStore(), store.NewDenseStore())
	if s.zero > 0 {
		// Any value below the indexable minimum lands in the zero bin.
		_ = d.AddWithCount(0, float64(s.zero))
	}
	s.each(func(ord int32, n uint64) {
		_ = d.AddWithCount(ordValue(ord), float64(n))
	})
	return d
}

// acc merges sketches at query time: dense counts per key, one array for
// positive and one for negative values.
type acc struct {
	zero     uint64
	pos, neg dense
}

type dense struct {
	base int32 // key of c[0]
	c    []uint64
}

func (d *dense) add(key int32, n uint64) {
	i := key - d.base
	if uint32(i) < uint32(len(d.c)) {
		d.c[i] += n
		return
	}
	d.grow(key)
	d.c[key-d.base] += n
}

func (d *dense) grow(key int32) {
	if len(d.c) == 0 {
		d.base = key - 64
		d.c = make([]uint64, 256)
		return
	}
	lo, hi := d.base, d.base+int32(len(d.c)) // [lo, hi)
	span := hi - lo
	if key < lo {
		lo = min(key, lo-span/2) - 16
	} else {
		hi = max(key+1, hi+span/2) + 16
	}
	c := make([]uint64, hi-lo)
	copy(c[d.base-lo:], d.c)
	d.base, d.c = lo, c
}

func (d *dense) reset() { clear(d.c) }

func (a *acc) reset() {
	a.zero = 0
	a.pos.reset()
	a.neg.reset()
}

func (a *acc) addOrd(ord int32, n uint64) {
	if ord > 0 {
		a.pos.add(ord-ordBias, n)
	} else {
		a.neg.add(-ord-ordBias, n)
	}
}

// addSketch merges s into a.
func (a *acc) addSketch(s *sketch) {
	a.zero += s.zero
	if s.packed == nil {
		for _, b := range s.bins { // any order will do
			a.addOrd(b.ord, b.n)
		}
		return
	}
	// Inlined decoding of the packed form: this is the query's hot loop.
	p := s.packed
	nb, k := binary.Uvarint(p)
	p = p[k:]
	var ord int64
	for range nb {
		var d int64
		if p[0] < 0x80 {
			u := uint64(p[0])
			d = int64(u>>1) ^ -int64(u&1)
			p = p[1:]
		} else {
			d, k = binary.Varint(p)
			p = p[k:]
		}
		var n uint64
		if p[0] < 0x80 {
			n = uint64(p[0])
			p = p[1:]
		} else {
			n, k = binary.Uvarint(p)
			p = p[k:]
		}
		ord += d
		a.addOrd(int32(ord), n)
	}
}

// quantiles fills out[i] with the weighted quantile qs[i] of the merged
// values, interpolating linearly between the values at ranks floor(q·(W-1))
// and ceil(q·(W-1)) as DuckDB's quantile_cont does, with each value read
// as its bin's representative. It reports false when a holds no values.
func (a *acc) quantiles(qs []float64, out []float64) bool {
	total := a.zero
	for _, c := range a.neg.c {
		total += c
	}
	for _, c := range a.pos.c {
		total += c
	}
	if total == 0 {
		return false
	}
	// Ranks to find, ascending; each quantile needs its lo and hi rank.
	type want struct {
		rank uint64
		v    float64
	}
	wants := make([]want, 0, 2*len(qs))
	for _, q := range qs {
		r := q * float64(total-1)
		lo := uint64(math.Floor(r))
		wants = append(wants, want{rank: lo}, want{rank: min(lo+1, total-1)})
	}
	order := make([]int, len(wants))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return wants[order[i]].rank < wants[order[j]].rank })
	next := 0
	var cum uint64 // values up to the current bin
	// hit reports whether a wanted rank falls in the bin just counted.
	hit := func() bool { return next < len(order) && wants[order[next]].rank < cum }
	set := func(v float64) {
		for hit() {
			wants[order[next]].v = v
			next++
		}
	}
	for i := len(a.neg.c) - 1; i >= 0 && next < len(order); i-- {
		if cum += a.neg.c[i]; hit() {
			set(-keyValue(int(a.neg.base) + i))
		}
	}
	if cum += a.zero; hit() {
		set(0)
	}
	for i := 0; i < len(a.pos.c) && next < len(order); i++ {
		if cum += a.pos.c[i]; hit() {
			set(keyValue(int(a.pos.base) + i))
		}
	}
	for i, q := range qs {
		r := q * float64(total-1)
		f := r - math.Floor(r)
		lo, hi := wants[2*i].v, wants[2*i+1].v
		out[i] = lo + (hi-lo)*f
	}
	return true
}
