package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Two managers over one store are two nodes of a cluster: what one does,
// the other shows after Reload; the node whose loop runs keeps its own
// states but takes a newer run made elsewhere.
func TestReload(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Bool
	s := site(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(503)
		}
	})
	e := newTestEnv(t, nil)
	b, err := New(ctx, e.m.opts) // the other node
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"name":"api","type":"http","url":%q,"every":"10s","expect":{"status":[200]}}`, s.URL)
	sp, err := b.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	made, err := b.Create(ctx, 1, sp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Get(1, made.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("A's Get before Reload = %v; want not found", err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if l := e.m.List(1); len(l) != 1 || l[0].Spec.Name != "api" || l[0].State != StatePending {
		t.Fatalf("A's List after Reload = %+v", l)
	}

	// A runs it: B shows the run after its reload, and its next run.
	t0 := e.clock.Now()
	e.m.Tick(ctx, t0)
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := b.Get(1, made.ID)
	if err != nil || v.State != StateUp || v.LastRun == nil || !v.LastRun.At.Equal(t0) || !v.NextRun.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("B after its reload: %+v, %v", v, err)
	}

	// A's loop runs: a state written elsewhere with an older run is not
	// taken; one with a newer run (a run asked for on B) is.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.m.Run(rctx) }()
	defer func() { stop(); <-done }()
	for !e.m.running.Load() {
		time.Sleep(time.Millisecond)
	}
	older := State{Status: StateDown, Failures: 3, LastRun: &Run{Type: TypeHTTP, At: t0.Add(-time.Second)}}
	if err := e.st.PutCheckState(ctx, made.ID, marshal(older)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.m.Get(1, made.ID); v.State != StateUp || !v.LastRun.At.Equal(t0) {
		t.Fatalf("the running node took an older state: %+v", v)
	}
	fail.Store(true)
	e.clock.Add(2 * time.Second)
	if _, err := b.RunNow(ctx, 1, made.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.m.Get(1, made.ID); v.State != StateDown || v.Failures != 1 || !v.LastRun.At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("the running node after a run on B: %+v", v)
	}
	stop()
	<-done

	// Changed on B: A takes the new spec, its state restarts.
	sp2, _ := b.Decode([]byte(strings.Replace(body, `"10s"`, `"1m"`, 1)))
	if _, err := b.Update(ctx, 1, made.ID, sp2); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.m.Get(1, made.ID); v.Spec.Every != "1m" || v.State != StatePending {
		t.Fatalf("A after B's update: %+v", v)
	}
	// Deleted on B: gone from A.
	if err := b.Delete(ctx, 1, made.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Get(1, made.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("A's Get after B's delete = %v; want not found", err)
	}
	e.st.mu.Lock()
	e.st.checks[99] = Record{ID: 99, Project: 1, Spec: "[", State: "{}"}
	e.st.mu.Unlock()
	if err := e.m.Reload(ctx); err == nil || !strings.Contains(err.Error(), "check 99") {
		t.Fatalf("Reload with a bad record = %v; want an error naming check 99", err)
	}
}
