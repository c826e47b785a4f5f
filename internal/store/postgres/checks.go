package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
)

// Checks are a row each, the check and its state as JSON; their runs are
// rows of their own (the run as JSON, a page run's Lighthouse reports
// compressed), pruned to a count per check at each run and to an age by
// the checks' loop, as in the DuckDB store. Every change of a check, its
// state's included, is announced (meta.ChangeCheck); a run alone is not:
// its check's state, written after it, is.

var _ checks.Store = (*Store)(nil)

// Checks returns every check of every project, by id.
func (s *Store) Checks(ctx context.Context) ([]checks.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, project, spec, state, created, updated FROM check_specs ORDER BY id`)
	if err != nil {
		return nil, s.fail("read checks", err)
	}
	defer rows.Close()
	var out []checks.Record
	for rows.Next() {
		var r checks.Record
		if err := rows.Scan(&r.ID, &r.Project, &r.Spec, &r.State, &r.Created, &r.Updated); err != nil {
			return nil, s.fail("read checks", err)
		}
		r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("read checks", err)
	}
	return out, nil
}

// CreateCheck stores a new check of project and returns its id.
func (s *Store) CreateCheck(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		if err := tx.QueryRow(ctx, `INSERT INTO check_specs (project, spec, state, created, updated)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`, project, spec, state, at).Scan(&id); err != nil {
			return nil, err
		}
		return []meta.Change{checkChange(project, id)}, nil
	})
	if err != nil {
		return 0, s.fail("store check", err)
	}
	return id, nil
}

// checkChange is the announcement of a change of a check.
func checkChange(project, id int64) meta.Change {
	return meta.Change{Kind: meta.ChangeCheck, Project: project, ID: id}
}

// UpdateCheck replaces the spec and state of a check of project
// (meta.ErrNotFound when project has no check id).
func (s *Store) UpdateCheck(ctx context.Context, project, id int64, spec, state string, at time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `UPDATE check_specs SET spec = $1, state = $2, updated = $3 WHERE project = $4 AND id = $5`,
			spec, state, at, project, id)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("check %d: %w", id, meta.ErrNotFound)
		}
		return []meta.Change{checkChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("update check %d", id), err)
	}
	return nil
}

// PutCheckState replaces a check's state (a deleted check's is dropped,
// and not announced).
func (s *Store) PutCheckState(ctx context.Context, id int64, state string) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		var project int64
		err := tx.QueryRow(ctx, `UPDATE check_specs SET state = $1 WHERE id = $2 RETURNING project`, state, id).Scan(&project)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []meta.Change{checkChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("store check %d state", id), err)
	}
	return nil
}

// DeleteCheck deletes a check of project and its runs (meta.ErrNotFound
// when project has no check id).
func (s *Store) DeleteCheck(ctx context.Context, project, id int64) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM check_specs WHERE project = $1 AND id = $2`, project, id)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("check %d: %w", id, meta.ErrNotFound)
		}
		if _, err = tx.Exec(ctx, `DELETE FROM check_runs WHERE check_id = $1`, id); err != nil {
			return nil, err
		}
		return []meta.Change{checkChange(project, id)}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("delete check %d", id), err)
	}
	return nil
}

// AddCheckRun stores a run and returns its id; the check then keeps its
// newest keepRuns runs, and the reports of its newest keepReports.
func (s *Store) AddCheckRun(ctx context.Context, r checks.RunRecord, keepRuns, keepReports int) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO check_runs (project, check_id, run_at, run, report_json, report_html)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			r.Project, r.Check, r.At, r.Run, r.ReportJSON, r.ReportHTML).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM check_runs WHERE check_id = $1 AND id <= coalesce(
			(SELECT id FROM check_runs WHERE check_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2), 0)`, r.Check, keepRuns); err != nil {
			return fmt.Errorf("drop old runs of check %d: %w", r.Check, err)
		}
		if r.ReportJSON != nil || r.ReportHTML != nil {
			if _, err := tx.Exec(ctx, `UPDATE check_runs SET report_json = NULL, report_html = NULL
				WHERE check_id = $1 AND (report_json IS NOT NULL OR report_html IS NOT NULL) AND id <= coalesce(
				(SELECT id FROM check_runs WHERE check_id = $1 AND (report_json IS NOT NULL OR report_html IS NOT NULL)
				 ORDER BY id DESC LIMIT 1 OFFSET $2), 0)`, r.Check, keepReports); err != nil {
				return fmt.Errorf("drop old reports of check %d: %w", r.Check, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.fail("store check run", err)
	}
	return id, nil
}

// CheckRuns returns a check's newest runs first, at most limit, without
// their reports.
func (s *Store) CheckRuns(ctx context.Context, project, check int64, limit int) ([]checks.RunRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, run_at, run FROM check_runs WHERE project = $1 AND check_id = $2 ORDER BY id DESC LIMIT $3`,
		project, check, limit)
	if err != nil {
		return nil, s.fail(fmt.Sprintf("read the runs of check %d", check), err)
	}
	defer rows.Close()
	var out []checks.RunRecord
	for rows.Next() {
		r := checks.RunRecord{Project: project, Check: check}
		if err := rows.Scan(&r.ID, &r.At, &r.Run); err != nil {
			return nil, s.fail(fmt.Sprintf("read the runs of check %d", check), err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(fmt.Sprintf("read the runs of check %d", check), err)
	}
	return out, nil
}

// CheckReport returns a run's compressed report, JSON or HTML; nil when
// the run or its report is not kept.
func (s *Store) CheckReport(ctx context.Context, project, check, run int64, html bool) ([]byte, error) {
	col := "report_json"
	if html {
		col = "report_html"
	}
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT `+col+` FROM check_runs WHERE project = $1 AND check_id = $2 AND id = $3`, project, check, run).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(fmt.Sprintf("read the report of run %d", run), err)
	}
	return b, nil
}

// PruneCheckRuns deletes the runs from before a time and returns how many.
func (s *Store) PruneCheckRuns(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM check_runs WHERE run_at < $1`, before)
	if err != nil {
		return 0, s.fail("prune check runs", err)
	}
	return tag.RowsAffected(), nil
}
