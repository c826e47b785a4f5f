package aesql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// duckPrinter prints the IR as DuckDB SQL (DuckDB 1.4/1.5).
//
// Representation: expressions ClickHouse types as UInt8 truth values
// (comparisons, AND, LIKE, ...) are DuckDB BOOLEANs inside an expression;
// val() turns them into numbers where a number is needed, cond() turns
// numbers into BOOLEANs where a condition is needed. Every select item is
// cast to the DuckDB type of its ClickHouse type (see duckType), so results
// scan into predictable Go types.
type duckPrinter struct {
	cat     Catalog
	src     string
	args    []any
	strArg  map[string]int
	sources []string

	// Printed subexpressions longer than chunkMin are kept here and stand in
	// the text as placeholders (NUL, index, SOH) until print expands them,
	// so that deep nesting costs linear, not quadratic, time.
	chunks   []string
	chunkLen []int // expanded lengths

	cur *sourceIR // the FROM of the query being printed

	letDepth int // lambda parameters bound by let around the text being printed

	// subst, when not nil, holds the keys (see key) of the GROUP BY
	// expressions printed as their default value outside aggregates (the
	// totals row), or, with rollup, as their default value in the rows
	// where ROLLUP or CUBE left them out (ClickHouse fills those with
	// default values, not NULL).
	subst  map[string]bool
	rollup bool
}

const chunkMin = 1024

func newDuckPrinter(cat Catalog, src string) *duckPrinter {
	return &duckPrinter{cat: cat, src: src, strArg: map[string]int{}}
}

func (p *duckPrinter) print(q *queryIR, maxRows int64) (out *printed, err error) {
	defer recoverPrint(&out, &err)
	out = &printed{countCol: -1}
	main, count := p.top(q, maxRows, out)
	out.sql = p.finish(main)
	if count != "" {
		out.countSQL = p.finish(count)
	}
	out.args, out.sources = p.args, p.sources
	return out, nil
}

// finish expands the chunk placeholders of printed text.
func (p *duckPrinter) finish(text string) string {
	n := p.expLen(text)
	p.checkSize(n, 0, "SELECT")
	var b strings.Builder
	b.Grow(n)
	p.expand(&b, text)
	return b.String()
}

// placeholder parses the chunk placeholder at s[i] (a NUL), returning the
// chunk index and the offset past it.
func (p *duckPrinter) placeholder(s string, i int) (idx, end int, ok bool) {
	j := i + 1
	for j < len(s) && isDigit(s[j]) {
		idx = idx*10 + int(s[j]-'0')
		j++
		if idx > len(p.chunks) {
			return 0, 0, false
		}
	}
	if j == i+1 || j >= len(s) || s[j] != 1 || idx >= len(p.chunks) {
		return 0, 0, false
	}
	return idx, j + 1, true
}

// expLen is the length of s once its placeholders are expanded.
func (p *duckPrinter) expLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			continue
		}
		if idx, end, ok := p.placeholder(s, i); ok {
			n += p.chunkLen[idx] - (end - i)
			i = end - 1
		}
	}
	return n
}

func (p *duckPrinter) expand(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			continue
		}
		if idx, end, ok := p.placeholder(s, i); ok {
			b.WriteString(s[start:i])
			p.expand(b, p.chunks[idx])
			start = end
			i = end - 1
		}
	}
	b.WriteString(s[start:])
}

func bug(format string, args ...any) {
	panic(printError{fmt.Errorf("aesql: BUG: "+format, args...)})
}

// duckType is the DuckDB type a ClickHouse type is returned as.
func duckType(t chType) string {
	switch t.k {
	case kBool:
		return "BOOLEAN"
	case kUInt8:
		return "UTINYINT"
	case kUInt16:
		return "USMALLINT"
	case kUInt32:
		return "UINTEGER"
	case kUInt64:
		return "UBIGINT"
	case kInt8:
		return "TINYINT"
	case kInt16:
		return "SMALLINT"
	case kInt32:
		return "INTEGER"
	case kInt64:
		return "BIGINT"
	case kFloat64:
		return "DOUBLE"
	case kString:
		return "VARCHAR"
	case kDate:
		return "DATE"
	case kDateTime:
		return "TIMESTAMP"
	case kArray:
		return duckType(*t.elem) + "[]"
	}
	bug("no DuckDB type for %s", t)
	return ""
}

