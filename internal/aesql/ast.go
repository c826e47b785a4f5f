package aesql

import (
	"strconv"
	"strings"
)

// The AST is what the parser understands of the user's text, before names
// and types are resolved. Every node keeps the byte offset of its first
// token for error messages. String renders a canonical, fully
// parenthesised form that parses back to the same tree.

// stmt is a parsed statement: *selectStmt or *showStmt.
type stmt interface{ stmtNode() }

// showStmt is SHOW TABLES | SHOW TIMEZONES | SHOW TIMEZONE.
type showStmt struct {
	What   string // "TABLES", "TIMEZONES", "TIMEZONE"
	Format string
	FmtPos int
}

func (*showStmt) stmtNode()   {}
func (*selectStmt) stmtNode() {}

type selectStmt struct {
	With     []*withItem // WITH ... before SELECT (subquery.go)
	Pos      int
	End      int // offset just past the statement's last token
	Distinct bool
	Items    []*selectItem
	From     *fromClause // nil without FROM
	Where    expr
	GroupBy  []expr
	Rollup   string // GROUP BY ... WITH ROLLUP or WITH CUBE: "ROLLUP", "CUBE"; ""
	Totals   bool   // GROUP BY ... WITH TOTALS
	TotalsP  int    // position of TOTALS
	Having   expr
	OrderBy  []*orderItem
	LimitBy  *limitByClause
	Limit    *limitClause
	Format   string // as written; "" when absent
	FmtPos   int
}

type selectItem struct {
	Star     bool // SELECT *
	Expr     expr
	Alias    string
	AliasPos int
	Text     string // the source text of Expr, the column name without an alias
	Pos      int
}

type fromClause struct {
	Pos      int
	Table    string // dataset name (nil Sub)
	Sub      *selectStmt
	Alias    string
	AliasPos int
}

type orderItem struct {
	Expr  expr
	Desc  bool
	Nulls string // "", "FIRST", "LAST"
}

type limitClause struct {
	Pos       int
	All       bool  // LIMIT ALL
	Count     int64 // when !All
	HasOffset bool
	Offset    int64
	OffsetPos int
}

// limitByClause is LIMIT n [OFFSET m] BY exprs (also LIMIT m, n BY exprs).
type limitByClause struct {
	Pos    int
	Count  int64
	Offset int64
	By     []expr
}

// expr is an expression node.
type expr interface {
	pos() int
	String() string
}

type identExpr struct {
	P     int
	E     int      // offset just past the identifier
	Parts []string // one part, or qualifier and name
}

type numberLit struct {
	P    int
	Text string // as written, with a leading '-' when folded from unary minus
}

type stringLit struct {
	P   int
	Val string
}

type boolLit struct {
	P   int
	Val bool
}

type nullLit struct{ P int }

type intervalLit struct {
	P    int
	N    int64
	Unit string // SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR
}

type unaryExpr struct {
	P  int
	Op string // "-" or "NOT"
	X  expr
}

type binaryExpr struct {
	P    int // position of the left operand
	OpP  int // position of the operator
	Op   string
	L, R expr
}

type betweenExpr struct {
	P          int
	Not        bool
	X, Lo, Hi  expr
	KeywordPos int
}

type inExpr struct {
	P     int
	Not   bool
	X     expr
	List  []expr
	OpP   int
	Sub   *selectStmt // x IN (SELECT ...); List is nil
	Table string      // x IN name (a common table expression); List is nil
	TPos  int
}

type likeExpr struct {
	P          int
	Not, ILike bool
	X, Pattern expr
	OpP        int
}

type isNullExpr struct {
	P   int
	Not bool
	X   expr
}

type callExpr struct {
	P         int
	Name      string // as written
	HasParams bool   // name(params)(args)
	Params    []expr
	Args      []expr
	Distinct  bool // count(DISTINCT x)
	Star      bool // count(*)
	End       int
}

