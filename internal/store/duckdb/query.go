package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

var _ query.Executor = (*Store)(nil)

// sqlBuilder prints SQL with numbered parameters ($1, $2, …), so that the
// parts of a statement may be printed in any order; values never enter the text.
type sqlBuilder struct {
	b    strings.Builder
	args []any
}

func (q *sqlBuilder) param(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// column returns the SQL expression of a field inside the unioned source.
func column(f point.Field) string {
	switch f.Kind {
	case point.KindIndex:
		return "index1"
	case point.KindBlob:
		return "blob" + strconv.Itoa(f.Pos)
	case point.KindDouble:
		return "double" + strconv.Itoa(f.Pos)
	case point.KindTimestamp:
		return "ts"
	case point.KindSampleInterval:
		// _si, not si: si is the weight, which reads 1 once a point is
		// repeated for weighted quantiles; _si keeps the point's own.
		return "_si"
	}
	panic("BUG: field of unknown kind")
}

// source prints the union of the dataset's day tables in [from, to), scoped
// to the project, with every blob and double column up to w (missing columns
// of older, narrower tables read as "" and 0).
func (q *sqlBuilder) source(views []partView, dataset string, project, from, to int64, w width) string {
	var b strings.Builder
	for i, v := range views {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ts, si, si AS _si, index1")
		for n := 1; n <= w.blobs; n++ {
			if n <= v.w.blobs {
				fmt.Fprintf(&b, ", blob%d", n)
			} else {
				fmt.Fprintf(&b, ", ''::VARCHAR AS blob%d", n)
			}
		}
		for n := 1; n <= w.doubles; n++ {
			if n <= v.w.doubles {
				fmt.Fprintf(&b, ", double%d", n)
			} else {
				fmt.Fprintf(&b, ", 0::DOUBLE AS double%d", n)
			}
		}
		fmt.Fprintf(&b, " FROM %s.%s WHERE project = %s AND ts >= %s AND ts < %s",
			v.alias, quoteIdent(dataset), q.param(int32(project)), q.param(from), q.param(to))
	}
	return b.String()
}

// condition prints one filter.
func (q *sqlBuilder) condition(f query.Filter) (string, error) {
	col := column(f.Field)
	switch f.Op {
	case query.OpEq, query.OpNe, query.OpLt, query.OpLe, query.OpGt, query.OpGe:
		op := string(f.Op)
		if f.Op == query.OpNe {
			op = "<>"
		}
		return col + " " + op + " " + q.param(f.Value), nil
	case query.OpIn, query.OpNotIn:
		var items []string
		switch vs := f.Value.(type) {
		case []string:
			for _, v := range vs {
				items = append(items, q.param(v))
			}
		case []float64:
			for _, v := range vs {
				items = append(items, q.param(v))
			}
		default:
			return "", fmt.Errorf("BUG: %s filter value is %T", f.Op, f.Value)
		}
		if len(items) == 0 {
			return "", fmt.Errorf("BUG: empty %s list", f.Op)
		}
		// list_contains over a constant list is several times faster in
		// DuckDB than IN over dictionary-compressed strings.
		neg := ""
		if f.Op == query.OpNotIn {
			neg = "NOT "
		}
		return neg + "list_contains([" + strings.Join(items, ", ") + "], " + col + ")", nil
	case query.OpContains:
		return "contains(" + col + ", " + q.param(f.Value) + ")", nil
	case query.OpStartsWith:
		return "starts_with(" + col + ", " + q.param(f.Value) + ")", nil
	}
	return "", fmt.Errorf("BUG: unknown filter op %q", f.Op)
}

func (q *sqlBuilder) conjunction(fs []query.Filter) (string, error) {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		c, err := q.condition(f)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+c+")")
	}
	return strings.Join(parts, " AND "), nil
}

func fieldWidth(w width, f point.Field) width {
	switch f.Kind {
	case point.KindBlob:
		w.blobs = max(w.blobs, f.Pos)
	case point.KindDouble:
		w.doubles = max(w.doubles, f.Pos)
	}
	return w
}

// neededWidth is the widest column any part of the sub reads.
func neededWidth(sub *query.Sub) width {
	var w width
	for _, f := range sub.Filter {
		w = fieldWidth(w, f.Field)
	}
	for _, g := range sub.GroupBy {
		w = fieldWidth(w, g)
	}
	for _, a := range sub.Aggs {
		if a.Type != query.AggCount && a.Type != query.AggPercentage {
			w = fieldWidth(w, a.Field)
		}
		for _, f := range a.Filter {
			w = fieldWidth(w, f.Field)
		}
	}
	return w
}

