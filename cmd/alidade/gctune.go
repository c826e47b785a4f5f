package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// largeLiveHeap is the live heap from which tuneGC lowers GOGC to 50.
const largeLiveHeap = 128 << 20

// gcPercentFor is the GOGC tuneGC uses for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live >= largeLiveHeap {
		return 50
	}
	return 100
}

// tuneGC keeps the Go heap within half again its live size once that is
// large. The live heap of a server with months of data is mostly the
// rollups' sealed cells, and Go's default (GOGC=100) would let 250 MB of
// them grow to 500 MB between collections; those cells hold no pointers,
// so collecting twice as often costs little. A small heap keeps the
// default, whose floor spares it needless collections. It leaves GOGC
// alone when the environment sets it.
func tuneGC(ctx context.Context, every time.Duration) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(every)
	defer t.Stop()
	pct := 100
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if want := gcPercentFor(sample[0].Value.Uint64()); want != pct {
			debug.SetGCPercent(want)
			pct = want
		}
	}
}
