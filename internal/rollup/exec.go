package rollup

import (
	"context"
	"fmt"
	"slices"

	"github.com/alidade/alidade/internal/query"
)

var _ query.Executor = (*Rollup)(nil)

// Execute answers sub from the cells, with the semantics documented on
// query.Agg: count and sum weighted and 0 over no rows, the others nil over
// no rows; quantiles interpolated between ranks as DuckDB's quantile_cont,
// within RelativeAccuracy of the exact value (for values of one sign).
// RowsScanned is the number of stored points the cells represent. When the
// rollup does not cover sub it returns an error wrapping ErrNotCovered.
func (r *Rollup) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	if sub == nil {
		return nil, fmt.Errorf("%w: no query", ErrNotCovered)
	}
	t, unlock := r.readTable(sub)
	defer unlock()
	return t.answer(ctx, sub, sub)
}

// answer answers sub over the buckets of planned's range (sub's, or its
// whole buckets) plus the cells of srcs. t is read-locked.
func (t *table) answer(ctx context.Context, sub, planned *query.Sub, srcs ...edgeSource) (*query.SubResult, error) {
	plan, why := t.check(planned)
	if why != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotCovered, why)
	}
	e, err := newExec(t, sub)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, plan, srcs...)
}

// cagg is an aggregation compiled against a table.
type cagg struct {
	typ    query.AggType
	stat   int // double index for sum, avg, min, max
	qg     int // quantile group for quantile and quantiles
	qs     []float64
	uniq   int // uniq field slot
	filter []cfilter
	// zd is the sketch slot of a zero test (see zeroFilter), or -1.
	zd int
}

// qgroup is one sketch accumulator per row, shared by the quantile
// aggregations of the same distribution under the same filter.
type qgroup struct {
	dist int
	agg  int // an aggregation whose filter bit selects the cells
	// total says every cell counts (no filter, no groups): a bucket's
	// total sketch stands for its cells' sketches.
	total bool
	// zop is the zero test's operator: != drops zeros, > also negatives.
	zop query.Op
}

// smemo is what a query needs of one series, computed once per series.
type smemo struct {
	pass bool
	gid  int32
	mask uint64 // bit i: the series passes aggregation i's filter
	vals []int32
}

type racc struct {
	w        uint64
	sum      float64
	min, max float64
	has      bool
	set      map[int32]struct{}
}

type row struct {
	gid  int32
	n, w uint64
	a    []racc
	q    []*acc
}

type exec struct {
	t      *table
	sub    *query.Sub
	filter []cfilter
	group  [][2]int // (kind, i) per groupBy field
	aggs   []cagg
	qgs    []qgroup
	uniqs  [][2]int // (kind, i) per uniq field slot
	valIDs []map[string]int32

	memo     []int32 // per sid: index+1 into memos
	memos    []smemo
	groupIDs map[string]int32
	groups   [][]any

	rowOf []int32 // per gid: index+1 into live
	live  []*row
	pool  []*acc

	out      []query.SubRow
	scanned  int64
	dims     bool // the query filters or groups on dimensions
	anyTotal bool // some qgroup reads bucket totals
	// zeroTest says some aggregation reads a sketch's zero count;
	// cellSketches, that some qgroup reads every cell's sketches.
	zeroTest, cellSketches bool
	bad                    bool // it met an overflow cell (check should have refused)
}

func newExec(t *table, sub *query.Sub) (*exec, error) {
	e := &exec{t: t, sub: sub, groupIDs: map[string]int32{}, dims: usesDimensions(sub)}
	var err error
	compile := func(fs []query.Filter) ([]cfilter, error) {
		out := make([]cfilter, len(fs))
		for i, f := range fs {
			if out[i], err = compileFilter(t.l, f); err != nil {
				return nil, fmt.Errorf("%w: filter on %s: %v", ErrNotCovered, column(f.Field), err)
			}
		}
		return out, nil
	}
	if e.filter, err = compile(sub.Filter); err != nil {
		return nil, err
	}
	for _, g := range sub.GroupBy {
		kind, i, _ := t.l.dim(g)
		e.group = append(e.group, [2]int{int(kind), i})
	}
	type qkey struct {
		dist   int
		filter string
	}
	qgOf := map[qkey]int{}
	for ai, a := range sub.Aggs {
		c := cagg{typ: a.Type, stat: a.Field.Pos - 1, qg: -1, uniq: -1}
		rest, zd, zop := zeroFilter(t.l, a)
		c.zd = zd
		e.zeroTest = e.zeroTest || zd >= 0
		if c.filter, err = compile(rest); err != nil {
			return nil, err
		}
		switch a.Type {
		case query.AggQuantile, query.AggQuantiles:
			c.qs = a.Qs
			if a.Type == query.AggQuantile {
				c.qs = []float64{a.Q}
			}
			k := qkey{t.l.dist(a.Field), fmt.Sprintf("%v", a.Filter)}
			g, ok := qgOf[k]
			if !ok {
				g = len(e.qgs)
				qgOf[k] = g
				e.qgs = append(e.qgs, qgroup{dist: k.dist, agg: ai, zop: zop,
					total: len(sub.Filter) == 0 && len(sub.GroupBy) == 0 && len(rest) == 0})
				e.anyTotal = e.anyTotal || e.qgs[g].total
				e.cellSketches = e.cellSketches || !e.qgs[g].total
			}
			c.qg = g
		case query.AggUniq:
			kind, i, _ := t.l.dim(a.Field)
			f := [2]int{int(kind), i}
			c.uniq = slices.Index(e.uniqs, f)
			if c.uniq < 0 {
				c.uniq = len(e.uniqs)
				e.uniqs = append(e.uniqs, f)
				e.valIDs = append(e.valIDs, map[string]int32{})
			}
		}
		e.aggs = append(e.aggs, c)
	}
	return e, nil
}

