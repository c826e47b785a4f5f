package storetest

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// reference is an independent evaluator of query.Sub: plain Go over the
// points the suite wrote, following the semantics documented on query.Sub,
// query.Agg and query.SubRow. It holds every point appended (and not
// expired) in the backend it shadows.
type reference struct {
	batches []store.Batch
}

// add records points as appended.
func (r *reference) add(batches ...store.Batch) {
	r.batches = append(r.batches, batches...)
}

// drop forgets the points for which gone returns true, as a retention pass
// would have removed them.
func (r *reference) drop(gone func(project int64, p *point.Point) bool) {
	for i := range r.batches {
		b := &r.batches[i]
		kept := b.Points[:0:0]
		for j := range b.Points {
			if !gone(b.Project, &b.Points[j]) {
				kept = append(kept, b.Points[j])
			}
		}
		b.Points = kept
	}
}

// refRow is one expected group.
type refRow struct {
	groups []any
	bucket int64
	// values are what SubRow.Values should hold; for quantile and quantiles
	// the exactly interpolated quantile, checked with a rank tolerance
	// against sorted.
	values []any
	// sorted holds, for each quantile or quantiles aggregation, the
	// values it saw, each repeated by its weight, in ascending order.
	sorted [][]float64
}

// refResult is the expected answer to a Sub.
type refResult struct {
	rows        map[string]*refRow // by rowKey
	rowsScanned int64
}

// execute answers sub from the recorded points.
func (r *reference) execute(sub *query.Sub) *refResult {
	res := &refResult{rows: map[string]*refRow{}}
	members := map[string][]*point.Point{}
	for bi := range r.batches {
		b := &r.batches[bi]
		if b.Project != sub.Project {
			continue
		}
		for pi := range b.Points {
			p := &b.Points[pi]
			if p.Dataset != sub.Dataset || p.Timestamp < sub.From || p.Timestamp >= sub.To || !matchAll(sub.Filter, p) {
				continue
			}
			res.rowsScanned++
			groups := make([]any, len(sub.GroupBy))
			for i, g := range sub.GroupBy {
				groups[i] = fieldValue(p, g)
			}
			var bucket int64
			if sub.Interval > 0 {
				bucket = floorDiv(p.Timestamp, sub.Interval) * sub.Interval
			}
			k := rowKey(groups, bucket)
			if _, ok := res.rows[k]; !ok {
				res.rows[k] = &refRow{groups: groups, bucket: bucket}
			}
			members[k] = append(members[k], p)
		}
	}
	// Without groupBy and interval there is always exactly one row.
	if len(sub.GroupBy) == 0 && sub.Interval == 0 && len(res.rows) == 0 {
		res.rows[rowKey(nil, 0)] = &refRow{groups: []any{}}
	}
	for k, row := range res.rows {
		row.values = make([]any, len(sub.Aggs))
		row.sorted = make([][]float64, len(sub.Aggs))
		for i, a := range sub.Aggs {
			row.values[i], row.sorted[i] = evalAgg(a, members[k])
		}
	}
	return res
}

// evalAgg computes one aggregation over a group's points. It returns the
// value and, for quantiles, the weighted sorted values it was taken from.
func evalAgg(a query.Agg, pts []*point.Point) (any, []float64) {
	if a.Type == query.AggPercentage {
		var all, hit float64
		for _, p := range pts {
			w := float64(p.Weight())
			all += w
			if matchAll(a.Filter, p) {
				hit += w
			}
		}
		if all == 0 {
			return nil, nil
		}
		return 100 * hit / all, nil
	}
	var seen []*point.Point
	for _, p := range pts {
		if matchAll(a.Filter, p) {
			seen = append(seen, p)
		}
	}
	num := func(p *point.Point) float64 { return fieldValue(p, a.Field).(float64) }
	switch a.Type {
	case query.AggCount:
		var s sum
		for _, p := range seen {
			s.add(float64(p.Weight()))
		}
		return s.value(), nil
	case query.AggSum:
		var s sum
		for _, p := range seen {
			s.add(float64(p.Weight()) * num(p))
		}
		return s.value(), nil
	}
	if len(seen) == 0 {
		// Every other aggregation is null over no rows.
		return nil, nil
	}
	switch a.Type {
	case query.AggAvg:
		var s, w sum
		for _, p := range seen {
			s.add(float64(p.Weight()) * num(p))
			w.add(float64(p.Weight()))
		}
		return s.value() / w.value(), nil
	case query.AggMin, query.AggMax:
		m := num(seen[0])
		for _, p := range seen[1:] {
			if x := num(p); a.Type == query.AggMin && x < m || a.Type == query.AggMax && x > m {
				m = x
			}
		}
		return m, nil
	case query.AggQuantile, query.AggQuantiles:
		var xs []float64
		for _, p := range seen {
			for range p.Weight() {
				xs = append(xs, num(p))
			}
		}
		sort.Float64s(xs)
		if a.Type == query.AggQuantile {
			return interpolate(xs, a.Q), xs
		}
		qs := make([]float64, len(a.Qs))
		for i, q := range a.Qs {
			qs[i] = interpolate(xs, q)
		}
		return qs, xs
	case query.AggUniq:
		distinct := map[any]bool{}
		for _, p := range seen {
			distinct[fieldValue(p, a.Field)] = true
		}
		return float64(len(distinct)), nil
	}
	panic("storetest: reference has no aggregation " + string(a.Type))
}

