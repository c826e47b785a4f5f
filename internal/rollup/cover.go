package rollup

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// ErrNotCovered is what Execute wraps when a Sub cannot be answered from
// the rollup; the message says why. The planner then reads raw points.
var ErrNotCovered = errors.New("rollup does not cover the query")

// Covers reports whether Execute can answer sub exactly (quantiles within
// RelativeAccuracy) and, when not, why. It holds when:
//   - every filter, aggregation filter and groupBy field is index1 or a
//     dimension of the dataset's spec (any operator is then exact: it is
//     evaluated on each series' values);
//   - every aggregation is count, percentage, sum, avg, min or max of a
//     double, quantile or quantiles of a distribution, or uniq of index1 or
//     a dimension;
//   - From, To and Interval are whole minutes, and where minutes have been
//     compacted away, whole hours;
//   - the table covers [From, To) (see Options.CoverFrom);
//   - when the query filters or groups on dimensions, no bucket it reads
//     holds an overflow cell.
//
// The answer can change as Add, Seal and Compact run; Execute checks again
// and returns ErrNotCovered if it no longer holds.
func (r *Rollup) Covers(sub *query.Sub) (ok bool, why string) {
	if sub == nil {
		return false, "no query"
	}
	t, unlock := r.readTable(sub)
	defer unlock()
	_, why = t.check(sub)
	return why == "", why
}

// readTable returns the table of sub's project and dataset, read-locked,
// or an empty stand-in when it does not exist.
func (r *Rollup) readTable(sub *query.Sub) (*table, func()) {
	if t := r.lookup(sub.Project, sub.Dataset); t != nil {
		t.mu.RLock()
		return t, t.mu.RUnlock
	}
	spec := r.specOf(sub.Project, sub.Dataset)
	r.mu.RLock()
	from, end := r.from, r.end
	r.mu.RUnlock()
	return newTable(tableKey{sub.Project, sub.Dataset}, newLayout(spec), &r.opts, r.seed, from, end), func() {}
}

// seg is a run of buckets of one tier: [from, to).
type seg struct {
	tier     int
	from, to int64
}

// outBucket is one time bucket of the answer and the cells that make it.
type outBucket struct {
	label int64
	segs  []seg
}

// check returns the plan of sub, or why it is not covered.
func (t *table) check(sub *query.Sub) ([]outBucket, string) {
	if why := t.checkFields(sub); why != "" {
		return nil, why
	}
	switch {
	case sub.From%minuteMs != 0:
		return nil, fmt.Sprintf("from %s is not a whole minute", fmtMs(sub.From))
	case sub.To%minuteMs != 0:
		return nil, fmt.Sprintf("to %s is not a whole minute", fmtMs(sub.To))
	case sub.Interval < 0 || sub.Interval%minuteMs != 0:
		return nil, fmt.Sprintf("interval %s is not a whole number of minutes", time.Duration(sub.Interval)*time.Millisecond)
	case sub.From >= sub.To:
		return nil, "empty range"
	case sub.From < t.validFrom:
		if t.validFrom >= t.end {
			return nil, fmt.Sprintf("the rollup of dataset %q covers nothing", t.key.dataset)
		}
		return nil, fmt.Sprintf("the rollup of dataset %q covers from %s; the range starts at %s", t.key.dataset, fmtMs(t.validFrom), fmtMs(sub.From))
	case sub.To > t.end:
		return nil, fmt.Sprintf("the rollup of dataset %q covers until %s; the range ends at %s", t.key.dataset, fmtMs(t.end), fmtMs(sub.To))
	}
	if sub.Interval > 0 && (sub.To-sub.From < 0 || (sub.To-sub.From)/sub.Interval > query.MaxBuckets+1) {
		return nil, fmt.Sprintf("the interval gives more than %d buckets", query.MaxBuckets)
	}
	var plan []outBucket
	add := func(label, lo, hi int64) string {
		segs, why := t.segments(lo, hi)
		if why != "" {
			return why
		}
		plan = append(plan, outBucket{label: label, segs: segs})
		return ""
	}
	if sub.Interval == 0 {
		if why := add(0, sub.From, sub.To); why != "" {
			return nil, why
		}
	} else {
		first := floorTo(sub.From, sub.Interval)
		n := (sub.To-1-first)/sub.Interval + 1
		for i := range n {
			b := first + i*sub.Interval
			hi := sub.To
			if i < n-1 {
				hi = b + sub.Interval
			}
			if why := add(b, max(b, sub.From), hi); why != "" {
				return nil, why
			}
		}
	}
	if usesDimensions(sub) {
		for _, ob := range plan {
			for _, s := range ob.segs {
				var over *bucket
				t.eachBucket(s, func(b *bucket) bool {
					if b.overflow {
						over = b
					}
					return over == nil
				})
				if over != nil {
					return nil, fmt.Sprintf("the %s at %s has more series than the rollup keeps (%d a minute, %d in all) in an overflow cell: filters and groups on dimensions need raw points",
						tierName[s.tier], fmtMs(over.start), t.opts.MaxCellsPerMinute, t.opts.MaxSeries)
				}
			}
		}
	}
	return plan, ""
}

