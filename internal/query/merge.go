package query

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// targetKind says what an Order key sorts by.
type targetKind uint8

const (
	tTime targetKind = iota + 1
	tGroup
	tColumn
)

// target is a resolved Order key.
type target struct {
	kind targetKind
	i    int // group or column index
	q    int // index into a quantiles column's Qs, or -1
}

// target resolves an Order key against q's output names.
func (q *Query) target(key string) (target, error) {
	if key == "t" {
		if q.Interval == 0 {
			return target{}, fmt.Errorf("\"t\" is the time bucket, and the query has no interval")
		}
		return target{kind: tTime, q: -1}, nil
	}
	if i := slices.Index(q.GroupBy, key); i >= 0 {
		return target{kind: tGroup, i: i, q: -1}, nil
	}
	for i, c := range q.Columns {
		if c.Name != key {
			continue
		}
		if a := q.Subs[c.Sub].Aggs[c.Agg]; a.Type == AggQuantiles {
			return target{}, fmt.Errorf("%q is a quantiles aggregation: order by one of its keys, such as %q", key, key+"."+QuantileKey(a.Qs[0]))
		}
		return target{kind: tColumn, i: i, q: -1}, nil
	}
	if name, sub, ok := strings.Cut(key, "."); ok {
		for i, c := range q.Columns {
			if a := q.Subs[c.Sub].Aggs[c.Agg]; c.Name == name && a.Type == AggQuantiles {
				for k, qq := range a.Qs {
					if QuantileKey(qq) == sub {
						return target{kind: tColumn, i: i, q: k}, nil
					}
				}
			}
		}
	}
	return target{}, fmt.Errorf("%q is not an output name: order by an aggregation, a groupBy field or \"t\"", clip(key, 64))
}

// mrow is a merged row.
type mrow struct {
	groups []any // string or float64 per groupBy name
	bucket int64
	vals   []any // per Column: nil, float64 or Object
}

// merger merges the SubResults of a Query by (groups, bucket).
type merger struct {
	q      *Query
	colOf  [][]int    // colOf[sub][agg] is the column index
	qkeys  [][]string // quantile keys per column (nil for other types)
	byKey  map[string]*mrow
	rows   []*mrow
	keyBuf []byte
}

func newMerger(q *Query) *merger {
	m := &merger{q: q, colOf: make([][]int, len(q.Subs)), qkeys: make([][]string, len(q.Columns)), byKey: map[string]*mrow{}}
	for i := range q.Subs {
		m.colOf[i] = make([]int, len(q.Subs[i].Aggs))
	}
	for ci, c := range q.Columns {
		m.colOf[c.Sub][c.Agg] = ci
		a := q.Subs[c.Sub].Aggs[c.Agg]
		for _, qq := range a.Qs {
			m.qkeys[ci] = append(m.qkeys[ci], QuantileKey(qq))
		}
	}
	return m
}

// add merges the rows of Sub si.
func (m *merger) add(si int, res *SubResult) error {
	s := &m.q.Subs[si]
	seen := make(map[*mrow]bool, len(res.Rows))
	for ri := range res.Rows {
		r := &res.Rows[ri]
		groups, err := normGroups(s, r)
		if err != nil {
			return err
		}
		if len(r.Values) != len(s.Aggs) {
			return fmt.Errorf("%w: dataset %q: a row has %d values for %d aggregations", ErrBadResult, s.Dataset, len(r.Values), len(s.Aggs))
		}
		bucket := r.Bucket
		if m.q.Interval == 0 {
			bucket = 0
		}
		row := m.row(groups, bucket)
		if seen[row] {
			return fmt.Errorf("%w: dataset %q: a group appears twice", ErrBadResult, s.Dataset)
		}
		seen[row] = true
		for ai, v := range r.Values {
			ci := m.colOf[si][ai]
			if row.vals[ci], err = m.value(ci, &s.Aggs[ai], v); err != nil {
				return fmt.Errorf("%w: dataset %q: aggregation %q: %v", ErrBadResult, s.Dataset, m.q.Columns[ci].Name, err)
			}
		}
	}
	return nil
}

