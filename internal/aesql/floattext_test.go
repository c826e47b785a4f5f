package aesql

import (
	"math"
	"strconv"
	"testing"
)

// TestToStringFloat checks toString of floats against formatFloat (the
// spelling of ClickHouse's float text that the formats use) over values
// around every exponent.
func TestToStringFloat(t *testing.T) {
	var vals []float64
	for e := -12; e <= 25; e++ {
		b := math.Pow(10, float64(e))
		vals = append(vals, b, -b, 1.5*b, 1.25*b, 123.456*b, 7*b)
	}
	vals = append(vals, 0, 0.1, 1.0/3, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300, 123456789012345680)
	for _, v := range vals {
		q := "SELECT toString(toFloat64(" + strconv.FormatFloat(v, 'g', -1, 64) + "))"
		_, rows, err := runDuck(t, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got, want := rows[0][0], formatFloat(v); got != want {
			t.Errorf("%s = %q; want %q", q, got, want)
		}
	}
}