// segments covers [lo, hi) (whole minutes) with the coarsest buckets that
// fit: whole days from day cells, whole hours from hour cells, the rest
// from minute cells.
func (t *table) segments(lo, hi int64) ([]seg, string) {
	var segs []seg
	push := func(tier int, from, to int64) {
		if n := len(segs); n > 0 && segs[n-1].tier == tier && segs[n-1].to == from {
			segs[n-1].to = to
			return
		}
		segs = append(segs, seg{tier: tier, from: from, to: to})
	}
	// Each step takes a run of buckets of one tier, so the plan costs
	// the number of runs, not of minutes: a range of years over a table
	// with little data is as cheap as a day.
	for x := lo; x < hi; {
		switch {
		case x%dayMs == 0 && hi-x >= dayMs && x < t.dayTo && x >= t.validFrom:
			end := min(floorTo(hi, dayMs), ceilTo(t.dayTo, dayMs))
			push(tierDay, x, end)
			x = end
		case x%hourMs == 0 && hi-x >= hourMs && x < t.hourTo && x >= t.validFrom:
			// Up to the next day, where day cells may take over.
			end := min(floorTo(hi, hourMs), ceilTo(t.hourTo, hourMs), floorTo(x, dayMs)+dayMs)
			push(tierHour, x, end)
			x = end
		case x >= t.minFrom:
			// Up to the next sealed hour, where hour cells take over; past
			// the sealed hours, minutes to the end.
			end := hi
			if next := floorTo(x, hourMs) + hourMs; next < t.hourTo {
				end = min(end, next)
			}
			push(tierMinute, x, end)
			x = end
		default:
			return nil, fmt.Sprintf("minutes before %s are compacted to hours, and the range or interval cuts the hour at %s: align them to hours",
				fmtMs(t.minFrom), fmtMs(floorTo(x, hourMs)))
		}
	}
	return segs, ""
}

// eachBucket calls f with every bucket of s, in time order: stepping
// through the segment, or, when it spans more steps than its tier holds
// buckets, through the tier's buckets in it.
func (t *table) eachBucket(s seg, f func(b *bucket) bool) bool {
	bs := t.tiers[s.tier].buckets
	w := tierWidth[s.tier]
	if n := (s.to - s.from) / w; n > 64 && n > int64(len(bs)) {
		for _, x := range t.tiers[s.tier].startsIn(s.from, s.to) {
			if !f(bs[x]) {
				return false
			}
		}
		return true
	}
	for x := s.from; x < s.to; x += w {
		if b := bs[x]; b != nil {
			if !f(b) {
				return false
			}
		}
	}
	return true
}

func usesDimensions(sub *query.Sub) bool {
	if len(sub.Filter) > 0 || len(sub.GroupBy) > 0 {
		return true
	}
	for _, a := range sub.Aggs {
		if len(a.Filter) > 0 || a.Type == query.AggUniq {
			return true
		}
	}
	return false
}

