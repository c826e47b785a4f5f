package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

var _ query.Executor = (*Store)(nil)

// tsMs is a point's timestamp in Unix ms (Int64) from its two columns.
const tsMs = "(toInt64(timestamp) * 1000 + timestamp_ms)"

// fieldExpr is the ClickHouse expression of a field's value: String for
// index1 and blobs, Float64 for the numeric fields (the timestamp in ms and
// the sample interval as Float64, as query.Filter values and SubRow groups
// are float64).
func fieldExpr(f point.Field) (string, error) {
	switch f.Kind {
	case point.KindIndex:
		return "index1", nil
	case point.KindBlob:
		if f.Pos < 1 || f.Pos > point.MaxBlobs {
			return "", fmt.Errorf("clickhouse: blob%d does not exist (blob1 to blob%d)", f.Pos, point.MaxBlobs)
		}
		return "blob" + strconv.Itoa(f.Pos), nil
	case point.KindDouble:
		if f.Pos < 1 || f.Pos > point.MaxDoubles {
			return "", fmt.Errorf("clickhouse: double%d does not exist (double1 to double%d)", f.Pos, point.MaxDoubles)
		}
		return "double" + strconv.Itoa(f.Pos), nil
	case point.KindTimestamp:
		return "toFloat64" + tsMs, nil
	case point.KindSampleInterval:
		// Append stores the weight, never 0.
		return "toFloat64(_sample_interval)", nil
	}
	return "", fmt.Errorf("clickhouse: field of unknown kind %d", f.Kind)
}

// literal prints a filter value for field f: a string literal for index
// and blob fields, a Float64 for numeric ones.
func literal(f point.Field, v any) (string, error) {
	if f.Kind.IsNumeric() {
		x, ok := v.(float64)
		if !ok {
			return "", fmt.Errorf("clickhouse: a %T value for the numeric field %s", v, f.Column())
		}
		return chFloat(x)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("clickhouse: a %T value for the text field %s", v, f.Column())
	}
	return chString(s), nil
}

// condition prints one filter. Strings compare bytewise in ClickHouse, as
// the query contract says.
func condition(f query.Filter) (string, error) {
	col, err := fieldExpr(f.Field)
	if err != nil {
		return "", err
	}
	return conditionOn(f, col)
}

// conditionOn prints one filter on col, the expression of f.Field.
func conditionOn(f query.Filter, col string) (string, error) {
	switch f.Op {
	case query.OpEq, query.OpNe, query.OpLt, query.OpLe, query.OpGt, query.OpGe:
		lit, err := literal(f.Field, f.Value)
		if err != nil {
			return "", err
		}
		return col + " " + string(f.Op) + " " + lit, nil
	case query.OpIn, query.OpNotIn:
		var items []string
		switch vs := f.Value.(type) {
		case []string:
			for _, v := range vs {
				lit, err := literal(f.Field, v)
				if err != nil {
					return "", err
				}
				items = append(items, lit)
			}
		case []float64:
			for _, v := range vs {
				lit, err := literal(f.Field, v)
				if err != nil {
					return "", err
				}
				items = append(items, lit)
			}
		default:
			return "", fmt.Errorf("clickhouse: %s filter on %s with a %T value; want a list", f.Op, f.Field.Column(), f.Value)
		}
		if len(items) == 0 {
			return "", fmt.Errorf("clickhouse: %s filter on %s with an empty list", f.Op, f.Field.Column())
		}
		op := " IN ("
		if f.Op == query.OpNotIn {
			op = " NOT IN ("
		}
		return col + op + strings.Join(items, ", ") + ")", nil
	case query.OpContains, query.OpStartsWith:
		if f.Field.Kind.IsNumeric() {
			return "", fmt.Errorf("clickhouse: %s filter on the numeric field %s", f.Op, f.Field.Column())
		}
		lit, err := literal(f.Field, f.Value)
		if err != nil {
			return "", err
		}
		if f.Op == query.OpContains {
			return "position(" + col + ", " + lit + ") > 0", nil
		}
		return "startsWith(" + col + ", " + lit + ")", nil
	}
	return "", fmt.Errorf("clickhouse: unknown filter operator %q", f.Op)
}

