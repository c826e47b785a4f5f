package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

const minuteMs = 60_000

// Rollups reports whether Execute answers covered Subs from the rollup
// table (Options.Rollups, and a rollup table made with this Alidade's
// specs). The planner then leaves Sub.Source to the store.
func (s *Store) Rollups() bool {
	_, ok := s.RollupCoverFrom()
	return s.rollups && ok
}

// dimExpr is the rollup table's expression of a dimension of l, or false.
func (l *rollupLayout) dimExpr(f point.Field) (string, bool) {
	switch f.Kind {
	case point.KindIndex:
		return "index1", true
	case point.KindBlob:
		if i := slices.Index(l.blobs, f.Pos); i >= 0 {
			return "dblobs[" + strconv.Itoa(i+1) + "]", true
		}
	case point.KindDouble:
		if i := slices.Index(l.nums, f.Pos); i >= 0 {
			return "dnums[" + strconv.Itoa(i+1) + "]", true
		}
	}
	return "", false
}

// rollupWhy says why the rollup table cannot answer sub exactly (quantiles
// within SketchAccuracy), or "" when it can: every filter, aggregation
// filter and group is index1 or a dimension of the dataset's
// rollup.DefaultSpec; every aggregation is count, percentage, sum, avg,
// min or max of a double, quantile(s) with q in (0, 1) of a distribution,
// or uniq of a dimension; Interval is whole minutes; the rollup holds
// every point from From's minute on. Edges of the range that are not
// whole minutes are read from points (SubResult.Source mixed).
func (s *Store) rollupWhy(sub *query.Sub, l *rollupLayout) string {
	notDim := func(what string, f point.Field) string {
		return fmt.Sprintf("%s %s: not a rollup dimension of dataset %q (%s)", what, f.Column(), sub.Dataset, l.spec.String())
	}
	for _, f := range sub.Filter {
		if _, ok := l.dimExpr(f.Field); !ok {
			return notDim("filter on", f.Field)
		}
	}
	for _, g := range sub.GroupBy {
		if _, ok := l.dimExpr(g); !ok {
			return notDim("groupBy", g)
		}
	}
	if len(sub.Aggs) == 0 {
		return "no aggregations"
	}
	for _, a := range sub.Aggs {
		what := string(a.Type)
		for _, f := range a.Filter {
			if _, ok := l.dimExpr(f.Field); !ok {
				return notDim(what+" filter on", f.Field)
			}
		}
		switch a.Type {
		case query.AggCount, query.AggPercentage:
		case query.AggSum, query.AggAvg, query.AggMin, query.AggMax:
			if a.Field.Kind != point.KindDouble || a.Field.Pos < 1 || a.Field.Pos > point.MaxDoubles {
				return fmt.Sprintf("%s of %s: the rollup keeps sums, minima and maxima of doubles only", what, a.Field.Column())
			}
		case query.AggQuantile, query.AggQuantiles:
			if a.Field.Kind != point.KindDouble || !slices.Contains(l.dists, a.Field.Pos) {
				return fmt.Sprintf("%s of %s: not a rollup distribution of dataset %q (%s)", what, a.Field.Column(), sub.Dataset, l.spec.String())
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
			if _, ok := l.dimExpr(a.Field); !ok {
				return notDim("uniq of", a.Field)
			}
		default:
			return fmt.Sprintf("aggregation %q is unknown to the rollup", a.Type)
		}
	}
	cover, ok := s.RollupCoverFrom()
	switch {
	case !ok:
		return "the rollup table was made by an Alidade with other rollup specs"
	case sub.Interval < 0 || sub.Interval%minuteMs != 0:
		return fmt.Sprintf("interval %d ms is not a whole number of minutes", sub.Interval)
	case ceilMinute(sub.From) < cover:
		return fmt.Sprintf("the rollup table holds every point from %d (Unix ms) on; the range starts at %d", cover, sub.From)
	}
	return ""
}

func ceilMinute(t int64) int64  { return floorMinute(t + minuteMs - 1) }
func floorMinute(t int64) int64 { return t - ((t%minuteMs)+minuteMs)%minuteMs }

// rollupSource is what a rollup query reads: the rollup table's minutes
// in [lo, hi) and, where the range's edges are not whole minutes, the
// points in them aggregated into the same states (rollupSelectWhere), all
// in one UNION ALL; mixed reports edges. base scopes the rows to the
// project, dataset and range when there are no edges.
func rollupSource(table, points string, sub *query.Sub) (src, base string, mixed bool) {
	from, to := max(sub.From, 0), min(sub.To, maxTimestamp)
	lo, hi := ceilMinute(from), floorMinute(to)
	scope := fmt.Sprintf("project = %d AND dataset = %s", sub.Project, chString(sub.Dataset))
	minutes := func(a, b int64) string {
		return fmt.Sprintf("%s AND minute >= toDateTime(%d) AND minute < toDateTime(%d)", scope, a/1000, b/1000)
	}
	if lo == from && hi == to {
		return table, minutes(lo, hi), false
	}
	var parts []string
	edge := func(a, b int64) {
		w := fmt.Sprintf("%s AND timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d) AND %s >= %d AND %s < %d",
			scope, a/1000, (b-1)/1000, tsMs, a, tsMs, b)
		parts = append(parts, rollupSelectWhere(points, w))
	}
	if lo >= hi {
		edge(from, to)
	} else {
		if from < lo {
			edge(from, lo)
		}
		parts = append(parts, "SELECT project, dataset, minute, index1, dblobs, dnums, n, w, s, mn, mx, sk FROM "+table+" WHERE "+minutes(lo, hi))
		if hi < to {
			edge(hi, to)
		}
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")", "", true
}

// rollupPlan is a Sub printed over the rollup table.
type rollupPlan struct {
	sql   string
	slots []int // per aggregation, its column
	// sketches are the distribution slot (1-based) of each quantile
	// aggregation's column.
	sketch map[int]int
	nCols  int
	mixed  bool // the range's edges are read from points
}

// printRollup prints sub over the rollup table (and the points of the
// range's edges); rollupWhy(sub) is "".
func printRollup(table, points string, sub *query.Sub, l *rollupLayout) (*rollupPlan, error) {
	cond := func(f query.Filter) (string, error) {
		col, _ := l.dimExpr(f.Field)
		return conditionOn(f, col)
	}
	var keys, names []string
	for i, g := range sub.GroupBy {
		e, _ := l.dimExpr(g)
		keys = append(keys, fmt.Sprintf("%s AS g%d", e, i))
		names = append(names, "g"+strconv.Itoa(i))
	}
	if sub.Interval > 0 {
		iv := strconv.FormatInt(sub.Interval, 10)
		keys = append(keys, "intDiv(toInt64(minute) * 1000, "+iv+") * "+iv+" AS bkt")
		names = append(names, "bkt")
	}
	p := &rollupPlan{slots: make([]int, len(sub.Aggs)), sketch: map[int]int{}}
	cols := append([]string(nil), keys...)
	for i, a := range sub.Aggs {
		c, err := conjunctionOf(a.Filter, cond)
		if err != nil {
			return nil, err
		}
		merge := func(fn, state string) string {
			if c == "" {
				return fn + "Merge(" + state + ")"
			}
			return fn + "MergeIf(" + state + ", " + c + ")"
		}
		w := merge("sum", "w")
		none := w + " = 0"
		pos := strconv.Itoa(a.Field.Pos)
		var e string
		switch a.Type {
		case query.AggCount:
			e = "toFloat64(" + w + ")"
		case query.AggSum:
			e = "toFloat64(arrayElement(" + merge("sumForEach", "s") + ", " + pos + "))"
		case query.AggAvg:
			e = "if(" + none + ", NULL, arrayElement(" + merge("sumForEach", "s") + ", " + pos + ") / " + w + ")"
		case query.AggMin:
			e = "if(" + none + ", NULL, toFloat64(arrayElement(" + merge("minForEach", "mn") + ", " + pos + ")))"
		case query.AggMax:
			e = "if(" + none + ", NULL, toFloat64(arrayElement(" + merge("maxForEach", "mx") + ", " + pos + ")))"
		case query.AggPercentage:
			e = "if(sumMerge(w) = 0, NULL, 100 * " + w + " / sumMerge(w))"
		case query.AggUniq:
			x, _ := l.dimExpr(a.Field)
			u := "uniqExact(" + x + ")"
			if c != "" {
				u = "uniqExactIf(" + x + ", " + c + ")"
			}
			e = "if(" + u + " = 0, NULL, toFloat64(" + u + "))"
		case query.AggQuantile, query.AggQuantiles:
			e = merge("sumMap", "sk")
			p.sketch[len(cols)] = slices.Index(l.dists, a.Field.Pos) + 1
		default:
			return nil, fmt.Errorf("clickhouse: aggregation %q over the rollup", a.Type)
		}
		p.slots[i] = len(cols)
		cols = append(cols, e)
	}
	cols = append(cols, "countMerge(n) AS n_")
	p.nCols = len(cols)
	src, where, mixed := rollupSource(table, points, sub)
	p.mixed = mixed
	if len(sub.Filter) > 0 {
		c, err := conjunctionOf(sub.Filter, cond)
		if err != nil {
			return nil, err
		}
		if where != "" {
			where += " AND "
		}
		where += c
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(cols, ", ") + " FROM " + src)
	if where != "" {
		b.WriteString(" WHERE " + where)
	}
	if len(names) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(names, ", "))
	}
	if sub.MaxGroups > 0 {
		fmt.Fprintf(&b, " LIMIT %d", sub.MaxGroups+1)
	}
	p.sql = b.String()
	return p, nil
}