// checkFields checks that every field sub reads is in the cells.
func (t *table) checkFields(sub *query.Sub) string {
	l := t.l
	notDim := func(what string, f point.Field) string {
		return fmt.Sprintf("%s %s: not a rollup dimension of dataset %q (%s)", what, column(f), t.key.dataset, l.spec.String())
	}
	checkFilters := func(what string, fs []query.Filter) string {
		for _, f := range fs {
			if _, _, ok := l.dim(f.Field); !ok {
				return notDim(what, f.Field)
			}
			if _, err := compileFilter(l, f); err != nil {
				return fmt.Sprintf("%s %s: %v", what, column(f.Field), err)
			}
		}
		return ""
	}
	if why := checkFilters("filter on", sub.Filter); why != "" {
		return why
	}
	for _, g := range sub.GroupBy {
		if _, _, ok := l.dim(g); !ok {
			return notDim("groupBy", g)
		}
	}
	if len(sub.Aggs) == 0 || len(sub.Aggs) > 64 {
		return fmt.Sprintf("%d aggregations; the rollup answers 1 to 64", len(sub.Aggs))
	}
	for _, a := range sub.Aggs {
		what := string(a.Type)
		isDim := func(f point.Field) bool { _, _, ok := l.dim(f); return ok }
		isDist := func(f point.Field) bool { return l.dist(f) >= 0 }
		if why := AggWhy(a, t.key.dataset, &l.spec, isDim, isDist); why != "" {
			return why
		}
		rest, _, _ := zeroFilter(l, a)
		if why := checkFilters(what+" filter on", rest); why != "" {
			return why
		}
		if a.Type == query.AggPercentage && len(a.Filter) == 0 {
			return "percentage without a filter"
		}
	}
	return ""
}

// AggWhy says why a rollup of dataset with spec cannot answer
// aggregation a, or "" when it can: count and percentage; sum, avg, min
// and max of a double; quantile and quantiles of a distribution (isDist),
// every q in (0, 1); uniq of a dimension (isDim). The aggregation's
// filters are the caller's to check. The embedded rollup and the
// ClickHouse store's rollup tables answer the same aggregations.
func AggWhy(a query.Agg, dataset string, spec *Spec, isDim, isDist func(point.Field) bool) string {
	what := string(a.Type)
	switch a.Type {
	case query.AggCount, query.AggPercentage:
	case query.AggSum, query.AggAvg, query.AggMin, query.AggMax:
		if a.Field.Kind != point.KindDouble || a.Field.Pos < 1 || a.Field.Pos > point.MaxDoubles {
			return fmt.Sprintf("%s of %s: the rollup keeps sums, minima and maxima of doubles only", what, column(a.Field))
		}
	case query.AggQuantile, query.AggQuantiles:
		if !isDist(a.Field) {
			return fmt.Sprintf("%s of %s: not a rollup distribution of dataset %q (%s)", what, column(a.Field), dataset, spec.String())
		}
		qs := a.Qs
		if a.Type == query.AggQuantile {
			qs = []float64{a.Q}
		}
		if len(qs) == 0 {
			return what + " with no q"
		}
		for _, q := range qs {
			if !(q > 0 && q < 1) {
				return fmt.Sprintf("%s: q %v is outside (0, 1)", what, q)
			}
		}
	case query.AggUniq:
		if !isDim(a.Field) {
			return fmt.Sprintf("uniq of %s: not a rollup dimension of dataset %q (%s)", column(a.Field), dataset, spec.String())
		}
	default:
		return fmt.Sprintf("aggregation %q is unknown to the rollup", a.Type)
	}
	return ""
}

// zeroFilter splits an aggregation's filters into those on dimensions
// and at most one zero test on a distribution d, which cells answer from
// their sketches (they count zeros apart, and negatives apart from
// positives): `d != 0` for count, and for sum, avg, quantile and
// quantiles of d; `d > 0` for quantile and quantiles of d. (A sketch
// counts as zero any |x| below about 1e-308.) dist is d's sketch slot, or
// -1 when there is no such test.
func zeroFilter(l *layout, a query.Agg) (rest []query.Filter, dist int, op query.Op) {
	for i, f := range a.Filter {
		if v, ok := f.Value.(float64); !ok || v != 0 {
			continue
		}
		d := l.dist(f.Field)
		if d < 0 {
			continue
		}
		quant := a.Type == query.AggQuantile || a.Type == query.AggQuantiles
		self := a.Field == f.Field
		ok := f.Op == query.OpNe && (a.Type == query.AggCount || self && (quant || a.Type == query.AggSum || a.Type == query.AggAvg)) ||
			f.Op == query.OpGt && self && quant
		if ok {
			rest = append(slices.Clone(a.Filter[:i]), a.Filter[i+1:]...)
			return rest, d, f.Op
		}
	}
	return a.Filter, -1, ""
}

