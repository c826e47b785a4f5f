package aesql

import (
	"errors"
	"strings"
	"testing"
)

// Types of the functions of funcs_more.go and of intDiv, worked out by hand
// from ClickHouse's rules: quantileExact keeps its argument's type;
// groupArray is Array(T); intDiv is an integer as wide as its dividend
// (Float64: 64 bits), signed when either side is signed or a float.
func TestAnalyzeTypesMore(t *testing.T) {
	cases := []struct{ q, want string }{
		{"SELECT intDiv(toUInt8(1), toUInt16(1)) a, intDiv(toUInt16(1), toUInt8(1)) b, intDiv(toInt32(1), toUInt64(1)) c, intDiv(toUInt64(1), toInt8(1)) d, intDiv(double1, toUInt8(1)) e, intDiv(toUInt32(1), double1) f, intDiv(true, 2) g, intDiv(1, NULL) h FROM requests",
			"a:UInt8, b:UInt16, c:Int32, d:Int64, e:Int64, f:Int32, g:UInt8, h:Nullable(Nothing)"},
		{"SELECT any(blob1) a, anyLast(double1) b, quantileExact(0.5)(_sample_interval) c, quantileExact(timestamp) d, quantilesExact(0.5)(toInt8(double1)) e, medianExact(toDate(timestamp)) f, groupArray(blob1) g, groupArray(2)(toDateTime(timestamp, 'Asia/Tokyo')) h FROM requests",
			"a:String, b:Float64, c:UInt32, d:DateTime, e:Array(Int8), f:Date, g:Array(String), h:Array(DateTime('Asia/Tokyo'))"},
		{"SELECT anyIf(blob1, 1) a, quantileExactIf(0.5)(_sample_interval, 1) b, medianIf(double1, 1) c, quantilesExactIf(0.5)(double1, 1) d, uniqExactIf(blob1, 1) e, groupArrayIf(double1, 1) f, argMinIf(blob1, double1, 1) g, argMaxIf(timestamp, double1, 1) h, anyLastIf(_sample_interval, 1) i FROM requests",
			"a:String, b:UInt32, c:Float64, d:Array(Float64), e:UInt64, f:Array(Float64), g:String, h:DateTime, i:UInt32"},
		{"SELECT extract(blob1, 'a') a, extractAll(blob1, 'a') b, match(blob1, 'a') c, replaceRegexpOne(blob1, 'a', 'b') d, replaceRegexpAll(blob1, 'a', 'b') e, dateDiff('day', timestamp, now()) f, date_diff('s', toDate(timestamp), timestamp) g, toTypeName(1) h FROM requests",
			"a:String, b:Array(String), c:UInt8, d:String, e:String, f:Int64, g:Int64, h:String"},
	}
	for _, c := range cases {
		p, err := mustCompile(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := colsString(p.Columns); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.q, got, c.want)
		}
	}
}

// Refusals point at the offending argument (columns counted by hand).
func TestAnalyzeErrorsMore(t *testing.T) {
	cases := []struct {
		q        string
		col      int
		tok, msg string
	}{
		{"SELECT match(blob1, 'a(') FROM requests", 21, "'a('", "invalid regular expression in match"},
		{"SELECT extract(blob1, blob2) FROM requests", 23, "blob2", "must be a string literal"},
		{"SELECT replaceRegexpAll(blob1, '(a)', '\\\\2') FROM requests", 39, "'\\\\2'", "refers to group \\2, but the pattern has 1"},
		{"SELECT dateDiff('fortnight', timestamp, now()) FROM requests", 17, "'fortnight'", "unknown unit"},
		{"SELECT groupArray(0)(blob1) FROM requests", 19, "0", "from 1 to 100000"},
		{"SELECT anyIf(blob1, blob2) FROM requests", 21, "blob2", "condition"},
	}
	for _, c := range cases {
		_, err := mustCompile(c.q)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: want an *Error, got %v", c.q, err)
			continue
		}
		if e.Col != c.col || e.Token != c.tok || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s:\n got  col %d token %q: %s\n want col %d token %q: ...%s...", c.q, e.Col, e.Token, e.Msg, c.col, c.tok, c.msg)
		}
	}
}
