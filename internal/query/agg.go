package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// rawAgg is an aggregation as written, before its names are resolved.
type rawAgg struct {
	name    string
	part    string // "aggregations.<name>"
	typ     AggType
	dataset string // "" reads the top-level dataset
	field   string // "" when absent
	q       float64
	qs      []float64
	filter  *jval
}

var aggKeys = []string{"type", "field", "q", "qs", "filter", "dataset"}

var aggTypes = []AggType{AggCount, AggSum, AggAvg, AggMin, AggMax, AggPercentage, AggQuantile, AggQuantiles, AggUniq}

// parseAggregations parses the aggregations object, keeping its key order.
func parseAggregations(top map[string]jval, groupBy []string) ([]rawAgg, error) {
	v, ok := top["aggregations"]
	if !ok {
		return nil, errorf("aggregations", "is required: name at least one, e.g. {\"requestCount\": {\"type\": \"count\"}}")
	}
	if v.kind != jObj {
		return nil, errorf("aggregations", "must be an object of name: {\"type\": ...}, got %s", v.describe())
	}
	if len(v.obj) == 0 {
		return nil, errorf("aggregations", "is empty: name at least one, e.g. {\"requestCount\": {\"type\": \"count\"}}")
	}
	if len(v.obj) > MaxAggregations {
		return nil, errorf("aggregations", "has %d aggregations; the limit is %d", len(v.obj), MaxAggregations)
	}
	out := make([]rawAgg, 0, len(v.obj))
	seen := map[string]bool{}
	for _, m := range v.obj {
		part := join("aggregations", m.key)
		if err := checkAggName(m.key, groupBy); err != nil {
			return nil, errorf(part, "%v", err)
		}
		if seen[m.key] {
			return nil, errorf(part, "name repeats")
		}
		seen[m.key] = true
		a, err := parseAgg(m.val, part)
		if err != nil {
			return nil, err
		}
		a.name = m.key
		out = append(out, a)
	}
	return out, nil
}

// checkAggName checks an aggregation name against [A-Za-z_][A-Za-z0-9_]*
// and the other output names.
func checkAggName(name string, groupBy []string) error {
	if !validAggName(name) {
		return fmt.Errorf("name is invalid: names match [A-Za-z_][A-Za-z0-9_]* and are at most %d bytes", maxNameLen)
	}
	if name == "t" {
		return errors.New("name \"t\" is reserved for the time bucket")
	}
	if contains(groupBy, name) {
		return errors.New("name is also a groupBy field; output names must be unique")
	}
	return nil
}

func validAggName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func parseAgg(v jval, part string) (rawAgg, error) {
	m, err := members(v, part, aggKeys...)
	if err != nil {
		return rawAgg{}, err
	}
	a := rawAgg{part: part}
	if a.typ, err = parseAggType(m, part); err != nil {
		return rawAgg{}, err
	}
	if err := a.parseOperands(m); err != nil {
		return rawAgg{}, err
	}
	if d, ok := m["dataset"]; ok {
		if d.kind != jStr {
			return rawAgg{}, errorf(join(part, "dataset"), "must be a string, got %s", d.describe())
		}
		if err := point.ValidateDatasetName(d.s); err != nil {
			return rawAgg{}, errorf(join(part, "dataset"), "%v", err)
		}
		a.dataset = d.s
	}
	return a, nil
}

func parseAggType(m map[string]jval, part string) (AggType, error) {
	t, ok := m["type"]
	if !ok {
		return "", errorf(join(part, "type"), "is required: use %s", aggTypeList())
	}
	if t.kind == jStr {
		for _, at := range aggTypes {
			if strings.EqualFold(t.s, string(at)) {
				return at, nil
			}
		}
	}
	return "", errorf(join(part, "type"), "%s is not an aggregation type: use %s", describeValue(t), aggTypeList())
}

func aggTypeList() string {
	names := make([]string, len(aggTypes))
	for i, t := range aggTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// parseOperands reads field, q, qs and filter and checks which the type takes.
func (a *rawAgg) parseOperands(m map[string]jval) error {
	if err := a.takes(m, "field", a.typ != AggCount && a.typ != AggPercentage); err != nil {
		return err
	}
	if err := a.takes(m, "q", a.typ == AggQuantile); err != nil {
		return err
	}
	if err := a.takes(m, "qs", a.typ == AggQuantiles); err != nil {
		return err
	}
	if f, ok := m["field"]; ok {
		if f.kind != jStr || f.s == "" {
			return errorf(join(a.part, "field"), "must be a field name, got %s", f.describe())
		}
		a.field = f.s
	}
	if f, ok := m["filter"]; ok {
		a.filter = &f
	} else if a.typ == AggPercentage {
		return errorf(join(a.part, "filter"), "is required: percentage is the share of rows that pass it")
	}
	if a.typ == AggQuantile {
		q, ok := m["q"]
		if !ok {
			return errorf(join(a.part, "q"), "is required, e.g. 0.95")
		}
		var err error
		a.q, err = parseQ(q, join(a.part, "q"))
		return err
	}
	if a.typ == AggQuantiles {
		return a.parseQs(m)
	}
	return nil
}

// takes checks that key is present only where the type takes it, and that
// field is present where the type needs it.
func (a *rawAgg) takes(m map[string]jval, key string, allowed bool) error {
	_, has := m[key]
	if has && !allowed {
		return errorf(join(a.part, key), "%s takes no %s", a.typ, key)
	}
	if key == "field" && allowed && !has {
		return errorf(join(a.part, "field"), "is required: %s needs a field", a.typ)
	}
	return nil
}

func parseQ(v jval, part string) (float64, error) {
	q, ok := v.number()
	if !ok {
		return 0, errorf(part, "q must be a number in (0, 1), got %s", describeValue(v))
	}
	if q <= 0 || q >= 1 {
		return 0, errorf(part, "q must be in (0, 1), got %s", v.s)
	}
	return q, nil
}

func (a *rawAgg) parseQs(m map[string]jval) error {
	part := join(a.part, "qs")
	v, ok := m["qs"]
	if !ok {
		return errorf(part, "is required, e.g. [0.5, 0.95, 0.99]")
	}
	if v.kind != jArr || len(v.arr) == 0 {
		return errorf(part, "must be a non-empty array of numbers in (0, 1), e.g. [0.5, 0.95, 0.99]")
	}
	if len(v.arr) > MaxQuantiles {
		return errorf(part, "has %d quantiles; the limit is %d", len(v.arr), MaxQuantiles)
	}
	keys := map[string]bool{}
	for i, it := range v.arr {
		q, err := parseQ(it, index(part, i))
		if err != nil {
			return err
		}
		k := QuantileKey(q)
		if keys[k] {
			return errorf(index(part, i), "%s repeats (key %s)", it.s, k)
		}
		keys[k] = true
		a.qs = append(a.qs, q)
	}
	return nil
}

// QuantileKey names quantile q in the object a quantiles aggregation returns:
// "p" and q in percent, e.g. p50, p95, p99.9. It shifts q's shortest decimal
// text rather than multiplying, so 0.29 is p29, not p28.999999999999996.
func QuantileKey(q float64) string {
	s := strconv.FormatFloat(q, 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	whole := strings.TrimLeft(intPart+frac[:2], "0")
	if whole == "" {
		whole = "0"
	}
	if rest := frac[2:]; rest != "" {
		return "p" + whole + "." + rest
	}
	return "p" + whole
}