func colAlias(i int) string { return `"c` + strconv.Itoa(i) + `"` }

func hasColRef(e irExpr) bool {
	found := false
	walk(e, func(x irExpr) bool {
		if _, ok := x.(*colRef); ok {
			found = true
		}
		return !found
	})
	return found
}

// queryText is a SELECT printed in parts.
type queryText struct {
	items []string // the select items, each with its alias
	body  string   // " FROM ... WHERE ... GROUP BY ... HAVING ..."
	order string   // " ORDER BY ...", or ""
}

// parts prints q's select items and clauses but not its LIMIT and OFFSET.
// more, when not nil, is called while q's FROM is current, to print more
// select items.
func (p *duckPrinter) parts(q *queryIR, more func()) queryText {
	saved, savedSubst, savedRollup := p.cur, p.subst, p.rollup
	p.cur = q.src
	if q.rollup != "" {
		p.subst, p.rollup = groupKeys(q), true
	}
	defer func() { p.cur, p.subst, p.rollup = saved, savedSubst, savedRollup }()
	var t queryText
	for i, it := range q.items {
		t.items = append(t.items, p.item(it.e)+" AS "+colAlias(i))
	}
	var b strings.Builder
	if q.src != nil {
		b.WriteString(" FROM ")
		b.WriteString(p.from(q.src))
	}
	if g := q.groupsOf; g != nil {
		b.WriteString(p.groupsJoin(g))
	}
	if q.where != nil {
		// before aggregation: keys are the rows' values
		saved := p.subst
		p.subst = nil
		b.WriteString(" WHERE ")
		b.WriteString(p.cond(q.where))
		p.subst = saved
	}
	if len(q.groupBy) > 0 {
		b.WriteString(" GROUP BY ")
		if q.rollup != "" {
			b.WriteString(q.rollup + " (")
		}
		saved := p.subst
		p.subst = nil
		for i, g := range q.groupBy {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.raw(g))
		}
		p.subst = saved
		if q.rollup != "" {
			b.WriteString(")")
		}
	}
	if q.having != nil {
		b.WriteString(" HAVING ")
		b.WriteString(p.cond(q.having))
	}
	if l := q.limitBy; l != nil {
		// ClickHouse's LIMIT n OFFSET m BY keys: rows m+1 to m+n of each
		// key, in the query's order
		b.WriteString(" QUALIFY row_number() OVER (PARTITION BY ")
		for i, e := range l.by {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.raw(e))
		}
		if len(q.orderBy) > 0 {
			b.WriteString(" ORDER BY " + p.orderList(q.orderBy, nil))
		}
		b.WriteString(") BETWEEN " + strconv.FormatInt(l.offset+1, 10) + " AND " + strconv.FormatInt(l.offset+l.n, 10))
	}
	t.body = b.String()
	if len(q.orderBy) > 0 {
		t.order = " ORDER BY " + p.orderList(q.orderBy, func(o orderIR) string {
			if o.item >= 0 {
				return strconv.Itoa(o.item + 1)
			}
			return ""
		})
	}
	if more != nil {
		more()
	}
	return t
}

// limitText prints q's LIMIT (at most limit rows, when limit >= 0) and OFFSET.
func limitText(q *queryIR, limit int64) string {
	if q.limit >= 0 && (limit < 0 || q.limit < limit) {
		limit = q.limit
	}
	var s string
	if limit >= 0 {
		s = " LIMIT " + strconv.FormatInt(limit, 10)
	}
	if q.offset > 0 {
		s += " OFFSET " + strconv.FormatInt(q.offset, 10)
	}
	return s
}

func selectText(distinct bool, items []string) string {
	if distinct {
		return "SELECT DISTINCT " + strings.Join(items, ", ")
	}
	return "SELECT " + strings.Join(items, ", ")
}

func (p *duckPrinter) query(q *queryIR, limit int64) string {
	t := p.parts(q, nil)
	out := selectText(q.distinct, t.items) + t.body + t.order + limitText(q, limit)
	p.checkSize(p.expLen(out), 0, "SELECT")
	return out
}