// interpolate is the q-quantile of sorted xs by linear interpolation between
// the order statistics around rank q·(n-1).
func interpolate(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// quantileBounds is the rank tolerance the suite grants a backend's quantile:
// the answer must lie between the order statistics at ranks
// floor(q·(n-1))-1 and ceil(q·(n-1))+1 (clamped to the data), so that a
// backend may interpolate, pick the nearest rank or use either neighbour,
// but not be off by more than one rank. DuckDB's quantile_cont interpolates
// linearly exactly as interpolate does, so in practice it is exact.
func quantileBounds(xs []float64, q float64) (lo, hi float64) {
	pos := q * float64(len(xs)-1)
	l := max(int(math.Floor(pos))-1, 0)
	h := min(int(math.Ceil(pos))+1, len(xs)-1)
	return xs[l], xs[h]
}

// sum adds floats with Neumaier's compensation, so that the reference is
// more accurate than the tolerance it grants.
type sum struct{ s, c float64 }

func (s *sum) add(x float64) {
	t := s.s + x
	if math.Abs(s.s) >= math.Abs(x) {
		s.c += (s.s - t) + x
	} else {
		s.c += (x - t) + s.s
	}
	s.s = t
}

func (s *sum) value() float64 { return s.s + s.c }

// fieldValue is a point's value of f: a string for index and blobs, a
// float64 for numeric fields.
func fieldValue(p *point.Point, f point.Field) any {
	switch f.Kind {
	case point.KindIndex:
		return p.Index
	case point.KindBlob:
		return p.Blob(f.Pos)
	case point.KindDouble:
		return p.Double(f.Pos)
	case point.KindTimestamp:
		return float64(p.Timestamp)
	case point.KindSampleInterval:
		return float64(p.Weight())
	}
	panic("storetest: field of unknown kind")
}

func matchAll(fs []query.Filter, p *point.Point) bool {
	for _, f := range fs {
		if !match(f, p) {
			return false
		}
	}
	return true
}

// match evaluates one filter: strings compare bytewise, numbers as float64.
func match(f query.Filter, p *point.Point) bool {
	v := fieldValue(p, f.Field)
	switch f.Op {
	case query.OpIn, query.OpNotIn:
		found := false
		switch vs := f.Value.(type) {
		case []string:
			for _, x := range vs {
				found = found || v == any(x)
			}
		case []float64:
			for _, x := range vs {
				found = found || v == any(x)
			}
		default:
			panic("storetest: bad list value")
		}
		return found == (f.Op == query.OpIn)
	case query.OpContains:
		return strings.Contains(v.(string), f.Value.(string))
	case query.OpStartsWith:
		return strings.HasPrefix(v.(string), f.Value.(string))
	}
	var c int
	switch x := v.(type) {
	case string:
		c = strings.Compare(x, f.Value.(string))
	case float64:
		y := f.Value.(float64)
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		}
	}
	switch f.Op {
	case query.OpEq:
		return c == 0
	case query.OpNe:
		return c != 0
	case query.OpLt:
		return c < 0
	case query.OpLe:
		return c <= 0
	case query.OpGt:
		return c > 0
	case query.OpGe:
		return c >= 0
	}
	panic("storetest: unknown op " + string(f.Op))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rowKey identifies a row by its group values and bucket.
func rowKey(groups []any, bucket int64) string {
	var b strings.Builder
	for _, g := range groups {
		switch x := g.(type) {
		case string:
			b.WriteString(strconv.Quote(x))
		case float64:
			b.WriteString(strconv.FormatFloat(x+0, 'g', -1, 64))
		default:
			b.WriteString("?")
		}
		b.WriteString(", ")
	}
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(bucket, 10))
	return "(" + b.String() + ")"
}