// conjunction prints filters joined by AND; "" for none.
func conjunction(fs []query.Filter) (string, error) {
	return conjunctionOf(fs, condition)
}

// conjunctionOf prints filters with cond, joined by AND; "" for none.
func conjunctionOf(fs []query.Filter, cond func(query.Filter) (string, error)) (string, error) {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		c, err := cond(f)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+c+")")
	}
	return strings.Join(parts, " AND "), nil
}

// ifAgg prints fn over args restricted to cond: fnIf(args, cond), or
// fn(args) when there is no condition.
func ifAgg(fn, args, cond string) string {
	if cond == "" {
		return fn + "(" + args + ")"
	}
	if args == "" {
		return fn + "If(" + cond + ")"
	}
	return fn + "If(" + args + ", " + cond + ")"
}

// aggregate prints one aggregation other than the quantiles as a Float64
// (Nullable where it has no value over no rows). ClickHouse's aggregates
// answer 0 (min, max, uniq) or nan (a 0/0 average) over no rows rather than
// NULL, so those test the rows seen first.
func aggregate(a query.Agg) (string, error) {
	cond, err := conjunction(a.Filter)
	if err != nil {
		return "", err
	}
	x := ""
	if a.Type != query.AggCount && a.Type != query.AggPercentage {
		if x, err = fieldExpr(a.Field); err != nil {
			return "", err
		}
	}
	none := ifAgg("count", "", cond) + " = 0"
	switch a.Type {
	case query.AggCount:
		return "toFloat64(" + ifAgg("sum", "_sample_interval", cond) + ")", nil
	case query.AggSum:
		return "toFloat64(" + ifAgg("sum", x+" * _sample_interval", cond) + ")", nil
	case query.AggAvg:
		return "if(" + none + ", NULL, " + ifAgg("sum", x+" * _sample_interval", cond) + " / " + ifAgg("sum", "_sample_interval", cond) + ")", nil
	case query.AggMin:
		return "if(" + none + ", NULL, toFloat64(" + ifAgg("min", x, cond) + "))", nil
	case query.AggMax:
		return "if(" + none + ", NULL, toFloat64(" + ifAgg("max", x, cond) + "))", nil
	case query.AggPercentage:
		if cond == "" {
			return "", fmt.Errorf("clickhouse: a percentage aggregation without a filter")
		}
		return "if(count() = 0, NULL, 100 * sumIf(_sample_interval, " + cond + ") / sum(_sample_interval))", nil
	case query.AggUniq:
		if a.Field.Kind == point.KindDouble {
			x = "(" + x + " + 0)" // -0 and 0 are one value, as for groups
		}
		u := ifAgg("uniqExact", x, cond)
		return "if(" + u + " = 0, NULL, toFloat64(" + u + "))", nil
	}
	return "", fmt.Errorf("clickhouse: unknown aggregation %q", a.Type)
}

// quantileGroup is the quantiles of one field under one filter: the
// sorted values are gathered once and every fraction asked is read off
// them.
type quantileGroup struct {
	field point.Field
	cond  string
	qs    []float64
	cols  []int // result column of each fraction
}

// plan is a printed Sub: its SQL and how to read the answer's columns.
type plan struct {
	sql string
	// slots are, per aggregation, the result columns its value is in
	// (one per fraction for quantiles).
	slots [][]int
	// nCols is the number of columns: groups, bucket, values, then n.
	nCols int
}

