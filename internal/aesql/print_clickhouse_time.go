package aesql

import (
	"strconv"
	"strings"
)

// The ClickHouse printer's dates and times: time zones, interval
// arithmetic, differences, formatting and bucketing.

// zoned prints name(args, 'tz') when the call computes in a zone.
func (p *chPrinter) zoned(name string, c *call, a ...irExpr) string {
	s := p.list(a)
	if c.tz != "" && a[0].typ().k == kDateTime {
		if name == "toDayOfWeek" {
			return chDayOfWeek(s, ", "+chString(c.tz))
		}
		s += ", " + chString(c.tz)
	}
	return name + "(" + s + ")"
}

// chDayOfWeek prints the day of the week (1 Monday) of DateTime x in zone
// tz (", 'zone'", or "" for x's own): current servers read a second
// argument of toDayOfWeek as the week mode, 18.16 as the zone, so the
// zone goes into x's type, which both read.
func chDayOfWeek(x, tz string) string {
	if tz == "" {
		return "toDayOfWeek(" + x + ")"
	}
	return "toDayOfWeek(toTimeZone(" + x + tz + "))"
}

// dt prints x as a DateTime in zone tz (a Date: its first instant there).
func (p *chPrinter) dt(x irExpr, tz string) string {
	if x.typ().k == kDate || (tz != "" && x.typ().tz != tz) {
		if tz == "" {
			return "toDateTime(" + p.raw(x) + ")"
		}
		return "toDateTime(" + p.raw(x) + ", " + chString(tz) + ")"
	}
	return p.raw(x)
}

// withTZ prints fn(x) or fn(x, 'tz').
func (p *chPrinter) withTZ(fn, x, tz string) string {
	if tz == "" {
		return fn + "(" + x + ")"
	}
	return fn + "(" + x + ", " + chString(tz) + ")"
}

func (p *chPrinter) plusMinus(c *call) string {
	a, b := c.args[0], c.args[1]
	op := " + "
	if c.fn == "minus" {
		op = " - "
	}
	at, bt := a.typ(), b.typ()
	if at.isTime() && bt.k == kInterval {
		n := b.(*constant).v.(int64)
		if bt.unit == "QUARTER" {
			n *= 3
		}
		return "(" + p.raw(a) + op + chIntervalFn[bt.unit] + "(" + strconv.FormatInt(n, 10) + "))"
	}
	if at.k == kDateTime && bt.k == kDateTime {
		return "toInt32(" + p.raw(a) + " - " + p.raw(b) + ")"
	}
	if at.k == kDate && bt.k == kDate {
		return "toInt32(" + p.raw(a) + " - " + p.raw(b) + ")"
	}
	return c.fn + "(" + p.raw(a) + ", " + p.raw(b) + ")"
}

// toStr prints a value as toString would, times in zone tz.
func (p *chPrinter) toStr(e irExpr, tz string) string {
	t := e.typ()
	switch {
	case t.isString():
		return p.raw(e)
	case t.k == kNothing:
		return "NULL"
	case t.k == kBool:
		return "if(" + p.raw(e) + ", 'true', 'false')"
	case t.k == kDateTime:
		return p.withTZ("toString", p.raw(e), tz)
	}
	return "toString(" + p.raw(e) + ")"
}

// dateDiff: 18.16's dateDiff counts second..year; smaller units are
// seconds scaled.
func (p *chPrinter) dateDiff(c *call) string {
	unit := c.params[0].v.(string)
	scale := map[string]string{"millisecond": "1000", "microsecond": "1000000", "nanosecond": "1000000000"}[unit]
	if scale != "" {
		unit = "second"
	}
	s := "dateDiff(" + chString(unit) + ", " + p.raw(c.args[0]) + ", " + p.raw(c.args[1])
	if c.tz != "" {
		s += ", " + chString(c.tz)
	}
	s += ")"
	if scale != "" {
		return "(" + s + " * " + scale + ")"
	}
	return s
}

