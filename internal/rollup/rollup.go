// Package rollup keeps per-minute aggregates of data points, and answers
// structured queries (query.Sub) from them in time that depends on the
// number of series and buckets a query reads, not on the number of points.
//
// A Rollup holds one table per (project, dataset). A table interns every
// distinct combination of index1 and the dataset's dimension values (its
// Spec) as a series, and keeps, per time bucket and series, a cell: the
// number of points, their weighted count Σw (w is the sample interval), and
// per double position the weighted sum Σw·x, the min and the max; per
// distribution double, a DDSketch (sketches-go's mapping, relative accuracy
// RelativeAccuracy) fed with weight w.
//
// Cells exist at three resolutions ("tiers"): minutes, hours and UTC days.
// Add writes minute cells. Seal(upTo) builds the hour cells of every
// complete hour before upTo from its minutes and the day cells of every
// complete day from its hours; Compact(olderThan) seals and then drops the
// minute cells older than olderThan. A point that arrives for an hour or
// day already sealed is added to the minute (if still kept), hour and day
// cells alike, so every tier stays exact. Execute answers a range from the
// coarsest cells that fit it: whole days from day cells, whole hours from
// hour cells, the rest from minutes. A query over the last 30 days thus
// reads about 30 day cells, 2×23 hour cells and 2×59 minute cells per
// series. Once minutes are compacted, queries over that time need their
// range edges and interval aligned to hours (Covers says so). A sealed
// bucket also keeps, per distribution, the merge of all its cells'
// sketches, which quantiles without filters or groups (a dashboard's
// top-level charts) read instead of merging every series.
//
// Memory is bounded by Options.MaxCellsPerMinute and Options.MaxSeries:
// past them, points go to one overflow cell per bucket, which keeps
// ungrouped, unfiltered answers exact but makes the bucket unusable for
// queries that filter or group on dimensions (Covers then reports false and
// the planner reads raw points).
//
// A table covers a time range [validFrom, end): it has seen every point of
// its dataset in that range (Options.CoverFrom for a live Rollup, the range
// of Build, or what SetSpec and Expire leave). Covers and Execute answer
// only within it.
//
// Snapshot and Load persist a Rollup; Build makes one from a stream of
// points (a rebuild), and Merge joins Rollups that cover adjacent ranges.
// A Rollup is safe for concurrent use.
package rollup

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/alidade/alidade/internal/point"
)

const (
	minuteMs = int64(60_000)
	hourMs   = int64(3_600_000)
	dayMs    = int64(86_400_000)
)

// Tiers, finest first.
const (
	tierMinute = iota
	tierHour
	tierDay
	nTiers
)

var tierWidth = [nTiers]int64{minuteMs, hourMs, dayMs}
var tierName = [nTiers]string{"minute", "hour", "day"}

// Options configure a Rollup.
type Options struct {
	// Spec returns the spec of a dataset; nil means DefaultSpec. It is
	// called once per table, when the table is created.
	Spec func(project int64, dataset string) *Spec
	// CoverFrom is the time (Unix ms) from which every point is Added: a
	// table answers no query that starts before it. Use the time rollups
	// were switched on, and Build and Merge to cover history.
	CoverFrom int64
	// MaxCellsPerMinute bounds the cells of one (project, dataset, minute);
	// 0 means 4096.
	MaxCellsPerMinute int
	// MaxSeries bounds the series of one (project, dataset); 0 means 100000.
	MaxSeries int
}

const (
	defaultMaxCellsPerMinute = 4096
	defaultMaxSeries         = 100_000
)

func (o *Options) fill() {
	if o.Spec == nil {
		o.Spec = DefaultSpec
	}
	if o.MaxCellsPerMinute <= 0 {
		o.MaxCellsPerMinute = defaultMaxCellsPerMinute
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = defaultMaxSeries
	}
}

type tableKey struct {
	project int64
	dataset string
}

// Rollup is the set of rollup tables of every project and dataset.
type Rollup struct {
	opts Options
	seed maphash.Seed

	mu     sync.RWMutex
	tables map[tableKey]*table
	// last is the table of the last Add: tables are never removed, so a
	// cached one stays valid.
	last atomic.Pointer[table]
	// from and end are the range every table not yet created covers.
	from, end int64
	// edgeHours keeps compacted hours' cells for the ranges starting in
	// them (see ExecuteExact).
	edgeHours hourEdges
}

