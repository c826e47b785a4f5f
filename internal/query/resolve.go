package query

import (
	"github.com/alidade/alidade/internal/point"
)

// resolver turns parsed aggregations into one Sub per dataset.
type resolver struct {
	schemas func(dataset string) *point.Schema
	q       *Query
	subOf   map[string]int
	cache   map[string]*point.Schema
}

func (r *resolver) schema(ds string) *point.Schema {
	if r.schemas == nil {
		return nil
	}
	if s, ok := r.cache[ds]; ok {
		return s
	}
	if r.cache == nil {
		r.cache = map[string]*point.Schema{}
	}
	s := r.schemas(ds)
	r.cache[ds] = s
	return s
}

// resolve builds q.Subs and q.Columns from aggs and the top-level filter.
func (r *resolver) resolve(aggs []rawAgg, filter *jval) error {
	q := r.q
	readsMain := false
	for _, a := range aggs {
		if a.dataset == "" && q.Dataset == "" {
			return errorf("dataset", "is required: aggregation %q names no dataset of its own", a.name)
		}
		if a.dataset == "" || a.dataset == q.Dataset {
			readsMain = true
		}
	}
	if filter != nil && q.Dataset == "" {
		return errorf("filter", "applies to the top-level dataset, and the request names none")
	}
	if filter != nil && !readsMain {
		return errorf("filter", "applies to dataset %q, which no aggregation reads (an aggregation with its own dataset ignores the top-level filter)", q.Dataset)
	}
	r.subOf = map[string]int{}
	if readsMain {
		if err := r.addSub(q.Dataset, ""); err != nil {
			return err
		}
		if filter != nil {
			fs, err := parseFilter(*filter, "filter", q.Dataset, r.schema(q.Dataset))
			if err != nil {
				return err
			}
			q.Subs[0].Filter = fs
		}
	}
	for _, a := range aggs {
		if err := r.addAgg(a); err != nil {
			return err
		}
	}
	return r.checkGroupKinds()
}

// addSub adds the Sub of dataset ds, resolving groupBy in its schema. reader
// names the aggregation that reads ds when ds is not the top-level dataset.
func (r *resolver) addSub(ds, reader string) error {
	q := r.q
	s := Sub{Dataset: ds, From: q.From, To: q.To, Interval: q.Interval, MaxGroups: MaxGroups}
	schema := r.schema(ds)
	where := "dataset " + quote(ds)
	if reader != "" {
		where += " (read by aggregation " + quote(reader) + ")"
	}
	for i, name := range q.GroupBy {
		f, err := schema.Resolve(name)
		if err != nil {
			return errorf(index("groupBy", i), "%s: %v", where, err)
		}
		for j, prev := range s.GroupBy {
			if prev == f {
				return errorf(index("groupBy", i), "%s: %q is the same column (%s) as %q", where, name, f.Column(), q.GroupBy[j])
			}
		}
		s.GroupBy = append(s.GroupBy, f)
	}
	r.subOf[ds] = len(q.Subs)
	q.Subs = append(q.Subs, s)
	return nil
}

// addAgg resolves a in its dataset and appends it to that dataset's Sub.
func (r *resolver) addAgg(a rawAgg) error {
	q := r.q
	ds := a.dataset
	if ds == "" {
		ds = q.Dataset
	}
	si, ok := r.subOf[ds]
	if !ok {
		if err := r.addSub(ds, a.name); err != nil {
			return err
		}
		si = r.subOf[ds]
	}
	agg, err := resolveAgg(a, ds, r.schema(ds))
	if err != nil {
		return err
	}
	sub := &q.Subs[si]
	q.Columns = append(q.Columns, Column{Name: a.name, Sub: si, Agg: len(sub.Aggs)})
	sub.Aggs = append(sub.Aggs, agg)
	return nil
}

// needsNumber reports whether an aggregation type needs a numeric field.
func needsNumber(t AggType) bool {
	switch t {
	case AggSum, AggAvg, AggMin, AggMax, AggQuantile, AggQuantiles:
		return true
	}
	return false
}

func resolveAgg(a rawAgg, ds string, schema *point.Schema) (Agg, error) {
	agg := Agg{Type: a.typ, Q: a.q, Qs: a.qs}
	if a.field != "" {
		f, err := schema.Resolve(a.field)
		if err != nil {
			return Agg{}, errorf(join(a.part, "field"), "dataset %q: %v", ds, err)
		}
		if needsNumber(a.typ) && !f.Kind.IsNumeric() {
			return Agg{}, errorf(join(a.part, "field"), "%q is a string field (%s); %s needs a numeric field such as a double", clip(a.field, 64), f.Column(), a.typ)
		}
		agg.Field = f
	}
	if a.filter != nil {
		fs, err := parseFilter(*a.filter, join(a.part, "filter"), ds, schema)
		if err != nil {
			return Agg{}, err
		}
		if a.typ == AggPercentage && len(fs) == 0 {
			return Agg{}, errorf(join(a.part, "filter"), "must hold at least one condition")
		}
		agg.Filter = fs
	}
	return agg, nil
}

// checkGroupKinds checks that each groupBy name is a string field in every
// dataset or a number in every dataset, so that groups can be merged.
func (r *resolver) checkGroupKinds() error {
	q := r.q
	for i, name := range q.GroupBy {
		for _, s := range q.Subs[1:] {
			first := q.Subs[0]
			if first.GroupBy[i].Kind.IsNumeric() != s.GroupBy[i].Kind.IsNumeric() {
				return errorf(index("groupBy", i), "%q is %s in dataset %q but %s in dataset %q; groups cannot be merged",
					clip(name, 64), kindWord(first.GroupBy[i]), first.Dataset, kindWord(s.GroupBy[i]), s.Dataset)
			}
		}
	}
	return nil
}

func kindWord(f point.Field) string {
	if f.Kind.IsNumeric() {
		return "a number (" + f.Column() + ")"
	}
	return "a string (" + f.Column() + ")"
}
