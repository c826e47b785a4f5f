package aesql

// Function calls and operators printed as DuckDB SQL, with their
// ClickHouse semantics (types, wrapping, rounding, conversions).

import (
	"math"
	"strconv"
	"strings"
)

func (p *duckPrinter) call(c *call) string {
	a := c.args
	switch c.fn {
	// ---- operators
	case "and", "or":
		return "(" + p.args2(c, p.cond, " "+strings.ToUpper(c.fn)+" ") + ")"
	case "not":
		return "(NOT " + p.cond(a[0]) + ")"
	case "equals", "notEquals", "less", "greater", "lessOrEquals", "greaterOrEquals":
		if s, ok := p.tsCompare(c.fn, a); ok {
			return s
		}
		op := map[string]string{"equals": "=", "notEquals": "<>", "less": "<", "greater": ">", "lessOrEquals": "<=", "greaterOrEquals": ">="}[c.fn]
		return "(" + p.cmpArg(a[0], a[1]) + " " + op + " " + p.cmpArg(a[1], a[0]) + ")"
	case "between", "notBetween":
		if s, ok := p.tsCompare(c.fn, a); ok {
			return s
		}
		not := ""
		if c.fn == "notBetween" {
			not = "NOT "
		}
		return "(" + p.cmpArg(a[0], a[1]) + " " + not + "BETWEEN " + p.cmpArg(a[1], a[0]) + " AND " + p.cmpArg(a[2], a[0]) + ")"
	case "in", "notIn":
		if s, ok := a[1].(*subquery); ok {
			return p.inSubquery(c, s)
		}
		not := ""
		if c.fn == "notIn" {
			not = "NOT "
		}
		list := make([]string, len(a)-1)
		for i, x := range a[1:] {
			list[i] = p.cmpArg(x, a[0])
		}
		return "(" + p.cmpArg(a[0], a[1]) + " " + not + "IN (" + strings.Join(list, ", ") + "))"
	case "like", "notLike", "ilike", "notILike":
		op := map[string]string{"like": "LIKE", "notLike": "NOT LIKE", "ilike": "ILIKE", "notILike": "NOT ILIKE"}[c.fn]
		return "(" + p.raw(a[0]) + " " + op + " " + p.raw(a[1]) + ` ESCAPE '\')`
	case "isNull":
		return "(" + p.raw(a[0]) + " IS NULL)"
	case "isNotNull":
		return "(" + p.raw(a[0]) + " IS NOT NULL)"
	case "concat":
		return "(" + p.args2(c, p.toStr, " || ") + ")"
	case "negate":
		if c.t.bits() == 64 && a[0].typ().bits() == 64 {
			return p.wrapArith(" - ", &constant{t: typ(kUInt8), v: uint64(0)}, a[0], c.t)
		}
		if c.t.isInt() {
			return "(-" + p.as(a[0], c.t) + ")"
		}
		return "(-" + p.val(a[0]) + ")"
	case "plus", "minus":
		return p.plusMinus(c)
	case "multiply":
		if c.t.bits() == 64 && max(a[0].typ().bits(), a[1].typ().bits()) == 64 {
			return p.wrapArith(" * ", a[0], a[1], c.t)
		}
		if c.t.isInt() {
			return "(" + p.as(a[0], c.t) + " * " + p.as(a[1], c.t) + ")"
		}
		return "(" + p.val(a[0]) + " * " + p.val(a[1]) + ")"
	case "divide":
		return "(" + p.dbl(a[0]) + " / " + p.dbl(a[1]) + ")"
	case "modulo":
		if c.t.isInt() {
			return "CASE WHEN " + p.val(a[1]) + " = 0 THEN error('Division by zero') ELSE CAST((CAST(" + p.val(a[0]) + " AS HUGEINT) % CAST(" + p.val(a[1]) + " AS HUGEINT)) AS " + duckType(c.t) + ") END"
		}
		return "(" + p.dbl(a[0]) + " % " + p.dbl(a[1]) + ")"
	case "intDiv":
		if c.t.k == kNothing {
			return "NULL"
		}
		if a[0].typ().isFloat() || a[1].typ().isFloat() {
			return "CASE WHEN " + p.dbl(a[1]) + " = 0 THEN error('Division by zero') ELSE CAST(trunc(" + p.dbl(a[0]) + " / " + p.dbl(a[1]) + ") AS " + duckType(c.t) + ") END"
		}
		return p.intDivInts(c)
	case "multiIf":
		var b strings.Builder
		b.WriteString("CASE")
		for i := 0; i+1 < len(a); i += 2 {
			b.WriteString(" WHEN " + p.cond(a[i]) + " THEN " + p.branch(a[i+1], c.t))
		}
		b.WriteString(" ELSE " + p.branch(a[len(a)-1], c.t) + " END")
		return b.String()
	case "coalesce":
		parts := make([]string, len(a))
		for i, x := range a {
			parts[i] = p.branch(x, c.t)
		}
		return "coalesce(" + strings.Join(parts, ", ") + ")"

	// ---- aggregates
	case "count":
		if len(a) == 0 {
			return "count(*)"
		}
		return "count(" + p.distinct(c) + p.val(a[0]) + ")"
	case "countIf":
		if len(a) == 1 {
			return "count(*)" + p.filter(a[0])
		}
		return "count(" + p.val(a[0]) + ")" + p.filter(a[1])
	case "sum":
		return "CAST(coalesce(sum(" + p.distinct(c) + p.val(a[0]) + "), 0) AS " + duckType(c.t) + ")"
	case "sumIf":
		return "CAST(coalesce(sum(" + p.val(a[0]) + ")" + p.filter(a[1]) + ", 0) AS " + duckType(c.t) + ")"
	case "avg":
		return "coalesce(avg(" + p.distinct(c) + p.val(a[0]) + "), " + floatLit(math.NaN()) + ")"
	case "avgIf":
		return "coalesce(avg(" + p.val(a[0]) + ")" + p.filter(a[1]) + ", " + floatLit(math.NaN()) + ")"
	case "min", "max":
		return "coalesce(" + c.fn + "(" + p.val(a[0]) + "), " + defaultOf(c.t) + ")"
	case "minIf", "maxIf":
		return "coalesce(" + c.fn[:3] + "(" + p.val(a[0]) + ")" + p.filter(a[1]) + ", " + defaultOf(c.t) + ")"
	case "uniq", "uniqExact":
		if len(a) > 1 {
			// the distinct combinations: a row of the values, skipping the
			// rows where one is NULL (as ClickHouse's aggregates do)
			var nn []string
			for _, x := range a {
				nn = append(nn, p.val(x)+" IS NOT NULL")
			}
			return "count(DISTINCT CASE WHEN " + strings.Join(nn, " AND ") + " THEN row(" + p.args2(c, p.val, ", ") + ") END)"
		}
		return "count(DISTINCT " + p.val(a[0]) + ")"
	case "uniqIf":
		return "count(DISTINCT " + p.val(a[0]) + ")" + p.filter(a[1])
	case "argMax", "argMin":
		fn := map[string]string{"argMax": "arg_max", "argMin": "arg_min"}[c.fn]
		return "coalesce(" + fn + "(" + p.val(a[0]) + ", " + p.val(a[1]) + "), " + defaultOf(c.t) + ")"
	case "first_value", "last_value":
		fn := map[string]string{"first_value": "first", "last_value": "last"}[c.fn]
		return "coalesce(" + fn + "(" + p.val(a[0]) + p.aggOrder(c.order) + "), " + defaultOf(c.t) + ")"
	case "quantile":
		q := p.level(c.params[0])
		if c.t.k == kDateTime {
			return "coalesce(date_trunc('second', quantile_cont(" + p.raw(a[0]) + ", " + q + ")), " + defaultOf(c.t) + ")"
		}
		if c.t.k == kDate {
			return "coalesce(CAST(quantile_cont(" + p.raw(a[0]) + ", " + q + ") AS DATE), " + defaultOf(c.t) + ")"
		}
		return "coalesce(quantile_cont(" + p.dbl(a[0]) + ", " + q + "), " + floatLit(math.NaN()) + ")"
	case "quantiles":
		qs := make([]string, len(c.params))
		nans := make([]string, len(c.params))
		for i, k := range c.params {
			qs[i] = p.level(k)
			nans[i] = floatLit(math.NaN())
		}
		return "coalesce(quantile_cont(" + p.dbl(a[0]) + ", [" + strings.Join(qs, ", ") + "]), [" + strings.Join(nans, ", ") + "])"
	case "quantileExactWeighted":
		return p.quantileExactWeighted(c)
	case "topK":
		n := strconv.FormatUint(c.params[0].v.(uint64), 10)
		return "coalesce(list_transform(list_sort(list_transform(map_entries(histogram(" + p.val(a[0]) +
			")), lambda e: {'n': -CAST(e.value AS BIGINT), 'k': e.key}))[1:" + n + "], lambda e: e.k), " + defaultOf(c.t) + ")"
	case "topKWeighted":
		n := strconv.FormatUint(c.params[0].v.(uint64), 10)
		list := "list({'k': " + p.val(a[0]) + ", 'w': " + p.weight(a[1]) + "})"
		if !hasColRef(c) {
			// DuckDB binds an aggregate of constants inside the subquery:
			// tie it to the outer rows, or, without FROM, to the one row.
			if p.cur == nil {
				list = "[{'k': " + p.val(a[0]) + ", 'w': " + p.weight(a[1]) + "}]"
			} else {
				col := p.col(&colRef{src: p.cur, col: "dataset", idx: 0})
				list += " FILTER (WHERE " + col + " IS NULL OR " + col + " IS NOT NULL)"
			}
		}
		return "coalesce((SELECT list(k ORDER BY s DESC, k) FROM (SELECT u.e.k AS k, sum(u.e.w) AS s FROM unnest(" + list +
			") AS u(e) GROUP BY u.e.k ORDER BY s DESC, k LIMIT " + n + ")), " + defaultOf(c.t) + ")"

	// ---- dates and times
	case "now":
		return "make_timestamp((epoch_us(now()) // 1000000) * 1000000)"
	case "today":
		return "CAST(make_timestamp((epoch_us(now()) // 1000000) * 1000000) AS DATE)"
	case "toDateTime":
		return p.toDateTime(a[0], zoneOf(c.tz))
	case "_fromLocal":
		return p.fromLocal(p.raw(a[0]), zoneOf(c.tz), false)
	case "toDate":
		return p.toDate(a[0], zoneOf(c.tz))
	case "toUnixTimestamp":
		return "CAST(floor(epoch_ms(" + p.ts(a[0]) + ") / 1000) AS BIGINT)"
	case "formatDateTime":
		return p.formatDateTime(c)
	case "toStartOfInterval":
		return p.startOfInterval(c)
	case "toStartOfYear", "toStartOfQuarter", "toStartOfMonth":
		part := map[string]string{"toStartOfYear": "year", "toStartOfQuarter": "quarter", "toStartOfMonth": "month"}[c.fn]
		return "CAST(date_trunc('" + part + "', " + p.local(a[0], c.tz) + ") AS DATE)"
	case "toMonday":
		return "CAST(date_trunc('week', " + p.local(a[0], c.tz) + ") AS DATE)"
	case "toStartOfWeek":
		t := p.chunk(p.local(a[0], c.tz))
		if c.params[0].v.(uint64) == 1 {
			return "CAST(date_trunc('week', " + t + ") AS DATE)"
		}
		return "(CAST(" + t + " AS DATE) - CAST(dayofweek(" + t + ") AS INTEGER))"
	case "toStartOfDay":
		if z := zoneOf(c.tz); z != nil {
			return p.startOfDay(p.ts(a[0]), z)
		}
		return "date_trunc('day', " + p.ts(a[0]) + ")"
	case "toStartOfHour":
		return p.roundTime(a[0], c.tz, 3600)
	case "toStartOfMinute":
		return p.roundTime(a[0], c.tz, 60)
	case "toStartOfFifteenMinutes", "toStartOfTenMinutes", "toStartOfFiveMinutes":
		n := map[string]int64{"toStartOfFifteenMinutes": 15, "toStartOfTenMinutes": 10, "toStartOfFiveMinutes": 5}[c.fn]
		return p.roundTime(a[0], c.tz, n*60)
	case "toYear", "toQuarter", "toMonth", "toDayOfYear", "toDayOfMonth", "toDayOfWeek", "toHour", "toMinute", "toSecond":
		fn := map[string]string{"toYear": "year", "toQuarter": "quarter", "toMonth": "month", "toDayOfYear": "dayofyear",
			"toDayOfMonth": "day", "toDayOfWeek": "isodow", "toHour": "hour", "toMinute": "minute", "toSecond": "second"}[c.fn]
		return fn + "(" + p.local(a[0], c.tz) + ")"
	case "toYYYYMM":
		t := p.chunk(p.local(a[0], c.tz))
		return "(year(" + t + ") * 100 + month(" + t + "))"
	case "toYYYYMMDD":
		t := p.chunk(p.local(a[0], c.tz))
		return "(year(" + t + ") * 10000 + month(" + t + ") * 100 + day(" + t + "))"

	// ---- mathematics
	case "log", "log2", "log10":
		fn := map[string]string{"log": "ln", "log2": "log2", "log10": "log10"}[c.fn]
		x := p.dbl(a[0])
		return "CASE WHEN " + x + " > 0 THEN " + fn + "(" + x + ") WHEN " + x + " = 0 THEN " + floatLit(math.Inf(-1)) + " ELSE " + floatLit(math.NaN()) + " END"
	case "sqrt":
		x := p.dbl(a[0])
		return "CASE WHEN " + x + " >= 0 THEN sqrt(" + x + ") ELSE " + floatLit(math.NaN()) + " END"
	case "exp":
		return "exp(" + p.dbl(a[0]) + ")"
	case "pow":
		return "pow(" + p.dbl(a[0]) + ", " + p.dbl(a[1]) + ")"
	case "abs":
		if c.t.isInt() {
			return "CAST(abs(CAST(" + p.val(a[0]) + " AS HUGEINT)) AS " + duckType(c.t) + ")"
		}
		return "abs(" + p.val(a[0]) + ")"
	case "round", "floor", "ceil", "trunc":
		return p.rounding(c)

	// ---- strings
	case "length":
		if a[0].typ().k == kArray {
			return "len(" + p.raw(a[0]) + ")"
		}
		return "length(" + p.raw(a[0]) + ")"
	case "empty", "notEmpty":
		op := map[string]string{"empty": " = 0", "notEmpty": " <> 0"}[c.fn]
		if a[0].typ().k == kArray {
			return "(len(" + p.raw(a[0]) + ")" + op + ")"
		}
		return "(length(" + p.raw(a[0]) + ")" + op + ")"
	case "lower":
		return "translate(" + p.raw(a[0]) + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
	case "upper":
		return "translate(" + p.raw(a[0]) + ", 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"
	case "lowerUTF8":
		return "lower(" + p.raw(a[0]) + ")"
	case "upperUTF8":
		return "upper(" + p.raw(a[0]) + ")"
	case "startsWith":
		return "starts_with(" + p.raw(a[0]) + ", " + p.raw(a[1]) + ")"
	case "endsWith":
		return "suffix(" + p.raw(a[0]) + ", " + p.raw(a[1]) + ")"
	case "position":
		return "strpos(" + p.raw(a[0]) + ", " + p.raw(a[1]) + ")"
	case "substring":
		return p.substring(c)
	case "format":
		return p.format(c)
	case "toString":
		return p.toStrIn(a[0], c.tz)

	// ---- conversions
	case "toUInt8", "toUInt16", "toUInt32", "toUInt64", "toInt8", "toInt16", "toInt32", "toInt64":
		return p.toInt(a[0], c.t)
	case "toFloat64":
		return p.toFloat(a[0])

	// ---- encoding
	case "hex", "bin":
		return p.encode(c)

	// ---- bits
	case "bitAnd", "bitOr", "bitXor":
		l, r := p.as(a[0], c.t), p.as(a[1], c.t)
		switch c.fn {
		case "bitAnd":
			return "(" + l + " & " + r + ")"
		case "bitOr":
			return "(" + l + " | " + r + ")"
		}
		return "xor(" + l + ", " + r + ")"
	case "bitNot":
		return "(~" + p.as(a[0], c.t) + ")"
	case "bitCount":
		if a[0].typ().isFloat() {
			return "bit_count(" + p.floatBits(a[0]) + ")"
		}
		return "bit_count(" + p.as(a[0], bitOperandType(a[0].typ())) + ")"
	case "bitHammingDistance":
		l, r := bitOperandType(a[0].typ()), bitOperandType(a[1].typ())
		t := intType(l.isSigned() || r.isSigned(), max(l.bits(), r.bits()))
		return "bit_count(xor(" + p.as(a[0], t) + ", " + p.as(a[1], t) + "))"
	case "bitShiftLeft", "bitShiftRight", "bitRotateLeft", "bitRotateRight", "bitTest":
		return p.shift(c)
	}
	if s, ok := p.callMore(c); ok {
		return s
	}
	bug("no DuckDB mapping for function %s", c.fn)
	return ""
}

