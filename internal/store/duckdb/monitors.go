package duckdb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/alidade/alidade/internal/monitors"
)

// Cron monitors are few and change once a check-in or a sweep: each is a
// row of its state as JSON in the metadata database.
const monitorsSchema = `CREATE TABLE IF NOT EXISTS cron_monitors (
	project BIGINT NOT NULL,
	slug VARCHAR NOT NULL,
	environment VARCHAR NOT NULL,
	state VARCHAR NOT NULL,
	PRIMARY KEY (project, slug, environment))`

var _ monitors.Store = (*Store)(nil)

func (s *Store) initMonitors(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, monitorsSchema); err != nil {
		return fmt.Errorf("create cron monitors table: %w", err)
	}
	return nil
}

// Monitors returns every cron monitor.
func (s *Store) Monitors(ctx context.Context) ([]monitors.Monitor, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state FROM cron_monitors ORDER BY project, slug, environment`)
	if err != nil {
		return nil, fmt.Errorf("read cron monitors: %w", err)
	}
	defer rows.Close()
	var out []monitors.Monitor
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			return nil, err
		}
		var m monitors.Monitor
		if err := json.Unmarshal([]byte(state), &m); err != nil {
			return nil, fmt.Errorf("cron monitor state %.80q: %w", state, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PutMonitor stores a cron monitor's state.
func (s *Store) PutMonitor(ctx context.Context, m monitors.Monitor) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO cron_monitors (project, slug, environment, state) VALUES (?, ?, ?, ?)`,
		m.Project, m.Slug, m.Environment, string(b)); err != nil {
		return fmt.Errorf("write cron monitor %q: %w", m.Slug, err)
	}
	return nil
}