// New returns an empty Rollup covering [opts.CoverFrom, +∞).
func New(opts Options) *Rollup {
	opts.fill()
	return &Rollup{
		opts:   opts,
		seed:   maphash.MakeSeed(),
		tables: map[tableKey]*table{},
		from:   ceilTo(opts.CoverFrom, minuteMs),
		end:    math.MaxInt64,
	}
}

// Add rolls up one point of project. Points outside the table's covered
// range are ignored. Add does not allocate when the point's cell exists.
func (r *Rollup) Add(project int64, p *point.Point) {
	t := r.table(project, p.Dataset)
	t.mu.Lock()
	t.add(p)
	t.mu.Unlock()
}

// AddBatch rolls up a batch of points of project, taking each table's lock
// once per run of points of the same dataset.
func (r *Rollup) AddBatch(project int64, pts []point.Point) {
	var t *table
	for i := range pts {
		p := &pts[i]
		if t == nil || t.key.dataset != p.Dataset {
			if t != nil {
				t.mu.Unlock()
			}
			t = r.table(project, p.Dataset)
			t.mu.Lock()
		}
		t.add(p)
	}
	if t != nil {
		t.mu.Unlock()
	}
}

// table returns the table of (project, dataset), creating it.
func (r *Rollup) table(project int64, dataset string) *table {
	if t := r.last.Load(); t != nil && t.key.project == project && t.key.dataset == dataset {
		return t
	}
	t := r.tableSlow(project, dataset)
	r.last.Store(t)
	return t
}

func (r *Rollup) tableSlow(project int64, dataset string) *table {
	k := tableKey{project, dataset}
	r.mu.RLock()
	t := r.tables[k]
	r.mu.RUnlock()
	if t != nil {
		return t
	}
	return r.tableWith(k, nil)
}

// tableWith returns the table of k, creating it with layout l (nil: the
// spec Options.Spec gives).
func (r *Rollup) tableWith(k tableKey, l *layout) *table {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tables[k]
	if t == nil {
		// The name may share memory with a request body that is reused
		// after the request: the table keeps its own copy.
		k.dataset = strings.Clone(k.dataset)
		if l == nil {
			l = newLayout(r.specOf(k.project, k.dataset))
		}
		t = newTable(k, l, &r.opts, r.seed, r.from, r.end)
		r.tables[k] = t
	}
	return t
}

// lookup returns the table of (project, dataset) or nil.
func (r *Rollup) lookup(project int64, dataset string) *table {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tables[tableKey{project, dataset}]
}

func (r *Rollup) allTables() []*table {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ts := make([]*table, 0, len(r.tables))
	for _, t := range r.tables {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *table) int { return compareKeys(a.key, b.key) })
	return ts
}

func compareKeys(a, b tableKey) int {
	if a.project != b.project {
		if a.project < b.project {
			return -1
		}
		return 1
	}
	switch {
	case a.dataset < b.dataset:
		return -1
	case a.dataset > b.dataset:
		return 1
	}
	return 0
}

// Seal builds the hour cells of every complete hour before upTo and the day
// cells of every complete day, and freezes (packs) the cells of the sealed
// minutes. Call it often (every minute or so) with upTo a little before now,
// so that points arriving a little late still find their minute unsealed
// (late points are exact either way, only slower to add).
func (r *Rollup) Seal(upTo int64) {
	for _, t := range r.allTables() {
		t.mu.Lock()
		t.seal(upTo)
		t.mu.Unlock()
	}
}

// Compact seals up to olderThan, then drops the minute cells of the hours
// before olderThan: queries over that time then need hour-aligned ranges
// and intervals.
func (r *Rollup) Compact(olderThan int64) {
	for _, t := range r.allTables() {
		t.mu.Lock()
		t.compact(olderThan)
		t.mu.Unlock()
	}
}

// Expire enforces retention: for each table, cutoff returns the time before
// which its points are deleted (math.MinInt64 for none). The table then
// covers from the first UTC day boundary at or after the cutoff, and drops
// every cell before it.
func (r *Rollup) Expire(cutoff func(project int64, dataset string) int64) {
	for _, t := range r.allTables() {
		c := cutoff(t.key.project, t.key.dataset)
		if c == math.MinInt64 {
			continue
		}
		t.mu.Lock()
		t.expire(ceilTo(c, dayMs))
		t.mu.Unlock()
	}
}

