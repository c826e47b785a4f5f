package aesql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// chPrinter prints the IR as ClickHouse SQL that runs on ClickHouse 18.16
// (Debian's clickhouse-server, what the tests run) and on current
// ClickHouse, over a server whose time zone is UTC (AE's; functions given
// no zone compute in it).
//
// The dialect is ClickHouse's, so most IR functions print as themselves.
// Where AE's semantics (api.go) differ from ClickHouse's defaults the
// printer picks the function that has them (length, substring and
// position count characters: lengthUTF8, substringUTF8, positionUTF8;
// toStartOfWeek starts on Monday), and where 18.16 lacks a function or a
// construct it is emulated with what 18.16 has (toStartOfWeek through
// toMonday, toStartOfInterval through integer arithmetic, NOT BETWEEN,
// ILIKE through lowerUTF8, first_value/last_value through any/anyLast or
// argMin/argMax, sum(DISTINCT) through groupUniqArray, format through
// concat, true/false as 1/0, the minutes and names of formatDateTime
// through toMinute and arrays of names; print_clickhouse_emul.go: hex of
// signed integers and floats, bin, bitCount and bitHammingDistance through
// hex, arrays and lambdas, round half to even, three-valued AND/OR, -0
// and 0 as one GROUP BY key). What cannot reasonably be emulated is
// refused with an *Error naming it (unsupported). What a newer server has
// natively (ClickHouseFeatures: LIMIT n OFFSET m BY, formatDateTime's %z)
// is printed natively there and emulated for 18.16 (limitByOffset,
// formatOffset); topKWeighted is emulated on every server, as ClickHouse's
// is approximate (topKWeighted).
//
// The printed SQL is at most maxSQLBytes long (checkLen): a longer one is
// refused with an *Error naming the limit, checked as parts are joined.
//
// Text is built only from the IR: identifiers from the closed set (the
// dataset columns, t<N> source aliases, s<N>c<i> and r<i> column
// aliases), function names from this printer's own mapping, string
// constants as ClickHouse string literals with every byte outside
// printable ASCII, the quote and the backslash escaped (ClickHouse's HTTP
// interface takes query parameters only in newer versions), and every
// dataset read through Catalog.Source.
//
// Column aliases are unique in the whole statement (r<i> for the result,
// s<N>c<i> for the columns of the subquery t<N>): ClickHouse's aliases
// are visible across the query, so an alias equal to a column name of a
// subquery would capture the references to that column.
type chPrinter struct {
	cat     Catalog
	src     string
	sources []string
	cur     *sourceIR
	// subst: the keys of the GROUP BY expressions printed as their
	// default value outside aggregates (the totals row).
	subst map[string]bool
	// norm: the keys of the Float64 GROUP BY expressions of the query
	// being printed, printed outside aggregates as x + 0. (see groupKey).
	norm map[string]bool
	// pos and tok are the innermost call being printed, which a refusal
	// of the statement's size names.
	pos int
	tok string
	// feat: what the server has beyond 18.16.
	feat ClickHouseFeatures
}

func newCHPrinter(cat Catalog, src string, f ClickHouseFeatures) *chPrinter {
	return &chPrinter{cat: cat, src: src, feat: f}
}

// chUnsupported refuses, as a user error at e, what ClickHouse 18.16
// cannot run and the printer does not emulate.
func (p *chPrinter) unsupported(pos int, tok, what string) {
	panic(printError{errAt(p.src, pos, tok, "%s is not supported on the ClickHouse backend", what).
		hint("the embedded (DuckDB) backend runs it; ClickHouse 18.16 lacks it")})
}

func (p *chPrinter) print(q *queryIR, maxRows int64) (out *printed, err error) {
	defer recoverPrint(&out, &err)
	out = &printed{countCol: -1}
	out.sql = p.query(q, maxRows, "r")
	p.checkLen(len(out.sql))
	out.sources = p.sources
	return out, nil
}