func column(f point.Field) string {
	switch f.Kind {
	case point.KindIndex, point.KindTimestamp, point.KindSampleInterval:
		return f.Column()
	case point.KindBlob, point.KindDouble:
		if f.Pos >= 1 && f.Pos <= 20 {
			return f.Column()
		}
	}
	return fmt.Sprintf("field(kind %d, pos %d)", f.Kind, f.Pos)
}

func fmtMs(ms int64) string {
	switch ms {
	case math.MinInt64:
		return "the beginning"
	case math.MaxInt64:
		return "the end of time"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// cfilter is a filter compiled against a layout: it reads one value of a
// series.
type cfilter struct {
	kind byte // 'i', 'b' or 'n' (see layout.dim)
	i    int
	op   query.Op
	s    string
	x    float64
	ss   map[string]bool
	xs   map[float64]bool
}

func compileFilter(l *layout, f query.Filter) (cfilter, error) {
	kind, i, ok := l.dim(f.Field)
	if !ok {
		return cfilter{}, fmt.Errorf("not a dimension")
	}
	c := cfilter{kind: kind, i: i, op: f.Op}
	numeric := kind == 'n'
	switch f.Op {
	case query.OpEq, query.OpNe, query.OpLt, query.OpLe, query.OpGt, query.OpGe:
		if numeric {
			x, ok := f.Value.(float64)
			if !ok {
				return c, fmt.Errorf("value must be a number, got %T", f.Value)
			}
			c.x = x
		} else {
			s, ok := f.Value.(string)
			if !ok {
				return c, fmt.Errorf("value must be a string, got %T", f.Value)
			}
			c.s = s
		}
	case query.OpContains, query.OpStartsWith:
		s, ok := f.Value.(string)
		if !ok || numeric {
			return c, fmt.Errorf("%s needs a string field and value", f.Op)
		}
		c.s = s
	case query.OpIn, query.OpNotIn:
		if numeric {
			xs, ok := f.Value.([]float64)
			if !ok {
				return c, fmt.Errorf("value must be a list of numbers, got %T", f.Value)
			}
			c.xs = make(map[float64]bool, len(xs))
			for _, x := range xs {
				c.xs[x+0] = true
			}
		} else {
			ss, ok := f.Value.([]string)
			if !ok {
				return c, fmt.Errorf("value must be a list of strings, got %T", f.Value)
			}
			c.ss = make(map[string]bool, len(ss))
			for _, s := range ss {
				c.ss[s] = true
			}
		}
	default:
		return c, fmt.Errorf("operator %q is unknown", f.Op)
	}
	return c, nil
}

// match evaluates the filter on a series.
func (c *cfilter) match(s *series) bool {
	if c.kind == 'n' {
		x := s.nums[c.i]
		switch c.op {
		case query.OpEq:
			return x == c.x
		case query.OpNe:
			return x != c.x
		case query.OpLt:
			return x < c.x
		case query.OpLe:
			return x <= c.x
		case query.OpGt:
			return x > c.x
		case query.OpGe:
			return x >= c.x
		case query.OpIn:
			return c.xs[x]
		case query.OpNotIn:
			return !c.xs[x]
		}
		return false
	}
	v := s.index
	if c.kind == 'b' {
		v = s.blobs[c.i]
	}
	switch c.op {
	case query.OpEq:
		return v == c.s
	case query.OpNe:
		return v != c.s
	case query.OpLt:
		return v < c.s
	case query.OpLe:
		return v <= c.s
	case query.OpGt:
		return v > c.s
	case query.OpGe:
		return v >= c.s
	case query.OpIn:
		return c.ss[v]
	case query.OpNotIn:
		return !c.ss[v]
	case query.OpContains:
		return strings.Contains(v, c.s)
	case query.OpStartsWith:
		return strings.HasPrefix(v, c.s)
	}
	return false
}

// groupValue returns a series' value of a dimension as a SubRow group
// value, and a key fragment identifying it.
func groupValue(s *series, kind byte, i int) (any, string) {
	switch kind {
	case 'i':
		return s.index, "s" + strconv.Itoa(len(s.index)) + ":" + s.index
	case 'b':
		return s.blobs[i], "s" + strconv.Itoa(len(s.blobs[i])) + ":" + s.blobs[i]
	}
	x := s.nums[i]
	return x, "f" + strconv.FormatUint(math.Float64bits(x), 16) + ";"
}
