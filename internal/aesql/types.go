package aesql

// kind is a ClickHouse base type.
type kind uint8

const (
	kNothing kind = iota // the type of NULL
	kBool
	kUInt8
	kUInt16
	kUInt32
	kUInt64
	kInt8
	kInt16
	kInt32
	kInt64
	kFloat64
	kString
	kDate
	kDateTime
	kArray
	kInterval
)

var kindNames = [...]string{
	kNothing: "Nothing", kBool: "Bool", kUInt8: "UInt8", kUInt16: "UInt16", kUInt32: "UInt32",
	kUInt64: "UInt64", kInt8: "Int8", kInt16: "Int16", kInt32: "Int32", kInt64: "Int64",
	kFloat64: "Float64", kString: "String", kDate: "Date", kDateTime: "DateTime", kArray: "Array",
	kInterval: "Interval",
}

// chType is a ClickHouse type: a kind, Nullable, an element type for
// arrays, a unit for intervals, a time zone for DateTime.
type chType struct {
	k        kind
	nullable bool
	elem     *chType
	unit     string // intervals: SECOND ... YEAR
	tz       string // DateTime: the zone of DateTime('tz'), a zoneTable name; "" is the server's (UTC)
}

func (t chType) String() string {
	var s string
	switch t.k {
	case kArray:
		s = "Array(" + t.elem.String() + ")"
	case kInterval:
		s = "Interval" + t.unit[:1] + asciiLower(t.unit[1:])
	case kDateTime:
		s = "DateTime"
		if t.tz != "" {
			s += "('" + t.tz + "')"
		}
	default:
		s = kindNames[t.k]
	}
	if t.nullable || t.k == kNothing {
		return "Nullable(" + s + ")"
	}
	return s
}

func typ(k kind) chType { return chType{k: k} }

func arrayOf(e chType) chType { return chType{k: kArray, elem: &e} }

// dateTimeIn is DateTime('tz'), or DateTime when tz is "".
func dateTimeIn(tz string) chType { return chType{k: kDateTime, tz: tz} }

func (t chType) isNothing() bool  { return t.k == kNothing }
func (t chType) isInt() bool      { return t.k >= kUInt8 && t.k <= kInt64 }
func (t chType) isUnsigned() bool { return t.k >= kUInt8 && t.k <= kUInt64 || t.k == kBool }
func (t chType) isSigned() bool   { return t.k >= kInt8 && t.k <= kInt64 }
func (t chType) isFloat() bool    { return t.k == kFloat64 }

// isNumeric: Bool, integers and Float64.
func (t chType) isNumeric() bool { return t.k == kBool || t.isInt() || t.isFloat() }
func (t chType) isTime() bool    { return t.k == kDate || t.k == kDateTime }
func (t chType) isString() bool  { return t.k == kString }

// isComparable: may be ordered (min, max, ORDER BY, <).
func (t chType) isComparable() bool {
	return t.isNumeric() || t.isString() || t.isTime() || t.k == kNothing
}

// bits of an integer kind (Bool counts as 8).
func (t chType) bits() int {
	switch t.k {
	case kBool, kUInt8, kInt8:
		return 8
	case kUInt16, kInt16:
		return 16
	case kUInt32, kInt32:
		return 32
	case kUInt64, kInt64:
		return 64
	}
	return 0
}

func intType(signed bool, bits int) chType {
	if bits > 64 {
		bits = 64
	}
	switch {
	case bits <= 8:
		if signed {
			return typ(kInt8)
		}
		return typ(kUInt8)
	case bits <= 16:
		if signed {
			return typ(kInt16)
		}
		return typ(kUInt16)
	case bits <= 32:
		if signed {
			return typ(kInt32)
		}
		return typ(kUInt32)
	}
	if signed {
		return typ(kInt64)
	}
	return typ(kUInt64)
}

func (t chType) withNull(n bool) chType {
	if n && t.k != kNothing {
		t.nullable = true
	}
	return t
}

func (t chType) notNull() chType {
	t.nullable = false
	return t
}

func anyNullable(ts ...chType) bool {
	for _, t := range ts {
		if t.nullable || t.k == kNothing {
			return true
		}
	}
	return false
}

func nextBits(b int) int {
	if b >= 64 {
		return 64
	}
	return b * 2
}

// arithType is the result type of + - * on two numbers (ClickHouse:
// the next wider integer, signed if either is, always signed for minus).
func arithType(op string, a, b chType) chType {
	n := anyNullable(a, b)
	if a.k == kNothing || b.k == kNothing {
		return typ(kNothing)
	}
	if a.isFloat() || b.isFloat() {
		return typ(kFloat64).withNull(n)
	}
	signed := a.isSigned() || b.isSigned() || op == "minus"
	return intType(signed, nextBits(max(a.bits(), b.bits()))).withNull(n)
}

// supertype is the common type of branches of if/CASE/coalesce, or of
// the sides of a comparison; ok is false when ClickHouse has none.
func supertype(a, b chType) (chType, bool) {
	n := anyNullable(a, b)
	switch {
	case a.k == kNothing:
		return b.withNull(true), true
	case b.k == kNothing:
		return a.withNull(true), true
	case a.k == b.k && a.k != kArray:
		return a.notNull().withNull(n), true
	case a.k == kArray && b.k == kArray:
		e, ok := supertype(*a.elem, *b.elem)
		return arrayOf(e), ok
	case a.isTime() && b.isTime():
		// ClickHouse: the first DateTime's type, time zone included
		if a.k == kDateTime {
			return a.notNull().withNull(n), true
		}
		return b.notNull().withNull(n), true
	case a.isNumeric() && b.isNumeric():
		if a.isFloat() || b.isFloat() {
			return typ(kFloat64).withNull(n), true
		}
		if a.k == kBool {
			a = typ(kUInt8)
		}
		if b.k == kBool {
			b = typ(kUInt8)
		}
		switch {
		case a.isUnsigned() == b.isUnsigned():
			return intType(a.isSigned(), max(a.bits(), b.bits())).withNull(n), true
		default:
			u, s := a, b
			if a.isSigned() {
				u, s = b, a
			}
			if u.bits() >= 64 {
				return chType{}, false
			}
			return intType(true, max(u.bits()*2, s.bits())).withNull(n), true
		}
	}
	return chType{}, false
}