func bitOperandType(t chType) chType {
	if t.k == kBool || t.k == kNothing {
		return typ(kUInt8)
	}
	return t.notNull()
}

// branch prints a value of a conditional whose result has type t.
func (p *duckPrinter) branch(e irExpr, t chType) string {
	if e.typ().k == kNothing {
		return "NULL"
	}
	if t.k == kDateTime && e.typ().k == kDate {
		return p.instant(e, t.tz)
	}
	return p.val(e)
}

// cmpArg prints one side of a comparison with other: truth values as
// numbers, dates as the start of their day in the zone of a DateTime
// they are compared with.
func (p *duckPrinter) cmpArg(e, other irExpr) string {
	if e.typ().k == kDate && other.typ().k == kDateTime {
		return p.instant(e, other.typ().tz)
	}
	return p.val(e)
}

func (p *duckPrinter) level(k constant) string {
	f, _ := constFloat(k)
	return floatLit(f)
}

// weight prints a weight as ClickHouse uses it: truncated to UInt64.
func (p *duckPrinter) weight(e irExpr) string {
	if e.typ().isFloat() {
		return "CAST(trunc(greatest(" + p.raw(e) + ", 0)) AS UBIGINT)"
	}
	return "CAST(greatest(" + p.val(e) + ", 0) AS UBIGINT)"
}

