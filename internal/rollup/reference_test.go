package rollup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// This file holds the test data generator and a reference evaluator of
// query.Sub over raw points, written from query.Agg's documentation and
// independent of the rollup code: it reads points, not cells.

// T0 is the start (a UTC day) of the generated data, which spans 3 days.
var T0 = int64(1740787200000) // 2025-03-01T00:00:00Z

type ppoint struct {
	project int64
	p       point.Point
}

// genPoints returns n points over [T0, T0+3d): projects 1..3, datasets
// requests, ai_usage, vector_search and custom_ds (no built-in spec),
// skewed index1, dimensions, lognormal latencies, sample intervals 1/5/20.
func genPoints(n int, seed uint64) []ppoint {
	rng := rand.New(rand.NewPCG(seed, 99))
	zipf := rand.NewZipf(rng, 1.3, 1, 39)
	pick := func(xs []string, skew float64) string {
		for i := range xs[:len(xs)-1] {
			if rng.Float64() < skew {
				return xs[i]
			}
		}
		return xs[len(xs)-1]
	}
	logn := func(mu, sigma float64) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }
	si := func() uint32 {
		switch x := rng.IntN(10); {
		case x < 6:
			return []uint32{0, 1}[rng.IntN(2)]
		case x < 9:
			return 5
		default:
			return 20
		}
	}
	out := make([]ppoint, 0, n)
	for range n {
		ts := T0 + rng.Int64N(3*dayMs)
		proj := int64(1 + rng.IntN(3))
		var p point.Point
		switch k := rng.IntN(100); {
		case k < 55:
			ep := int(zipf.Uint64())
			status := []float64{200, 200, 200, 200, 201, 204, 301, 400, 404, 404, 500, 503}[rng.IntN(12)]
			p = point.Point{Dataset: "requests", Index: "/api/e" + strconv.Itoa(ep),
				Blobs: []string{fmt.Sprintf("https://x.test/e%d?id=%d", ep, rng.IntN(1e6)),
					pick([]string{"GET", "POST", "PUT", "DELETE"}, 0.6), pick([]string{"api", "web", "worker"}, 0.5)},
				Doubles: []float64{logn(3+float64(ep%5)/2, 1), status, math.Round(logn(8, 1.5))}}
			if rng.IntN(4) == 0 {
				p.Doubles = append(p.Doubles, math.Round(logn(6, 1))) // request_bytes, sometimes
			}
			if rng.IntN(20) == 0 {
				p.Doubles = p.Doubles[:2] // response_bytes unset: reads 0
			}
		case k < 80:
			model := pick([]string{"gpt-x", "claude-y", "llama-z", "mistral-w"}, 0.45)
			tok := math.Round(logn(6, 1.2))
			in := math.Round(tok * rng.Float64())
			p = point.Point{Dataset: "ai_usage", Index: model,
				Blobs:   []string{model, pick([]string{"chat", "search", "summary"}, 0.5), pick([]string{"openai", "anthropic", "meta"}, 0.4)},
				Doubles: []float64{tok, logn(6.5, 0.8), in, tok - in, logn(5, 0.7), tok * 1e-6, 0, 0, float64(rng.IntN(2))}}
			if rng.IntN(5) == 0 {
				p.Doubles = p.Doubles[:5] // no cost, no priced flag
			}
		case k < 90:
			score := 0.2 + 0.8*rng.Float64()
			if rng.IntN(3) == 0 {
				score = -score
			}
			p = point.Point{Dataset: "vector_search", Index: pick([]string{"docs", "faq", "code"}, 0.5),
				Blobs:   []string{pick([]string{"knn", "hybrid"}, 0.7), "q" + strconv.Itoa(rng.IntN(1000))},
				Doubles: []float64{float64(rng.IntN(20)), logn(2, 0.5), score, score * rng.Float64()}}
		default:
			p = point.Point{Dataset: "custom_ds", Index: "k" + strconv.Itoa(rng.IntN(5)),
				Blobs:   []string{"b" + strconv.Itoa(rng.IntN(3))},
				Doubles: []float64{rng.NormFloat64() * 100, float64(rng.IntN(7))}}
		}
		p.Timestamp = ts
		p.SampleInterval = si()
		out = append(out, ppoint{project: proj, p: p})
	}
	return out
}

// refRow is the expected answer for one (groups, bucket).
type refRow struct {
	groups []any
	bucket int64
	values []any
	// For quantile aggregations, the bounds the answer must lie in.
	qlo, qhi [][]float64
	n        int64
}

func refExecute(pts []ppoint, sub *query.Sub) (map[string]*refRow, int64) {
	rows := map[string]*refRow{}
	members := map[string][]*point.Point{}
	var scanned int64
	for i := range pts {
		pp := &pts[i]
		p := &pp.p
		if pp.project != sub.Project || p.Dataset != sub.Dataset || p.Timestamp < sub.From || p.Timestamp >= sub.To || !refMatchAll(sub.Filter, p) {
			continue
		}
		scanned++
		groups := make([]any, len(sub.GroupBy))
		for i, g := range sub.GroupBy {
			groups[i] = refField(p, g)
		}
		var bucket int64
		if sub.Interval > 0 {
			bucket = p.Timestamp - ((p.Timestamp%sub.Interval)+sub.Interval)%sub.Interval
		}
		k := refKey(groups, bucket)
		if rows[k] == nil {
			rows[k] = &refRow{groups: groups, bucket: bucket}
		}
		rows[k].n++
		members[k] = append(members[k], p)
	}
	if len(sub.GroupBy) == 0 && sub.Interval == 0 && len(rows) == 0 {
		rows[refKey(nil, 0)] = &refRow{groups: []any{}}
	}
	for k, r := range rows {
		r.values = make([]any, len(sub.Aggs))
		r.qlo = make([][]float64, len(sub.Aggs))
		r.qhi = make([][]float64, len(sub.Aggs))
		for i, a := range sub.Aggs {
			r.values[i], r.qlo[i], r.qhi[i] = refAgg(a, members[k])
		}
	}
	return rows, scanned
}

