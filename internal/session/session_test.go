package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// memStore is a Store in memory that records every call.
type memStore struct {
	mu      sync.Mutex
	rows    map[Hash]Session
	touches int
	fail    error
}

func newMemStore() *memStore { return &memStore{rows: map[Hash]Session{}} }

func (m *memStore) Sessions(context.Context) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Session
	for _, s := range m.rows {
		out = append(out, s)
	}
	return out, m.fail
}

func (m *memStore) PutSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.rows[s.Hash] = s
	return nil
}

func (m *memStore) TouchSession(_ context.Context, h Hash, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	if s, ok := m.rows[h]; ok {
		s.LastSeen = t
		m.rows[h] = s
	}
	return m.fail
}

func (m *memStore) DeleteSessions(_ context.Context, hs ...Hash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hs {
		delete(m.rows, h)
	}
	return m.fail
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T, st *memStore, valid func(Session) bool) (*Manager, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC)}
	o := DefaultOptions()
	o.Idle, o.Max, o.Now, o.Valid = time.Hour, 3*time.Hour, clk.now, valid
	if st != nil {
		o.Store = st
	}
	m, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

var admin = Session{KeyID: 7, Project: 1, Kind: meta.KindAdmin}

func TestCreateGet(t *testing.T) {
	st := newMemStore()
	m, clk := newTest(t, st, nil)
	ctx := context.Background()
	id, s, err := m.Create(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 43 || strings.ContainsAny(id, "+/=") {
		t.Errorf("id %q; want 43 base64url characters", id)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(id)
	if s.Hash != sha256.Sum256(raw) || s.KeyID != 7 || s.Project != 1 || s.Kind != meta.KindAdmin || len(s.CSRF) != 43 || !s.Created.Equal(clk.now()) || !s.LastSeen.Equal(clk.now()) {
		t.Errorf("Create = %+v", s)
	}
	// The store holds the hash, never the id.
	stored := st.rows[s.Hash]
	if stored != s || strings.Contains(fmt.Sprintf("%+v %s", stored, stored.Hash[:]), id) {
		t.Errorf("stored %+v; want the session, without its id", stored)
	}
	got, err := m.Get(ctx, id)
	if err != nil || got.Hash != s.Hash || got.CSRF != s.CSRF {
		t.Fatalf("Get = %+v, %v; want the session", got, err)
	}
	// Two sessions never share an id or a token.
	id2, s2, _ := m.Create(ctx, admin)
	if id2 == id || s2.CSRF == s.CSRF || s2.Hash == s.Hash {
		t.Errorf("two sessions share an id or a token")
	}
	for _, bad := range []string{"", "x", id + "A", id[:42], strings.Replace(id, id[:1], "+", 1), id[:42] + "=", strings.Repeat("A", 43)} {
		if _, err := m.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q) = nil error; want one", bad)
		}
	}
	if err := m.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v; want ErrNotFound", err)
	}
	if _, ok := st.rows[s.Hash]; ok {
		t.Errorf("Delete left the stored session")
	}
	if err := m.Delete(ctx, "nonsense"); err != nil {
		t.Errorf("Delete(nonsense) = %v; want nil", err)
	}
}