// top prints the outermost query, with hidden columns after the result's:
// the UTC offsets of DateTime('tz') columns, and, when the query has a
// LIMIT or OFFSET and reads every row anyway, count(*) OVER () (the rows
// before LIMIT, ClickHouse's rows_before_limit_at_least) and a second
// statement counting them for when no row comes back.
func (p *duckPrinter) top(q *queryIR, maxRows int64, out *printed) (main, count string) {
	n := len(q.items)
	hiddenAlias := func() string {
		n++
		return colAlias(n - 1)
	}
	zoneItems := func(cols []irExpr) []string {
		var items []string
		for i, e := range cols {
			if s, z, array := p.zoneOffset(e); s != "" {
				a := hiddenAlias()
				out.zones = append(out.zones, zoneColumn{col: i, hidden: n - 1, zone: z, array: array})
				items = append(items, s+" AS "+a)
			}
		}
		return items
	}
	exprs := make([]irExpr, len(q.items))
	for i, it := range q.items {
		exprs[i] = it.e
	}
	userLimit := q.limit >= 0 || q.offset > 0
	needCount := userLimit && (q.aggregated || len(q.orderBy) > 0 || q.distinct)
	alias := " AS t" + strconv.Itoa(maxSourceID(q)+1)
	var full string // the query without LIMIT and OFFSET
	if needCount && q.distinct {
		// count(*) OVER () counts before DISTINCT: count the rows of the
		// distinct query from outside it (its ORDER BY is by position).
		t := p.parts(q, nil)
		inner := selectText(true, t.items) + t.body
		src := &sourceIR{id: maxSourceID(q) + 1, sub: q}
		outer := make([]irExpr, len(q.items))
		items := make([]string, len(q.items))
		for i, it := range q.items {
			c := &colRef{src: src, idx: i, t: it.e.typ(), tok: it.name}
			outer[i] = c
			items[i] = p.col(c) + " AS " + colAlias(i)
		}
		items = append(items, zoneItems(outer)...)
		out.countCol = n
		items = append(items, "count(*) OVER () AS "+hiddenAlias())
		full = selectText(false, items) + " FROM (" + inner + ")" + alias + t.order
	} else if needCount && q.limitBy != nil {
		items, rest := p.limitByCounted(q, maxSourceID(q)+1, func(outer []irExpr) []string {
			hidden := zoneItems(outer)
			out.countCol = n
			return append(hidden, "count(*) OVER () AS "+hiddenAlias())
		})
		full = selectText(false, items) + rest
	} else {
		var hidden []string
		t := p.parts(q, func() {
			hidden = zoneItems(exprs)
			if needCount {
				out.countCol = n
				hidden = append(hidden, "count(*) OVER () AS "+hiddenAlias())
			}
		})
		full = selectText(q.distinct, append(t.items, hidden...)) + t.body + t.order
	}
	main = full + limitText(q, maxRows)
	p.checkSize(p.expLen(main), 0, "SELECT")
	if needCount {
		count = "SELECT count(*) FROM (" + full + ")" + alias
	}
	return main, count
}

// zoneOffset prints the UTC offset (seconds) of e, when e is a DateTime
// (or an array of them) of a zone that is not UTC, and names the zone.
func (p *duckPrinter) zoneOffset(e irExpr) (sql, zone string, array bool) {
	t := e.typ()
	switch {
	case t.k == kDateTime:
		if z := zoneOf(t.tz); z != nil {
			return p.offSec(p.raw(e), z), z.name, false
		}
	case t.k == kArray && t.elem.k == kDateTime:
		if z := zoneOf(t.elem.tz); z != nil {
			return "list_transform(" + p.raw(e) + ", lambda e: " + p.offSec("e", z) + ")", z.name, true
		}
	}
	return "", "", false
}

