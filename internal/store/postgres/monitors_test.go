//go:build cluster

package postgres

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/point"
)

// testMonitors: two nodes' registries over one metadata database, each
// remembering only what it did (no notification is followed). Every
// change goes through the stored state, never through what a node
// remembers: the other node's check-ins and sweeps are never undone.
func (srv *server) testMonitors(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	sa, sb := srv.closeAtEnd(t, srv.open(t, url)), srv.closeAtEnd(t, srv.open(t, url))
	var mu sync.Mutex
	var written []point.Point
	write := func(ctx context.Context, project int64, pts []point.Point) error {
		mu.Lock()
		defer mu.Unlock()
		written = append(written, pts...)
		return nil
	}
	a, err := monitors.New(ctx, sa, write, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := monitors.New(ctx, sb, write, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(slug string) monitors.Monitor {
		t.Helper()
		ms, err := sa.Monitors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Slug == slug {
				return m
			}
		}
		t.Fatalf("monitor %q not stored", slug)
		return monitors.Monitor{}
	}
	hourly := &errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: "0 * * * *"}
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixMilli()
	const hour = int64(time.Hour / time.Millisecond)

	// A check-in with the schedule on A, then one without on B (which has
	// not heard of the monitor): the schedule stays and B's check-in moves
	// the next expected time on from it.
	if err := a.CheckIn(ctx, 1, &errtrack.CheckIn{ID: "r1", Slug: "backup", Status: "in_progress", Config: hourly}, t0); err != nil {
		t.Fatal(err)
	}
	if err := b.CheckIn(ctx, 1, &errtrack.CheckIn{ID: "r1", Slug: "backup", Status: "ok"}, t0+hour); err != nil {
		t.Fatal(err)
	}
	m := stored("backup")
	if m.Config == nil || m.Config.Schedule != "0 * * * *" || m.LastStatus != "ok" || m.InProgress != "" || m.NextExpected != t0+2*hour {
		t.Fatalf("after A's in_progress with a schedule and B's ok without: %+v; want the schedule kept, ok, nothing in progress, next at %d", m, t0+2*hour)
	}
	if got := b.List(1); len(got) != 1 || !reflect.DeepEqual(got[0], m) {
		t.Fatalf("B remembers %+v; want what is stored, %+v", got, m)
	}

	// A remembers the monitor as it left it (in progress, due at t0+hour).
	// Its sweep past that time must read the stored state (B's ok moved
	// it on): no missed check-in and no timeout, and B's state kept.
	n, err := a.Sweep(ctx, time.UnixMilli(t0+hour+2*time.Minute.Milliseconds()))
	if err != nil || n != 0 || len(written) != 0 {
		t.Fatalf("A's sweep after B's check-in made %d check-ins (%v), err %v; want none", n, written, err)
	}
	if got := stored("backup"); !reflect.DeepEqual(got, m) {
		t.Fatalf("after A's sweep the monitor is %+v; want B's %+v", got, m)
	}
	// At B's next expected time plus the margin (a minute), to the
	// millisecond: missed, once, whichever node sweeps; 1 ms before, not.
	late := time.UnixMilli(t0 + 2*hour + monitors.DefaultMargin.Milliseconds())
	if n, err := b.Sweep(ctx, late.Add(-time.Millisecond)); err != nil || n != 0 {
		t.Fatalf("B's sweep 1 ms before the margin ends made %d, %v; want 0", n, err)
	}
	if n, err := a.Sweep(ctx, late); err != nil || n != 1 {
		t.Fatalf("A's sweep past the next expected time made %d, %v; want 1 missed", n, err)
	}
	if n, err := b.Sweep(ctx, late); err != nil || n != 0 {
		t.Fatalf("B's sweep after A's made %d, %v; want 0 (A's is stored)", n, err)
	}
	if len(written) != 1 || written[0].Timestamp != t0+2*hour {
		t.Fatalf("check-ins written %v; want one missed at %d", written, t0+2*hour)
	}
	if got := stored("backup"); got.LastStatus != "missed" || got.NextExpected != t0+3*hour {
		t.Fatalf("after the missed check-in: %+v; want missed, next at %d", got, t0+3*hour)
	}

	// Check-ins of new monitors on both nodes at once: each monitor's
	// check-ins apply one after the other, whichever node takes them; the
	// schedule given by the first is never lost.
	const monitorsN, each = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*monitorsN*each)
	for i := range monitorsN {
		slug := fmt.Sprintf("job-%d", i)
		for j := range 2 * each {
			r := a
			if j%2 == 1 {
				r = b
			}
			wg.Go(func() {
				c := &errtrack.CheckIn{ID: fmt.Sprintf("run-%d", j), Slug: slug, Status: "ok"}
				if j == 0 {
					c.Config = hourly
				}
				errs <- r.CheckIn(ctx, 1, c, t0+int64(j))
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range monitorsN {
		slug := fmt.Sprintf("job-%d", i)
		m := stored(slug)
		// The first check-in may come after others (they race), but the
		// schedule it declared is kept by every later one.
		if m.Config == nil || m.Config.Schedule != hourly.Schedule {
			t.Fatalf("%s after concurrent check-ins on two nodes: %+v; want the schedule kept", slug, m)
		}
	}
}
