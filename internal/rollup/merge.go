package rollup

import (
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/alidade/alidade/internal/point"
)

// Build rolls up points (each with its project) into a new Rollup that
// covers [from, to): points outside are ignored, and every hour and day
// complete before to is sealed. It is how rollups are rebuilt from raw
// points: Merge the result into the live Rollup, whose coverage must start
// where it ends (Options.CoverFrom = to), or Snapshot it.
func Build(opts Options, from, to int64, points iter.Seq2[int64, *point.Point]) *Rollup {
	return BuildSealed(opts, from, to, to, points)
}

// BuildSealed is Build sealing only the hours and days complete before
// sealTo: a range that reaches into the future (today) leaves its last
// hours open for the points still to come.
func BuildSealed(opts Options, from, to, sealTo int64, points iter.Seq2[int64, *point.Point]) *Rollup {
	r := New(opts)
	r.from, r.end = ceilTo(from, minuteMs), to
	if points != nil {
		for project, p := range points {
			r.Add(project, p)
		}
	}
	r.Seal(min(sealTo, to))
	return r
}

// Range returns the range the Rollup covers for tables it has not seen.
func (r *Rollup) Range() (from, end int64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.from, r.end
}

// BuildTable is Build for one (project, dataset): the result covers
// [from, to) for that table only (a table rebuilt after SetSpec). Points of
// other tables are ignored.
func BuildTable(opts Options, project int64, dataset string, from, to int64, points iter.Seq[*point.Point]) *Rollup {
	r := New(opts)
	r.from, r.end = math.MaxInt64, math.MaxInt64
	t := newTable(tableKey{project, dataset}, newLayout(r.specOf(project, dataset)), &r.opts, r.seed, ceilTo(from, minuteMs), to)
	r.tables[t.key] = t
	for p := range points {
		if p.Dataset == dataset {
			t.add(p)
		}
	}
	t.seal(to)
	return r
}

func (r *Rollup) specOf(project int64, dataset string) *Spec {
	spec := r.opts.Spec(project, dataset)
	if spec == nil || spec.Validate() != nil {
		spec = &Spec{}
	}
	return spec
}

