package sampling

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// t0 is the start of every simulated stream, on a window boundary.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// budgetOf returns a budget function from a table of "project/dataset" budgets.
func budgetOf(m map[string]float64) func(int64, string) float64 {
	return func(project int64, dataset string) float64 {
		return m[strconv.FormatInt(project, 10)+"/"+dataset]
	}
}

// tallyKey is one index value in one window of arrival time.
type tallyKey struct {
	project int64
	dataset string
	index   string
	win     int64
}

type tally struct {
	points int64
	weight uint64
}

// tallies counts points and their weights per index value and window; a
// point's window is its Timestamp's, which the streams set to its arrival.
func tallies(batches []store.Batch) map[tallyKey]tally {
	m := map[tallyKey]tally{}
	for _, b := range batches {
		for i := range b.Points {
			p := &b.Points[i]
			k := tallyKey{b.Project, p.Dataset, p.Index, floorDiv(p.Timestamp, 1000)}
			t := m[k]
			t.points++
			t.weight += uint64(p.Weight())
			m[k] = t
		}
	}
	return m
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rates is a stream's arrivals per second for each index value of dataset
// "d" in project 1.
type rates map[string]int

// stream makes calls of one second of arrivals at the given rates: calls
// per second, each at its own time, with each index value's points spread
// evenly and interleaved. Points carry their arrival time as Timestamp, a
// running number as double1 and blob1, and weight w.
type call struct {
	now     time.Time
	batches []store.Batch
}

func second(start time.Time, r rates, callsPerSecond int, w uint32, seq *int) []call {
	idx := make([]string, 0, len(r))
	for k := range r {
		idx = append(idx, k)
	}
	slices.Sort(idx)
	calls := make([]call, callsPerSecond)
	need := make([]int, len(idx))
	for c := range calls {
		now := start.Add(time.Duration(c) * time.Second / time.Duration(callsPerSecond))
		total := 0
		for i, index := range idx {
			// The arrivals of this index value due by the end of call c.
			need[i] = r[index]*(c+1)/callsPerSecond - r[index]*c/callsPerSecond
			total += need[i]
		}
		pts := make([]point.Point, 0, total)
		for len(pts) < total {
			for i, index := range idx {
				if need[i] == 0 {
					continue
				}
				need[i]--
				*seq++
				pts = append(pts, point.Point{Dataset: "d", Index: index, Timestamp: now.UnixMilli(),
					Blobs: []string{"p" + strconv.Itoa(*seq)}, Doubles: []float64{float64(*seq)}, SampleInterval: w})
			}
		}
		calls[c] = call{now: now, batches: []store.Batch{{Project: 1, Points: pts}}}
	}
	return calls
}

// run feeds calls to a sampler and returns the input and what it stored,
// with a final Flush.
func run(s *Sampler, calls []call) (in, out []store.Batch) {
	for _, c := range calls {
		in = append(in, c.batches...)
		out = append(out, s.Sample(c.batches, c.now)...)
	}
	return in, append(out, s.Flush()...)
}

func seconds(r []rates, callsPerSecond int, w uint32) []call {
	var calls []call
	seq := 0
	for i, ri := range r {
		calls = append(calls, second(t0.Add(time.Duration(i)*time.Second), ri, callsPerSecond, w, &seq)...)
	}
	return calls
}

// checkConserved requires, per index value and window, the stored weight to
// equal the arrived weight.
func checkConserved(t *testing.T, in, out []store.Batch) {
	t.Helper()
	want, got := tallies(in), tallies(out)
	for k, w := range want {
		if got[k].weight != w.weight {
			t.Errorf("index %q of %d/%s, window %d: stored weight %d; want %d (arrived)", k.index, k.project, k.dataset, k.win, got[k].weight, w.weight)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("index %q of %d/%s, window %d: stored weight %d; want nothing (no arrival)", k.index, k.project, k.dataset, k.win, g.weight)
		}
	}
}

func TestOffIsIdentity(t *testing.T) {
	s := New(budgetOf(map[string]float64{"1/on": 10, "1/neg": -5, "1/nan": math.NaN()}), DefaultOptions())
	off := []point.Point{{Dataset: "off", Index: "a", Timestamp: 1}, {Dataset: "neg", Index: "a", SampleInterval: 7}, {Dataset: "nan", Index: "b"}}
	in := []store.Batch{{Project: 1, Points: off}, {Project: 2, Points: []point.Point{{Dataset: "on", Index: "a"}}}}
	out := s.Sample(in, t0)
	if len(out) != len(in) || &out[0] != &in[0] || &out[1].Points[0] != &in[1].Points[0] {
		t.Fatalf("Sample(no budget) = %v; want the input itself", out)
	}

	// Next to a sampled dataset, batches without one are returned as they
	// are, and points without one inside a sampled batch are unchanged.
	var hot []point.Point
	for i := range 1000 {
		hot = append(hot, point.Point{Dataset: "on", Index: "a", Timestamp: t0.UnixMilli(), Doubles: []float64{float64(i)}})
	}
	mixed := append(slices.Clone(off), hot...)
	in = []store.Batch{{Project: 1, Points: off}, {Project: 1, Points: mixed}}
	for range 3 { // the second window samples with a stride from the first
		out = s.Sample(in, t0.Add(time.Second))
	}
	if &out[0].Points[0] != &off[0] {
		t.Errorf("Sample: the batch without a budget was copied; want it returned as it is")
	}
	var kept []point.Point
	for _, b := range out[1:] {
		for _, p := range b.Points {
			if p.Dataset != "on" {
				kept = append(kept, p)
			}
		}
	}
	if !reflect.DeepEqual(kept, off) {
		t.Errorf("Sample: points without a budget in a sampled batch = %v; want %v unchanged", kept, off)
	}
}

func TestColdIndexKeepsEveryPoint(t *testing.T) {
	const budget = 100
	s := New(budgetOf(map[string]float64{"1/d": budget}), DefaultOptions())
	r := rates{"hot": 50_000, "cold": budget, "rare": 3}
	calls := seconds([]rates{r, r, r, r, r, r}, 50, 0)
	in, out := run(s, calls)
	checkConserved(t, in, out)

	var inCold, outCold []point.Point
	for _, b := range in {
		for _, p := range b.Points {
			if p.Index != "hot" {
				inCold = append(inCold, p)
			}
		}
	}
	for _, b := range out {
		for _, p := range b.Points {
			if p.Index != "hot" {
				outCold = append(outCold, p)
			}
		}
	}
	if !reflect.DeepEqual(outCold, inCold) {
		t.Errorf("cold points stored = %d; want all %d, unchanged and in order", len(outCold), len(inCold))
	}

	got := tallies(out)
	for win := t0.Unix(); win < t0.Unix()+6; win++ {
		n := got[tallyKey{1, "d", "hot", win}].points
		limit := int64(budget + 1)
		if win == t0.Unix() {
			// The first window has no rate to go by: the stride doubles
			// each time another budget is stored.
			limit = int64(budget*(1+math.Log2(1+50_000/budget))) + 1
		}
		if n > limit || n < budget/2 {
			t.Errorf("hot points stored in window %d = %d; want %d to %d", win-t0.Unix(), n, budget/2, limit)
		}
	}
}

func TestBudgetPerIndex(t *testing.T) {
	for _, budget := range []float64{1, 7, 100, 1000} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			s := New(budgetOf(map[string]float64{"1/d": budget}), DefaultOptions())
			r := rates{}
			for _, rate := range []float64{0.5, 1, 1.5, 3, 10, 100} {
				if n := int(rate * budget); n > 0 {
					r["x"+strconv.Itoa(n)] = n
				}
			}
			in, out := run(s, seconds([]rates{r, r, r, r}, 20, 1))
			checkConserved(t, in, out)
			want, got := tallies(in), tallies(out)
			for k, w := range want {
				g := got[k]
				switch {
				case k.win == t0.Unix():
					// The first window is checked by TestStrideAdapts.
				case float64(w.points) <= budget:
					if g.points != w.points {
						t.Errorf("%s in window %d: stored %d of %d points; want all (under the budget)", k.index, k.win-t0.Unix(), g.points, w.points)
					}
				case float64(g.points) > budget+1 || float64(g.points) < budget/2:
					t.Errorf("%s in window %d: stored %d of %d points; want %v to %v", k.index, k.win-t0.Unix(), g.points, w.points, budget/2, budget+1)
				}
			}
		})
	}
}