// TestIdleAndLifetime: a session lives until 1 ms before its idle time
// (sliding with each use) and until 1 ms before its lifetime.
func TestIdleAndLifetime(t *testing.T) {
	st := newMemStore()
	m, clk := newTest(t, st, nil)
	ctx := context.Background()
	id, _, _ := m.Create(ctx, admin)
	clk.add(time.Hour - time.Millisecond)
	if _, err := m.Get(ctx, id); err != nil {
		t.Fatalf("1 ms before the idle time: %v", err)
	}
	clk.add(time.Hour) // an hour since the last use
	if _, err := m.Get(ctx, id); !errors.Is(err, ErrExpired) {
		t.Fatalf("at the idle time: %v; want ErrExpired", err)
	}
	if st.len() != 0 || m.Len() != 0 {
		t.Errorf("an expired session is kept: store %d, memory %d", st.len(), m.Len())
	}

	id, s, _ := m.Create(ctx, admin)
	for i := 0; i < 5; i++ {
		clk.add(35 * time.Minute)
		if _, err := m.Get(ctx, id); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	got, _ := m.Get(ctx, id)
	if want := s.Created.Add(3 * time.Hour); !m.Expires(got).Equal(want) {
		t.Errorf("Expires = %v; want the lifetime's end %v", m.Expires(got), want)
	}
	clk.add(5*time.Minute - time.Millisecond)
	if _, err := m.Get(ctx, id); err != nil {
		t.Fatalf("1 ms before the lifetime: %v", err)
	}
	clk.add(time.Millisecond)
	if _, err := m.Get(ctx, id); !errors.Is(err, ErrExpired) {
		t.Fatalf("at the lifetime: %v; want ErrExpired", err)
	}
}

// TestTouchThrottled: the stored last use is written at most once a
// TouchEvery.
func TestTouchThrottled(t *testing.T) {
	st := newMemStore()
	m, clk := newTest(t, st, nil)
	ctx := context.Background()
	id, s, _ := m.Create(ctx, admin)
	for i := 0; i < 10; i++ {
		clk.add(5 * time.Second)
		if _, err := m.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if st.touches != 0 {
		t.Errorf("touches within a minute = %d; want 0", st.touches)
	}
	clk.add(10 * time.Second)
	got, _ := m.Get(ctx, id)
	if st.touches != 1 || !st.rows[s.Hash].LastSeen.Equal(got.LastSeen) {
		t.Errorf("touches after a minute = %d, stored %v; want 1 at %v", st.touches, st.rows[s.Hash].LastSeen, got.LastSeen)
	}
	// A touch the store fails does not fail the request.
	st.fail = errors.New("disk full")
	clk.add(time.Minute)
	if _, err := m.Get(ctx, id); err != nil {
		t.Errorf("Get with a failing store = %v; want nil", err)
	}
}

// TestKeyGone: a session whose key no longer opens it ends on its next
// use, and at the sweep.
func TestKeyGone(t *testing.T) {
	st := newMemStore()
	revoked := map[int64]bool{}
	var mu sync.Mutex
	m, clk := newTest(t, st, func(s Session) bool { mu.Lock(); defer mu.Unlock(); return !revoked[s.KeyID] })
	ctx := context.Background()
	a, _, _ := m.Create(ctx, admin)
	b, _, _ := m.Create(ctx, Session{KeyID: 8, Project: 1, Kind: meta.KindRead})
	c, _, _ := m.Create(ctx, Session{KeyID: 9, Project: 1, Kind: meta.KindRead})
	mu.Lock()
	revoked[7], revoked[8] = true, true
	mu.Unlock()
	if _, err := m.Get(ctx, a); !errors.Is(err, ErrKeyGone) {
		t.Errorf("Get of a revoked key's session = %v; want ErrKeyGone", err)
	}
	if n, err := m.Sweep(ctx); n != 1 || err != nil {
		t.Errorf("Sweep = %d, %v; want 1 (b)", n, err)
	}
	if _, err := m.Get(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a swept session = %v; want ErrNotFound", err)
	}
	if _, err := m.Get(ctx, c); err != nil {
		t.Errorf("Get of a live session = %v", err)
	}
	if st.len() != 1 {
		t.Errorf("stored sessions = %d; want 1", st.len())
	}
	clk.add(time.Hour)
	if n, _ := m.Sweep(ctx); n != 1 || st.len() != 0 || m.Len() != 0 {
		t.Errorf("Sweep after the idle time = %d, store %d, memory %d; want 1, 0, 0", n, st.len(), m.Len())
	}
}

// TestReload: a new Manager over the same store keeps the live sessions
// and drops the ended ones.
func TestReload(t *testing.T) {
	st := newMemStore()
	m, clk := newTest(t, st, nil)
	ctx := context.Background()
	old, _, _ := m.Create(ctx, admin)
	clk.add(50 * time.Minute)
	live, s, _ := m.Create(ctx, Session{Root: true, RootTag: "t1"})
	clk.add(20 * time.Minute) // old idle 70 min, live 20

	o := DefaultOptions()
	o.Idle, o.Max, o.Now, o.Store = time.Hour, 3*time.Hour, clk.now, st
	m2, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Get(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("reloaded idle session = %v; want ErrNotFound", err)
	}
	got, err := m2.Get(ctx, live)
	if err != nil || !got.Root || got.RootTag != "t1" || got.CSRF != s.CSRF {
		t.Errorf("reloaded session = %+v, %v; want the root session", got, err)
	}
	if st.len() != 1 {
		t.Errorf("stored sessions after reload = %d; want 1", st.len())
	}
	// A store that cannot be read fails New.
	st.fail = errors.New("broken")
	if _, err := New(ctx, o); err == nil {
		t.Errorf("New with a broken store = nil error")
	}
	// Creating with a failing store fails and keeps nothing.
	st3 := newMemStore()
	m3, _ := newTest(t, st3, nil)
	st3.fail = errors.New("broken")
	if _, _, err := m3.Create(ctx, admin); err == nil || m3.Len() != 0 {
		t.Errorf("Create with a failing store = %v, %d sessions; want an error and none", err, m3.Len())
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		idle, max time.Duration
		ok        bool
	}{{time.Hour, time.Hour, true}, {0, time.Hour, false}, {time.Hour, 0, false}, {2 * time.Hour, time.Hour, false}} {
		o := DefaultOptions()
		o.Idle, o.Max = c.idle, c.max
		if err := o.Validate(); (err == nil) != c.ok {
			t.Errorf("Validate(idle %v, max %v) = %v; want ok %v", c.idle, c.max, err, c.ok)
		}
	}
}

func TestParseID(t *testing.T) {
	id, h := newID()
	got, err := ParseID(id)
	if err != nil || got != h {
		t.Fatalf("ParseID(newID()) = %x, %v; want %x", got, err, h)
	}
	// The last character carries 2 spare bits: only the canonical
	// spelling is accepted.
	last := strings.IndexByte(base64URL, id[42])
	other := id[:42] + string(base64URL[last^1])
	if _, err := ParseID(other); err == nil {
		t.Errorf("ParseID(%q) (non-canonical) = nil error", other)
	}
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// FuzzParseID: an accepted id is exactly the canonical base64url of 32
// bytes, and its hash is theirs.
func FuzzParseID(f *testing.F) {
	id, _ := newID()
	for _, s := range []string{id, "", strings.Repeat("A", 43), strings.Repeat("_", 43), id[:42] + "=", id + "==", "\x00" + id[1:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseID(%q) = %v; want ErrMalformed", s, err)
			}
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(s)
		if derr != nil || len(raw) != IDBytes || base64.RawURLEncoding.EncodeToString(raw) != s || sha256.Sum256(raw) != h {
			t.Fatalf("ParseID(%q) accepted a non-canonical id", s)
		}
	})
}
