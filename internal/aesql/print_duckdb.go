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
