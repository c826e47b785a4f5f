package sampling

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// BenchmarkSample measures the sampler on the commit path: batches of 10,000
// points every 10 ms (a million points per second), reported per point.
func BenchmarkSample(b *testing.B) {
	const batch = 10_000
	mk := func(dataset string, index func(i int) string) []point.Point {
		pts := make([]point.Point, batch)
		for i := range pts {
			pts[i] = point.Point{Dataset: dataset, Index: index(i), Blobs: []string{"/api/x", "GET"}, Doubles: []float64{float64(i), 200}}
		}
		return pts
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 9_999)
	cases := []struct {
		name string
		pts  []point.Point
	}{
		// No dataset has a budget: the default.
		{"off", mk("plain", func(int) string { return "/api/x" })},
		// One index value at a million points per second over a budget of 1,000.
		{"hot", mk("d", func(int) string { return "/api/x" })},
		// 10,000 index values, Zipf-distributed: a few hot, a long tail kept whole.
		{"zipf", mk("d", func(int) string { return "/api/" + strconv.FormatUint(zipf.Uint64(), 10) })},
		// 10,000 index values, each well under the budget: every point kept.
		{"cold", mk("d", func(i int) string { return "/api/" + strconv.Itoa(i) })},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := New(func(_ int64, dataset string) float64 {
				if dataset == "d" {
					return 1000
				}
				return 0
			}, DefaultOptions())
			in := []store.Batch{{Project: 1, Points: c.pts}}
			now := time.Unix(1_800_000_000, 0)
			b.ReportAllocs()
			for b.Loop() {
				s.Sample(in, now)
				now = now.Add(10 * time.Millisecond)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/point")
		})
	}
}
