package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/loader"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
)

// gate holds the loader's appends while closed.
type gate struct {
	loader.Target
	mu   sync.Mutex
	open chan struct{}
}

func (g *gate) AppendAt(ctx context.Context, b []store.Batch, pos store.LogPos) error {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	<-ch
	return g.Target.AppendAt(ctx, b, pos)
}

// TestWALWrites: with the write-ahead log, a write is acknowledged once
// logged; a query sees the writes acknowledged before it; when the loader
// falls behind and the log is full, writes get 429 log_full with
// Retry-After and nothing of them is stored; idempotency keys hold.
func TestWALWrites(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	e := newEnv(t, envOptions{wal: &servertest.WALOptions{MaxBytes: 256 << 10, Target: func(t loader.Target) loader.Target { g.Target = t; return g }}})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	now := time.Now().UnixMilli()

	// Read your writes: each query right after a write sees it.
	for i := range 5 {
		if code, _, _ := e.idemPost("/api/v1/datasets/walds/points", W, "", ndjson(now-int64(i), 100, fmt.Sprint("a", i))); code != 200 {
			t.Fatalf("write %d = %d", i, code)
		}
		if raw, _ := e.countBoth(R, "walds"); raw != float64(100*(i+1)) {
			t.Fatalf("after write %d: %v points visible; want %d", i, raw, 100*(i+1))
		}
	}

	// The loader stalls: writes are acknowledged until the log is full.
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
	acked, full := 0, 0
	for i := range 200 {
		req, _ := http.NewRequest("POST", e.url+"/api/v1/datasets/walds/points", strings.NewReader(ndjson(now-int64(i), 200, fmt.Sprint("b", i))))
		req.Header.Set("Authorization", "Bearer "+W)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			acked++
		case 429:
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			full++
		default:
			t.Fatalf("write = %d", resp.StatusCode)
		}
		if full > 0 {
			break
		}
	}
	if acked == 0 || full == 0 {
		t.Fatalf("%d acknowledged, %d refused as full; want both", acked, full)
	}
	g.mu.Lock()
	close(g.open)
	g.mu.Unlock()
	if raw, rolled := e.countBoth(R, "walds"); raw != float64(500+200*acked) || rolled != raw {
		t.Errorf("after the loader resumed: raw %v, rollup %v; want %d (every acknowledged write, none refused)", raw, rolled, 500+200*acked)
	}

	// Idempotency with the log: a retry replays.
	body := ndjson(now, 10, "k")
	if code, _, replayed := e.idemPost("/api/v1/datasets/walds/points", W, "wal-key", body); code != 200 || replayed {
		t.Fatalf("keyed write = %d replayed=%v", code, replayed)
	}
	if code, _, replayed := e.idemPost("/api/v1/datasets/walds/points", W, "wal-key", body); code != 200 || !replayed {
		t.Fatalf("keyed retry = %d replayed=%v; want replayed", code, replayed)
	}
	if raw, _ := e.countBoth(R, "walds"); raw != float64(510+200*acked) {
		t.Errorf("after a keyed write and its retry: %v; want %d", raw, 510+200*acked)
	}
}
