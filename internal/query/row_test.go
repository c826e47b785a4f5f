package query

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFormatNumber(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-42, "-42"}, {12.5, "12.5"},
		{123456789012345, "123456789012345"}, {1e15, "1000000000000000"}, {1e20, "100000000000000000000"},
		{1e21, "1e+21"}, {1.5e300, "1.5e+300"}, {0.000001, "0.000001"}, {1e-7, "1e-7"}, {-2.5e-10, "-2.5e-10"},
		{1234567.5, "1234567.5"}, {0.30000000000000004, "0.30000000000000004"},
	} {
		if got := formatNumber(c.in); got != c.want {
			t.Errorf("formatNumber(%v) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestObjectJSON(t *testing.T) {
	o := Object{
		Keys:   []string{"z", "a\"", "n", "inf", "q", "s", "i"},
		Values: []any{"<é>", 3.0, nil, math.Inf(1), Object{Keys: []string{"p50"}, Values: []any{1.25}}, []int{1}, int64(7)},
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("json.Marshal(Object) = %v", err)
	}
	want := `{"z":"\u003cé\u003e","a\"":3,"n":null,"inf":null,"q":{"p50":1.25},"s":[1],"i":7}`
	if string(b) != want {
		t.Errorf("json.Marshal(Object) = %s; want %s", b, want)
	}
	if v, ok := o.Get("a\""); !ok || v != 3.0 {
		t.Errorf("Get(a\") = %v, %v; want 3, true", v, ok)
	}
	if _, ok := o.Get("missing"); ok {
		t.Errorf("Get(missing) found a value")
	}
	if b, _ := json.Marshal(Object{}); string(b) != "{}" {
		t.Errorf("json.Marshal(empty Object) = %s; want {}", b)
	}
	if _, err := json.Marshal(Object{Keys: []string{"c"}, Values: []any{make(chan int)}}); err == nil {
		t.Errorf("json.Marshal(Object with a channel) = nil error; want one")
	}
}

func TestSubRowReaders(t *testing.T) {
	var empty SubResult
	r := empty.FirstRow(2)
	if len(r.Values) != 2 || r.Num(0) != 0 || r.Opt(1) != nil {
		t.Errorf("the row of no rows = %+v, Num %v, Opt %v; want two nulls read as 0 and nil", r, r.Num(0), r.Opt(1))
	}
	res := SubResult{Rows: []SubRow{{Values: []any{3.0, math.NaN(), math.Inf(1), 2.5}}}}
	r = res.FirstRow(4)
	if r.Num(0) != 3 || r.Num(1) != 0 || r.Num(2) != 0 || r.Opt(1) != nil || r.Opt(2) != nil || *r.Opt(3) != 2.5 {
		t.Errorf("readers of %v: Num %v %v %v, Opt %v %v %v", r.Values, r.Num(0), r.Num(1), r.Num(2), r.Opt(1), r.Opt(2), r.Opt(3))
	}
}
