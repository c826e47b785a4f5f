package aesql

import (
	"strconv"
	"strings"
)

// Dates and times in DuckDB SQL: the conversions, formatDateTime,
// toStartOfInterval and the roundings, and time zones.
//
// Time zones in DuckDB SQL. Every DateTime is a TIMESTAMP holding the
// instant in UTC, whatever its type's zone. A zone's wall clock time is
// computed from it with ICU's timezone() (DuckDB's ICU extension, the tz
// database at run time) for zones whose offset changes, or by adding the
// offset for zones with one offset; the zone's name is a bound parameter.
// Nothing here depends on the session's TimeZone setting: TIMESTAMP values
// go through timezone('UTC', ...) before ICU sees them.

// localOf prints the wall clock time in zone z of instant x (a TIMESTAMP
// expression), as a TIMESTAMP; z nil is UTC.
func (p *duckPrinter) localOf(x string, z *zoneInfo) string {
	switch {
	case z == nil:
		return x
	case z.kind == zoneFixed:
		return "(" + x + " + to_seconds(" + strconv.Itoa(int(z.offset)) + "))"
	}
	return "timezone(" + p.str(z.name) + ", timezone('UTC', " + x + "))"
}

// offSec prints the UTC offset of zone z at instant x, in seconds east of
// UTC, as a BIGINT.
func (p *duckPrinter) offSec(x string, z *zoneInfo) string {
	switch {
	case z == nil:
		return "CAST(0 AS BIGINT)"
	case z.kind == zoneFixed:
		return "CAST(" + strconv.Itoa(int(z.offset)) + " AS BIGINT)"
	}
	return p.let(x, func(x string) string {
		return "((epoch_ms(" + p.localOf(x, z) + ") - epoch_ms(" + x + ")) // 1000)"
	})
}

// fromLocal prints the instant at which zone z's wall clock shows l (a
// TIMESTAMP expression). A wall clock time that occurs twice (when clocks
// go back) is its first instant, as in ClickHouse. One that does not occur
// (when clocks go forward) is, when later is false, the time read with the
// offset after the change (02:30 where 02:00 becomes 03:00 is 01:30 before
// the change: ClickHouse's makeDateTime, which parses times and adds days
// and months), and when later is true the time read with the offset before
// it, which is the instant of the change itself for the start of a day or
// an interval (ClickHouse's start of day).
//
// ICU reads l as c; whichever instant ICU picks where l is ambiguous, the
// cases are told apart by offsets: l does not occur when c's offset is not
// l - c (the two candidates are then c and l - offset(c)); l occurs twice
// when l - offset(a day before c) is another instant showing l (no zone
// changes its offset twice in a day).
func (p *duckPrinter) fromLocal(l string, z *zoneInfo, later bool) string {
	switch {
	case z == nil:
		return l
	case z.kind == zoneFixed:
		return "(" + l + " - to_seconds(" + strconv.Itoa(int(z.offset)) + "))"
	}
	return p.let(l, func(l string) string {
		c := "timezone('UTC', timezone(" + p.str(z.name) + ", " + l + "))"
		return p.let(c, func(c string) string {
			offC := p.chunk(p.offSec(c, z))
			offPrev := p.chunk(p.offSec("("+c+" - to_days(1))", z))
			skippedTo := "least"
			if later {
				skippedTo = "greatest"
			}
			first := p.chunk("(" + l + " - to_seconds(" + offPrev + "))")
			return "CASE WHEN (epoch_ms(" + l + ") - epoch_ms(" + c + ")) // 1000 <> " + offC +
				" THEN " + skippedTo + "(" + c + ", (" + l + " - to_seconds(" + offC + ")))" +
				" WHEN " + offPrev + " = " + offC + " THEN " + c +
				" WHEN " + p.offSec(first, z) + " = " + offPrev + " AND " + first + " < " + c + " THEN " + first +
				" ELSE " + c + " END"
		})
	})
}

// letMin is the length from which let binds a value to a lambda parameter
// instead of repeating its text.
const letMin = 400

// let prints body(v), where v stands for the value of e evaluated once: a
// lambda over a one-element list (list_transform([e], lambda vN: ...)[1])
// when e is long, else e itself. Nesting the zone computations would
// otherwise repeat their arguments' text exponentially. Parameter names
// follow the nesting depth, so an expression prints the same wherever it
// is printed (GROUP BY keys must match select items).
func (p *duckPrinter) let(e string, body func(v string) string) string {
	if p.expLen(e) < letMin {
		return body(e)
	}
	v := "v" + strconv.Itoa(p.letDepth)
	p.letDepth++
	b := body(v)
	p.letDepth--
	return p.chunk("list_transform([" + e + "], lambda " + v + ": " + b + ")[1]")
}

