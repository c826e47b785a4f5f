package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
)

// Cron monitors are a row of their state as JSON each, as in the DuckDB
// store. Every write is announced (meta.ChangeMonitor, with the slug).

var _ monitors.SharedStore = (*Store)(nil)

// monitorLock is the first key of the transaction-level advisory locks
// UpdateMonitor takes, one per monitor ("cron" in ASCII; the second key is
// a hash of the monitor's key). Two-key advisory locks never collide with
// the one-key locks of migrations and leaders.
const monitorLock int32 = 0x63726f6e

// Monitors returns every cron monitor, by project, slug and environment
// (byte order, whatever the database's collation).
func (s *Store) Monitors(ctx context.Context) ([]monitors.Monitor, error) {
	rows, err := s.pool.Query(ctx, `SELECT state FROM cron_monitors ORDER BY project, slug COLLATE "C", environment COLLATE "C"`)
	if err != nil {
		return nil, s.fail("read cron monitors", err)
	}
	defer rows.Close()
	var out []monitors.Monitor
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			return nil, s.fail("read cron monitors", err)
		}
		var m monitors.Monitor
		if err := json.Unmarshal([]byte(state), &m); err != nil {
			return nil, fmt.Errorf("cron monitor state %.80q: %w", state, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("read cron monitors", err)
	}
	return out, nil
}

// PutMonitor stores a cron monitor's state.
func (s *Store) PutMonitor(ctx context.Context, m monitors.Monitor) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		if _, err := tx.Exec(ctx, `INSERT INTO cron_monitors (project, slug, environment, state) VALUES ($1, $2, $3, $4)
			ON CONFLICT (project, slug, environment) DO UPDATE SET state = excluded.state`,
			m.Project, m.Slug, m.Environment, string(b)); err != nil {
			return nil, err
		}
		return []meta.Change{{Kind: meta.ChangeMonitor, Project: m.Project, Name: m.Slug}}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("write cron monitor %q", m.Slug), err)
	}
	return nil
}

// UpdateMonitor runs fn on a monitor's stored state under a lock of that
// monitor, and stores what fn returns when it says so, announcing it
// (monitors.SharedStore). The lock is an advisory lock on the monitor's
// key, so that a monitor not stored yet is locked too: two check-ins of a
// new monitor on two nodes are applied one after the other.
func (s *Store) UpdateMonitor(ctx context.Context, project int64, slug, env string,
	fn func(m monitors.Monitor, found bool) (monitors.Monitor, bool, error)) (monitors.Monitor, error) {
	var out monitors.Monitor
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		lockKey := fmt.Sprintf("%d/%d/%s/%s", project, len(slug), slug, env) // unambiguous
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, monitorLock, lockKey); err != nil {
			return nil, err
		}
		cur := monitors.Monitor{Project: project, Slug: slug, Environment: env}
		found := true
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM cron_monitors WHERE project = $1 AND slug = $2 AND environment = $3`,
			project, slug, env).Scan(&state)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			found = false
		case err != nil:
			return nil, err
		default:
			if err := json.Unmarshal([]byte(state), &cur); err != nil {
				return nil, fmt.Errorf("cron monitor state %.80q: %w", state, err)
			}
		}
		next, store, err := fn(cur, found)
		if err != nil {
			return nil, &fnError{err}
		}
		out = cur
		if !store {
			return nil, nil
		}
		if next.Project != project || next.Slug != slug || next.Environment != env {
			return nil, &fnError{fmt.Errorf("BUG: cron monitor %d/%q/%q updated as %d/%q/%q", project, slug, env, next.Project, next.Slug, next.Environment)}
		}
		b, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cron_monitors (project, slug, environment, state) VALUES ($1, $2, $3, $4)
			ON CONFLICT (project, slug, environment) DO UPDATE SET state = excluded.state`,
			project, slug, env, string(b)); err != nil {
			return nil, err
		}
		out = next
		return []meta.Change{{Kind: meta.ChangeMonitor, Project: project, Name: slug}}, nil
	})
	var fe *fnError
	if errors.As(err, &fe) {
		return monitors.Monitor{}, fe.err
	}
	if err != nil {
		return monitors.Monitor{}, s.fail(fmt.Sprintf("update cron monitor %q", slug), err)
	}
	return out, nil
}

// fnError is the error of a caller's function run in a transaction,
// returned as it is.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }
func (e *fnError) Unwrap() error { return e.err }