// quantileExactWeighted follows ClickHouse: sort the values, and return the
// first whose running weight reaches ceil(total weight * level).
func (p *duckPrinter) quantileExactWeighted(c *call) string {
	x, w := c.args[0], c.args[1]
	t := duckType(c.t)
	v := p.val(x)
	if x.typ().k == kBool {
		v = "CAST(" + p.raw(x) + " AS UTINYINT)"
	}
	wt := p.weight(w)
	level := p.level(c.params[0])
	return "coalesce(list_reduce(list_sort(list({'v': CAST(" + v + " AS " + t + "), 'w': " + wt + "})), " +
		"lambda a, e: CASE WHEN a.d THEN a ELSE {'acc': a.acc + e.w, 'th': a.th, 'res': e.v, 'd': a.acc + e.w >= a.th} END, " +
		"{'acc': CAST(0 AS UBIGINT), 'th': CAST(ceil(CAST(sum(" + wt + ") AS DOUBLE) * " + level + ") AS UBIGINT), 'res': CAST(NULL AS " + t + "), 'd': FALSE}).res, " +
		p.emptyQuantile(c.t) + ")"
}

func (p *duckPrinter) emptyQuantile(t chType) string {
	if t.isFloat() {
		return floatLit(math.NaN())
	}
	return defaultOf(t)
}

