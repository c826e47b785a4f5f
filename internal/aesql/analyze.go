package aesql

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// analyzer resolves names and types of a parsed SELECT against a Catalog.
type analyzer struct {
	src     string
	cat     Catalog
	nextSrc int
	nodes   int // IR nodes produced, counting every expansion of an alias
	sets    map[string]bool
	// subqueries (subquery.go): the nesting of queries being analysed,
	// and its limit (Options.MaxDepth)
	depth, maxDepth int
}

// aeColumns are the columns of every dataset, in SELECT * order.
var aeColumns = func() []string {
	cols := []string{"dataset", "timestamp", "_sample_interval", "index1"}
	for i := 1; i <= point.MaxBlobs; i++ {
		cols = append(cols, fmt.Sprintf("blob%d", i))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols = append(cols, fmt.Sprintf("double%d", i))
	}
	return cols
}()

// aeColumnType gives the ClickHouse type of a dataset column. AE documents
// _sample_interval as an integer; ClickHouse tables of AE use UInt32.
func aeColumnType(col string) chType {
	switch {
	case col == "timestamp":
		return typ(kDateTime)
	case col == "_sample_interval":
		return typ(kUInt32)
	case strings.HasPrefix(col, "double"):
		return typ(kFloat64)
	}
	return typ(kString)
}

var isAEColumn = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range aeColumns {
		m[c] = true
	}
	return m
}()

// scope is what names mean inside one SELECT.
type scope struct {
	src       *sourceIR
	qual      string // the qualifier t.col may use: the FROM alias, else the table name
	cols      map[string]colInfo
	order     []colInfo // SELECT * order
	ambiguous map[string]bool
	aliases   map[string]*aliasDef
	hasFrom   bool
	env       *withLink // the WITH names visible (subquery.go)
	outer     *scope    // the query around a scalar or IN subquery
	withOf    string    // analysing the named expression of an outer query's WITH
}

type colInfo struct {
	name string // the name the query uses
	col  string // dataset: canonical column
	idx  int    // subquery: output index
	t    chType
}

type aliasDef struct {
	item  *selectItem
	state int // 0 not analysed, 1 being analysed, 2 done
	ir    irExpr
	size  int
}

// exprCtx says where an expression is.
type exprCtx struct {
	clause string // SELECT, WHERE, GROUP BY, HAVING, ORDER BY
	noAgg  bool   // aggregates are refused here
	inAgg  *call  // inside the arguments of this aggregate
}

func (a *analyzer) errAt(pos int, tok string, format string, args ...any) *Error {
	return errAt(a.src, pos, tok, format, args...)
}

// tokenOf gives an AST node's position and a token naming it.
func (a *analyzer) tokenOf(e expr) (int, string) {
	switch e := e.(type) {
	case *identExpr:
		if e.E > e.P && e.E <= len(a.src) {
			return e.P, a.src[e.P:e.E]
		}
		return e.P, strings.Join(e.Parts, ".")
	case *numberLit:
		return e.P, e.Text
	case *stringLit:
		return e.P, a.literalText(e.P)
	case *binaryExpr:
		return e.OpP, e.Op
	case *inExpr:
		return e.OpP, "IN"
	case *likeExpr:
		return e.OpP, a.wordAt(e.OpP)
	case *betweenExpr:
		return e.KeywordPos, "BETWEEN"
	case *callExpr:
		return e.P, e.Name
	case *extractExpr:
		return e.P, "extract"
	case *castExpr:
		return e.P, "CAST"
	case *subqueryExpr:
		return e.P, "("
	}
	return e.pos(), a.wordAt(e.pos())
}

// wordAt returns the source token starting at off.
func (a *analyzer) wordAt(off int) string {
	lx := &lexer{src: a.src, pos: off, prev: tEOF}
	t, err := lx.next()
	if err != nil || t.Kind == tEOF {
		if off < len(a.src) {
			return a.src[off : off+1]
		}
		return ""
	}
	return t.Text
}

