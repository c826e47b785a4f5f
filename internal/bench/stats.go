package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Percentile returns the q-quantile (0 <= q <= 1) of xs with linear
// interpolation between order statistics, as the query engine computes
// quantiles. xs need not be sorted and is not modified. It returns NaN for an
// empty xs.
func Percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q = min(max(q, 0), 1)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}

// Median returns the median of xs (the mean of the two middle values for an
// even count), or NaN for an empty xs.
func Median(xs []float64) float64 { return Percentile(xs, 0.5) }

// MaxCount is the largest count ParseCount accepts.
const MaxCount = 1 << 40

// ParseCount parses a positive whole count written as 20000, 1_000_000, 1e6,
// 500k, 1.5M, 10M or 2G (k, M and G are 10^3, 10^6 and 10^9, in either case).
func ParseCount(s string) (int64, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mult := 1.0
	if n := len(t); n > 1 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'm', 'M':
			mult, t = 1e6, t[:n-1]
		case 'g', 'G':
			mult, t = 1e9, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a count; write e.g. 20000, 1e6, 1.5M or 10M", s)
	}
	v *= mult
	r := math.Round(v)
	if math.Abs(v-r) > 1e-9*max(1, math.Abs(v)) {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if r < 1 || r > MaxCount {
		return 0, fmt.Errorf("%q is out of range: use 1 to %d", s, int64(MaxCount))
	}
	return int64(r), nil
}