func (p *chPrinter) totals(q *queryIR) backend {
	t := newCHPrinter(p.cat, p.src, p.feat)
	t.subst = groupKeys(q)
	return t
}

func chItemAlias(prefix string, i int) string { return prefix + strconv.Itoa(i) }

func chSubAlias(src *sourceIR, i int) string {
	return "s" + strconv.Itoa(src.id) + "c" + strconv.Itoa(i)
}

// query prints q; limit >= 0 bounds its rows; aliases name its columns
// (prefix + index).
func (p *chPrinter) query(q *queryIR, limit int64, prefix string) string {
	if l := q.limitBy; l != nil && l.offset > 0 && !p.feat.LimitByOffset {
		return p.limitByOffset(q, limit, prefix)
	}
	saved, savedNorm := p.cur, p.norm
	p.cur, p.norm = q.src, floatKeys(q)
	defer func() { p.cur, p.norm = saved, savedNorm }()
	var b strings.Builder
	b.WriteString("SELECT ")
	if q.distinct {
		b.WriteString("DISTINCT ")
	}
	for i, it := range q.items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.item(it.e))
		b.WriteString(" AS ")
		b.WriteString(chItemAlias(prefix, i))
		p.checkLen(b.Len())
	}
	if q.src != nil {
		b.WriteString(" FROM ")
		b.WriteString(p.from(q.src))
	}
	var conds []string
	if q.where != nil {
		savedSubst, savedNorm := p.subst, p.norm
		p.subst, p.norm = nil, nil
		conds = append(conds, p.cond(q.where))
		p.subst, p.norm = savedSubst, savedNorm
	}
	if g := q.groupsOf; g != nil {
		conds = append(conds, p.groupsIn(g))
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	if len(q.groupBy) > 0 {
		savedSubst := p.subst
		p.subst = nil
		b.WriteString(" GROUP BY ")
		for i, g := range q.groupBy {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.raw(g))
			p.checkLen(b.Len())
		}
		p.subst = savedSubst
		switch q.rollup {
		case "ROLLUP":
			b.WriteString(" WITH ROLLUP")
		case "CUBE":
			b.WriteString(" WITH CUBE")
		}
	}
	if q.having != nil {
		b.WriteString(" HAVING " + p.cond(q.having))
	}
	p.checkLen(b.Len())
	if len(q.orderBy) > 0 {
		b.WriteString(" ORDER BY ")
		for i, o := range q.orderBy {
			if i > 0 {
				b.WriteString(", ")
			}
			if o.item >= 0 {
				b.WriteString(chItemAlias(prefix, o.item))
			} else {
				b.WriteString(p.raw(o.e))
			}
			if o.desc {
				b.WriteString(" DESC")
			} else {
				b.WriteString(" ASC")
			}
			if o.nulls != "" {
				b.WriteString(" NULLS " + o.nulls)
			}
			p.checkLen(b.Len())
		}
	}
	if l := q.limitBy; l != nil {
		b.WriteString(" LIMIT ")
		if l.offset > 0 {
			// only with feat.LimitByOffset (see limitByOffset)
			b.WriteString(strconv.FormatInt(l.offset, 10) + ", ")
		}
		b.WriteString(strconv.FormatInt(l.n, 10) + " BY ")
		for i, e := range l.by {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.raw(e))
			p.checkLen(b.Len())
		}
	}
	b.WriteString(chLimit(q, limit))
	return b.String()
}

// chLimit is the LIMIT clause of q ("" for none); limit >= 0 bounds its
// rows.
func chLimit(q *queryIR, limit int64) string {
	if q.limit >= 0 && (limit < 0 || q.limit < limit) {
		limit = q.limit
	}
	if limit < 0 && q.offset <= 0 {
		return ""
	}
	// 18.16 fails (error 12) when offset + limit passes the rows it has,
	// and crashes on limits near 2^64: "no limit" is 10^18 rows, and
	// offset + limit stays below 2^63
	if limit < 0 || limit > chNoLimit {
		limit = chNoLimit
	}
	limit = min(limit, math.MaxInt64-q.offset)
	return " LIMIT " + strconv.FormatInt(q.offset, 10) + ", " + strconv.FormatInt(limit, 10)
}