type caseExpr struct {
	P       int
	Operand expr // CASE x WHEN ...; nil for searched CASE
	Whens   []whenClause
	Else    expr
}

type whenClause struct{ Cond, Result expr }

// extractExpr is extract(UNIT FROM x).
type extractExpr struct {
	P       int
	Unit    string
	UnitPos int
	X       expr
}

// castExpr is CAST(x AS Type).
type castExpr struct {
	P       int
	X       expr
	Type    string
	TypePos int
}

func (e *identExpr) pos() int   { return e.P }
func (e *numberLit) pos() int   { return e.P }
func (e *stringLit) pos() int   { return e.P }
func (e *boolLit) pos() int     { return e.P }
func (e *nullLit) pos() int     { return e.P }
func (e *intervalLit) pos() int { return e.P }
func (e *unaryExpr) pos() int   { return e.P }
func (e *binaryExpr) pos() int  { return e.P }
func (e *betweenExpr) pos() int { return e.P }
func (e *inExpr) pos() int      { return e.P }
func (e *likeExpr) pos() int    { return e.P }
func (e *isNullExpr) pos() int  { return e.P }
func (e *callExpr) pos() int    { return e.P }
func (e *caseExpr) pos() int    { return e.P }
func (e *extractExpr) pos() int { return e.P }
func (e *castExpr) pos() int    { return e.P }

// quoteIdentCanon renders an identifier so that it lexes back to itself.
func quoteIdentCanon(s string) string {
	if s != "" && !reservedWords[asciiUpper(s)] {
		ok := true
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')) {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
	}
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// quoteStringCanon renders a string literal that lexes back to s.
func quoteStringCanon(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\0`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\x`)
				b.WriteByte("0123456789ABCDEF"[c>>4])
				b.WriteByte("0123456789ABCDEF"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func (e *identExpr) String() string {
	parts := make([]string, len(e.Parts))
	for i, p := range e.Parts {
		parts[i] = quoteIdentCanon(p)
	}
	return strings.Join(parts, ".")
}
func (e *numberLit) String() string { return e.Text }
func (e *stringLit) String() string { return quoteStringCanon(e.Val) }
func (e *boolLit) String() string {
	if e.Val {
		return "true"
	}
	return "false"
}
func (e *nullLit) String() string { return "NULL" }
func (e *intervalLit) String() string {
	return "INTERVAL " + strconv.FormatInt(e.N, 10) + " " + e.Unit
}
func (e *unaryExpr) String() string {
	if e.Op == "NOT" {
		return "(NOT " + e.X.String() + ")"
	}
	return "(- " + e.X.String() + ")"
}
func (e *binaryExpr) String() string {
	return "(" + e.L.String() + " " + e.Op + " " + e.R.String() + ")"
}
func (e *betweenExpr) String() string {
	not := ""
	if e.Not {
		not = "NOT "
	}
	return "(" + e.X.String() + " " + not + "BETWEEN " + e.Lo.String() + " AND " + e.Hi.String() + ")"
}
func (e *inExpr) String() string {
	not := ""
	if e.Not {
		not = "NOT "
	}
	switch {
	case e.Sub != nil:
		return "(" + e.X.String() + " " + not + "IN (" + e.Sub.String() + "))"
	case e.Table != "":
		return "(" + e.X.String() + " " + not + "IN " + quoteIdentCanon(e.Table) + ")"
	}
	return "(" + e.X.String() + " " + not + "IN (" + joinExprs(e.List) + "))"
}
func (e *likeExpr) String() string {
	op := "LIKE"
	if e.ILike {
		op = "ILIKE"
	}
	if e.Not {
		op = "NOT " + op
	}
	return "(" + e.X.String() + " " + op + " " + e.Pattern.String() + ")"
}
func (e *isNullExpr) String() string {
	if e.Not {
		return "(" + e.X.String() + " IS NOT NULL)"
	}
	return "(" + e.X.String() + " IS NULL)"
}
func (e *callExpr) String() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.HasParams {
		b.WriteString("(" + joinExprs(e.Params) + ")")
	}
	b.WriteString("(")
	if e.Distinct {
		b.WriteString("DISTINCT ")
	}
	if e.Star {
		b.WriteString("*")
	}
	b.WriteString(joinExprs(e.Args))
	b.WriteString(")")
	return b.String()
}
func (e *caseExpr) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	if e.Operand != nil {
		b.WriteString(" " + e.Operand.String())
	}
	for _, w := range e.Whens {
		b.WriteString(" WHEN " + w.Cond.String() + " THEN " + w.Result.String())
	}
	if e.Else != nil {
		b.WriteString(" ELSE " + e.Else.String())
	}
	b.WriteString(" END")
	return b.String()
}
func (e *extractExpr) String() string {
	return "extract(" + e.Unit + " FROM " + e.X.String() + ")"
}
func (e *castExpr) String() string {
	return "CAST(" + e.X.String() + " AS " + e.Type + ")"
}

