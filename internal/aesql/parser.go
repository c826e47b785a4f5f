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
