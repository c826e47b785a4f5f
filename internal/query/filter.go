package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// opWords maps the operators a request may write to Ops.
var opWords = map[string]Op{
	"=": OpEq, "==": OpEq, "eq": OpEq,
	"!=": OpNe, "<>": OpNe, "ne": OpNe, "neq": OpNe,
	"<": OpLt, "lt": OpLt,
	"<=": OpLe, "le": OpLe, "lte": OpLe,
	">": OpGt, "gt": OpGt,
	">=": OpGe, "ge": OpGe, "gte": OpGe,
	"in":     OpIn,
	"not_in": OpNotIn, "nin": OpNotIn, "not in": OpNotIn,
	"contains":    OpContains,
	"starts_with": OpStartsWith,
}

// cond is a condition being parsed, with the paths of its parts.
type cond struct {
	name      string // the field as written
	field     point.Field
	op        Op
	opPart    string
	valuePart string
}

// parseFilter parses a condition or an array of conditions (ANDed), resolving
// field names in schema, the schema of dataset ds (nil when it has none).
func parseFilter(v jval, part, ds string, schema *point.Schema) ([]Filter, error) {
	if v.kind == jObj {
		return parseCondition(v, part, ds, schema)
	}
	if v.kind != jArr {
		return nil, errorf(part, "must be a condition {\"field\": ..., \"op\": ..., \"value\": ...} or an array of them, got %s", v.describe())
	}
	out := []Filter{}
	for i, it := range v.arr {
		if it.kind != jObj {
			return nil, errorf(index(part, i), "must be a condition object, got %s", it.describe())
		}
		fs, err := parseCondition(it, index(part, i), ds, schema)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
		if len(out) > MaxConditions {
			return nil, errorf(part, "has more than %d conditions", MaxConditions)
		}
	}
	return out, nil
}

