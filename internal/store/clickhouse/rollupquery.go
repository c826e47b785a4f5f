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
	"github.com/alidade/alidade/internal/rollup"
)

const minuteMs = 60_000

// Rollups reports whether Execute answers covered Subs from the rollup
// table (Options.Rollups, and a rollup table made with this Alidade's
// specs). The planner then leaves Sub.Source to the store.
func (s *Store) Rollups() bool {
	_, ok := s.RollupCoverFrom()
	return s.rollups && ok
}

// RollupsOff says why Execute does not read the rollup table, "" when it
// does.
func (s *Store) RollupsOff() string {
	_, ok := s.RollupCoverFrom()
	switch {
	case !s.hasRollup:
		return fmt.Sprintf("ClickHouse database %s has no rollup tables (they are made when the --store URL says rollups=on: clickhouse://HOST:8123/%s?rollups=on)", s.cfg.Database, s.cfg.Database)
	case !ok:
		return "the rollup tables were made by an Alidade with other rollup specs"
	case !s.rollups:
		return "rollups are turned off on this server (serve --rollups off)"
	}
	return ""
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
		isDim := func(f point.Field) bool { _, ok := l.dimExpr(f); return ok }
		isDist := func(f point.Field) bool { return f.Kind == point.KindDouble && slices.Contains(l.dists, f.Pos) }
		if why := rollup.AggWhy(a, sub.Dataset, l.spec, isDim, isDist); why != "" {
			return why
		}
		switch a.Type {
		case query.AggSum, query.AggAvg, query.AggMin, query.AggMax:
			if a.Field.Pos > l.doubles {
				return fmt.Sprintf("%s of %s: dataset %q's rollup keeps sums, minima and maxima of its schema's %d doubles only", what, a.Field.Column(), sub.Dataset, l.doubles)
			}
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

// span is a part of a Sub's range and where it is read from: a rollup
// tier (its rows of buckets in [from, to)), or points (tier nil).
type span struct {
	tier     *rollupTier
	from, to int64
}

// rollupSpans covers [from, to) with the coarsest rows that fit: whole
// days, then whole hours, from their tiers (when the interval is a whole
// number of them, or none, and from the first whole one after cover), the
// rest of the whole minutes from the minute tier, and the edges that are
// not whole minutes from points.
func rollupSpans(from, to, interval, cover int64) []span {
	lo, hi := ceilMinute(from), floorMinute(to)
	if lo >= hi {
		return []span{{nil, from, to}}
	}
	var out []span
	if from < lo {
		out = append(out, span{nil, from, lo})
	}
	var fill func(lo, hi int64, tiers []*rollupTier)
	fill = func(lo, hi int64, tiers []*rollupTier) {
		if lo >= hi {
			return
		}
		t := tiers[0]
		if len(tiers) == 1 {
			out = append(out, span{t, lo, hi})
			return
		}
		tlo, thi := (max(lo, cover)+t.ms-1)/t.ms*t.ms, hi/t.ms*t.ms
		if interval%t.ms != 0 || tlo >= thi {
			fill(lo, hi, tiers[1:])
			return
		}
		fill(lo, tlo, tiers[1:])
		out = append(out, span{t, tlo, thi})
		fill(thi, hi, tiers[1:])
	}
	fill(lo, hi, []*rollupTier{&dayTier, &hourTier, &minuteTier})
	if hi < to {
		out = append(out, span{nil, hi, to})
	}
	return out
}

// rollupPlan is a Sub printed over the rollup tables.
type rollupPlan struct {
	sql   string
	slots []int // per aggregation, its column
	// sketch is the distribution slot (1-based) of each quantile
	// aggregation's column.
	sketch map[int]int
	nCols  int
	mixed  bool // the range's edges are read from points
}

// printRollup prints sub as one SELECT over a UNION ALL of one branch per
// span: each branch aggregates its rows by the Sub's groups (on the
// shards, through a Distributed table) into partial figures — sums, minima
// with their weights, and for quantiles and uniq aggregate states — and
// the outer SELECT adds them up by group. A branch over points computes
// the same figures from the points' columns. rollupWhy(sub) is "".
func (s *Store) printRollup(sub *query.Sub, l *rollupLayout) (*rollupPlan, error) {
	cover, _ := s.RollupCoverFrom()
	from, to := max(sub.From, 0), min(sub.To, maxTimestamp)
	spans := rollupSpans(from, to, sub.Interval, cover)
	p := &rollupPlan{slots: make([]int, len(sub.Aggs)), sketch: map[int]int{}}
	var keyNames []string
	for i := range sub.GroupBy {
		keyNames = append(keyNames, "g"+strconv.Itoa(i))
	}
	if sub.Interval > 0 {
		keyNames = append(keyNames, "bkt")
	}
	// Outer columns: keys, then one per aggregation, then n_.
	outer := append([]string(nil), keyNames...)
	nPart := 0
	part := func() string { nPart++; return "p" + strconv.Itoa(nPart-1) }
	type partCol struct{ rollup, points string }
	var parts []partCol // per p_k, its expression in each kind of branch
	for i, a := range sub.Aggs {
		rc, err := conjunctionOf(a.Filter, func(f query.Filter) (string, error) {
			col, _ := l.dimExpr(f.Field)
			return conditionOn(f, col)
		})
		if err != nil {
			return nil, err
		}
		pc, err := conjunction(a.Filter)
		if err != nil {
			return nil, err
		}
		merge := func(fn, state string) string { return ifAgg(fn+"Merge", state, rc) }
		w := partCol{"toFloat64(" + merge("sum", "w") + ")", "toFloat64(" + ifAgg("sum", "_sample_interval", pc) + ")"}
		pos := strconv.Itoa(a.Field.Pos)
		x := "double" + pos
		add := func(c partCol) string { parts = append(parts, c); return part() }
		var e string
		switch a.Type {
		case query.AggCount:
			e = "sum(" + add(w) + ")"
		case query.AggSum:
			e = "sum(" + add(partCol{"toFloat64(arrayElement(" + merge("sumForEach", "s") + ", " + pos + "))", "toFloat64(" + ifAgg("sum", x+" * _sample_interval", pc) + ")"}) + ")"
		case query.AggAvg:
			sx, sw := add(partCol{"toFloat64(arrayElement(" + merge("sumForEach", "s") + ", " + pos + "))", "toFloat64(" + ifAgg("sum", x+" * _sample_interval", pc) + ")"}), add(w)
			e = "if(sum(" + sw + ") = 0, NULL, sum(" + sx + ") / sum(" + sw + "))"
		case query.AggMin, query.AggMax:
			fn, st := "min", "mn"
			if a.Type == query.AggMax {
				fn, st = "max", "mx"
			}
			v, sw := add(partCol{"toFloat64(arrayElement(" + merge(fn+"ForEach", st) + ", " + pos + "))", "toFloat64(" + ifAgg(fn, x, pc) + ")"}), add(w)
			e = "if(sum(" + sw + ") = 0, NULL, " + fn + "If(" + v + ", " + sw + " > 0))"
		case query.AggPercentage:
			num, tot := add(w), add(partCol{"toFloat64(sumMerge(w))", "toFloat64(sum(_sample_interval))"})
			e = "if(sum(" + tot + ") = 0, NULL, 100 * sum(" + num + ") / sum(" + tot + "))"
		case query.AggUniq:
			dx, _ := l.dimExpr(a.Field)
			px, err := fieldExpr(a.Field)
			if err != nil {
				return nil, err
			}
			if a.Field.Kind == point.KindDouble {
				px = "(" + px + " + 0)"
			}
			u := "uniqExactMerge(" + add(partCol{ifAgg("uniqExactState", dx, rc), ifAgg("uniqExactState", px, pc)}) + ")"
			e = "if(" + u + " = 0, NULL, toFloat64(" + u + "))"
		case query.AggQuantile, query.AggQuantiles:
			slot := slices.Index(l.dists, a.Field.Pos) + 1
			key := fmt.Sprintf("bitShiftLeft(toUInt64(%d), %d) + toUInt64(%s + %d)", slot, sketchSlotBits, sketchOrdSQL(x), sketchOffset)
			e = "sumMapMerge(" + add(partCol{ifAgg("sumMapMergeState", "sk", rc), ifAgg("sumMapState", "["+key+"], [toUInt64(_sample_interval)]", pc)}) + ")"
			p.sketch[len(outer)] = slot
		default:
			return nil, fmt.Errorf("clickhouse: aggregation %q over the rollup", a.Type)
		}
		p.slots[i] = len(outer)
		outer = append(outer, e)
	}
	nIdx := len(parts)
	parts = append(parts, partCol{"countMerge(n)", "count()"})
	outer = append(outer, "sum(p"+strconv.Itoa(nIdx)+")")
	p.nCols = len(outer)

	scope := fmt.Sprintf("project = %d AND dataset = %s", sub.Project, chString(sub.Dataset))
	var branches []string
	for _, sp := range spans {
		var cols []string
		var where, table string
		var filters string
		var err error
		if sp.tier == nil {
			p.mixed = true
			table = s.table
			where = fmt.Sprintf("%s AND timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d) AND %s >= %d AND %s < %d",
				scope, sp.from/1000, (sp.to-1)/1000, tsMs, sp.from, tsMs, sp.to)
			for i, g := range sub.GroupBy {
				e, err := fieldExpr(g)
				if err != nil {
					return nil, err
				}
				if g.Kind == point.KindDouble {
					e = "(" + e + " + 0)"
				}
				cols = append(cols, e+" AS g"+strconv.Itoa(i))
			}
			if sub.Interval > 0 {
				iv := strconv.FormatInt(sub.Interval, 10)
				cols = append(cols, "intDiv("+tsMs+", "+iv+") * "+iv+" AS bkt")
			}
			for k, pc := range parts {
				cols = append(cols, pc.points+" AS p"+strconv.Itoa(k))
			}
			filters, err = conjunction(sub.Filter)
		} else {
			table, _ = s.rollupNames(*sp.tier)
			where = fmt.Sprintf("%s AND minute >= toDateTime(%d) AND minute < toDateTime(%d)", scope, sp.from/1000, sp.to/1000)
			for i, g := range sub.GroupBy {
				e, _ := l.dimExpr(g)
				cols = append(cols, e+" AS g"+strconv.Itoa(i))
			}
			if sub.Interval > 0 {
				iv := strconv.FormatInt(sub.Interval, 10)
				cols = append(cols, "intDiv(toInt64(minute) * 1000, "+iv+") * "+iv+" AS bkt")
			}
			for k, pc := range parts {
				cols = append(cols, pc.rollup+" AS p"+strconv.Itoa(k))
			}
			filters, err = conjunctionOf(sub.Filter, func(f query.Filter) (string, error) {
				col, _ := l.dimExpr(f.Field)
				return conditionOn(f, col)
			})
		}
		if err != nil {
			return nil, err
		}
		if filters != "" {
			where += " AND " + filters
		}
		b := "SELECT " + strings.Join(cols, ", ") + " FROM " + table + " WHERE " + where
		if len(keyNames) > 0 {
			b += " GROUP BY " + strings.Join(keyNames, ", ")
		}
		branches = append(branches, b)
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(outer, ", ") + " FROM (" + strings.Join(branches, " UNION ALL ") + ")")
	if len(keyNames) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(keyNames, ", "))
	}
	if sub.MaxGroups > 0 {
		fmt.Fprintf(&b, " LIMIT %d", sub.MaxGroups+1)
	}
	p.sql = b.String()
	return p, nil
}