func joinExprs(es []expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func (s *showStmt) String() string {
	out := "SHOW " + s.What
	if s.Format != "" {
		out += " FORMAT " + s.Format
	}
	return out
}

func (s *selectStmt) String() string {
	var b strings.Builder
	writeWith(&b, s.With)
	b.WriteString("SELECT ")
	if s.Distinct {
		b.WriteString("DISTINCT ")
	}
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		if it.Star {
			b.WriteString("*")
			continue
		}
		b.WriteString(it.Expr.String())
		if it.Alias != "" {
			b.WriteString(" AS " + quoteIdentCanon(it.Alias))
		}
	}
	if s.From != nil {
		b.WriteString(" FROM ")
		if s.From.Sub != nil {
			b.WriteString("(" + s.From.Sub.String() + ")")
		} else {
			b.WriteString(quoteIdentCanon(s.From.Table))
		}
		if s.From.Alias != "" {
			b.WriteString(" AS " + quoteIdentCanon(s.From.Alias))
		}
	}
	if s.Where != nil {
		b.WriteString(" WHERE " + s.Where.String())
	}
	if len(s.GroupBy) > 0 {
		b.WriteString(" GROUP BY " + joinExprs(s.GroupBy))
		if s.Rollup != "" {
			b.WriteString(" WITH " + s.Rollup)
		}
	}
	if s.Totals {
		b.WriteString(" WITH TOTALS")
	}
	if s.Having != nil {
		b.WriteString(" HAVING " + s.Having.String())
	}
	if len(s.OrderBy) > 0 {
		b.WriteString(" ORDER BY ")
		for i, o := range s.OrderBy {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(o.Expr.String())
			if o.Desc {
				b.WriteString(" DESC")
			}
			if o.Nulls != "" {
				b.WriteString(" NULLS " + o.Nulls)
			}
		}
	}
	if l := s.LimitBy; l != nil {
		b.WriteString(" LIMIT " + strconv.FormatInt(l.Count, 10))
		if l.Offset > 0 {
			b.WriteString(" OFFSET " + strconv.FormatInt(l.Offset, 10))
		}
		b.WriteString(" BY " + joinExprs(l.By))
	}
	if s.Limit != nil {
		if s.Limit.All {
			b.WriteString(" LIMIT ALL")
		} else {
			b.WriteString(" LIMIT " + strconv.FormatInt(s.Limit.Count, 10))
		}
		if s.Limit.HasOffset {
			b.WriteString(" OFFSET " + strconv.FormatInt(s.Limit.Offset, 10))
		}
	}
	if s.Format != "" {
		b.WriteString(" FORMAT " + s.Format)
	}
	return b.String()
}

func stmtString(s stmt) string {
	switch s := s.(type) {
	case *selectStmt:
		return s.String()
	case *showStmt:
		return s.String()
	}
	return ""
}