// Execute answers one dataset's part of a structured query.
func (s *Store) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	views := s.viewsFor(sub.Dataset, sub.From, sub.To)
	if len(views) == 0 {
		return sub.EmptyResult(), nil
	}
	var q sqlBuilder
	src := q.source(views, sub.Dataset, sub.Project, sub.From, sub.To, neededWidth(sub))
	// n counts stored points (RowsScanned), not their repetitions.
	n := "count(*) AS n"
	if needsWeightedQuantiles(sub) {
		weighted, err := s.anyWeighted(ctx, src, q.args)
		if err != nil {
			return nil, err
		}
		if weighted {
			// Exact weighted quantiles: a point standing for w points is
			// repeated w times; every other aggregate stays the same on
			// the expanded rows, whose weight is then 1.
			src = "SELECT * REPLACE (1::UINTEGER AS si) FROM (SELECT *, UNNEST(range(si)) AS _rep FROM (" + src + "))"
			n = "count(*) FILTER (WHERE _rep = 0) AS n"
		}
	}
	b := &q.b
	b.WriteString("SELECT ")
	var sel []string
	for i, g := range sub.GroupBy {
		sel = append(sel, fmt.Sprintf("%s AS g%d", column(g), i))
	}
	if sub.Interval > 0 {
		iv := strconv.FormatInt(sub.Interval, 10)
		sel = append(sel, "(ts // "+iv+") * "+iv+" AS bucket")
	}
	nKeys := len(sel)
	aggExprs, slots, err := q.aggregates(sub.Aggs)
	if err != nil {
		return nil, err
	}
	for i, e := range aggExprs {
		sel = append(sel, fmt.Sprintf("%s AS a%d", e, i))
	}
	sel = append(sel, n)
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(" FROM (")
	b.WriteString(src)
	b.WriteString(")")
	if len(sub.Filter) > 0 {
		cond, err := q.conjunction(sub.Filter)
		if err != nil {
			return nil, err
		}
		b.WriteString(" WHERE " + cond)
	}
	if nKeys > 0 {
		keys := make([]string, nKeys)
		for i := range keys {
			keys[i] = strconv.Itoa(i + 1)
		}
		b.WriteString(" GROUP BY " + strings.Join(keys, ", "))
	}
	if sub.MaxGroups > 0 {
		fmt.Fprintf(b, " LIMIT %d", sub.MaxGroups+1)
	}
	rows, err := s.db.QueryContext(ctx, b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", sub.Dataset, err)
	}
	defer rows.Close()
	return scanSubRows(rows, sub, len(aggExprs), slots)
}

func needsWeightedQuantiles(sub *query.Sub) bool {
	for _, a := range sub.Aggs {
		if a.Type == query.AggQuantile || a.Type == query.AggQuantiles {
			return true
		}
	}
	return false
}

// anyWeighted reports whether any point of the source stands for more than one.
func (s *Store) anyWeighted(ctx context.Context, src string, args []any) (bool, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM ("+src+") WHERE si > 1", args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check sample intervals: %w", err)
	}
	return n > 0, nil
}

// slot says where an aggregation's value is in a result row: column col,
// and for quantiles the positions in that column's list.
type slot struct {
	col int
	idx []int
}

