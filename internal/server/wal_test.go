package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
		code, a, retry := e.walPost("walds", W, "", ndjson(now-int64(i), 200, fmt.Sprint("b", i)))
		switch code {
		case 200:
			acked++
		case 429:
			full++
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Errorf("429 with Retry-After %q; want a number of seconds", retry)
			}
			if a.Error.Code != "log_full" || !strings.Contains(a.Error.Message, "nothing in this request was stored") {
				t.Errorf("429 answer %+v; want code log_full saying nothing was stored", a.Error)
			}
		default:
			t.Fatalf("write = %d %+v", code, a)
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
	// The loader drained the log: writes are taken again.
	if code, a, _ := e.walPost("walds", W, "", ndjson(now, 200, "after")); code != 200 {
		t.Fatalf("write after the loader drained the log = %d %+v; want 200", code, a)
	}
	if raw, rolled := e.countBoth(R, "walds"); raw != float64(700+200*acked) || rolled != raw {
		t.Errorf("after a write once drained: raw %v, rollup %v; want %d", raw, rolled, 700+200*acked)
	}

	// Idempotency with the log: a retry replays.
	body := ndjson(now, 10, "k")
	if code, _, replayed := e.idemPost("/api/v1/datasets/walds/points", W, "wal-key", body); code != 200 || replayed {
		t.Fatalf("keyed write = %d replayed=%v", code, replayed)
	}
	if code, _, replayed := e.idemPost("/api/v1/datasets/walds/points", W, "wal-key", body); code != 200 || !replayed {
		t.Fatalf("keyed retry = %d replayed=%v; want replayed", code, replayed)
	}
	if raw, _ := e.countBoth(R, "walds"); raw != float64(710+200*acked) {
		t.Errorf("after a keyed write and its retry: %v; want %d", raw, 710+200*acked)
	}
}

// walPost writes an ndjson body to a dataset (with an Idempotency-Key
// when idemKey is set) and returns the status, the answer and the
// Retry-After header.
func (e *env) walPost(dataset, key, idemKey, body string) (int, writeAnswer, string) {
	e.t.Helper()
	resp, data := e.postNDJSON("/api/v1/datasets/"+dataset+"/points", key, idemKey, body)
	var a writeAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		e.t.Fatalf("write answer %q: %v", data, err)
	}
	return resp.StatusCode, a, resp.Header.Get("Retry-After")
}

// countByIndex returns the stored (raw) point count of each index1 value
// of a dataset over the last two days.
func (e *env) countByIndex(key, dataset string) map[string]float64 {
	e.t.Helper()
	code, a := e.query(key, fmt.Sprintf(`{"dataset":%q,"range":"48h","source":"raw","groupBy":["index1"],"aggregations":{"n":{"type":"count"}},"limit":10000}`, dataset))
	if code != 200 {
		e.t.Fatalf("count %s by index = %d %+v", dataset, code, a)
	}
	out := map[string]float64{}
	for _, r := range a.Rows {
		idx, _ := r["index1"].(string)
		out[idx], _ = r["n"].(float64)
	}
	return out
}

// TestWALDiskFull: with the write-ahead log on a disk that fills up,
// writes get 507 disk_full with Retry-After and a message saying nothing
// of them was stored; nothing of them is stored, every write acknowledged
// before is intact, and once the disk has room the same writes succeed
// (one with an Idempotency-Key is stored once, its retry replayed).
func TestWALDiskFull(t *testing.T) {
	var full atomic.Bool
	var refused atomic.Int64
	e := newEnv(t, envOptions{wal: &servertest.WALOptions{Write: func(f *os.File, b []byte) (int, error) {
		if full.Load() {
			// Part of the group reaches the file, then there is no room.
			refused.Add(1)
			n, _ := f.Write(b[:len(b)/2])
			return n, syscall.ENOSPC
		}
		return f.Write(b)
	}}})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	now := time.Now().UnixMilli()
	want := map[string]float64{}
	for i := range 3 {
		tag := fmt.Sprint("ok", i)
		if code, a, _ := e.walPost("diskds", W, "", ndjson(now-int64(i), 100, tag)); code != 200 {
			t.Fatalf("write %s = %d %+v", tag, code, a)
		}
		want[tag] = 100
	}

	// The disk fills: concurrent writes, one with an Idempotency-Key.
	full.Store(true)
	const writers = 6
	bodies := make([]string, writers)
	idem := func(i int) string {
		if i == 0 {
			return "disk-full-key"
		}
		return ""
	}
	var wg sync.WaitGroup
	for i := range writers {
		bodies[i] = ndjson(now-int64(i), 50, fmt.Sprint("full", i))
		wg.Go(func() {
			code, a, retry := e.walPost("diskds", W, idem(i), bodies[i])
			if code != http.StatusInsufficientStorage || a.Error.Code != "disk_full" {
				t.Errorf("write %d on a full disk = %d %+v; want 507 disk_full", i, code, a.Error)
			}
			if msg := a.Error.Message; !strings.Contains(msg, "disk is full") || !strings.Contains(msg, "nothing in this request was stored") ||
				!strings.Contains(msg, "nothing acknowledged before is lost") {
				t.Errorf("disk_full message %q does not say the disk is full, nothing of the request was stored, nothing acknowledged is lost", msg)
			}
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Errorf("507 with Retry-After %q; want a number of seconds", retry)
			}
			if a.Accepted != 0 {
				t.Errorf("507 answer accepts %d points", a.Accepted)
			}
		})
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Fatal("no write reached the full disk")
	}
	if got := e.countByIndex(R, "diskds"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the refused writes the store holds %v; want %v (what was acknowledged, nothing refused)", got, want)
	}
	if raw, rolled := e.countBoth(R, "diskds"); raw != 300 || rolled != 300 {
		t.Errorf("after the refused writes: raw %v, rollup %v; want 300", raw, rolled)
	}

	// Room again: the same writes are taken, each stored once.
	full.Store(false)
	for i := range writers {
		code, a, _ := e.walPost("diskds", W, idem(i), bodies[i])
		if code != 200 || a.Accepted != 50 {
			t.Fatalf("write %d once the disk has room = %d %+v; want 200 accepting 50", i, code, a)
		}
		want[fmt.Sprint("full", i)] = 50
	}
	if code, _, replayed := e.idemPost("/api/v1/datasets/diskds/points", W, "disk-full-key", bodies[0]); code != 200 || !replayed {
		t.Errorf("retry of the keyed write = %d replayed=%v; want 200 replayed", code, replayed)
	}
	if got := e.countByIndex(R, "diskds"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("once the disk has room the store holds %v; want %v", got, want)
	}
	if raw, rolled := e.countBoth(R, "diskds"); raw != 600 || rolled != 600 {
		t.Errorf("once the disk has room: raw %v, rollup %v; want 600", raw, rolled)
	}
}

