package aesql

// Expressions: names, literals, operators, CASE and comparisons analysed
// into the IR (function calls are in funcs.go).

import (
	"math"
	"sort"
	"strings"
	"time"
)

func (a *analyzer) ident(sc *scope, id *identExpr, ctx exprCtx) (irExpr, error) {
	_, tok := a.tokenOf(id)
	name := id.Parts[len(id.Parts)-1]
	if len(id.Parts) == 2 {
		if !sc.hasFrom || id.Parts[0] != sc.qual {
			if correlated(sc, id.Parts[0], name) {
				return nil, a.errAt(id.P, tok, "unknown table qualifier %q", id.Parts[0]).hint(correlatedHint)
			}
			return nil, a.errAt(id.P, tok, "unknown table qualifier %q", id.Parts[0]).hint("qualify columns with the FROM table's name or alias, or not at all")
		}
	} else if d, ok := sc.aliases[name]; ok && d.state != 1 {
		return a.aliasExpr(sc, d, id.P, name, ctx)
	}
	if ci, ok := sc.cols[name]; ok {
		if sc.ambiguous[name] {
			return nil, a.errAt(id.P, tok, "column name %q is ambiguous", name)
		}
		if err := a.budget(1, id.P, tok); err != nil {
			return nil, err
		}
		return &colRef{p: id.P, tok: tok, src: sc.src, col: ci.col, idx: ci.idx, t: ci.t}, nil
	}
	if len(id.Parts) == 1 {
		for l := findWith(sc.env, name, false); l != nil; l = findWith(l.parent, name, false) {
			if l.owner != sc {
				return a.outerWith(sc, l, id, ctx)
			}
		}
	}
	if d, ok := sc.aliases[name]; ok && d.state == 1 && len(id.Parts) == 1 {
		return nil, a.errAt(id.P, tok, "alias %q refers to itself", name).hint("aliases may not be defined in terms of themselves")
	}
	e := a.errAt(id.P, tok, "unknown column %q", name)
	if sc.withOf != "" {
		return nil, e.hint("%s is a WITH name of an outer query: a subquery may use it only when it needs no column", quoteIdentCanon(sc.withOf))
	}
	if correlated(sc, "", name) {
		return nil, e.hint(correlatedHint)
	}
	if !sc.hasFrom {
		return nil, e.hint("the query has no FROM clause")
	}
	if low := asciiLower(name); low != name {
		if _, ok := sc.cols[low]; ok {
			return nil, e.hint("column names are case-sensitive; did you mean %s?", code(quoteIdentCanon(low)))
		}
	}
	if sc.src.sub != nil {
		names := make([]string, 0, len(sc.order))
		for _, c := range sc.order {
			names = append(names, c.name)
		}
		sort.Strings(names)
		if len(names) > 20 {
			names = append(names[:20], "...")
		}
		return nil, e.hint("the subquery's columns are %s", strings.Join(names, ", "))
	}
	return nil, e.hint("datasets have the columns dataset, timestamp, _sample_interval, index1, blob1..blob20, double1..double20 and the names of the dataset's schema")
}

