// Package session owns the dashboard's sign-in sessions: a random id a
// browser holds in a cookie, mapped to the key the session was opened with
// (by its id, never the key), a CSRF token, and a sliding idle expiry under
// an absolute lifetime. Sessions live in memory and, through a Store, on
// disk, so that a restart keeps them; only the SHA-256 of an id is kept,
// never the id.
//
// It knows nothing of HTTP, cookies or key secrets: the server parses the
// cookie, and says through Options.Valid whether a session's key still
// opens it.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// Session is a signed-in dashboard session.
type Session struct {
	// Hash is the SHA-256 of the id (see ParseID).
	Hash Hash
	// KeyID is the id of the project key the session was opened with;
	// 0 for the root key.
	KeyID int64
	// Root says the session was opened with the instance root key; it
	// sees every project.
	Root bool
	// RootTag names the root key a root session was opened with (see
	// auth.Authenticator.RootTag), so that a new root key ends it.
	RootTag string
	// Project and Kind are those of the key; 0 and "" for the root key.
	Project int64
	Kind    meta.KeyKind
	// CSRF is the token a state-changing request of the session carries.
	CSRF string
	// Created is the sign-in; LastSeen the last use.
	Created, LastSeen time.Time
}

// Store keeps sessions across restarts. Implementations keep each field
// of Session (the Hash, never an id).
type Store interface {
	// Sessions returns every stored session.
	Sessions(ctx context.Context) ([]Session, error)
	// PutSession stores a new session.
	PutSession(ctx context.Context, s Session) error
	// TouchSession records a session's last use.
	TouchSession(ctx context.Context, h Hash, lastSeen time.Time) error
	// DeleteSessions removes sessions; unknown hashes are no error.
	DeleteSessions(ctx context.Context, hs ...Hash) error
}

// Options configure a Manager.
type Options struct {
	// Idle ends a session unused this long (sliding).
	Idle time.Duration
	// Max ends a session this long after sign-in, however used.
	Max time.Duration
	// TouchEvery is how stale the stored last use may be: a session's
	// use is written to the Store at most this often (a restart may then
	// end a session up to this much early, never late).
	TouchEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Store keeps sessions across restarts; nil keeps them in memory only.
	Store Store
	// Valid says whether a session's key still opens it (not revoked, or
	// for a root session, still the root key), on each use and each
	// sweep; nil accepts every session.
	Valid func(Session) bool
	// Logger reports store failures that do not fail a request; nil
	// means discard.
	Logger *slog.Logger
}

// DefaultOptions returns the documented defaults: 12 hours idle, 7 days
// in all.
func DefaultOptions() Options {
	return Options{Idle: 12 * time.Hour, Max: 7 * 24 * time.Hour, TouchEvery: time.Minute}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Idle <= 0 || o.Max <= 0 {
		return fmt.Errorf("session idle time and lifetime must be positive, got %v and %v", o.Idle, o.Max)
	}
	if o.Idle > o.Max {
		return fmt.Errorf("session idle time %v is longer than the session lifetime %v", o.Idle, o.Max)
	}
	if o.TouchEvery < 0 {
		return fmt.Errorf("session touch interval must be >= 0, got %v", o.TouchEvery)
	}
	return nil
}

// entry is a session in memory and when its last use was stored.
type entry struct {
	s      Session
	stored time.Time
}

// Manager keeps the sessions.
type Manager struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	byHash map[Hash]*entry
}

// New loads the stored sessions, dropping those that ended while the
// server was down.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, now: opts.Now, log: opts.Logger, byHash: map[Hash]*entry{}}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if opts.Store == nil {
		return m, nil
	}
	all, err := opts.Store.Sessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load sessions: %w", err)
	}
	now := m.now()
	var gone []Hash
	for _, s := range all {
		if !m.live(s, now) {
			gone = append(gone, s.Hash)
			continue
		}
		m.byHash[s.Hash] = &entry{s: s, stored: s.LastSeen}
	}
	m.forget(ctx, gone...)
	return m, nil
}

// Expires is when s ends unless used before: its last use plus the idle
// time, or its sign-in plus the lifetime, whichever comes first.
func (m *Manager) Expires(s Session) time.Time {
	idle, max := s.LastSeen.Add(m.opts.Idle), s.Created.Add(m.opts.Max)
	if max.Before(idle) {
		return max
	}
	return idle
}

// live says s is open at now: before it expires and its key still valid.
func (m *Manager) live(s Session, now time.Time) bool {
	return now.Before(m.Expires(s)) && (m.opts.Valid == nil || m.opts.Valid(s))
}

