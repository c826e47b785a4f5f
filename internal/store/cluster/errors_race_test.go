//go:build cluster

package cluster_test

// The windows between a batch's steps on a cluster (errtrack.SharedStore:
// the groups' ids, the events' insert into ClickHouse, then the
// PostgreSQL transaction that claims and counts), on a real PostgreSQL
// and a real clickhouse-server.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store/cluster"
	"github.com/alidade/alidade/internal/store/postgres"
)

// hookedStore is a node's store that runs afterInsert once a batch's
// events are in ClickHouse, before the transaction that counts them.
type hookedStore struct {
	*cluster.Store
	afterInsert func()
}

func (h *hookedStore) CommitErrors(ctx context.Context, c errtrack.Commit) error {
	err := h.Store.CommitErrors(ctx, c)
	if err == nil && len(c.Events) > 0 && h.afterInsert != nil {
		h.afterInsert()
	}
	return err
}

// hookedNode is e.node with a hook after the insert.
func (e *env) hookedNode(t *testing.T, db string, afterInsert func()) (*cluster.Store, *errtrack.Tracker) {
	t.Helper()
	st, _ := e.node(t, db, func() time.Time { return time.UnixMilli(t0) })
	return st, tracker(t, &hookedStore{Store: st, afterInsert: afterInsert}, func() time.Time { return time.UnixMilli(t0) })
}

// testCommitFailsAfterInsert: PostgreSQL goes down after a batch's events
// reached ClickHouse: the batch fails, nothing is counted, and the SDK's
// retry is recorded once; the event reads once though its row is there
// twice.
func (e *env) testCommitFailsAfterInsert(t *testing.T) {
	ctx := context.Background()
	db := e.database(t)
	var once sync.Once
	armed := false
	_, tr := e.hookedNode(t, db, func() {
		if armed {
			once.Do(e.pg.Stop)
		}
	})
	out, err := tr.Record(ctx, []*errtrack.Incoming{event(t, 1, "Key", "1.0", "u", t0)})
	if err != nil {
		t.Fatal(err)
	}
	gid := out[0].GroupID
	armed = true
	in := event(t, 2, "Key", "1.0", "u", t0+1000)
	_, err = tr.Record(ctx, []*errtrack.Incoming{in})
	e.pg.Start()
	if !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("Record with PostgreSQL going down after the insert = %v; want meta.ErrUnavailable", err)
	}
	if g, err := tr.GroupByID(ctx, 1, gid); err != nil || g.Count != 1 {
		t.Fatalf("group after the failed commit: %+v, %v; want count 1", g, err)
	}
	retry := event(t, 2, "Key", "1.0", "u", t0+2000)
	out, err = tr.Record(ctx, []*errtrack.Incoming{retry})
	if err != nil || out[0].Duplicate || out[0].GroupID != gid {
		t.Fatalf("the SDK's retry: %+v, %v; want recorded in group %d", out, err, gid)
	}
	if out, err := tr.Record(ctx, []*errtrack.Incoming{retry}); err != nil || !out[0].Duplicate {
		t.Fatalf("the retry sent again: %+v, %v; want a duplicate", out, err)
	}
	if g, err := tr.GroupByID(ctx, 1, gid); err != nil || g.Count != 2 {
		t.Fatalf("group after the retry: %+v, %v; want count 2", g, err)
	}
	if n := e.rows(t, db, in.Event.EventID); n != 2 {
		t.Errorf("rows of the event in ClickHouse: %d; want 2 (the failed batch's and the retry's)", n)
	}
	evs, err := tr.Events(ctx, 1, gid, 100, 0)
	if err != nil || len(evs) != 2 || evs[0].EventID != in.Event.EventID || evs[0].Received != t0+2000 {
		t.Fatalf("Events = %+v, %v; want events 2 (the retry's row) and 1, each once", evs, err)
	}
	if ev, err := tr.EventByID(ctx, 1, in.Event.EventID); err != nil || ev.GroupID != gid || ev.Received != t0+2000 {
		t.Fatalf("EventByID = %+v, %v", ev, err)
	}
}

// rows counts an event's rows in ClickHouse.
func (e *env) rows(t *testing.T, db, eventID string) int {
	t.Helper()
	out, err := e.ch.Query(fmt.Sprintf("SELECT count() FROM %s.error_events WHERE event_id = '%s'", db, eventID))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(strings.TrimSpace(out), &n)
	return n
}