func (p *duckPrinter) plusMinus(c *call) string {
	a, b := c.args[0], c.args[1]
	op := " + "
	if c.fn == "minus" {
		op = " - "
	}
	at, bt := a.typ(), b.typ()
	switch {
	case at.isTime() && bt.k == kInterval:
		n := b.(*constant).v.(int64)
		iv := intervalSQL(bt.unit, n)
		if c.t.k == kDate {
			return "CAST(" + p.raw(a) + op + iv + " AS DATE)"
		}
		if z := zoneOf(at.tz); z != nil && at.k == kDateTime && bt.unit != "SECOND" && bt.unit != "MINUTE" && bt.unit != "HOUR" {
			// ClickHouse adds days, weeks, months and years to the
			// zone's wall clock time (keeping the time of day)
			return p.fromLocal("("+p.localOf(p.ts(a), z)+op+iv+")", z, false)
		}
		return "(" + p.ts(a) + op + iv + ")"
	case at.k == kDateTime && bt.isNumeric():
		return "(" + p.raw(a) + op + "to_seconds(" + p.as(b, typ(kInt64)) + "))"
	case at.k == kDate && bt.isNumeric():
		return "(" + p.raw(a) + op + p.as(b, typ(kInt32)) + ")"
	case at.k == kDateTime && bt.k == kDateTime:
		// ClickHouse: the seconds between two times, Int32
		return "CAST(epoch(" + p.raw(a) + ") - epoch(" + p.raw(b) + ") AS INTEGER)"
	case at.k == kDate && bt.k == kDate:
		// ClickHouse: the days between two dates, Int32
		return "CAST(" + p.raw(a) + " - " + p.raw(b) + " AS INTEGER)"
	case at.isTime() || bt.isTime():
		bug("unexpected time arithmetic %s %s %s", at, c.fn, bt)
	}
	if c.t.bits() == 64 && max(at.bits(), bt.bits()) == 64 {
		return p.wrapArith(op, a, b, c.t)
	}
	if c.t.isInt() {
		return "(" + p.as(a, c.t) + op + p.as(b, c.t) + ")"
	}
	return "(" + p.val(a) + op + p.val(b) + ")"
}