// printSub prints a Sub as one SELECT over table.
//
// Quantiles equal DuckDB's quantile_cont over the points repeated by their
// weight, bit for bit: linear interpolation between the order statistics
// lo and hi at ranks floor(P) and ceil(P), P = q·(Σw-1), computed as DuckDB
// computes it for a DOUBLE, lo·(1-d) + hi·d with d = P - floor(P).
//
// 18.16 has no interpolating weighted quantile (quantileExact picks a rank
// and ignores weights, quantileExactWeighted picks a rank,
// quantileTDigest approximates), so the query gathers each group's values
// and weights with groupArray, sorts the values, sorts the weights by the
// values, takes their running sum and finds the two order statistics with
// arrayFirstIndex:
//
//	inner: keys, plain aggregates, count() AS n_,
//	       groupArrayIf(x, cond) AS qvK, groupArrayIf(w, cond) AS qwK ... GROUP BY keys
//	mid:   qxK = arraySort(qvK), qcK = arrayCumSum(qwK sorted by qvK)
//	outer: per fraction q, with P = q·(qcK[-1] - 1) and d = P - floor(P):
//	       qxK[first i with qcK[i] > floor(P)]·(1-d) + qxK[first i with qcK[i] > ceil(P)]·d
//
// The cost: memory for every point of a group that the quantile sees
// (12 bytes each; a Distributed table ships each shard's arrays to the
// initiator, and groupArray refuses a state of more than 16,777,215
// values) and two sorts, O(n log n) per group; weighted or not, the points
// are never repeated. On 1M points this is most of the query's time (see
// BenchmarkExecute); a Sub without quantiles prints only the inner SELECT.
func printSub(table string, sub *query.Sub) (*plan, error) {
	var keys []string
	for i, g := range sub.GroupBy {
		e, err := fieldExpr(g)
		if err != nil {
			return nil, err
		}
		if g.Kind == point.KindDouble {
			// + 0 makes -0 0: ClickHouse groups them apart (it hashes
			// the bits), DuckDB and the query contract as one.
			e = "(" + e + " + 0)"
		}
		keys = append(keys, fmt.Sprintf("%s AS g%d", e, i))
	}
	if sub.Interval > 0 {
		iv := strconv.FormatInt(sub.Interval, 10)
		keys = append(keys, "intDiv("+tsMs+", "+iv+") * "+iv+" AS bkt")
	}
	nKeys := len(keys)
	p := &plan{slots: make([][]int, len(sub.Aggs))}
	var plain []string // a0, a1, ...: the aggregates that are not quantiles
	var groups []*quantileGroup
	byKey := map[string]*quantileGroup{}
	type qref struct {
		g        *quantileGroup
		start, n int
	}
	qrefs := map[int]qref{} // by aggregation
	for i, a := range sub.Aggs {
		if a.Type != query.AggQuantile && a.Type != query.AggQuantiles {
			e, err := aggregate(a)
			if err != nil {
				return nil, err
			}
			p.slots[i] = []int{nKeys + len(plain)}
			plain = append(plain, e)
			continue
		}
		cond, err := conjunction(a.Filter)
		if err != nil {
			return nil, err
		}
		if _, err := fieldExpr(a.Field); err != nil {
			return nil, err
		}
		k := a.Field.Column() + "|" + cond
		g := byKey[k]
		if g == nil {
			g = &quantileGroup{field: a.Field, cond: cond}
			byKey[k] = g
			groups = append(groups, g)
		}
		qs := a.Qs
		if a.Type == query.AggQuantile {
			qs = []float64{a.Q}
		}
		if len(qs) == 0 {
			return nil, fmt.Errorf("clickhouse: a quantiles aggregation of %s without fractions", a.Field.Column())
		}
		// The columns are numbered once all plain aggregates are known.
		qrefs[i] = qref{g, len(g.qs), len(qs)}
		for _, q := range qs {
			if !(q >= 0 && q <= 1) {
				return nil, fmt.Errorf("clickhouse: quantile fraction %v of %s; want 0 to 1", q, a.Field.Column())
			}
			g.qs = append(g.qs, q)
		}
	}
	col := nKeys + len(plain)
	for _, g := range groups {
		g.cols = make([]int, len(g.qs))
		for j := range g.cols {
			g.cols[j] = col
			col++
		}
	}
	for i, r := range qrefs {
		p.slots[i] = r.g.cols[r.start : r.start+r.n]
	}
	p.nCols = col + 1

	where, err := whereClause(sub)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	keyNames := make([]string, 0, nKeys)
	for i := range sub.GroupBy {
		keyNames = append(keyNames, "g"+strconv.Itoa(i))
	}
	if sub.Interval > 0 {
		keyNames = append(keyNames, "bkt")
	}
	plainNames := make([]string, len(plain))
	for i := range plain {
		plainNames[i] = "a" + strconv.Itoa(i)
	}

	// inner
	inner := append([]string(nil), keys...)
	for i, e := range plain {
		inner = append(inner, e+" AS "+plainNames[i])
	}
	inner = append(inner, "count() AS n_")
	for k, g := range groups {
		x, _ := fieldExpr(g.field)
		ks := strconv.Itoa(k)
		inner = append(inner, ifAgg("groupArray", x, g.cond)+" AS qv"+ks, ifAgg("groupArray", "_sample_interval", g.cond)+" AS qw"+ks)
	}
	innerSQL := "SELECT " + strings.Join(inner, ", ") + " FROM " + table + " WHERE " + where
	if nKeys > 0 {
		innerSQL += " GROUP BY " + strings.Join(keyNames, ", ")
	}
	if len(groups) == 0 {
		// The inner SELECT is the whole query: n_ is after the plain
		// aggregates, where the outer SELECT puts it.
		b.WriteString(innerSQL)
	} else {
		pass := append(append([]string(nil), keyNames...), plainNames...)
		mid := append([]string(nil), pass...)
		mid = append(mid, "n_")
		outer := append([]string(nil), pass...)
		for k, g := range groups {
			ks := strconv.Itoa(k)
			qv, qw, qx, qc := "qv"+ks, "qw"+ks, "qx"+ks, "qc"+ks
			// The weights in the order of their values: among equal
			// values their order does not change the value at a rank.
			mid = append(mid, "arraySort("+qv+") AS "+qx,
				"arrayCumSum(arraySort((w_, v_) -> v_, arrayMap(w_ -> toUInt64(w_), "+qw+"), "+qv+")) AS "+qc)
			for _, q := range g.qs {
				lit, err := chFloat(q)
				if err != nil {
					return nil, err
				}
				pos := "(" + lit + " * (toFloat64(arrayElement(" + qc + ", -1)) - 1))"
				at := func(rank string) string {
					return "arrayElement(" + qx + ", arrayFirstIndex(c_ -> c_ > " + rank + ", " + qc + "))"
				}
				lo, hi := at("floor("+pos+")"), at("ceil("+pos+")")
				d := "(" + pos + " - floor(" + pos + "))"
				outer = append(outer, "if(length("+qx+") = 0, NULL, "+lo+" * (1 - "+d+") + "+hi+" * "+d+")")
			}
		}
		outer = append(outer, "n_")
		b.WriteString("SELECT " + strings.Join(outer, ", ") + " FROM (SELECT " + strings.Join(mid, ", ") + " FROM (" + innerSQL + "))")
	}
	if sub.MaxGroups > 0 {
		fmt.Fprintf(&b, " LIMIT %d", sub.MaxGroups+1)
	}
	p.sql = b.String()
	return p, nil
}