// Create opens a session for the key s names (KeyID, Root, RootTag,
// Project, Kind); it returns the id to hand to the browser, once, and the
// session with its hash, CSRF token and times.
func (m *Manager) Create(ctx context.Context, s Session) (string, Session, error) {
	id, h := newID()
	now := m.now().UTC().Round(0)
	s.Hash, s.CSRF, s.Created, s.LastSeen = h, newToken(), now, now
	if m.opts.Store != nil {
		if err := m.opts.Store.PutSession(ctx, s); err != nil {
			return "", Session{}, fmt.Errorf("store session: %w", err)
		}
	}
	m.mu.Lock()
	m.byHash[h] = &entry{s: s, stored: now}
	m.mu.Unlock()
	return id, s, nil
}

// Get returns the session of an id and records its use, which moves its
// idle expiry. An ended session (expired, or its key no longer valid) is
// deleted and reported as ErrExpired or ErrKeyGone.
func (m *Manager) Get(ctx context.Context, id string) (Session, error) {
	h, err := ParseID(id)
	if err != nil {
		return Session{}, err
	}
	now := m.now().UTC().Round(0)
	m.mu.Lock()
	e, ok := m.byHash[h]
	if !ok {
		m.mu.Unlock()
		found, ok, err := m.lookup(ctx, h)
		if err != nil {
			return Session{}, err
		}
		if !ok {
			return Session{}, ErrNotFound
		}
		m.mu.Lock()
		e = found
	}
	var ended error
	switch {
	case !now.Before(m.Expires(e.s)):
		ended = ErrExpired
	case m.opts.Valid != nil && !m.opts.Valid(e.s):
		ended = ErrKeyGone
	}
	if ended != nil {
		delete(m.byHash, h)
		m.mu.Unlock()
		m.forget(ctx, h)
		return Session{}, ended
	}
	if now.After(e.s.LastSeen) {
		e.s.LastSeen = now
	}
	touch := m.opts.Store != nil && now.Sub(e.stored) >= m.opts.TouchEvery
	if touch {
		e.stored = now
	}
	s := e.s
	m.mu.Unlock()
	if touch {
		// A request that goes away does not cancel the write.
		if err := m.opts.Store.TouchSession(context.WithoutCancel(ctx), h, now); err != nil {
			m.log.Warn("session: last use not stored", "err", err)
		}
	}
	return s, nil
}

// Delete ends the session of an id (sign-out); an unknown id is no error.
func (m *Manager) Delete(ctx context.Context, id string) error {
	h, err := ParseID(id)
	if err != nil {
		return nil
	}
	m.mu.Lock()
	delete(m.byHash, h)
	m.mu.Unlock()
	if m.opts.Store != nil {
		// A sign-out whose request goes away still ends the session on
		// disk, or it would come back at the next start.
		if err := m.opts.Store.DeleteSessions(context.WithoutCancel(ctx), h); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
	}
	return nil
}

// forget deletes an ended session from the store.
func (m *Manager) forget(ctx context.Context, hs ...Hash) {
	if m.opts.Store == nil || len(hs) == 0 {
		return
	}
	if err := m.opts.Store.DeleteSessions(context.WithoutCancel(ctx), hs...); err != nil {
		m.log.Warn("session: ended sessions not deleted from the store; the next start drops them again", "sessions", len(hs), "err", err)
	}
}

// Sweep deletes the sessions that ended (expired, or their key no longer
// valid) and returns how many.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	now := m.now()
	m.mu.Lock()
	var gone []Hash
	for h, e := range m.byHash {
		if !m.live(e.s, now) {
			gone = append(gone, h)
			delete(m.byHash, h)
		}
	}
	m.mu.Unlock()
	if m.opts.Store != nil && len(gone) > 0 {
		if err := m.opts.Store.DeleteSessions(ctx, gone...); err != nil {
			// Deleted from memory, they are gone until a restart;
			// then New drops them again.
			return len(gone), fmt.Errorf("delete %d ended sessions: %w", len(gone), err)
		}
	}
	return len(gone), nil
}

// Run sweeps every interval until ctx ends.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Sweep(ctx); err != nil && !errors.Is(err, context.Canceled) {
			m.log.Warn("session sweep", "err", err)
		}
	}
}

// Len is the number of sessions in memory (some may have ended since the
// last sweep).
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byHash)
}

// Finder is a Store that reads one session: a store several nodes share,
// where a session opened on another node is found on its first use here.
type Finder interface {
	// Session returns the session of a hash, or an error wrapping
	// meta.ErrNotFound when there is none.
	Session(ctx context.Context, h Hash) (Session, error)
}

// lookup reads a session missing from memory from a shared store, and
// keeps it; ok is false when the store has none (or is not shared).
func (m *Manager) lookup(ctx context.Context, h Hash) (*entry, bool, error) {
	f, ok := m.opts.Store.(Finder)
	if !ok {
		return nil, false, nil
	}
	s, err := f.Session(ctx, h)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byHash[h]
	if !ok {
		e = &entry{s: s, stored: s.LastSeen}
		m.byHash[h] = e
	}
	return e, true, nil
}

// Drop forgets sessions in memory without touching the store: another
// node ended them (a sign-out there).
func (m *Manager) Drop(hs ...Hash) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hs {
		delete(m.byHash, h)
	}
}
