package storetest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// relTol is the relative tolerance for sums, averages and percentages, which
// a backend may add up in any order.
const relTol = 1e-9

// maxReported bounds the mismatches reported for one Sub.
const maxReported = 12

// execute runs sub on b, failing t on error.
func execute(t *testing.T, b Backend, sub *query.Sub) *query.SubResult {
	t.Helper()
	res, err := b.Execute(context.Background(), sub)
	if err != nil {
		t.Fatalf("Execute(%v) = %v; want nil error", describeSub(sub), err)
	}
	if res == nil {
		t.Fatalf("Execute(%v) = nil; want a result", describeSub(sub))
	}
	return res
}

// appendPoints appends batches to b and records them in ref (ref may be nil).
func appendPoints(t *testing.T, b Backend, ref *reference, batches ...store.Batch) {
	t.Helper()
	if err := b.Append(context.Background(), batches); err != nil {
		t.Fatalf("Append(%d batches) = %v; want nil", len(batches), err)
	}
	if ref != nil {
		ref.add(batches...)
	}
}

// checkSub runs sub on b and compares the answer with the reference's.
func checkSub(t *testing.T, b Backend, ref *reference, sub *query.Sub) {
	t.Helper()
	got := execute(t, b, sub)
	compareResult(t, sub, got, ref.execute(sub))
}

// compareResult compares a backend's answer with the reference's: the same
// set of (groups, bucket) keys, RowsScanned, and every value within its
// tolerance (counts, min, max and uniq exact).
func compareResult(t *testing.T, sub *query.Sub, got *query.SubResult, want *refResult) {
	t.Helper()
	desc := describeSub(sub)
	reported := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		reported++
		if reported <= maxReported {
			t.Errorf("Execute(%v): "+format, append([]any{desc}, args...)...)
		} else if reported == maxReported+1 {
			t.Errorf("Execute(%v): more mismatches not shown", desc)
		}
	}
	if got.RowsScanned != want.rowsScanned {
		errorf("RowsScanned = %d; want %d", got.RowsScanned, want.rowsScanned)
	}
	gotRows := map[string]*query.SubRow{}
	for i := range got.Rows {
		r := &got.Rows[i]
		if !wellFormed(sub, r, errorf) {
			continue
		}
		k := rowKey(r.Groups, r.Bucket)
		if gotRows[k] != nil {
			errorf("row %s appears twice; want each (groups, bucket) once", k)
			continue
		}
		gotRows[k] = r
	}
	var missing, extra []string
	for k := range want.rows {
		if gotRows[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range gotRows {
		if want.rows[k] == nil {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		errorf("%d rows; want %d (missing %s; extra %s)", len(got.Rows), len(want.rows), firstFew(missing), firstFew(extra))
	}
	keys := make([]string, 0, len(want.rows))
	for k := range want.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, w := gotRows[k], want.rows[k]
		if g == nil {
			continue
		}
		for i, a := range sub.Aggs {
			if msg := compareValue(a, g.Values[i], w.values[i], w.sorted[i]); msg != "" {
				errorf("row %s: %s = %s", k, describeAgg(a), msg)
			}
		}
	}
}

// wellFormed checks a row's shape against the SubRow contract.
func wellFormed(sub *query.Sub, r *query.SubRow, errorf func(string, ...any)) bool {
	if len(r.Groups) != len(sub.GroupBy) {
		errorf("a row has %d group values; want %d", len(r.Groups), len(sub.GroupBy))
		return false
	}
	for i, f := range sub.GroupBy {
		switch r.Groups[i].(type) {
		case float64:
			if !f.Kind.IsNumeric() {
				errorf("group value %v of %s is a float64; want a string", r.Groups[i], f.Column())
				return false
			}
		case string:
			if f.Kind.IsNumeric() {
				errorf("group value %q of %s is a string; want a float64", r.Groups[i], f.Column())
				return false
			}
		default:
			errorf("group value %v of %s is a %T; want a string or float64", r.Groups[i], f.Column(), r.Groups[i])
			return false
		}
	}
	if sub.Interval == 0 && r.Bucket != 0 {
		errorf("Bucket = %d without an interval; want 0", r.Bucket)
		return false
	}
	if len(r.Values) != len(sub.Aggs) {
		errorf("a row has %d values; want %d", len(r.Values), len(sub.Aggs))
		return false
	}
	return true
}

// compareValue returns "" when got matches want, else "got; want ...".
func compareValue(a query.Agg, got, want any, sorted []float64) string {
	mismatch := func() string { return fmt.Sprintf("%s; want %s", show(got), show(want)) }
	if want == nil {
		if got != nil {
			return mismatch()
		}
		return ""
	}
	switch a.Type {
	case query.AggQuantile:
		g, ok := got.(float64)
		if !ok || !withinRanks(g, sorted, a.Q) {
			lo, hi := quantileBounds(sorted, a.Q)
			return fmt.Sprintf("%s; want %s (within [%v, %v] over %d values)", show(got), show(want), lo, hi, len(sorted))
		}
		return ""
	case query.AggQuantiles:
		g, ok := got.([]float64)
		if !ok || len(g) != len(a.Qs) {
			return mismatch()
		}
		for i, q := range a.Qs {
			if !withinRanks(g[i], sorted, q) {
				lo, hi := quantileBounds(sorted, q)
				return fmt.Sprintf("%s; want %s (q=%v within [%v, %v] over %d values)", show(got), show(want), q, lo, hi, len(sorted))
			}
		}
		return ""
	}
	g, ok := got.(float64)
	if !ok {
		return mismatch()
	}
	w := want.(float64)
	switch a.Type {
	case query.AggSum, query.AggAvg, query.AggPercentage:
		if !closeTo(g, w, relTol) {
			return mismatch()
		}
	default: // count, min, max, uniq: exact
		if g != w {
			return mismatch()
		}
	}
	return ""
}

func withinRanks(x float64, sorted []float64, q float64) bool {
	lo, hi := quantileBounds(sorted, q)
	// A hair of slack for the rounding of an interpolation between equal
	// or adjacent values.
	slack := 1e-12 * max(math.Abs(lo), math.Abs(hi))
	return x >= lo-slack && x <= hi+slack
}

func closeTo(got, want, tol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*max(math.Abs(want), math.Abs(got), 1e-300)
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []float64:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
		}
		return "[]float64{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func firstFew(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	if len(keys) > 5 {
		return strings.Join(keys[:5], " ") + fmt.Sprintf(" and %d more", len(keys)-5)
	}
	return strings.Join(keys, " ")
}

