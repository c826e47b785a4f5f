package aesql

import (
	"strings"
)

// The scalar functions: arithmetic, strings, conditionals, conversions,
// encoding and bits (aggregates and dates are in funcs.go).
func init() {
	// ---- arithmetic
	def([]string{"intDiv"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		for i := range c.args {
			if err := a.wantNumeric(c, i); err != nil {
				return nil, err
			}
		}
		// ClickHouse's ResultOfIntegerDivision: an integer as wide as the
		// dividend (Float64: 64 bits), signed when either side is (a float
		// counts as signed): intDiv(toInt8(7), 2.0) is Int8.
		l, r := c.t(0), c.t(1)
		if l.isNothing() || r.isNothing() {
			return done(c, typ(kNothing))
		}
		n := anyNullable(l, r)
		bits := max(l.bits(), 8)
		if l.isFloat() {
			bits = 64
		}
		signed := l.isSigned() || r.isSigned() || l.isFloat() || r.isFloat()
		return done(c, intType(signed, bits).withNull(n))
	}})
	def([]string{"modulo"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		return a.binary(&binaryExpr{P: c.ast.P, OpP: c.ast.P, Op: "%", L: c.ast.Args[0], R: c.ast.Args[1]}, c.args[0], c.args[1])
	}})
	float1 := func(a *analyzer, c *fnCall) (irExpr, error) {
		for i := range c.args {
			if err := a.wantNumeric(c, i); err != nil {
				return nil, err
			}
		}
		var ts []chType
		for i := range c.args {
			ts = append(ts, c.t(i))
		}
		return done(c, typ(kFloat64).withNull(anyNullable(ts...)))
	}
	def([]string{"log", "ln"}, fnDef{name: "log", args: [2]int{1, 1}, infer: float1})
	def([]string{"exp"}, fnDef{args: [2]int{1, 1}, infer: float1})
	def([]string{"sqrt"}, fnDef{args: [2]int{1, 1}, infer: float1})
	def([]string{"log2"}, fnDef{args: [2]int{1, 1}, infer: float1})
	def([]string{"log10"}, fnDef{args: [2]int{1, 1}, infer: float1})
	def([]string{"pow", "power"}, fnDef{name: "pow", args: [2]int{2, 2}, infer: float1})
	def([]string{"abs"}, fnDef{args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		t := c.t(0)
		if t.isSigned() {
			return done(c, intType(false, t.bits()).withNull(t.nullable))
		}
		if t.k == kBool {
			return done(c, typ(kUInt8))
		}
		return done(c, t)
	}})
	rounding := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		if len(c.args) == 2 {
			k, ok := c.args[1].(*constant)
			if !ok || !k.t.isInt() {
				return nil, a.argErr(c, 1, "the precision of %s must be a whole number", c.def.name)
			}
			if n, ok := constInt(*k); !ok || n < -18 || n > 18 {
				return nil, a.argErr(c, 1, "the precision of %s must be from -18 to 18", c.def.name)
			}
		}
		t := c.t(0)
		if t.k == kBool {
			t = typ(kUInt8)
		}
		return done(c, t)
	}
	def([]string{"round"}, fnDef{args: [2]int{1, 2}, infer: rounding})
	def([]string{"floor"}, fnDef{args: [2]int{1, 2}, infer: rounding})
	def([]string{"ceil", "ceiling"}, fnDef{name: "ceil", args: [2]int{1, 2}, infer: rounding})
	def([]string{"trunc", "truncate"}, fnDef{name: "trunc", args: [2]int{1, 2}, infer: rounding})

	// ---- strings
	def([]string{"length", "lengthUTF8", "char_length", "character_length"}, fnDef{name: "length", args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if t := c.t(0); !t.isString() && t.k != kArray && !t.isNothing() {
			return nil, a.argErr(c, 0, "length needs a string or an array, not %s", t)
		}
		return done(c, typ(kUInt64).withNull(c.t(0).nullable))
	}})
	emptyFn := func(a *analyzer, c *fnCall) (irExpr, error) {
		if t := c.t(0); !t.isString() && t.k != kArray && !t.isNothing() {
			return nil, a.argErr(c, 0, "%s needs a string or an array, not %s", c.def.name, t)
		}
		return done(c, typ(kUInt8).withNull(c.t(0).nullable))
	}
	def([]string{"empty", "isEmpty"}, fnDef{name: "empty", args: [2]int{1, 1}, infer: emptyFn})
	def([]string{"notEmpty"}, fnDef{args: [2]int{1, 1}, infer: emptyFn})
	str1 := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		return done(c, typ(kString).withNull(c.t(0).nullable))
	}
	def([]string{"lower", "lcase"}, fnDef{name: "lower", args: [2]int{1, 1}, infer: str1})
	def([]string{"upper", "ucase"}, fnDef{name: "upper", args: [2]int{1, 1}, infer: str1})
	// AE documents toLower/toUpper as the backwards-compatible names of
	// lowerUTF8/upperUTF8.
	def([]string{"lowerUTF8", "toLower"}, fnDef{name: "lowerUTF8", args: [2]int{1, 1}, infer: str1})
	def([]string{"upperUTF8", "toUpper"}, fnDef{name: "upperUTF8", args: [2]int{1, 1}, infer: str1})
	str2bool := func(a *analyzer, c *fnCall) (irExpr, error) {
		for i := range c.args {
			if err := a.wantString(c, i); err != nil {
				return nil, err
			}
		}
		return done(c, typ(kUInt8).withNull(anyNullable(c.t(0), c.t(1))))
	}
	def([]string{"startsWith"}, fnDef{args: [2]int{2, 2}, infer: str2bool})
	def([]string{"endsWith"}, fnDef{args: [2]int{2, 2}, infer: str2bool})
	// position(haystack, needle): the parser turns position(needle IN
	// haystack) into this form.
	def([]string{"position", "positionUTF8", "locate"}, fnDef{name: "position", args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		for i := range c.args {
			if err := a.wantString(c, i); err != nil {
				return nil, err
			}
		}
		return done(c, typ(kUInt64).withNull(anyNullable(c.t(0), c.t(1))))
	}})
	def([]string{"substring", "substr", "substringUTF8", "mid"}, fnDef{name: "substring", args: [2]int{2, 3}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		for i := 1; i < len(c.args); i++ {
			if err := a.wantInteger(c, i); err != nil {
				return nil, err
			}
		}
		return done(c, typ(kString).withNull(c.t(0).nullable))
	}})
	def([]string{"format"}, fnDef{args: [2]int{1, -1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		k, ok := c.args[0].(*constant)
		if !ok || !k.t.isString() {
			return nil, a.argErr(c, 0, "the pattern of format must be a string literal")
		}
		pieces, refs, bad := parseFormatPattern(k.v.(string))
		if bad != "" {
			return nil, a.argErr(c, 0, "%s", bad)
		}
		for _, r := range refs {
			if r >= len(c.args)-1 {
				return nil, a.argErr(c, 0, "the pattern of format refers to argument %d, but only %d are given", r, len(c.args)-1)
			}
		}
		for i := 1; i < len(c.args); i++ {
			if t := c.t(i); t.k == kArray || t.isNothing() {
				return nil, a.argErr(c, i, "format cannot print %s", t)
			}
		}
		c.out.fmt = pieces
		c.out.args = c.args[1:]
		return done(c, typ(kString))
	}})
	def([]string{"concat"}, fnDef{args: [2]int{1, -1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		n := false
		for i := range c.args {
			if t := c.t(i); t.k == kArray {
				return nil, a.argErr(c, i, "concat cannot join arrays")
			}
			n = n || anyNullable(c.t(i))
		}
		return done(c, typ(kString).withNull(n))
	}})
	def([]string{"toString"}, fnDef{args: [2]int{1, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 1)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		if t := c.t(0); t.k == kArray {
			return nil, a.argErr(c, 0, "toString of arrays is not supported")
		}
		return done(c, typ(kString).withNull(anyNullable(c.t(0))))
	}})

	// ---- conditionals
	def([]string{"if"}, fnDef{args: [2]int{3, 3}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantCond(c, 0); err != nil {
			return nil, err
		}
		t, ok := supertype(c.t(1), c.t(2))
		if !ok {
			return nil, a.argErr(c, 2, "the branches of if have types %s and %s with no common type", c.t(1), c.t(2))
		}
		if k, ok := c.args[0].(*constant); ok && !k.t.nullable {
			// ClickHouse folds if with a constant condition into the branch
			// it takes, type included: if(1, 1, 2.5) is UInt8 1, and a NULL
			// condition takes the else branch
			if truthy(k) {
				return c.args[1], nil
			}
			return c.args[2], nil
		}
		c.out.fn = "multiIf"
		return done(c, t)
	}})
	def([]string{"multiIf"}, fnDef{args: [2]int{3, -1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.args)%2 == 0 {
			return nil, a.errAt(c.ast.P, c.ast.Name, "multiIf takes pairs of condition and value, then a default value")
		}
		t := c.t(1)
		for i := 0; i+1 < len(c.args); i += 2 {
			if err := a.wantCond(c, i); err != nil {
				return nil, err
			}
		}
		for i := 3; i < len(c.args); i += 2 {
			st, ok := supertype(t, c.t(i))
			if !ok {
				return nil, a.argErr(c, i, "the branches of multiIf have types %s and %s with no common type", t, c.t(i))
			}
			t = st
		}
		st, ok := supertype(t, c.t(len(c.args)-1))
		if !ok {
			return nil, a.argErr(c, len(c.args)-1, "the branches of multiIf have types %s and %s with no common type", t, c.t(len(c.args)-1))
		}
		return done(c, st)
	}})
	coalesce := func(a *analyzer, c *fnCall) (irExpr, error) {
		t := c.t(0)
		for i := 1; i < len(c.args); i++ {
			st, ok := supertype(t, c.t(i))
			if !ok {
				return nil, a.argErr(c, i, "the arguments of %s have types %s and %s with no common type", c.def.name, t, c.t(i))
			}
			t = st
		}
		nullable := true
		for i := range c.args {
			if !anyNullable(c.t(i)) {
				nullable = false
			}
		}
		t.nullable = nullable && t.k != kNothing
		c.out.fn = "coalesce"
		return done(c, t)
	}
	def([]string{"coalesce"}, fnDef{args: [2]int{1, -1}, infer: coalesce})
	def([]string{"ifNull"}, fnDef{args: [2]int{2, 2}, infer: coalesce})
	def([]string{"isNull"}, fnDef{args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) { return done(c, typ(kUInt8)) }})
	def([]string{"isNotNull"}, fnDef{args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) { return done(c, typ(kUInt8)) }})

	// ---- conversions
	conv := func(to chType) func(a *analyzer, c *fnCall) (irExpr, error) {
		return func(a *analyzer, c *fnCall) (irExpr, error) {
			t := c.t(0)
			if !t.isNumeric() && !t.isString() && !t.isTime() && !t.isNothing() {
				return nil, a.argErr(c, 0, "%s cannot convert %s", c.def.name, t)
			}
			if lit, ok := c.args[0].(*constant); ok && t.isString() {
				if _, ok := parseNumber(strings.TrimSpace(lit.v.(string))); !ok {
					return nil, a.argErr(c, 0, "cannot parse %s as a number", shortLit(lit.v.(string)))
				}
			}
			return done(c, to.withNull(anyNullable(t)))
		}
	}
	for _, k := range []kind{kUInt8, kUInt16, kUInt32, kUInt64, kInt8, kInt16, kInt32, kInt64, kFloat64} {
		n := "to" + kindNames[k]
		def([]string{n}, fnDef{args: [2]int{1, 1}, infer: conv(typ(k))})
	}

	// ---- encoding
	// hex and bin of a Float64 spell its IEEE 754 bytes in memory order
	// (little-endian), as ClickHouse does.
	enc := func(a *analyzer, c *fnCall) (irExpr, error) {
		t := c.t(0)
		switch {
		case t.isString(), t.isInt(), t.k == kBool, t.isTime(), t.isNothing(), t.isFloat():
		default:
			return nil, a.argErr(c, 0, "%s cannot encode %s", c.def.name, t)
		}
		return done(c, typ(kString).withNull(anyNullable(t)))
	}
	def([]string{"hex"}, fnDef{args: [2]int{1, 1}, infer: enc})
	def([]string{"bin"}, fnDef{args: [2]int{1, 1}, infer: enc})

	// ---- bits
	bitInts := func(a *analyzer, c *fnCall) error {
		for i := range c.args {
			if err := a.wantInteger(c, i); err != nil {
				return err
			}
		}
		return nil
	}
	bitType := func(t chType) chType {
		if t.k == kBool {
			return typ(kUInt8)
		}
		return t.notNull()
	}
	bin := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := bitInts(a, c); err != nil {
			return nil, err
		}
		l, r := bitType(c.t(0)), bitType(c.t(1))
		return done(c, intType(l.isSigned() || r.isSigned(), max(l.bits(), r.bits())).withNull(anyNullable(c.t(0), c.t(1))))
	}
	def([]string{"bitAnd"}, fnDef{args: [2]int{2, 2}, infer: bin})
	def([]string{"bitOr"}, fnDef{args: [2]int{2, 2}, infer: bin})
	def([]string{"bitXor"}, fnDef{args: [2]int{2, 2}, infer: bin})
	same := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := bitInts(a, c); err != nil {
			return nil, err
		}
		return done(c, bitType(c.t(0)).withNull(anyNullable(c.args[0].typ())))
	}
	def([]string{"bitNot"}, fnDef{args: [2]int{1, 1}, infer: same})
	def([]string{"bitShiftLeft"}, fnDef{args: [2]int{2, 2}, infer: same})
	def([]string{"bitShiftRight"}, fnDef{args: [2]int{2, 2}, infer: same})
	def([]string{"bitRotateLeft"}, fnDef{args: [2]int{2, 2}, infer: same})
	def([]string{"bitRotateRight"}, fnDef{args: [2]int{2, 2}, infer: same})
	u8 := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := bitInts(a, c); err != nil {
			return nil, err
		}
		var ts []chType
		for i := range c.args {
			ts = append(ts, c.t(i))
		}
		return done(c, typ(kUInt8).withNull(anyNullable(ts...)))
	}
	// bitTest of a float tests a bit of the value truncated to Int64, as
	// the ClickHouse AE runs does (AE documents WHERE bitTest(double1, 2));
	// ClickHouse refuses it since 23.4.
	def([]string{"bitTest"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if c.t(0).isFloat() {
			if !c.t(1).isInt() {
				return u8(a, c) // names the bad argument
			}
			return done(c, typ(kUInt8).withNull(anyNullable(c.t(0), c.t(1))))
		}
		return u8(a, c)
	}})
	// bitCount counts the bits of the value in memory: a Float64's IEEE 754
	// bits, as in ClickHouse.
	def([]string{"bitCount"}, fnDef{args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if c.t(0).isFloat() {
			return done(c, typ(kUInt8).withNull(c.t(0).nullable))
		}
		return u8(a, c)
	}})
	def([]string{"bitHammingDistance"}, fnDef{args: [2]int{2, 2}, infer: u8})
}