// executeRollup answers sub from the rollup tables.
func (s *Store) executeRollup(ctx context.Context, sub *query.Sub, l *rollupLayout) (*query.SubResult, error) {
	p, err := s.printRollup(sub, l)
	if err != nil {
		return nil, err
	}
	res, err := s.runSub(ctx, sub, p.sql, " from the rollup table", func(b *bytes.Buffer) (*query.SubResult, error) { return decodeRollupRows(b, sub, p) })
	if err != nil {
		return nil, err
	}
	res.Source = query.SourceRollup
	if p.mixed {
		res.Source = query.SourceMixed
	}
	return res, nil
}

// decodeRollupRows reads the answer of a printed rollup query.
func decodeRollupRows(r *bytes.Buffer, sub *query.Sub, p *rollupPlan) (*query.SubResult, error) {
	return decodeRows(r, sub, p.nCols, func(t *tsvReader, row *query.SubRow) error {
		for i, a := range sub.Aggs {
			c := p.slots[i]
			if slot, ok := p.sketch[c]; ok {
				bins, err := parseSketch(t.fields[c], slot)
				if err != nil {
					return fmt.Errorf("row %d: column %d: %w", t.row, c+1, err)
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
				return fmt.Errorf("row %d: column %d: %w", t.row, c+1, err)
			}
			row.Values[i] = f
		}
		return nil
	})
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
