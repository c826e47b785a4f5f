package aesql

import (
	"strconv"
	"strings"
)

// Subqueries outside FROM and the WITH clause, as ClickHouse has them:
//
//   - a scalar subquery, (SELECT one column ...), anywhere an expression
//     goes. Its type is its column's type; when the subquery may return no
//     row it is Nullable (ClickHouse answers NULL for no row), unless it
//     always returns exactly one row (aggregates without GROUP BY or
//     HAVING, or no FROM and no WHERE). More than one row is an error
//     ("Scalar subquery returned more than one row").
//   - x [NOT] IN (SELECT one column ...) and x [NOT] IN cte_name, with
//     ClickHouse's NULL rules (transform_null_in = 0): NULLs of the
//     subquery never match, and a NULL x gives NULL.
//   - WITH expr AS name (a named expression, used like a select alias; a
//     WITH alias wins over a column of the same name, as select aliases
//     do) and WITH name AS (SELECT ...) (a common table expression,
//     usable in FROM and after IN, inlined and analysed again at each
//     use). Later items may use earlier ones; subqueries see the WITH
//     names of the queries around them (named expressions only when they
//     need no column).
//
// Subqueries are not correlated: they cannot name the outer query's
// columns (ClickHouse does not support that either).

// withItem is one element of WITH.
type withItem struct {
	Pos     int
	Name    string
	NamePos int
	Expr    expr        // WITH expr AS name
	Sub     *selectStmt // WITH name AS (SELECT ...)
}

// subqueryExpr is a scalar subquery: (SELECT ...).
type subqueryExpr struct {
	P   int
	Sel *selectStmt
}

func (e *subqueryExpr) pos() int       { return e.P }
func (e *subqueryExpr) String() string { return "(" + e.Sel.String() + ")" }

func writeWith(b *strings.Builder, with []*withItem) {
	if len(with) == 0 {
		return
	}
	b.WriteString("WITH ")
	for i, w := range with {
		if i > 0 {
			b.WriteString(", ")
		}
		if w.Sub != nil {
			b.WriteString(quoteIdentCanon(w.Name) + " AS (" + w.Sub.String() + ")")
		} else {
			b.WriteString(w.Expr.String() + " AS " + quoteIdentCanon(w.Name))
		}
	}
	b.WriteString(" ")
}

// ---- parsing

// query parses [WITH ...] SELECT ...
func (p *parser) query() (*selectStmt, error) {
	t := p.peek()
	if !t.isKeyword("WITH") {
		return p.selectStmt()
	}
	p.advance()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer p.leave()
	var items []*withItem
	for {
		it, err := p.withItem()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if !p.acceptOp(",") {
			break
		}
	}
	if n := p.peek(); !n.isKeyword("SELECT") {
		return nil, p.unexpected(n, "SELECT after the WITH clause")
	}
	s, err := p.selectStmt()
	if err != nil {
		return nil, err
	}
	s.With = items
	return s, nil
}

func isStartOfQuery(t token) bool { return t.isKeyword("SELECT") || t.isKeyword("WITH") }

