package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// requestPoints makes n request-like points: 50 endpoints, 3 blobs, 3 doubles.
func requestPoints(n int, start int64) []point.Point {
	eps := make([]string, 50)
	for i := range eps {
		eps[i] = fmt.Sprintf("/api/v1/endpoint/%d", i)
	}
	pts := make([]point.Point, n)
	for i := range pts {
		ep := eps[(i*7)%50]
		pts[i] = point.Point{Dataset: "requests", Timestamp: start + int64(i), Index: ep,
			Blobs: []string{ep, "GET", "eu-west"}, Doubles: []float64{float64(i%997) + 0.5, 200, 1234}}
	}
	return pts
}

// BenchmarkAppend measures durable appends of 100k-point group commits.
func BenchmarkAppend(b *testing.B) {
	for _, lanes := range []int{1, 2} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, Options{Dir: b.TempDir(), MemoryLimit: "1GB", WriteLanes: lanes})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 100_000
			pts := requestPoints(batch, time.Now().UnixMilli())
			b.ReportAllocs()
			b.ResetTimer()
			b.SetParallelism(1)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Append(ctx, []store.Batch{{Project: 1, Points: pts}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