// wrapArith computes a + b, a - b or a * b modulo 2^64, as ClickHouse's
// 64-bit integer arithmetic wraps around: on the unsigned 64-bit patterns
// in UHUGEINT, read back as signed when t is.
func (p *duckPrinter) wrapArith(op string, a, b irExpr, t chType) string {
	const m = "CAST(18446744073709551616 AS UHUGEINT)"
	u := func(e irExpr) string {
		if e.typ().isSigned() {
			return "(CAST(CAST(" + p.val(e) + " AS HUGEINT) + 18446744073709551616 AS UHUGEINT) % " + m + ")"
		}
		return "CAST(" + p.val(e) + " AS UHUGEINT)"
	}
	var r string
	switch op {
	case " + ":
		r = "((" + u(a) + " + " + u(b) + ") % " + m + ")"
	case " - ":
		r = "((" + u(a) + " + " + m + " - " + u(b) + ") % " + m + ")"
	default:
		r = "((" + u(a) + " * " + u(b) + ") % " + m + ")"
	}
	if t.isSigned() {
		return "CAST(CAST((" + r + " + 9223372036854775808) % " + m + " AS HUGEINT) - 9223372036854775808 AS BIGINT)"
	}
	return "CAST(" + r + " AS UBIGINT)"
}

// rounding follows ClickHouse: floats are scaled by 10^n, rounded (round:
// half to even), and scaled back; integers are unchanged for n >= 0 and
// rounded (round: half away from zero) to 10^-n otherwise.
func (p *duckPrinter) rounding(c *call) string {
	x := c.args[0]
	n := int64(0)
	if len(c.args) == 2 {
		n, _ = constInt(*c.args[1].(*constant))
	}
	fn := map[string]string{"round": "round_even", "floor": "floor", "ceil": "ceil", "trunc": "trunc"}[c.fn]
	if !c.t.isFloat() {
		if n >= 0 {
			return p.val(x)
		}
		if c.fn == "round" {
			fn = "round"
		}
		s := floatLit(math.Pow(10, float64(-n)))
		return "CAST(" + fn + "(" + p.dbl(x) + " / " + s + ") * " + s + " AS " + duckType(c.t) + ")"
	}
	call := func(v string) string {
		if fn == "round_even" {
			return "round_even(" + v + ", 0)"
		}
		return fn + "(" + v + ")"
	}
	v := p.raw(x)
	switch {
	case n > 0:
		s := floatLit(math.Pow(10, float64(n)))
		return "(" + call("("+v+" * "+s+")") + " / " + s + ")"
	case n < 0:
		s := floatLit(math.Pow(10, float64(-n)))
		return "(" + call("("+v+" / "+s+")") + " * " + s + ")"
	}
	return call(v)
}

