package aesql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The IR is the analysed statement: names resolved to columns of one
// source, every function resolved to an allowlisted ClickHouse function
// (its canonical name is the IR's function id), every node typed. It is
// independent of the backend; printers (print_duckdb.go) turn it into SQL.

type irExpr interface {
	typ() chType
	at() int // byte offset in the user's text, for errors
}

// colRef is a column of the query's FROM source.
type colRef struct {
	p   int
	tok string
	src *sourceIR
	col string // dataset sources: the canonical AE column (blob1, timestamp, ...)
	idx int    // subquery sources: the output column's index
	t   chType
}

// constant is a literal value. v is nil (NULL), bool, uint64, int64,
// float64, string, time.Time (Date, DateTime; UTC) or, for intervals, the
// int64 count of units.
type constant struct {
	p   int
	tok string
	t   chType
	v   any
}

// call is a function or operator application. fn is the canonical
// ClickHouse name (plus, equals, toStartOfWeek, quantileExactWeighted, ...).
type call struct {
	p        int
	tok      string
	fn       string
	args     []irExpr
	params   []constant // parametric aggregates: quantile(0.5)(x)
	distinct bool
	agg      bool
	t        chType
	fmt      []fmtPiece // formatDateTime
	order    []orderIR  // first_value/last_value: the query's ORDER BY, applied to the rows aggregated
	tz       string     // date functions: the time zone they compute in ("" is UTC); _fromLocal: the zone of its wall clock time
}

func (c *colRef) typ() chType   { return c.t }
func (c *constant) typ() chType { return c.t }
func (c *call) typ() chType     { return c.t }
func (c *colRef) at() int       { return c.p }
func (c *constant) at() int     { return c.p }
func (c *call) at() int         { return c.p }

// fmtPiece is a part of a formatDateTime pattern: literal text, or a
// ClickHouse format specifier (the letter after %).
type fmtPiece struct {
	lit  string
	spec byte
}

// queryIR is an analysed SELECT.
type queryIR struct {
	distinct   bool
	items      []outItem
	src        *sourceIR // nil without FROM
	where      irExpr
	groupBy    []irExpr
	having     irExpr
	orderBy    []orderIR
	limit      int64 // -1: none
	offset     int64
	aggregated bool
	limitBy    *limitByIR
	rollup     string // "ROLLUP", "CUBE" or ""
	totals     bool   // GROUP BY ... WITH TOTALS
	// groupsOf, set on the query that computes a totals row, restricts
	// its rows to those of the groups of groupsOf that pass its HAVING.
	groupsOf *queryIR
}

// limitByIR is LIMIT n OFFSET m BY exprs: at most n rows, after the first
// m, of each distinct value of exprs, in the query's order.
type limitByIR struct {
	n, offset int64
	by        []irExpr
}

type outItem struct {
	e    irExpr
	name string
}

type orderIR struct {
	e     irExpr
	desc  bool
	nulls string // "", FIRST, LAST
	item  int    // index of the select item the expression equals, or -1
}

// sourceIR is the FROM of a query: one of the project's datasets, or a
// subquery.
type sourceIR struct {
	id      int // unique per statement; printed as the alias t<id>
	dataset string
	pos     int
	tok     string
	sub     *queryIR
}

// key renders an expression canonically, to compare expressions
// (GROUP BY keys, ORDER BY against select items).
func key(e irExpr) string {
	var b strings.Builder
	writeKey(&b, e)
	return b.String()
}

func writeKey(b *strings.Builder, e irExpr) {
	switch e := e.(type) {
	case *colRef:
		if e.src.sub != nil {
			fmt.Fprintf(b, "$%d.%d", e.src.id, e.idx)
		} else {
			fmt.Fprintf(b, "$%d.%s", e.src.id, e.col)
		}
	case *subquery:
		// each analysed subquery is its own value (no two compare equal)
		fmt.Fprintf(b, "$q%d", e.src.id)
	case *constant:
		b.WriteString(e.t.String())
		b.WriteByte(':')
		b.WriteString(constText(e))
	case *call:
		b.WriteString(e.fn)
		if e.tz != "" {
			b.WriteString("@" + e.tz)
		}
		if e.distinct {
			b.WriteString("~d")
		}
		if len(e.params) > 0 {
			b.WriteByte('[')
			for i := range e.params {
				if i > 0 {
					b.WriteByte(',')
				}
				writeKey(b, &e.params[i])
			}
			b.WriteByte(']')
		}
		for _, f := range e.fmt {
			if f.spec != 0 {
				b.WriteString("%" + string(f.spec))
			} else {
				b.WriteString(strconv.Quote(f.lit))
			}
		}
		b.WriteByte('(')
		for i, a := range e.args {
			if i > 0 {
				b.WriteByte(',')
			}
			writeKey(b, a)
		}
		b.WriteByte(')')
	}
}

func constText(c *constant) string {
	switch v := c.v.(type) {
	case nil:
		return "NULL"
	case bool:
		return strconv.FormatBool(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if math.IsNaN(v) {
			return "nan"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return strconv.Quote(v)
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04:05")
	}
	return fmt.Sprint(c.v)
}

// walk visits e and its arguments, depth first; f returns false to stop
// descending.
func walk(e irExpr, f func(irExpr) bool) {
	if !f(e) {
		return
	}
	if c, ok := e.(*call); ok {
		for _, a := range c.args {
			walk(a, f)
		}
	}
}

func containsAgg(e irExpr) (found *call) {
	walk(e, func(x irExpr) bool {
		if found != nil {
			return false
		}
		if c, ok := x.(*call); ok && c.agg {
			found = c
			return false
		}
		return true
	})
	return found
}