// groupsIn keeps the rows of the groups of g that pass g's HAVING
// (ClickHouse's totals_mode after_having_exclusive).
func (p *chPrinter) groupsIn(g *queryIR) string {
	saved, savedNorm := p.subst, p.norm
	p.subst, p.norm = nil, nil
	defer func() { p.subst, p.norm = saved, savedNorm }()
	inner := &queryIR{items: make([]outItem, len(g.groupBy)), src: g.src, where: g.where, groupBy: g.groupBy, having: g.having, limit: -1, aggregated: true}
	keys := make([]string, len(g.groupBy))
	for i, k := range g.groupBy {
		inner.items[i] = outItem{e: k}
		keys[i] = p.raw(k)
	}
	return "(" + strings.Join(keys, ", ") + ") IN (" + p.query(inner, -1, "g"+strconv.Itoa(g.src.id)+"_") + ")"
}

func (p *chPrinter) from(s *sourceIR) string {
	alias := " AS t" + strconv.Itoa(s.id)
	if s.sub != nil {
		saved, savedNorm := p.subst, p.norm
		p.subst, p.norm = nil, nil
		defer func() { p.subst, p.norm = saved, savedNorm }()
		return "(" + p.query(s.sub, -1, "s"+strconv.Itoa(s.id)+"c") + ")" + alias
	}
	sql, args, _ := p.cat.Source(s.dataset, 0)
	if strings.TrimSpace(sql) == "" {
		panic(printError{errAt(p.src, s.pos, s.tok, "unknown table %q", s.dataset).hint("SHOW TABLES lists this project's datasets")})
	}
	if len(args) > 0 {
		bug("a ClickHouse source with %d parameters (ClickHouse sources are literal SQL)", len(args))
	}
	p.sources = append(p.sources, sql)
	if t := strings.TrimSpace(sql); !strings.HasPrefix(t, "(") || !strings.HasSuffix(t, ")") {
		sql = "(" + sql + ")"
	}
	return sql + alias
}

func (p *chPrinter) item(e irExpr) string {
	return p.raw(e)
}

func (p *chPrinter) col(c *colRef) string {
	t := "t" + strconv.Itoa(c.src.id) + "."
	if c.src.sub != nil {
		return t + chSubAlias(c.src, c.idx)
	}
	if !isAEColumn[c.col] {
		bug("column %q is not a dataset column", c.col)
	}
	return t + c.col
}

// cond prints e where a condition is needed.
func (p *chPrinter) cond(e irExpr) string {
	return p.raw(e)
}

func (p *chPrinter) raw(e irExpr) string {
	if p.subst != nil {
		if s, ok := p.substitute(e); ok {
			return s
		}
	}
	if p.norm != nil {
		if _, isConst := e.(*constant); !isConst && p.norm[key(e)] {
			saved := p.norm
			p.norm = nil
			defer func() { p.norm = saved }()
			return "(" + p.raw(e) + " + 0.)"
		}
	}
	switch e := e.(type) {
	case *colRef:
		return p.col(e)
	case *constant:
		return p.constant(e)
	case *call:
		if e.agg && (p.subst != nil || p.norm != nil) {
			saved, savedNorm := p.subst, p.norm
			p.subst, p.norm = nil, nil
			defer func() { p.subst, p.norm = saved, savedNorm }()
		}
		savedPos, savedTok := p.pos, p.tok
		p.pos, p.tok = e.p, e.tok
		s := p.call(e)
		p.checkLen(len(s))
		p.pos, p.tok = savedPos, savedTok
		return s
	case *subquery:
		saved, savedNorm := p.subst, p.norm
		p.subst, p.norm = nil, nil
		defer func() { p.subst, p.norm = saved, savedNorm }()
		return "(" + p.query(e.src.sub, -1, "s"+strconv.Itoa(e.src.id)+"c") + ")"
	}
	bug("unknown IR node %T", e)
	return ""
}