func TestStrideAdapts(t *testing.T) {
	const budget = 100
	s := New(budgetOf(map[string]float64{"1/d": budget}), DefaultOptions())
	steps := []rates{{"k": 50}, {"k": 100_000}, {"k": 100_000}, {"k": 10}, {"k": 10}}
	in, out := run(s, seconds(steps, 10, 0))
	checkConserved(t, in, out)
	got := tallies(out)
	stored := func(i int) int64 { return got[tallyKey{1, "d", "k", t0.Unix() + int64(i)}].points }
	if n := stored(0); n != 50 {
		t.Errorf("window 0 (50 arrivals): stored %d; want 50", n)
	}
	// The jump: stride 1 until a budget is stored, then 2, 4, …
	if n, limit := stored(1), int64(budget*(1+math.Log2(1+100_000/budget)))+1; n > limit || n < budget {
		t.Errorf("window 1 (jump to 100000): stored %d; want %d to %d", n, budget, limit)
	}
	if n := stored(2); n > budget+1 || n < budget/2 {
		t.Errorf("window 2 (steady 100000): stored %d; want %d to %d", n, budget/2, budget+1)
	}
	// The drop: the stride from window 2 (1000) makes one group of the 10.
	if n := stored(3); n != 1 {
		t.Errorf("window 3 (drop to 10): stored %d; want 1 point standing for 10", n)
	}
	if n := stored(4); n != 10 {
		t.Errorf("window 4 (steady 10): stored %d; want 10", n)
	}
}

