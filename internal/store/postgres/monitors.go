package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
)

// Cron monitors are a row of their state as JSON each, as in the DuckDB
// store. Every write is announced (meta.ChangeMonitor, with the slug).

var _ monitors.Store = (*Store)(nil)

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