// row returns the merged row of (groups, bucket), adding it when new.
func (m *merger) row(groups []any, bucket int64) *mrow {
	b := m.keyBuf[:0]
	for _, g := range groups {
		switch x := g.(type) {
		case string:
			b = append(b, 's')
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		case float64:
			b = append(b, 'f')
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	b = binary.BigEndian.AppendUint64(b, uint64(bucket))
	m.keyBuf = b
	if r, ok := m.byKey[string(b)]; ok {
		return r
	}
	r := &mrow{groups: groups, bucket: bucket, vals: make([]any, len(m.q.Columns))}
	m.byKey[string(b)] = r
	m.rows = append(m.rows, r)
	return r
}

// finish fills what no Sub answered: count and sum read 0, the rest null. A
// query with neither groupBy nor interval always answers one row.
func (m *merger) finish() []*mrow {
	q := m.q
	if len(m.rows) == 0 && len(q.GroupBy) == 0 && q.Interval == 0 {
		m.row([]any{}, 0)
	}
	for ci, c := range q.Columns {
		t := q.Subs[c.Sub].Aggs[c.Agg].Type
		if t != AggCount && t != AggSum {
			continue
		}
		for _, r := range m.rows {
			if r.vals[ci] == nil {
				r.vals[ci] = 0.0
			}
		}
	}
	return m.rows
}

// normGroups checks a row's group values against the Sub's groupBy fields:
// strings for index and blobs, numbers (as float64) for numeric fields. A nil
// reads as the AE default, "" or 0.
func normGroups(s *Sub, r *SubRow) ([]any, error) {
	if len(r.Groups) != len(s.GroupBy) {
		return nil, fmt.Errorf("%w: dataset %q: a row has %d group values for %d groupBy fields", ErrBadResult, s.Dataset, len(r.Groups), len(s.GroupBy))
	}
	out := make([]any, len(r.Groups))
	for i, g := range r.Groups {
		numeric := s.GroupBy[i].Kind.IsNumeric()
		switch {
		case g == nil && numeric:
			out[i] = 0.0
		case g == nil:
			out[i] = ""
		case numeric:
			f, ok := toFloat(g)
			if !ok {
				return nil, fmt.Errorf("%w: dataset %q: group value %T for numeric field %s", ErrBadResult, s.Dataset, g, s.GroupBy[i].Column())
			}
			out[i] = f + 0 // -0 becomes 0
		default:
			str, ok := g.(string)
			if !ok {
				return nil, fmt.Errorf("%w: dataset %q: group value %T for string field %s", ErrBadResult, s.Dataset, g, s.GroupBy[i].Column())
			}
			out[i] = str
		}
	}
	return out, nil
}

// value normalizes an aggregation value: nil, a finite float64, or for
// quantiles an Object keyed by QuantileKey.
func (m *merger) value(ci int, a *Agg, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.Type != AggQuantiles {
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("value of type %T", v)
		}
		return finite(f), nil
	}
	var vals []any
	switch x := v.(type) {
	case []float64:
		for _, f := range x {
			vals = append(vals, finite(f))
		}
	case []any:
		for _, e := range x {
			f, ok := toFloat(e)
			if e != nil && !ok {
				return nil, fmt.Errorf("quantile value of type %T", e)
			}
			vals = append(vals, finiteIf(f, e != nil))
		}
	default:
		return nil, fmt.Errorf("quantiles value of type %T", v)
	}
	if len(vals) != len(a.Qs) {
		return nil, fmt.Errorf("%d quantile values for %d qs", len(vals), len(a.Qs))
	}
	return Object{Keys: m.qkeys[ci], Values: vals}, nil
}

func finite(f float64) any {
	return finiteIf(f, true)
}

func finiteIf(f float64, ok bool) any {
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// toFloat reads the numeric types a backend may reasonably return.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// sortRows orders rows by the query's OrderBy keys (nulls last), then by
// bucket, then by group values, all ascending unless a key says desc.
func sortRows(q *Query, rows []*mrow) {
	targets := make([]target, len(q.OrderBy))
	for i, o := range q.OrderBy {
		t, err := q.target(o.Key)
		if err != nil {
			panic("BUG: orderBy key did not resolve after validation: " + err.Error())
		}
		targets[i] = t
	}
	slices.SortFunc(rows, func(a, b *mrow) int {
		for i, t := range targets {
			if c := compareOrdered(t.get(a), t.get(b), q.OrderBy[i].Desc); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		for i := range a.groups {
			if c := compareValues(a.groups[i], b.groups[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func (t target) get(r *mrow) any {
	switch t.kind {
	case tTime:
		return float64(r.bucket)
	case tGroup:
		return r.groups[t.i]
	}
	v := r.vals[t.i]
	if o, ok := v.(Object); ok && t.q >= 0 {
		return o.Values[t.q]
	}
	return v
}

// compareOrdered compares two values with nulls last in either direction.
func compareOrdered(a, b any, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	c := compareValues(a, b)
	if desc {
		return -c
	}
	return c
}

// compareValues orders numbers before strings, numbers numerically and
// strings bytewise.
func compareValues(a, b any) int {
	af, aNum := a.(float64)
	bf, bNum := b.(float64)
	switch {
	case aNum && bNum:
		return cmp.Compare(af, bf)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	as, _ := a.(string)
	bs, _ := b.(string)
	return strings.Compare(as, bs)
}
