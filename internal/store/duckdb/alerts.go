package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/meta"
)

// Alert rules are few and change when their owner edits them or their
// state moves (a transition, a notification attempt, a query error): a
// row each in the metadata database, the rule and its state as JSON.
const alertsSchema = `CREATE TABLE IF NOT EXISTS alert_rules (
	id BIGINT PRIMARY KEY,
	project BIGINT NOT NULL,
	spec VARCHAR NOT NULL,
	state VARCHAR NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	updated TIMESTAMPTZ NOT NULL)`

var _ alert.Store = (*Store)(nil)

// initAlerts creates the alert rules table when it is not there yet (a
// data directory from before it), at open.
func (s *Store) initAlerts(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, alertsSchema); err != nil {
		return fmt.Errorf("create alert rules table: %w", err)
	}
	return nil
}

// AlertRules returns every alert rule of every project, by id.
func (s *Store) AlertRules(ctx context.Context) ([]alert.Record, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT id, project, spec, state, created, updated FROM alert_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read alert rules: %w", err)
	}
	defer rows.Close()
	var out []alert.Record
	for rows.Next() {
		var r alert.Record
		if err := rows.Scan(&r.ID, &r.Project, &r.Spec, &r.State, &r.Created, &r.Updated); err != nil {
			return nil, fmt.Errorf("read alert rules: %w", err)
		}
		r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateAlertRule stores a new alert rule of project and returns its id.
func (s *Store) CreateAlertRule(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var id int64
	if err := s.db.QueryRowContext(ctx, `INSERT INTO alert_rules (id, project, spec, state, created, updated)
		SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ? FROM alert_rules RETURNING id`, project, spec, state, at, at).Scan(&id); err != nil {
		return 0, fmt.Errorf("store alert rule: %w", err)
	}
	return id, nil
}

// UpdateAlertRule replaces the rule and state of an alert rule of project
// (meta.ErrNotFound when project has no rule id).
func (s *Store) UpdateAlertRule(ctx context.Context, project, id int64, spec, state string, at time.Time) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int64
	err := s.db.QueryRowContext(ctx, `UPDATE alert_rules SET spec = ?, state = ?, updated = ? WHERE project = ? AND id = ? RETURNING id`,
		spec, state, at, project, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("alert rule %d: %w", id, meta.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update alert rule %d: %w", id, err)
	}
	return nil
}

// PutAlertState replaces an alert rule's state (a deleted rule's is
// dropped).
func (s *Store) PutAlertState(ctx context.Context, id int64, state string) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE alert_rules SET state = ? WHERE id = ?`, state, id); err != nil {
		return fmt.Errorf("store alert rule %d state: %w", id, err)
	}
	return nil
}

// DeleteAlertRule deletes an alert rule of project (meta.ErrNotFound when
// project has no rule id).
func (s *Store) DeleteAlertRule(ctx context.Context, project, id int64) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int64
	if err := s.db.QueryRowContext(ctx, `DELETE FROM alert_rules WHERE project = ? AND id = ? RETURNING id`, project, id).Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("alert rule %d: %w", id, meta.ErrNotFound)
		}
		return fmt.Errorf("delete alert rule %d: %w", id, err)
	}
	return nil
}