// substitute prints a GROUP BY expression outside aggregates as its
// type's default value (the totals row).
func (p *chPrinter) substitute(e irExpr) (string, bool) {
	if _, ok := e.(*constant); ok {
		return "", false
	}
	if !p.subst[key(e)] {
		return "", false
	}
	return chDefault(e.typ()), true
}

// chDefault is ClickHouse's default value of t, typed.
func chDefault(t chType) string {
	if t.nullable || t.k == kNothing {
		return "NULL"
	}
	switch {
	case t.k == kBool:
		return "toUInt8(0)"
	case t.isInt() || t.isFloat():
		return "to" + t.notNull().String() + "(0)"
	case t.isString():
		return "''"
	case t.k == kDate:
		return "toDate(0)"
	case t.k == kDateTime:
		if t.tz != "" {
			return "toDateTime(0, " + chString(t.tz) + ")"
		}
		return "toDateTime(0)"
	case t.k == kArray:
		return "CAST([] AS " + t.notNull().String() + ")"
	}
	return "NULL"
}

// chString is a ClickHouse string literal of s: printable ASCII as
// itself, the quote, the backslash and every other byte as \xHH.
func chString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
			fmt.Fprintf(&b, `\x%02X`, c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}

// chNoLimit is the LIMIT of a query without one that has an OFFSET:
// more rows than any table holds.
const chNoLimit = 1_000_000_000_000_000_000

func chFloat(v float64) string {
	if v != 0 && math.Abs(v) < 0x1p-1022 {
		// 18.16 cannot read a subnormal literal: its bits instead
		return "reinterpretAsFloat64(reinterpretAsString(toUInt64(" + strconv.FormatUint(math.Float64bits(v), 10) + ")))"
	}
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	// always with an exponent, so that ClickHouse reads a Float64
	return strconv.FormatFloat(v, 'e', -1, 64)
}

func (p *chPrinter) constant(c *constant) string {
	switch v := c.v.(type) {
	case nil:
		return "NULL"
	case bool:
		// 18.16 has no true/false: UInt8 1/0
		if v {
			return "1"
		}
		return "0"
	case uint64:
		return strconv.FormatUint(v, 10)
	case int64:
		if c.t.k == kInterval {
			bug("interval printed as a value")
		}
		if v < 0 {
			return "(" + strconv.FormatInt(v, 10) + ")"
		}
		return strconv.FormatInt(v, 10)
	case float64:
		if v < 0 || (v == 0 && math.Signbit(v)) {
			return "(" + chFloat(v) + ")"
		}
		return chFloat(v)
	case string:
		return chString(v)
	case time.Time:
		if c.t.k == kDate {
			return "toDate('" + v.UTC().Format("2006-01-02") + "')"
		}
		return "toDateTime('" + v.UTC().Format("2006-01-02 15:04:05") + "')"
	}
	bug("constant of type %T", c.v)
	return ""
}

func (p *chPrinter) list(a []irExpr) string {
	var ps chParts
	for _, x := range a {
		p.add(&ps, p.raw(x))
	}
	return strings.Join(ps.parts, ", ")
}

// fn prints name(args).
func (p *chPrinter) fn(name string, a []irExpr) string {
	return name + "(" + p.list(a) + ")"
}

var chOps = map[string]string{"equals": " = ", "notEquals": " != ", "less": " < ", "greater": " > ", "lessOrEquals": " <= ", "greaterOrEquals": " >= "}