// memoOf returns what the query needs of series sid.
func (e *exec) memoOf(sid uint32) *smemo {
	if int(sid) >= len(e.memo) {
		e.memo = append(e.memo, make([]int32, len(e.t.series)-len(e.memo))...)
	}
	if k := e.memo[sid]; k > 0 {
		return &e.memos[k-1]
	}
	s := &e.t.series[sid]
	m := smemo{pass: true}
	if sid == 0 && e.dims {
		m.pass, e.bad = false, true
	}
	for i := range e.filter {
		if !m.pass || !e.filter[i].match(s) {
			m.pass = false
			break
		}
	}
	if m.pass {
		key := ""
		var vals []any
		if len(e.group) > 0 {
			vals = make([]any, len(e.group))
			for i, g := range e.group {
				var k string
				vals[i], k = groupValue(s, byte(g[0]), g[1])
				key += k
			}
		}
		gid, ok := e.groupIDs[key]
		if !ok {
			gid = int32(len(e.groups))
			e.groupIDs[key] = gid
			e.groups = append(e.groups, vals)
		}
		m.gid = gid
		for i := range e.aggs {
			ok := true
			for j := range e.aggs[i].filter {
				if !e.aggs[i].filter[j].match(s) {
					ok = false
					break
				}
			}
			if ok {
				m.mask |= 1 << i
			}
		}
		if len(e.uniqs) > 0 {
			m.vals = make([]int32, len(e.uniqs))
			for u, f := range e.uniqs {
				_, k := groupValue(s, byte(f[0]), f[1])
				id, ok := e.valIDs[u][k]
				if !ok {
					id = int32(len(e.valIDs[u]))
					e.valIDs[u][k] = id
				}
				m.vals[u] = id
			}
		}
	}
	e.memos = append(e.memos, m)
	e.memo[sid] = int32(len(e.memos))
	return &e.memos[len(e.memos)-1]
}

func (e *exec) row(gid int32) *row {
	if int(gid) >= len(e.rowOf) {
		e.rowOf = append(e.rowOf, make([]int32, len(e.groups)-len(e.rowOf))...)
	}
	if k := e.rowOf[gid]; k > 0 {
		return e.live[k-1]
	}
	r := &row{gid: gid, a: make([]racc, len(e.aggs))}
	if len(e.qgs) > 0 {
		r.q = make([]*acc, len(e.qgs))
	}
	e.live = append(e.live, r)
	e.rowOf[gid] = int32(len(e.live))
	return r
}

// cell adds a cell; with useTotal, the qgroups that read bucket totals
// skip its sketches.
func (e *exec) cell(c *cell, useTotal bool) {
	m := e.memoOf(c.sid)
	if !m.pass {
		return
	}
	r := e.row(m.gid)
	r.n += c.n
	r.w += c.w
	for i := range e.aggs {
		if m.mask&(1<<i) == 0 {
			continue
		}
		a, ra := &e.aggs[i], &r.a[i]
		switch a.typ {
		case query.AggCount, query.AggPercentage:
			ra.w += c.w
			if a.zd >= 0 {
				ra.w -= c.sk[a.zd].zero
			}
		case query.AggSum:
			ra.sum += c.stat(a.stat).sum
		case query.AggAvg:
			ra.sum += c.stat(a.stat).sum
			ra.w += c.w
			if a.zd >= 0 {
				ra.w -= c.sk[a.zd].zero
			}
		case query.AggMin:
			if st := c.stat(a.stat); !ra.has || st.min < ra.min {
				ra.min, ra.has = st.min, true
			}
		case query.AggMax:
			if st := c.stat(a.stat); !ra.has || st.max > ra.max {
				ra.max, ra.has = st.max, true
			}
		case query.AggUniq:
			if ra.set == nil {
				ra.set = map[int32]struct{}{}
			}
			ra.set[m.vals[a.uniq]] = struct{}{}
		}
	}
	for qi := range e.qgs {
		g := &e.qgs[qi]
		if m.mask&(1<<g.agg) == 0 || useTotal && g.total {
			continue
		}
		q := r.q[qi]
		if q == nil {
			q = e.getAcc()
			r.q[qi] = q
		}
		q.addSketch(&c.sk[g.dist])
	}
}

