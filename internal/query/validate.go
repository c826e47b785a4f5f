package query

import (
	"fmt"
	"math"
	"slices"

	"github.com/alidade/alidade/internal/point"
)

// Validate checks the invariants of a Query that Parse guarantees, so that a
// Query built by hand can be checked before it runs. Its errors are *Errors.
func (q *Query) Validate() error {
	for _, check := range []func() error{q.validateTime, q.validateGroupBy, q.validateSubs, q.validateColumns, q.validateOrder} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (q *Query) validateTime() error {
	if q.From >= q.To {
		return errorf("range", "from (%d) must be before to (%d)", q.From, q.To)
	}
	if q.To-q.From > MaxRange.Milliseconds() {
		return errorf("range", "spans %s; the longest range is %s", formatDuration(q.To-q.From), formatDuration(MaxRange.Milliseconds()))
	}
	if q.Interval == 0 {
		return nil
	}
	if q.Interval < MinInterval.Milliseconds() || q.Interval > MaxRange.Milliseconds() {
		return errorf("interval", "%d ms is outside [1s, %s]", q.Interval, formatDuration(MaxRange.Milliseconds()))
	}
	if n := buckets(q.From, q.To, q.Interval); n > MaxBuckets {
		return errorf("interval", "gives %d buckets; the limit is %d", n, MaxBuckets)
	}
	return nil
}

func (q *Query) validateGroupBy() error {
	if len(q.GroupBy) > MaxGroupBy {
		return errorf("groupBy", "has %d fields; the limit is %d", len(q.GroupBy), MaxGroupBy)
	}
	for i, g := range q.GroupBy {
		if g == "" || g == "t" || slices.Index(q.GroupBy, g) != i {
			return errorf(index("groupBy", i), "%q is empty, reserved or repeated", clip(g, 64))
		}
	}
	return nil
}

func (q *Query) validateSubs() error {
	if len(q.Subs) == 0 {
		return errorf("", "the query has no subqueries")
	}
	for i := range q.Subs {
		if err := q.validateSub(i); err != nil {
			return err
		}
	}
	return nil
}

func (q *Query) validateSub(i int) error {
	s := &q.Subs[i]
	part := index("subs", i)
	if err := point.ValidateDatasetName(s.Dataset); err != nil {
		return errorf(part, "%v", err)
	}
	for j := range i {
		if q.Subs[j].Dataset == s.Dataset {
			return errorf(part, "dataset %q has two subqueries", s.Dataset)
		}
	}
	if s.From != q.From || s.To != q.To || s.Interval != q.Interval {
		return errorf(part, "range or interval differs from the query's")
	}
	if s.MaxGroups <= 0 {
		return errorf(part, "MaxGroups must be positive")
	}
	if len(s.GroupBy) != len(q.GroupBy) {
		return errorf(part, "has %d groupBy fields for %d names", len(s.GroupBy), len(q.GroupBy))
	}
	for j, f := range s.GroupBy {
		if err := validField(f); err != nil {
			return errorf(index(part+".groupBy", j), "%v", err)
		}
		if f.Kind.IsNumeric() != q.Subs[0].GroupBy[j].Kind.IsNumeric() {
			return errorf(index(part+".groupBy", j), "is a number in one dataset and a string in another")
		}
	}
	if err := validFilters(s.Filter, part+".filter"); err != nil {
		return err
	}
	if len(s.Aggs) == 0 {
		return errorf(part, "has no aggregations")
	}
	for j := range s.Aggs {
		if err := validAgg(&s.Aggs[j], index(part+".aggs", j)); err != nil {
			return err
		}
	}
	return nil
}

// validField checks a field's kind and position.
func validField(f point.Field) error {
	switch f.Kind {
	case point.KindIndex, point.KindTimestamp, point.KindSampleInterval:
		return nil
	case point.KindBlob:
		if f.Pos < 1 || f.Pos > point.MaxBlobs {
			return fmt.Errorf("blob position %d is outside 1..%d", f.Pos, point.MaxBlobs)
		}
		return nil
	case point.KindDouble:
		if f.Pos < 1 || f.Pos > point.MaxDoubles {
			return fmt.Errorf("double position %d is outside 1..%d", f.Pos, point.MaxDoubles)
		}
		return nil
	}
	return fmt.Errorf("field kind %d is unknown", f.Kind)
}

func validFilters(fs []Filter, part string) error {
	if len(fs) > MaxConditions {
		return errorf(part, "has %d conditions; the limit is %d", len(fs), MaxConditions)
	}
	for i := range fs {
		if err := validFilter(&fs[i]); err != nil {
			return errorf(index(part, i), "%v", err)
		}
	}
	return nil
}

func validFilter(f *Filter) error {
	if err := validField(f.Field); err != nil {
		return err
	}
	numeric := f.Field.Kind.IsNumeric()
	switch f.Op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
	case OpContains, OpStartsWith:
		if numeric {
			return fmt.Errorf("%s needs a string field", f.Op)
		}
	case OpIn, OpNotIn:
		return validList(f.Value, numeric)
	default:
		return fmt.Errorf("operator %q is unknown", f.Op)
	}
	if numeric {
		if x, ok := f.Value.(float64); !ok || !isFinite(x) {
			return fmt.Errorf("value must be a finite float64 for a numeric field, got %T", f.Value)
		}
		return nil
	}
	if _, ok := f.Value.(string); !ok {
		return fmt.Errorf("value must be a string for a string field, got %T", f.Value)
	}
	return nil
}