// formatDateTime prints the pattern piece by piece: specifiers both
// versions share through formatDateTime, the others (%i minutes, %e the
// day space-padded, %M the
// month's name, %W the day's, %a/%b their abbreviations) computed.
func (p *chPrinter) formatDateTime(c *call) string {
	x := p.raw(c.args[0])
	tz := ""
	if c.tz != "" {
		tz = ", " + chString(c.tz)
	}
	var ps chParts
	pat := ""
	flush := func() {
		if pat != "" {
			p.add(&ps, "formatDateTime("+x+", "+chString(pat)+tz+")")
			pat = ""
		}
	}
	for _, f := range c.fmt {
		if f.spec == 0 {
			pat += strings.ReplaceAll(f.lit, "%", "%%")
			continue
		}
		if strings.IndexByte(chFormatSpecs, f.spec) >= 0 {
			pat += "%" + string(f.spec)
			continue
		}
		flush()
		switch f.spec {
		case 'i':
			p.add(&ps, "substring(toString(100 + toMinute("+x+tz+")), 2)")
		case 'e':
			p.add(&ps, "replaceRegexpOne(substring(toString(100 + toDayOfMonth("+x+tz+")), 2), '^0', ' ')")
		case 'M':
			p.add(&ps, chMonths+"[toMonth("+x+tz+")]")
		case 'b':
			p.add(&ps, "substring("+chMonths+"[toMonth("+x+tz+")], 1, 3)")
		case 'W':
			p.add(&ps, chDays+"["+chDayOfWeek(x, tz)+"]")
		case 'a':
			p.add(&ps, "substring("+chDays+"["+chDayOfWeek(x, tz)+"], 1, 3)")
		case 'z':
			p.add(&ps, p.formatOffset(x, tz))
		default:
			p.unsupported(c.p, c.tok, "formatDateTime's %"+string(f.spec))
		}
	}
	flush()
	return ps.concat()
}

// startOfInterval emulates toStartOfInterval (18.16 lacks it) from
// ClickHouse's origins: seconds and minutes on the time line, hours from
// the start of the day, days from 1970-01-01, weeks from Monday
// 1970-01-05, months from 1900-01 (reckoned from 1970-01, which is month
// 840 of that count).
func (p *chPrinter) startOfInterval(c *call) string {
	k := c.args[1].(*constant)
	n := k.v.(int64)
	x := c.args[0]
	tz := c.tz
	if tz == "" && x.typ().k == kDateTime {
		tz = x.typ().tz
	}
	z := ""
	if tz != "" {
		z = ", " + chString(tz)
	}
	v := p.raw(x)
	ns := strconv.FormatInt(n, 10)
	months := func(m int64) string {
		mn := strconv.FormatInt(m, 10)
		rel := "(toYear(" + v + z + ") * 12 + toMonth(" + v + z + ") - 1 - 22800)"
		return "addMonths(toDate('1970-01-01'), intDiv(" + rel + ", " + mn + ") * " + mn + " - 840)"
	}
	switch k.t.unit {
	case "SECOND", "MINUTE":
		s := n
		if k.t.unit == "MINUTE" {
			s *= 60
		}
		ss := strconv.FormatInt(s, 10)
		return "toDateTime(intDiv(toUInt32(" + p.dt(x, tz) + "), " + ss + ") * " + ss + z + ")"
	case "HOUR":
		return "(toStartOfDay(" + p.dt(x, tz) + z + ") + toIntervalHour(intDiv(toHour(" + p.dt(x, tz) + z + "), " + ns + ") * " + ns + "))"
	case "DAY":
		d := "toDate(" + v + z + ")"
		if x.typ().k == kDate {
			d = v
		}
		return "toDateTime(subtractDays(" + d + ", toRelativeDayNum(" + d + ") % " + ns + ")" + z + ")"
	case "WEEK":
		d := "toMonday(" + v + z + ")"
		if x.typ().k == kDate {
			d = "toMonday(" + v + ")"
		}
		w := strconv.FormatInt(7*n, 10)
		return "subtractDays(" + d + ", (toRelativeDayNum(" + d + ") - 4) % " + w + ")"
	case "MONTH":
		return months(n)
	case "QUARTER":
		return months(3 * n)
	case "YEAR":
		return months(12 * n)
	}
	p.unsupported(c.p, c.tok, "toStartOfInterval by "+k.t.unit)
	return ""
}