func TestClientWeightsMultiply(t *testing.T) {
	const budget = 10
	s := New(budgetOf(map[string]float64{"1/d": budget}), DefaultOptions())
	r := rates{"k": 1000}
	in, out := run(s, seconds([]rates{r, r, r}, 1, 5))
	checkConserved(t, in, out)
	// Window 1, one call of 1000 points of weight 5: stride 100, so ten
	// points each standing for 500.
	var w []uint32
	for _, b := range out {
		for _, p := range b.Points {
			if p.Timestamp/1000 == t0.Unix()+1 {
				w = append(w, p.SampleInterval)
			}
		}
	}
	if want := slices.Repeat([]uint32{500}, 10); !slices.Equal(w, want) {
		t.Errorf("window 1 stored intervals %v; want %v", w, want)
	}
}

func TestWeightConservedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	weights := []uint32{0, 1, 1, 1, 5, 20, math.MaxUint32 / 3, math.MaxUint32}
	budgets := map[string]float64{"1/a": 5, "1/b": 50, "2/a": 1, "2/c": 1000}
	s := New(budgetOf(budgets), Options{MaxKeysPerDataset: 8, Seed: 9})
	var in, out []store.Batch
	now := t0
	seq := 0
	for range 2000 {
		now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		var batches []store.Batch
		for range 1 + rng.IntN(3) {
			project := int64(1 + rng.IntN(2))
			var pts []point.Point
			for range rng.IntN(200) {
				seq++
				pts = append(pts, point.Point{
					Dataset:        []string{"a", "b", "c", "off"}[rng.IntN(4)],
					Index:          "i" + strconv.Itoa(int(rng.ExpFloat64()*3)), // some hot, a long tail past the cap
					Timestamp:      now.UnixMilli(),
					Doubles:        []float64{float64(seq)},
					SampleInterval: weights[rng.IntN(len(weights))],
				})
			}
			batches = append(batches, store.Batch{Project: project, Points: pts})
		}
		in = append(in, batches...)
		got := s.Sample(batches, now)
		for _, b := range got {
			for _, p := range b.Points {
				if p.Timestamp/1000 > now.Unix() {
					t.Fatalf("Sample at %v stored a point of window %d", now, p.Timestamp/1000)
				}
			}
		}
		out = append(out, got...)
	}
	// Past the cap, index values share the overflow key and their weights
	// mix: conservation is per dataset and window here (per index value in
	// TestWeightConservedPerIndexRandom).
	perDataset := func(b []store.Batch) map[tallyKey]uint64 {
		m := map[tallyKey]uint64{}
		for k, t := range tallies(b) {
			k.index = ""
			m[k] += t.weight
		}
		return m
	}
	// Before Flush, every window before the latest is complete.
	want, got := perDataset(in), perDataset(out)
	for k, w := range want {
		if k.win < now.Unix() && got[k] != w {
			t.Errorf("before Flush: %d/%s, window %d: stored weight %d; want %d", k.project, k.dataset, k.win, got[k], w)
		}
	}
	out = append(out, s.Flush()...)
	if w, g := perDataset(in), perDataset(out); !reflect.DeepEqual(w, g) {
		t.Errorf("after Flush: stored weights per dataset and window differ from the arrived ones")
	}
	if st := s.Stats(); st.OpenGroups != 0 {
		t.Errorf("Stats after Flush = %+v; want no open group", st)
	}
}