// substring follows ClickHouse: offsets count characters from 1, negative
// ones from the end, offset 0 gives the empty string; a negative length stops that many
// characters before the end.
func (p *duckPrinter) substring(c *call) string {
	s := p.raw(c.args[0])
	off := p.as(c.args[1], typ(kInt64))
	var body string
	if len(c.args) == 2 {
		body = "substring(" + s + ", " + off + ")"
	} else {
		n := p.as(c.args[2], typ(kInt64))
		start := "greatest(CASE WHEN " + off + " > 0 THEN " + off + " ELSE length(" + s + ") + " + off + " + 1 END, 1)"
		body = "CASE WHEN " + n + " >= 0 THEN substring(" + s + ", " + off + ", " + n + ") ELSE substring(" + s + ", " + start +
			", greatest(length(" + s + ") - " + start + " + 1 + " + n + ", 0)) END"
	}
	return "CASE WHEN " + off + " = 0 THEN '' ELSE " + body + " END"
}

// toStr prints a value as ClickHouse's toString would.
func (p *duckPrinter) toStr(e irExpr) string {
	return p.toStrIn(e, e.typ().tz)
}

// toStrIn prints a value as ClickHouse's toString would, times in the
// zone named tz.
func (p *duckPrinter) toStrIn(e irExpr, tz string) string {
	t := e.typ()
	switch {
	case t.isString():
		return p.raw(e)
	case t.k == kNothing:
		return "CAST(NULL AS VARCHAR)"
	case t.k == kBool:
		return "CASE WHEN " + p.raw(e) + " THEN 'true' ELSE 'false' END"
	case t.isInt():
		return "CAST(" + p.val(e) + " AS VARCHAR)"
	case t.isFloat():
		return p.floatText(p.raw(e))
	case t.k == kDate:
		return "strftime(" + p.raw(e) + ", '%Y-%m-%d')"
	case t.k == kDateTime:
		return "strftime(" + p.localOf(p.raw(e), zoneOf(tz)) + ", '%Y-%m-%d %H:%M:%S')"
	}
	bug("toString of %s", t)
	return ""
}