// testNodesRaceOnAnEvent: the same events reach two nodes at once, and
// both insert them before either claims them: each is counted once, by
// one node, the other's answer being a duplicate; each reads once.
func (e *env) testNodesRaceOnAnEvent(t *testing.T) {
	ctx := context.Background()
	db := e.database(t)
	// Each node's insert waits for the other's: both have the events in
	// ClickHouse before either transaction runs.
	var wg sync.WaitGroup
	wg.Add(2)
	barrier := func() { wg.Done(); wg.Wait() }
	_, a := e.hookedNode(t, db, barrier)
	_, b := e.hookedNode(t, db, barrier)
	var batch []*errtrack.Incoming
	for n := range 5 {
		batch = append(batch, event(t, n, []string{"Key", "Type"}[n%2], "1.0", fmt.Sprint("u", n), t0+int64(n)))
	}
	outs := make([][]errtrack.Outcome, 2)
	errs := make([]error, 2)
	var done sync.WaitGroup
	for i, tr := range []*errtrack.Tracker{a, b} {
		done.Go(func() { outs[i], errs[i] = tr.Record(ctx, batch) })
	}
	done.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Record on A, B = %v, %v", errs[0], errs[1])
	}
	groups := map[int64]bool{}
	for j := range batch {
		if outs[0][j].Duplicate == outs[1][j].Duplicate {
			t.Errorf("event %d: outcomes %+v on A, %+v on B; want one recorded, one duplicate", j, outs[0][j], outs[1][j])
		}
		for i := range 2 {
			if !outs[i][j].Duplicate {
				groups[outs[i][j].GroupID] = true
			}
		}
	}
	var total int64
	for gid := range groups {
		g, err := a.GroupByID(ctx, 1, gid)
		if err != nil {
			t.Fatal(err)
		}
		total += g.Count
		evs, err := b.Events(ctx, 1, gid, 100, 0)
		if err != nil || int64(len(evs)) != g.Count {
			t.Errorf("group %d counts %d; Events lists %d, %v", gid, g.Count, len(evs), err)
		}
	}
	if len(groups) != 2 || total != 5 {
		t.Errorf("%d groups counting %d events; want 2 counting 5", len(groups), total)
	}
	for _, in := range batch {
		if n := e.rows(t, db, in.Event.EventID); n != 2 {
			t.Errorf("rows of event %s: %d; want 2 (both nodes inserted it)", in.Event.EventID, n)
		}
	}
}

// testExpiredWhileStored: retention deletes a group between a batch's
// insert (which named the group's id) and its transaction: the group
// comes back with that id, counting the batch's event alone.
func (e *env) testExpiredWhileStored(t *testing.T) {
	ctx := context.Background()
	db := e.database(t)
	var meta *postgres.Store
	armed := false
	st, tr := e.hookedNode(t, db, func() {
		if armed {
			armed = false
			if n, err := meta.ExpireErrorGroups(ctx, 1, t0+1_000_000); err != nil || n != 1 {
				t.Errorf("ExpireErrorGroups = %d, %v; want 1", n, err)
			}
		}
	})
	meta = st.Store
	out, err := tr.Record(ctx, []*errtrack.Incoming{event(t, 1, "Key", "1.0", "u", t0)})
	if err != nil {
		t.Fatal(err)
	}
	gid := out[0].GroupID
	armed = true
	in := event(t, 2, "Key", "1.1", "u", t0+1000)
	out, err = tr.Record(ctx, []*errtrack.Incoming{in})
	if err != nil || out[0].GroupID != gid || !out[0].New || out[0].Duplicate {
		t.Fatalf("an event of a group expired as it was stored: %+v, %v; want group %d created again", out, err, gid)
	}
	if g, err := tr.GroupByID(ctx, 1, gid); err != nil || g.Count != 1 || g.LastRelease != "1.1" {
		t.Fatalf("group: %+v, %v; want count 1, release 1.1", g, err)
	}
	if ev, err := tr.EventByID(ctx, 1, in.Event.EventID); err != nil || ev.GroupID != gid {
		t.Fatalf("EventByID = %+v, %v; want group %d", ev, err, gid)
	}
}
