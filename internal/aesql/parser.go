package aesql

import (
	"strconv"
	"strings"
)

// reservedWords cannot be bare identifiers or implicit aliases; quote them
// (`limit`) to use them as names.
var reservedWords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "GROUP": true, "BY": true, "HAVING": true,
	"ORDER": true, "LIMIT": true, "OFFSET": true, "FORMAT": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true,
	"CROSS": true, "OUTER": true, "ON": true, "USING": true, "AS": true, "AND": true, "OR": true,
	"NOT": true, "IN": true, "BETWEEN": true, "LIKE": true, "ILIKE": true, "IS": true, "NULL": true,
	"CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "DISTINCT": true,
	"ASC": true, "DESC": true, "SETTINGS": true, "INTO": true, "WITH": true, "INTERVAL": true,
	"TRUE": true, "FALSE": true, "ARRAY": true, "PREWHERE": true, "SAMPLE": true, "FINAL": true,
	"WINDOW": true, "QUALIFY": true, "ALL": true, "NULLS": true, "OVER": true, "FILTER": true,
	"COLLATE": true, "TOTALS": true, "CUBE": true, "ROLLUP": true, "LATERAL": true, "NATURAL": true,
}

const joinRefusal = "joins are not supported: Analytics Engine queries read one dataset"

// refusedClause names clauses ClickHouse (or DuckDB) know that the dialect
// refuses, with the reason.
var refusedClause = map[string]string{
	"JOIN": joinRefusal, "INNER": joinRefusal, "LEFT": joinRefusal, "RIGHT": joinRefusal, "FULL": joinRefusal,
	"CROSS": joinRefusal, "OUTER": joinRefusal, "ANY": joinRefusal, "SEMI": joinRefusal, "ANTI": joinRefusal,
	"ASOF": joinRefusal, "GLOBAL": joinRefusal, "PASTE": joinRefusal, "NATURAL": joinRefusal, "LATERAL": joinRefusal,
	"ARRAY":     "ARRAY JOIN is not supported",
	"UNION":     "UNION is not supported: Analytics Engine queries read one dataset",
	"EXCEPT":    "EXCEPT is not supported: Analytics Engine queries read one dataset",
	"INTERSECT": "INTERSECT is not supported: Analytics Engine queries read one dataset",
	"SETTINGS":  "SETTINGS is not supported",
	"INTO":      "INTO OUTFILE is not supported",
	"PREWHERE":  "PREWHERE is not supported; use WHERE",
	"SAMPLE":    "SAMPLE is not supported; weigh rows with _sample_interval instead",
	"FINAL":     "FINAL is not supported",
	"WINDOW":    "window functions are not supported",
	"QUALIFY":   "QUALIFY is not supported",
}

type parser struct {
	src      string
	toks     []token
	i        int
	depth    int
	maxDepth int
	nodes    int
	noIn     bool // reading position(needle IN haystack): IN ends the needle
}

// maxNodes bounds the size of a parsed statement (and, separately, of the
// analysed statement after alias expansion), whatever MaxQueryBytes is.
const maxNodes = 100_000