func (p *duckPrinter) from(s *sourceIR) string {
	alias := " AS t" + strconv.Itoa(s.id)
	if s.sub != nil {
		saved, savedRollup := p.subst, p.rollup
		p.subst, p.rollup = nil, false
		defer func() { p.subst, p.rollup = saved, savedRollup }()
		return "(" + p.query(s.sub, -1) + ")" + alias
	}
	// The analyser admitted the dataset (Catalog.Datasets lists it). A
	// dataset without data yet may come back with ok false and an empty
	// source of the same columns, which is read like any other.
	sql, args, _ := p.cat.Source(s.dataset, len(p.args))
	if strings.TrimSpace(sql) == "" {
		panic(printError{errAt(p.src, s.pos, s.tok, "unknown table %q", s.dataset).hint("SHOW TABLES lists this project's datasets")})
	}
	base := len(p.args)
	p.args = append(p.args, args...)
	p.sources = append(p.sources, sql)
	if t := strings.TrimSpace(sql); !strings.HasPrefix(t, "(") || !strings.HasSuffix(t, ")") {
		sql = "(" + sql + ")"
	}
	// duckdb-go binds parameters only up to the count DuckDB finds in the
	// statement, so a parameter the source does not mention would leave a
	// gap in the numbering and unbind every later one: mention it.
	refs := paramRefs(sql)
	var unused []string
	for k := base + 1; k <= base+len(args); k++ {
		if !refs[k] {
			unused = append(unused, "(CAST($"+strconv.Itoa(k)+" AS VARCHAR) IS NULL OR TRUE)")
		}
	}
	if len(unused) > 0 {
		sql = "(SELECT * FROM " + sql + " AS s" + strconv.Itoa(s.id) + " WHERE " + strings.Join(unused, " AND ") + ")"
	}
	return sql + alias
}

// paramRefs finds the $n parameters of SQL text, outside quotes.
func paramRefs(sql string) map[int]bool {
	refs := map[int]bool{}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; c {
		case '\'', '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j
		case '$':
			j := i + 1
			for j < len(sql) && isDigit(sql[j]) {
				j++
			}
			if n, err := strconv.Atoi(sql[i+1 : j]); err == nil {
				refs[n] = true
			}
			i = j - 1
		}
	}
	return refs
}

func (p *duckPrinter) item(e irExpr) string {
	t := e.typ()
	if t.k == kNothing {
		return "NULL"
	}
	return "CAST(" + p.raw(e) + " AS " + duckType(t) + ")"
}

// boolFns are the IR functions printed as DuckDB BOOLEANs.
var boolFns = map[string]bool{
	"equals": true, "notEquals": true, "less": true, "greater": true, "lessOrEquals": true, "greaterOrEquals": true,
	"and": true, "or": true, "not": true, "between": true, "notBetween": true, "in": true, "notIn": true,
	"like": true, "notLike": true, "ilike": true, "notILike": true, "isNull": true, "isNotNull": true,
	"startsWith": true, "endsWith": true, "empty": true, "notEmpty": true,
}

func (p *duckPrinter) isBool(e irExpr) bool {
	switch e := e.(type) {
	case *constant:
		return e.t.k == kBool
	case *call:
		return boolFns[e.fn]
	}
	return false
}

// val prints e where a value is needed: truth values become 0 or 1.
func (p *duckPrinter) val(e irExpr) string {
	if p.isBool(e) {
		return "CAST(" + p.raw(e) + " AS UTINYINT)"
	}
	return p.raw(e)
}

// cond prints e where a condition is needed: numbers are true unless 0.
func (p *duckPrinter) cond(e irExpr) string {
	if p.isBool(e) {
		return p.raw(e)
	}
	if e.typ().k == kNothing {
		return "CAST(NULL AS BOOLEAN)"
	}
	return "(" + p.val(e) + " <> 0)"
}

// dbl prints e as a DOUBLE.
func (p *duckPrinter) dbl(e irExpr) string {
	if e.typ().isFloat() {
		return p.raw(e)
	}
	return "CAST(" + p.val(e) + " AS DOUBLE)"
}

// ts prints a Date or DateTime as a TIMESTAMP.
func (p *duckPrinter) ts(e irExpr) string {
	switch e.typ().k {
	case kDateTime:
		return p.raw(e)
	case kNothing:
		return "CAST(NULL AS TIMESTAMP)"
	}
	return "CAST(" + p.raw(e) + " AS TIMESTAMP)"
}

func (p *duckPrinter) as(e irExpr, t chType) string {
	return "CAST(" + p.val(e) + " AS " + duckType(t) + ")"
}

// maxSQLBytes bounds the printed SQL. Some mappings repeat an argument
// (log(x) tests x three times), so nesting them grows the SQL
// exponentially; the bound turns that into a refusal.
const maxSQLBytes = 2 << 20

