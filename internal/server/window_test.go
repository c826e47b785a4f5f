package server_test

import (
	"testing"
	"time"

	"github.com/alidade/alidade/internal/dashboard"
	"github.com/alidade/alidade/internal/meta"
)

// TestRelativeRangesEndNow: over HTTP, a relative range is exactly
// [now − D, now) on /api/v1/query and /api/v1/metrics, whose previous
// period is exactly [now − 2D, now − D); points a second inside an edge
// count and points a second outside do not.
func TestRelativeRangesEndNow(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	now := time.Now().UnixMilli()
	const day = int64(24 * 3600 * 1000)
	var pts []aePoint
	for _, edge := range []int64{now - 2*day, now - day} {
		for _, off := range []int64{-120_000, -30_000, -5_000, -1_000, 1_000, 5_000, 30_000, 120_000} {
			pts = append(pts, aePoint{Dataset: "requests", Timestamp: edge + off, Indexes: []string{"GET /x"}, Doubles: []float64{10, 200}})
		}
	}
	for _, off := range []int64{-120_000, -30_000, -5_000, -1_000} {
		pts = append(pts, aePoint{Dataset: "requests", Timestamp: now + off, Indexes: []string{"GET /x"}, Doubles: []float64{10, 200}})
	}
	e.write(W, pts)
	count := func(from, to int64) float64 {
		n := 0.0
		for _, p := range pts {
			if p.Timestamp >= from && p.Timestamp < to {
				n++
			}
		}
		return n
	}
	parse := func(s string) int64 {
		t.Helper()
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return x.UnixMilli()
	}

	var m dashboard.Metrics
	if code := e.call("GET", "/api/v1/metrics?range=24h", R, nil, nil, &m); code != 200 || m.Meta == nil || m.Previous == nil {
		t.Fatalf("GET metrics = %d %+v", code, m)
	}
	from, to := parse(m.Meta.From), parse(m.Meta.To)
	if to-from != day || parse(m.Meta.PreviousFrom) != from-day || parse(m.Meta.PreviousTo) != from {
		t.Errorf("meta = %+v; want 24h back from now and the 24h before", m.Meta)
	}
	if to < now || to > time.Now().UnixMilli() {
		t.Errorf("meta.to = %s; want the time of the request", m.Meta.To)
	}
	// 8 each when the request is answered within a second of now (the
	// reference follows meta whatever the delay).
	if want := count(from, to); m.Requests != want || want < 6 {
		t.Errorf("requests = %v; want %v (points from %s to %s)", m.Requests, want, m.Meta.From, m.Meta.To)
	}
	if want := count(from-day, from); m.Previous.Requests != want || want < 6 {
		t.Errorf("previous requests = %v; want %v", m.Previous.Requests, want)
	}

	code, a := e.query(R, `{"dataset":"requests","range":"24h","aggregations":{"n":{"type":"count"}}}`)
	if code != 200 || len(a.Rows) != 1 {
		t.Fatalf("query = %d %+v", code, a)
	}
	from, to = parse(a.Meta["from"].(string)), parse(a.Meta["to"].(string))
	if to-from != day || to < now {
		t.Errorf("query meta %v; want 24h back from now", a.Meta)
	}
	if got, want := a.Rows[0]["n"], count(from, to); got != want {
		t.Errorf("query count = %v; want %v", got, want)
	}
}
