package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

// Dashboard sessions are a row each: the SHA-256 of the session id (never
// the id), the id of the key it was opened with (never the key), its CSRF
// token and its times, as in the DuckDB store.

var _ session.Store = (*Store)(nil)

const sessionColumns = `id_sha256, key_id, root, root_tag, project, kind, csrf_token, created, last_seen`

// Sessions returns every stored dashboard session, oldest first.
func (s *Store) Sessions(ctx context.Context) ([]session.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM dashboard_sessions ORDER BY created, id_sha256`)
	if err != nil {
		return nil, s.fail("read dashboard sessions", err)
	}
	defer rows.Close()
	var out []session.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, s.fail("read dashboard sessions", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("read dashboard sessions", err)
	}
	return out, nil
}

var _ session.Finder = (*Store)(nil)

// Session returns the session of a hash (meta.ErrNotFound when none): a
// node finds a session opened on another node on its first use.
func (s *Store) Session(ctx context.Context, h session.Hash) (session.Session, error) {
	x, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM dashboard_sessions WHERE id_sha256 = $1`, h[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return session.Session{}, fmt.Errorf("dashboard session: %w", meta.ErrNotFound)
	}
	if err != nil {
		return session.Session{}, s.fail("read a dashboard session", err)
	}
	return x, nil
}

// scanSession reads a row of sessionColumns.
func scanSession(row pgx.Row) (session.Session, error) {
	var x session.Session
	var h []byte
	var kind string
	if err := row.Scan(&h, &x.KeyID, &x.Root, &x.RootTag, &x.Project, &kind, &x.CSRF, &x.Created, &x.LastSeen); err != nil {
		return x, err
	}
	if len(h) != len(x.Hash) {
		return x, fmt.Errorf("dashboard session hash of %d bytes; want %d", len(h), len(x.Hash))
	}
	copy(x.Hash[:], h)
	x.Kind = meta.KeyKind(kind)
	x.Created, x.LastSeen = x.Created.UTC(), x.LastSeen.UTC()
	return x, nil
}

// PutSession stores a new dashboard session (replacing one of the same
// hash).
func (s *Store) PutSession(ctx context.Context, x session.Session) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO dashboard_sessions
		(id_sha256, key_id, root, root_tag, project, kind, csrf_token, created, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id_sha256) DO UPDATE SET key_id = excluded.key_id, root = excluded.root, root_tag = excluded.root_tag,
			project = excluded.project, kind = excluded.kind, csrf_token = excluded.csrf_token,
			created = excluded.created, last_seen = excluded.last_seen`,
		x.Hash[:], x.KeyID, x.Root, x.RootTag, x.Project, string(x.Kind), x.CSRF, x.Created, x.LastSeen); err != nil {
		return s.fail("write dashboard session", err)
	}
	return nil
}

// TouchSession records a dashboard session's last use. It announces
// nothing: other nodes need not know of each use.
func (s *Store) TouchSession(ctx context.Context, h session.Hash, lastSeen time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE dashboard_sessions SET last_seen = $1 WHERE id_sha256 = $2`, lastSeen, h[:]); err != nil {
		return s.fail("touch dashboard session", err)
	}
	return nil
}

// DeleteSessions removes dashboard sessions; unknown hashes are no error.
// Each session deleted is announced (ChangeSessionsDeleted, its hash in
// hex as the name), so that every node ends it.
func (s *Store) DeleteSessions(ctx context.Context, hs ...session.Hash) error {
	if len(hs) == 0 {
		return nil
	}
	args := make([][]byte, len(hs))
	for i := range hs {
		args[i] = hs[i][:]
	}
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		rows, err := tx.Query(ctx, `DELETE FROM dashboard_sessions WHERE id_sha256 = ANY($1) RETURNING id_sha256`, args)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var changes []meta.Change
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return nil, err
			}
			changes = append(changes, meta.Change{Kind: meta.ChangeSessionsDeleted, Name: hex.EncodeToString(h)})
		}
		return changes, rows.Err()
	})
	if err != nil {
		return s.fail("delete dashboard sessions", err)
	}
	return nil
}
