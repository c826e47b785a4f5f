package rollup

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSketchQuantiles checks the sketch against exact weighted quantiles on
// several distributions, and against sketches-go's own DDSketch on the same
// bins (the value at rank floor(q·(W-1)) is what DDSketch returns).
func TestSketchQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"lognormal":   func() float64 { return math.Exp(3 + 1.5*rng.NormFloat64()) },
		"uniform":     func() float64 { return 1 + 999*rng.Float64() },
		"negative":    func() float64 { return -math.Exp(rng.NormFloat64()) },
		"tiny":        func() float64 { return 1e-9 * (1 + rng.Float64()) },
		"huge":        func() float64 { return 1e300 * (1 + rng.Float64()) },
		"integers":    func() float64 { return float64(rng.IntN(50)) },
		"with-zeros":  func() float64 { return float64(rng.IntN(2)) * math.Exp(rng.NormFloat64()) },
		"mixed-signs": func() float64 { return rng.NormFloat64() },
	}
	qs := []float64{0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}
	for name, gen := range dists {
		for _, n := range []int{1, 2, 7, 100, 20000} {
			var s sketch
			xs := make([]wx, n)
			for i := range xs {
				xs[i] = wx{gen(), uint64([]int{1, 1, 5, 20}[rng.IntN(4)])}
				s.add(xs[i].x, xs[i].w)
			}
			sort.Slice(xs, func(i, j int) bool { return xs[i].x < xs[j].x })
			var a acc
			a.addSketch(&s)
			got := make([]float64, len(qs))
			if !a.quantiles(qs, got) {
				t.Fatalf("%s/%d: no values", name, n)
			}
			dd := s.toDDSketch()
			for i, q := range qs {
				exact, bound := refQuantile(xs, q, RelativeAccuracy)
				if math.Abs(got[i]-exact) > bound*(1+1e-12) {
					t.Errorf("%s/%d: q%v = %v, exact %v (bound %v)", name, n, q, got[i], exact, bound)
				}
				// DDSketch answers the representative of the value at rank
				// floor(q·(W-1)) (ceil for negative values).
				r := q * (dd.GetCount() - 1)
				lower, upper := refAtRank(xs, uint64(math.Floor(r))), refAtRank(xs, uint64(math.Ceil(r)))
				want, err := dd.GetValueAtQuantile(q)
				near := func(x float64) bool { return math.Abs(want-x) <= RelativeAccuracy*math.Abs(x)*(1+1e-9) }
				if err != nil || !near(lower) && !near(upper) {
					t.Errorf("%s/%d: sketches-go q%v = %v (%v), values at the ranks around %v: %v, %v", name, n, q, want, err, r, lower, upper)
				}
			}
		}
	}
}

func TestSketchMergeAndPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all sketch
	parts := make([]sketch, 5)
	for i := range 5000 {
		x := math.Exp(rng.NormFloat64()*2) * float64(1-2*rng.IntN(2))
		if i%50 == 0 {
			x = 0
		}
		w := uint64(1 + rng.IntN(3))
		all.add(x, w)
		parts[rng.IntN(5)].add(x, w)
	}
	parts[1].freeze()
	parts[3].freeze()
	var m sketch
	for i := range parts {
		m.merge(&parts[i])
	}
	if !slices.Equal(binsOf(&m), binsOf(&all)) || m.zero != all.zero {
		t.Fatal("merged sketch differs from the sketch of all values")
	}
	m.freeze()
	if got, err := checkPacked(m.packed); err != nil || got+m.zero != all.count() {
		t.Fatalf("packed sketch counts %d (%v), want %d", got, err, all.count())
	}
	m.thaw()
	if !slices.Equal(m.bins, binsOf(&all)) {
		t.Fatal("thawed sketch differs")
	}
	// The accumulator's sketch round-trips too.
	var a acc
	a.addSketch(&parts[0])
	a.addSketch(&parts[1])
	s := a.sketch()
	var want sketch
	want.merge(&parts[0])
	want.merge(&parts[1])
	if !slices.Equal(binsOf(&s), binsOf(&want)) || s.zero != want.zero {
		t.Fatal("accumulator sketch differs from merge")
	}
}

func binsOf(s *sketch) []bin {
	var out []bin
	s.each(func(ord int32, n uint64) { out = append(out, bin{ord, n}) })
	return out
}

func TestCheckPackedRejects(t *testing.T) {
	good := appendPacked(nil, []bin{{ordBias + 3, 2}, {ordBias + 9, 1}})
	if _, err := checkPacked(good); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string][]byte{
		"empty":        {},
		"descending":   appendPacked(nil, []bin{{ordBias + 9, 2}, {ordBias + 3, 1}}),
		"repeated":     appendPacked(nil, []bin{{ordBias + 3, 2}, {ordBias + 3, 1}}),
		"zero count":   appendPacked(nil, []bin{{ordBias + 3, 0}}),
		"zero ord":     appendPacked(nil, []bin{{0, 1}}),
		"out of range": appendPacked(nil, []bin{{ordBias + maxKey + 1, 1}}),
		"trailing":     append(slices.Clone(good), 0),
		"truncated":    good[:len(good)-1],
	} {
		if _, err := checkPacked(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// merge is an independent merge of two sketches (sorted bin lists), to
// check the accumulator against.
func (s *sketch) merge(o *sketch) {
	s.zero += o.zero
	if o.packed == nil && len(o.bins) == 0 {
		return
	}
	if s.packed == nil && len(s.bins) == 0 {
		if o.packed != nil {
			s.packed = o.packed // immutable once packed: safe to share
		} else {
			s.bins = slices.Clone(o.sortedBins())
			s.clean = len(s.bins)
		}
		return
	}
	if s.packed != nil {
		s.thaw()
	}
	var ob []bin
	if o.packed != nil {
		ob = appendUnpacked(nil, o.packed)
	} else {
		ob = o.sortedBins()
	}
	s.normalize()
	s.bins = mergeSortedBins(s.bins, ob)
	s.clean = len(s.bins)
}

// mergeSortedBins merges two sorted bin lists into a new one.
func mergeSortedBins(a, b []bin) []bin {
	out := make([]bin, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].ord < b[j].ord:
			out = append(out, a[i])
			i++
		case a[i].ord > b[j].ord:
			out = append(out, b[j])
			j++
		default:
			out = append(out, bin{ord: a[i].ord, n: a[i].n + b[j].n})
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
