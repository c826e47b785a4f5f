//go:build cluster

package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/session"
	"github.com/alidade/alidade/internal/store/metatest"
	"github.com/alidade/alidade/internal/testinfra"
)

var _ metatest.Meta = (*Store)(nil)

// server is the PostgreSQL server of the package's tests: one for all,
// a database of its own for each test.
type server struct {
	pg    *testinfra.Postgres
	admin *pgx.Conn
	n     atomic.Int64
}

// TestPostgres starts one server and runs every test of the store on it,
// the restart last.
func TestPostgres(t *testing.T) {
	pg := testinfra.StartPostgres(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatalf("connect %s: %v", pg.DSN, err)
	}
	srv := &server{pg: pg, admin: admin}
	t.Run("Conformance", func(t *testing.T) {
		metatest.Run(t, func(t *testing.T) metatest.Meta { return srv.open(t, srv.database(t)) })
	})
	t.Run("Migrations", srv.testMigrations)
	t.Run("KeyLookup", srv.testKeyLookup)
	t.Run("SessionLookup", srv.testSessionLookup)
	t.Run("Exclusive", srv.testExclusive)
	t.Run("Lead", srv.testLead)
	t.Run("Announced", srv.testAnnounced)
	t.Run("Nodes", srv.testNodes)
	t.Run("ListenerDropped", srv.testListenerDropped)
	t.Run("ListenerIdle", srv.testListenerIdle)
	t.Run("TailBus", srv.testTailBus)
	t.Run("Idem", srv.testIdem)
	t.Run("Monitors", srv.testMonitors)
	// Last: it stops the server, which closes the admin connection.
	t.Run("Restart", srv.testRestart)
	admin.Close(ctx)
}

// database creates a fresh database and returns its URL.
func (srv *server) database(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("meta_%d", srv.n.Add(1))
	if _, err := srv.admin.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", srv.pg.Port, name)
}

// open opens a store over url, closed when the test ends unless the test
// closes it.
func (srv *server) open(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{URL: url})
	if err != nil {
		t.Fatalf("Open(%s) = %v; want nil error", url, err)
	}
	return s
}

func (srv *server) closeAtEnd(t *testing.T, s *Store) *Store {
	t.Cleanup(func() { s.Close() })
	return s
}

