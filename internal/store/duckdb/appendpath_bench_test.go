package duckdb

import (
	"context"
	"database/sql/driver"
	"syscall"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/store"
)

// BenchmarkAppendPath compares the store's chunk appender with duckdb-go's
// public Appender (AppendRow) on the same rows: 100,000 request points per
// transaction into a day table, one writer. Reports points/s and the
// process's CPU per point (both cores).
func BenchmarkAppendPath(b *testing.B) {
	const batch = 100_000
	ctx := context.Background()
	pts := requestPoints(batch, time.Now().UnixMilli())
	b.Run("chunk", func(b *testing.B) {
		s, err := Open(ctx, Options{Dir: b.TempDir(), MemoryLimit: "1GB", WriteLanes: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		c0 := processCPU()
		b.ResetTimer()
		for range b.N {
			if err := s.Append(ctx, []store.Batch{{Project: 1, Points: pts}}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
		b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N*batch), "cpu-ns/point")
	})
	b.Run("public", func(b *testing.B) {
		s, err := Open(ctx, Options{Dir: b.TempDir(), MemoryLimit: "1GB", WriteLanes: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		// One append through the store makes the day file and its table.
		if err := s.Append(ctx, []store.Batch{{Project: 1, Points: pts[:1]}}); err != nil {
			b.Fatal(err)
		}
		l := <-s.lanes
		defer func() { s.lanes <- l }()
		p := s.parts[dayOf(pts[0].Timestamp)]
		var app *duckdb.Appender
		if err := l.conn.Raw(func(dc any) error {
			var err error
			app, err = duckdb.NewAppenderWithColumns(dc.(driver.Conn), p.alias, "main", "requests", columnNames(p.tables["requests"]))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		defer app.Close()
		row := make([]driver.Value, 10)
		c0 := processCPU()
		b.ResetTimer()
		for range b.N {
			if _, err := l.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
				b.Fatal(err)
			}
			for i := range pts {
				pt := &pts[i]
				row[0], row[1], row[2], row[3] = int32(1), pt.Timestamp, uint32(1), pt.Index
				for j, s := range pt.Blobs {
					row[4+j] = s
				}
				for j, x := range pt.Doubles {
					row[7+j] = x
				}
				if err := app.AppendRow(row...); err != nil {
					b.Fatal(err)
				}
			}
			if err := app.Flush(); err != nil {
				b.Fatal(err)
			}
			if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
		b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N*batch), "cpu-ns/point")
	})
}

// processCPU is the process's CPU time, user and system, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
