package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/meta"
)

// Alert rules are a row each, the rule and its state as JSON, as in the
// DuckDB store. Every change of a rule, its state's included, is
// announced (meta.ChangeAlertRule), so that every node's rules stay those
// of the database.

var _ alert.Store = (*Store)(nil)

// AlertRules returns every alert rule of every project, by id.
func (s *Store) AlertRules(ctx context.Context) ([]alert.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, project, spec, state, created, updated FROM alert_rules ORDER BY id`)
	if err != nil {
		return nil, s.fail("read alert rules", err)
	}
	defer rows.Close()
	var out []alert.Record
	for rows.Next() {
		var r alert.Record
		if err := rows.Scan(&r.ID, &r.Project, &r.Spec, &r.State, &r.Created, &r.Updated); err != nil {
			return nil, s.fail("read alert rules", err)
		}
		r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("read alert rules", err)
	}
	return out, nil
}

// CreateAlertRule stores a new alert rule of project and returns its id.
func (s *Store) CreateAlertRule(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		if err := tx.QueryRow(ctx, `INSERT INTO alert_rules (project, spec, state, created, updated)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`, project, spec, state, at).Scan(&id); err != nil {
			return nil, err
		}
		return []meta.Change{alertChange(project, id)}, nil
	})
	if err != nil {
		return 0, s.fail("store alert rule", err)
	}
	return id, nil
}

// alertChange is the announcement of a change of an alert rule.
func alertChange(project, id int64) meta.Change {
	return meta.Change{Kind: meta.ChangeAlertRule, Project: project, ID: id}
}

// UpdateAlertRule replaces the rule and state of an alert rule of project
// (meta.ErrNotFound when project has no rule id).
func (s *Store) UpdateAlertRule(ctx context.Context, project, id int64, spec, state string, at time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `UPDATE alert_rules SET spec = $1, state = $2, updated = $3 WHERE project = $4 AND id = $5`,
			spec, state, at, project, id)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("alert rule %d: %w", id, meta.ErrNotFound)
		}
		return []meta.Change{alertChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("update alert rule %d", id), err)
	}
	return nil
}

// PutAlertState replaces an alert rule's state (a deleted rule's is
// dropped, and not announced).
func (s *Store) PutAlertState(ctx context.Context, id int64, state string) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		var project int64
		err := tx.QueryRow(ctx, `UPDATE alert_rules SET state = $1 WHERE id = $2 RETURNING project`, state, id).Scan(&project)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []meta.Change{alertChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("store alert rule %d state", id), err)
	}
	return nil
}

// DeleteAlertRule deletes an alert rule of project (meta.ErrNotFound when
// project has no rule id).
func (s *Store) DeleteAlertRule(ctx context.Context, project, id int64) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM alert_rules WHERE project = $1 AND id = $2`, project, id)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("alert rule %d: %w", id, meta.ErrNotFound)
		}
		return []meta.Change{alertChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("delete alert rule %d", id), err)
	}
	return nil
}