func (p *parser) withItem() (*withItem, error) {
	t := p.peek()
	if (t.Kind == tQIdent || (t.Kind == tIdent && !reservedWords[asciiUpper(t.Text)])) &&
		p.peekN(1).isKeyword("AS") && p.peekN(2).isOp("(") && isStartOfQuery(p.peekN(3)) {
		name := t.Text
		if t.Kind == tQIdent {
			name = t.Val
		}
		p.advance() // name
		p.advance() // AS
		p.advance() // (
		sub, err := p.nested()
		if err != nil {
			return nil, err
		}
		return &withItem{Pos: t.Pos, Name: name, NamePos: t.Pos, Sub: sub}, nil
	}
	if t.Kind == tEOF || t.isKeyword("SELECT") {
		return nil, p.unexpected(t, "an expression or a name after WITH")
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectKeyword("AS"); err != nil {
		return nil, err
	}
	a := p.peek()
	var name string
	switch {
	case a.Kind == tQIdent:
		name = a.Val
	case a.Kind == tIdent && !reservedWords[asciiUpper(a.Text)]:
		name = a.Text
	default:
		return nil, p.unexpected(a, "a name after AS")
	}
	p.advance()
	return &withItem{Pos: t.Pos, Name: name, NamePos: a.Pos, Expr: e}, nil
}

// nested parses a subquery after its "(" up to and including its ")".
func (p *parser) nested() (*selectStmt, error) {
	savedNoIn := p.noIn
	p.noIn = false
	sub, err := p.query()
	p.noIn = savedNoIn
	if err != nil {
		return nil, err
	}
	if sub.Format != "" {
		return nil, errAt(p.src, sub.FmtPos, sub.Format, "FORMAT is only allowed at the end of the query")
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return sub, nil
}

// inSubquery parses what follows IN when it is a subquery or a name:
// ok is false when it is a list of values.
func (p *parser) inSubquery(e *inExpr) (ok bool, err error) {
	t := p.peek()
	if t.Kind == tQIdent || (t.Kind == tIdent && !reservedWords[asciiUpper(t.Text)]) {
		p.advance()
		e.Table, e.TPos = t.Text, t.Pos
		if t.Kind == tQIdent {
			e.Table = t.Val
		}
		if n := p.peek(); n.isOp(".") || n.isOp("(") {
			return false, p.errTok(t, "IN takes a list of values, a subquery or the name of a common table expression")
		}
		return true, nil
	}
	if t.isOp("(") && isStartOfQuery(p.peekN(1)) {
		p.advance()
		sub, err := p.nested()
		if err != nil {
			return false, err
		}
		e.Sub = sub
		return true, nil
	}
	return false, nil
}

// forSubqueries calls f with each subquery directly inside e.
func forSubqueries(e expr, f func(*selectStmt) error) error {
	var err error
	var visit func(e expr)
	visit = func(e expr) {
		if err != nil || e == nil {
			return
		}
		switch e := e.(type) {
		case *subqueryExpr:
			err = f(e.Sel)
		case *unaryExpr:
			visit(e.X)
		case *binaryExpr:
			for _, k := range andOrOperandsAny(e) {
				visit(k)
			}
		case *betweenExpr:
			visit(e.X)
			visit(e.Lo)
			visit(e.Hi)
		case *inExpr:
			visit(e.X)
			for _, k := range e.List {
				visit(k)
			}
			if e.Sub != nil && err == nil {
				err = f(e.Sub)
			}
		case *likeExpr:
			visit(e.X)
			visit(e.Pattern)
		case *isNullExpr:
			visit(e.X)
		case *callExpr:
			for _, k := range e.Params {
				visit(k)
			}
			for _, k := range e.Args {
				visit(k)
			}
		case *caseExpr:
			visit(e.Operand)
			for _, w := range e.Whens {
				visit(w.Cond)
				visit(w.Result)
			}
			visit(e.Else)
		case *extractExpr:
			visit(e.X)
		case *castExpr:
			visit(e.X)
		}
	}
	visit(e)
	return err
}

// andOrOperandsAny flattens chains of AND or OR (iteratively, so that
// long chains do not recurse) and gives the operands of other operators.
func andOrOperandsAny(e *binaryExpr) []expr {
	if e.Op == "AND" || e.Op == "OR" {
		return andOrOperands(e)
	}
	return []expr{e.L, e.R}
}

// checkNestedDepth checks the expression depth of the subqueries of s
// outside its FROM (WITH items, scalar and IN subqueries).
func checkNestedDepth(src string, s *selectStmt, exprs []expr) error {
	check := func(sub *selectStmt) error { return checkExprDepth(src, sub) }
	for _, w := range s.With {
		if w.Sub != nil {
			if err := check(w.Sub); err != nil {
				return err
			}
			continue
		}
		if d, at := exprDepth(w.Expr); d > maxExprDepth {
			return errAt(src, at.pos(), tokenText(src, at.pos()), "the expression is nested more than %d levels deep", maxExprDepth)
		}
		if err := forSubqueries(w.Expr, check); err != nil {
			return err
		}
	}
	for _, e := range exprs {
		if err := forSubqueries(e, check); err != nil {
			return err
		}
	}
	return nil
}

// ---- analysis

// withLink is a WITH name visible in a query: the innermost first, then
// the earlier items of the same WITH, then those of the queries around.
type withLink struct {
	parent *withLink
	item   *withItem
	owner  *scope // the query whose WITH defines it
}

func findWith(l *withLink, name string, cte bool) *withLink {
	for ; l != nil; l = l.parent {
		if l.item.Name == name && (l.item.Sub != nil) == cte {
			return l
		}
	}
	return nil
}

// subquery is a scalar subquery, or the set of x IN (SELECT ...): the
// first (only) column of src.sub.
type subquery struct {
	p   int
	tok string
	src *sourceIR // id: the alias of the subquery in IN; sub: the query
	t   chType
}

func (s *subquery) typ() chType { return s.t }
func (s *subquery) at() int     { return s.p }

// with adds the WITH items of s to sc (named expressions as aliases) and
// returns the names visible in s.
func (a *analyzer) with(sc *scope, s *selectStmt, env *withLink) (*withLink, error) {
	seen := map[string]bool{}
	for _, w := range s.With {
		if seen[w.Name] {
			return nil, a.errAt(w.NamePos, a.wordAt(w.NamePos), "WITH defines %q twice", w.Name)
		}
		seen[w.Name] = true
		env = &withLink{parent: env, item: w, owner: sc}
		if w.Expr != nil {
			sc.aliases[w.Name] = &aliasDef{item: &selectItem{Expr: w.Expr, Alias: w.Name, AliasPos: w.NamePos, Pos: w.Pos}}
		}
	}
	return env, nil
}

// enterQuery counts the nesting of queries against MaxDepth (a common
// table expression counts at each use, where it is inlined).
func (a *analyzer) enterQuery(s *selectStmt) error {
	a.depth++
	if a.maxDepth > 0 && a.depth > a.maxDepth {
		return a.errAt(s.Pos, "SELECT", "the query nests subqueries deeper than the limit of %d levels", a.maxDepth).
			hint("a common table expression counts as a subquery wherever it is used")
	}
	return a.budget(1, s.Pos, "SELECT")
}

// cte analyses a common table expression where it is used.
func (a *analyzer) cte(l *withLink) (*queryIR, error) {
	return a.query(l.item.Sub, l.parent, nil)
}

// outerWith resolves a named expression of an outer query's WITH. It
// cannot use columns: it is analysed without a FROM.
func (a *analyzer) outerWith(sc *scope, l *withLink, id *identExpr, ctx exprCtx) (irExpr, error) {
	cs := &scope{cols: map[string]colInfo{}, ambiguous: map[string]bool{}, aliases: map[string]*aliasDef{}, env: l.parent, outer: sc, withOf: l.item.Name}
	return a.expr(cs, l.item.Expr, ctx)
}

// correlated explains an unknown column that belongs to an outer query.
func correlated(sc *scope, qual, name string) bool {
	for o := sc.outer; o != nil; o = o.outer {
		if qual != "" {
			if o.hasFrom && o.qual == qual {
				return true
			}
			continue
		}
		if _, ok := o.cols[name]; ok {
			return true
		}
		if _, ok := o.aliases[name]; ok {
			return true
		}
	}
	return false
}

const correlatedHint = "a subquery cannot use the columns of the query around it (correlated subqueries are not supported, as in ClickHouse)"

// oneRow says that q always returns exactly one row.
func oneRow(q *queryIR) bool {
	if q.offset > 0 || q.limit == 0 || q.having != nil || len(q.groupBy) > 0 {
		return false
	}
	if q.src == nil {
		return q.where == nil
	}
	if q.aggregated {
		return true
	}
	// SELECT m FROM (SELECT max(x) AS m FROM t)
	return q.src.sub != nil && q.where == nil && oneRow(q.src.sub)
}

func (a *analyzer) scalarSubquery(sc *scope, e *subqueryExpr) (irExpr, error) {
	q, err := a.query(e.Sel, sc.env, sc)
	if err != nil {
		return nil, err
	}
	if n := len(q.items); n != 1 {
		return nil, a.errAt(e.P, "(", "a scalar subquery must return one column, not %d", n).
			hint("ClickHouse would make a tuple of the columns, and tuples are not supported: use one subquery per value")
	}
	t := q.items[0].e.typ()
	if !oneRow(q) {
		if t.k == kArray {
			return nil, a.errAt(e.P, "(", "a scalar subquery of type %s must always return one row (no row would be NULL, which %s cannot be)", t, t).
				hint("compute the array with an aggregate function and no GROUP BY, HAVING, OFFSET or LIMIT 0")
		}
		t = t.withNull(true)
	}
	src := a.newSource()
	src.sub, src.pos, src.tok = q, e.P, "("
	return &subquery{p: e.P, tok: "(", src: src, t: t}, nil
}

func (a *analyzer) inSubquery(sc *scope, e *inExpr, ctx exprCtx) (irExpr, error) {
	x, err := a.expr(sc, e.X, ctx)
	if err != nil {
		return nil, err
	}
	var q *queryIR
	if e.Sub != nil {
		q, err = a.query(e.Sub, sc.env, sc)
	} else {
		l := findWith(sc.env, e.Table, true)
		if l == nil {
			err := a.errAt(e.TPos, a.wordAt(e.TPos), "unknown common table expression %q after IN", e.Table)
			if a.datasetExists(e.Table) {
				return nil, err.hint("a dataset has many columns; write IN (SELECT index1 FROM %s) with the column to match", quoteIdentCanon(e.Table))
			}
			return nil, err.hint("name a subquery with WITH %s AS (SELECT ...), or write IN (SELECT ...)", quoteIdentCanon(e.Table))
		}
		q, err = a.cte(l)
	}
	if err != nil {
		return nil, err
	}
	if n := len(q.items); n != 1 {
		return nil, a.errAt(e.OpP, "IN", "the subquery of IN must return one column, not %d", n).
			hint("ClickHouse would compare tuples, and tuples are not supported")
	}
	ct := q.items[0].e.typ()
	src := a.newSource()
	src.sub, src.pos, src.tok = q, e.OpP, "IN"
	set := &subquery{p: e.OpP, tok: "IN", src: src, t: ct}
	if ct.k == kArray || ct.k == kInterval {
		return nil, a.errExpr(e, "IN cannot compare values of type %s", ct)
	}
	if ct.k != kNothing {
		l, _, err := a.comparable(e.X, e, x, set)
		if err != nil {
			return nil, err
		}
		x = l
	}
	fn := "in"
	if e.Not {
		fn = "notIn"
	}
	return &call{p: e.OpP, tok: "IN", fn: fn, args: []irExpr{x, set}, t: typ(kUInt8).withNull(anyNullable(x.typ()))}, nil
}

// ---- printing (DuckDB)

func (p *duckPrinter) scalarSubquery(s *subquery) string {
	return "(" + p.query(s.src.sub, -1) + ")"
}

// inSubquery prints x [NOT] IN (SELECT ...): the subquery's NULLs are
// left out (they never match in ClickHouse), and a NULL x is NULL.
func (p *duckPrinter) inSubquery(c *call, s *subquery) string {
	x := c.args[0]
	not := ""
	if c.fn == "notIn" {
		not = "NOT "
	}
	var in string
	if s.t.k == kNothing {
		// only NULLs: nothing matches (the subquery still runs)
		in = "(" + p.query(s.src.sub, -1) + ")"
		in = "((SELECT count(*) FROM " + in + " AS t" + strconv.Itoa(s.src.id) + ") IS NULL)"
		if not != "" {
			in = "(NOT " + in + ")"
		}
	} else {
		col := &colRef{p: s.p, tok: s.tok, src: s.src, idx: 0, t: s.t}
		from := " FROM (" + p.query(s.src.sub, -1) + ") AS t" + strconv.Itoa(s.src.id) + " WHERE " + p.col(col) + " IS NOT NULL"
		if smallSet(s.src.sub) {
			// A set of a few rows (IN (SELECT ... LIMIT 2)) is one list,
			// computed once: DuckDB then filters the rows as it does for a
			// list of constants, where a semi join would probe a hash
			// table for every row. No row gives a NULL list: nothing
			// matches.
			in = "coalesce(list_contains((SELECT list(" + p.cmpArg(col, x) + ")" + from + "), " + p.cmpArg(x, col) + "), FALSE)"
			if not != "" {
				in = "(NOT " + in + ")"
			}
		} else {
			in = "(" + p.cmpArg(x, col) + " " + not + "IN (SELECT " + p.cmpArg(col, x) + from + "))"
		}
	}
	if anyNullable(x.typ()) {
		in = "(CASE WHEN " + p.raw(x) + " IS NULL THEN CAST(NULL AS BOOLEAN) ELSE " + in + " END)"
	}
	return in
}

// maxSmallSet is the most rows of an IN subquery printed as a list.
const maxSmallSet = 100

// smallSet says that q returns at most maxSmallSet rows.
func smallSet(q *queryIR) bool {
	return oneRow(q) || (q.limit >= 0 && q.limit <= maxSmallSet)
}

// maxSourceID is the largest source id of q and of every query inside it.
func maxSourceID(q *queryIR) int {
	m := -1
	var visitQ func(q *queryIR)
	var visitE func(e irExpr)
	visitE = func(e irExpr) {
		walk(e, func(x irExpr) bool {
			switch x := x.(type) {
			case *subquery:
				m = max(m, x.src.id)
				visitQ(x.src.sub)
			case *call:
				for _, o := range x.order {
					visitE(o.e)
				}
			}
			return true
		})
	}
	visitQ = func(q *queryIR) {
		if q.src != nil {
			m = max(m, q.src.id)
			if q.src.sub != nil {
				visitQ(q.src.sub)
			}
		}
		for _, it := range q.items {
			visitE(it.e)
		}
		for _, e := range []irExpr{q.where, q.having} {
			if e != nil {
				visitE(e)
			}
		}
		for _, g := range q.groupBy {
			visitE(g)
		}
		for _, o := range q.orderBy {
			visitE(o.e)
		}
		if q.limitBy != nil {
			for _, e := range q.limitBy.by {
				visitE(e)
			}
		}
	}
	visitQ(q)
	return m
}