// executeRollup answers sub from the rollup table.
func (s *Store) executeRollup(ctx context.Context, sub *query.Sub, l *rollupLayout) (*query.SubResult, error) {
	table, _ := s.rollupNames()
	p, err := printRollup(table, s.table, sub, l)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := s.do(ctx, p.sql+"\nFORMAT TabSeparated", nil, &buf); err != nil {
		return nil, fmt.Errorf("query %s from the rollup table: %w", sub.Dataset, err)
	}
	res, err := decodeRollupRows(&buf, sub, p)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: query %s from the rollup table: %w", s.cfg.HTTP, sub.Dataset, err)
	}
	res.Source = query.SourceRollup
	if p.mixed {
		res.Source = query.SourceMixed
	}
	return res, nil
}

// decodeRollupRows reads the answer of a printed rollup query.
func decodeRollupRows(r *bytes.Buffer, sub *query.Sub, p *rollupPlan) (*query.SubResult, error) {
	res := &query.SubResult{}
	t := newTSVReader(r)
	nKeys := len(sub.GroupBy)
	if sub.Interval > 0 {
		nKeys++
	}
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return res, nil
		}
		if len(t.fields) != p.nCols {
			return nil, fmt.Errorf("row %d has %d columns; want %d", t.row, len(t.fields), p.nCols)
		}
		if sub.MaxGroups > 0 && len(res.Rows) >= sub.MaxGroups {
			return nil, fmt.Errorf("%w: more than %d", query.ErrTooManyGroups, sub.MaxGroups)
		}
		row := query.SubRow{Groups: make([]any, len(sub.GroupBy)), Values: make([]any, len(sub.Aggs))}
		for i, g := range sub.GroupBy {
			if t.nulls[i] {
				return nil, fmt.Errorf("row %d: group %s is NULL", t.row, g.Column())
			}
			if g.Kind.IsNumeric() {
				if row.Groups[i], err = parseFloat(t.fields[i]); err != nil {
					return nil, fmt.Errorf("row %d: group %s: %w", t.row, g.Column(), err)
				}
			} else {
				row.Groups[i] = string(t.fields[i])
			}
		}
		if sub.Interval > 0 {
			if row.Bucket, err = strconv.ParseInt(string(t.fields[nKeys-1]), 10, 64); err != nil {
				return nil, fmt.Errorf("row %d: bucket: %w", t.row, err)
			}
		}
		for i, a := range sub.Aggs {
			c := p.slots[i]
			if slot, ok := p.sketch[c]; ok {
				bins, err := parseSketch(t.fields[c], slot)
				if err != nil {
					return nil, fmt.Errorf("row %d: column %d: %w", t.row, c+1, err)
				}
				qs := a.Qs
				if a.Type == query.AggQuantile {
					qs = []float64{a.Q}
				}
				out := make([]float64, len(qs))
				if !sketchQuantiles(bins, qs, out) {
					continue
				}
				if a.Type == query.AggQuantile {
					row.Values[i] = out[0]
				} else {
					row.Values[i] = out
				}
				continue
			}
			if t.nulls[c] {
				continue
			}
			f, err := parseFloat(t.fields[c])
			if err != nil {
				return nil, fmt.Errorf("row %d: column %d: %w", t.row, c+1, err)
			}
			row.Values[i] = f
		}
		n, err := strconv.ParseInt(string(t.fields[p.nCols-1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row %d: point count: %w", t.row, err)
		}
		res.RowsScanned += n
		res.Rows = append(res.Rows, row)
	}
}

