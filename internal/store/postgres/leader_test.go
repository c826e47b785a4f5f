//go:build cluster

package postgres

import (
	"context"
	"errors"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/testinfra"
)

// fastLead shortens the leadership timing for the stores opened until the
// test ends.
func fastLead(t *testing.T) {
	old := [3]time.Duration{leadRetry, leadPing, leadGrace}
	leadRetry, leadPing, leadGrace = 50*time.Millisecond, 50*time.Millisecond, 150*time.Millisecond
	t.Cleanup(func() { leadRetry, leadPing, leadGrace = old[0], old[1], old[2] })
}

// leaders records which nodes lead, and fails the test when two do at once.
type leaders struct {
	t       *testing.T
	mu      sync.Mutex
	current map[int]bool
	changed chan struct{} // a token after every change
	ended   map[int]time.Time
}

func newLeaders(t *testing.T) *leaders {
	return &leaders{t: t, current: map[int]bool{}, changed: make(chan struct{}, 100), ended: map[int]time.Time{}}
}

// fn is node's work: it leads until its context ends.
func (l *leaders) fn(node int) func(ctx context.Context) {
	return func(ctx context.Context) {
		l.mu.Lock()
		l.current[node] = true
		if len(l.current) > 1 {
			l.t.Errorf("nodes %v lead at once", l.current)
		}
		l.mu.Unlock()
		l.changed <- struct{}{}
		<-ctx.Done()
		l.mu.Lock()
		delete(l.current, node)
		l.ended[node] = time.Now()
		l.mu.Unlock()
		l.changed <- struct{}{}
	}
}

// leader is the node leading now, -1 when none.
func (l *leaders) leader() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := range l.current {
		return n
	}
	return -1
}

// wait waits until ok holds of the leader, failing the test after d; it
// returns the leader.
func (l *leaders) wait(d time.Duration, what string, ok func(leader int) bool) int {
	l.t.Helper()
	deadline := time.After(d)
	for {
		if n := l.leader(); ok(n) {
			return n
		}
		select {
		case <-l.changed:
		case <-deadline:
			l.t.Fatalf("%s: not within %v (leader %d)", what, d, l.leader())
		}
	}
}