// parseCondition parses {"field", "op"/"operator", "value"}, or the short
// form {"name": value, ...} meaning name = value (name in [...] for arrays).
func parseCondition(v jval, part, ds string, schema *point.Schema) ([]Filter, error) {
	for _, m := range v.obj {
		switch m.key {
		case "field", "op", "operator", "value":
			f, err := parseFullCondition(v, part, ds, schema)
			if err != nil {
				return nil, err
			}
			return []Filter{f}, nil
		}
	}
	if len(v.obj) == 0 {
		return nil, errorf(part, "is an empty condition; write {\"field\": ..., \"op\": ..., \"value\": ...}")
	}
	if len(v.obj) > MaxConditions {
		return nil, errorf(part, "has more than %d conditions", MaxConditions)
	}
	out := make([]Filter, 0, len(v.obj))
	seen := map[string]bool{}
	for _, m := range v.obj {
		p := join(part, m.key)
		if seen[m.key] {
			return nil, errorf(p, "key repeats")
		}
		seen[m.key] = true
		c := cond{name: m.key, op: OpEq, opPart: p, valuePart: p}
		if m.val.kind == jArr {
			c.op = OpIn
		}
		f, err := c.build(m.val, p, ds, schema)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func parseFullCondition(v jval, part, ds string, schema *point.Schema) (Filter, error) {
	m, err := members(v, part, "field", "op", "operator", "value")
	if err != nil {
		return Filter{}, err
	}
	fv, ok := m["field"]
	if !ok {
		return Filter{}, errorf(join(part, "field"), "is required: name the field the condition tests")
	}
	if fv.kind != jStr || fv.s == "" {
		return Filter{}, errorf(join(part, "field"), "must be a field name, got %s", describeValue(fv))
	}
	c := cond{name: fv.s, op: OpEq, opPart: join(part, "op"), valuePart: join(part, "value")}
	ov, hasOp := m["op"]
	if alt, ok := m["operator"]; ok {
		if hasOp {
			return Filter{}, errorf(join(part, "operator"), "is a synonym of op; send only one of them")
		}
		ov, hasOp, c.opPart = alt, true, join(part, "operator")
	}
	if hasOp {
		if c.op, err = parseOp(ov, c.opPart); err != nil {
			return Filter{}, err
		}
	}
	val, ok := m["value"]
	if !ok {
		return Filter{}, errorf(c.valuePart, "is required")
	}
	return c.build(val, join(part, "field"), ds, schema)
}

func parseOp(v jval, part string) (Op, error) {
	if v.kind == jStr {
		if op, ok := opWords[strings.ToLower(strings.TrimSpace(v.s))]; ok {
			return op, nil
		}
	}
	return "", errorf(part, "%s is not an operator: use =, !=, <, <=, >, >=, in, not_in, contains or starts_with", describeValue(v))
}

// build resolves the field (reporting at fieldPart) and normalizes the value.
func (c cond) build(val jval, fieldPart, ds string, schema *point.Schema) (Filter, error) {
	f, err := schema.Resolve(c.name)
	if err != nil {
		return Filter{}, errorf(fieldPart, "dataset %q: %v", ds, err)
	}
	c.field = f
	if (c.op == OpContains || c.op == OpStartsWith) && f.Kind.IsNumeric() {
		return Filter{}, errorf(c.opPart, "%s needs a string field (index or blob); %s is numeric", c.op, c.describe())
	}
	var value any
	if c.op == OpIn || c.op == OpNotIn {
		value, err = c.list(val)
	} else {
		value, err = c.scalar(val, c.valuePart)
	}
	if err != nil {
		return Filter{}, err
	}
	return Filter{Field: f, Op: c.op, Value: value}, nil
}

// describe names the condition's field and its column.
func (c cond) describe() string {
	col := c.field.Column()
	if col == c.name {
		return strconv.Quote(col)
	}
	return strconv.Quote(clip(c.name, 64)) + " (" + col + ")"
}

// list normalizes the array value of in and not_in.
func (c cond) list(v jval) (any, error) {
	if v.kind != jArr {
		return nil, errorf(c.valuePart, "%s needs an array of values, got %s", c.op, v.describe())
	}
	if len(v.arr) == 0 {
		return nil, errorf(c.valuePart, "%s needs at least one value", c.op)
	}
	if len(v.arr) > MaxInValues {
		return nil, errorf(c.valuePart, "has %d values; the limit is %d", len(v.arr), MaxInValues)
	}
	if c.field.Kind.IsNumeric() {
		out := make([]float64, len(v.arr))
		for i, it := range v.arr {
			x, err := c.scalar(it, index(c.valuePart, i))
			if err != nil {
				return nil, err
			}
			out[i] = x.(float64)
		}
		return out, nil
	}
	out := make([]string, len(v.arr))
	for i, it := range v.arr {
		x, err := c.scalar(it, index(c.valuePart, i))
		if err != nil {
			return nil, err
		}
		out[i] = x.(string)
	}
	return out, nil
}

// scalar normalizes one value: a string for index and blob fields, a float64
// for numeric fields (Unix ms for timestamp).
func (c cond) scalar(v jval, part string) (any, error) {
	if v.kind == jArr && part != c.valuePart {
		return nil, errorf(part, "must be a single value, got an array")
	}
	if v.kind == jArr {
		return nil, errorf(part, "%s takes one value, got an array; use in for a list", c.op)
	}
	if c.field.Kind.IsNumeric() {
		return c.number(v, part)
	}
	switch v.kind {
	case jStr:
		return v.s, nil
	case jNum:
		if f, ok := v.number(); ok {
			return formatNumber(f), nil
		}
		return nil, errorf(part, "%s is not a finite number", clip(v.s, 64))
	}
	return nil, errorf(part, "must be a string for %s, got %s", c.describe(), v.describe())
}

// number reads a number, a numeric string or, for timestamp, an RFC 3339 time.
func (c cond) number(v jval, part string) (any, error) {
	switch v.kind {
	case jNum:
		if f, ok := v.number(); ok {
			return f, nil
		}
		return nil, errorf(part, "%s is not a finite number", clip(v.s, 64))
	case jStr:
		if f, ok := (jval{kind: jNum, s: strings.TrimSpace(v.s)}).number(); ok {
			return f, nil
		}
		if c.field.Kind == point.KindTimestamp {
			if t, err := time.Parse(time.RFC3339Nano, v.s); err == nil {
				return float64(t.UnixMilli()), nil
			}
			return nil, errorf(part, "%q is neither Unix milliseconds nor an RFC 3339 time", clip(v.s, 64))
		}
		return nil, errorf(part, "%q is not a number, and %s is numeric", clip(v.s, 64), c.describe())
	}
	return nil, errorf(part, "must be a number for %s, got %s", c.describe(), v.describe())
}
