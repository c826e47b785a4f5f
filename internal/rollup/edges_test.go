package rollup

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// TestEdgeHourPrefetch: a range whose start cuts a compacted hour reads
// that hour's raw points once, and the hour after it in the background,
// so that the same range asked an hour later (its start now in that
// hour) reads no raw point; every answer is exact.
func TestEdgeHourPrefetch(t *testing.T) {
	ctx := context.Background()
	r := New(Options{CoverFrom: T0})
	var pts []point.Point
	for ts := T0; ts < T0+6*hourMs; ts += 7_919 { // about 450 points an hour, at odd instants
		pts = append(pts, point.Point{Dataset: "requests", Timestamp: ts, Index: []string{"/a", "/b"}[ts%2],
			Blobs: []string{"u", "GET", "web"}, Doubles: []float64{float64(ts % 1000), 200}})
	}
	r.AddBatch(1, pts)
	r.Seal(T0 + 6*hourMs)
	r.Compact(T0 + 6*hourMs)

	var mu sync.Mutex
	var reads [][2]int64
	scan := func(ctx context.Context, from, to int64, fn func(*point.Point)) error {
		mu.Lock()
		reads = append(reads, [2]int64{from, to})
		mu.Unlock()
		for i := range pts {
			if p := &pts[i]; p.Timestamp >= from && p.Timestamp < to {
				fn(p)
			}
		}
		return nil
	}
	count := func(from, to int64) float64 {
		var n float64
		for _, p := range pts {
			if p.Timestamp >= from && p.Timestamp < to {
				n++
			}
		}
		return n
	}
	ask := func(from, to int64) {
		t.Helper()
		sub := &query.Sub{Project: 1, Dataset: "requests", From: from, To: to, Aggs: []query.Agg{{Type: query.AggCount}}}
		res, err := r.ExecuteExact(ctx, sub, scan)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Rows[0].Num(0), count(from, to); got != want {
			t.Errorf("%s..%s: count %v; want %v", fmtMs(from), fmtMs(to), got, want)
		}
	}
	// Starts in hour 1, ends in hour 4: both edges are read (hours 1 and
	// 4), and hours 2 and 5 are read ahead.
	from, to := T0+hourMs+17*minuteMs+333, T0+4*hourMs+5*minuteMs+1
	ask(from, to)
	deadline := time.Now().Add(10 * time.Second)
	for r.edgeHours.busy() {
		if time.Now().After(deadline) {
			t.Fatal("the hours after the edges were not read ahead")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, h := range []int64{T0 + 2*hourMs, T0 + 5*hourMs} {
		r.edgeHours.mu.Lock()
		hc := r.edgeHours.m[hourKey{tableKey{1, "requests"}, h}]
		r.edgeHours.mu.Unlock()
		if hc == nil || !hc.ready.Load() {
			t.Errorf("hour %s was not read ahead", fmtMs(h))
		}
	}
	mu.Lock()
	n := len(reads)
	mu.Unlock()
	if n != 4 {
		t.Errorf("reads %v; want hours 1, 4, 2 and 5, once each", reads)
	}
	// An hour later: the edges are in hours 2 and 5, read already.
	ask(from+hourMs, to+hourMs)
	ask(from+hourMs+29*minuteMs, to+hourMs-4*minuteMs)
	for r.edgeHours.busy() {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, rd := range reads[n:] {
		if rd[0] < T0+3*hourMs { // hours 3 (ahead of 2) may be read; 2 and 5 must not
			t.Errorf("read %s..%s again; want it kept", fmtMs(rd[0]), fmtMs(rd[1]))
		}
		if rd[0] == T0+5*hourMs {
			t.Errorf("read %s..%s again; want it kept", fmtMs(rd[0]), fmtMs(rd[1]))
		}
	}
}