// Merge adds src's tables to r. For every table, the ranges r and src
// cover must be adjacent (one ends where the other starts), or one of them
// empty, so that no point is counted twice; the table then covers both.
// Specs must be equal. Tables src lacks are extended over src's range when
// src's overall coverage is adjacent (it saw no points of theirs). src must
// not be used afterwards. Merge rebuilds each merged table, so it costs
// time in proportion to the cells of both.
func (r *Rollup) Merge(src *Rollup) error {
	if src == r {
		return fmt.Errorf("rollup merge: a rollup cannot merge itself")
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	// Check everything first, so that a failed Merge changes nothing.
	type job struct {
		s, d *table
	}
	var jobs []job
	for _, k := range sortedKeys(src.tables) {
		s := src.tables[k]
		d := r.lookup(k.project, k.dataset)
		var dFrom, dEnd int64
		if d != nil {
			d.mu.RLock()
			dFrom, dEnd = d.validFrom, d.end
			if !d.l.spec.Equal(&s.l.spec) {
				d.mu.RUnlock()
				return fmt.Errorf("rollup merge: dataset %q of project %d: specs differ (%s, and %s): rebuild with one spec", k.dataset, k.project, d.l.spec.String(), s.l.spec.String())
			}
			d.mu.RUnlock()
		} else {
			// r saw none of the table's points in its range; the table
			// starts where src's does when that range is empty (expired
			// up to there) or does not join r's (see below).
			r.mu.RLock()
			dFrom, dEnd = r.from, r.end
			r.mu.RUnlock()
			if _, _, ok := union(dFrom, dEnd, s.validFrom, s.end); !ok || s.validFrom >= s.end {
				dFrom, dEnd = s.validFrom, s.validFrom
			}
		}
		if _, _, ok := union(dFrom, dEnd, s.validFrom, s.end); !ok {
			return fmt.Errorf("rollup merge: dataset %q of project %d: ranges [%s, %s) and [%s, %s) are neither adjacent nor empty",
				k.dataset, k.project, fmtMs(dFrom), fmtMs(dEnd), fmtMs(s.validFrom), fmtMs(s.end))
		}
		jobs = append(jobs, job{s: s, d: d})
	}
	for _, j := range jobs {
		s := j.s
		d := j.d
		if d == nil {
			d = r.tableWith(s.key, s.l) // covers r's range, empty
			d.mu.Lock()
			// A table src holds with an empty range was expired up to
			// its start: it covers nothing before. Nor does a table
			// whose range starts after a gap from r's: claiming r's
			// range for it would leave the gap between the two.
			if _, _, ok := union(d.validFrom, d.end, s.validFrom, s.end); !ok || s.validFrom >= s.end {
				d.validFrom, d.end = s.validFrom, s.validFrom
			}
			d.mu.Unlock()
		}
		d.mu.Lock()
		from, end, ok := union(d.validFrom, d.end, s.validFrom, s.end)
		if !ok {
			d.mu.Unlock()
			return fmt.Errorf("rollup merge: dataset %q of project %d: its range changed during the merge", s.key.dataset, s.key.project)
		}
		m := r.combine(d.key, d.l, []*table{d, s}, from, end)
		d.adopt(m)
		d.mu.Unlock()
	}
	// Tables src never saw: src saw none of their points in its range.
	for _, d := range r.allTables() {
		if _, ok := src.tables[d.key]; ok {
			continue
		}
		d.mu.Lock()
		if from, end, ok := union(d.validFrom, d.end, src.from, src.end); ok && src.from < src.end {
			d.validFrom, d.end = from, end
		}
		d.mu.Unlock()
	}
	r.mu.Lock()
	if from, end, ok := union(r.from, r.end, src.from, src.end); ok {
		r.from, r.end = from, end
	}
	r.mu.Unlock()
	src.tables = map[tableKey]*table{}
	return nil
}

func sortedKeys(m map[tableKey]*table) []tableKey {
	keys := make([]tableKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// union joins two ranges when one is empty or they are adjacent.
func union(aFrom, aEnd, bFrom, bEnd int64) (from, end int64, ok bool) {
	switch {
	case aFrom >= aEnd:
		return bFrom, bEnd, true
	case bFrom >= bEnd:
		return aFrom, aEnd, true
	case aEnd == bFrom:
		return aFrom, bEnd, true
	case bEnd == aFrom:
		return bFrom, aEnd, true
	}
	return 0, 0, false
}

// adopt moves m's contents into t (under t's lock; t stays the object
// other goroutines hold).
func (t *table) adopt(m *table) {
	t.l = m.l
	t.validFrom, t.end = m.validFrom, m.end
	t.minFrom, t.hourTo, t.dayTo = m.minFrom, m.hourTo, m.dayTo
	t.width = m.width
	t.series, t.slots, t.tiers, t.thawed = m.series, m.slots, m.tiers, nil
}

// combine returns a table holding the points of parts, which hold disjoint
// sets of points, covering [from, end). Each part contributes its minute
// cells where it keeps minutes and its hour cells before that; the result
// keeps minutes from the latest minute watermark on, and hours and days
// up to the latest sealed ones, every tier built from those cells.
func (r *Rollup) combine(k tableKey, l *layout, parts []*table, from, end int64) *table {
	m := newTable(k, l, &r.opts, r.seed, from, end)
	for _, p := range parts {
		m.minFrom = max(m.minFrom, p.minFrom)
		m.hourTo = max(m.hourTo, p.hourTo)
		m.dayTo = max(m.dayTo, p.dayTo)
		m.width = max(m.width, p.width)
	}
	mins := map[int64][]*bucket{}
	hours := map[int64][]*bucket{}
	for _, p := range parts {
		remap := make([]uint32, len(p.series))
		for sid := 1; sid < len(p.series); sid++ {
			s := &p.series[sid]
			remap[sid], _ = m.internValues(s.index, s.blobs, s.nums, true)
		}
		for start, b := range p.tiers[tierMinute].buckets {
			rb := remapBucket(b, remap)
			if start >= m.minFrom {
				mins[start] = append(mins[start], rb)
			}
			if start < m.hourTo {
				h := floorTo(start, hourMs)
				hours[h] = append(hours[h], rb)
			}
		}
		for start, b := range p.tiers[tierHour].buckets {
			if start < p.minFrom {
				hours[start] = append(hours[start], remapBucket(b, remap))
			}
		}
	}
	var a acc
	for start, bs := range mins {
		nb := m.mergeBuckets(start, bs, &a)
		if start >= m.hourTo {
			// Not sealed: no totals; the first add thaws it.
			nb.total = nil
		}
		m.tiers[tierMinute].buckets[start] = nb
	}
	for start, bs := range hours {
		m.tiers[tierHour].buckets[start] = m.mergeBuckets(start, bs, &a)
	}
	m.buildFrom(tierDay, tierHour, m.tiers[tierHour].startsIn(math.MinInt64, m.dayTo))
	return m
}

// remapBucket returns a shallow copy of b with its sids mapped.
func remapBucket(b *bucket, remap []uint32) *bucket {
	nb := &bucket{start: b.start, overflow: b.overflow, spanKnown: b.spanKnown, lo: b.lo, hi: b.hi}
	if f := b.fz; f != nil {
		nf := *f
		nf.sids = make([]uint32, len(f.sids))
		for i, sid := range f.sids {
			nf.sids[i] = remap[sid]
		}
		nb.fz = &nf
		return nb
	}
	nb.cells = make([]cell, len(b.cells))
	for i := range b.cells {
		nb.cells[i] = b.cells[i]
		nb.cells[i].sid = remap[b.cells[i].sid]
	}
	return nb
}
