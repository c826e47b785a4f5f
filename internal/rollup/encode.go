package rollup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/alidade/alidade/internal/point"
)

// The snapshot format, version 1. Integers are varints (zigzag for signed)
// unless noted; strings are a uvarint length and bytes; floats are 8 bytes
// little-endian IEEE 754.
//
//	magic "ALDROLLUP" uvarint(version)
//	mapping: byte(1 = sketches-go cubic) float64(gamma-defining accuracy)
//	varint(from) varint(end)            // the Rollup's own coverage
//	uvarint(tables), per table:
//	  varint(project) string(dataset)
//	  spec: uvarint(n) n×(byte(kind) uvarint(pos)) uvarint(m) m×uvarint(pos)
//	  varint(validFrom) varint(end) varint(minFrom) varint(hourTo) varint(dayTo)
//	  uvarint(width)
//	  uvarint(series) per series: string(index) blob dims×string num dims×float64
//	  per tier (minute, hour, day): uvarint(buckets), per bucket:
//	    varint(start - previous start) uvarint(cells), per cell:
//	      uvarint(sid; 0 is the overflow cell) uvarint(n) uvarint(w)
//	      uvarint(stats) stats×(float64 sum, min, max)
//	      per distribution: uvarint(zero) packed bins (see sketch)
//	crc32c of everything before, 4 bytes little-endian
const (
	snapMagic   = "ALDROLLUP"
	snapVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the cells of every table whose buckets start in
// [from, to), with what the tables cover clipped to that range, so that
// Load(Snapshot(a, b)) covers [a, b) and snapshots of adjacent ranges Merge
// into one. from and to must be UTC day boundaries, or math.MinInt64 and
// math.MaxInt64 for everything. Each table is read-locked while written.
func (r *Rollup) Snapshot(w io.Writer, from, to int64) error {
	if from != math.MinInt64 && from%dayMs != 0 || to != math.MaxInt64 && to%dayMs != 0 {
		return fmt.Errorf("rollup snapshot: from and to must be UTC day boundaries")
	}
	if from > to {
		return fmt.Errorf("rollup snapshot: from is after to")
	}
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	var b []byte
	b = append(b, snapMagic...)
	b = binary.AppendUvarint(b, snapVersion)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(RelativeAccuracy))
	r.mu.RLock()
	rf, re := max(r.from, from), min(r.end, to)
	r.mu.RUnlock()
	if rf > re {
		rf = re
	}
	b = binary.AppendVarint(b, rf)
	b = binary.AppendVarint(b, re)
	tables := r.allTables()
	b = binary.AppendUvarint(b, uint64(len(tables)))
	if _, err := bw.Write(b); err != nil {
		return err
	}
	for _, t := range tables {
		t.mu.RLock()
		err := t.encode(bw, from, to)
		t.mu.RUnlock()
		if err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFloat(b []byte, x float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
}

// encode writes the table clipped to [from, to).
func (t *table) encode(w io.Writer, from, to int64) error {
	validFrom, end := max(t.validFrom, from), min(t.end, to)
	if validFrom > end {
		validFrom = end
	}
	hourTo, dayTo := min(t.hourTo, to), min(t.dayTo, to)
	minFrom := min(t.minFrom, hourTo)
	// Buckets in range, and the series they use, renumbered densely.
	var starts [nTiers][]int64
	used := make([]uint32, len(t.series)) // old sid -> new sid
	var order []uint32
	for tier := range nTiers {
		starts[tier] = t.tiers[tier].startsIn(from, to)
		for _, s := range starts[tier] {
			bk := t.tiers[tier].buckets[s]
			for i := range bk.ncells() {
				sid := bk.sidAt(i)
				if sid != 0 && used[sid] == 0 {
					order = append(order, sid)
					used[sid] = uint32(len(order))
				}
			}
		}
	}
	var b []byte
	b = binary.AppendVarint(b, t.key.project)
	b = appendString(b, t.key.dataset)
	b = binary.AppendUvarint(b, uint64(len(t.l.spec.Dimensions)))
	for _, f := range t.l.spec.Dimensions {
		b = append(b, byte(f.Kind))
		b = binary.AppendUvarint(b, uint64(f.Pos))
	}
	b = binary.AppendUvarint(b, uint64(len(t.l.spec.Distributions)))
	for _, f := range t.l.spec.Distributions {
		b = binary.AppendUvarint(b, uint64(f.Pos))
	}
	for _, x := range []int64{validFrom, end, minFrom, hourTo, dayTo} {
		b = binary.AppendVarint(b, x)
	}
	b = binary.AppendUvarint(b, uint64(t.width))
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, sid := range order {
		s := &t.series[sid]
		b = appendString(b, s.index)
		for _, x := range s.blobs {
			b = appendString(b, x)
		}
		for _, x := range s.nums {
			b = appendFloat(b, x)
		}
		if len(b) > 1<<15 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	for tier := range nTiers {
		b = binary.AppendUvarint(b, uint64(len(starts[tier])))
		var prev int64
		for _, s := range starts[tier] {
			bk := t.tiers[tier].buckets[s]
			b = binary.AppendVarint(b, s-prev)
			prev = s
			b = binary.AppendUvarint(b, uint64(bk.ncells()))
			var sc cell
			for i := range bk.ncells() {
				c := bk.at(i, &sc, true)
				sid := uint32(0)
				if c.sid != 0 {
					sid = used[c.sid]
				}
				b = binary.AppendUvarint(b, uint64(sid))
				b = binary.AppendUvarint(b, c.n)
				b = binary.AppendUvarint(b, c.w)
				b = binary.AppendUvarint(b, uint64(len(c.stats)))
				for _, st := range c.stats {
					b = appendFloat(appendFloat(appendFloat(b, st.sum), st.min), st.max)
				}
				for j := range c.sk {
					sk := &c.sk[j]
					b = binary.AppendUvarint(b, sk.zero)
					if sk.packed != nil {
						b = append(b, sk.packed...)
					} else {
						b = appendPacked(b, sk.sortedBins())
					}
				}
				if len(b) > 1<<15 {
					if _, err := w.Write(b); err != nil {
						return err
					}
					b = b[:0]
				}
			}
		}
	}
	_, err := w.Write(b)
	return err
}

// Load reads a snapshot into a new Rollup with opts (whose Spec is not
// consulted for the tables the snapshot holds). It verifies the checksum
// and every invariant the cells must keep, and returns an error for any
// input that is not a snapshot Snapshot wrote.
func Load(rd io.Reader, opts Options) (*Rollup, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("rollup load: %w", err)
	}
	r := New(opts)
	if err := r.decode(data); err != nil {
		return nil, fmt.Errorf("rollup load: %w", err)
	}
	return r, nil
}

var errTruncated = errors.New("snapshot is truncated")

// reader reads the snapshot's fields; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (d *reader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *reader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[k:]
	return x
}

func (d *reader) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[k:]
	return x
}