func (p *chPrinter) call(c *call) string {
	a := c.args
	if base, ok := ifBase[c.fn]; ok {
		return p.aggParams(c, base+"If")
	}
	switch c.fn {
	// ---- operators
	case "and", "or":
		if c.t.nullable {
			return p.kleene(c)
		}
		var ps chParts
		for _, x := range a {
			p.add(&ps, p.cond(x))
		}
		return "(" + strings.Join(ps.parts, " "+strings.ToUpper(c.fn)+" ") + ")"
	case "not":
		return "(NOT " + p.cond(a[0]) + ")"
	case "equals", "notEquals", "less", "greater", "lessOrEquals", "greaterOrEquals":
		return "(" + p.cmpArg(a[0], a[1]) + chOps[c.fn] + p.cmpArg(a[1], a[0]) + ")"
	case "between":
		return "(" + p.cmpArg(a[0], a[1]) + " BETWEEN " + p.cmpArg(a[1], a[0]) + " AND " + p.cmpArg(a[2], a[0]) + ")"
	case "notBetween":
		// 18.16's parser has no NOT BETWEEN
		return "(NOT (" + p.cmpArg(a[0], a[1]) + " BETWEEN " + p.cmpArg(a[1], a[0]) + " AND " + p.cmpArg(a[2], a[0]) + "))"
	case "in", "notIn":
		not := ""
		if c.fn == "notIn" {
			not = "NOT "
		}
		if s, ok := a[1].(*subquery); ok {
			return "(" + p.raw(a[0]) + " " + not + "IN " + p.raw(s) + ")"
		}
		var ps chParts
		for _, x := range a[1:] {
			p.add(&ps, p.cmpArg(x, a[0]))
		}
		return "(" + p.raw(a[0]) + " " + not + "IN (" + strings.Join(ps.parts, ", ") + "))"
	case "like", "notLike":
		return p.fn(c.fn, a)
	case "ilike", "notILike":
		// 18.16 has no ILIKE: both sides in lower case
		fn := map[string]string{"ilike": "like", "notILike": "notLike"}[c.fn]
		return fn + "(lowerUTF8(" + p.raw(a[0]) + "), lowerUTF8(" + p.raw(a[1]) + "))"
	case "isNull", "isNotNull", "negate", "plus", "minus", "multiply", "divide", "modulo", "intDiv":
		if c.t.k == kNothing {
			return "NULL"
		}
		if c.fn == "plus" || c.fn == "minus" {
			return p.plusMinus(c)
		}
		if c.fn == "modulo" && c.t.isFloat() {
			// 18.16 truncates a float dividend: fmod, as current ClickHouse
			x, y := "toFloat64("+p.raw(a[0])+")", "toFloat64("+p.raw(a[1])+")"
			return "(" + x + " - " + y + " * trunc(" + x + " / " + y + "))"
		}
		return p.fn(c.fn, a)
	case "concat":
		var ps chParts
		for _, x := range a {
			p.add(&ps, p.toStr(x, x.typ().tz))
		}
		return "concat(" + strings.Join(ps.parts, ", ") + ")"
	case "multiIf", "coalesce":
		var ps chParts
		for i, x := range a {
			if c.fn == "multiIf" && i%2 == 0 && i+1 < len(a) {
				p.add(&ps, p.cond(x))
				continue
			}
			p.add(&ps, p.branch(x, c.t))
		}
		return c.fn + "(" + strings.Join(ps.parts, ", ") + ")"
	case "_ifThen":
		return "if(" + p.cond(a[0]) + ", " + p.raw(a[1]) + ", NULL)"
	case "toTypeName":
		t := p.raw(a[1])
		return "if(isNull(" + p.raw(a[0]) + "), " + t + ", " + t + ")"

	// ---- aggregates
	case "count":
		if len(a) == 0 {
			return "count()"
		}
		if c.distinct {
			return "uniqExact(" + p.raw(a[0]) + ")"
		}
		return p.fn("count", a)
	case "sum", "avg":
		if c.distinct {
			// 18.16 has no sumDistinct: the distinct values as an array
			u := "groupUniqArray(" + p.raw(a[0]) + ")"
			if c.fn == "sum" {
				return "arraySum(" + u + ")"
			}
			return "(arraySum(" + u + ") / length(" + u + "))"
		}
		return p.fn(c.fn, a)
	case "countIf", "sumIf", "avgIf", "min", "max", "minIf", "maxIf", "uniq", "uniqExact", "uniqIf", "argMax", "argMin",
		"any", "anyLast", "quantile", "quantiles", "quantileExactWeighted", "quantileExact", "quantilesExact", "topK", "groupArray":
		return p.aggParams(c, c.fn)
	case "first_value", "last_value":
		return p.firstLast(c)
	case "topKWeighted":
		return p.topKWeighted(c)

	// ---- dates and times
	case "now":
		if c.tz != "" {
			return "now(" + chString(c.tz) + ")"
		}
		return "now()"
	case "today":
		return "today()"
	case "toDateTime":
		if a[0].typ().k == kNothing {
			return "NULL"
		}
		if a[0].typ().isFloat() {
			return p.withTZ("toDateTime", "toInt64(trunc("+p.raw(a[0])+"))", c.tz)
		}
		return p.withTZ("toDateTime", p.raw(a[0]), c.tz)
	case "_fromLocal":
		// the wall clock time a[0] (computed in UTC) read in zone c.tz
		return "toDateTime(toString(" + p.raw(a[0]) + ", 'UTC'), " + chString(c.tz) + ")"
	case "toDate":
		if a[0].typ().k == kNothing {
			return "NULL"
		}
		if a[0].typ().k == kDateTime {
			return p.zoned("toDate", c, a[0])
		}
		return p.fn("toDate", a)
	case "toUnixTimestamp":
		return "toUnixTimestamp(" + p.dt(a[0], "") + ")"
	case "formatDateTime":
		return p.formatDateTime(c)
	case "toStartOfInterval":
		return p.startOfInterval(c)
	case "toStartOfYear", "toStartOfQuarter", "toStartOfMonth", "toMonday", "toStartOfDay", "toStartOfHour", "toStartOfMinute",
		"toYear", "toQuarter", "toMonth", "toDayOfYear", "toDayOfMonth", "toDayOfWeek", "toHour", "toMinute", "toSecond", "toYYYYMM", "toYYYYMMDD":
		return p.zoned(c.fn, c, a[0])
	case "toStartOfWeek":
		// 18.16 lacks toStartOfWeek: toMonday, a day later for weeks
		// starting on Sunday (even modes)
		d := p.zoned("toDate", c, a[0])
		if c.params[0].v.(uint64)%2 == 1 {
			return "toMonday(" + d + ")"
		}
		return "subtractDays(toMonday(addDays(" + d + ", 1)), 1)"
	case "toStartOfFifteenMinutes", "toStartOfTenMinutes", "toStartOfFiveMinutes":
		n := map[string]int{"toStartOfFifteenMinutes": 900, "toStartOfTenMinutes": 600, "toStartOfFiveMinutes": 300}[c.fn]
		return p.withTZ("toDateTime", "intDiv(toUInt32("+p.raw(a[0])+"), "+strconv.Itoa(n)+") * "+strconv.Itoa(n), c.t.tz)
	case "dateDiff":
		return p.dateDiff(c)

	// ---- mathematics
	case "round":
		return p.round(c)
	case "log", "log2", "log10", "sqrt", "exp", "pow", "abs", "floor", "ceil", "trunc":
		return p.fn(c.fn, a)

	// ---- strings
	case "length":
		if a[0].typ().k == kArray {
			return p.fn("length", a)
		}
		return p.fn("lengthUTF8", a)
	case "empty", "notEmpty", "lower", "upper", "lowerUTF8", "upperUTF8", "startsWith", "endsWith":
		return p.fn(c.fn, a)
	case "position":
		return p.fn("positionUTF8", a)
	case "substring":
		return p.substring(c)
	case "format":
		var ps chParts
		for _, f := range c.fmt {
			if f.spec == '{' {
				i, _ := strconv.Atoi(f.lit)
				p.add(&ps, p.toStr(a[i], a[i].typ().tz))
				continue
			}
			p.add(&ps, chString(f.lit))
		}
		return ps.concat()
	case "toString":
		return p.toStr(a[0], c.tz)

	// ---- conversions
	case "toUInt8", "toUInt16", "toUInt32", "toUInt64", "toInt8", "toInt16", "toInt32", "toInt64", "toFloat64":
		if a[0].typ().k == kNothing {
			return "NULL"
		}
		return p.fn(c.fn, a)

	// ---- encoding and bits
	case "hex", "bin":
		return p.encode(c)
	case "bitCount":
		return p.bitCount(a[0])
	case "bitHammingDistance":
		return p.hammingDistance(c)
	case "bitTest":
		if a[0].typ().isFloat() {
			// the value truncated to Int64 (0 outside it), as 18.16 reads
			// a float there; current servers refuse a float
			x := p.raw(a[0])
			out := "bitTest(toInt64(if(abs(" + x + ") < 9223372036854775807, " + x + ", 0)), " + p.raw(a[1]) + ")"
			if a[0].typ().nullable {
				out = "if(isNull(" + x + "), NULL, " + out + ")"
			}
			return out
		}
		return p.fn(c.fn, a)
	case "bitAnd", "bitOr", "bitXor", "bitNot", "bitShiftLeft", "bitShiftRight", "bitRotateLeft", "bitRotateRight":
		return p.fn(c.fn, a)

	// ---- regular expressions
	case "extract", "extractAll", "match", "replaceRegexpOne", "replaceRegexpAll":
		return p.fn(c.fn, a)
	}
	bug("no ClickHouse mapping for function %s", c.fn)
	return ""
}