// sketchBin is n weighted values in bin ord of one distribution.
type sketchBin struct {
	ord int64
	n   uint64
}

// maxSketchBins bounds the bins one answer's sketch may hold: a
// distribution has at most about 2·2^17 bins, 8 slots more than any
// dataset has.
const maxSketchBins = 1 << 21

var errSketch = errors.New("unreadable sketch")

// parseSketch reads a sumMap answer, ([key,…],[n,…]) with keys ascending,
// and returns the bins of distribution slot (1-based), ascending.
func parseSketch(b []byte, slot int) ([]sketchBin, error) {
	if len(b) < 7 || b[0] != '(' || b[1] != '[' || b[len(b)-1] != ')' || b[len(b)-2] != ']' {
		return nil, fmt.Errorf("%w: want ([keys],[counts]), got %.40q", errSketch, b)
	}
	ks, ns, ok := bytes.Cut(b[2:len(b)-2], []byte("],["))
	if !ok {
		return nil, fmt.Errorf("%w: want ([keys],[counts]), got %.40q", errSketch, b)
	}
	split := func(p []byte) [][]byte {
		if len(p) == 0 {
			return nil
		}
		return bytes.Split(p, []byte(","))
	}
	keys, counts := split(ks), split(ns)
	if len(keys) != len(counts) {
		return nil, fmt.Errorf("%w: %d keys and %d counts", errSketch, len(keys), len(counts))
	}
	if len(keys) > maxSketchBins {
		return nil, fmt.Errorf("%w: %d bins; at most %d", errSketch, len(keys), maxSketchBins)
	}
	var bins []sketchBin
	last := int64(math.MinInt64)
	for i := range keys {
		k, err := strconv.ParseUint(string(keys[i]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", errSketch, i, err)
		}
		n, err := strconv.ParseUint(string(counts[i]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: count %d: %v", errSketch, i, err)
		}
		if int(k>>sketchSlotBits) != slot || n == 0 {
			continue
		}
		ord := int64(k&(1<<sketchSlotBits-1)) - sketchOffset
		if ord <= last {
			return nil, fmt.Errorf("%w: keys not ascending at %d", errSketch, i)
		}
		last = ord
		bins = append(bins, sketchBin{ord: ord, n: n})
	}
	return bins, nil
}

// sketchQuantiles fills out[i] with the weighted quantile qs[i] of the
// binned values, interpolating between the values at ranks floor(q·(W-1))
// and ceil(q·(W-1)) as DuckDB's quantile_cont does (and the embedded
// rollup), each value read as its bin's representative. It reports false
// when there are no values. bins are ascending.
func sketchQuantiles(bins []sketchBin, qs []float64, out []float64) bool {
	var total uint64
	for _, b := range bins {
		total += b.n
	}
	if total == 0 {
		return false
	}
	at := func(rank uint64) float64 {
		var cum uint64
		for _, b := range bins {
			if cum += b.n; rank < cum {
				return sketchValue(b.ord)
			}
		}
		return sketchValue(bins[len(bins)-1].ord)
	}
	for i, q := range qs {
		r := q * float64(total-1)
		lo := uint64(math.Floor(r))
		f := r - math.Floor(r)
		a, b := at(lo), at(min(lo+1, total-1))
		out[i] = a + (b-a)*f
	}
	return true
}
