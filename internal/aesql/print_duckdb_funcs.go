package aesql

import (
	"strconv"
	"strings"
	"time"
)

// DuckDB SQL of the functions of funcs_more.go.

// callMore prints the calls of funcs_more.go; ok is false for other
// functions.
func (p *duckPrinter) callMore(c *call) (string, bool) {
	a := c.args
	if base, ok := ifBase[c.fn]; ok {
		// agg(x, cond) is agg(CASE WHEN cond THEN x END): every aggregate
		// here skips NULLs.
		cond := a[len(a)-1]
		cc := *c
		cc.fn = base
		cc.args = make([]irExpr, len(a)-1)
		for i, x := range a[:len(a)-1] {
			cc.args[i] = &call{p: x.at(), fn: "_ifThen", args: []irExpr{cond, x}, t: x.typ().withNull(true)}
		}
		return p.call(&cc), true
	}
	switch c.fn {
	case "toTypeName":
		// of an aggregate: its type's name, evaluating the aggregate so
		// that the query aggregates
		return "CASE WHEN (" + p.val(a[0]) + ") IS NULL THEN " + p.raw(a[1]) + " ELSE " + p.raw(a[1]) + " END", true
	case "_ifThen":
		return "CASE WHEN " + p.cond(a[0]) + " THEN " + p.val(a[1]) + " END", true
	case "any":
		return p.orDefault("any_value("+p.val(a[0])+")", c.t, defaultOf(c.t)), true
	case "anyLast":
		v := p.chunk(p.val(a[0]))
		return p.orDefault("last("+v+") FILTER (WHERE "+v+" IS NOT NULL)", c.t, defaultOf(c.t)), true
	case "quantileExact":
		return p.let(p.sortedList(a[0]), func(l string) string {
			return p.orDefault(p.exactAt(l, c.params[0]), c.t, p.emptyQuantile(c.t))
		}), true
	case "quantilesExact":
		et := *c.t.elem
		return p.let(p.sortedList(a[0]), func(l string) string {
			parts := make([]string, len(c.params))
			for i, k := range c.params {
				parts[i] = p.orDefault(p.exactAt(l, k), et, p.emptyQuantile(et))
			}
			return "[" + strings.Join(parts, ", ") + "]"
		}), true
	case "groupArray":
		v := p.chunk(p.val(a[0]))
		l := p.chunk("list(" + v + ") FILTER (WHERE " + v + " IS NOT NULL)")
		if len(c.params) == 1 {
			n := strconv.FormatUint(c.params[0].v.(uint64), 10)
			return "coalesce((" + l + ")[1:" + n + "], " + defaultOf(c.t) + ")", true
		}
		max := strconv.Itoa(maxGroupArray)
		return "CASE WHEN len(" + l + ") > " + max + " THEN error('groupArray collected more than " + max +
			" values, the limit; groupArray(" + max + ")(x) keeps the first " + max + "') ELSE coalesce(" + l + ", " + defaultOf(c.t) + ") END", true

	// ---- regular expressions
	case "extract":
		return "regexp_extract(" + p.raw(a[0]) + ", " + p.pattern(a[1], regexFlagsDotNL) + ", " + strconv.FormatUint(c.params[0].v.(uint64), 10) + ")", true
	case "extractAll":
		// ClickHouse stops at the first empty match.
		pat := p.pattern(a[1], regexFlagsDotNL)
		g := strconv.FormatUint(c.params[0].v.(uint64), 10)
		return p.let(p.raw(a[0]), func(h string) string {
			all := p.chunk("regexp_extract_all(" + h + ", " + pat + ", 0)")
			sel := all
			if g != "0" {
				sel = "regexp_extract_all(" + h + ", " + pat + ", " + g + ")"
			}
			return "list_slice(" + sel + ", 1, coalesce(list_position(" + all + ", '') - 1, len(" + all + ")))"
		}), true
	case "match":
		return "CAST(regexp_matches(" + p.raw(a[0]) + ", " + p.pattern(a[1], regexFlagsDotNL) + ") AS UTINYINT)", true
	case "replaceRegexpOne", "replaceRegexpAll":
		if a[1].(*constant).v.(string) == "" {
			return p.raw(a[0]), true // ClickHouse: an empty pattern replaces nothing
		}
		g := ""
		if c.fn == "replaceRegexpAll" {
			g = ", 'g'"
		}
		return "regexp_replace(" + p.raw(a[0]) + ", " + p.pattern(a[1], regexFlagsDotNL) + ", " + p.raw(a[2]) + g + ")", true

	case "dateDiff":
		return p.dateDiff(c), true
	}
	return "", false
}

// orDefault prints an aggregate that is NULL over no values: as it is
// when its type t is Nullable, else with ClickHouse's value over no rows,
// def.
func (p *duckPrinter) orDefault(agg string, t chType, def string) string {
	if t.nullable {
		return agg
	}
	return "coalesce(" + agg + ", " + def + ")"
}