func (a *analyzer) literalText(off int) string { return a.wordAt(off) }

func (a *analyzer) errExpr(e expr, format string, args ...any) *Error {
	p, tok := a.tokenOf(e)
	return a.errAt(p, tok, format, args...)
}

func (a *analyzer) budget(n int, pos int, tok string) error {
	a.nodes += n
	if a.nodes > maxNodes {
		return a.errAt(pos, tok, "the query has more than %d expression nodes after expanding aliases", maxNodes)
	}
	return nil
}

func (a *analyzer) newSource() *sourceIR {
	s := &sourceIR{id: a.nextSrc}
	a.nextSrc++
	return s
}

// datasetExists: Datasets lists the dataset, or Source answers ok for it
// (a catalog may serve datasets that exist before their first write).
func (a *analyzer) datasetExists(name string) bool {
	if a.sets == nil {
		a.sets = map[string]bool{}
		for _, d := range a.cat.Datasets() {
			a.sets[d] = true
		}
	}
	if !a.sets[name] {
		_, _, ok := a.cat.Source(name, 0)
		a.sets[name] = ok
	}
	return a.sets[name]
}

// resolveTable finds the dataset a FROM names: the dataset of exactly that
// name, else the one dataset whose name differs only in ASCII case (AE's
// documentation queries FROM WEATHER for a dataset written as weather).
// It returns "" when there is none, and refuses a name that matches
// several datasets.
func (a *analyzer) resolveTable(f *fromClause) (string, error) {
	if a.datasetExists(f.Table) {
		return f.Table, nil
	}
	var found []string
	seen := map[string]bool{}
	folded := asciiLower(f.Table)
	for _, d := range a.cat.Datasets() {
		if asciiLower(d) == folded && !seen[d] {
			seen[d] = true
			found = append(found, d)
		}
	}
	if !seen[folded] && a.datasetExists(folded) {
		found = append(found, folded)
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	sort.Strings(found)
	quoted := make([]string, len(found))
	for i, d := range found {
		quoted[i] = strconv.Quote(d)
	}
	return "", a.errAt(f.Pos, a.wordAt(f.Pos), "table name %q is ambiguous: it matches the datasets %s", f.Table, strings.Join(quoted, ", ")).
		hint("write the dataset's name exactly as %s lists it", code("SHOW TABLES"))
}

func (a *analyzer) selectStmt(s *selectStmt) (*queryIR, error) {
	return a.query(s, nil, nil)
}

// query analyses a SELECT that sees the WITH names of env; outer is the
// query around a scalar or IN subquery.
func (a *analyzer) query(s *selectStmt, env *withLink, outer *scope) (*queryIR, error) {
	if err := a.enterQuery(s); err != nil {
		return nil, err
	}
	defer func() { a.depth-- }()
	if s.Totals && a.depth > 1 {
		return nil, a.errAt(s.TotalsP, "TOTALS", "WITH TOTALS is only allowed in the outermost query").hint("move WITH TOTALS to the outer query")
	}
	q := &queryIR{limit: -1}
	sc := &scope{cols: map[string]colInfo{}, ambiguous: map[string]bool{}, aliases: map[string]*aliasDef{}, outer: outer}
	env, err := a.with(sc, s, env)
	if err != nil {
		return nil, err
	}
	sc.env = env
	if f := s.From; f != nil {
		sc.hasFrom = true
		src := a.newSource()
		src.pos = f.Pos
		var cte *withLink
		if f.Sub == nil {
			cte = findWith(env, f.Table, true) // a CTE wins over a dataset of the same name
		}
		if f.Sub != nil || cte != nil {
			var sub *queryIR
			var err error
			if cte != nil {
				sub, err = a.cte(cte)
			} else {
				sub, err = a.query(f.Sub, env, nil)
			}
			if err != nil {
				return nil, err
			}
			src.sub, src.tok = sub, "("
			for i, it := range sub.items {
				ci := colInfo{name: it.name, idx: i, t: it.e.typ()}
				if _, dup := sc.cols[it.name]; dup {
					sc.ambiguous[it.name] = true
				}
				sc.cols[it.name] = ci
				sc.order = append(sc.order, ci)
			}
		} else {
			table, err := a.resolveTable(f)
			if err != nil {
				return nil, err
			}
			src.dataset, src.tok = table, f.Table
			if table == "" {
				e := a.errAt(f.Pos, a.wordAt(f.Pos), "unknown table %q", f.Table)
				low := asciiLower(f.Table)
				switch {
				case strings.HasPrefix(low, "system") || strings.HasPrefix(low, "information_schema") || strings.HasPrefix(low, "duckdb_") || strings.HasPrefix(low, "pg_") || strings.HasPrefix(low, "sqlite_"):
					e.hint("only this project's datasets can be queried (%s lists them)", code("SHOW TABLES"))
				default:
					e.hint("%s lists this project's datasets", code("SHOW TABLES"))
				}
				return nil, e
			}
			for _, c := range aeColumns {
				ci := colInfo{name: c, col: c, t: aeColumnType(c)}
				sc.cols[c] = ci
				sc.order = append(sc.order, ci)
			}
			if sch := a.cat.Schema(table); sch != nil {
				add := func(name, col string) {
					if name == "" || isAEColumn[name] {
						return
					}
					if _, dup := sc.cols[name]; dup {
						sc.ambiguous[name] = true
					}
					sc.cols[name] = colInfo{name: name, col: col, t: aeColumnType(col)}
				}
				add(sch.Index, "index1")
				for i, n := range sch.Blobs {
					if i < point.MaxBlobs {
						add(n, fmt.Sprintf("blob%d", i+1))
					}
				}
				for i, n := range sch.Doubles {
					if i < point.MaxDoubles {
						add(n, fmt.Sprintf("double%d", i+1))
					}
				}
			}
		}
		sc.src = src
		sc.qual = f.Alias
		if sc.qual == "" {
			sc.qual = f.Table
		}
		q.src = src
	}

	for _, it := range s.Items {
		if it.Alias == "" {
			continue
		}
		if d, dup := sc.aliases[it.Alias]; dup {
			if d.item.Pos < s.Pos {
				return nil, a.errAt(it.AliasPos, a.wordAt(it.AliasPos), "alias %q is defined twice (by WITH and in SELECT)", it.Alias)
			}
			return nil, a.errAt(it.AliasPos, a.wordAt(it.AliasPos), "alias %q is defined twice", it.Alias)
		}
		sc.aliases[it.Alias] = &aliasDef{item: it}
	}

	// SELECT list
	for _, it := range s.Items {
		if it.Star {
			if !sc.hasFrom {
				return nil, a.errAt(it.Pos, "*", "SELECT * needs a FROM clause")
			}
			for _, ci := range sc.order {
				q.items = append(q.items, outItem{e: &colRef{p: it.Pos, tok: "*", src: sc.src, col: ci.col, idx: ci.idx, t: ci.t}, name: ci.name})
			}
			continue
		}
		var e irExpr
		var err error
		if it.Alias != "" {
			e, err = a.aliasExpr(sc, sc.aliases[it.Alias], it.AliasPos, it.Alias, exprCtx{clause: "SELECT"})
		} else {
			e, err = a.expr(sc, it.Expr, exprCtx{clause: "SELECT"})
		}
		if err != nil {
			return nil, err
		}
		if e.typ().k == kInterval {
			return nil, a.errExpr(it.Expr, "an INTERVAL cannot be a result column").hint("add it to or subtract it from a date or time, as in %s", code("now() + "+it.Expr.String()))
		}
		name := it.Alias
		if name == "" {
			name = it.Text
			if id, ok := it.Expr.(*identExpr); ok && len(id.Parts) == 1 {
				name = id.Parts[0] // `weird name` is named weird name
			}
		}
		q.items = append(q.items, outItem{e: e, name: name})
	}

	if s.Where != nil {
		e, err := a.expr(sc, s.Where, exprCtx{clause: "WHERE", noAgg: true})
		if err != nil {
			return nil, err
		}
		if err := a.condition(e, s.Where, "WHERE"); err != nil {
			return nil, err
		}
		q.where = e
	}
	for _, g := range s.GroupBy {
		e, err := a.positional(sc, q, g, exprCtx{clause: "GROUP BY", noAgg: true})
		if err != nil {
			return nil, err
		}
		if c := containsAgg(e); c != nil {
			return nil, a.errExpr(g, "aggregate function %s is not allowed in GROUP BY", c.tok)
		}
		if e.typ().k == kInterval {
			return nil, a.errExpr(g, "cannot group by an INTERVAL")
		}
		q.groupBy = append(q.groupBy, e)
	}
	if s.Having != nil {
		e, err := a.expr(sc, s.Having, exprCtx{clause: "HAVING"})
		if err != nil {
			return nil, err
		}
		if err := a.condition(e, s.Having, "HAVING"); err != nil {
			return nil, err
		}
		q.having = e
	}
	for _, o := range s.OrderBy {
		e, err := a.positional(sc, q, o.Expr, exprCtx{clause: "ORDER BY"})
		if err != nil {
			return nil, err
		}
		if t := e.typ(); !t.isComparable() && !(t.k == kArray && t.elem.isComparable()) {
			// arrays order lexicographically, as in ClickHouse
			return nil, a.errExpr(o.Expr, "cannot order by a value of type %s", t)
		}
		q.orderBy = append(q.orderBy, orderIR{e: e, desc: o.Desc, nulls: o.Nulls, item: -1})
	}

	q.aggregated = len(q.groupBy) > 0
	for _, it := range q.items {
		if containsAgg(it.e) != nil {
			q.aggregated = true
		}
	}
	if q.having != nil && containsAgg(q.having) != nil {
		q.aggregated = true
	}
	for _, o := range q.orderBy {
		if containsAgg(o.e) != nil {
			q.aggregated = true
		}
	}
	if q.having != nil && !q.aggregated {
		where := "WHERE " + s.Having.String()
		if s.Where != nil {
			where = "WHERE " + s.Where.String() + " AND " + s.Having.String()
		}
		return nil, a.errExpr(s.Having, "HAVING needs GROUP BY or an aggregate function").hint("filter rows with %s", code(where))
	}
	if q.aggregated && len(q.groupBy) == 0 && len(q.orderBy) > 0 {
		// SELECT first_value(blob1) FROM t ORDER BY timestamp (an example of
		// AE's documentation): with one result row, an ORDER BY over the
		// rows orders the input of first_value and last_value.
		var rowOrder []orderIR
		for _, o := range q.orderBy {
			if a.grouped(o.e, map[string]bool{}, s, -1) != nil && containsAgg(o.e) == nil {
				rowOrder = append(rowOrder, o)
			}
		}
		usesOrder := false
		for _, it := range q.items {
			walk(it.e, func(x irExpr) bool {
				if c, ok := x.(*call); ok && (c.fn == "first_value" || c.fn == "last_value") {
					usesOrder = true
				}
				return !usesOrder
			})
		}
		if len(rowOrder) > 0 && usesOrder {
			set := func(e irExpr) {
				walk(e, func(x irExpr) bool {
					if c, ok := x.(*call); ok && (c.fn == "first_value" || c.fn == "last_value") {
						c.order = rowOrder
					}
					return true
				})
			}
			for _, it := range q.items {
				set(it.e)
			}
			if q.having != nil {
				set(q.having)
			}
			q.orderBy = nil // consumed
		}
	}
	if q.aggregated {
		keys := map[string]bool{}
		for _, g := range q.groupBy {
			keys[key(g)] = true
		}
		for i, it := range q.items {
			if err := a.grouped(it.e, keys, s, i); err != nil {
				return nil, err
			}
		}
		if q.having != nil {
			if err := a.grouped(q.having, keys, s, -1); err != nil {
				return nil, err
			}
		}
		for _, o := range q.orderBy {
			if err := a.grouped(o.e, keys, s, -1); err != nil {
				return nil, err
			}
		}
	}
	itemKeys := map[string]int{}
	for i := len(q.items) - 1; i >= 0; i-- {
		itemKeys[key(q.items[i].e)] = i
	}
	for i := range q.orderBy {
		if j, ok := itemKeys[key(q.orderBy[i].e)]; ok {
			q.orderBy[i].item = j
		} else if s.Distinct {
			return nil, a.errExpr(s.OrderBy[i].Expr, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list")
		}
	}
	q.distinct = s.Distinct
	if err := a.groupingModifiers(s, q); err != nil {
		return nil, err
	}
	if l := s.LimitBy; l != nil {
		lb := &limitByIR{n: l.Count, offset: l.Offset}
		keys := map[string]bool{}
		for _, g := range q.groupBy {
			keys[key(g)] = true
		}
		for _, be := range l.By {
			e, err := a.positional(sc, q, be, exprCtx{clause: "LIMIT BY"})
			if err != nil {
				return nil, err
			}
			if e.typ().k == kInterval {
				return nil, a.errExpr(be, "cannot use an INTERVAL in LIMIT BY")
			}
			if q.aggregated {
				if err := a.grouped(e, keys, s, -1); err != nil {
					return nil, err
				}
			}
			lb.by = append(lb.by, e)
		}
		q.limitBy = lb
	}
	if l := s.Limit; l != nil {
		if !l.All {
			q.limit = l.Count
		}
		if l.HasOffset {
			q.offset = l.Offset
		}
	}
	if q.distinct && q.limitBy != nil {
		return a.distinctThenLimitBy(s, q)
	}
	return q, nil
}

// distinctThenLimitBy makes a query with SELECT DISTINCT and LIMIT BY
// apply them in ClickHouse's order, DISTINCT first: the DISTINCT query
// becomes the source of one that orders, applies LIMIT BY and LIMIT.
func (a *analyzer) distinctThenLimitBy(s *selectStmt, q *queryIR) (*queryIR, error) {
	inner := *q
	inner.orderBy, inner.limitBy, inner.limit, inner.offset = nil, nil, -1, 0
	src := a.newSource()
	src.sub, src.pos, src.tok = &inner, s.Pos, "SELECT"
	out := &queryIR{src: src, limit: q.limit, offset: q.offset, limitBy: &limitByIR{n: q.limitBy.n, offset: q.limitBy.offset}}
	cols := make([]irExpr, len(q.items))
	itemKeys := map[string]int{}
	for i, it := range q.items {
		cols[i] = &colRef{p: s.Pos, tok: it.name, src: src, idx: i, t: it.e.typ()}
		out.items = append(out.items, outItem{e: cols[i], name: it.name})
		if _, dup := itemKeys[key(it.e)]; !dup {
			itemKeys[key(it.e)] = i
		}
	}
	for _, o := range q.orderBy {
		out.orderBy = append(out.orderBy, orderIR{e: cols[o.item], desc: o.desc, nulls: o.nulls, item: o.item})
	}
	for i, e := range q.limitBy.by {
		j, ok := itemKeys[key(e)]
		if !ok {
			return nil, a.errExpr(s.LimitBy.By[i], "with SELECT DISTINCT, LIMIT BY expressions must appear in the select list")
		}
		out.limitBy.by = append(out.limitBy.by, cols[j])
	}
	return out, nil
}

// groupingModifiers checks and records WITH ROLLUP, WITH CUBE and WITH
// TOTALS.
func (a *analyzer) groupingModifiers(s *selectStmt, q *queryIR) error {
	q.rollup, q.totals = s.Rollup, s.Totals
	if s.Totals && !q.aggregated {
		return a.errAt(s.TotalsP, "TOTALS", "WITH TOTALS needs GROUP BY or an aggregate function")
	}
	if s.Totals && s.Rollup != "" && s.Having != nil {
		return a.errAt(s.TotalsP, "TOTALS", "WITH TOTALS and WITH %s are not supported together in presence of HAVING", s.Rollup).hint("as in ClickHouse: drop one of them or the HAVING")
	}
	return nil
}

// grouped checks that e uses columns only inside aggregates or as (part
// of) a GROUP BY expression.
func (a *analyzer) grouped(e irExpr, keys map[string]bool, s *selectStmt, item int) error {
	var bad irExpr
	var visit func(x irExpr)
	visit = func(x irExpr) {
		if bad != nil || keys[key(x)] {
			return
		}
		switch x := x.(type) {
		case *colRef:
			bad = x
		case *call:
			if x.agg {
				return
			}
			for _, arg := range x.args {
				visit(arg)
			}
		}
	}
	visit(e)
	if bad == nil {
		return nil
	}
	c := bad.(*colRef)
	err := a.errAt(c.p, c.tok, "column %s is neither aggregated nor in GROUP BY", c.tok)
	if c.tok == "*" {
		err.Msg = "SELECT * cannot be combined with aggregation"
		return err.hint("name the columns, each in GROUP BY or in an aggregate function")
	}
	return err.hint("add it to GROUP BY or wrap it in an aggregate function, as in %s", code("min("+c.tok+")"))
}

// positional resolves GROUP BY 1 / ORDER BY 2 to select items (ClickHouse
// enables positional arguments by default).
func (a *analyzer) positional(sc *scope, q *queryIR, e expr, ctx exprCtx) (irExpr, error) {
	if n, ok := e.(*numberLit); ok {
		v, isInt, ok := parseUintLit(n.Text)
		if !ok || !isInt || strings.HasPrefix(n.Text, "-") {
			return nil, a.errExpr(e, "a position in %s must be a whole number from 1 to %d", ctx.clause, len(q.items))
		}
		if v < 1 || v > uint64(len(q.items)) {
			return nil, a.errExpr(e, "position %d is not in the select list (1 to %d)", v, len(q.items))
		}
		it := q.items[v-1].e
		if ctx.noAgg {
			if c := containsAgg(it); c != nil {
				return nil, a.errExpr(e, "aggregate function %s is not allowed in %s", c.tok, ctx.clause)
			}
		}
		return it, nil
	}
	return a.expr(sc, e, ctx)
}

// condition checks that e can be a filter: a number (0 is false) or NULL.
func (a *analyzer) condition(e irExpr, at expr, clause string) error {
	t := e.typ()
	if t.isNumeric() || t.k == kNothing {
		return nil
	}
	return a.errExpr(at, "%s needs a condition, not a value of type %s", clause, t)
}

func (a *analyzer) aliasExpr(sc *scope, d *aliasDef, pos int, name string, ctx exprCtx) (irExpr, error) {
	if d.state == 0 {
		d.state = 1
		before := a.nodes
		e, err := a.expr(sc, d.item.Expr, exprCtx{clause: "SELECT"})
		if err != nil {
			return nil, err
		}
		d.state, d.ir, d.size = 2, e, max(a.nodes-before, 1)
		if err := a.checkCtx(e, ctx, pos, name); err != nil {
			return nil, err
		}
		return e, nil
	}
	if err := a.budget(d.size, pos, name); err != nil {
		return nil, err
	}
	if err := a.checkCtx(d.ir, ctx, pos, name); err != nil {
		return nil, err
	}
	return d.ir, nil
}

func (a *analyzer) checkCtx(e irExpr, ctx exprCtx, pos int, name string) error {
	c := containsAgg(e)
	if c == nil {
		return nil
	}
	if ctx.noAgg {
		return a.errAt(pos, name, "aggregate function %s (through alias %s) is not allowed in %s", c.tok, name, ctx.clause)
	}
	if ctx.inAgg != nil {
		return a.errAt(pos, name, "aggregate function %s (through alias %s) is inside aggregate function %s", c.tok, name, ctx.inAgg.tok)
	}
	return nil
}

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
