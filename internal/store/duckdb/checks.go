package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
)

// Checks are few and change when their owner edits them or a run ends:
// a row each in the metadata database, the check and its state as JSON.
// Their runs are rows of their own (the run as JSON, a page run's
// Lighthouse reports compressed), pruned to a count per check at each
// run and to an age by the checks' loop.
const checksSchema = `CREATE TABLE IF NOT EXISTS check_specs (
	id BIGINT PRIMARY KEY,
	project BIGINT NOT NULL,
	spec VARCHAR NOT NULL,
	state VARCHAR NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	updated TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS check_runs (
	id BIGINT PRIMARY KEY,
	project BIGINT NOT NULL,
	check_id BIGINT NOT NULL,
	run_at TIMESTAMPTZ NOT NULL,
	run VARCHAR NOT NULL,
	report_json BLOB,
	report_html BLOB);
CREATE INDEX IF NOT EXISTS check_runs_check ON check_runs (check_id);`

var _ checks.Store = (*Store)(nil)

// initChecks creates the checks tables when they are not there yet (a
// data directory from before them), at open.
func (s *Store) initChecks(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, checksSchema); err != nil {
		return fmt.Errorf("create checks tables: %w", err)
	}
	return nil
}

// Checks returns every check of every project, by id.
func (s *Store) Checks(ctx context.Context) ([]checks.Record, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT id, project, spec, state, created, updated FROM check_specs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read checks: %w", err)
	}
	defer rows.Close()
	var out []checks.Record
	for rows.Next() {
		var r checks.Record
		if err := rows.Scan(&r.ID, &r.Project, &r.Spec, &r.State, &r.Created, &r.Updated); err != nil {
			return nil, fmt.Errorf("read checks: %w", err)
		}
		r.Created, r.Updated = r.Created.UTC(), r.Updated.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateCheck stores a new check of project and returns its id.
func (s *Store) CreateCheck(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var id int64
	if err := s.db.QueryRowContext(ctx, `INSERT INTO check_specs (id, project, spec, state, created, updated)
		SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ? FROM check_specs RETURNING id`, project, spec, state, at, at).Scan(&id); err != nil {
		return 0, fmt.Errorf("store check: %w", err)
	}
	return id, nil
}

// UpdateCheck replaces the spec and state of a check of project
// (meta.ErrNotFound when project has no check id).
func (s *Store) UpdateCheck(ctx context.Context, project, id int64, spec, state string, at time.Time) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int64
	err := s.db.QueryRowContext(ctx, `UPDATE check_specs SET spec = ?, state = ?, updated = ? WHERE project = ? AND id = ? RETURNING id`,
		spec, state, at, project, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check %d: %w", id, meta.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update check %d: %w", id, err)
	}
	return nil
}

// PutCheckState replaces a check's state (a deleted check's is dropped).
func (s *Store) PutCheckState(ctx context.Context, id int64, state string) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE check_specs SET state = ? WHERE id = ?`, state, id); err != nil {
		return fmt.Errorf("store check %d state: %w", id, err)
	}
	return nil
}

// DeleteCheck deletes a check of project and its runs (meta.ErrNotFound
// when project has no check id).
func (s *Store) DeleteCheck(ctx context.Context, project, id int64) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int64
	if err := s.db.QueryRowContext(ctx, `DELETE FROM check_specs WHERE project = ? AND id = ? RETURNING id`, project, id).Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check %d: %w", id, meta.ErrNotFound)
		}
		return fmt.Errorf("delete check %d: %w", id, err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM check_runs WHERE check_id = ?`, id); err != nil {
		return fmt.Errorf("delete the runs of check %d: %w", id, err)
	}
	return nil
}

// AddCheckRun stores a run and returns its id; the check then keeps its
// newest keepRuns runs, and the reports of its newest keepReports.
func (s *Store) AddCheckRun(ctx context.Context, r checks.RunRecord, keepRuns, keepReports int) (int64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var id int64
	if err := s.db.QueryRowContext(ctx, `INSERT INTO check_runs (id, project, check_id, run_at, run, report_json, report_html)
		SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ?, ? FROM check_runs RETURNING id`,
		r.Project, r.Check, r.At, r.Run, nilBlob(r.ReportJSON), nilBlob(r.ReportHTML)).Scan(&id); err != nil {
		return 0, fmt.Errorf("store check run: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM check_runs WHERE check_id = ? AND id <= coalesce(
		(SELECT id FROM check_runs WHERE check_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`, r.Check, r.Check, keepRuns); err != nil {
		return 0, fmt.Errorf("drop old runs of check %d: %w", r.Check, err)
	}
	if r.ReportJSON != nil || r.ReportHTML != nil {
		if _, err := s.db.ExecContext(ctx, `UPDATE check_runs SET report_json = NULL, report_html = NULL
			WHERE check_id = ? AND (report_json IS NOT NULL OR report_html IS NOT NULL) AND id <= coalesce(
			(SELECT id FROM check_runs WHERE check_id = ? AND (report_json IS NOT NULL OR report_html IS NOT NULL)
			 ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`, r.Check, r.Check, keepReports); err != nil {
			return 0, fmt.Errorf("drop old reports of check %d: %w", r.Check, err)
		}
	}
	return id, nil
}

func nilBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// CheckRuns returns a check's newest runs first, at most limit, without
// their reports.
func (s *Store) CheckRuns(ctx context.Context, project, check int64, limit int) ([]checks.RunRecord, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT id, run_at, run FROM check_runs WHERE project = ? AND check_id = ? ORDER BY id DESC LIMIT ?`,
		project, check, limit)
	if err != nil {
		return nil, fmt.Errorf("read the runs of check %d: %w", check, err)
	}
	defer rows.Close()
	var out []checks.RunRecord
	for rows.Next() {
		r := checks.RunRecord{Project: project, Check: check}
		if err := rows.Scan(&r.ID, &r.At, &r.Run); err != nil {
			return nil, fmt.Errorf("read the runs of check %d: %w", check, err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CheckReport returns a run's compressed report, JSON or HTML; nil when
// the run or its report is not kept.
func (s *Store) CheckReport(ctx context.Context, project, check, run int64, html bool) ([]byte, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	col := "report_json"
	if html {
		col = "report_html"
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT `+col+` FROM check_runs WHERE project = ? AND check_id = ? AND id = ?`, project, check, run).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the report of run %d: %w", run, err)
	}
	return b, nil
}

// PruneCheckRuns deletes the runs from before a time.
func (s *Store) PruneCheckRuns(ctx context.Context, before time.Time) (int64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM check_runs WHERE run_at < ?`, before)
	if err != nil {
		return 0, fmt.Errorf("prune check runs: %w", err)
	}
	return res.RowsAffected()
}
