package clickhouse

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestDecodeValue(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ, raw string
		want     any
	}{
		{"String", `"a\tb"`, "a\tb"},
		{"UInt64", `"18446744073709551615"`, uint64(math.MaxUint64)},
		{"Int8", `-5`, int64(-5)},
		{"Float64", `0.1`, 0.1},
		{"Float64", `"inf"`, math.Inf(1)},
		{"Float64", `"-inf"`, math.Inf(-1)},
		{"Nullable(Float64)", `null`, nil},
		{"Nullable(String)", `"x"`, "x"},
		{"Array(UInt8)", `[1,2]`, []any{uint64(1), uint64(2)}},
		{"LowCardinality(String)", `"y"`, "y"},
		{"Date", `"2024-02-29"`, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"Date", `"0000-00-00"`, time.Unix(0, 0).UTC()},
		{"DateTime", `"2026-12-06 23:59:59"`, time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)},
		{"DateTime", `"0000-00-00 00:00:00"`, time.Unix(0, 0).UTC()},
		// A zoned DateTime is written as the zone's wall clock: 00:30 on 7
		// December in Tokyo is 15:30 on the 6th in UTC.
		{"DateTime('Asia/Tokyo')", `"2026-12-07 00:30:00"`, time.Date(2026, 12, 6, 15, 30, 0, 0, time.UTC).In(tokyo)},
		{"DateTime('Asia/Tokyo')", `"0000-00-00 00:00:00"`, time.Unix(0, 0).In(tokyo)},
	} {
		got, err := decodeValue(c.typ, json.RawMessage(c.raw))
		if err != nil {
			t.Errorf("decodeValue(%s, %s) = %v", c.typ, c.raw, err)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			wt := c.want.(time.Time)
			if !gt.Equal(wt) || gt.Location().String() != wt.Location().String() {
				t.Errorf("decodeValue(%s, %s) = %v; want %v", c.typ, c.raw, gt, wt)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("decodeValue(%s, %s) = %#v; want %#v", c.typ, c.raw, got, c.want)
		}
	}
	for _, typ := range []string{"Float64"} {
		for _, raw := range []string{`"nan"`, `"-nan"`} {
			got, err := decodeValue(typ, json.RawMessage(raw))
			if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
				t.Errorf("decodeValue(%s, %s) = %v, %v; want NaN", typ, raw, got, err)
			}
		}
	}
	for _, c := range [][2]string{{"Decimal(9, 2)", `"1.5"`}, {"DateTime('Nowhere/Zone')", `"2026-01-01 00:00:00"`}, {"UInt8", `"x"`}} {
		if got, err := decodeValue(c[0], json.RawMessage(c[1])); err == nil {
			t.Errorf("decodeValue(%s, %s) = %v; want an error", c[0], c[1], got)
		}
	}
}

// FuzzDecodeValue: any type name and JSON value decode or fail, never
// panic (a server's answer is input like any other).
func FuzzDecodeValue(f *testing.F) {
	for _, s := range [][2]string{{"String", `"x"`}, {"Nullable(Array(Nullable(Int64)))", `[null,"1"]`},
		{"DateTime('UTC')", `"2026-12-06 00:00:00"`}, {"Array(Array(String))", `[["a"],[]]`}, {"Float32", `"-nan"`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		_, _ = decodeValue(typ, json.RawMessage(raw))
	})
}
