package loader

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/sampling"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/wal"
)

// requestBatch is n request-like points from start, one a 10 µs apart:
// 50 endpoints, 3 blobs, 3 doubles, as the bench sends.
func requestBatch(n int, start int64, seed int) store.Batch {
	pts := make([]point.Point, n)
	for i := range pts {
		k := (i*7 + seed) % 50
		ep := fmt.Sprintf("/api/v1/endpoint/%d", k)
		status := 200.0
		if (i+seed)%37 == 0 {
			status = 503
		}
		pts[i] = point.Point{Dataset: "requests", Timestamp: start + int64(i/100), Index: ep,
			Blobs: []string{ep, "GET", "eu-west"}, Doubles: []float64{float64((i*31+seed)%997) + 0.5, status, float64(1000 + i%5000)}}
	}
	return store.Batch{Project: 1, Points: pts}
}

// BenchmarkLoad: the loader replaying a log of 10,000-point records into
// the planner (rollups and sampling on) over the DuckDB store, as serve
// wires them. Reports points/s loaded.
func BenchmarkLoad(b *testing.B) {
	const per, records = 10_000, 100
	ctx := context.Background()
	dir := b.TempDir()
	start := time.Now().Add(-time.Hour).UnixMilli()
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		lg, err := wal.Open(wal.Options{Dir: filepath.Join(dir, fmt.Sprint("wal", i)), MaxBytes: 64 << 30})
		if err != nil {
			b.Fatal(err)
		}
		for j := range records {
			bt := requestBatch(per, start+int64(j*per/100), j)
			if _, err := lg.Append(ctx, &bt); err != nil {
				b.Fatal(err)
			}
		}
		dopts := duckdb.DefaultOptions()
		dopts.Dir, dopts.MemoryLimit = filepath.Join(dir, fmt.Sprint("s", i)), "1GB"
		st, err := duckdb.Open(ctx, dopts)
		if err != nil {
			b.Fatal(err)
		}
		smp := sampling.New(st.Sampling, sampling.DefaultOptions())
		pl, err := planner.Open(ctx, st, planner.Options{Dir: filepath.Join(dopts.Dir, "rollups"), Spec: planner.SchemaSpec(st.Schema), Sample: smp.Sample, Flush: smp.Flush})
		if err != nil {
			b.Fatal(err)
		}
		ld := New(lg, pl, Options{})
		c0 := cpuTime()
		b.StartTimer()
		_, pts, err := ld.Replay(ctx)
		b.StopTimer()
		cpu += cpuTime() - c0
		if err != nil || pts != per*records {
			b.Fatalf("Replay = %d points, %v", pts, err)
		}
		pl.Close(ctx)
		st.Close()
		lg.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*per*records)/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*per*records), "cpu-ns/point")
}

// cpuTime is the process's CPU time, user and system, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