// describeSub prints a Sub compactly for failure messages.
func describeSub(s *query.Sub) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{project %d %s [%d, %d)", s.Project, s.Dataset, s.From, s.To)
	if len(s.Filter) > 0 {
		b.WriteString(" where " + describeFilters(s.Filter))
	}
	if len(s.GroupBy) > 0 {
		cols := make([]string, len(s.GroupBy))
		for i, f := range s.GroupBy {
			cols[i] = f.Column()
		}
		b.WriteString(" by " + strings.Join(cols, ","))
	}
	if s.Interval > 0 {
		fmt.Fprintf(&b, " every %dms", s.Interval)
	}
	if s.MaxGroups > 0 {
		fmt.Fprintf(&b, " max %d groups", s.MaxGroups)
	}
	fmt.Fprintf(&b, " %d aggs}", len(s.Aggs))
	return b.String()
}

func describeFilters(fs []query.Filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s %s %v", f.Field.Column(), f.Op, f.Value)
	}
	return strings.Join(parts, " and ")
}

func describeAgg(a query.Agg) string {
	var b strings.Builder
	b.WriteString(string(a.Type))
	b.WriteString("(")
	if a.Type != query.AggCount && a.Type != query.AggPercentage {
		b.WriteString(a.Field.Column())
	}
	switch a.Type {
	case query.AggQuantile:
		fmt.Fprintf(&b, ", %v", a.Q)
	case query.AggQuantiles:
		fmt.Fprintf(&b, ", %v", a.Qs)
	}
	b.WriteString(")")
	if len(a.Filter) > 0 {
		b.WriteString(" if " + describeFilters(a.Filter))
	}
	return b.String()
}

// Field shorthands.
var (
	fIndex = point.Field{Kind: point.KindIndex, Pos: 1}
	fTS    = point.Field{Kind: point.KindTimestamp}
	fSI    = point.Field{Kind: point.KindSampleInterval}
)

func blob(n int) point.Field   { return point.Field{Kind: point.KindBlob, Pos: n} }
func double(n int) point.Field { return point.Field{Kind: point.KindDouble, Pos: n} }

func filter(f point.Field, op query.Op, v any) query.Filter {
	return query.Filter{Field: f, Op: op, Value: v}
}