// lockHolder is the server process holding name's lock in database db, 0
// when none.
func (srv *server) lockHolder(t *testing.T, db, name string) int32 {
	t.Helper()
	key := uint64(lockKey(name))
	var pid int32
	err := srv.admin.QueryRow(context.Background(), `SELECT coalesce(max(pid), 0) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = $3)`,
		uint32(key>>32), uint32(key), db).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// testLead runs three nodes' Lead on one lock: one leads at a time; when
// it stops, or its connection is killed, another takes over.
func (srv *server) testLead(t *testing.T) {
	fastLead(t)
	url := srv.database(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	l := newLeaders(t)
	const nodes = 3
	stops := make([]context.CancelFunc, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		s := srv.closeAtEnd(t, srv.open(t, url))
		ctx, stop := context.WithCancel(context.Background())
		stops[i] = stop
		wg.Go(func() { s.Lead(ctx, "alerts", l.fn(i)) })
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	}()
	first := l.wait(5*time.Second, "a first leader", func(n int) bool { return n >= 0 })
	// The others keep trying (every 50ms here) and never get in.
	time.Sleep(500 * time.Millisecond)
	if n := l.leader(); n != first {
		t.Fatalf("leader %d, then %d, with nothing stopped", first, n)
	}
	if srv.lockHolder(t, db, "alerts") == 0 {
		t.Fatal("a node leads and no session holds the lock")
	}
	// Another lock is another leader's.
	other := srv.closeAtEnd(t, srv.open(t, url))
	octx, ostop := context.WithCancel(context.Background())
	led := make(chan struct{})
	go other.Lead(octx, "retention", func(ctx context.Context) { close(led); <-ctx.Done() })
	select {
	case <-led:
	case <-time.After(5 * time.Second):
		t.Fatal("Lead(retention) did not lead while another lock is held")
	}
	ostop()

	// The leader stops: another takes over.
	stopped := time.Now()
	stops[first]()
	second := l.wait(5*time.Second, "a takeover after the leader stopped", func(n int) bool { return n >= 0 && n != first })
	t.Logf("takeover after the leader stopped: %v (retry %v, grace %v)", time.Since(stopped).Round(time.Millisecond), leadRetry, leadGrace)

	// The leader's connection is killed: its work is stopped, and a node
	// (maybe the same, reconnected) leads again.
	pid := srv.lockHolder(t, db, "alerts")
	if pid == 0 {
		t.Fatal("no session holds the lock")
	}
	var killed bool
	cut := time.Now()
	if err := srv.admin.QueryRow(context.Background(), `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the leader's connection: %v, %v", killed, err)
	}
	l.wait(5*time.Second, "the leader's work ended after its connection was killed", func(n int) bool { return n != second })
	l.mu.Lock()
	noticed := l.ended[second].Sub(cut)
	l.mu.Unlock()
	third := l.wait(5*time.Second, "a leader after the connection was killed", func(n int) bool { return n >= 0 })
	t.Logf("connection killed: the leader's work ended %v after the kill began (ping every %v); node %d (node %d before) leads %v after it",
		noticed.Round(time.Millisecond), leadPing, third, second, time.Since(cut).Round(time.Millisecond))
	if noticed > 10*leadPing {
		t.Errorf("the leader's work ended %v after its connection was killed; want within a few pings of %v", noticed, leadPing)
	}
}

// TestLeadServerStops stops PostgreSQL under a leader: its work must end
// at once (it could no longer know that it alone leads), and it leads
// again once the server is back.
func TestLeadServerStops(t *testing.T) {
	fastLead(t)
	pg := testinfra.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{URL: pg.DSN})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLeaders(t)
	lctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Lead(lctx, "alerts", l.fn(0)) }()
	defer func() { stop(); <-done }()
	l.wait(5*time.Second, "leading", func(n int) bool { return n == 0 })

	stopped := time.Now()
	pg.Stop()
	l.wait(5*time.Second, "the work ended with PostgreSQL stopped", func(n int) bool { return n < 0 })
	t.Logf("PostgreSQL stopped: the leader's work ended after %v (ping every %v)", time.Since(stopped).Round(time.Millisecond), leadPing)
	time.Sleep(300 * time.Millisecond)
	if n := l.leader(); n >= 0 {
		t.Fatalf("node %d leads with PostgreSQL stopped", n)
	}
	pg.Start()
	started := time.Now()
	l.wait(10*time.Second, "leading again after PostgreSQL started", func(n int) bool { return n == 0 })
	t.Logf("PostgreSQL started: leading again after %v", time.Since(started).Round(time.Millisecond))
}

// testAnnounced checks that every change of an alert rule, a check or a
// cron monitor made on one node is heard on another, and that a failed
// one (an unknown id) is not.
func (srv *server) testAnnounced(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	a := srv.closeAtEnd(t, srv.open(t, url))
	b := srv.closeAtEnd(t, srv.open(t, url))
	wb := watch(t, b)
	at := time.Now().UTC().Truncate(time.Millisecond)

	id, err := a.CreateAlertRule(ctx, 3, `{"name":"x"}`, `{"state":"ok"}`, at)
	if err != nil {
		t.Fatal(err)
	}
	rule := meta.Change{Kind: meta.ChangeAlertRule, Project: 3, ID: id}
	wb.expect(rule)
	if err := a.UpdateAlertRule(ctx, 3, id, `{"name":"y"}`, `{"state":"ok"}`, at); err != nil {
		t.Fatal(err)
	}
	wb.expect(rule)
	if err := a.PutAlertState(ctx, id, `{"state":"firing"}`); err != nil {
		t.Fatal(err)
	}
	wb.expect(rule)
	if err := a.PutAlertState(ctx, id+100, `{"state":"firing"}`); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateAlertRule(ctx, 4, id, `{}`, `{}`, at); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("UpdateAlertRule of another project = %v; want meta.ErrNotFound", err)
	}
	if err := a.DeleteAlertRule(ctx, 3, id); err != nil {
		t.Fatal(err)
	}
	wb.expect(rule) // not the state of the unknown rule, nor the failed update

	cid, err := a.CreateCheck(ctx, 3, `{"name":"c"}`, `{}`, at)
	if err != nil {
		t.Fatal(err)
	}
	check := meta.Change{Kind: meta.ChangeCheck, Project: 3, ID: cid}
	wb.expect(check)
	if err := a.UpdateCheck(ctx, 3, cid, `{"name":"d"}`, `{}`, at); err != nil {
		t.Fatal(err)
	}
	wb.expect(check)
	if err := a.PutCheckState(ctx, cid, `{"status":"up"}`); err != nil {
		t.Fatal(err)
	}
	wb.expect(check)
	if err := a.PutCheckState(ctx, cid+100, `{"status":"up"}`); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteCheck(ctx, 3, cid); err != nil {
		t.Fatal(err)
	}
	wb.expect(check)

	if err := a.PutMonitor(ctx, monitors.Monitor{Project: 3, Slug: "nightly", LastStatus: "ok"}); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeMonitor, Project: 3, Name: "nightly"})
	if ms, err := b.Monitors(ctx); err != nil || len(ms) != 1 || ms[0].LastStatus != "ok" {
		t.Fatalf("B's Monitors() = %+v, %v; want nightly", ms, err)
	}
}