// whereClause scopes the points to the Sub's project, dataset and range
// (on the DateTime column first, which the primary key and the day
// partitions prune with, then to the millisecond) and its filters.
func whereClause(sub *query.Sub) (string, error) {
	from, to := max(sub.From, 0), min(sub.To, maxTimestamp)
	w := fmt.Sprintf("project = %d AND dataset = %s AND timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d) AND %s >= %d AND %s < %d",
		sub.Project, chString(sub.Dataset), from/1000, (to-1)/1000, tsMs, from, tsMs, to)
	if len(sub.Filter) > 0 {
		cond, err := conjunction(sub.Filter)
		if err != nil {
			return "", err
		}
		w += " AND " + cond
	}
	return w, nil
}

// Execute answers one dataset's part of a structured query from the points
// table, with the same answers as the DuckDB store (see printSub for the
// quantiles). A Sub over no points answers like DuckDB's: one row of zero
// counts and sums and nil for the rest when ungrouped, no rows otherwise.
func (s *Store) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	if sub.Project <= 0 || max(sub.From, 0) >= min(sub.To, maxTimestamp) {
		return sub.EmptyResult(), nil
	}
	if s.Rollups() && sub.Source != query.SourceRaw {
		l := layoutOf(sub.Dataset)
		why := s.rollupWhy(sub, l)
		if why == "" && (sub.Source == query.SourceRollup || s.autoReadsRollup(ctx, sub)) {
			return s.executeRollup(ctx, sub, l)
		}
		if sub.Source == query.SourceRollup {
			return nil, &query.Error{Part: "source", Msg: "rollups cannot answer this query: " + why}
		}
	} else if sub.Source == query.SourceRollup {
		return nil, &query.Error{Part: "source", Msg: "rollups cannot answer this query: " + s.RollupsOff()}
	}
	res, err := s.executeRaw(ctx, sub)
	if err != nil {
		return nil, err
	}
	res.Source = query.SourceRaw
	return res, nil
}

