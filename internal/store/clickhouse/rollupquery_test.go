package clickhouse

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// ordOf is the Go twin of sketchOrdSQL (for the tests).
func ordOf(x float64) int64 {
	if math.Abs(x) < 1e-300 {
		return 0
	}
	k := int64(math.Ceil(math.Log(math.Abs(x))/math.Log(sketchGamma))) + sketchBias
	if x < 0 {
		return -k
	}
	return k
}

func TestSketchValueWithinAccuracy(t *testing.T) {
	for _, x := range []float64{1e-299, 1e-9, 0.001, 0.5, 1, 1.0001, 7.3, 99.99, 1e6, 3.7e200, -0.25, -1234.5} {
		got := sketchValue(ordOf(x))
		if rel := math.Abs(got-x) / math.Abs(x); rel > SketchAccuracy*(1+1e-9) {
			t.Errorf("sketchValue(ordOf(%v)) = %v: %.6f off; want within %v", x, got, rel, SketchAccuracy)
		}
	}
	if v := sketchValue(ordOf(0)); v != 0 {
		t.Errorf("sketchValue(ordOf(0)) = %v; want 0", v)
	}
}

// sketchText prints bins of slot as sumMap answers them.
func sketchText(slot int, bins []sketchBin) string {
	var ks, ns []string
	for _, b := range bins {
		ks = append(ks, fmt.Sprint(uint64(slot)<<sketchSlotBits+uint64(b.ord+sketchOffset)))
		ns = append(ns, fmt.Sprint(b.n))
	}
	return "([" + strings.Join(ks, ",") + "],[" + strings.Join(ns, ",") + "])"
}

func TestSketchQuantiles(t *testing.T) {
	// Weighted values; the exact quantile interpolates as quantile_cont
	// over the values repeated by weight.
	vals := []float64{-3, 0, 0.5, 1, 2, 2, 10, 250, 251, 1000}
	weights := []uint64{1, 2, 1, 3, 1, 1, 2, 1, 1, 1}
	var rep []float64
	byOrd := map[int64]uint64{}
	for i, v := range vals {
		for range weights[i] {
			rep = append(rep, v)
		}
		byOrd[ordOf(v)] += weights[i]
	}
	sort.Float64s(rep)
	var bins []sketchBin
	for o, n := range byOrd {
		bins = append(bins, sketchBin{o, n})
	}
	slices.SortFunc(bins, func(a, b sketchBin) int { return int(a.ord - b.ord) })
	// Another slot's bins in the answer are skipped.
	txt := sketchText(1, bins)
	txt = strings.Replace(txt, "],[", ","+fmt.Sprint(uint64(2)<<sketchSlotBits+sketchOffset)+"],[", 1)
	txt = strings.Replace(txt, "])", ",9])", 1)
	got, err := parseSketch([]byte(txt), 1)
	if err != nil {
		t.Fatalf("parseSketch(%q) = %v", txt, err)
	}
	if !slices.Equal(got, bins) {
		t.Fatalf("parseSketch = %v; want %v", got, bins)
	}
	qs := []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99}
	out := make([]float64, len(qs))
	if !sketchQuantiles(got, qs, out) {
		t.Fatal("sketchQuantiles = false")
	}
	for i, q := range qs {
		p := q * float64(len(rep)-1)
		lo, hi := rep[int(math.Floor(p))], rep[int(math.Ceil(p))]
		want := lo + (hi-lo)*(p-math.Floor(p))
		if math.Abs(out[i]-want) > SketchAccuracy*math.Max(math.Abs(lo), math.Abs(hi))+1e-12 {
			t.Errorf("q%v = %v; want %v within %v", q, out[i], want, SketchAccuracy)
		}
	}
	if sketchQuantiles(nil, qs, out) {
		t.Error("sketchQuantiles(no bins) = true; want false")
	}
}

func TestParseSketchErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "want ([keys],[counts])"},
		{"([1],[2]", "want ([keys],[counts])"},
		{"([1,2],[3])", "2 keys and 1 counts"},
		{"([x],[1])", "key 0"},
		{"([16777216],[-1])", "count 0"},
		{fmt.Sprintf("([%d,%d],[1,1])", 1<<24+5, 1<<24+5), "not ascending"},
	} {
		_, err := parseSketch([]byte(c.in), 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseSketch(%q) = %v; want an error saying %q", c.in, err, c.want)
		}
	}
	if b, err := parseSketch([]byte("([],[])"), 1); err != nil || len(b) != 0 {
		t.Errorf("parseSketch(empty) = %v, %v; want no bins", b, err)
	}
}

func FuzzParseSketch(f *testing.F) {
	f.Add([]byte("([],[])"), 1)
	f.Add([]byte(sketchText(1, []sketchBin{{-sketchBias - 3, 2}, {0, 1}, {sketchBias + 10, 7}})), 1)
	f.Add([]byte(sketchText(3, []sketchBin{{sketchBias, 1}})), 3)
	f.Fuzz(func(t *testing.T, b []byte, slot int) {
		bins, err := parseSketch(b, slot)
		if err != nil {
			return
		}
		for i := 1; i < len(bins); i++ {
			if bins[i].ord <= bins[i-1].ord {
				t.Fatalf("parseSketch(%q) = %v: not ascending", b, bins)
			}
		}
		out := make([]float64, 2)
		if sketchQuantiles(bins, []float64{0.5, 0.99}, out) && out[0] > out[1] && !math.IsInf(out[0], 0) {
			t.Fatalf("quantiles of %v: q0.5 %v > q0.99 %v", bins, out[0], out[1])
		}
	})
}

func TestRollupSpans(t *testing.T) {
	const m, h, d = 60_000, 3_600_000, 86_400_000
	day := int64(20_000) * d
	for _, c := range []struct {
		from, to, interval, cover int64
	}{
		{day, day + 2*d, 0, 0},                   // day[0s,48h)
		{day + 17_001, day + 2*d - 13, h, 0},     // points, minutes, hours, minutes, points
		{day, day + d, 5 * m, 0},                 // minute[0s,24h)
		{day + 30*m, day + 3*h, 0, day + 20*m},   // minute[0s,30m) hour[30m,2h30m)
		{day - 30*m, day + 2*h, 0, day - 40*m},   // minute, hour, hour: a day cut
		{day + 1000, day + 2000, 0, 0},           // points[0s,1s)
		{day + 5*h, day + d + 3*m, 0, day + 5*h}, // hours, minutes: no whole day
	} {
		var parts []string
		next := c.from
		for _, s := range rollupSpans(c.from, c.to, c.interval, c.cover) {
			if s.from != next || s.from >= s.to {
				t.Fatalf("rollupSpans(%+v): span %+v after %d", c, s, next)
			}
			name := "points"
			if s.tier != nil {
				name = map[int64]string{m: "minute", h: "hour", d: "day"}[s.tier.ms]
				if s.from%s.tier.ms != 0 || s.to%s.tier.ms != 0 || (c.interval != 0 && c.interval%s.tier.ms != 0) {
					t.Errorf("rollupSpans(%+v): %s span [%d, %d) not whole buckets of the tier and interval", c, name, s.from, s.to)
				}
				if s.from < c.cover {
					t.Errorf("rollupSpans(%+v): %s span from %d before the cover", c, name, s.from)
				}
			}
			parts = append(parts, fmt.Sprintf("%s[%v,%v)", name, time.Duration(s.from-c.from)*time.Millisecond, time.Duration(s.to-c.from)*time.Millisecond))
			next = s.to
		}
		if next != c.to {
			t.Fatalf("rollupSpans(%+v) ends at %d; want %d", c, next, c.to)
		}
		t.Logf("%s", strings.Join(parts, " "))
	}
}