// floatText spells a DOUBLE as ClickHouse's toString does (formatFloat):
// the shortest digits that read back to the value, in plain decimal when
// the scientific exponent is in [-6, 21), else as 1.5e-7 or 1e21. DuckDB
// spells the same shortest digits as 1.5e-07, 1e+21 or 1e+20 and
// integral values as 1000000000000000.0: its text is respelt.
func (p *duckPrinter) floatText(v string) string {
	return p.bind("CAST("+v+" AS VARCHAR)", func(s string) string {
		m := "regexp_extract(" + s + ", '^-?([0-9.]+)e', 1)"                   // mantissa
		x := "CAST(regexp_extract(" + s + ", 'e([-+][0-9]+)$', 1) AS INTEGER)" // exponent
		d := "replace(" + m + ", '.', '')"                                     // its digits
		k := "length(" + d + ")"
		sign := "CASE WHEN starts_with(" + s + ", '-') THEN '-' ELSE '' END"
		plain := "CASE WHEN " + x + " >= " + k + " - 1 THEN " + d + " || repeat('0', " + x + " - " + k + " + 1)" +
			" WHEN " + x + " < 0 THEN '0.' || repeat('0', -" + x + " - 1) || " + d +
			" ELSE substring(" + d + ", 1, " + x + " + 1) || '.' || substring(" + d + ", " + x + " + 2) END"
		sci := "CASE WHEN " + x + " BETWEEN -6 AND 20 THEN " + sign + " || (" + plain + ") ELSE " + sign + " || " + m + " || 'e' || CAST(" + x + " AS VARCHAR) END"
		return "CASE WHEN " + s + " LIKE '%e%' THEN " + sci + " WHEN ends_with(" + s + ", '.0') THEN substring(" + s + ", 1, length(" + s + ") - 2) ELSE " + s + " END"
	})
}

