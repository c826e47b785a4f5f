package bench

import (
	"math"
	"slices"
	"testing"
)

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{7}, 0.5, 7},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 1, 4},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{4, 1, 3, 2}, 0.5, 2.5}, // unsorted input
		{[]float64{10, 20, 30, 40, 50}, 0.25, 20},
		{[]float64{10, 20, 30, 40, 50}, 0.9, 46},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.99, 10.9},
		{[]float64{1, 2}, 1.5, 2}, // q clamped
		{[]float64{1, 2}, -1, 1},
	} {
		if got := Percentile(tc.xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Percentile(%v, %v) = %v; want %v", tc.xs, tc.q, got, tc.want)
		}
	}
	if got := Percentile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Percentile(nil, 0.5) = %v; want NaN", got)
	}
	xs := []float64{3, 1, 2}
	Percentile(xs, 0.5)
	if !slices.Equal(xs, []float64{3, 1, 2}) {
		t.Errorf("Percentile modified its input: %v", xs)
	}
	if got := Median([]float64{5, 1, 9, 3, 7}); got != 5 {
		t.Errorf("Median = %v; want 5", got)
	}
}

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"20000", 20000},
		{"1_000_000", 1_000_000},
		{"1e6", 1_000_000},
		{"1.5e6", 1_500_000},
		{"500k", 500_000},
		{"500K", 500_000},
		{"1M", 1_000_000},
		{"1.5M", 1_500_000},
		{"10M", 10_000_000},
		{"10m", 10_000_000},
		{"0.25M", 250_000},
		{"2G", 2_000_000_000},
		{" 7 ", 7},
	} {
		got, err := ParseCount(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "M", "abc", "1.5", "0", "-5", "1e300", "NaN", "Inf", "10MB", "1.0000001M"} {
		if got, err := ParseCount(in); err == nil {
			t.Errorf("ParseCount(%q) = %d, nil; want an error", in, got)
		}
	}
}