// addTotals merges a bucket's total sketches into the (only) row.
func (e *exec) addTotals(b *bucket) {
	r := e.row(0)
	for qi := range e.qgs {
		g := &e.qgs[qi]
		if !g.total {
			continue
		}
		if r.q[qi] == nil {
			r.q[qi] = e.getAcc()
		}
		r.q[qi].addSketch(&b.total[g.dist])
	}
}

func (e *exec) getAcc() *acc {
	if n := len(e.pool); n > 0 {
		a := e.pool[n-1]
		e.pool = e.pool[:n-1]
		return a
	}
	return &acc{}
}

// run answers the plan, and the cells of the edge sources too, each
// bucket in the output bucket of its label.
func (e *exec) run(ctx context.Context, plan []outBucket, srcs ...edgeSource) (*query.SubResult, error) {
	labels := mergeLabels(plan, srcs)
	main := e.t
	// Each table has series of its own: memos are per table.
	memos := make([][]int32, len(srcs))
	steps := 0
	var err error
	var sc cell
	visit := func(b *bucket) bool {
		if steps++; steps&1023 == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		n := b.ncells()
		if n == 0 {
			return true
		}
		useTotal := e.anyTotal && b.total != nil
		sk := e.zeroTest || e.cellSketches || e.anyTotal && !useTotal
		for i := range n {
			e.cell(b.at(i, &sc, sk), useTotal)
		}
		if useTotal {
			e.addTotals(b)
		}
		return true
	}
	pi := 0
	for _, label := range labels {
		if pi < len(plan) && plan[pi].label == label {
			for _, s := range plan[pi].segs {
				if main.eachBucket(s, visit); err != nil {
					return nil, err
				}
			}
			pi++
		}
		for si := range srcs {
			bs := srcs[si].byLabel[label]
			if len(bs) == 0 {
				continue
			}
			mainMemo := e.memo
			e.t, e.memo = srcs[si].t, memos[si]
			for _, b := range bs {
				visit(b)
			}
			memos[si] = e.memo
			e.t, e.memo = main, mainMemo
			if err != nil {
				return nil, err
			}
		}
		if e.sub.Interval > 0 {
			if err := e.flush(label); err != nil {
				return nil, err
			}
		}
	}
	if e.bad {
		return nil, fmt.Errorf("%w: an overflow cell in a query on dimensions", ErrNotCovered)
	}
	if e.sub.Interval == 0 {
		if err := e.flush(0); err != nil {
			return nil, err
		}
		if len(e.out) == 0 && len(e.sub.GroupBy) == 0 {
			e.out = append(e.out, e.values(&row{a: make([]racc, len(e.aggs)), q: make([]*acc, len(e.qgs))}, 0))
		}
	}
	return &query.SubResult{Rows: e.out, RowsScanned: e.scanned}, nil
}

// flush turns the live rows into SubRows of bucket label.
func (e *exec) flush(label int64) error {
	for _, r := range e.live {
		e.out = append(e.out, e.values(r, label))
		e.scanned += int64(r.n)
		e.rowOf[r.gid] = 0
		for _, q := range r.q {
			if q != nil {
				q.reset()
				e.pool = append(e.pool, q)
			}
		}
	}
	e.live = e.live[:0]
	if m := e.sub.MaxGroups; m > 0 && len(e.out) > m {
		return fmt.Errorf("%w: more than %d", query.ErrTooManyGroups, m)
	}
	return nil
}

func (e *exec) values(r *row, label int64) query.SubRow {
	sr := query.SubRow{Groups: []any{}, Bucket: label, Values: make([]any, len(e.aggs))}
	if g := e.groups; len(e.group) > 0 {
		sr.Groups = slices.Clone(g[r.gid])
	}
	for i := range e.aggs {
		a, ra := &e.aggs[i], &r.a[i]
		var v any
		switch a.typ {
		case query.AggCount:
			v = float64(ra.w)
		case query.AggSum:
			v = ra.sum + 0
		case query.AggAvg:
			if ra.w > 0 {
				v = ra.sum / float64(ra.w)
			}
		case query.AggMin:
			if ra.has {
				v = ra.min
			}
		case query.AggMax:
			if ra.has {
				v = ra.max
			}
		case query.AggPercentage:
			if r.w > 0 {
				v = 100 * float64(ra.w) / float64(r.w)
			}
		case query.AggUniq:
			if len(ra.set) > 0 {
				v = float64(len(ra.set))
			}
		case query.AggQuantile, query.AggQuantiles:
			q := r.q[a.qg]
			if q != nil {
				switch e.qgs[a.qg].zop {
				case query.OpGt:
					q.neg.reset()
					q.zero = 0
				case query.OpNe:
					q.zero = 0
				}
			}
			out := make([]float64, len(a.qs))
			if q != nil && q.quantiles(a.qs, out) {
				if a.typ == query.AggQuantile {
					v = out[0]
				} else {
					v = out
				}
			}
		}
		sr.Values[i] = v
	}
	return sr
}