// parse parses exactly one statement, optionally followed by a semicolon.
func parse(src string, maxDepth int) (stmt, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks, maxDepth: maxDepth}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	if sel, ok := st.(*selectStmt); ok {
		if err := checkExprDepth(src, sel); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// maxExprDepth bounds the depth of an expression tree, operators included
// (ClickHouse's max_ast_depth is also 1000). A chain of AND or of OR counts
// as one level, as ClickHouse makes it one n-ary function.
const maxExprDepth = 1000

func checkExprDepth(src string, s *selectStmt) error {
	var exprs []expr
	for _, it := range s.Items {
		if it.Expr != nil {
			exprs = append(exprs, it.Expr)
		}
	}
	exprs = append(exprs, s.GroupBy...)
	if s.LimitBy != nil {
		exprs = append(exprs, s.LimitBy.By...)
	}
	for _, o := range s.OrderBy {
		exprs = append(exprs, o.Expr)
	}
	for _, e := range []expr{s.Where, s.Having} {
		if e != nil {
			exprs = append(exprs, e)
		}
	}
	for _, e := range exprs {
		if d, at := exprDepth(e); d > maxExprDepth {
			return errAt(src, at.pos(), tokenText(src, at.pos()), "the expression is nested more than %d levels deep", maxExprDepth)
		}
	}
	if err := checkNestedDepth(src, s, exprs); err != nil {
		return err
	}
	if s.From != nil && s.From.Sub != nil {
		return checkExprDepth(src, s.From.Sub)
	}
	return nil
}

// tokenText returns the source token at off.
func tokenText(src string, off int) string {
	lx := &lexer{src: src, pos: off, prev: tEOF}
	if t, err := lx.next(); err == nil && t.Kind != tEOF {
		return t.Text
	}
	if off < len(src) {
		return src[off : off+1]
	}
	return ""
}

// andOrOperands flattens a chain of one boolean operator.
func andOrOperands(e *binaryExpr) []expr {
	var rights []expr
	cur := expr(e)
	for {
		b, ok := cur.(*binaryExpr)
		if !ok || b.Op != e.Op {
			break
		}
		rights = append(rights, b.R)
		cur = b.L
	}
	out := []expr{cur}
	for i := len(rights) - 1; i >= 0; i-- {
		out = append(out, rights[i])
	}
	return out
}

// exprDepth returns the depth of e and a node at the deepest level.
func exprDepth(e expr) (int, expr) {
	var kids []expr
	switch e := e.(type) {
	case *unaryExpr:
		kids = []expr{e.X}
	case *binaryExpr:
		if e.Op == "AND" || e.Op == "OR" {
			kids = andOrOperands(e)
		} else {
			kids = []expr{e.L, e.R}
		}
	case *betweenExpr:
		kids = []expr{e.X, e.Lo, e.Hi}
	case *inExpr:
		kids = append([]expr{e.X}, e.List...)
	case *likeExpr:
		kids = []expr{e.X, e.Pattern}
	case *isNullExpr:
		kids = []expr{e.X}
	case *callExpr:
		kids = append(append(kids, e.Params...), e.Args...)
	case *caseExpr:
		if e.Operand != nil {
			kids = append(kids, e.Operand)
		}
		for _, w := range e.Whens {
			kids = append(kids, w.Cond, w.Result)
		}
		if e.Else != nil {
			kids = append(kids, e.Else)
		}
	case *extractExpr:
		kids = []expr{e.X}
	case *castExpr:
		kids = []expr{e.X}
	}
	best, at := 0, e
	for _, k := range kids {
		if d, a := exprDepth(k); d > best {
			best, at = d, a
		}
	}
	return best + 1, at
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) advance() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errTok(t token, format string, args ...any) *Error {
	return errAt(p.src, t.Pos, t.Text, format, args...)
}

func (p *parser) acceptKeyword(kw string) bool {
	if p.peek().isKeyword(kw) {
		p.advance()
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) (token, error) {
	t := p.peek()
	if !t.isKeyword(kw) {
		return t, p.unexpected(t, kw)
	}
	return p.advance(), nil
}

func (p *parser) acceptOp(op string) bool {
	if p.peek().isOp(op) {
		p.advance()
		return true
	}
	return false
}

func (p *parser) expectOp(op string) (token, error) {
	t := p.peek()
	if !t.isOp(op) {
		return t, p.unexpected(t, strconv.Quote(op))
	}
	return p.advance(), nil
}

func (p *parser) unexpected(t token, want string) *Error {
	if t.Kind == tEOF {
		return p.errTok(t, "unexpected end of input, expected %s", want)
	}
	return p.errTok(t, "unexpected %s, expected %s", t.Kind, want)
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.maxDepth > 0 && p.depth > p.maxDepth {
		return p.errTok(t, "the query nests expressions or subqueries deeper than the limit of %d levels", p.maxDepth)
	}
	p.nodes++
	if p.nodes > maxNodes {
		return p.errTok(t, "the query has more than %d expression nodes", maxNodes)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) statement() (stmt, error) {
	t := p.peek()
	var s stmt
	var err error
	switch {
	case t.isKeyword("SELECT") || t.isKeyword("WITH"):
		s, err = p.query()
	case t.isKeyword("SHOW"):
		s, err = p.showStmt()
	case t.Kind == tEOF:
		return nil, p.errTok(t, "empty query, expected SELECT or SHOW")
	case t.isOp("("):
		return nil, p.errTok(t, "a statement must start with SELECT or SHOW").hint("parenthesised statements are not supported")
	default:
		return nil, refuseStatement(p, t)
	}
	if err != nil {
		return nil, err
	}
	p.acceptOp(";")
	if t := p.peek(); t.Kind != tEOF {
		if p.toks[p.i-1].isOp(";") {
			return nil, p.errTok(t, "only one statement is allowed per query")
		}
		return nil, p.trailing(t)
	}
	return s, nil
}

// refuseStatement names statements outside the dialect.
func refuseStatement(p *parser, t token) *Error {
	if t.Kind == tIdent {
		kw := asciiUpper(t.Text)
		switch kw {
		case "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "TRUNCATE", "COPY":
			return p.errTok(t, "%s is not allowed: the SQL API only reads", kw)
		case "CREATE", "DROP", "ALTER", "RENAME", "ATTACH", "DETACH", "COMMENT", "GRANT", "REVOKE":
			return p.errTok(t, "%s is not allowed: the SQL API only reads", kw)
		case "SET", "PRAGMA", "INSTALL", "LOAD", "CALL", "EXPORT", "IMPORT", "CHECKPOINT", "VACUUM", "ANALYZE", "USE", "BEGIN", "COMMIT", "ROLLBACK", "EXECUTE", "PREPARE", "DEALLOCATE", "SYSTEM", "KILL", "OPTIMIZE", "EXPLAIN", "DESCRIBE", "DESC", "SUMMARIZE", "FROM", "WITH", "VALUES", "TABLE", "EXISTS", "CHECK", "WATCH", "UNDROP", "RESET", "DETACHED":
			return p.errTok(t, "%s statements are not supported", kw).hint("only SELECT and SHOW are allowed")
		}
	}
	return p.errTok(t, "a statement must start with SELECT or SHOW")
}

func (p *parser) trailing(t token) *Error {
	if t.Kind == tIdent {
		if msg, ok := refusedClause[asciiUpper(t.Text)]; ok {
			return p.errTok(t, "%s", msg)
		}
	}
	if t.isOp(",") {
		return p.errTok(t, "unexpected \",\"").hint("a query reads one dataset; joins and lists of tables are not supported")
	}
	return p.errTok(t, "unexpected %s after the end of the statement", t.Kind)
}

func (p *parser) showStmt() (stmt, error) {
	p.advance() // SHOW
	t := p.peek()
	s := &showStmt{}
	switch {
	case t.isKeyword("TABLES"):
		s.What = "TABLES"
	case t.isKeyword("TIMEZONES"):
		s.What = "TIMEZONES"
	case t.isKeyword("TIMEZONE"):
		s.What = "TIMEZONE"
	default:
		return nil, p.errTok(t, "unsupported SHOW statement").hint("use %s", codeList("or", "SHOW TABLES", "SHOW TIMEZONES", "SHOW TIMEZONE"))
	}
	p.advance()
	if err := p.formatClause(&s.Format, &s.FmtPos); err != nil {
		return nil, err
	}
	return s, nil
}

func (p *parser) formatClause(f *string, fpos *int) error {
	if !p.peek().isKeyword("FORMAT") {
		return nil
	}
	p.advance()
	t := p.peek()
	if t.Kind != tIdent && t.Kind != tQIdent {
		return p.unexpected(t, "a format name")
	}
	p.advance()
	name := t.Text
	if t.Kind == tQIdent {
		name = t.Val
	}
	// format names are matched ignoring ASCII case (ParseFormat)
	fm, ok := ParseFormat(name)
	if !ok {
		return p.errTok(t, "unsupported format").hint("use %s", codeList("or", formatStrings()...))
	}
	name = string(fm)
	*f, *fpos = name, t.Pos
	return nil
}

func (p *parser) selectStmt() (*selectStmt, error) {
	start := p.advance() // SELECT
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer p.leave()
	s := &selectStmt{Pos: start.Pos}
	if p.acceptKeyword("DISTINCT") {
		s.Distinct = true
		if t := p.peek(); t.isKeyword("ON") {
			return nil, p.errTok(t, "DISTINCT ON is not supported")
		}
	} else {
		p.acceptKeyword("ALL")
	}
	for {
		it, err := p.selectItem()
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, it)
		if !p.acceptOp(",") {
			break
		}
	}
	if p.acceptKeyword("FROM") {
		f, err := p.from()
		if err != nil {
			return nil, err
		}
		s.From = f
	}
	if t := p.peek(); t.Kind == tIdent {
		if msg, ok := refusedClause[asciiUpper(t.Text)]; ok {
			return nil, p.errTok(t, "%s", msg)
		}
	}
	if p.acceptKeyword("WHERE") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		s.Where = e
	}
	if t := p.peek(); t.isKeyword("GROUP") {
		p.advance()
		if _, err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		if t := p.peek(); (t.isKeyword("ROLLUP") || t.isKeyword("CUBE")) && p.peekN(1).isOp("(") {
			// GROUP BY ROLLUP(a, b): the standard spelling of WITH ROLLUP
			p.advance()
			list, err := p.parenList(p.advance())
			if err != nil {
				return nil, err
			}
			s.GroupBy, s.Rollup = list, asciiUpper(t.Text)
		} else {
			list, err := p.exprList()
			if err != nil {
				return nil, err
			}
			s.GroupBy = list
		}
	}
	for p.peek().isKeyword("WITH") {
		n := p.peekN(1)
		switch {
		case (n.isKeyword("ROLLUP") || n.isKeyword("CUBE")) && s.Rollup == "" && !s.Totals:
			if len(s.GroupBy) == 0 {
				return nil, p.errTok(n, "WITH %s needs GROUP BY", asciiUpper(n.Text))
			}
			s.Rollup = asciiUpper(n.Text)
		case n.isKeyword("TOTALS") && !s.Totals:
			s.Totals, s.TotalsP = true, n.Pos
		default:
			return nil, p.unexpected(n, "ROLLUP, CUBE or TOTALS after GROUP BY ... WITH").hint("write GROUP BY ... [WITH ROLLUP | WITH CUBE] [WITH TOTALS]")
		}
		p.advance()
		p.advance()
	}
	if p.acceptKeyword("HAVING") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		s.Having = e
	}
	if t := p.peek(); t.isKeyword("ORDER") {
		p.advance()
		if _, err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			o := &orderItem{Expr: e}
			if p.acceptKeyword("DESC") || p.acceptKeyword("DESCENDING") {
				o.Desc = true
			} else if !p.acceptKeyword("ASC") {
				p.acceptKeyword("ASCENDING")
			}
			if p.acceptKeyword("NULLS") {
				switch t := p.peek(); {
				case t.isKeyword("FIRST"):
					o.Nulls = "FIRST"
				case t.isKeyword("LAST"):
					o.Nulls = "LAST"
				default:
					return nil, p.unexpected(t, "FIRST or LAST")
				}
				p.advance()
			}
			if t := p.peek(); t.isKeyword("COLLATE") || t.isKeyword("WITH") {
				return nil, p.errTok(t, "%s in ORDER BY is not supported", strings.ToUpper(t.Text))
			}
			s.OrderBy = append(s.OrderBy, o)
			if !p.acceptOp(",") {
				break
			}
		}
	}
	if err := p.limitClauses(s); err != nil {
		return nil, err
	}
	if err := p.formatClause(&s.Format, &s.FmtPos); err != nil {
		return nil, err
	}
	if t := p.peek(); t.Kind == tIdent {
		if msg, ok := refusedClause[asciiUpper(t.Text)]; ok {
			return nil, p.errTok(t, "%s", msg)
		}
	}
	s.End = p.toks[max(p.i-1, 0)].End
	return s, nil
}

