package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// rnd is a random source with the draws the generators need.
type rnd struct{ *rand.Rand }

func newRnd(seed, stream uint64) rnd {
	return rnd{rand.New(rand.NewPCG(seed^stream, splitmix(seed+stream)))}
}

func (r rnd) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(int(math.Round(mean+r.NormFloat64()*math.Sqrt(mean))), 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// lognormal returns a value with the given median and spread (sigma).
func (r rnd) lognormal(median, sigma float64) float64 {
	return median * math.Exp(r.NormFloat64()*sigma)
}

func (r rnd) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (r rnd) chance(p float64) bool { return r.Float64() < p }

// hex16 is 16 random hex digits (a visit id, a span id).
func (r rnd) hex16() string { return hex64(r.Uint64()) }

// hex32 is 32 random hex digits (an event id, a trace id).
func (r rnd) hex32() string { return hex64(r.Uint64()) + hex64(r.Uint64()) }

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// splitmix is SplitMix64's mix: a good hash of one number.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// timeline is when things happen in the period: the deploy of release
// 1.5.0, and when a bug it fixed comes back.
type timeline struct {
	start, end int64
	deploy     int64 // tutor@1.5.0 replaces tutor@1.4.0
	regress    int64 // the retriever's index bug, fixed in 1.5.0, is back
}

// Releases of the tutoring platform (its API and its web app ship
// together).
const (
	releaseOld = "tutor@1.4.0"
	releaseNew = "tutor@1.5.0"
)

func newTimeline(start, end int64) timeline {
	span := end - start
	at := func(frac float64) int64 {
		t := start + int64(float64(span)*frac)
		return t - t%int64(time.Hour/time.Millisecond)
	}
	return timeline{start: start, end: end, deploy: max(at(0.55), start), regress: max(at(0.82), start)}
}

// sendable says whether error tracking may get what happened at ts: the
// server stamps an item older than its retention with its arrival time,
// and the envelopes go after the points, so the period's first hour is
// left out (with --days as long as the retention, it may have passed).
func (t timeline) sendable(ts int64) bool {
	return ts >= t.start+int64(time.Hour/time.Millisecond) && ts < t.end
}

func (t timeline) release(ts int64) string {
	if ts < t.deploy {
		return releaseOld
	}
	return releaseNew
}

func itoa(n int) string { return strconv.Itoa(n) }