func (p *duckPrinter) format(c *call) string {
	var parts []string
	for _, f := range c.fmt {
		if f.spec == '{' {
			i, _ := strconv.Atoi(f.lit)
			parts = append(parts, p.toStr(c.args[i]))
			continue
		}
		parts = append(parts, p.str(f.lit))
	}
	if len(parts) == 0 {
		return "''"
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// toInt converts to an integer type the way ClickHouse does: floats are
// truncated toward zero, and values out of range wrap around.
func (p *duckPrinter) toInt(x irExpr, to chType) string {
	t := x.typ()
	dt := duckType(to)
	if t.k == kNothing {
		return "CAST(NULL AS " + dt + ")"
	}
	// a source whose every value fits needs no wrapping
	if (t.isInt() || t.k == kBool) && fits(bitOperandType(t), to) {
		return "CAST(" + p.val(x) + " AS " + dt + ")"
	}
	var h string
	switch {
	case t.isFloat():
		h = "TRY_CAST(trunc(" + p.raw(x) + ") AS HUGEINT)"
	case t.isInt() || t.k == kBool:
		h = "CAST(" + p.val(x) + " AS HUGEINT)"
	case t.isString():
		v := p.raw(x)
		h = "CASE WHEN regexp_full_match(" + v + ", '[ ]*[-+]?[0-9]+[ ]*') THEN TRY_CAST(" + v + " AS HUGEINT) ELSE TRY_CAST(trunc(CAST(" + v + " AS DOUBLE)) AS HUGEINT) END"
	case t.k == kDateTime:
		h = "CAST(floor(epoch_ms(" + p.raw(x) + ") / 1000) AS HUGEINT)"
	case t.k == kDate:
		h = "CAST(" + p.raw(x) + " - DATE '1970-01-01' AS HUGEINT)"
	default:
		bug("toInt of %s", t)
	}
	return "CAST(coalesce(" + wrapHuge(h, to) + ", 0) AS " + dt + ")"
}

// wrapHuge wraps a HUGEINT expression into the range of integer type to.
func wrapHuge(h string, to chType) string {
	m := "CAST(1 AS HUGEINT) << " + strconv.Itoa(to.bits())
	if to.isSigned() {
		half := "CAST(1 AS HUGEINT) << " + strconv.Itoa(to.bits()-1)
		return "((((" + h + " % (" + m + ")) + (" + m + ") + (" + half + ")) % (" + m + ")) - (" + half + "))"
	}
	return "(((" + h + " % (" + m + ")) + (" + m + ")) % (" + m + "))"
}

func fits(from, to chType) bool {
	if from.isSigned() && !to.isSigned() {
		return false
	}
	if !from.isSigned() && to.isSigned() {
		return from.bits() < to.bits()
	}
	return from.bits() <= to.bits()
}

func (p *duckPrinter) toFloat(x irExpr) string {
	t := x.typ()
	switch {
	case t.k == kNothing:
		return "CAST(NULL AS DOUBLE)"
	case t.isNumeric():
		return p.dbl(x)
	case t.isString():
		return "CAST(" + p.raw(x) + " AS DOUBLE)"
	case t.k == kDateTime:
		return "floor(epoch_ms(" + p.raw(x) + ") / 1000)"
	case t.k == kDate:
		return "CAST(" + p.raw(x) + " - DATE '1970-01-01' AS DOUBLE)"
	}
	bug("toFloat64 of %s", t)
	return ""
}