// parenList reads a list of expressions and the ")" that closes the "("
// open already read, one nesting level deeper.
func (p *parser) parenList(open token) ([]expr, error) {
	if err := p.enter(open); err != nil {
		return nil, err
	}
	list, err := p.exprList()
	p.leave()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return list, nil
}

// limitClauses reads [LIMIT n [OFFSET m] BY exprs] [LIMIT n | ALL | m, n]
// [OFFSET m [ROWS]]. LIMIT m, n BY exprs is ClickHouse's other spelling of
// LIMIT n OFFSET m BY exprs.
func (p *parser) limitClauses(s *selectStmt) error {
	for p.peek().isKeyword("LIMIT") {
		t := p.advance()
		l := &limitClause{Pos: t.Pos}
		if p.acceptKeyword("ALL") {
			l.All = true
		} else {
			n, _, err := p.count("LIMIT")
			if err != nil {
				return err
			}
			l.Count = n
			if p.acceptOp(",") { // LIMIT offset, count
				m, _, err := p.count("LIMIT")
				if err != nil {
					return err
				}
				l.HasOffset, l.Offset, l.OffsetPos, l.Count = true, n, t.Pos, m
			}
		}
		if o := p.peek(); o.isKeyword("OFFSET") && !l.HasOffset && !l.All && p.limitByAhead() {
			// LIMIT n OFFSET m BY ...
			p.advance()
			m, _, err := p.count("OFFSET")
			if err != nil {
				return err
			}
			l.HasOffset, l.Offset, l.OffsetPos = true, m, o.Pos
		}
		if b := p.peek(); b.isKeyword("BY") {
			if l.All {
				return p.errTok(b, "LIMIT ALL BY is not allowed").hint("give a number of rows, as in LIMIT 1 BY x")
			}
			if s.LimitBy != nil {
				return p.errTok(t, "LIMIT ... BY is given twice")
			}
			if s.Limit != nil {
				return p.errTok(t, "LIMIT ... BY must come before LIMIT")
			}
			p.advance()
			list, err := p.exprList()
			if err != nil {
				return err
			}
			s.LimitBy = &limitByClause{Pos: t.Pos, Count: l.Count, Offset: l.Offset, By: list}
			continue
		}
		if t := p.peek(); t.isKeyword("WITH") {
			return p.errTok(t, "LIMIT ... WITH TIES is not supported")
		}
		if s.Limit != nil {
			return p.errTok(t, "LIMIT is given twice")
		}
		s.Limit = l
	}
	if t := p.peek(); t.isKeyword("OFFSET") {
		p.advance()
		if s.Limit != nil && s.Limit.HasOffset {
			return p.errTok(t, "OFFSET given twice")
		}
		n, _, err := p.count("OFFSET")
		if err != nil {
			return err
		}
		p.acceptKeyword("ROWS")
		p.acceptKeyword("ROW")
		if s.Limit == nil {
			s.Limit = &limitClause{Pos: t.Pos, All: true}
		}
		s.Limit.HasOffset, s.Limit.Offset, s.Limit.OffsetPos = true, n, t.Pos
		if t := p.peek(); t.isKeyword("FETCH") {
			return p.errTok(t, "FETCH is not supported; use LIMIT")
		}
	}
	return nil
}