// SetSpec changes the spec of (project, dataset) at time at (Unix ms): the
// table's cells, built with the old spec, are dropped, and it covers from
// the next minute on. Build and Merge with the new spec bring history back.
// It is a no-op when the spec is unchanged.
func (r *Rollup) SetSpec(project int64, dataset string, spec *Spec, at int64) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	t := r.table(project, dataset)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.l.spec.Equal(spec) {
		return nil
	}
	from := max(floorTo(at, minuteMs)+minuteMs, t.validFrom)
	t.reset(newLayout(spec), from)
	return nil
}

// Reset drops every cell of (project, dataset) and builds its table anew
// with spec (nil: the spec Options.Spec gives): it then covers from at,
// rounded up to a whole minute, on. It is how a rebuild starts: points
// before at are rolled up apart (BuildTable) and Merged back.
func (r *Rollup) Reset(project int64, dataset string, spec *Spec, at int64) error {
	if spec == nil {
		spec = r.specOf(project, dataset)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	t := r.table(project, dataset)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reset(newLayout(spec), ceilTo(at, minuteMs))
	return nil
}

// Spec returns the spec the table of (project, dataset) is built with (the
// spec Options.Spec gives when there is no table yet).
func (r *Rollup) Spec(project int64, dataset string) *Spec {
	if t := r.lookup(project, dataset); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		s := t.l.spec
		return &Spec{Dimensions: slices.Clone(s.Dimensions), Distributions: slices.Clone(s.Distributions)}
	}
	return r.opts.Spec(project, dataset)
}

// Coverage returns the range the table of (project, dataset) covers.
func (r *Rollup) Coverage(project int64, dataset string) (from, end int64) {
	if t := r.lookup(project, dataset); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		return t.validFrom, t.end
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.from, r.end
}

// Stats describes a Rollup's size.
type Stats struct {
	Tables  int
	Series  int
	Buckets [nTiers]int // minute, hour, day
	Cells   [nTiers]int
	// OverflowBuckets counts buckets holding an overflow cell.
	OverflowBuckets int
	// SketchBins counts the bins of every sketch.
	SketchBins int
	// Bytes estimates the heap the cells, sketches and series hold;
	// TierBytes splits the cells' part by tier.
	Bytes     int64
	TierBytes [nTiers]int64
}

// BytesPerCell is Bytes over all cells.
func (s Stats) BytesPerCell() float64 {
	n := s.Cells[0] + s.Cells[1] + s.Cells[2]
	if n == 0 {
		return 0
	}
	return float64(s.Bytes) / float64(n)
}

func (s Stats) String() string {
	per := func(t int) float64 {
		if s.Cells[t] == 0 {
			return 0
		}
		return float64(s.TierBytes[t]) / float64(s.Cells[t])
	}
	return fmt.Sprintf("%d tables, %d series, cells %d/%d/%d (minute/hour/day) in %d/%d/%d buckets, %d overflow buckets, %d sketch bins, %.1f MB (%.0f B/cell; by tier %.0f/%.0f/%.0f B/cell)",
		s.Tables, s.Series, s.Cells[0], s.Cells[1], s.Cells[2], s.Buckets[0], s.Buckets[1], s.Buckets[2],
		s.OverflowBuckets, s.SketchBins, float64(s.Bytes)/(1<<20), s.BytesPerCell(), per(0), per(1), per(2))
}

// Stats measures the Rollup.
func (r *Rollup) Stats() Stats {
	var s Stats
	for _, t := range r.allTables() {
		t.mu.RLock()
		t.stats(&s)
		t.mu.RUnlock()
	}
	return s
}

// FloorTo rounds t down to a multiple of w (w > 0), also for negative t.
func FloorTo(t, w int64) int64 { return floorTo(t, w) }

// CeilTo rounds t up to a multiple of w (w > 0), saturating at the int64
// extremes.
func CeilTo(t, w int64) int64 { return ceilTo(t, w) }

func floorTo(t, w int64) int64 {
	q := t / w
	if t%w != 0 && t < 0 {
		q--
	}
	return q * w
}

// ceilTo rounds t up to a multiple of w, saturating at the int64 extremes.
func ceilTo(t, w int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	f := floorTo(t, w)
	if f == t {
		return t
	}
	if f > math.MaxInt64-w {
		return math.MaxInt64
	}
	return f + w
}