func TestWeightConservedPerIndexRandom(t *testing.T) {
	// As above, under the cap, with weights and rates that vary: exact per
	// index value and window.
	rng := rand.New(rand.NewPCG(7, 8))
	s := New(budgetOf(map[string]float64{"1/d": 20}), DefaultOptions())
	var calls []call
	seq := 0
	for i := range 30 {
		r := rates{}
		for k := range 6 {
			if rng.IntN(3) > 0 {
				r["k"+strconv.Itoa(k)] = rng.IntN(5000)
			}
		}
		calls = append(calls, second(t0.Add(time.Duration(i)*time.Second), r, 1+rng.IntN(20), uint32(rng.IntN(4)), &seq)...)
	}
	in, out := run(s, calls)
	checkConserved(t, in, out)
}

func TestUnbiased(t *testing.T) {
	// One window of 1000 arrivals at stride 10 (from the window before),
	// values rising within each group: a sampler that kept the first or
	// the last point of each group would be off by 4.5·100 = 450.
	const seeds = 400
	var points []point.Point
	truth := 0.0
	for i := range 1000 {
		x := float64(i % 10)
		truth += x
		points = append(points, point.Point{Dataset: "d", Index: "k", Doubles: []float64{x}})
	}
	warm := make([]point.Point, 1000)
	for i := range warm {
		warm[i] = point.Point{Dataset: "d", Index: "k"}
	}
	var sum, sumSq float64
	for seed := range seeds {
		s := New(budgetOf(map[string]float64{"1/d": 100}), Options{MaxKeysPerDataset: 10, Seed: uint64(seed)})
		s.Sample([]store.Batch{{Project: 1, Points: warm}}, t0)
		out := s.Sample([]store.Batch{{Project: 1, Points: points}}, t0.Add(time.Second))
		est, n := 0.0, 0
		for _, b := range out {
			for _, p := range b.Points {
				if len(p.Doubles) > 0 {
					est += float64(p.Weight()) * p.Doubles[0]
					n++
				}
			}
		}
		if n != 100 {
			t.Fatalf("seed %d: stored %d points; want 100 (stride 10)", seed, n)
		}
		sum += est
		sumSq += est * est
	}
	mean := sum / seeds
	se := math.Sqrt((sumSq/seeds - mean*mean) / seeds)
	if math.Abs(mean-truth) > 4*se || 450 < 20*se {
		t.Errorf("mean estimate of Σx over %d seeds = %.1f ± %.1f; want %.0f within 4 standard errors, and 450 past 20 of them", seeds, mean, se, truth)
	}
}

func TestRepresentativeByWeight(t *testing.T) {
	// Groups of two, weights 1 and 3: the heavier point stands for the
	// group 3 times in 4.
	const groups = 20000
	s := New(budgetOf(map[string]float64{"1/d": 1}), Options{MaxKeysPerDataset: 1, Seed: 3})
	warm := []point.Point{{Dataset: "d", Index: "k"}, {Dataset: "d", Index: "k"}}
	heavy := 0
	for g := range groups {
		// Two arrivals per window: the stride is 2 from the window before.
		now := t0.Add(time.Duration(g) * time.Second)
		if g == 0 {
			s.Sample([]store.Batch{{Project: 1, Points: warm}}, now)
			continue
		}
		out := s.Sample([]store.Batch{{Project: 1, Points: []point.Point{
			{Dataset: "d", Index: "k", Blobs: []string{"light"}, SampleInterval: 1},
			{Dataset: "d", Index: "k", Blobs: []string{"heavy"}, SampleInterval: 3},
		}}}, now)
		var got []point.Point // without the warm-up's last group
		for _, b := range out {
			for _, p := range b.Points {
				if len(p.Blobs) > 0 {
					got = append(got, p)
				}
			}
		}
		if len(got) != 1 || got[0].SampleInterval != 4 {
			t.Fatalf("window %d: stored %v; want one point standing for 4", g, got)
		}
		if got[0].Blobs[0] == "heavy" {
			heavy++
		}
	}
	p := float64(heavy) / (groups - 1)
	if se := math.Sqrt(0.75 * 0.25 / groups); math.Abs(p-0.75) > 4*se {
		t.Errorf("heavier point chosen %.4f of the time; want 0.75 ± %.4f", p, 4*se)
	}
}