// aggParams prints an aggregate with its parameters: name(params)(args).
func (p *chPrinter) aggParams(c *call, name string) string {
	if len(c.params) > 0 {
		ps := make([]string, len(c.params))
		for i := range c.params {
			ps[i] = p.constant(&c.params[i])
			if strings.HasPrefix(name, "quantile") && strings.Trim(ps[i], "0123456789") == "" {
				// a level: current servers take only a Float64 there
				// (quantile(1) fails), 18.16 takes either
				ps[i] += ".0"
			}
		}
		return name + "(" + strings.Join(ps, ", ") + ")(" + p.list(c.args) + ")"
	}
	return p.fn(name, c.args)
}

// firstLast prints first_value/last_value: any/anyLast over the rows as
// they come, argMin/argMax by the query's ORDER BY when it has one whose
// keys all go the same way.
func (p *chPrinter) firstLast(c *call) string {
	first := c.fn == "first_value"
	if len(c.order) == 0 {
		if first {
			return p.fn("any", c.args)
		}
		return p.fn("anyLast", c.args)
	}
	desc := c.order[0].desc
	keys := make([]string, len(c.order))
	for i, o := range c.order {
		if o.desc != desc || o.nulls != "" || o.e.typ().nullable {
			p.unsupported(c.p, c.tok, c.fn+" ordered by keys in both directions or with NULLs")
		}
		keys[i] = p.raw(o.e)
	}
	k := keys[0]
	if len(keys) > 1 {
		k = "tuple(" + strings.Join(keys, ", ") + ")"
	}
	fn := "argMin"
	if first == desc {
		fn = "argMax"
	}
	return fn + "(" + p.raw(c.args[0]) + ", " + k + ")"
}

