package aesql

import (
	"strconv"
	"strings"
)

// Printing of ClickHouse's grouping modifiers and LIMIT BY: WITH ROLLUP and
// WITH CUBE (DuckDB's ROLLUP and CUBE, with default values where ClickHouse
// has them), the WITH TOTALS row (a second statement, see totalsQuery) and
// LIMIT n BY (QUALIFY row_number()).

// orderList prints ORDER BY items; pos, when not nil, may print an item as
// a position in the select list instead ("" to print the expression).
func (p *duckPrinter) orderList(orders []orderIR, pos func(orderIR) string) string {
	var b strings.Builder
	for i, o := range orders {
		if i > 0 {
			b.WriteString(", ")
		}
		s := ""
		if pos != nil {
			s = pos(o)
		}
		if s == "" {
			s = p.raw(o.e)
		}
		b.WriteString(s)
		if o.desc {
			b.WriteString(" DESC")
		} else {
			b.WriteString(" ASC")
		}
		if o.nulls == "FIRST" {
			b.WriteString(" NULLS FIRST")
		} else {
			b.WriteString(" NULLS LAST")
		}
	}
	return b.String()
}

// groupKeys are the keys of q's GROUP BY expressions.
func groupKeys(q *queryIR) map[string]bool {
	keys := map[string]bool{}
	for _, g := range q.groupBy {
		if _, ok := g.(*constant); !ok {
			keys[key(g)] = true
		}
	}
	return keys
}

// substitute prints a GROUP BY expression outside aggregates as its
// default value (totals), or as its default value where ROLLUP or CUBE
// left it out of the grouping (GROUPING(x) = 1).
func (p *duckPrinter) substitute(e irExpr) (string, bool) {
	if _, ok := e.(*constant); ok {
		return "", false
	}
	if !p.subst[key(e)] {
		return "", false
	}
	t := e.typ()
	def := defaultOf(t)
	switch {
	case p.isBool(e):
		def = "FALSE"
	case t.nullable || t.k == kNothing:
		def = "NULL"
	}
	if !p.rollup {
		return def, true
	}
	saved := p.subst
	p.subst = nil
	inner := p.raw(e)
	p.subst = saved
	return "(CASE WHEN GROUPING(" + inner + ") = 1 THEN " + def + " ELSE " + inner + " END)", true
}

// groupsJoin prints the join that keeps the rows of the groups of g that
// pass g's HAVING (ClickHouse's totals_mode after_having_exclusive, its
// default: the totals row aggregates only the groups the result shows,
// before LIMIT).
func (p *duckPrinter) groupsJoin(g *queryIR) string {
	saved := p.subst
	p.subst = nil
	defer func() { p.subst = saved }()
	inner := &queryIR{items: make([]outItem, len(g.groupBy)), src: g.src, where: g.where, groupBy: g.groupBy, having: g.having, limit: -1, aggregated: true}
	for i, k := range g.groupBy {
		inner.items[i] = outItem{e: k}
	}
	t := p.parts(inner, nil)
	var on []string
	for i, k := range g.groupBy {
		on = append(on, p.raw(k)+" IS NOT DISTINCT FROM v0."+colAlias(i))
	}
	return " SEMI JOIN (" + selectText(false, t.items) + t.body + ") AS v0 ON " + strings.Join(on, " AND ")
}

func (p *duckPrinter) totals(q *queryIR) backend {
	t := newDuckPrinter(p.cat, p.src)
	t.subst = groupKeys(q)
	return t
}

// totalsQuery is the query of q's WITH TOTALS row: q's items over q's rows
// (of the groups that pass its HAVING), without GROUP BY, ORDER BY and
// LIMIT; its printer prints the GROUP BY expressions as default values.
func totalsQuery(q *queryIR) *queryIR {
	t := &queryIR{items: q.items, src: q.src, where: q.where, limit: -1, aggregated: true}
	if q.having != nil {
		t.groupsOf = q
	}
	return t
}

// limitByCounted prints a query with LIMIT BY whose rows before LIMIT
// must be counted: count(*) OVER () would count before QUALIFY, so the
// query (with the ORDER BY keys that are not result columns as extra
// columns) becomes the source of an outer query that orders, counts and
// limits. It returns the outer query's select list (result columns and
// then hidden) and the text after it, without LIMIT.
func (p *duckPrinter) limitByCounted(q *queryIR, id int, hidden func(outer []irExpr) []string) (items []string, rest string) {
	inner := *q
	inner.items = append([]outItem(nil), q.items...)
	src := &sourceIR{id: id, sub: &inner}
	var order []orderIR
	for _, o := range q.orderBy {
		idx := o.item
		if idx < 0 {
			idx = len(inner.items)
			inner.items = append(inner.items, outItem{e: o.e})
		}
		order = append(order, orderIR{e: &colRef{src: src, idx: idx, t: o.e.typ()}, desc: o.desc, nulls: o.nulls, item: -1})
	}
	t := p.parts(&inner, nil)
	outer := make([]irExpr, len(q.items))
	for i, it := range q.items {
		c := &colRef{src: src, idx: i, t: it.e.typ(), tok: it.name}
		outer[i] = c
		items = append(items, p.col(c)+" AS "+colAlias(i))
	}
	items = append(items, hidden(outer)...)
	saved := p.cur
	p.cur = src
	rest = " FROM (" + selectText(false, t.items) + t.body + ") AS t" + strconv.Itoa(id)
	if len(order) > 0 {
		rest += " ORDER BY " + p.orderList(order, nil)
	}
	p.cur = saved
	return items, rest
}
