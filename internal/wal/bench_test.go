package wal

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkAppend: 4 writers of 10,000-point request batches, each
// Append durable (written and fdatasynced, shared by the writers waiting
// together). Reports points/s.
func BenchmarkAppend(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), MaxBytes: 64 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := batchN(1, 10_000, 1)
	rec := AppendRecord(nil, &batch)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan struct{}, b.N)
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	for range 4 {
		wg.Go(func() {
			for range next {
				if _, err := l.Append(context.Background(), &batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkDecode: decoding a 10,000-point record (what replay and the
// loader pay per batch).
func BenchmarkDecode(b *testing.B) {
	batch := batchN(1, 10_000, 1)
	rec := AppendRecord(nil, &batch)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "points/s")
}