// TestWALAdminSeesAcknowledgedWrites: with the write-ahead log, the
// dataset endpoints wait for the writes acknowledged before them to be
// loaded, as queries do: right after the first write to a dataset, while
// the loader is still busy, it exists for PATCH, its schema and rollups.
func TestWALAdminSeesAcknowledgedWrites(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	e := newEnv(t, envOptions{wal: &servertest.WALOptions{Target: func(t loader.Target) loader.Target { g.Target = t; return g }}})
	W, A := e.keys[meta.KindWrite], e.keys[meta.KindAdmin]
	now := time.Now().UnixMilli()
	for i, req := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/datasets/fresh0", `{"retention":"30d"}`},
		{"GET", "/api/v1/datasets/fresh1/schema", ""},
		{"POST", "/api/v1/rollups/rebuild", `{"dataset":"fresh2"}`},
	} {
		// The loader holds the write until shortly after the request.
		g.mu.Lock()
		g.open = make(chan struct{})
		open := g.open
		g.mu.Unlock()
		if code, a, _ := e.walPost(fmt.Sprint("fresh", i), W, "", ndjson(now, 10, "f")); code != 200 {
			t.Fatalf("write = %d %+v", code, a)
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			close(open)
		}()
		var body any
		if req.body != "" {
			body = req.body
		}
		if code := e.call(req.method, req.path, A, body, nil, nil); code != 200 {
			t.Errorf("%s %s right after the first write = %d; want 200", req.method, req.path, code)
		}
	}
}

// down fails the loader's appends with store.ErrUnavailable while set, as
// a cluster's loader fails while ClickHouse is stopped.
type down struct {
	loader.Target
	on atomic.Bool
}

func (d *down) AppendAt(ctx context.Context, b []store.Batch, pos store.LogPos) error {
	if d.on.Load() {
		return &store.UnavailableError{What: "clickhouse 127.0.0.1:9000", Err: syscall.ECONNREFUSED}
	}
	return d.Target.AppendAt(ctx, b, pos)
}

// TestWALFullStoreDown: while the store cannot be reached, writes are
// acknowledged into the log until it is full, then answered 503
// store_unavailable with Retry-After (not 429: backing off a second does
// not cure it); once the store is back, every acknowledged write is stored.
func TestWALFullStoreDown(t *testing.T) {
	d := &down{}
	d.on.Store(true)
	e := newEnv(t, envOptions{wal: &servertest.WALOptions{MaxBytes: 256 << 10, Target: func(t loader.Target) loader.Target { d.Target = t; return d }}})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	now := time.Now().UnixMilli()
	acked := 0
	for i := range 400 {
		code, a, retry := e.walPost("downds", W, "", ndjson(now-int64(i), 200, fmt.Sprint("d", i)))
		if code == 200 {
			acked++
			continue
		}
		if code != 503 || a.Error.Code != "store_unavailable" || !strings.Contains(a.Error.Message, "--wal-max") {
			t.Fatalf("write %d = %d %+v; want 200, or 503 store_unavailable naming --wal-max", i, code, a.Error)
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 {
			t.Errorf("503 with Retry-After %q; want a number of seconds", retry)
		}
		break
	}
	if acked < 10 || acked == 400 {
		t.Fatalf("%d writes acknowledged with the store down; want some, then 503 once the log is full", acked)
	}
	d.on.Store(false)
	if raw, _ := e.countBoth(R, "downds"); raw != float64(200*acked) {
		t.Errorf("after the store came back: %v points; want %d (every acknowledged write)", raw, 200*acked)
	}
}
