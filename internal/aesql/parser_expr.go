package aesql

// Expressions: operators by precedence, literals, INTERVAL, CASE, names
// and calls (with extract, CAST and position's special forms).

import (
	"strconv"
	"strings"
)

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