// cmpArg prints one side of a comparison with other.
func (p *chPrinter) cmpArg(e, other irExpr) string {
	if e.typ().k == kDate && other.typ().k == kDateTime {
		return p.dt(e, other.typ().tz)
	}
	return p.raw(e)
}

// branch prints a value of a conditional whose result has type t.
func (p *chPrinter) branch(e irExpr, t chType) string {
	if t.k == kDateTime && e.typ().k == kDate {
		return p.dt(e, t.tz)
	}
	return p.raw(e)
}

var chIntervalFn = map[string]string{"SECOND": "toIntervalSecond", "MINUTE": "toIntervalMinute", "HOUR": "toIntervalHour",
	"DAY": "toIntervalDay", "WEEK": "toIntervalWeek", "MONTH": "toIntervalMonth", "QUARTER": "toIntervalMonth", "YEAR": "toIntervalYear"}

var chMonths = "['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']"
var chDays = "['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']"

// chFormatSpecs are the formatDateTime specifiers with the same meaning in
// 18.16 and in current ClickHouse (%e is not: current servers do not pad
// it with a space unless formatdatetime_e_with_space_padding is set).
const chFormatSpecs = "CdDFHIjmnpRStTuVwyY%"

// chIdent is a ClickHouse identifier the printer may write unquoted.
var chIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ClickHouseSource is the Catalog.Source text of the ClickHouse backend
// for the points of a project's dataset in table (database.table or
// table, plain identifiers) whose columns are project UInt64, and AE's:
// dataset String, timestamp DateTime (UTC), _sample_interval UInt32,
// index1 String, blob1..blob20 String, double1..double20 Float64.
func ClickHouseSource(table string, project int64, dataset string) (string, error) {
	for _, part := range strings.Split(table, ".") {
		if !chIdent.MatchString(part) {
			return "", fmt.Errorf("aesql: ClickHouse table name %q is not a plain identifier (database.table)", table)
		}
	}
	return "(SELECT " + strings.Join(aeColumns, ", ") + " FROM " + table + " WHERE project = " + strconv.FormatInt(project, 10) +
		" AND dataset = " + chString(dataset) + ")", nil
}