func validList(v any, numeric bool) error {
	n := 0
	switch x := v.(type) {
	case []float64:
		if !numeric {
			return fmt.Errorf("values must be a []string for a string field")
		}
		for _, f := range x {
			if !isFinite(f) {
				return fmt.Errorf("values must be finite")
			}
		}
		n = len(x)
	case []string:
		if numeric {
			return fmt.Errorf("values must be a []float64 for a numeric field")
		}
		n = len(x)
	default:
		return fmt.Errorf("values must be a []string or []float64, got %T", v)
	}
	if n == 0 || n > MaxInValues {
		return fmt.Errorf("has %d values; 1 to %d are allowed", n, MaxInValues)
	}
	return nil
}

func isFinite(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

func validAgg(a *Agg, part string) error {
	if !slices.Contains(aggTypes, a.Type) {
		return errorf(part, "type %q is unknown", a.Type)
	}
	if a.Type != AggCount && a.Type != AggPercentage {
		if err := validField(a.Field); err != nil {
			return errorf(part, "%v", err)
		}
		if needsNumber(a.Type) && !a.Field.Kind.IsNumeric() {
			return errorf(part, "%s needs a numeric field", a.Type)
		}
	}
	if a.Type == AggQuantile && !(a.Q > 0 && a.Q < 1) {
		return errorf(part, "q must be in (0, 1), got %v", a.Q)
	}
	if err := validQs(a, part); err != nil {
		return err
	}
	if a.Type == AggPercentage && len(a.Filter) == 0 {
		return errorf(part, "percentage needs a filter")
	}
	return validFilters(a.Filter, part+".filter")
}

func validQs(a *Agg, part string) error {
	if a.Type != AggQuantiles {
		return nil
	}
	if len(a.Qs) == 0 || len(a.Qs) > MaxQuantiles {
		return errorf(part, "has %d qs; 1 to %d are allowed", len(a.Qs), MaxQuantiles)
	}
	keys := map[string]bool{}
	for _, q := range a.Qs {
		if !(q > 0 && q < 1) {
			return errorf(part, "q must be in (0, 1), got %v", q)
		}
		k := QuantileKey(q)
		if keys[k] {
			return errorf(part, "quantile key %s repeats", k)
		}
		keys[k] = true
	}
	return nil
}

func (q *Query) validateColumns() error {
	if len(q.Columns) == 0 || len(q.Columns) > MaxAggregations {
		return errorf("aggregations", "has %d aggregations; 1 to %d are allowed", len(q.Columns), MaxAggregations)
	}
	used := make([][]bool, len(q.Subs))
	for i := range q.Subs {
		used[i] = make([]bool, len(q.Subs[i].Aggs))
	}
	for i, c := range q.Columns {
		if err := checkAggName(c.Name, q.GroupBy); err != nil {
			return errorf(join("aggregations", c.Name), "%v", err)
		}
		if slices.IndexFunc(q.Columns, func(o Column) bool { return o.Name == c.Name }) != i {
			return errorf(join("aggregations", c.Name), "name repeats")
		}
		if c.Sub < 0 || c.Sub >= len(q.Subs) || c.Agg < 0 || c.Agg >= len(q.Subs[c.Sub].Aggs) || used[c.Sub][c.Agg] {
			return errorf(join("aggregations", c.Name), "refers to no aggregation, or to one another column uses")
		}
		used[c.Sub][c.Agg] = true
	}
	for i := range used {
		if slices.Contains(used[i], false) {
			return errorf(index("subs", i), "has an aggregation no column names")
		}
	}
	return nil
}

func (q *Query) validateOrder() error {
	for i, o := range q.OrderBy {
		if _, err := q.target(o.Key); err != nil {
			return errorf(index("orderBy", i), "%v", err)
		}
		for _, prev := range q.OrderBy[:i] {
			if prev.Key == o.Key {
				return errorf(index("orderBy", i), "%q repeats", o.Key)
			}
		}
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return errorf("limit", "must be between 1 and %d, got %d", MaxLimit, q.Limit)
	}
	return nil
}