// bind is let, binding e to a lambda parameter however short e is: for
// bodies that use their value many times.
func (p *duckPrinter) bind(e string, body func(v string) string) string {
	v := "v" + strconv.Itoa(p.letDepth)
	p.letDepth++
	b := body(v)
	p.letDepth--
	return p.chunk("list_transform([" + e + "], lambda " + v + ": " + b + ")[1]")
}

// chunk keeps a long printed expression as a placeholder, so that
// repeating it costs its length once (see duckPrinter.chunks).
func (p *duckPrinter) chunk(s string) string {
	if len(s) <= chunkMin {
		return s
	}
	p.chunks = append(p.chunks, s)
	p.chunkLen = append(p.chunkLen, p.expLen(s))
	return "\x00" + strconv.Itoa(len(p.chunks)-1) + "\x01"
}

// local prints the wall clock time of time value e in the zone named tz as
// a TIMESTAMP: a Date is its midnight (a date has no zone).
func (p *duckPrinter) local(e irExpr, tz string) string {
	if e.typ().k == kDate {
		return p.ts(e)
	}
	return p.localOf(p.ts(e), zoneOf(tz))
}

// instant prints time value e as an instant in the zone named tz: a
// DateTime is one already; a Date is the start of its day in the zone.
func (p *duckPrinter) instant(e irExpr, tz string) string {
	if e.typ().k == kDate {
		return p.fromLocal(p.ts(e), zoneOf(tz), true)
	}
	return p.ts(e)
}

// startOfDay prints the first instant of the day in zone z of instant x.
func (p *duckPrinter) startOfDay(x string, z *zoneInfo) string {
	return p.fromWall(x, z, true, func(w string) string { return "date_trunc('day', " + w + ")" })
}

// fromWall prints fromLocal(wall(w)) for the wall clock time wall(w), at
// most a day before instant x, computed from x's wall clock time w. Usually
// that is wall(w) read with x's offset, which holds when the zone's offset
// was the same a day before it; else fromLocal finds it. This costs two
// offset lookups instead of fromLocal's three or more.
func (p *duckPrinter) fromWall(x string, z *zoneInfo, later bool, wall func(w string) string) string {
	if z == nil || z.kind == zoneFixed {
		return p.fromLocal(wall(p.localOf(x, z)), z, later)
	}
	return p.let(x, func(x string) string {
		w := p.localOf(x, z)
		off := "(" + w + " - " + x + ")"
		cand := "(" + wall(w) + " - " + off + ")"
		prev := "(" + cand + " - to_days(1))"
		return "CASE WHEN (" + p.localOf(prev, z) + " - " + prev + ") = " + off + " THEN " + cand +
			" ELSE " + p.fromLocal(wall(w), z, later) + " END"
	})
}

// alignInDay rounds instant x down to a multiple of secs seconds counted
// from the start of its day in zone z: ClickHouse's rounding to hours and
// minutes in zones whose offsets are not whole hours (minutes), which on
// days when the offset changes may give intervals of other lengths.
func (p *duckPrinter) alignInDay(x string, z *zoneInfo, secs int64) string {
	s := strconv.FormatInt(secs, 10)
	return p.let(x, func(x string) string {
		return p.let(p.startOfDay(x, z), func(sod string) string {
			return "(" + sod + " + to_seconds((((epoch_ms(" + x + ") - epoch_ms(" + sod + ")) // 1000) // " + s + ") * " + s + "))"
		})
	})
}