func (a *analyzer) expr(sc *scope, e expr, ctx exprCtx) (irExpr, error) {
	p, tok := a.tokenOf(e)
	if err := a.budget(1, p, tok); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *identExpr:
		return a.ident(sc, e, ctx)
	case *numberLit:
		return a.number(e)
	case *stringLit:
		return &constant{p: e.P, tok: tok, t: typ(kString), v: e.Val}, nil
	case *boolLit:
		return &constant{p: e.P, tok: tok, t: typ(kBool), v: e.Val}, nil
	case *nullLit:
		return &constant{p: e.P, tok: "NULL", t: typ(kNothing), v: nil}, nil
	case *intervalLit:
		return &constant{p: e.P, tok: "INTERVAL", t: chType{k: kInterval, unit: e.Unit}, v: e.N}, nil
	case *unaryExpr:
		x, err := a.expr(sc, e.X, ctx)
		if err != nil {
			return nil, err
		}
		if e.Op == "NOT" {
			if err := a.condition(x, e.X, "NOT"); err != nil {
				return nil, err
			}
			return &call{p: e.P, tok: "NOT", fn: "not", args: []irExpr{x}, t: typ(kUInt8).withNull(anyNullable(x.typ()))}, nil
		}
		return a.negate(e, x)
	case *binaryExpr:
		if e.Op == "AND" || e.Op == "OR" {
			return a.andOr(sc, e, ctx)
		}
		l, err := a.expr(sc, e.L, ctx)
		if err != nil {
			return nil, err
		}
		r, err := a.expr(sc, e.R, ctx)
		if err != nil {
			return nil, err
		}
		return a.binary(e, l, r)
	case *betweenExpr:
		x, err := a.expr(sc, e.X, ctx)
		if err != nil {
			return nil, err
		}
		lo, err := a.expr(sc, e.Lo, ctx)
		if err != nil {
			return nil, err
		}
		hi, err := a.expr(sc, e.Hi, ctx)
		if err != nil {
			return nil, err
		}
		x1, lo, err := a.comparable(e.X, e.Lo, x, lo)
		if err != nil {
			return nil, err
		}
		_, hi, err = a.comparable(e.X, e.Hi, x1, hi)
		if err != nil {
			return nil, err
		}
		fn := "between"
		if e.Not {
			fn = "notBetween"
		}
		return &call{p: e.KeywordPos, tok: "BETWEEN", fn: fn, args: []irExpr{x1, lo, hi}, t: typ(kUInt8).withNull(anyNullable(x.typ(), lo.typ(), hi.typ()))}, nil
	case *subqueryExpr:
		return a.scalarSubquery(sc, e)
	case *inExpr:
		if e.Sub != nil || e.Table != "" {
			return a.inSubquery(sc, e, ctx)
		}
		x, err := a.expr(sc, e.X, ctx)
		if err != nil {
			return nil, err
		}
		args := []irExpr{x}
		for _, le := range e.List {
			v, err := a.expr(sc, le, ctx)
			if err != nil {
				return nil, err
			}
			if v.typ().k == kNothing {
				continue // ClickHouse ignores NULL in an IN list (transform_null_in = 0)
			}
			_, v, err = a.comparable(e.X, le, x, v)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
		fn := "in"
		if e.Not {
			fn = "notIn"
		}
		t := typ(kUInt8).withNull(anyNullable(x.typ()))
		if len(args) == 1 {
			v := uint64(0)
			if e.Not {
				v = 1
			}
			if anyNullable(x.typ()) {
				// NULL IN () is NULL: keep x in the expression
				return &call{p: e.OpP, tok: "IN", fn: "multiIf", args: []irExpr{&call{p: e.OpP, tok: "IN", fn: "isNull", args: []irExpr{x}, t: typ(kUInt8)}, &constant{p: e.OpP, tok: "NULL", t: typ(kNothing)}, &constant{p: e.OpP, tok: "IN", t: typ(kUInt8), v: v}}, t: t}, nil
			}
			return &constant{p: e.OpP, tok: "IN", t: typ(kUInt8), v: v}, nil
		}
		return &call{p: e.OpP, tok: "IN", fn: fn, args: args, t: t}, nil
	case *likeExpr:
		x, err := a.expr(sc, e.X, ctx)
		if err != nil {
			return nil, err
		}
		pat, err := a.expr(sc, e.Pattern, ctx)
		if err != nil {
			return nil, err
		}
		for i, v := range []irExpr{x, pat} {
			if t := v.typ(); !t.isString() && !t.isNothing() {
				at := []expr{e.X, e.Pattern}[i]
				return nil, a.errExpr(at, "LIKE needs strings, not %s", t)
			}
		}
		fn := map[[2]bool]string{{false, false}: "like", {true, false}: "notLike", {false, true}: "ilike", {true, true}: "notILike"}[[2]bool{e.Not, e.ILike}]
		return &call{p: e.OpP, tok: tok, fn: fn, args: []irExpr{x, pat}, t: typ(kUInt8).withNull(anyNullable(x.typ(), pat.typ()))}, nil
	case *isNullExpr:
		x, err := a.expr(sc, e.X, ctx)
		if err != nil {
			return nil, err
		}
		fn := "isNull"
		if e.Not {
			fn = "isNotNull"
		}
		return &call{p: e.P, tok: "IS", fn: fn, args: []irExpr{x}, t: typ(kUInt8)}, nil
	case *caseExpr:
		return a.caseExpr(sc, e, ctx)
	case *extractExpr:
		fn := map[string]string{"YEAR": "toYear", "QUARTER": "toQuarter", "MONTH": "toMonth", "DAY": "toDayOfMonth", "HOUR": "toHour", "MINUTE": "toMinute", "SECOND": "toSecond"}[e.Unit]
		if fn == "" {
			return nil, a.errAt(e.UnitPos, e.Unit, "unsupported unit for extract").hint("use %s", codeList("or", "YEAR", "QUARTER", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"))
		}
		return a.callNamed(sc, &callExpr{P: e.P, Name: fn, Args: []expr{e.X}}, fn, ctx)
	case *castExpr:
		fn := map[string]string{
			"string": "toString", "float64": "toFloat64", "double": "toFloat64", "uint8": "toUInt8", "uint16": "toUInt16",
			"uint32": "toUInt32", "uint64": "toUInt64", "int8": "toInt8", "int16": "toInt16", "int32": "toInt32",
			"int64": "toInt64", "date": "toDate", "datetime": "toDateTime",
		}[asciiLower(e.Type)]
		if fn == "" {
			return nil, a.errAt(e.TypePos, e.Type, "unsupported type in CAST").hint("use %s, %s, %s..%s, %s..%s, %s or %s", code("String"), code("Float64"), code("UInt8"), code("UInt64"), code("Int8"), code("Int64"), code("Date"), code("DateTime"))
		}
		x, err := a.callNamed(sc, &callExpr{P: e.P, Name: fn, Args: []expr{e.X}}, fn, ctx)
		if err != nil {
			return nil, err
		}
		// CAST(x AS DateTime) names the type without a zone: the server's
		// (toDateTime(x) would keep x's zone)
		switch x := x.(type) {
		case *call:
			if x.t.k == kDateTime {
				x.t.tz = ""
			}
		case *constant:
			if x.t.k == kDateTime {
				x.t.tz = ""
			}
		}
		return x, nil
	case *callExpr:
		return a.callNamed(sc, e, e.Name, ctx)
	}
	return nil, a.errExpr(e, "unsupported expression")
}

// andOr analyses a chain of AND (or of OR) as one n-ary function.
func (a *analyzer) andOr(sc *scope, e *binaryExpr, ctx exprCtx) (irExpr, error) {
	ops := andOrOperands(e)
	c := &call{p: e.OpP, tok: e.Op, fn: asciiLower(e.Op)}
	var ts []chType
	for _, o := range ops {
		v, err := a.expr(sc, o, ctx)
		if err != nil {
			return nil, err
		}
		if err := a.condition(v, o, e.Op); err != nil {
			return nil, err
		}
		c.args = append(c.args, v)
		ts = append(ts, v.typ())
	}
	c.t = typ(kUInt8).withNull(anyNullable(ts...))
	return c, nil
}

// number types a numeric literal the way ClickHouse does: the smallest
// unsigned type that holds a non-negative integer, the smallest signed
// type for a negative one, Float64 otherwise.
func (a *analyzer) number(n *numberLit) (irExpr, error) {
	v, ok := parseNumber(n.Text)
	if !ok {
		return nil, a.errExpr(n, "malformed number")
	}
	c := &constant{p: n.P, tok: n.Text}
	switch {
	case v.isFloat:
		c.t, c.v = typ(kFloat64), v.f
	case v.neg:
		i := -int64(v.u)
		c.v = i
		switch {
		case i >= math.MinInt8:
			c.t = typ(kInt8)
		case i >= math.MinInt16:
			c.t = typ(kInt16)
		case i >= math.MinInt32:
			c.t = typ(kInt32)
		default:
			c.t = typ(kInt64)
		}
	default:
		c.v = v.u
		switch {
		case v.u <= math.MaxUint8:
			c.t = typ(kUInt8)
		case v.u <= math.MaxUint16:
			c.t = typ(kUInt16)
		case v.u <= math.MaxUint32:
			c.t = typ(kUInt32)
		default:
			c.t = typ(kUInt64)
		}
	}
	return c, nil
}

func (a *analyzer) negate(e *unaryExpr, x irExpr) (irExpr, error) {
	t := x.typ()
	switch {
	case t.k == kNothing:
		return &call{p: e.P, tok: "-", fn: "negate", args: []irExpr{x}, t: t}, nil
	case t.isFloat():
		return &call{p: e.P, tok: "-", fn: "negate", args: []irExpr{x}, t: t}, nil
	case t.isNumeric():
		bits := t.bits()
		if !t.isSigned() {
			bits = nextBits(bits)
		}
		return &call{p: e.P, tok: "-", fn: "negate", args: []irExpr{x}, t: intType(true, bits).withNull(t.nullable)}, nil
	}
	return nil, a.errExpr(e, "cannot negate a value of type %s", t)
}

var compareFns = map[string]string{"=": "equals", "!=": "notEquals", "<": "less", ">": "greater", "<=": "lessOrEquals", ">=": "greaterOrEquals"}

func (a *analyzer) binary(e *binaryExpr, l, r irExpr) (irExpr, error) {
	lt, rt := l.typ(), r.typ()
	switch e.Op {
	case "AND", "OR":
		if err := a.condition(l, e.L, e.Op); err != nil {
			return nil, err
		}
		if err := a.condition(r, e.R, e.Op); err != nil {
			return nil, err
		}
		return &call{p: e.OpP, tok: e.Op, fn: asciiLower(e.Op), args: []irExpr{l, r}, t: typ(kUInt8).withNull(anyNullable(lt, rt))}, nil
	case "=", "!=", "<", ">", "<=", ">=":
		l, r, err := a.comparable(e.L, e.R, l, r)
		if err != nil {
			return nil, err
		}
		if e.Op != "=" && e.Op != "!=" {
			for i, v := range []irExpr{l, r} {
				if !v.typ().isComparable() {
					return nil, a.errExpr([]expr{e.L, e.R}[i], "cannot order values of type %s", v.typ())
				}
			}
		}
		return &call{p: e.OpP, tok: e.Op, fn: compareFns[e.Op], args: []irExpr{l, r}, t: typ(kUInt8).withNull(anyNullable(lt, rt))}, nil
	case "||":
		for i, v := range []irExpr{l, r} {
			if t := v.typ(); !t.isString() && !t.isNothing() {
				return nil, a.errExpr([]expr{e.L, e.R}[i], "|| concatenates strings, not %s", t).hint("convert with %s", code("toString("+[]expr{e.L, e.R}[i].String()+")"))
			}
		}
		return &call{p: e.OpP, tok: "||", fn: "concat", args: []irExpr{l, r}, t: typ(kString).withNull(anyNullable(lt, rt))}, nil
	}
	fn := map[string]string{"+": "plus", "-": "minus", "*": "multiply", "/": "divide", "%": "modulo"}[e.Op]
	c := &call{p: e.OpP, tok: e.Op, fn: fn, args: []irExpr{l, r}}
	n := anyNullable(lt, rt)
	// date and time arithmetic
	if fn == "plus" || fn == "minus" {
		switch {
		case lt.isTime() && rt.k == kInterval:
			c.t = lt
			if lt.k == kDate && (rt.unit == "SECOND" || rt.unit == "MINUTE" || rt.unit == "HOUR") {
				c.t = typ(kDateTime)
			}
			c.t = c.t.withNull(n)
			return c, nil
		case fn == "plus" && lt.k == kInterval && rt.isTime():
			c.args = []irExpr{r, l}
			c.t = rt
			if rt.k == kDate && (lt.unit == "SECOND" || lt.unit == "MINUTE" || lt.unit == "HOUR") {
				c.t = typ(kDateTime)
			}
			c.t = c.t.withNull(n)
			return c, nil
		case lt.isTime() && rt.isInt():
			c.t = lt.withNull(n)
			return c, nil
		case fn == "plus" && lt.isInt() && rt.isTime():
			c.args = []irExpr{r, l}
			c.t = rt.withNull(n)
			return c, nil
		case fn == "minus" && lt.isTime() && lt.k == rt.k:
			// ClickHouse: the seconds (DateTime) or days (Date) between them
			c.t = typ(kInt32).withNull(n)
			return c, nil
		case lt.isTime() && rt.isTime():
			return nil, a.errExpr(e, "cannot subtract or add two dates or times").hint("work on seconds since 1970: %s", code("toUnixTimestamp("+e.L.String()+") "+e.Op+" toUnixTimestamp("+e.R.String()+")"))
		}
	}
	for i, v := range []irExpr{l, r} {
		if t := v.typ(); !t.isNumeric() && !t.isNothing() {
			side := []expr{e.L, e.R}[i]
			if t.k == kInterval {
				return nil, a.errExpr(side, "an INTERVAL can only be added to or subtracted from a date or time")
			}
			return nil, a.errExpr(e, "operator %s needs numbers, not %s", e.Op, t)
		}
	}
	switch fn {
	case "divide":
		c.t = typ(kFloat64).withNull(n)
	case "modulo":
		switch {
		case lt.isFloat() || rt.isFloat():
			c.t = typ(kFloat64)
		case lt.k == kNothing || rt.k == kNothing:
			c.t = typ(kNothing)
		default:
			signed := lt.isSigned() || rt.isSigned()
			bits := rt.bits()
			if signed && !rt.isSigned() {
				bits = nextBits(bits)
			}
			c.t = intType(signed, bits)
		}
		c.t = c.t.withNull(n)
	default:
		c.t = arithType(fn, lt, rt)
		if k, ok := foldInt(fn, l, r, c.t); ok {
			k.p, k.tok = c.p, c.tok
			return k, nil
		}
	}
	return c, nil
}

// intBits returns an integer constant's value as a 64-bit pattern.
func intBits(e irExpr) (uint64, bool) {
	k, ok := e.(*constant)
	if !ok || k.t.nullable {
		return 0, false
	}
	switch v := k.v.(type) {
	case uint64:
		return v, k.t.isInt()
	case int64:
		return uint64(v), k.t.isInt()
	}
	return 0, false
}

// foldInt computes + - * of two integer constants as ClickHouse does: in
// type t, 64-bit results wrapping around (narrower ones cannot overflow).
func foldInt(fn string, l, r irExpr, t chType) (*constant, bool) {
	a, ok1 := intBits(l)
	b, ok2 := intBits(r)
	if !ok1 || !ok2 || !t.isInt() {
		return nil, false
	}
	var v uint64
	switch fn {
	case "plus":
		v = a + b
	case "minus":
		v = a - b
	case "multiply":
		v = a * b
	default:
		return nil, false
	}
	if t.isSigned() {
		return &constant{t: t, v: int64(v)}, true
	}
	return &constant{t: t, v: v}, true
}

// comparable checks that l and r can be compared and converts string and
// number literals compared with dates and times (ClickHouse parses
// '2024-01-01 00:00:00' compared with a DateTime as a DateTime).
func (a *analyzer) comparable(le, re expr, l, r irExpr) (irExpr, irExpr, error) {
	lt, rt := l.typ(), r.typ()
	conv := func(x irExpr, xe expr, to chType) (irExpr, error) {
		c, ok := x.(*constant)
		if !ok {
			return nil, nil
		}
		switch {
		case to.k == kDateTime && c.t.isString():
			// ClickHouse reads the string in the DateTime's time zone
			return a.timeLiteral(c, to.tz, xe)
		case to.isTime() && c.t.isString():
			tm, ok := parseDateTimeString(c.v.(string))
			if !ok {
				return nil, a.errExpr(xe, "cannot parse %s as %s", shortLit(c.v.(string)), to.notNull()).hint("write 'YYYY-MM-DD hh:mm:ss' or 'YYYY-MM-DD'")
			}
			if to.k == kDate {
				return &constant{p: c.p, tok: c.tok, t: typ(kDateTime), v: tm}, nil
			}
			return &constant{p: c.p, tok: c.tok, t: typ(kDateTime), v: tm}, nil
		case to.k == kDateTime && c.t.isNumeric() && !c.t.isFloat() && c.t.k != kBool:
			var secs int64
			switch v := c.v.(type) {
			case uint64:
				if v > math.MaxUint32 {
					return nil, a.errExpr(xe, "%d is out of the DateTime range", v)
				}
				secs = int64(v)
			case int64:
				secs = v
			}
			return &constant{p: c.p, tok: c.tok, t: typ(kDateTime), v: time.Unix(secs, 0).UTC()}, nil
		case to.isNumeric() && c.t.isString():
			v, ok := parseNumber(strings.TrimSpace(c.v.(string)))
			if !ok {
				return nil, a.errExpr(xe, "cannot parse %s as a number", shortLit(c.v.(string)))
			}
			switch {
			case v.isFloat:
				return &constant{p: c.p, tok: c.tok, t: typ(kFloat64), v: v.f}, nil
			case v.neg:
				return &constant{p: c.p, tok: c.tok, t: typ(kInt64), v: -int64(v.u)}, nil
			}
			return &constant{p: c.p, tok: c.tok, t: typ(kUInt64), v: v.u}, nil
		}
		return nil, nil
	}
	if lt.k != rt.k {
		if nr, err := conv(r, re, lt); err != nil {
			return nil, nil, err
		} else if nr != nil {
			return l, nr, nil
		}
		if nl, err := conv(l, le, rt); err != nil {
			return nil, nil, err
		} else if nl != nil {
			return nl, r, nil
		}
	}
	if _, ok := supertype(lt, rt); ok {
		if lt.k == kArray || rt.k == kArray {
			return nil, nil, a.errExpr(le, "arrays cannot be compared")
		}
		if lt.k == kInterval || rt.k == kInterval {
			return nil, nil, a.errExpr(le, "intervals cannot be compared")
		}
		return l, r, nil
	}
	if (lt.isNumeric() && rt.isNumeric()) || (lt.isTime() && rt.isNumeric()) || (lt.isNumeric() && rt.isTime()) {
		// ClickHouse compares UInt64 with signed integers, and dates with numbers.
		if lt.isTime() != rt.isTime() {
			te := le
			if rt.isTime() {
				te = re
			}
			return nil, nil, a.errExpr(re, "cannot compare %s with %s", lt, rt).hint("compare seconds since 1970: %s", code("toUnixTimestamp("+te.String()+")"))
		}
		return l, r, nil
	}
	return nil, nil, a.errExpr(re, "cannot compare %s with %s", lt, rt)
}

// parseDateTimeString parses what ClickHouse reads as a DateTime in UTC:
// 'YYYY-MM-DD hh:mm:ss' (or with T, fractional seconds ignored),
// 'YYYY-MM-DD', or a whole number of seconds since the epoch.
func parseDateTimeString(s string) (time.Time, bool) {
	tm, _, ok := parseDateTimeWall(s)
	return tm, ok
}

// parseDateTimeWall parses a DateTime string. instant is true when the text
// names an instant by itself (a number of seconds since 1970, or a time
// with a UTC offset such as Z or +02:00), which is returned in UTC;
// otherwise tm holds the wall clock time as if in UTC.
func parseDateTimeWall(s string) (tm time.Time, instant, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, false
	}
	if isAllDigits(s) && len(s) <= 10 && len(s) != 8 {
		var v int64
		for i := 0; i < len(s); i++ {
			v = v*10 + int64(s[i]-'0')
		}
		return time.Unix(v, 0).UTC(), true, true
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02", "20060102"} {
		base := s
		if i := strings.IndexByte(s, '.'); i >= 0 && strings.Contains(layout, "05") {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			base = s[:i] + s[j:]
		}
		if tm, err := time.Parse(layout, base); err == nil {
			return tm.UTC().Truncate(time.Second), strings.Contains(layout, "Z07"), true
		}
	}
	return time.Time{}, false, false
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func (a *analyzer) caseExpr(sc *scope, e *caseExpr, ctx exprCtx) (irExpr, error) {
	var operand irExpr
	if e.Operand != nil {
		o, err := a.expr(sc, e.Operand, ctx)
		if err != nil {
			return nil, err
		}
		operand = o
	}
	var args []irExpr
	var rt *chType
	unify := func(v irExpr, at expr) error {
		if rt == nil {
			t := v.typ()
			rt = &t
			return nil
		}
		st, ok := supertype(*rt, v.typ())
		if !ok {
			return a.errExpr(at, "the branches have types %s and %s with no common type", *rt, v.typ())
		}
		rt = &st
		return nil
	}
	for _, w := range e.Whens {
		c, err := a.expr(sc, w.Cond, ctx)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			l, r, err := a.comparable(e.Operand, w.Cond, operand, c)
			if err != nil {
				return nil, err
			}
			c = &call{p: w.Cond.pos(), tok: "WHEN", fn: "equals", args: []irExpr{l, r}, t: typ(kUInt8).withNull(anyNullable(l.typ(), r.typ()))}
		} else if err := a.condition(c, w.Cond, "WHEN"); err != nil {
			return nil, err
		}
		res, err := a.expr(sc, w.Result, ctx)
		if err != nil {
			return nil, err
		}
		if err := unify(res, w.Result); err != nil {
			return nil, err
		}
		args = append(args, c, res)
	}
	var els irExpr = &constant{p: e.P, tok: "CASE", t: typ(kNothing)}
	if e.Else != nil {
		v, err := a.expr(sc, e.Else, ctx)
		if err != nil {
			return nil, err
		}
		els = v
		if err := unify(v, e.Else); err != nil {
			return nil, err
		}
	} else if err := unify(els, e); err != nil {
		return nil, err
	}
	args = append(args, els)
	if rt.k == kInterval {
		return nil, a.errExpr(e, "CASE cannot return an INTERVAL")
	}
	return &call{p: e.P, tok: "CASE", fn: "multiIf", args: args, t: *rt}, nil
}