// executeRaw answers sub from the points table.
func (s *Store) executeRaw(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	p, err := printSub(s.table, sub)
	if err != nil {
		return nil, err
	}
	return s.runSub(ctx, sub, p.sql, "", func(b *bytes.Buffer) (*query.SubResult, error) { return decodeSubRows(b, sub, p) })
}

// runSub runs a printed Sub's sql and decodes its answer; where says what
// it read, for errors ("" for the points table).
func (s *Store) runSub(ctx context.Context, sub *query.Sub, sql, where string, decode func(*bytes.Buffer) (*query.SubResult, error)) (*query.SubResult, error) {
	var buf bytes.Buffer
	if err := s.do(ctx, sql+"\nFORMAT TabSeparated", nil, &buf); err != nil {
		return nil, fmt.Errorf("query %s%s: %w", sub.Dataset, where, err)
	}
	res, err := decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: query %s%s: %w", s.cfg.HTTP, sub.Dataset, where, err)
	}
	return res, nil
}

// decodeSubRows reads the answer of a printed Sub.
func decodeSubRows(r *bytes.Buffer, sub *query.Sub, p *plan) (*query.SubResult, error) {
	nKeys := len(sub.GroupBy)
	if sub.Interval > 0 {
		nKeys++
	}
	vals := make([]any, p.nCols)
	return decodeRows(r, sub, p.nCols, func(t *tsvReader, row *query.SubRow) error {
		for c := nKeys; c < p.nCols-1; c++ {
			vals[c] = nil
			if !t.nulls[c] {
				f, err := parseFloat(t.fields[c])
				if err != nil {
					return fmt.Errorf("row %d: column %d: %w", t.row, c+1, err)
				}
				vals[c] = f
			}
		}
		for i, a := range sub.Aggs {
			cols := p.slots[i]
			if a.Type != query.AggQuantiles {
				row.Values[i] = vals[cols[0]]
				continue
			}
			qs := make([]float64, len(cols))
			for j, c := range cols {
				f, ok := vals[c].(float64)
				if !ok {
					qs = nil
					break
				}
				qs[j] = f
			}
			if qs != nil {
				row.Values[i] = qs
			}
		}
		return nil
	})
}

// decodeRows reads the rows of an answer of nCols columns: the Sub's
// groups, its bucket when it has an interval, the values, which values
// reads into row.Values, and last the count of points read.
func decodeRows(r *bytes.Buffer, sub *query.Sub, nCols int, values func(t *tsvReader, row *query.SubRow) error) (*query.SubResult, error) {
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
		if len(t.fields) != nCols {
			return nil, fmt.Errorf("row %d has %d columns; want %d", t.row, len(t.fields), nCols)
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
		if err := values(t, &row); err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(string(t.fields[nCols-1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row %d: point count: %w", t.row, err)
		}
		res.RowsScanned += n
		res.Rows = append(res.Rows, row)
	}
}