// sortedList prints the sorted list of the non-NULL values of x.
func (p *duckPrinter) sortedList(x irExpr) string {
	v := p.chunk(p.val(x))
	return "list_sort(list(" + v + ") FILTER (WHERE " + v + " IS NOT NULL))"
}

// exactAt prints ClickHouse's quantileExact of the sorted list l: the
// value at 0-based index floor(level * n), n - 1 for level 1.
func (p *duckPrinter) exactAt(l string, k constant) string {
	return "list_extract(" + l + ", CAST(least(floor(" + p.level(k) + " * len(" + l + ")), len(" + l + ") - 1) AS BIGINT) + 1)"
}

// pattern prints a regular expression literal with flags before it.
func (p *duckPrinter) pattern(e irExpr, flags string) string {
	k, ok := e.(*constant)
	if !ok {
		bug("regular expression is not a constant")
	}
	return p.str(flags + k.v.(string))
}

// epochOffset is zone z's UTC offset at 1970-01-01 00:00:00 UTC, in
// seconds east (its fixed offset when the tz database cannot be read).
func epochOffset(z *zoneInfo) int {
	if loc, err := time.LoadLocation(z.name); err == nil {
		_, off := time.Unix(0, 0).In(loc).Zone()
		return off
	}
	return int(z.offset)
}

// dateDiff counts unit boundaries from a[0] to a[1] as ClickHouse does
// (toRelative*Num of each, subtracted): calendar units on the dates in
// each argument's zone (a Date is its own date), seconds and minutes on
// the time line (a Date is the start of its day in the zone), hours on the
// time line in zones whose offsets are whole hours, else counted from the
// zone's offset at 1970-01-01 as ClickHouse does.
func (p *duckPrinter) dateDiff(c *call) string {
	unit := c.params[0].v.(string)
	zones := [2]string{}
	for i, x := range c.args {
		zones[i] = c.tz
		if zones[i] == "" && x.typ().k == kDateTime {
			zones[i] = x.typ().tz
		}
	}
	date := func(i int) string {
		return "CAST(" + p.local(c.args[i], zones[i]) + " AS DATE)"
	}
	secs := func(i int) string {
		return "(epoch_ms(" + p.instant(c.args[i], zones[i]) + ") // 1000)"
	}
	count := func(i int, per int64) string {
		s := secs(i)
		if z := zoneOf(zones[i]); per == 3600 && z != nil && !z.wholeHours {
			// ClickHouse's toRelativeHourNum: in a zone with offsets of
			// fractions of an hour, hours count from the zone's offset at
			// 1970-01-01 (its NOTE: wrong where the fraction changed since).
			s = "(" + s + " - " + strconv.Itoa(epochOffset(z)) + ")"
		}
		return "CAST(floor(" + s + " / " + strconv.FormatInt(per, 10) + ") AS BIGINT)"
	}
	switch unit {
	case "day", "month", "quarter", "year":
		return "date_diff('" + unit + "', " + date(0) + ", " + date(1) + ")"
	case "week":
		return "(date_diff('day', CAST(date_trunc('week', " + date(0) + ") AS DATE), CAST(date_trunc('week', " + date(1) + ") AS DATE)) // 7)"
	case "hour":
		return "(" + count(1, 3600) + " - " + count(0, 3600) + ")"
	case "minute":
		return "(" + count(1, 60) + " - " + count(0, 60) + ")"
	}
	d := "(" + secs(1) + " - " + secs(0) + ")"
	switch unit {
	case "second":
		return d
	case "millisecond":
		return "(" + d + " * 1000)"
	case "microsecond":
		return "(" + d + " * 1000000)"
	case "nanosecond":
		return "(" + d + " * 1000000000)"
	}
	bug("dateDiff unit %s", unit)
	return ""
}

// intDivInts prints intDiv of two integers as ClickHouse computes it (its
// DivideIntegralImpl): when either is signed, the dividend is read as the
// signed integer of its width, and so is an unsigned divisor at least as
// wide as the dividend (intDiv(toUInt8(200), toInt8(-1)) is -56 / -1 =
// 56); the quotient truncates toward zero.
func (p *duckPrinter) intDivInts(c *call) string {
	a, b := c.args[0], c.args[1]
	ta, tb := bitOperandType(a.typ()), bitOperandType(b.typ())
	x := "CAST(" + p.val(a) + " AS HUGEINT)"
	y := p.chunk(p.val(b))
	yh := "CAST(" + y + " AS HUGEINT)"
	if ta.isSigned() || tb.isSigned() {
		if !ta.isSigned() {
			x = wrapHuge(x, intType(true, ta.bits()))
		}
		if !tb.isSigned() && ta.bits() <= tb.bits() {
			yh = wrapHuge(yh, intType(true, tb.bits()))
		}
	}
	return "CASE WHEN " + y + " = 0 THEN error('Division by zero') ELSE CAST((" + x + " // " + yh + ") AS " + duckType(c.t) + ") END"
}