// substring counts characters as AE documents: offsets from 1, negative
// ones from the end, offset 0 gives the empty string, a negative length
// stops that many characters before the end (18.16's substringUTF8 takes
// only positive offsets and always a length).
func (p *chPrinter) substring(c *call) string {
	if o, ok := c.args[1].(*constant); ok {
		if n, ok := constInt(*o); ok && n > 0 {
			if len(c.args) == 2 {
				// 18.16's substringUTF8 takes a length: more characters
				// than a string holds
				return "substringUTF8(" + p.raw(c.args[0]) + ", " + strconv.FormatInt(n, 10) + ", 1099511627776)"
			}
			if l, ok := c.args[2].(*constant); ok {
				if m, ok := constInt(*l); ok && m >= 0 {
					return "substringUTF8(" + p.raw(c.args[0]) + ", " + strconv.FormatInt(n, 10) + ", " + strconv.FormatInt(m, 10) + ")"
				}
			}
		}
	}
	s := p.raw(c.args[0])
	if c.args[0].typ().nullable {
		// (no lambda: the offset and length may read columns)
		return "if(isNull(" + s + "), NULL, " + p.substringOf("assumeNotNull("+s+")", c) + ")"
	}
	return p.substringOf(s, c)
}

// substringOf prints the general substring of s: 18.16's substringUTF8
// takes only constant offsets and lengths, so the characters are an
// array (extractAll of any character) sliced.
func (p *chPrinter) substringOf(s string, c *call) string {
	o := "toInt64(" + p.raw(c.args[1]) + ")"
	n := "lengthUTF8(" + s + ")"
	start := "greatest(if(" + o + " > 0, " + o + ", " + n + " + " + o + " + 1), 1)"
	length := n
	if len(c.args) == 3 {
		l := "toInt64(" + p.raw(c.args[2]) + ")"
		length = "if(" + l + " >= 0, " + l + ", " + n + " - " + start + " + 1 + " + l + ")"
		// a negative offset before the start shortens a length counted from it
		length = "if(" + l + " >= 0 AND " + o + " < 0 AND " + n + " + " + o + " + 1 < 1, " + l + " + (" + n + " + " + o + "), " + length + ")"
	}
	return "if(" + o + " = 0, '', arrayStringConcat(arraySlice(extractAll(" + s + ", '(?s).'), " + start + ", greatest(" + length + ", 0))))"
}
