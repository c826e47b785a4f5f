package aesql

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

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
