//go:build cluster

package cluster_test

// Error tracking on a real PostgreSQL and a real clickhouse-server (one
// of each, shared by the subtests):
//
//	CI=true ALIDADE_PG_BIN=/usr/lib/postgresql/15/bin go test -tags cluster -run TestErrorsOnCluster ./internal/store/cluster/

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/cluster"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/postgres"
	"github.com/alidade/alidade/internal/testinfra"
)

type env struct {
	pg *testinfra.Postgres
	ch *testinfra.ClickHouse
	n  int
}

// node opens a cluster node's store over a database of the test (db) and
// a tracker over it, with the clock now.
func (e *env) node(t testing.TB, db string, now func() time.Time) (*cluster.Store, *errtrack.Tracker) {
	t.Helper()
	ctx := context.Background()
	m, err := postgres.Open(ctx, postgres.Options{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", e.pg.Port, db)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := clickhouse.Open(ctx, clickhouse.Options{URL: fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", e.ch.HTTPPort, db), Timeout: 10 * time.Second})
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	st := cluster.Open(m, p)
	t.Cleanup(func() { st.Close() })
	return st, tracker(t, st, now)
}

func tracker(t testing.TB, st errtrack.Store, now func() time.Time) *errtrack.Tracker {
	t.Helper()
	o := errtrack.DefaultOptions()
	o.Now = now
	tr, err := errtrack.New(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

// database makes a fresh PostgreSQL database (ClickHouse's is created by
// Open) of the same name.
func (e *env) database(t testing.TB) string {
	t.Helper()
	e.n++
	name := fmt.Sprintf("errs_%d", e.n)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return name
}

const t0 = int64(1_800_000_000_000)

// event is an error event of a kind (the group), a release, a user.
func event(t testing.TB, n int, kind, release, user string, received int64) *errtrack.Incoming {
	t.Helper()
	id := fmt.Sprintf("%032x", 0xe0000+n)
	js := fmt.Sprintf(`{"event_id":%q,"timestamp":%d,"level":"error","platform":"python","release":%q,"environment":"prod",`+
		`"user":{"id":%q},"exception":{"values":[{"type":"%sError","value":"v %d","stacktrace":{"frames":[{"function":"f_%s","module":"app","in_app":true}]}}]}}`,
		id, (received-100)/1000, release, user, kind, n, kind)
	in, err := errtrack.ReadEvent([]byte(js), 1, received, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in.Event.EventID = id
	return in
}

func TestErrorsOnCluster(t *testing.T) {
	e := &env{pg: testinfra.StartPostgres(t), ch: testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})}
	t.Run("TwoNodes", e.testTwoNodes)
	t.Run("Reads", e.testReads)
	t.Run("NodesRaceOnAnEvent", e.testNodesRaceOnAnEvent)
	t.Run("ExpiredWhileStored", e.testExpiredWhileStored)
	t.Run("CommitFailsAfterInsert", e.testCommitFailsAfterInsert)
	// Last: it stops ClickHouse.
	t.Run("Unavailable", e.testUnavailable)
}

// testTwoNodes: two nodes recording events of the same groups at once
// make the groups the embedded store makes of the same events, one
// node's duplicates are the other's, and a status set on one is the
// other's.
func (e *env) testTwoNodes(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.UnixMilli(t0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	db := e.database(t)
	_, a := e.node(t, db, now)
	_, b := e.node(t, db, now)
	emb, err := duckdb.Open(ctx, duckdb.Options{Dir: t.TempDir(), MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	ref := tracker(t, emb, now)

	// 200 events of 3 kinds, from 7 users, over 2 releases, sent in
	// batches of 10 alternately to A and B, all at once.
	kinds := []string{"Key", "Type", "Value"}
	var batches [][]*errtrack.Incoming
	for i := range 20 {
		var batch []*errtrack.Incoming
		for j := range 10 {
			n := i*10 + j
			rel := "1.0"
			if n >= 100 {
				rel = "1.1"
			}
			batch = append(batch, event(t, n, kinds[n%3], rel, fmt.Sprint("u", n%7), t0+int64(n)*1000))
		}
		batches = append(batches, batch)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	for i, batch := range batches {
		tr := a
		if i%2 == 1 {
			tr = b
		}
		wg.Go(func() {
			out, err := tr.Record(ctx, batch)
			if err == nil && len(out) != len(batch) {
				err = fmt.Errorf("%d outcomes for %d events", len(out), len(batch))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The same events, one batch after the other, on the embedded store.
	for _, batch := range batches {
		if _, err := ref.Record(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}

	groups := func(tr *errtrack.Tracker) map[string]errtrack.Group {
		t.Helper()
		gs, err := tr.Groups(ctx, 1, errtrack.GroupFilter{Sort: "count"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]errtrack.Group{}
		for _, g := range gs {
			m[g.Fingerprint] = g
		}
		return m
	}
	// comparable drops what depends on the order the nodes' batches
	// committed in (they raced): the id, the first release seen, the
	// releases' order and the last release.
	comparable := func(g errtrack.Group) errtrack.Group {
		g.ID, g.FirstRelease, g.LastRelease, g.Releases = 0, "", "", nil
		return *g.Clone()
	}
	ga, gb, gr := groups(a), groups(b), groups(ref)
	if len(gr) != 3 || len(ga) != 3 {
		t.Fatalf("groups: cluster %d, embedded %d; want 3", len(ga), len(gr))
	}
	for fp, want := range gr {
		got := ga[fp]
		if !reflect.DeepEqual(ga[fp], gb[fp]) {
			t.Errorf("group %s: node A %+v, node B %+v", fp, ga[fp], gb[fp])
		}
		if got.Users.Count() != want.Users.Count() || !reflect.DeepEqual(comparable(got), comparable(want)) {
			t.Errorf("group %s on the cluster:\n%+v\nembedded:\n%+v", fp, comparable(got), comparable(want))
		}
		if got.Count != 67 && got.Count != 66 {
			t.Errorf("group %s counts %d events; want 66 or 67", fp, got.Count)
		}
	}

	// Every event of batch 0 sent again to B, and one new: only the new
	// one is recorded.
	again := append(append([]*errtrack.Incoming{}, batches[0]...), event(t, 1000, "Key", "1.1", "u9", t0+300_000))
	out, err := b.Record(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Duplicate != (i < 10) {
			t.Errorf("event %d sent again: outcome %+v; want duplicate %v", i, o, i < 10)
		}
	}
	key := ga[batches[0][0].Grouping.Fingerprint]
	g, err := a.GroupByID(ctx, 1, key.ID)
	if err != nil || g.Count != key.Count+1 {
		t.Fatalf("after the duplicates: group %+v, %v; want count %d", g, err, key.Count+1)
	}

	// Resolved on B, seen on A; an event of 1.1 (the release resolved in)
	// does not reopen it, one of 1.2 does.
	mu.Lock()
	clock = clock.Add(time.Hour)
	mu.Unlock()
	if g, err := b.SetStatus(ctx, 1, key.ID, errtrack.StatusResolved); err != nil || g.Status != errtrack.StatusResolved {
		t.Fatalf("SetStatus on B = %+v, %v", g, err)
	}
	if g, err := a.GroupByID(ctx, 1, key.ID); err != nil || g.Status != errtrack.StatusResolved || g.ResolvedRelease != "1.1" {
		t.Fatalf("on A after B resolved it: %+v, %v", g, err)
	}
	if out, err := a.Record(ctx, []*errtrack.Incoming{event(t, 1003, "Key", "1.1", "u1", t0+400_000)}); err != nil || out[0].Regressed {
		t.Fatalf("an event of the resolved release: %+v, %v; want no regression", out, err)
	}
	if out, err := a.Record(ctx, []*errtrack.Incoming{event(t, 1006, "Key", "1.2", "u1", t0+500_000)}); err != nil || !out[0].Regressed {
		t.Fatalf("an event of a newer release: %+v, %v; want a regression", out, err)
	}
	if g, err := b.GroupByID(ctx, 1, key.ID); err != nil || g.Status != errtrack.StatusUnresolved || !g.Regressed || g.Count != key.Count+3 {
		t.Fatalf("on B after the regression on A: %+v, %v", g, err)
	}
	if _, err := b.SetStatus(ctx, 1, 999_999, errtrack.StatusResolved); !errtrack.IsNotFound(err) {
		t.Fatalf("SetStatus of a missing group = %v; want not found", err)
	}
}

// testReads: events listed newest first, each once even when its rows
// were stored twice, pages by `before`, payloads and attachments, and
// retention.
func (e *env) testReads(t *testing.T) {
	ctx := context.Background()
	db := e.database(t)
	st, tr := e.node(t, db, func() time.Time { return time.UnixMilli(t0) })
	var batch []*errtrack.Incoming
	for n := range 5 {
		in := event(t, n, "Key", "1.0", "u", t0+int64(n)*1000)
		if n == 2 {
			in.Attachments = []errtrack.Attachment{{Received: in.Received, Filename: "b.log", ContentType: "text/plain", AttachmentType: "event.attachment",
				Size: 3, Data: errtrack.Compress([]byte("abc"))}, {Received: in.Received, Filename: "a.log", Size: 1, Data: errtrack.Compress([]byte("x"))}}
		}
		batch = append(batch, in)
	}
	out, err := tr.Record(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	gid := out[0].GroupID
	// A transaction that failed after its insert: the same rows again.
	evs, err := st.ErrorEvents(ctx, 1, gid, 100, 0)
	if err != nil || len(evs) != 5 {
		t.Fatalf("ErrorEvents = %d events, %v; want 5", len(evs), err)
	}
	full, err := st.ErrorEvent(ctx, 1, evs[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	atts, _ := st.ErrorAttachments(ctx, 1, batch[2].Event.EventID)
	for i := range atts {
		atts[i].Data = batch[2].Attachments[1-i].Data
	}
	if err := st.CommitErrors(ctx, errtrack.Commit{Events: []errtrack.StoredEvent{*full}, Attachments: atts}); err != nil {
		t.Fatal(err)
	}

	ids := func(evs []errtrack.StoredEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.EventID[27:])
		}
		return out
	}
	evs, err = tr.Events(ctx, 1, gid, 100, 0)
	if got, want := ids(evs), []string{"e0004", "e0003", "e0002", "e0001", "e0000"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Events = %v, %v; want %v", got, err, want)
	}
	evs, err = tr.Events(ctx, 1, gid, 2, t0+3000)
	if got, want := ids(evs), []string{"e0002", "e0001"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Events before t0+3s = %v, %v; want %v", got, err, want)
	}
	ev, err := tr.EventByID(ctx, 1, batch[1].Event.EventID)
	if err != nil || ev.GroupID != gid || ev.Release != "1.0" || ev.User != batch[1].Event.User.Key() || ev.Size != batch[1].Size {
		t.Fatalf("EventByID = %+v, %v", ev, err)
	}
	if p, err := errtrack.Decompress(ev.Payload); err != nil || len(p) != batch[1].Size {
		t.Fatalf("payload: %d bytes, %v; want %d", len(p), err, batch[1].Size)
	}
	if _, err := tr.EventByID(ctx, 2, batch[1].Event.EventID); !errtrack.IsNotFound(err) {
		t.Fatalf("another project's event = %v; want not found", err)
	}
	atts, err = tr.Attachments(ctx, 1, batch[2].Event.EventID)
	if err != nil || len(atts) != 2 || atts[0].Filename != "a.log" || atts[1].Filename != "b.log" || atts[1].Size != 3 || atts[1].ContentType != "text/plain" {
		t.Fatalf("Attachments = %+v, %v; want a.log, b.log once each", atts, err)
	}
	recent, err := st.RecentErrorEventIDs(ctx, 3)
	if err != nil || len(recent) != 3 || recent[0].EventID != batch[4].Event.EventID {
		t.Fatalf("RecentErrorEventIDs = %+v, %v", recent, err)
	}

	// Retention at t0+2.5s: events 0-2 (and 2's attachments, stored twice)
	// go; the group stays (last seen later); event 0 sent again is new.
	rep, err := tr.Expire(ctx, 1, t0+2500)
	if err != nil || rep.Events != 3 || rep.Attachments != 4 || rep.Groups != 0 {
		t.Fatalf("Expire = %+v, %v; want 3 events, 4 attachment rows, no group", rep, err)
	}
	if evs, _ := tr.Events(ctx, 1, gid, 100, 0); !reflect.DeepEqual(ids(evs), []string{"e0004", "e0003"}) {
		t.Fatalf("after Expire: %v", ids(evs))
	}
	if out, err := tr.Record(ctx, batch[:1]); err != nil || out[0].Duplicate {
		t.Fatalf("an expired event sent again: %+v, %v; want recorded", out, err)
	}
	rep, err = tr.Expire(ctx, 1, t0+1_000_000)
	if err != nil || rep.Events != 3 || rep.Groups != 1 {
		t.Fatalf("Expire of everything = %+v, %v; want 3 events, 1 group", rep, err)
	}
	if gs, err := tr.Groups(ctx, 1, errtrack.GroupFilter{}); err != nil || len(gs) != 0 {
		t.Fatalf("groups after Expire = %v, %v", gs, err)
	}
}

// testUnavailable: with ClickHouse down a batch fails with
// store.ErrUnavailable and stores nothing: the group keeps its count and
// the events, sent again once it is back, are recorded, not duplicates.
func (e *env) testUnavailable(t *testing.T) {
	ctx := context.Background()
	db := e.database(t)
	_, tr := e.node(t, db, func() time.Time { return time.UnixMilli(t0) })
	out, err := tr.Record(ctx, []*errtrack.Incoming{event(t, 1, "Key", "1.0", "u", t0)})
	if err != nil {
		t.Fatal(err)
	}
	gid := out[0].GroupID
	e.ch.Stop()
	batch := []*errtrack.Incoming{event(t, 2, "Key", "1.0", "u", t0+1000), event(t, 3, "Type", "1.0", "u", t0+1000)}
	if _, err := tr.Record(ctx, batch); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Record with ClickHouse down = %v; want store.ErrUnavailable", err)
	}
	if g, err := tr.GroupByID(ctx, 1, gid); err != nil || g.Count != 1 {
		t.Fatalf("group after the failed batch: %+v, %v; want count 1", g, err)
	}
	if gs, _ := tr.Groups(ctx, 1, errtrack.GroupFilter{}); len(gs) != 1 {
		t.Fatalf("groups after the failed batch: %d; want 1 (the new one rolled back)", len(gs))
	}
	e.ch.Start()
	out, err = tr.Record(ctx, batch)
	if err != nil || out[0].Duplicate || out[1].Duplicate || out[0].GroupID != gid {
		t.Fatalf("the batch again once ClickHouse is back: %+v, %v; want recorded", out, err)
	}
	if g, err := tr.GroupByID(ctx, 1, gid); err != nil || g.Count != 2 {
		t.Fatalf("group: %+v, %v; want count 2", g, err)
	}
}