func (p *duckPrinter) raw(e irExpr) string {
	if p.subst != nil {
		if s, ok := p.substitute(e); ok {
			return s
		}
	}
	var s, tok string
	switch e := e.(type) {
	case *colRef:
		s, tok = p.col(e), e.tok
	case *constant:
		s, tok = p.constant(e), e.tok
	case *call:
		if e.agg && p.subst != nil {
			// inside an aggregate, a key expression is the rows' value
			saved := p.subst
			p.subst = nil
			s = p.call(e)
			p.subst = saved
		} else {
			s = p.call(e)
		}
		tok = e.tok
	case *subquery:
		// a query of its own: the keys of the query around it mean nothing there
		saved, savedRollup := p.subst, p.rollup
		p.subst, p.rollup = nil, false
		s, tok = p.scalarSubquery(e), e.tok
		p.subst, p.rollup = saved, savedRollup
	default:
		bug("unknown IR node %T", e)
	}
	if len(s) > chunkMin {
		n := p.expLen(s)
		p.checkSize(n, e.at(), tok)
		p.chunks = append(p.chunks, s)
		p.chunkLen = append(p.chunkLen, n)
		return "\x00" + strconv.Itoa(len(p.chunks)-1) + "\x01"
	}
	return s
}

func (p *duckPrinter) checkSize(n int, pos int, tok string) {
	if n > maxSQLBytes {
		panic(printError{errAt(p.src, pos, tok, "the query is too complex: its backend SQL would be longer than %d bytes", maxSQLBytes).hint("nest fewer functions, or reuse fewer aliases")})
	}
}

func (p *duckPrinter) col(c *colRef) string {
	t := "t" + strconv.Itoa(c.src.id) + "."
	if c.src.sub != nil {
		return t + colAlias(c.idx)
	}
	if !isAEColumn[c.col] {
		bug("column %q is not a dataset column", c.col)
	}
	if c.col == "timestamp" {
		// DateTime has whole seconds; the store keeps milliseconds.
		return "date_trunc('second', " + t + `"timestamp")`
	}
	return t + `"` + c.col + `"`
}

// rawTimestamp returns the stored column of e when e is a dataset's
// timestamp column (printed truncated to seconds by col).
func (p *duckPrinter) rawTimestamp(e irExpr) (string, bool) {
	c, ok := e.(*colRef)
	if !ok || c.src.sub != nil || c.col != "timestamp" {
		return "", false
	}
	return "t" + strconv.Itoa(c.src.id) + `."timestamp"`, true
}

// tsCompare prints a comparison of the timestamp column with another time
// so that the stored column is compared directly (which lets DuckDB skip
// data by its min/max statistics): every other DateTime value has whole
// seconds, so date_trunc('second', ts) >= x is ts >= x, > x is
// ts >= x + 1s, and so on.
func (p *duckPrinter) tsCompare(fn string, a []irExpr) (string, bool) {
	if len(a) < 2 {
		return "", false
	}
	raw, ok := p.rawTimestamp(a[0])
	other := a[1:]
	if !ok {
		if fn == "between" || fn == "notBetween" {
			return "", false
		}
		raw, ok = p.rawTimestamp(a[1])
		if !ok {
			return "", false
		}
		other = a[:1]
		fn = map[string]string{"equals": "equals", "notEquals": "notEquals", "less": "greater", "greater": "less", "lessOrEquals": "greaterOrEquals", "greaterOrEquals": "lessOrEquals"}[fn]
	}
	for _, o := range other {
		if _, isRaw := p.rawTimestamp(o); isRaw || !o.typ().isTime() {
			return "", false
		}
	}
	x := p.ts(other[0])
	next := func(v string) string { return "(" + v + " + to_seconds(1))" }
	switch fn {
	case "greaterOrEquals":
		return "(" + raw + " >= " + x + ")", true
	case "greater":
		return "(" + raw + " >= " + next(x) + ")", true
	case "less":
		return "(" + raw + " < " + x + ")", true
	case "lessOrEquals":
		return "(" + raw + " < " + next(x) + ")", true
	case "equals":
		return "((" + raw + " >= " + x + ") AND (" + raw + " < " + next(x) + "))", true
	case "notEquals":
		return "((" + raw + " < " + x + ") OR (" + raw + " >= " + next(x) + "))", true
	case "between", "notBetween":
		y := p.ts(other[1])
		in := "((" + raw + " >= " + x + ") AND (" + raw + " < " + next(y) + "))"
		if fn == "notBetween" {
			return "(NOT " + in + ")", true
		}
		return in, true
	}
	return "", false
}

