package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{{0, 100}, {64 << 20, 100}, {largeLiveHeap - 1, 100}, {largeLiveHeap, 50}, {4 << 30, 50}} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d) = %d; want %d", c.live, got, c.want)
		}
	}
}

// TestTuneGC checks that a large live heap lowers GOGC while tuneGC runs.
func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	live := make([][]byte, 0, 160)
	for range 160 {
		live = append(live, make([]byte, 1<<20))
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tuneGC(ctx, 5*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		if metrics.Read(gogc); gogc[0].Value.Uint64() == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GOGC is still not 50 with 160 MB live")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	runtime.KeepAlive(live)
}