func (srv *server) testMigrations(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	// Two nodes start together on a fresh database: both open it, and
	// each migration ran once (run twice, its CREATE TABLE would fail).
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*Store, nodes)
	start := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(ctx, Options{URL: url})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d of %d racing = %v; want nil", i+1, nodes, err)
		}
		defer stores[i].Close()
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	versions := func() string {
		t.Helper()
		var got string
		if err := conn.QueryRow(ctx, `SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version`).Scan(&got); err != nil {
			t.Fatalf("read schema_version: %v", err)
		}
		return got
	}
	var want []string
	for _, m := range migrations {
		want = append(want, fmt.Sprint(m.version))
	}
	if got := versions(); got != strings.Join(want, ",") {
		t.Fatalf("schema_version after racing Opens = %s; want %s", got, strings.Join(want, ","))
	}
	// Opened again, a current database is left as it is.
	srv.open(t, url).Close()
	if got := versions(); got != strings.Join(want, ",") {
		t.Fatalf("schema_version after a reopen = %s; want %s", got, strings.Join(want, ","))
	}

	// A database a newer binary migrated is refused, naming both versions.
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, what) VALUES ($1, 'from the future')`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{URL: url})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database of a newer schema = nil error")
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("version %d", SchemaVersion+1)) || !strings.Contains(msg, fmt.Sprintf("binary's %d", SchemaVersion)) ||
		errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("Open of a database of a newer schema = %v; want both versions named", err)
	}
	t.Logf("refused: %v", err)
}

func (srv *server) testKeyLookup(t *testing.T) {
	ctx := context.Background()
	s := srv.closeAtEnd(t, srv.open(t, srv.database(t)))
	hash := sha256.Sum256([]byte("ak_secret"))
	k := &meta.Key{ProjectID: 3, Kind: meta.KindPublic, Name: "web", Prefix: "ak_se", Hash: hash[:], Public: "ak_secret", Created: time.UnixMilli(1_700_000_000_000).UTC()}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.Key(ctx, hash[:])
	if err != nil {
		t.Fatalf("Key(hash) = %v; want the key", err)
	}
	if got.ID != k.ID || got.ProjectID != 3 || got.Kind != meta.KindPublic || got.Name != "web" || got.Prefix != "ak_se" ||
		string(got.Hash) != string(hash[:]) || got.Public != "ak_secret" || !got.Created.Equal(k.Created) {
		t.Fatalf("Key(hash) = %+v; want %+v", got, k)
	}
	other := sha256.Sum256([]byte("other"))
	if _, err := s.Key(ctx, other[:]); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("Key(unknown hash) = %v; want meta.ErrNotFound", err)
	}
	if err := s.RevokeKey(ctx, 3, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, hash[:]); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("Key(revoked) = %v; want meta.ErrNotFound", err)
	}
}

// testSessionLookup: a session opened through one node is found by
// another's session manager on its first use, and a sign-out there ends it
// here (a notification).
func (srv *server) testSessionLookup(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	a, b := srv.closeAtEnd(t, srv.open(t, url)), srv.closeAtEnd(t, srv.open(t, url))
	opts := func(st session.Store) session.Options {
		return session.Options{Store: st, Idle: time.Hour, Max: 24 * time.Hour, TouchEvery: time.Minute}
	}
	ma, err := session.New(ctx, opts(a))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := session.New(ctx, opts(b))
	if err != nil {
		t.Fatal(err)
	}
	id, x, err := ma.Create(ctx, session.Session{Project: 4, Kind: meta.KindRead, KeyID: 9})
	if err != nil {
		t.Fatal(err)
	}
	got, err := mb.Get(ctx, id)
	if err != nil || got.Hash != x.Hash || got.Project != 4 || got.KeyID != 9 || got.CSRF != x.CSRF || got.Kind != meta.KindRead {
		t.Fatalf("node B's Get of node A's session = %+v, %v; want %+v", got, err, x)
	}
	if _, err := b.Session(ctx, session.Hash{1}); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("Session(unknown) = %v; want meta.ErrNotFound", err)
	}
	w := watch(t, b)
	b.Watch(func(c meta.Change) {
		if c.Kind == meta.ChangeSessionsDeleted {
			if h, err := hex.DecodeString(c.Name); err == nil {
				var sh session.Hash
				copy(sh[:], h)
				mb.Drop(sh)
			}
		}
	})
	if err := ma.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	w.expect(meta.Change{Kind: meta.ChangeSessionsDeleted, Name: hex.EncodeToString(x.Hash[:])})
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := mb.Get(ctx, id); errors.Is(err, session.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a session ended on node A still opens node B after 1 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testExclusive: two nodes' Exclusive of one name never overlap; other
// names do not wait.
func (srv *server) testExclusive(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	a, b := srv.closeAtEnd(t, srv.open(t, url)), srv.closeAtEnd(t, srv.open(t, url))
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Exclusive(ctx, "bootstrap", func(context.Context) error {
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	// Another name runs while "bootstrap" is held.
	held, release := make(chan struct{}), make(chan struct{})
	go a.Exclusive(ctx, "bootstrap", func(context.Context) error { close(held); <-release; return nil })
	<-held
	if err := b.Exclusive(ctx, "other", func(context.Context) error { return nil }); err != nil {
		t.Errorf("Exclusive(other) while bootstrap is held = %v", err)
	}
	close(release) // had "other" waited for "bootstrap", this is never reached
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d Exclusive(bootstrap) ran at once; want 1", most.Load())
	}
	wantErr := errors.New("boom")
	if err := a.Exclusive(ctx, "bootstrap", func(context.Context) error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("Exclusive's error = %v; want fn's", err)
	}
}

// watcher collects a store's changes.
type watcher struct {
	t  *testing.T
	ch chan stamped
}

type stamped struct {
	meta.Change
	at time.Time
}

func watch(t *testing.T, s *Store) *watcher {
	w := &watcher{t: t, ch: make(chan stamped, 1000)}
	s.Watch(func(c meta.Change) { w.ch <- stamped{c, time.Now()} })
	return w
}

// next returns the next change, failing the test after timeout.
func (w *watcher) next(timeout time.Duration) stamped {
	w.t.Helper()
	select {
	case c := <-w.ch:
		return c
	case <-time.After(timeout):
		w.t.Fatalf("no change within %v", timeout)
		return stamped{}
	}
}

// expect fails the test unless the next change is want.
func (w *watcher) expect(want meta.Change) stamped {
	w.t.Helper()
	got := w.next(5 * time.Second)
	if got.Change != want {
		w.t.Fatalf("change = %+v; want %+v", got.Change, want)
	}
	return got
}

func (srv *server) testNodes(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	a := srv.closeAtEnd(t, srv.open(t, url))
	b := srv.closeAtEnd(t, srv.open(t, url))
	wa, wb := watch(t, a), watch(t, b)

	// A project made on A is usable on B at once.
	p, err := a.CreateProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := meta.Change{Kind: meta.ChangeProject, Project: p.ID, Name: "shop"}
	wb.expect(want)
	wa.expect(want) // a node hears its own changes too
	if ps, err := b.Projects(ctx); err != nil || len(ps) != 1 || ps[0].Name != "shop" {
		t.Fatalf("B's Projects() = %+v, %v; want shop", ps, err)
	}

	hash := sha256.Sum256([]byte("ak_write"))
	k := &meta.Key{ProjectID: p.ID, Kind: meta.KindWrite, Name: "w", Prefix: "ak_wr", Hash: hash[:]}
	if err := a.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeKeyCreated, Project: p.ID, ID: k.ID})
	if got, err := b.Key(ctx, hash[:]); err != nil || got.ID != k.ID {
		t.Fatalf("B's Key(hash) = %+v, %v; want key %d", got, err, k.ID)
	}

	// A failed change is not announced: the next change B hears is the
	// revocation, measured from just before A's call.
	if err := a.RevokeKey(ctx, p.ID, 99); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("RevokeKey(99) = %v; want meta.ErrNotFound", err)
	}
	if _, err := a.CreateProject(ctx, "shop"); !errors.Is(err, meta.ErrExists) {
		t.Fatalf("CreateProject(shop) again = %v; want meta.ErrExists", err)
	}
	var delays []time.Duration
	for i := range 5 {
		k := &meta.Key{ProjectID: p.ID, Kind: meta.KindRead, Name: fmt.Sprint("r", i), Prefix: "ak_re", Hash: []byte{byte(i)}}
		if err := a.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		wb.expect(meta.Change{Kind: meta.ChangeKeyCreated, Project: p.ID, ID: k.ID})
		start := time.Now()
		if err := a.RevokeKey(ctx, p.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		got := wb.expect(meta.Change{Kind: meta.ChangeKeyRevoked, Project: p.ID, ID: k.ID})
		delays = append(delays, got.at.Sub(start))
	}
	for _, d := range delays {
		if d > time.Second {
			t.Errorf("a revocation reached the other node in %v; want under 1s", d)
		}
	}
	t.Logf("revocation on A to B's Watch callback (RevokeKey's commit included): %v", delays)

	// A schema set through A is seen by B's Schema within a second.
	schema := &point.Schema{Index: "customer", Blobs: []string{"path"}, Doubles: []string{"amount"}}
	start := time.Now()
	if err := a.SetSchema(ctx, p.ID, "orders", schema); err != nil {
		t.Fatal(err)
	}
	// A's own cache has it on return.
	if got := a.Schema(p.ID, "orders"); !reflect.DeepEqual(got, schema) {
		t.Fatalf("A's Schema after SetSchema = %+v; want %+v", got, schema)
	}
	for !reflect.DeepEqual(b.Schema(p.ID, "orders"), schema) {
		if time.Since(start) > time.Second {
			t.Fatalf("B's Schema(orders) = %+v a second after A set it; want %+v", b.Schema(p.ID, "orders"), schema)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("schema set on A seen by B's Schema() after %v", time.Since(start))
	wb.expect(meta.Change{Kind: meta.ChangeDataset, Project: p.ID, Name: "orders"})
	if err := a.SetRetention(ctx, p.ID, "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.SetSampling(ctx, p.ID, "orders", 5); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeDataset, Project: p.ID, Name: "orders"})
	wb.expect(meta.Change{Kind: meta.ChangeDataset, Project: p.ID, Name: "orders"})
	if d := b.Dataset(p.ID, "orders"); d == nil || d.Retention != 72*time.Hour || d.Sampling != 5 || b.Sampling(p.ID, "orders") != 5 {
		t.Fatalf("B's Dataset(orders) = %+v; want 72h and sampling 5", d)
	}
	// A dataset ensured on B is announced once; ensured again, not at all.
	if err := b.EnsureDataset(ctx, p.ID, "events"); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeDataset, Project: p.ID, Name: "events"})
	if err := a.EnsureDataset(ctx, p.ID, "events"); err != nil {
		t.Fatal(err)
	}
	if names := datasetNames(a.AllDatasets()); names != "1 events,1 orders" {
		t.Fatalf("A's AllDatasets() = %s; want 1 events,1 orders", names)
	}

	if err := b.SetSetting(ctx, "root_key_hash", "x"); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeSetting, Name: "root_key_hash"})
	if v, err := a.Setting(ctx, "root_key_hash"); err != nil || v != "x" {
		t.Fatalf("A's Setting = %q, %v; want x", v, err)
	}

	// Sessions: each one deleted is announced by its hash, unknown ones not.
	s1 := session.Session{Hash: sha256.Sum256([]byte("s1")), KeyID: k.ID, Project: p.ID, Kind: meta.KindWrite, CSRF: "c", Created: time.Now(), LastSeen: time.Now()}
	s2 := s1
	s2.Hash = sha256.Sum256([]byte("s2"))
	for _, x := range []session.Session{s1, s2} {
		if err := a.PutSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.TouchSession(ctx, s1.Hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	unknown := sha256.Sum256([]byte("nobody"))
	if err := a.DeleteSessions(ctx, s1.Hash, unknown, s2.Hash); err != nil {
		t.Fatal(err)
	}
	heard := map[string]bool{}
	for range 2 {
		c := wb.next(5 * time.Second)
		if c.Kind != meta.ChangeSessionsDeleted {
			t.Fatalf("change = %+v; want sessions deleted", c.Change)
		}
		heard[c.Name] = true
	}
	if !heard[hex.EncodeToString(s1.Hash[:])] || !heard[hex.EncodeToString(s2.Hash[:])] {
		t.Fatalf("sessions deleted heard = %v; want s1 and s2", heard)
	}
	// Nothing more (the touch and the unknown hash announce nothing).
	if err := a.SetSetting(ctx, "marker", ""); err != nil {
		t.Fatal(err)
	}
	wb.expect(meta.Change{Kind: meta.ChangeSetting, Name: "marker"})
}

func datasetNames(ds []meta.Dataset) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%d %s", d.ProjectID, d.Name))
	}
	return strings.Join(out, ",")
}

// testListenerDropped cuts a node's listening connection, makes a change
// while it is away and checks that the node reloads its cache and says so.
func (srv *server) testListenerDropped(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	defer func(old time.Duration) { reconnectMin = old }(reconnectMin)
	reconnectMin = time.Second // room for a change while A is away
	a := srv.closeAtEnd(t, srv.open(t, url))
	b := srv.closeAtEnd(t, srv.open(t, url))
	wa := watch(t, a)
	var killed bool
	if err := srv.admin.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, int32(a.listenPID.Load())).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate A's listener: %v, %v", killed, err)
	}
	schema := &point.Schema{Blobs: []string{"missed"}}
	if err := b.SetSchema(ctx, 1, "orders", schema); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	wa.expect(meta.Change{Kind: meta.ChangeResync})
	t.Logf("resync %v after the change", time.Since(start))
	if got := a.Schema(1, "orders"); !reflect.DeepEqual(got, schema) {
		t.Fatalf("A's Schema after the resync = %+v; want %+v", got, schema)
	}
	// And it hears again.
	if err := b.SetSetting(ctx, "after", "1"); err != nil {
		t.Fatal(err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeSetting, Name: "after"})
}

func (srv *server) testRestart(t *testing.T) {
	ctx := context.Background()
	url := srv.database(t)
	a := srv.closeAtEnd(t, srv.open(t, url))
	b := srv.closeAtEnd(t, srv.open(t, url))
	wa := watch(t, a)
	p, err := a.CreateProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeProject, Project: p.ID, Name: "shop"})
	schema := &point.Schema{Blobs: []string{"path"}}
	if err := a.SetSchema(ctx, p.ID, "orders", schema); err != nil {
		t.Fatal(err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeDataset, Project: p.ID, Name: "orders"})
	hash := sha256.Sum256([]byte("k"))
	k := &meta.Key{ProjectID: p.ID, Kind: meta.KindWrite, Name: "w", Prefix: "ak", Hash: hash[:]}
	if err := a.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeKeyCreated, Project: p.ID, ID: k.ID})

	srv.pg.Stop()
	stopped := time.Now()
	// Every call that needs the database fails as unavailable; the cache
	// still answers.
	calls := map[string]func() error{
		"Ping":          func() error { return a.Ping(ctx) },
		"Projects":      func() error { _, err := a.Projects(ctx); return err },
		"CreateProject": func() error { _, err := a.CreateProject(ctx, "blog"); return err },
		"Key":           func() error { _, err := a.Key(ctx, hash[:]); return err },
		"Keys":          func() error { _, err := b.Keys(ctx, 0); return err },
		"RevokeKey":     func() error { return b.RevokeKey(ctx, p.ID, k.ID) },
		"Setting":       func() error { _, err := a.Setting(ctx, "x"); return err },
		"SetSchema":     func() error { return a.SetSchema(ctx, p.ID, "orders", &point.Schema{}) },
		"EnsureDataset": func() error { return a.EnsureDataset(ctx, p.ID, "new") },
		"Sessions":      func() error { _, err := a.Sessions(ctx); return err },
		"AlertRules":    func() error { _, err := a.AlertRules(ctx); return err },
		"SavedQueries": func() error {
			return a.SavedQueries(ctx, p.ID, func(int64, string, string, time.Time, time.Time) {})
		},
	}
	for i := range 2 { // the second round on the connections the first found dead
		for name, call := range calls {
			err := call()
			if !errors.Is(err, meta.ErrUnavailable) {
				t.Errorf("round %d: %s with PostgreSQL stopped = %v; want an error wrapping meta.ErrUnavailable", i+1, name, err)
			}
		}
	}
	if err := a.Ping(ctx); err != nil {
		t.Logf("with PostgreSQL stopped: %v", err)
	}
	if _, err := Open(ctx, Options{URL: url}); !errors.Is(err, meta.ErrUnavailable) {
		t.Errorf("Open with PostgreSQL stopped = %v; want an error wrapping meta.ErrUnavailable", err)
	}
	if got := a.Schema(p.ID, "orders"); !reflect.DeepEqual(got, schema) {
		t.Errorf("A's Schema with PostgreSQL stopped = %+v; want the cached %+v", got, schema)
	}

	srv.pg.Start()
	started := time.Now()
	got := wa.next(30 * time.Second)
	if got.Kind != meta.ChangeResync {
		t.Fatalf("first change after the restart = %+v; want a resync", got.Change)
	}
	t.Logf("stopped %v; resync %v after the start", started.Sub(stopped).Round(time.Millisecond), got.at.Sub(started).Round(time.Millisecond))
	// Later changes arrive again, and calls succeed.
	if err := b.RevokeKey(ctx, p.ID, k.ID); err != nil {
		t.Fatalf("RevokeKey after the restart = %v", err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeKeyRevoked, Project: p.ID, ID: k.ID})
	if _, err := a.Key(ctx, hash[:]); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("Key(revoked) after the restart = %v; want meta.ErrNotFound", err)
	}
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart = %v", err)
	}
}

// testListenerIdle lets the listener wait past its idle time several
// times (each a timed-out wait and a ping on its connection): it must
// keep its connection and hear what comes after.
func (srv *server) testListenerIdle(t *testing.T) {
	ctx := context.Background()
	defer func(old time.Duration) { listenIdle = old }(listenIdle)
	listenIdle = 50 * time.Millisecond
	a := srv.closeAtEnd(t, srv.open(t, srv.database(t)))
	wa := watch(t, a)
	pid := a.listenPID.Load()
	time.Sleep(500 * time.Millisecond)
	if err := a.SetSetting(ctx, "after_idle", "1"); err != nil {
		t.Fatal(err)
	}
	wa.expect(meta.Change{Kind: meta.ChangeSetting, Name: "after_idle"})
	if got := a.listenPID.Load(); got != pid {
		t.Fatalf("listener's server process %d after idling; want %d (the same connection)", got, pid)
	}
}
