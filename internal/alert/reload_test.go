package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/query"
)

// Two managers over one store are two nodes of a cluster: what one does,
// the other shows after Reload.
func TestReloadMirrors(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, nil)
	rc := newReceiver(t)
	b := e.open() // the other node
	e.exec.add("requests", e.now.Add(-time.Second), 1, 1, 1)
	body := fmt.Sprintf(`{"name":"chat errors","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":2},"for":"0s","every":"10s","notify":[{"type":"webhook","url":%q}]}`, rc.srv.URL)
	sp, err := b.Decode(1, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	made, err := b.Create(ctx, 1, sp)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown to A until it reloads.
	if _, err := e.m.Get(1, made.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("A's Get before Reload = %v; want not found", err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if l := e.m.List(1); len(l) != 1 || l[0].Spec.Name != "chat errors" || !l[0].Created.Equal(made.Created) {
		t.Fatalf("A's List after Reload = %+v", l)
	}

	// A evaluates: firing, notified once. B shows it after its reload.
	if v := e.tick(0); v.State.State != StateFiring || v.Pending != 0 {
		t.Fatalf("A after the tick: %+v pending %d", v.State, v.Pending)
	}
	if bodies, _ := rc.take(); len(bodies) != 1 {
		t.Fatalf("notifications = %q; want 1", bodies)
	}
	if v, _ := b.Get(1, made.ID); v.State.State != StateOK {
		t.Fatalf("B before its reload: %+v", v.State)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := b.Get(1, made.ID)
	if err != nil || v.State.State != StateFiring || v.State.Seq != 1 || !v.State.LastEvaluation.Equal(e.now) ||
		!v.NextEvaluation.Equal(e.now.Add(10*time.Second)) {
		t.Fatalf("B after its reload: %+v next %v, %v", v.State, v.NextEvaluation, err)
	}
	if h, _ := b.History(1, made.ID); len(h) < 2 || h[0].Kind != EntryNotification || !h[0].OK {
		t.Fatalf("B's history after its reload: %+v", h)
	}
	// B never evaluates (its loop does not run): ticking it is the test's
	// way to check that its copy of the outbox is empty.
	b.Tick(ctx, e.now)
	if bodies, _ := rc.take(); len(bodies) != 0 {
		t.Fatalf("B's tick sent %q", bodies)
	}

	// Changed on B: A takes the new spec and the restarted state.
	sp2, _ := b.Decode(1, []byte(strings.Replace(body, `"value":2`, `"value":50`, 1)))
	if _, err := b.Update(ctx, 1, made.ID, sp2); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if v := e.rule(made.ID); v.Spec.Condition.Value != 50 || v.State.State != StateOK {
		t.Fatalf("A after B's update: %+v %+v", v.Spec.Condition, v.State)
	}
	if h, _ := e.m.History(1, made.ID); h[0].Kind != EntryUpdated {
		t.Fatalf("A's latest entry after B's update: %+v", h[0])
	}

	// Deleted on A: gone from B.
	if err := e.m.Delete(ctx, 1, made.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(1, made.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B's Get after A's delete and a reload = %v; want not found", err)
	}
	// A record that cannot be read is Reload's error; the others load.
	e.st.mu.Lock()
	e.st.recs[99] = Record{ID: 99, Project: 1, Spec: "{", State: "{}"}
	e.st.mu.Unlock()
	if err := b.Reload(ctx); err == nil || !strings.Contains(err.Error(), "alert rule 99") {
		t.Fatalf("Reload with a bad record = %v; want an error naming rule 99", err)
	}
}

// gateExec holds the first query until release is closed.
type gateExec struct {
	query.Executor
	once             sync.Once
	started, release chan struct{}
}

func (g *gateExec) Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error) {
	g.once.Do(func() {
		close(g.started)
		<-g.release
	})
	return g.Executor.Execute(ctx, s)
}

// On the node whose loop runs, Reload never undoes its own work: a rule
// changed elsewhere during its evaluation drops what the evaluation
// found, and a state written elsewhere (older than its own) is ignored
// until the loop stops.
func TestReloadWhileRunning(t *testing.T) {
	ctx := context.Background()
	gate := &gateExec{started: make(chan struct{}), release: make(chan struct{})}
	e := newTestEnv(t, func(o *Options) {
		gate.Executor = o.Exec
		o.Exec = gate
	})
	rc := newReceiver(t)
	b := e.open()
	e.exec.add("requests", e.now.Add(-time.Second), 1, 1, 1)
	body := fmt.Sprintf(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":2},"for":"0s","every":"10s","notify":[{"type":"webhook","url":%q}]}`, rc.srv.URL)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.m.Run(rctx) }()
	defer func() { stop(); <-done }()
	v := e.create(body) // on A, whose loop evaluates it at once
	select {
	case <-gate.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not evaluate the new rule")
	}
	// Mid-evaluation, B changes the rule so that it no longer breaches.
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	sp2, _ := b.Decode(1, []byte(strings.Replace(body, `"value":2`, `"value":50`, 1)))
	if _, err := b.Update(ctx, 1, v.ID, sp2); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	// The evaluation of the old spec (a breach) is dropped; the new spec
	// is evaluated: ok, and nothing notified.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := e.m.Get(1, v.ID)
		if !got.State.LastEvaluation.IsZero() {
			if got.State.State != StateOK || got.Spec.Condition.Value != 50 {
				t.Fatalf("after the evaluation: %+v %+v; want ok under the new condition", got.State, got.Spec.Condition)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed rule was not evaluated")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if bodies, _ := rc.take(); len(bodies) != 0 {
		t.Fatalf("notified %q; the breach was found under the old spec", bodies)
	}

	// A state written elsewhere, firing with a notification to send: the
	// running node keeps its own.
	stale := State{State: StateFiring, Seq: 7, Outbox: []Delivery{{Seq: 7, State: StateFiring, NextAt: e.now}}}
	if err := e.st.PutAlertState(ctx, v.ID, marshal(stale)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.rule(v.ID); got.State.State != StateOK || got.Pending != 0 {
		t.Fatalf("the running node took a state written elsewhere: %+v pending %d", got.State, got.Pending)
	}
	// Once its loop stops, it mirrors the store.
	stop()
	<-done
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.rule(v.ID); got.State.State != StateFiring || got.Pending != 1 {
		t.Fatalf("a stopped node's reload: %+v pending %d; want the store's state", got.State, got.Pending)
	}
}
