package aesql

import (
	"strconv"
	"strings"
)

// Encoding (hex, bin) and bit functions in DuckDB SQL.

// encode prints hex and bin: strings byte by byte, integers without
// leading zero bytes (ClickHouse pads to whole bytes), dates and times as
// their day or second numbers.
func (p *duckPrinter) encode(c *call) string {
	x := c.args[0]
	t := x.typ()
	fn := c.fn
	if t.isString() {
		return fn + "(" + p.raw(x) + ")"
	}
	if t.isFloat() {
		// the 8 bytes in memory order (little-endian), each as 2 hex
		// digits or 8 binary digits, as ClickHouse prints floats
		w := 2
		if fn == "bin" {
			w = 8
		}
		return p.let("lpad("+fn+"("+p.floatBits(x)+"), "+strconv.Itoa(8*w)+", '0')", func(s string) string {
			parts := make([]string, 8)
			for i := range parts {
				parts[i] = "substring(" + s + ", " + strconv.Itoa((7-i)*w+1) + ", " + strconv.Itoa(w) + ")"
			}
			return "(" + strings.Join(parts, " || ") + ")"
		})
	}
	var v string
	switch {
	case t.k == kNothing:
		return "CAST(NULL AS VARCHAR)"
	case t.k == kDateTime:
		v = "CAST(floor(epoch_ms(" + p.raw(x) + ") / 1000) AS UBIGINT)"
	case t.k == kDate:
		v = "CAST(" + p.raw(x) + " - DATE '1970-01-01' AS UBIGINT)"
	case t.isSigned():
		v = "CAST(" + wrapHuge("CAST("+p.val(x)+" AS HUGEINT)", intType(false, t.bits())) + " AS UBIGINT)"
	default:
		v = "CAST(" + p.val(x) + " AS UBIGINT)"
	}
	width := "2"
	if fn == "bin" {
		width = "8"
	}
	h := fn + "(" + v + ")"
	return "lpad(" + h + ", CAST(((length(" + h + ") + " + width + " - 1) // " + width + ") * " + width + " AS INTEGER), '0')"
}

// floatBits prints the IEEE 754 bits of a Float64 as a UBIGINT, computed
// from its sign, exponent and significand (each step exact in binary
// floating point); a NaN is the quiet NaN with x's sign bit (ClickHouse's
// nan is 0x7FF8000000000000).
func (p *duckPrinter) floatBits(e irExpr) string {
	return p.let(p.raw(e), func(x string) string {
		return p.let("abs("+x+")", func(a string) string {
			// (the exponent is computed for every row, so zeros, infinities
			// and NaNs get a harmless stand-in; their bits come below)
			e0 := "CAST(floor(log2(CASE WHEN isfinite(" + a + ") AND " + a + " > 0 THEN " + a + " ELSE 1.0 END)) AS INTEGER)"
			// log2 may be off by one next to a power of two: correct it
			return p.let("("+e0+" - CASE WHEN pow(2.0, "+e0+") > "+a+" THEN 1 ELSE 0 END + CASE WHEN pow(2.0, "+e0+" + 1) <= "+a+" THEN 1 ELSE 0 END)", func(exp string) string {
				sign := "CASE WHEN signbit(" + x + ") THEN CAST(9223372036854775808 AS UBIGINT) ELSE CAST(0 AS UBIGINT) END"
				normal := "(CAST(" + exp + " + 1023 AS UBIGINT) * CAST(4503599627370496 AS UBIGINT) + CAST((" + a + " / pow(2.0, " + exp + ") - 1) * 4503599627370496.0 AS UBIGINT))"
				subnormal := "CAST(" + a + " * pow(2.0, 1022) * 4503599627370496.0 AS UBIGINT)"
				return "(" + sign + " + CASE WHEN isnan(" + x + ") THEN CAST(9221120237041090560 AS UBIGINT)" +
					" WHEN isinf(" + x + ") THEN CAST(9218868437227405312 AS UBIGINT)" +
					" WHEN " + a + " = 0 THEN CAST(0 AS UBIGINT)" +
					" WHEN " + a + " < pow(2.0, -1022) THEN " + subnormal +
					" ELSE " + normal + " END)"
			})
		})
	})
}

// shift prints bitShiftLeft/Right, bitRotateLeft/Right and bitTest on the
// bits of the value's own type, computing in HUGEINT so that nothing
// overflows.
func (p *duckPrinter) shift(c *call) string {
	x := c.args[0]
	t := bitOperandType(x.typ())
	xv := p.val(x)
	if t.isFloat() { // bitTest only: the value truncated to Int64 (0 outside its range, or NaN)
		t = typ(kInt64)
		xv = "(CASE WHEN abs(" + xv + ") < 9.223372036854775807e18 THEN CAST(trunc(" + xv + ") AS HUGEINT) ELSE 0 END)"
	}
	bits := t.bits()
	m := "(CAST(1 AS HUGEINT) << " + strconv.Itoa(bits) + ")"
	n := "CAST(" + p.val(c.args[1]) + " AS BIGINT)"
	u := wrapHuge("CAST("+xv+" AS HUGEINT)", intType(false, bits)) // unsigned bits of x
	pow2 := func(e string) string { return "(CAST(1 AS HUGEINT) << CAST(" + e + " AS INTEGER))" }
	back := func(e string) string {
		if t.isSigned() {
			return "CAST(" + wrapHuge(e, t) + " AS " + duckType(t) + ")"
		}
		return "CAST(" + e + " AS " + duckType(t) + ")"
	}
	b := strconv.Itoa(bits)
	switch c.fn {
	case "bitShiftLeft":
		return "CASE WHEN " + n + " < 0 OR " + n + " >= " + b + " THEN " + defaultOf(t) + " ELSE " + back("(("+u+" * "+pow2(n)+") % "+m+")") + " END"
	case "bitShiftRight":
		if t.isSigned() {
			s := "CAST(" + p.val(x) + " AS HUGEINT)"
			d := pow2("least(" + n + ", 64)")
			return "CASE WHEN " + n + " < 0 THEN " + defaultOf(t) + " ELSE CAST(((" + s + " - (((" + s + " % " + d + ") + " + d + ") % " + d + ")) // " + d + ") AS " + duckType(t) + ") END"
		}
		return "CASE WHEN " + n + " < 0 OR " + n + " >= " + b + " THEN " + defaultOf(t) + " ELSE " + back("("+u+" // "+pow2(n)+")") + " END"
	case "bitRotateLeft", "bitRotateRight":
		k := "(((" + n + " % " + b + ") + " + b + ") % " + b + ")"
		if c.fn == "bitRotateRight" {
			k = "((" + b + " - " + k + ") % " + b + ")"
		}
		return back("(((" + u + " * " + pow2(k) + ") % " + m + ") + (" + u + " // " + pow2("("+b+" - "+k+")") + "))")
	case "bitTest":
		return "CASE WHEN " + n + " < 0 OR " + n + " >= " + b + " THEN 0 ELSE CAST((" + u + " // " + pow2(n) + ") % 2 AS UTINYINT) END"
	}
	bug("shift %s", c.fn)
	return ""
}
