package duckdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

// Dashboard sessions, one row each in the metadata database: the SHA-256
// of the session id (never the id), the id of the key it was opened with
// (never the key), its CSRF token and its times.
const sessionsSchema = `CREATE TABLE IF NOT EXISTS dashboard_sessions (
	id_sha256 BLOB PRIMARY KEY,
	key_id BIGINT NOT NULL,
	root BOOLEAN NOT NULL,
	root_tag VARCHAR NOT NULL,
	project BIGINT NOT NULL,
	kind VARCHAR NOT NULL,
	csrf_token VARCHAR NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	last_seen TIMESTAMPTZ NOT NULL)`

var _ session.Store = (*Store)(nil)

func (s *Store) initSessions(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, sessionsSchema); err != nil {
		return fmt.Errorf("create dashboard sessions table: %w", err)
	}
	return nil
}

// Sessions returns every stored dashboard session.
func (s *Store) Sessions(ctx context.Context) ([]session.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id_sha256, key_id, root, root_tag, project, kind, csrf_token, created, last_seen
		FROM dashboard_sessions`)
	if err != nil {
		return nil, fmt.Errorf("read dashboard sessions: %w", err)
	}
	defer rows.Close()
	var out []session.Session
	for rows.Next() {
		var x session.Session
		var h []byte
		var kind string
		if err := rows.Scan(&h, &x.KeyID, &x.Root, &x.RootTag, &x.Project, &kind, &x.CSRF, &x.Created, &x.LastSeen); err != nil {
			return nil, fmt.Errorf("read dashboard sessions: %w", err)
		}
		if len(h) != len(x.Hash) {
			return nil, fmt.Errorf("dashboard session hash of %d bytes; want %d", len(h), len(x.Hash))
		}
		copy(x.Hash[:], h)
		x.Kind = meta.KeyKind(kind)
		x.Created, x.LastSeen = x.Created.UTC(), x.LastSeen.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

// PutSession stores a new dashboard session.
func (s *Store) PutSession(ctx context.Context, x session.Session) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO dashboard_sessions
		(id_sha256, key_id, root, root_tag, project, kind, csrf_token, created, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		hashArg(x.Hash), x.KeyID, x.Root, x.RootTag, x.Project, string(x.Kind), x.CSRF, x.Created, x.LastSeen); err != nil {
		return fmt.Errorf("write dashboard session: %w", err)
	}
	return nil
}

// TouchSession records a dashboard session's last use.
func (s *Store) TouchSession(ctx context.Context, h session.Hash, lastSeen time.Time) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE dashboard_sessions SET last_seen = ? WHERE id_sha256 = ?`, lastSeen, hashArg(h)); err != nil {
		return fmt.Errorf("touch dashboard session: %w", err)
	}
	return nil
}

// DeleteSessions removes dashboard sessions.
func (s *Store) DeleteSessions(ctx context.Context, hs ...session.Hash) error {
	if len(hs) == 0 {
		return nil
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	// A few hundred at a time keeps the statement small.
	for len(hs) > 0 {
		n := min(len(hs), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = hashArg(hs[i])
		}
		q := `DELETE FROM dashboard_sessions WHERE id_sha256 IN (?` + strings.Repeat(", ?", n-1) + `)`
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("delete dashboard sessions: %w", err)
		}
		hs = hs[n:]
	}
	return nil
}

// hashArg is a session hash as a statement argument: a slice of its own
// (cgo refuses a pointer into a struct that holds Go pointers).
func hashArg(h session.Hash) []byte {
	return append([]byte(nil), h[:]...)
}