// str prints a string value as a numbered parameter; equal strings share a
// parameter, so that equal expressions print equally (GROUP BY matching).
func (p *duckPrinter) str(s string) string {
	n, ok := p.strArg[s]
	if !ok {
		p.args = append(p.args, s)
		n = len(p.args)
		p.strArg[s] = n
	}
	return "CAST($" + strconv.Itoa(n) + " AS VARCHAR)"
}

// lit prints a string the printer itself wrote, quoted; anything that is
// not plain ASCII text goes to a parameter instead.
func (p *duckPrinter) lit(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
			return p.str(s)
		}
	}
	return "'" + s + "'"
}

func floatLit(v float64) string {
	switch {
	case math.IsNaN(v):
		return "CAST('nan' AS DOUBLE)"
	case math.IsInf(v, 1):
		return "CAST('inf' AS DOUBLE)"
	case math.IsInf(v, -1):
		return "CAST('-inf' AS DOUBLE)"
	}
	return "CAST(" + strconv.FormatFloat(v, 'e', -1, 64) + " AS DOUBLE)"
}

func intLit(v int64) string {
	if v < 0 {
		return "CAST(" + strconv.FormatInt(v, 10) + " AS BIGINT)"
	}
	return strconv.FormatInt(v, 10)
}

func (p *duckPrinter) constant(c *constant) string {
	switch v := c.v.(type) {
	case nil:
		return "NULL"
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case uint64:
		if v > math.MaxInt64 {
			return "CAST(" + strconv.FormatUint(v, 10) + " AS UBIGINT)"
		}
		return strconv.FormatUint(v, 10)
	case int64:
		if c.t.k == kInterval {
			bug("interval printed as a value")
		}
		return intLit(v)
	case float64:
		return floatLit(v)
	case string:
		return p.str(v)
	case time.Time:
		if c.t.k == kDate {
			return "DATE '" + v.UTC().Format("2006-01-02") + "'"
		}
		return "TIMESTAMP '" + v.UTC().Format("2006-01-02 15:04:05") + "'"
	}
	bug("constant of type %T", c.v)
	return ""
}

// defaultOf is ClickHouse's default value of t: what aggregates return
// over no rows.
func defaultOf(t chType) string {
	switch {
	case t.k == kBool:
		return "FALSE"
	case t.isInt():
		return "CAST(0 AS " + duckType(t) + ")"
	case t.isFloat():
		return "CAST(0 AS DOUBLE)"
	case t.isString():
		return "''"
	case t.k == kDate:
		return "DATE '1970-01-01'"
	case t.k == kDateTime:
		return "TIMESTAMP '1970-01-01 00:00:00'"
	case t.k == kArray:
		return "CAST([] AS " + duckType(t) + ")"
	}
	return "NULL"
}

func (p *duckPrinter) args2(c *call, f func(irExpr) string, sep string) string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = f(a)
	}
	return strings.Join(parts, sep)
}

// aggOrder prints the ORDER BY of an ordered aggregate.
func (p *duckPrinter) aggOrder(order []orderIR) string {
	if len(order) == 0 {
		return ""
	}
	parts := make([]string, len(order))
	for i, o := range order {
		parts[i] = p.raw(o.e)
		if o.desc {
			parts[i] += " DESC"
		} else {
			parts[i] += " ASC"
		}
		if o.nulls == "FIRST" {
			parts[i] += " NULLS FIRST"
		} else {
			parts[i] += " NULLS LAST"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// filter prints " FILTER (WHERE cond)" for the -If aggregates.
func (p *duckPrinter) filter(cond irExpr) string {
	return " FILTER (WHERE " + p.cond(cond) + ")"
}

func (p *duckPrinter) distinct(c *call) string {
	if c.distinct {
		return "DISTINCT "
	}
	return ""
}

var unitFn = map[string]string{"SECOND": "to_seconds", "MINUTE": "to_minutes", "HOUR": "to_hours", "DAY": "to_days", "WEEK": "to_weeks", "MONTH": "to_months", "QUARTER": "to_months", "YEAR": "to_years"}

func intervalSQL(unit string, n int64) string {
	if unit == "QUARTER" {
		n *= 3
	}
	return unitFn[unit] + "(" + intLit(n) + ")"
}