// zoneOffsetText prints the UTC offset of zone z at instant x as
// formatDateTime's %z does: +hhmm or -hhmm.
func (p *duckPrinter) zoneOffsetText(x string, z *zoneInfo) string {
	if z == nil {
		return "'+0000'"
	}
	if z.kind == zoneFixed {
		o := int(z.offset)
		sign := "+"
		if o < 0 {
			sign, o = "-", -o
		}
		return "'" + sign + pad2(o/3600) + pad2(o%3600/60) + "'"
	}
	return p.let(p.offSec(x, z), func(o string) string {
		return "(CASE WHEN " + o + " < 0 THEN '-' ELSE '+' END || lpad(CAST(abs(" + o + ") // 3600 AS VARCHAR), 2, '0') || lpad(CAST((abs(" + o + ") % 3600) // 60 AS VARCHAR), 2, '0'))"
	})
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// toDateTime converts x to a DateTime (an instant); z is the zone of the
// result, in which strings and dates are read.
func (p *duckPrinter) toDateTime(x irExpr, z *zoneInfo) string {
	t := x.typ()
	switch {
	case t.k == kDateTime:
		return p.raw(x)
	case t.k == kDate:
		return p.fromLocal(p.ts(x), z, true)
	case t.k == kNothing:
		return "CAST(NULL AS TIMESTAMP)"
	case t.isFloat():
		return "make_timestamp(CAST(trunc(" + p.raw(x) + ") AS BIGINT) * 1000000)"
	case t.isNumeric():
		return "make_timestamp(CAST(" + p.val(x) + " AS BIGINT) * 1000000)"
	case t.isString():
		s := p.chunk(p.raw(x))
		return "CASE WHEN regexp_full_match(" + s + ", '[0-9]+') THEN make_timestamp(CAST(" + s + " AS BIGINT) * 1000000) ELSE " +
			p.fromLocal("date_trunc('second', CAST("+s+" AS TIMESTAMP))", z, false) + " END"
	}
	bug("toDateTime of %s", t)
	return ""
}

// toDate converts x to a Date: for times, their date in zone z.
func (p *duckPrinter) toDate(x irExpr, z *zoneInfo) string {
	t := x.typ()
	switch {
	case t.k == kDate:
		return p.raw(x)
	case t.k == kDateTime:
		return "CAST(" + p.localOf(p.raw(x), z) + " AS DATE)"
	case t.k == kNothing:
		return "CAST(NULL AS DATE)"
	case t.isNumeric():
		// ClickHouse: numbers below 65536 are days since 1970, larger ones seconds.
		v := "CAST(" + p.dbl(x) + " AS DOUBLE)"
		return "CASE WHEN " + v + " < 65536 THEN CAST(DATE '1970-01-01' + CAST(trunc(" + v + ") AS INTEGER) AS DATE) ELSE CAST(" + p.localOf("make_timestamp(CAST(trunc("+v+") AS BIGINT) * 1000000)", z) + " AS DATE) END"
	case t.isString():
		// a date string names its date in any zone; a number of seconds is an instant
		s := p.chunk(p.raw(x))
		return "CASE WHEN regexp_full_match(" + s + ", '[0-9]+') THEN CAST(" + p.localOf("make_timestamp(CAST("+s+" AS BIGINT) * 1000000)", z) + " AS DATE) ELSE CAST(CAST(" + s + " AS TIMESTAMP) AS DATE) END"
	}
	bug("toDate of %s", t)
	return ""
}

// strftimeSpec maps ClickHouse formatDateTime specifiers to DuckDB strftime.
var strftimeSpec = map[byte]string{
	'a': "%a", 'b': "%b", 'c': "%m", 'd': "%d", 'D': "%m/%d/%y", 'F': "%Y-%m-%d", 'G': "%G", 'h': "%I", 'H': "%H",
	'i': "%M", 'I': "%I", 'j': "%j", 'k': "%H", 'l': "%I", 'm': "%m", 'M': "%B", 'p': "%p", 'r': "%I:%M %p",
	'R': "%H:%M", 's': "%S", 'S': "%S", 'T': "%H:%M:%S", 'u': "%u", 'V': "%V", 'w': "%w", 'W': "%A", 'y': "%y", 'Y': "%Y",
}

func (p *duckPrinter) formatDateTime(c *call) string {
	t := p.chunk(p.local(c.args[0], c.tz))
	var parts []string
	var run strings.Builder
	flush := func() {
		if run.Len() > 0 {
			parts = append(parts, "strftime("+t+", "+p.lit(run.String())+")")
			run.Reset()
		}
	}
	size, tl := 0, p.expLen(t)
	for _, f := range c.fmt {
		size += tl + len(f.lit) + 16
		p.checkSize(size, c.p, c.tok)
		if f.spec == 0 {
			run.WriteString(strings.ReplaceAll(f.lit, "%", "%%"))
			continue
		}
		if s, ok := strftimeSpec[f.spec]; ok {
			run.WriteString(s)
			continue
		}
		flush()
		switch f.spec {
		case 'C':
			parts = append(parts, "lpad(CAST(year("+t+") // 100 AS VARCHAR), 2, '0')")
		case 'e':
			parts = append(parts, "lpad(CAST(day("+t+") AS VARCHAR), 2, ' ')")
		case 'f':
			parts = append(parts, "'000000'")
		case 'g':
			parts = append(parts, "lpad(CAST(isoyear("+t+") % 100 AS VARCHAR), 2, '0')")
		case 'Q':
			parts = append(parts, "CAST(quarter("+t+") AS VARCHAR)")
		case 'z':
			parts = append(parts, p.zoneOffsetText(p.instant(c.args[0], c.tz), zoneOf(c.tz)))
		default:
			bug("formatDateTime specifier %c", f.spec)
		}
	}
	flush()
	if len(parts) == 0 {
		return "CASE WHEN " + t + " IS NULL THEN NULL ELSE '' END"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// startOfInterval follows ClickHouse's origins: seconds, minutes and days
// count from 1970-01-01, hours from midnight of the day, weeks from Monday
// 1970-01-05, months and quarters from 1900-01, years from year 0. In a
// zone other than UTC, seconds (and minutes in zones whose offsets are
// whole minutes) count on the UTC time line, other minutes from the start
// of the local day, and hours and longer on the zone's wall clock.
func (p *duckPrinter) startOfInterval(c *call) string {
	k := c.args[1].(*constant)
	n := k.v.(int64)
	unit := k.t.unit
	z := zoneOf(c.tz)
	if z != nil && unit == "SECOND" && n%60 == 0 {
		unit, n = "MINUTE", n/60 // ClickHouse's rounding to seconds passes whole minutes on
	}
	iv := intervalSQL(unit, n)
	t := p.instant(c.args[0], c.tz)
	if z != nil {
		switch unit {
		case "MINUTE":
			if !z.wholeMinutes {
				return p.alignInDay(t, z, n*60)
			}
		case "HOUR":
			if n == 1 {
				return p.roundTime(c.args[0], c.tz, 3600)
			}
			return p.fromWall(t, z, true, func(w string) string { return "time_bucket(" + iv + ", " + w + ", date_trunc('day', " + w + "))" })
		case "DAY":
			if n == 1 {
				return p.startOfDay(t, z)
			}
			return p.fromLocal("time_bucket("+iv+", "+p.localOf(t, z)+", TIMESTAMP '1970-01-01 00:00:00')", z, true)
		case "WEEK", "MONTH", "QUARTER", "YEAR":
			t = p.chunk(p.localOf(t, z))
		}
	}
	switch unit {
	case "SECOND", "MINUTE", "DAY":
		return "time_bucket(" + iv + ", " + t + ", TIMESTAMP '1970-01-01 00:00:00')"
	case "HOUR":
		return "time_bucket(" + iv + ", " + t + ", date_trunc('day', " + t + "))"
	case "WEEK":
		return "CAST(time_bucket(" + iv + ", " + t + ", TIMESTAMP '1970-01-05 00:00:00') AS DATE)"
	case "MONTH", "QUARTER":
		return "CAST(time_bucket(" + iv + ", " + t + ", TIMESTAMP '1900-01-01 00:00:00') AS DATE)"
	case "YEAR":
		return "make_date(CAST((year(" + t + ") // " + strconv.FormatInt(n, 10) + ") * " + strconv.FormatInt(n, 10) + " AS INTEGER), 1, 1)"
	}
	bug("interval unit %s", k.t.unit)
	return ""
}

// roundTime rounds time value e down to secs seconds (a divisor of a day)
// as ClickHouse's toStartOfHour, toStartOfMinute, toStartOfFiveMinutes...
// do in the zone named tz: on the UTC time line in zones whose offsets are
// whole hours (whole minutes, for rounding to minutes), else counting from
// the start of the local day.
func (p *duckPrinter) roundTime(e irExpr, tz string, secs int64) string {
	z := zoneOf(tz)
	x := p.instant(e, tz)
	if z != nil && !(secs%3600 == 0 && z.wholeHours) && !(secs%3600 != 0 && z.wholeMinutes) {
		return p.alignInDay(x, z, secs)
	}
	switch secs {
	case 3600:
		return "date_trunc('hour', " + x + ")"
	case 60:
		return "date_trunc('minute', " + x + ")"
	}
	return "time_bucket(to_minutes(" + strconv.FormatInt(secs/60, 10) + "), " + x + ", TIMESTAMP '1970-01-01 00:00:00')"
}