// count reads a count of items of at least minSize bytes each.
func (d *reader) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/minSize) {
		d.fail("a count of %d exceeds the %d bytes left", n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *reader) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = errTruncated
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *reader) byte() byte {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *reader) string() string {
	return string(d.bytes(d.count(1)))
}

func (d *reader) float() float64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// packed reads a sketch's packed bins, returning them (nil for none) and
// their total count.
func (d *reader) packed() ([]byte, uint64) {
	if d.err != nil {
		return nil, 0
	}
	start := d.b
	nb := d.count(2)
	for range nb {
		d.varint()
		d.uvarint()
	}
	if d.err != nil {
		return nil, 0
	}
	p := start[:len(start)-len(d.b)]
	total, err := checkPacked(p)
	if err != nil {
		d.err = err
		return nil, 0
	}
	if nb == 0 {
		return nil, 0
	}
	return slices.Clip(slices.Clone(p)), total
}

func (r *Rollup) decode(data []byte) error {
	if len(data) < len(snapMagic)+4 {
		return errTruncated
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if string(body[:len(snapMagic)]) != snapMagic {
		return errors.New("not a rollup snapshot")
	}
	if crc32.Checksum(body, castagnoli) != sum {
		return errors.New("checksum mismatch: the snapshot is corrupt")
	}
	d := &reader{b: body[len(snapMagic):]}
	if v := d.uvarint(); d.err == nil && v != snapVersion {
		return fmt.Errorf("snapshot version %d; this build reads version %d", v, snapVersion)
	}
	if kind, acc := d.byte(), d.float(); d.err == nil && (kind != 1 || acc != RelativeAccuracy) {
		return fmt.Errorf("snapshot sketches use mapping %d with accuracy %v; this build uses 1 with %v: rebuild the rollups", kind, acc, RelativeAccuracy)
	}
	r.from, r.end = d.varint(), d.varint()
	if d.err == nil && r.from > r.end {
		return errors.New("snapshot coverage ends before it starts")
	}
	n := d.count(8)
	for range n {
		if d.err != nil {
			break
		}
		t := r.decodeTable(d)
		if d.err != nil {
			break
		}
		if _, dup := r.tables[t.key]; dup {
			d.fail("dataset %q of project %d appears twice", t.key.dataset, t.key.project)
			break
		}
		r.tables[t.key] = t
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last table", len(d.b))
	}
	return d.err
}

func aligned(x, w int64) bool { return x == math.MinInt64 || x%w == 0 }

func (r *Rollup) decodeTable(d *reader) *table {
	project := d.varint()
	dataset := d.string()
	if d.err == nil {
		if err := point.ValidateDatasetName(dataset); err != nil {
			d.fail("%v", err)
		}
	}
	var spec Spec
	nd := d.count(2)
	for range nd {
		spec.Dimensions = append(spec.Dimensions, point.Field{Kind: point.FieldKind(d.byte()), Pos: int(min(d.uvarint(), 1000))})
	}
	ns := d.count(1)
	for range ns {
		spec.Distributions = append(spec.Distributions, point.Field{Kind: point.KindDouble, Pos: int(min(d.uvarint(), 1000))})
	}
	if d.err != nil {
		return nil
	}
	if err := spec.Validate(); err != nil {
		d.fail("dataset %q: %v", dataset, err)
		return nil
	}
	l := newLayout(&spec)
	validFrom, end := d.varint(), d.varint()
	minFrom, hourTo, dayTo := d.varint(), d.varint(), d.varint()
	width := d.uvarint()
	if d.err != nil {
		return nil
	}
	switch {
	case validFrom > end:
		d.fail("dataset %q: coverage ends before it starts", dataset)
	case !aligned(minFrom, hourMs) || !aligned(hourTo, hourMs) || !aligned(dayTo, dayMs) || minFrom > hourTo || dayTo > hourTo:
		d.fail("dataset %q: inconsistent tier watermarks", dataset)
	case width > point.MaxDoubles:
		d.fail("dataset %q: %d doubles", dataset, width)
	}
	if d.err != nil {
		return nil
	}
	t := newTable(tableKey{project, dataset}, l, &r.opts, r.seed, validFrom, end)
	t.validFrom = validFrom
	t.minFrom, t.hourTo, t.dayTo, t.width = minFrom, hourTo, dayTo, int(width)
	nser := d.count(1)
	for range nser {
		index := d.string()
		var blobs []string
		var nums []float64
		if len(l.blobDims) > 0 {
			blobs = make([]string, len(l.blobDims))
			for i := range blobs {
				blobs[i] = d.string()
			}
		}
		if len(l.numDims) > 0 {
			nums = make([]float64, len(l.numDims))
			for i := range nums {
				x := d.float()
				if math.IsNaN(x) || math.IsInf(x, 0) || math.Float64bits(x) != math.Float64bits(x+0) {
					d.fail("dataset %q: a series has dimension value %v", dataset, x)
				}
				nums[i] = x
			}
		}
		if d.err != nil {
			return nil
		}
		if _, existed := t.internValues(index, blobs, nums, false); existed {
			d.fail("dataset %q: a series repeats", dataset)
			return nil
		}
	}
	var a acc
	for tier := range nTiers {
		nb := d.count(2)
		var prev int64
		for k := range nb {
			delta := d.varint()
			if d.err != nil {
				return nil
			}
			if k > 0 && (delta <= 0 || prev > math.MaxInt64-delta) {
				d.fail("dataset %q: %s buckets out of order", dataset, tierName[tier])
				return nil
			}
			start := prev + delta
			prev = start
			ok := start%tierWidth[tier] == 0
			switch tier {
			case tierMinute:
				ok = ok && start >= minFrom
			case tierHour:
				ok = ok && start < hourTo
			case tierDay:
				ok = ok && start < dayTo
			}
			if !ok {
				d.fail("dataset %q: %s bucket at %d outside its tier's range", dataset, tierName[tier], start)
				return nil
			}
			b := t.decodeBucket(d, start, int(width))
			if d.err != nil {
				return nil
			}
			if tier != tierMinute || start < hourTo {
				b.computeTotal(len(l.dists), &a)
			}
			t.tiers[tier].buckets[start] = b
		}
	}
	return t
}

func (t *table) decodeBucket(d *reader, start int64, width int) *bucket {
	b := &bucket{start: start}
	nc := d.count(4)
	nd := len(t.l.dists)
	// Sized for at most 4096 cells up front: nc comes from the file.
	f := newFrozen(nd, width, min(nc, 4096), 4*min(nc, 4096)*nd)
	seen := map[uint32]bool{}
	for range nc {
		sid := d.uvarint()
		n, w := d.uvarint(), d.uvarint()
		nst := d.uvarint()
		if d.err != nil {
			return nil
		}
		if sid >= uint64(len(t.series)) || seen[uint32(sid)] || n == 0 || w < n || nst > uint64(width) {
			d.fail("dataset %q: a malformed cell", t.key.dataset)
			return nil
		}
		seen[uint32(sid)] = true
		st := f.begin(uint32(sid), n, w)
		for i := range int(nst) {
			s := &st[i]
			s.sum, s.min, s.max = d.float(), d.float(), d.float()
			if math.IsNaN(s.sum) || math.IsNaN(s.min) || math.IsNaN(s.max) || s.min > s.max || math.IsInf(s.min, 0) || math.IsInf(s.max, 0) {
				d.fail("dataset %q: a malformed cell", t.key.dataset)
				return nil
			}
		}
		for range nd {
			zero := d.uvarint()
			p, total := d.packed()
			if d.err != nil {
				return nil
			}
			if zero+total != w || zero+total < total {
				d.fail("dataset %q: a sketch does not count its cell's weight", t.key.dataset)
				return nil
			}
			f.sketchPacked(zero, p)
		}
	}
	f.done()
	b.fz = f
	b.overflow = seen[0]
	return b
}