// limitByAhead says the tokens ahead are OFFSET m BY.
func (p *parser) limitByAhead() bool {
	return p.peek().isKeyword("OFFSET") && p.peekN(1).Kind == tNumber && p.peekN(2).isKeyword("BY")
}

// count reads a non-negative integer literal of LIMIT or OFFSET.
func (p *parser) count(clause string) (int64, token, error) {
	t := p.peek()
	if t.Kind != tNumber {
		return 0, t, p.unexpected(t, "a whole number after "+clause)
	}
	v, isInt, ok := parseUintLit(t.Text)
	if !ok || !isInt {
		return 0, t, p.errTok(t, "%s needs a whole number", clause)
	}
	if v > 1<<62 {
		v = 1 << 62
	}
	p.advance()
	return int64(v), t, nil
}

func (p *parser) selectItem() (*selectItem, error) {
	t := p.peek()
	if t.isOp("*") {
		p.advance()
		return &selectItem{Star: true, Pos: t.Pos}, nil
	}
	if t.Kind == tEOF || t.isKeyword("FROM") {
		return nil, p.unexpected(t, "an expression")
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	end := p.toks[p.i-1].End
	it := &selectItem{Expr: e, Pos: t.Pos, Text: strings.TrimSpace(p.src[t.Pos:end])}
	if p.acceptKeyword("AS") {
		a := p.peek()
		if a.Kind == tQIdent {
			it.Alias = a.Val
		} else if a.Kind == tIdent && !reservedWords[asciiUpper(a.Text)] {
			it.Alias = a.Text
		} else {
			return nil, p.unexpected(a, "an alias name")
		}
		it.AliasPos = a.Pos
		p.advance()
	} else if a := p.peek(); a.Kind == tQIdent || (a.Kind == tIdent && !reservedWords[asciiUpper(a.Text)]) {
		if a.Kind == tQIdent {
			it.Alias = a.Val
		} else {
			it.Alias = a.Text
		}
		it.AliasPos = a.Pos
		p.advance()
	}
	return it, nil
}

func (p *parser) from() (*fromClause, error) {
	t := p.peek()
	f := &fromClause{Pos: t.Pos}
	switch {
	case t.isOp("("):
		p.advance()
		if !isStartOfQuery(p.peek()) {
			n := p.peek()
			if n.isKeyword("FROM") || n.isKeyword("VALUES") || n.isKeyword("TABLE") {
				return nil, p.errTok(n, "a subquery in FROM must be a SELECT")
			}
			return nil, p.unexpected(n, "SELECT")
		}
		sub, err := p.nested()
		if err != nil {
			return nil, err
		}
		f.Sub = sub
	case t.Kind == tIdent || t.Kind == tQIdent:
		name := t.Text
		if t.Kind == tQIdent {
			name = t.Val
		} else if reservedWords[asciiUpper(name)] {
			return nil, p.unexpected(t, "a dataset name or a subquery")
		}
		p.advance()
		if n := p.peek(); n.isOp(".") {
			return nil, p.errTok(t, "qualified table names are not allowed").hint("name one of this project's datasets (SHOW TABLES lists them)")
		}
		if n := p.peek(); n.isOp("(") {
			return nil, p.errTok(t, "table functions are not allowed").hint("read one of this project's datasets or a subquery")
		}
		f.Table = name
	default:
		return nil, p.unexpected(t, "a dataset name or a subquery")
	}
	if p.acceptKeyword("AS") {
		a := p.peek()
		if a.Kind == tQIdent {
			f.Alias = a.Val
		} else if a.Kind == tIdent && !reservedWords[asciiUpper(a.Text)] {
			f.Alias = a.Text
		} else {
			return nil, p.unexpected(a, "an alias name")
		}
		f.AliasPos = a.Pos
		p.advance()
	} else if a := p.peek(); a.Kind == tQIdent || (a.Kind == tIdent && !reservedWords[asciiUpper(a.Text)]) {
		if a.Kind == tQIdent {
			f.Alias = a.Val
		} else {
			f.Alias = a.Text
		}
		f.AliasPos = a.Pos
		p.advance()
	}
	if t := p.peek(); t.isOp(",") {
		return nil, p.errTok(t, "unexpected \",\" in FROM").hint("a query reads one dataset; joins and lists of tables are not supported")
	}
	return f, nil
}

func (p *parser) exprList() ([]expr, error) {
	var list []expr
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.acceptOp(",") {
			return list, nil
		}
	}
}