func TestDeterministic(t *testing.T) {
	r := rates{"a": 3000, "b": 700, "c": 5}
	calls := seconds([]rates{r, r, r}, 7, 2)
	opts := Options{MaxKeysPerDataset: 2, Seed: 42}
	_, out1 := run(New(budgetOf(map[string]float64{"1/d": 50}), opts), calls)
	_, out2 := run(New(budgetOf(map[string]float64{"1/d": 50}), opts), calls)
	if !reflect.DeepEqual(out1, out2) {
		t.Errorf("two samplers on the same arrivals and clock stored different points")
	}
	opts.Seed = 43
	_, out3 := run(New(budgetOf(map[string]float64{"1/d": 50}), opts), calls)
	if reflect.DeepEqual(out1, out3) {
		t.Errorf("seeds 42 and 43 stored the same points; want different representatives")
	}
}

func TestInputUntouchedAndHeldCopiesOwnTheirMemory(t *testing.T) {
	s := New(budgetOf(map[string]float64{"1/d": 10}), DefaultOptions())
	// Window 1 has stride 500: ten groups, then the stride doubles and the
	// last 250 arrivals are a group left open.
	calls := seconds([]rates{{"k": 5000}, {"k": 5250}}, 3, 1)
	for _, c := range calls {
		before := deepCopy(c.batches[0].Points)
		s.Sample(c.batches, c.now)
		if !reflect.DeepEqual(c.batches[0].Points, before) {
			t.Fatalf("Sample modified its input")
		}
		// The caller's buffers are reused once the call returns.
		for i := range c.batches[0].Points {
			p := &c.batches[0].Points[i]
			p.Blobs[0] = "reused"
			p.Doubles[0] = -1
		}
	}
	if st := s.Stats(); st.OpenGroups != 1 {
		t.Fatalf("Stats = %+v; want one open group", st)
	}
	flushed := s.Flush()
	if len(flushed) != 1 || len(flushed[0].Points) != 1 {
		t.Fatalf("Flush = %v; want one point", flushed)
	}
	p := flushed[0].Points[0]
	if p.Blobs[0] != "p"+strconv.Itoa(int(p.Doubles[0])) {
		t.Errorf("flushed point = %+v; want its own blob1 and double1 (p<n> and n), not the reused buffer's", p)
	}
}

func deepCopy(pts []point.Point) []point.Point {
	out := make([]point.Point, len(pts))
	for i, p := range pts {
		out[i] = p
		out[i].Blobs = slices.Clone(p.Blobs)
		out[i].Doubles = slices.Clone(p.Doubles)
	}
	return out
}

func TestKeyCap(t *testing.T) {
	const capKeys = 10
	s := New(budgetOf(map[string]float64{"1/d": 5, "1/e": 5}), Options{MaxKeysPerDataset: capKeys})
	r := rates{}
	for i := range 50 {
		r[fmt.Sprintf("v%02d", i)] = 20
	}
	in, out := run(s, seconds([]rates{r, r}, 4, 1))
	if st := s.Stats(); st.Keys != capKeys+1 {
		t.Errorf("Stats = %+v; want %d keys (the cap and the overflow key)", st, capKeys+1)
	}
	// The first ten values (in order of arrival) are tracked on their own
	// and exact; the overflow values together are exact.
	want, got := tallies(in), tallies(out)
	var overflowIn, overflowOut uint64
	for k, w := range want {
		if k.index < "v10" {
			if got[k].weight != w.weight {
				t.Errorf("%s window %d: stored weight %d; want %d", k.index, k.win-t0.Unix(), got[k].weight, w.weight)
			}
			continue
		}
		overflowIn += w.weight
		overflowOut += got[k].weight
	}
	if overflowOut != overflowIn {
		t.Errorf("overflow values: stored weight %d; want %d", overflowOut, overflowIn)
	}

	// Two windows later the values are idle: new values take their place.
	late := seconds([]rates{{"new": 3}}, 1, 1)
	s.Sample(late[0].batches, t0.Add(4*time.Second))
	if st := s.Stats(); st.Keys != 1 {
		t.Errorf("Stats after the old values went idle = %+v; want 1 key", st)
	}
	// A minute later, idle values and datasets are no longer tracked.
	s.Sample([]store.Batch{{Project: 1, Points: []point.Point{{Dataset: "e", Index: "x"}}}}, t0.Add(5*time.Second))
	if st := s.Stats(); st.Datasets != 2 || st.Keys != 2 {
		t.Errorf("Stats = %+v; want 2 datasets and 2 keys", st)
	}
	s.Sample([]store.Batch{{Project: 1, Points: []point.Point{{Dataset: "d", Index: "late"}}}}, t0.Add(3*time.Minute))
	if st := s.Stats(); st != (Stats{Datasets: 1, Keys: 1}) {
		t.Errorf("Stats after a minute idle = %+v; want only the dataset and value written since", st)
	}
}

