package aesql

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// This file holds the ClickHouse printer's emulations of what 18.16 does
// differently from the dialect (api.go): hex and bin of signed integers
// and floats, bitCount and bitHammingDistance (18.16 lacks them), round
// half to even, three-valued AND/OR, the merging of -0 and 0 as GROUP BY
// keys; and the bound on the printed SQL's size.

// checkLen refuses a statement whose printed SQL (n bytes so far) would be
// longer than maxSQLBytes, naming the innermost call being printed (or the
// statement's first token). Every place that joins printed parts checks
// the sum as it goes (chParts), so a short query that repeats a long
// alias cannot build a huge string before the check.
func (p *chPrinter) checkLen(n int) {
	if n <= maxSQLBytes {
		return
	}
	pos, tok := p.pos, p.tok
	if tok == "" {
		pos, tok = firstToken(p.src)
	}
	panic(printError{errAt(p.src, pos, tok, "the query is too complex: its backend SQL would be longer than %d bytes", maxSQLBytes).
		hint("nest fewer functions, or reuse fewer aliases")})
}

// firstToken is the offset and text of the statement's first word (or
// character), for errors about the statement as a whole.
func firstToken(src string) (int, string) {
	i := strings.IndexFunc(src, func(r rune) bool { return !unicode.IsSpace(r) })
	if i < 0 {
		return 0, ""
	}
	j := i
	for j < len(src) && (isIdentByte(src[j])) {
		j++
	}
	if j == i {
		j = i + 1
	}
	return i, src[i:j]
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// chParts collects printed parts that are joined into one string, with
// their total length.
type chParts struct {
	n     int
	parts []string
}

// add appends s to ps, refusing the statement as soon as the parts are
// longer than the bound.
func (p *chPrinter) add(ps *chParts, s string) {
	ps.n += len(s) + 2
	p.checkLen(ps.n)
	ps.parts = append(ps.parts, s)
}

// concat prints the parts as one string expression: the empty string for none, the
// part itself for one, concat(…) for more.
func (ps *chParts) concat() string {
	switch len(ps.parts) {
	case 0:
		return "''"
	case 1:
		return ps.parts[0]
	}
	return "concat(" + strings.Join(ps.parts, ", ") + ")"
}

// bind prints body with x bound to a lambda parameter, so that a body
// using its value several times prints x once: arrayMap(_vN -> body,
// [x])[1]. body must read no column (18.16 does not see the columns a
// lambda captures when it prunes a subquery's columns). N is one more than the highest parameter in x, so that a
// lambda never shadows one inside its argument, and the same expression
// always prints the same text (ClickHouse matches GROUP BY keys by text).
func (p *chPrinter) bind(x string, body func(v string) string) string {
	v := lambdaParam(x)
	return "arrayMap(" + v + " -> " + body(v) + ", [" + x + "])[1]"
}

// lambdaParam is a parameter name not used by the lambdas of s.
func lambdaParam(s string) string {
	next := 0
	for i := 0; ; {
		j := strings.Index(s[i:], "_v")
		if j < 0 {
			break
		}
		i += j + 2
		k := i
		for k < len(s) && k-i < 6 && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > i {
			n, _ := strconv.Atoi(s[i:k])
			next = max(next, n+1)
		}
	}
	return "_v" + strconv.Itoa(next)
}

// notNull prints f of x's value, and NULL where x is NULL: the array and
// lambda functions that some emulations use refuse Nullable arguments.
func (p *chPrinter) notNull(x irExpr, f func(v string) string) string {
	if !x.typ().nullable {
		return f(p.raw(x))
	}
	return p.bind(p.raw(x), func(v string) string {
		return "if(isNull(" + v + "), NULL, " + f("assumeNotNull("+v+")") + ")"
	})
}

// kleene prints AND/OR with NULL operands in three-valued logic, as
// DuckDB and current ClickHouse do (18.16 answers 0 OR NULL with 0 and
// NULL AND 0 with NULL). Each operand maps to 0 (false), 1 (NULL) or 2
// (true); OR is their greatest, AND their least; each operand is printed
// once.
func (p *chPrinter) kleene(c *call) string {
	fn := "greatest"
	if c.fn == "and" {
		fn = "least"
	}
	var ps chParts
	for _, x := range c.args {
		if x.typ().k == kNothing {
			p.add(&ps, "1")
			continue
		}
		p.add(&ps, "ifNull(("+p.raw(x)+" != 0) * 2, 1)")
	}
	m := ps.parts[0]
	for _, s := range ps.parts[1:] {
		m = fn + "(" + m + ", " + s + ")"
	}
	return "[0, NULL, 1][" + m + " + 1]"
}

// round prints round(x[, n]): on Float64, x scaled by 10^n and rounded
// half to even (18.16's round takes exact halves away from zero; current
// ClickHouse and the DuckDB backend take them to even), then scaled back,
// as the DuckDB backend does; integers as ClickHouse's round.
func (p *chPrinter) round(c *call) string {
	if !c.t.isFloat() {
		return p.fn("round", c.args)
	}
	n := int64(0)
	if len(c.args) == 2 {
		n, _ = constInt(*c.args[1].(*constant))
	}
	v := p.raw(c.args[0])
	s := chFloat(math.Pow(10, math.Abs(float64(n))))
	switch {
	case n > 0:
		v = "(" + v + " * " + s + ")"
	case n < 0:
		v = "(" + v + " / " + s + ")"
	}
	even := p.bind(v, func(y string) string {
		return "if(abs(" + y + " - trunc(" + y + ")) = 0.5, 2 * round(" + y + " / 2), round(" + y + "))"
	})
	switch {
	case n > 0:
		return "(" + even + " / " + s + ")"
	case n < 0:
		return "(" + even + " * " + s + ")"
	}
	return even
}

// floatKeys are the keys of q's Float64 GROUP BY expressions. ClickHouse
// keeps -0 and 0 apart as keys (trunc(-0.5) is -0); DuckDB and the
// dialect merge them, so the printer groups by x + 0. (which is 0 for
// both) and prints the key so outside aggregates too.
func floatKeys(q *queryIR) map[string]bool {
	var keys map[string]bool
	for _, g := range q.groupBy {
		if _, ok := g.(*constant); ok || !g.typ().isFloat() {
			continue
		}
		if keys == nil {
			keys = map[string]bool{}
		}
		keys[key(g)] = true
	}
	return keys
}

// unsignedOf prints v (of integer or Bool type t) as the unsigned integer
// of its width, as two's complement: what hex, bin and bitCount read.
func unsignedOf(v string, t chType) (string, int) {
	switch {
	case t.k == kBool:
		return "toUInt8(" + v + ")", 8
	case t.isSigned():
		return "toUInt" + strconv.Itoa(t.bits()) + "(" + v + ")", t.bits()
	}
	return v, t.bits()
}

// floatBits prints the IEEE 754 bits of a Float64 as a UInt64.
func floatBits(v string) string {
	return "reinterpretAsUInt64(reinterpretAsString(" + v + "))"
}

// encode prints hex and bin as the dialect defines them (api.go): strings
// byte by byte, integers without leading zero bytes (signed ones as their
// two's complement: 18.16's hex takes only unsigned integers), Date and
// DateTime as their day and second numbers, Float64 as its 8 bytes in
// memory order. 18.16 has no bin: it is spelt from hex, 4 binary digits
// a hex digit.
func (p *chPrinter) encode(c *call) string {
	x := c.args[0]
	t := x.typ()
	if t.k == kNothing {
		return "NULL"
	}
	hex := func(v string) string {
		switch {
		case t.isFloat():
			// reinterpretAsString drops the trailing zero bytes
			return p.bind("hex(reinterpretAsString("+v+"))", func(h string) string {
				return "concat(" + h + ", substring('0000000000000000', 1, 16 - length(" + h + ")))"
			})
		case t.isInt() || t.k == kBool:
			u, _ := unsignedOf(v, t.notNull())
			return "hex(" + u + ")"
		}
		return "hex(" + v + ")"
	}
	if c.fn == "hex" {
		return hex(p.raw(x))
	}
	return p.notNull(x, func(v string) string {
		c := lambdaParam(v)
		return "arrayStringConcat(arrayMap(" + c + " -> " + chNibbles + "[position('0123456789ABCDEF', " + c + ")], extractAll(" + hex(v) + ", '.')))"
	})
}

// chNibbles are the binary digits of the hex digits 0..F.
const chNibbles = "['0000', '0001', '0010', '0011', '0100', '0101', '0110', '0111', '1000', '1001', '1010', '1011', '1100', '1101', '1110', '1111']"

// bitCount counts the bits of x's value in memory (a Float64's IEEE 754
// bits, a signed integer's two's complement): 18.16 lacks bitCount.
func (p *chPrinter) bitCount(x irExpr) string {
	if x.typ().k == kNothing {
		return "NULL"
	}
	return p.countOf(p.raw(x), x.typ())
}

// countOf prints bitCount of v, of type t.
func (p *chPrinter) countOf(v string, t chType) string {
	count := func(v string) string {
		if t.isFloat() {
			return p.countBits(floatBits(v))
		}
		u, _ := unsignedOf(v, t.notNull())
		return p.countBits(u)
	}
	if !t.nullable {
		return count(v)
	}
	return p.bind(v, func(y string) string {
		return "if(isNull(" + y + "), NULL, " + count("assumeNotNull("+y+")") + ")"
	})
}

// countBits prints the number of bits set in the unsigned integer u (of
// at most 64 bits), as UInt8: the SWAR population count on UInt64 (two
// bits, four, eight, then the sum of the bytes in the top byte of a
// product), through bind, so that u is printed once. (A lambda over
// range(64) that reads u would be shorter, but 18.16 does not see the
// columns a lambda captures when it prunes a subquery's columns.)
func (p *chPrinter) countBits(u string) string {
	return p.bind("toUInt64("+u+")", func(v string) string {
		x1 := "toUInt64(" + v + " - bitAnd(bitShiftRight(" + v + ", 1), 6148914691236517205))"
		x2 := "(bitAnd(" + x1 + ", 3689348814741910323) + bitAnd(bitShiftRight(" + x1 + ", 2), 3689348814741910323))"
		x3 := "bitAnd(" + x2 + " + bitShiftRight(" + x2 + ", 4), 1085102592571150095)"
		return "toUInt8(bitShiftRight(" + x3 + " * 72340172838076673, 56))"
	})
}

// hammingDistance counts the bits that differ between two integers, both
// taken as the wider of their types (signed if either is), as the DuckDB
// backend does.
func (p *chPrinter) hammingDistance(c *call) string {
	a, b := c.args[0], c.args[1]
	if a.typ().k == kNothing || b.typ().k == kNothing {
		return "NULL"
	}
	l, r := bitOperandType(a.typ()), bitOperandType(b.typ())
	t := intType(l.isSigned() || r.isSigned(), max(l.bits(), r.bits()))
	to := "to" + t.String()
	return p.countOf("bitXor("+to+"("+p.raw(a)+"), "+to+"("+p.raw(b)+"))", t.withNull(c.t.nullable))
}

// limitByOffset prints q, which has LIMIT n OFFSET m BY keys, for a
// server without it (18.16's LIMIT BY has no offset; window functions,
// which would number each key's rows, came later): q with LIMIT m+n BY
// keys, its rows numbered in q's order (rowNumberInAllBlocks over the
// sorted result, which is one stream), grouped by the keys; each key's
// rows sorted by number, past the first m, spread again (arrayJoin) and
// put back in q's order by their numbers. The outer query has q's LIMIT
// and OFFSET, so ClickHouse counts the rows before them after LIMIT BY
// (rows_before_limit_at_least), as the DuckDB backend does.
func (p *chPrinter) limitByOffset(q *queryIR, limit int64, prefix string) string {
	l := q.limitBy
	inner := *q
	inner.items = append([]outItem(nil), q.items...)
	inner.limit, inner.offset = -1, 0
	inner.limitBy = &limitByIR{n: l.n, by: l.by}
	if l.n <= chNoLimit-l.offset {
		inner.limitBy.n = l.n + l.offset
	} else {
		inner.limitBy.n = chNoLimit
	}
	in := prefix + "l"
	// the keys: the result column equal to each, or a column added
	var keys []string
	for _, e := range l.by {
		k := -1
		for i, it := range q.items {
			if key(it.e) == key(e) {
				k = i
				break
			}
		}
		if k < 0 {
			if q.distinct {
				// a column more would change what DISTINCT keeps (the
				// analyzer wants DISTINCT's LIMIT BY keys in the result)
				p.unsupported(0, "LIMIT", "LIMIT n OFFSET m BY keys that are not result columns, with DISTINCT,")
			}
			k = len(inner.items)
			inner.items = append(inner.items, outItem{e: e})
		}
		keys = append(keys, chItemAlias(in, k))
	}
	sub := p.query(&inner, -1, in)
	num, row := prefix+"n", prefix+"t"
	cols := make([]string, len(q.items))
	all := make([]string, len(inner.items))
	for i := range inner.items {
		all[i] = chItemAlias(in, i)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i := range q.items {
		if i > 0 {
			b.WriteString(", ")
		}
		cols[i] = all[i]
		b.WriteString("tupleElement(" + row + ", " + strconv.Itoa(i+2) + ") AS " + chItemAlias(prefix, i))
	}
	b.WriteString(" FROM (SELECT arrayJoin(arraySlice(arraySort(groupArray((" + num + ", " + strings.Join(cols, ", ") + "))), " +
		strconv.FormatInt(min(l.offset, chNoLimit)+1, 10) + ", " + strconv.FormatInt(l.n, 10) + ")) AS " + row +
		" FROM (SELECT " + strings.Join(all, ", ") + ", rowNumberInAllBlocks() AS " + num + " FROM (" + sub + "))" +
		" GROUP BY " + strings.Join(keys, ", ") + ")")
	b.WriteString(" ORDER BY tupleElement(" + row + ", 1)")
	b.WriteString(chLimit(q, limit))
	p.checkLen(b.Len())
	return b.String()
}

// topKWeighted prints topKWeighted(n)(k, w) exactly, as the DuckDB
// backend computes it: the n values of k with the largest sums of w
// (truncated to whole numbers, negative as 0), ties by value; NULL values
// are skipped. ClickHouse's own topKWeighted (19.x) is approximate (Space
// Saving) and orders ties as it meets them, and 18.16 lacks it; its
// sumMap takes numeric keys only, so the values are numbered
// (arrayEnumerateDense over the group's values in the order met), their
// weights summed by number (sumMap through arrayReduce), the values in
// the same order (each value's first occurrence), sorted by value, then
// by sum descending, ties keeping the value order (the value's rank as
// the second key). It runs on every server.
func (p *chPrinter) topKWeighted(c *call) string {
	n := strconv.FormatUint(c.params[0].v.(uint64), 10)
	k, w := c.args[0], c.args[1]
	kv, wv := p.raw(k), p.raw(w)
	if w.typ().isFloat() {
		wv = "toUInt64(greatest(trunc(" + wv + "), 0.))"
	} else {
		wv = "toUInt64(greatest(" + wv + ", 0))"
	}
	if w.typ().nullable {
		wv = "ifNull(" + wv + ", toUInt64(0))"
	}
	var ks, ws string
	if k.typ().nullable {
		ks = "groupArrayIf(assumeNotNull(" + kv + "), isNotNull(" + kv + "))"
		ws = "groupArrayIf(" + wv + ", isNotNull(" + kv + "))"
	} else {
		ks, ws = "groupArray("+kv+")", "groupArray("+wv+")"
	}
	p.checkLen(6*len(ks) + len(ws))
	a, b2, c2 := "_w0", "_w1", "_w2"
	sums := "tupleElement(arrayReduce('sumMap', [arrayEnumerateDense(" + ks + ")], [" + ws + "]), 2)"
	vals := "arrayFilter((" + a + ", " + b2 + ") -> " + b2 + " = 1, " + ks + ", arrayEnumerateUniq(" + ks + "))"
	sorted := "arraySort(" + vals + ")"
	sortedSums := "arraySort((" + a + ", " + b2 + ") -> " + b2 + ", " + sums + ", " + vals + ")"
	return "arraySlice(arrayReverseSort((" + a + ", " + b2 + ", " + c2 + ") -> (" + b2 + ", -" + c2 + "), " +
		sorted + ", " + sortedSums + ", arrayEnumerate(" + sorted + ")), 1, " + n + ")"
}

// formatOffset prints formatDateTime's %z of x (tz: ", 'zone'" or ""):
// natively where the server has it (in a call of its own: current
// servers garble %z next to other specifiers, ClickHouse issue 72877),
// else from the difference between the wall clock time in the zone read
// as UTC and the instant, as +HHMM or -HHMM (minutes truncated).
func (p *chPrinter) formatOffset(x, tz string) string {
	if p.feat.FormatOffset {
		return "formatDateTime(" + x + ", '%z'" + tz + ")"
	}
	zone := "'UTC'"
	if tz != "" {
		zone = strings.TrimPrefix(tz, ", ")
	}
	o := "(toInt64(toUnixTimestamp(toDateTime(toString(" + x + ", " + zone + "), 'UTC'))) - toInt64(toUnixTimestamp(" + x + ")))"
	return "concat(if(" + o + " < 0, '-', '+'), substring(toString(100 + intDiv(abs(" + o + "), 3600)), 2), substring(toString(100 + intDiv(abs(" + o + ") % 3600, 60)), 2))"
}
