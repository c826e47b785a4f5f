package storetest

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// now is the suite's clock: fixed, so that a failure reproduces exactly.
// Backends take the time as an argument (Expire) and accept any timestamp
// (Append), so nothing in the suite reads the wall clock.
var now = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

const (
	minuteMs = int64(60 * 1000)
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
)

// endpoints are the index values of "requests", most popular first.
var endpoints = []string{
	"/api/users", "/api/orders", "/health", "/api/v2/search", "/api/users/:id",
	"/api/orders/:id", "/login", "/api/v2/cart", "/static/app.js", "/api/products",
	"/logout", "/api/v2/checkout",
}

var (
	methods = []string{"GET", "POST", "PUT"}
	regions = []string{"us-east", "us-west", "eu-central", "eu-west", "ap-south"}
)

// requestFields names the columns of "requests".
var (
	fMethod  = blob(1)
	fRegion  = blob(2)
	fLatency = double(1)
	fStatus  = double(2)
)

// gen makes reproducible random points.
type gen struct {
	rng      *rand.Rand
	epWeight []float64 // cumulative popularity of endpoints
}

func newGen(seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	total := 0.0
	for i := range endpoints {
		// Zipf-like: the first endpoint is about 12 times as popular as the last.
		total += 1 / math.Pow(float64(i+1), 1.0)
		g.epWeight = append(g.epWeight, total)
	}
	for i := range g.epWeight {
		g.epWeight[i] /= total
	}
	return g
}

func (g *gen) endpoint() string {
	u := g.rng.Float64()
	for i, w := range g.epWeight {
		if u < w {
			return endpoints[i]
		}
	}
	return endpoints[len(endpoints)-1]
}

// pick returns one of xs with probabilities ps (which sum to 1).
func (g *gen) pick(xs []string, ps ...float64) string {
	u := g.rng.Float64()
	for i, p := range ps {
		if u < p {
			return xs[i]
		}
		u -= p
	}
	return xs[len(xs)-1]
}

func (g *gen) status() float64 {
	switch u := g.rng.Float64(); {
	case u < 0.90:
		return 200
	case u < 0.97:
		return 404
	default:
		return 500
	}
}

// latency is lognormal, rounded to 0.1 ms so that values repeat.
func (g *gen) latency() float64 {
	return math.Round(math.Exp(3.2+0.9*g.rng.NormFloat64())*10) / 10
}

// request returns a point of "requests" at ts. Its sample interval is 0 or 1
// (both read as 1).
func (g *gen) request(ts int64) point.Point {
	return point.Point{
		Dataset:        "requests",
		Timestamp:      ts,
		Index:          g.endpoint(),
		Blobs:          []string{g.pick(methods, 0.6, 0.3), g.pick(regions, 0.35, 0.25, 0.2, 0.15)},
		Doubles:        []float64{g.latency(), g.status()},
		SampleInterval: uint32(g.rng.IntN(2)),
	}
}

// requests returns n points of "requests" with timestamps in [from, to).
func (g *gen) requests(n int, from, to int64) []point.Point {
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = g.request(from + g.rng.Int64N(to-from))
	}
	return pts
}