type wx struct {
	x float64
	w uint64
}

// refQuantile returns the exact weighted quantile (linear interpolation
// between ranks floor(q·(W-1)) and the next, over the values repeated by
// weight), and the error bound a sketch with accuracy alpha must meet:
// alpha·((1-f)|x_lo| + f|x_hi|), which is alpha·|exact| when both are of
// one sign.
func refQuantile(xs []wx, q, alpha float64) (exact, bound float64) {
	var total uint64
	for _, v := range xs {
		total += v.w
	}
	r := q * float64(total-1)
	lo := uint64(math.Floor(r))
	hi := min(lo+1, total-1)
	xl, xh := refAtRank(xs, lo), refAtRank(xs, hi)
	f := r - math.Floor(r)
	return xl + (xh-xl)*f, alpha * ((1-f)*math.Abs(xl) + f*math.Abs(xh))
}

// refAtRank is the value at 0-based rank in sorted xs repeated by weight.
func refAtRank(xs []wx, rank uint64) float64 {
	var cum uint64
	for _, v := range xs {
		cum += v.w
		if rank < cum {
			return v.x
		}
	}
	panic("rank out of range")
}

// refAgg evaluates one aggregation; for quantiles it returns the exact
// values and, as lo and hi, value ± 1% bounds.
func refAgg(a query.Agg, pts []*point.Point) (any, []float64, []float64) {
	if a.Type == query.AggPercentage {
		var all, hit uint64
		for _, p := range pts {
			all += uint64(p.Weight())
			if refMatchAll(a.Filter, p) {
				hit += uint64(p.Weight())
			}
		}
		if all == 0 {
			return nil, nil, nil
		}
		return 100 * float64(hit) / float64(all), nil, nil
	}
	var seen []*point.Point
	for _, p := range pts {
		if refMatchAll(a.Filter, p) {
			seen = append(seen, p)
		}
	}
	num := func(p *point.Point) float64 { return refField(p, a.Field).(float64) }
	switch a.Type {
	case query.AggCount:
		var w uint64
		for _, p := range seen {
			w += uint64(p.Weight())
		}
		return float64(w), nil, nil
	case query.AggSum:
		var s kahan
		for _, p := range seen {
			s.add(float64(p.Weight()) * num(p))
		}
		return s.sum + s.c, nil, nil
	}
	if len(seen) == 0 {
		return nil, nil, nil
	}
	switch a.Type {
	case query.AggAvg:
		var s kahan
		var w uint64
		for _, p := range seen {
			s.add(float64(p.Weight()) * num(p))
			w += uint64(p.Weight())
		}
		return (s.sum + s.c) / float64(w), nil, nil
	case query.AggMin, query.AggMax:
		m := num(seen[0])
		for _, p := range seen[1:] {
			if x := num(p); a.Type == query.AggMin && x < m || a.Type == query.AggMax && x > m {
				m = x
			}
		}
		return m, nil, nil
	case query.AggQuantile, query.AggQuantiles:
		xs := make([]wx, len(seen))
		for i, p := range seen {
			xs[i] = wx{num(p), uint64(p.Weight())}
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].x < xs[j].x })
		qs := a.Qs
		if a.Type == query.AggQuantile {
			qs = []float64{a.Q}
		}
		vals := make([]float64, len(qs))
		bounds := make([]float64, len(qs))
		for i, q := range qs {
			vals[i], bounds[i] = refQuantile(xs, q, 0.01)
		}
		lo, hi := make([]float64, len(qs)), make([]float64, len(qs))
		for i := range qs {
			lo[i], hi[i] = vals[i]-bounds[i], vals[i]+bounds[i]
		}
		if a.Type == query.AggQuantile {
			return vals[0], lo, hi
		}
		return vals, lo, hi
	case query.AggUniq:
		d := map[any]bool{}
		for _, p := range seen {
			d[refField(p, a.Field)] = true
		}
		return float64(len(d)), nil, nil
	}
	panic("reference: no aggregation " + string(a.Type))
}

type kahan struct{ sum, c float64 }

func (k *kahan) add(x float64) {
	t := k.sum + x
	if math.Abs(k.sum) >= math.Abs(x) {
		k.c += (k.sum - t) + x
	} else {
		k.c += (x - t) + k.sum
	}
	k.sum = t
}

func refField(p *point.Point, f point.Field) any {
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
	panic("reference: field of unknown kind")
}

func refMatchAll(fs []query.Filter, p *point.Point) bool {
	for _, f := range fs {
		if !refMatch(f, p) {
			return false
		}
	}
	return true
}

func refMatch(f query.Filter, p *point.Point) bool {
	v := refField(p, f.Field)
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
		if x < y {
			c = -1
		} else if x > y {
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
	panic("reference: unknown op " + string(f.Op))
}

func refKey(groups []any, bucket int64) string {
	var b strings.Builder
	for _, g := range groups {
		switch x := g.(type) {
		case string:
			b.WriteString(strconv.Quote(x))
		case float64:
			b.WriteString(strconv.FormatFloat(x+0, 'g', -1, 64))
		}
		b.WriteString(",")
	}
	return b.String() + "t=" + strconv.FormatInt(bucket, 10)
}