// Precedence, lowest first: OR; AND; NOT; comparison (= != < > <= >= LIKE
// ILIKE IN BETWEEN IS); + - ||; * / %; unary minus.
func (p *parser) expr() (expr, error) {
	return p.or()
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().isKeyword("OR") {
		op := p.advance()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{P: l.pos(), OpP: op.Pos, Op: "OR", L: l, R: r}
		if err := p.count1(op); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (p *parser) count1(t token) error {
	p.nodes++
	if p.nodes > maxNodes {
		return p.errTok(t, "the query has more than %d expression nodes", maxNodes)
	}
	return nil
}

func (p *parser) and() (expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.peek().isKeyword("AND") {
		op := p.advance()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{P: l.pos(), OpP: op.Pos, Op: "AND", L: l, R: r}
		if err := p.count1(op); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (p *parser) not() (expr, error) {
	if t := p.peek(); t.isKeyword("NOT") {
		p.advance()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{P: t.Pos, Op: "NOT", X: x}, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.Kind == tOp && (t.Text == "=" || t.Text == "==" || t.Text == "!=" || t.Text == "<>" || t.Text == "<" || t.Text == ">" || t.Text == "<=" || t.Text == ">="):
		p.advance()
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		op := t.Text
		switch op {
		case "==":
			op = "="
		case "<>":
			op = "!="
		}
		return &binaryExpr{P: l.pos(), OpP: t.Pos, Op: op, L: l, R: r}, p.count1(t)
	case t.isKeyword("IS"):
		p.advance()
		not := p.acceptKeyword("NOT")
		if _, err := p.expectKeyword("NULL"); err != nil {
			return nil, err
		}
		return &isNullExpr{P: l.pos(), Not: not, X: l}, p.count1(t)
	}
	not := false
	if t.isKeyword("NOT") {
		n := p.peekN(1)
		if n.isKeyword("IN") || n.isKeyword("BETWEEN") || n.isKeyword("LIKE") || n.isKeyword("ILIKE") {
			not = true
			p.advance()
			t = p.peek()
		}
	}
	switch {
	case t.isKeyword("IN") && !(p.noIn && !not):
		p.advance()
		in := &inExpr{P: l.pos(), Not: not, X: l, OpP: t.Pos}
		if ok, err := p.inSubquery(in); err != nil {
			return nil, err
		} else if ok {
			return in, p.count1(t)
		}
		open := p.peek()
		if !open.isOp("(") {
			return nil, p.unexpected(open, "\"(\" and a list of values after IN")
		}
		p.advance()
		list, err := p.parenList(open)
		if err != nil {
			return nil, err
		}
		return &inExpr{P: l.pos(), Not: not, X: l, List: list, OpP: t.Pos}, p.count1(t)
	case t.isKeyword("BETWEEN"):
		p.advance()
		lo, err := p.additive()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectKeyword("AND"); err != nil {
			return nil, err
		}
		hi, err := p.additive()
		if err != nil {
			return nil, err
		}
		return &betweenExpr{P: l.pos(), Not: not, X: l, Lo: lo, Hi: hi, KeywordPos: t.Pos}, p.count1(t)
	case t.isKeyword("LIKE") || t.isKeyword("ILIKE"):
		p.advance()
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		if n := p.peek(); n.isKeyword("ESCAPE") {
			return nil, p.errTok(n, "LIKE ... ESCAPE is not supported; the escape character is \\")
		}
		return &likeExpr{P: l.pos(), Not: not, ILike: t.isKeyword("ILIKE"), X: l, Pattern: r, OpP: t.Pos}, p.count1(t)
	}
	return l, nil
}

func (p *parser) additive() (expr, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(t.isOp("+") || t.isOp("-") || t.isOp("||")) {
			return l, nil
		}
		p.advance()
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{P: l.pos(), OpP: t.Pos, Op: t.Text, L: l, R: r}
		if err := p.count1(t); err != nil {
			return nil, err
		}
	}
}

func (p *parser) multiplicative() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(t.isOp("*") || t.isOp("/") || t.isOp("%")) {
			return l, nil
		}
		p.advance()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{P: l.pos(), OpP: t.Pos, Op: t.Text, L: l, R: r}
		if err := p.count1(t); err != nil {
			return nil, err
		}
	}
}

func (p *parser) unary() (expr, error) {
	t := p.peek()
	if t.isOp("-") || t.isOp("+") {
		p.advance()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		if n := p.peek(); t.isOp("-") && n.Kind == tNumber && n.Pos == t.End {
			p.advance()
			return &numberLit{P: t.Pos, Text: "-" + n.Text}, nil
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if t.isOp("+") {
			return x, nil
		}
		if n, ok := x.(*numberLit); ok && !strings.HasPrefix(n.Text, "-") {
			return &numberLit{P: t.Pos, Text: "-" + n.Text}, nil
		}
		return &unaryExpr{P: t.Pos, Op: "-", X: x}, nil
	}
	return p.primary()
}

var intervalUnits = map[string]string{
	"SECOND": "SECOND", "MINUTE": "MINUTE", "HOUR": "HOUR", "DAY": "DAY", "WEEK": "WEEK",
	"MONTH": "MONTH", "QUARTER": "QUARTER", "YEAR": "YEAR",
	"SECONDS": "SECOND", "MINUTES": "MINUTE", "HOURS": "HOUR", "DAYS": "DAY", "WEEKS": "WEEK",
	"MONTHS": "MONTH", "QUARTERS": "QUARTER", "YEARS": "YEAR",
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	if err := p.count1(t); err != nil {
		return nil, err
	}
	switch t.Kind {
	case tEOF:
		return nil, p.unexpected(t, "an expression")
	case tNumber:
		p.advance()
		return &numberLit{P: t.Pos, Text: t.Text}, nil
	case tString:
		p.advance()
		return &stringLit{P: t.Pos, Val: t.Val}, nil
	case tQIdent:
		return p.identOrCall()
	case tOp:
		if t.isOp("(") {
			p.advance()
			if isStartOfQuery(p.peek()) {
				sub, err := p.nested()
				if err != nil {
					return nil, err
				}
				return &subqueryExpr{P: t.Pos, Sel: sub}, nil
			}
			if err := p.enter(t); err != nil {
				return nil, err
			}
			savedNoIn := p.noIn
			p.noIn = false
			e, err := p.expr()
			p.noIn = savedNoIn
			p.leave()
			if err != nil {
				return nil, err
			}
			if n := p.peek(); n.isOp(",") {
				return nil, p.errTok(n, "tuples are not supported")
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
		if t.isOp("*") {
			return nil, p.errTok(t, "* is only allowed as a whole select item or in count(*)")
		}
		return nil, p.unexpected(t, "an expression")
	}
	// tIdent
	switch asciiUpper(t.Text) {
	case "NULL":
		p.advance()
		return &nullLit{P: t.Pos}, nil
	case "TRUE", "FALSE":
		p.advance()
		return &boolLit{P: t.Pos, Val: t.isKeyword("TRUE")}, nil
	case "INTERVAL":
		return p.interval()
	case "CASE":
		return p.caseExpr()
	case "SELECT", "WITH":
		return nil, p.errTok(t, "a subquery in an expression must be in parentheses").hint("write (SELECT ...)")
	case "EXISTS":
		if p.peekN(1).isOp("(") {
			return nil, p.errTok(t, "EXISTS is not supported").hint("compare a count instead: (SELECT count() FROM ... WHERE ...) > 0")
		}
	case "ARRAY":
		return nil, p.errTok(t, "arrays literals are not supported")
	}
	if reservedWords[asciiUpper(t.Text)] {
		// a few function names are also keywords: format(...)
		if _, isFn := fnDefs[asciiLower(t.Text)]; !isFn || !p.peekN(1).isOp("(") {
			return nil, p.unexpected(t, "an expression")
		}
	}
	return p.identOrCall()
}

func (p *parser) interval() (expr, error) {
	start := p.advance() // INTERVAL
	t := p.peek()
	neg := false
	if t.isOp("-") {
		neg = true
		p.advance()
		t = p.peek()
	}
	var numText string
	unit := ""
	switch t.Kind {
	case tNumber:
		numText = t.Text
	case tString:
		f := strings.Fields(t.Val)
		if len(f) == 0 || len(f) > 2 {
			return nil, p.errTok(t, "malformed interval %s", quoteStringCanon(t.Val)).hint("write %s", codeList("or", "INTERVAL '42' DAY", "INTERVAL 42 DAY"))
		}
		numText = f[0]
		if strings.HasPrefix(numText, "-") {
			neg = !neg
			numText = numText[1:]
		}
		if len(f) == 2 {
			u, ok := intervalUnits[asciiUpper(f[1])]
			if !ok {
				return nil, p.errTok(t, "unknown interval unit %q", f[1]).hint("use %s", codeList("or", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"))
			}
			unit = u
		}
	default:
		return nil, p.unexpected(t, "a number or a quoted number after INTERVAL")
	}
	n, err := strconv.ParseInt(numText, 10, 64)
	if err != nil || n > 1<<40 {
		return nil, p.errTok(t, "an interval needs a whole number of units no larger than %d", int64(1)<<40)
	}
	p.advance()
	if unit == "" {
		u := p.peek()
		v, ok := intervalUnits[asciiUpper(u.Text)]
		if u.Kind != tIdent || !ok {
			return nil, p.unexpected(u, "an interval unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR)")
		}
		p.advance()
		unit = v
	}
	if neg {
		n = -n
	}
	return &intervalLit{P: start.Pos, N: n, Unit: unit}, nil
}

func (p *parser) caseExpr() (expr, error) {
	start := p.advance() // CASE
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer p.leave()
	c := &caseExpr{P: start.Pos}
	if !p.peek().isKeyword("WHEN") {
		op, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Operand = op
	}
	for p.acceptKeyword("WHEN") {
		cond, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectKeyword("THEN"); err != nil {
			return nil, err
		}
		res, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, whenClause{cond, res})
	}
	if len(c.Whens) == 0 {
		return nil, p.unexpected(p.peek(), "WHEN")
	}
	if p.acceptKeyword("ELSE") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.Else = e
	}
	if _, err := p.expectKeyword("END"); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) identOrCall() (expr, error) {
	t := p.advance()
	name := t.Text
	if t.Kind == tQIdent {
		name = t.Val
	}
	if p.peek().isOp("(") && t.Kind == tIdent {
		return p.call(t)
	}
	if p.peek().isOp(".") {
		p.advance()
		n := p.peek()
		if n.Kind != tIdent && n.Kind != tQIdent {
			if n.isOp("*") {
				return nil, p.errTok(n, "qualified * is not supported; use SELECT *")
			}
			return nil, p.unexpected(n, "a column name after \".\"")
		}
		p.advance()
		if p.peek().isOp(".") || p.peek().isOp("(") {
			return nil, p.errTok(t, "qualified names are not allowed").hint("name a column, or qualify it with the table's alias")
		}
		col := n.Text
		if n.Kind == tQIdent {
			col = n.Val
		}
		return &identExpr{P: t.Pos, E: n.End, Parts: []string{name, col}}, nil
	}
	return &identExpr{P: t.Pos, E: t.End, Parts: []string{name}}, nil
}

func (p *parser) call(name token) (expr, error) {
	open := p.advance() // (
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer p.leave()
	c := &callExpr{P: name.Pos, Name: name.Text}
	savedNoIn := p.noIn
	p.noIn = false
	defer func() { p.noIn = savedNoIn }()
	lname := asciiLower(name.Text)
	switch lname {
	case "extract":
		// extract(UNIT FROM t), else ClickHouse's extract(haystack, pattern)
		if u := p.peek(); u.Kind == tIdent && p.peekN(1).isKeyword("FROM") {
			return p.extract(name)
		}
	case "cast":
		return p.cast(name)
	case "position", "locate":
		// position(needle IN haystack) or position(haystack, needle)
		if p.peek().isOp(")") {
			break
		}
		saved := p.noIn
		p.noIn = true
		first, err := p.expr()
		p.noIn = saved
		if err != nil {
			return nil, err
		}
		if p.acceptKeyword("IN") {
			hay, err := p.expr()
			if err != nil {
				return nil, err
			}
			end, err := p.expectOp(")")
			if err != nil {
				return nil, err
			}
			c.Args, c.End = []expr{hay, first}, end.End
			return c, nil
		}
		c.Args = append(c.Args, first)
		if p.acceptOp(",") {
			rest, err := p.exprList()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, rest...)
		}
		end, err := p.expectOp(")")
		if err != nil {
			return nil, err
		}
		c.End = end.End
		return c, nil
	}
	args, distinct, star, err := p.callArgs()
	if err != nil {
		return nil, err
	}
	end := p.toks[p.i-1]
	if p.peek().isOp("(") {
		// parametric aggregate: name(params)(args)
		if distinct || star {
			return nil, p.errTok(p.peek(), "unexpected \"(\"")
		}
		p.advance()
		c.HasParams, c.Params = true, args
		args, distinct, star, err = p.callArgs()
		if err != nil {
			return nil, err
		}
		end = p.toks[p.i-1]
		if n := p.peek(); n.isOp("(") {
			return nil, p.errTok(n, "unexpected \"(\"")
		}
	}
	c.Args, c.Distinct, c.Star, c.End = args, distinct, star, end.End
	if n := p.peek(); n.isKeyword("OVER") {
		return nil, p.errTok(n, "window functions are not supported")
	}
	if n := p.peek(); n.isKeyword("FILTER") {
		return nil, p.errTok(n, "FILTER is not supported; use the -If aggregate functions (countIf, sumIf, ...)")
	}
	return c, nil
}

// callArgs reads arguments up to and including ")".
func (p *parser) callArgs() (args []expr, distinct, star bool, err error) {
	if t := p.peek(); t.isOp(")") {
		p.advance()
		return nil, false, false, nil
	}
	if p.acceptKeyword("DISTINCT") {
		distinct = true
	} else {
		p.acceptKeyword("ALL")
	}
	if t := p.peek(); t.isOp("*") && p.peekN(1).isOp(")") {
		p.advance()
		p.advance()
		return nil, distinct, true, nil
	}
	if t := p.peek(); isStartOfQuery(t) {
		return nil, false, false, p.errTok(t, "a subquery as an argument must be in parentheses").hint("write f((SELECT ...))")
	}
	args, err = p.exprList()
	if err != nil {
		return nil, false, false, err
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, false, false, err
	}
	return args, distinct, false, nil
}

func (p *parser) extract(name token) (expr, error) {
	u := p.peek()
	unit := asciiUpper(u.Text)
	switch unit {
	case "YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND":
	default:
		if u.Kind == tIdent {
			return nil, p.errTok(u, "unsupported unit for extract").hint("use %s", codeList("or", "YEAR", "QUARTER", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"))
		}
		return nil, p.unexpected(u, "a time unit")
	}
	if u.Kind != tIdent {
		return nil, p.unexpected(u, "a time unit")
	}
	p.advance()
	if _, err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return &extractExpr{P: name.Pos, Unit: unit, UnitPos: u.Pos, X: x}, nil
}

func (p *parser) cast(name token) (expr, error) {
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectKeyword("AS"); err != nil {
		return nil, err
	}
	t := p.peek()
	if t.Kind != tIdent && t.Kind != tQIdent {
		return nil, p.unexpected(t, "a type name")
	}
	p.advance()
	typ := t.Text
	if t.Kind == tQIdent {
		typ = t.Val
	}
	if n := p.peek(); n.isOp("(") {
		return nil, p.errTok(n, "parametrised types are not supported in CAST")
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return &castExpr{P: name.Pos, X: x, Type: typ, TypePos: t.Pos}, nil
}