func TestConcurrentCallers(t *testing.T) {
	s := New(budgetOf(map[string]float64{"1/d": 30}), DefaultOptions())
	r := rates{"a": 4000, "b": 50, "c": 700}
	var wg sync.WaitGroup
	ins := make([][]store.Batch, 2)
	outs := make([][]store.Batch, 2)
	for g := range 2 {
		calls := seconds([]rates{r, r, r, r}, 25, uint32(g))
		wg.Go(func() {
			for _, c := range calls {
				ins[g] = append(ins[g], c.batches...)
				outs[g] = append(outs[g], s.Sample(c.batches, c.now)...)
			}
		})
	}
	wg.Wait()
	// The callers' clocks interleave, so a call may count in a later
	// window than its points' timestamps say: conservation is per index
	// value over the whole stream here.
	perIndex := func(b []store.Batch) map[string]uint64 {
		m := map[string]uint64{}
		for k, t := range tallies(b) {
			m[k.index] += t.weight
		}
		return m
	}
	in := append(ins[0], ins[1]...)
	out := append(append(outs[0], outs[1]...), s.Flush()...)
	if w, g := perIndex(in), perIndex(out); !reflect.DeepEqual(w, g) {
		t.Errorf("stored weight per index value = %v; want %v", g, w)
	}
}

func TestWeightOverflowSplitsGroup(t *testing.T) {
	s := New(budgetOf(map[string]float64{"1/d": 1}), DefaultOptions())
	big := uint32(math.MaxUint32 / 2)
	warm := slices.Repeat([]point.Point{{Dataset: "d", Index: "k"}}, 100)
	s.Sample([]store.Batch{{Project: 1, Points: warm}}, t0)
	// Stride 100, but three points of weight 2^31-1 do not fit one interval.
	pts := []point.Point{
		{Dataset: "d", Index: "k", SampleInterval: big, Timestamp: 1},
		{Dataset: "d", Index: "k", SampleInterval: big, Timestamp: 2},
		{Dataset: "d", Index: "k", SampleInterval: big, Timestamp: 3},
	}
	out := append(s.Sample([]store.Batch{{Project: 1, Points: pts}}, t0.Add(time.Second)), s.Flush()...)
	var total uint64
	n := 0
	for _, b := range out {
		for _, p := range b.Points {
			if p.Timestamp > 0 { // not the warm-up's last group
				total += uint64(p.Weight())
				n++
			}
		}
	}
	if total != 3*uint64(big) || n != 2 {
		t.Errorf("stored %d points of total weight %d; want 2 points of total %d", n, total, 3*uint64(big))
	}
}

func TestValidateBudget(t *testing.T) {
	for _, c := range []struct {
		pps float64
		ok  bool
	}{{0, true}, {1, true}, {1000, true}, {1.5, true}, {1e6, true}, {0.5, false}, {-1, false}, {1e6 + 1, false}, {math.NaN(), false}, {math.Inf(1), false}} {
		if err := ValidateBudget(c.pps); (err == nil) != c.ok {
			t.Errorf("ValidateBudget(%v) = %v; want ok %v", c.pps, err, c.ok)
		}
	}
	for _, o := range []Options{{}, {MaxKeysPerDataset: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("(%+v).Validate() = nil; want an error", o)
		}
	}
	if o := DefaultOptions(); o.Validate() != nil {
		t.Errorf("DefaultOptions().Validate() = %v; want nil", o.Validate())
	}
}