// aggregates prints the aggregation columns. Quantiles of the same field
// under the same filter share one quantile_cont over a list of fractions,
// which sorts the values once instead of once per fraction.
func (q *sqlBuilder) aggregates(aggs []query.Agg) ([]string, []slot, error) {
	var exprs []string
	slots := make([]slot, len(aggs))
	type qgroup struct {
		col int
		qs  []float64
	}
	groups := map[string]*qgroup{}
	var order []string
	first := map[string]query.Agg{}
	for i, a := range aggs {
		if a.Type != query.AggQuantile && a.Type != query.AggQuantiles {
			e, err := q.aggregate(a)
			if err != nil {
				return nil, nil, err
			}
			slots[i] = slot{col: len(exprs)}
			exprs = append(exprs, e)
			continue
		}
		key := fmt.Sprintf("%v|%v", a.Field, a.Filter)
		g := groups[key]
		if g == nil {
			g = &qgroup{col: -1}
			groups[key] = g
			order = append(order, key)
			first[key] = a
		}
		qs := a.Qs
		if a.Type == query.AggQuantile {
			qs = []float64{a.Q}
		}
		sl := slot{idx: make([]int, len(qs))}
		for j, v := range qs {
			sl.idx[j] = len(g.qs)
			g.qs = append(g.qs, v)
		}
		slots[i] = sl
	}
	for _, key := range order {
		g, a := groups[key], first[key]
		filter, err := q.filterClause(a.Filter)
		if err != nil {
			return nil, nil, err
		}
		fr := make([]string, len(g.qs))
		for j, v := range g.qs {
			fr[j] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		g.col = len(exprs)
		exprs = append(exprs, "quantile_cont("+column(a.Field)+", ["+strings.Join(fr, ", ")+"])"+filter)
	}
	for i, a := range aggs {
		if a.Type == query.AggQuantile || a.Type == query.AggQuantiles {
			slots[i].col = groups[fmt.Sprintf("%v|%v", a.Field, a.Filter)].col
		}
	}
	return exprs, slots, nil
}

func (q *sqlBuilder) filterClause(fs []query.Filter) (string, error) {
	if len(fs) == 0 {
		return "", nil
	}
	cond, err := q.conjunction(fs)
	if err != nil {
		return "", err
	}
	return " FILTER (WHERE " + cond + ")", nil
}

// aggregate prints one non-quantile aggregation as a DOUBLE expression.
func (q *sqlBuilder) aggregate(a query.Agg) (string, error) {
	filter, err := q.filterClause(a.Filter)
	if err != nil {
		return "", err
	}
	x := ""
	if a.Type != query.AggCount && a.Type != query.AggPercentage {
		x = column(a.Field)
	}
	switch a.Type {
	case query.AggCount:
		return "coalesce(sum(si)" + filter + ", 0)::DOUBLE", nil
	case query.AggSum:
		return "coalesce(sum(" + x + " * si)" + filter + ", 0)::DOUBLE", nil
	case query.AggAvg:
		return "(sum(" + x + " * si)" + filter + " / sum(si)" + filter + ")::DOUBLE", nil
	case query.AggMin:
		return "min(" + x + ")" + filter + "::DOUBLE", nil
	case query.AggMax:
		return "max(" + x + ")" + filter + "::DOUBLE", nil
	case query.AggPercentage:
		if filter == "" {
			return "", fmt.Errorf("BUG: percentage without filter")
		}
		return "(100.0 * coalesce(sum(si)" + filter + ", 0) / sum(si))::DOUBLE", nil
	case query.AggUniq:
		// Null over no rows, as every aggregation but count and sum.
		return "nullif(count(DISTINCT " + x + ")" + filter + ", 0)::DOUBLE", nil
	}
	return "", fmt.Errorf("BUG: unknown aggregation %q", a.Type)
}

func scanSubRows(rows *sql.Rows, sub *query.Sub, nAggCols int, slots []slot) (*query.SubResult, error) {
	res := &query.SubResult{}
	groupVals := make([]any, len(sub.GroupBy))
	strs := make([]sql.NullString, len(sub.GroupBy))
	nums := make([]sql.NullFloat64, len(sub.GroupBy))
	aggVals := make([]any, nAggCols)
	var bucket, n int64
	dest := make([]any, 0, len(sub.GroupBy)+1+nAggCols+1)
	for i, g := range sub.GroupBy {
		if g.Kind.IsNumeric() {
			dest = append(dest, &nums[i])
		} else {
			dest = append(dest, &strs[i])
		}
	}
	if sub.Interval > 0 {
		dest = append(dest, &bucket)
	}
	for i := range aggVals {
		dest = append(dest, &aggVals[i])
	}
	dest = append(dest, &n)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan %s: %w", sub.Dataset, err)
		}
		if sub.MaxGroups > 0 && len(res.Rows) >= sub.MaxGroups {
			return nil, fmt.Errorf("%w: more than %d", query.ErrTooManyGroups, sub.MaxGroups)
		}
		for i, g := range sub.GroupBy {
			if g.Kind.IsNumeric() {
				groupVals[i] = nums[i].Float64
			} else {
				groupVals[i] = strs[i].String
			}
		}
		r := query.SubRow{Groups: append([]any(nil), groupVals...), Bucket: bucket, Values: make([]any, len(sub.Aggs))}
		for i, a := range sub.Aggs {
			v, err := slotValue(aggVals[slots[i].col], slots[i].idx, a.Type == query.AggQuantiles)
			if err != nil {
				return nil, fmt.Errorf("scan %s: %w", sub.Dataset, err)
			}
			r.Values[i] = v
		}
		res.RowsScanned += n
		res.Rows = append(res.Rows, r)
	}
	return res, rows.Err()
}

// slotValue reads an aggregation's value out of a scanned column: a DOUBLE,
// or positions idx of a LIST of DOUBLE (a []float64 when asList, else one
// float64). NULL reads as nil.
func slotValue(v any, idx []int, asList bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if idx == nil {
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("BUG: aggregate is %T, not a DOUBLE", v)
		}
		return f, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("BUG: quantiles are %T, not a LIST", v)
	}
	out := make([]float64, len(idx))
	for j, k := range idx {
		if k >= len(list) || list[k] == nil {
			return nil, nil
		}
		f, ok := list[k].(float64)
		if !ok {
			return nil, fmt.Errorf("BUG: quantile is %T, not a DOUBLE", list[k])
		}
		out[j] = f
	}
	if asList {
		return out, nil
	}
	return out[0], nil
}
