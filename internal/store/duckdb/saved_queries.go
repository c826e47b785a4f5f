package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// Saved queries are the dashboard's Explore queries, a few per project: a
// row each in the metadata database, their names unique in a project.
const savedQueriesSchema = `CREATE TABLE IF NOT EXISTS saved_queries (
	id BIGINT PRIMARY KEY,
	project BIGINT NOT NULL,
	name VARCHAR NOT NULL,
	sql VARCHAR NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	updated TIMESTAMPTZ NOT NULL)`

// initSavedQueries creates the saved queries table when it is not there
// yet (a data directory from before it), at open.
func (s *Store) initSavedQueries(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, savedQueriesSchema); err != nil {
		return fmt.Errorf("create saved queries table: %w", err)
	}
	return nil
}

// SavedQueries calls each for every saved query of project, by name.
func (s *Store) SavedQueries(ctx context.Context, project int64, each func(id int64, name, sql string, created, updated time.Time)) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, sql, created, updated FROM saved_queries
		WHERE project = ? ORDER BY lower(name), name, id`, project)
	if err != nil {
		return fmt.Errorf("read saved queries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id               int64
			name, text       string
			created, updated time.Time
		)
		if err := rows.Scan(&id, &name, &text, &created, &updated); err != nil {
			return fmt.Errorf("read saved queries: %w", err)
		}
		each(id, name, text, created.UTC(), updated.UTC())
	}
	return rows.Err()
}

// nameTakenLocked reports meta.ErrExists when another saved query of
// project (not id) has name.
func (s *Store) nameTakenLocked(ctx context.Context, project, id int64, name string) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM saved_queries WHERE project = ? AND name = ? AND id <> ?`,
		project, name, id).Scan(&n); err != nil {
		return fmt.Errorf("read saved queries: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("a saved query named %q: %w; choose another name", name, meta.ErrExists)
	}
	return nil
}

// CreateSavedQuery stores a new saved query of project and returns its id
// (meta.ErrExists when the project has one of that name).
func (s *Store) CreateSavedQuery(ctx context.Context, project int64, name, text string, at time.Time) (int64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if err := s.nameTakenLocked(ctx, project, 0, name); err != nil {
		return 0, err
	}
	var id int64
	if err := s.db.QueryRowContext(ctx, `INSERT INTO saved_queries (id, project, name, sql, created, updated)
		SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ? FROM saved_queries RETURNING id`, project, name, text, at, at).Scan(&id); err != nil {
		return 0, fmt.Errorf("save query %q: %w", name, err)
	}
	return id, nil
}

// CountSavedQueries returns how many saved queries project has.
func (s *Store) CountSavedQueries(ctx context.Context, project int64) (int, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM saved_queries WHERE project = ?`, project).Scan(&n); err != nil {
		return 0, fmt.Errorf("count saved queries: %w", err)
	}
	return n, nil
}

// UpdateSavedQuery replaces the name and SQL of a saved query of project
// and returns when it was created: meta.ErrNotFound when project has no
// query id (another project's id included), meta.ErrExists when another of
// its queries has the name.
func (s *Store) UpdateSavedQuery(ctx context.Context, project, id int64, name, text string, at time.Time) (time.Time, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var created time.Time
	err := s.db.QueryRowContext(ctx, `SELECT created FROM saved_queries WHERE project = ? AND id = ?`, project, id).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("saved query %d: %w", id, meta.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read saved query %d: %w", id, err)
	}
	if err := s.nameTakenLocked(ctx, project, id, name); err != nil {
		return time.Time{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE saved_queries SET name = ?, sql = ?, updated = ? WHERE project = ? AND id = ?`,
		name, text, at, project, id); err != nil {
		return time.Time{}, fmt.Errorf("update saved query %d: %w", id, err)
	}
	return created.UTC(), nil
}

// DeleteSavedQuery deletes a saved query of project (meta.ErrNotFound when
// project has no query id).
func (s *Store) DeleteSavedQuery(ctx context.Context, project, id int64) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var n int64
	if err := s.db.QueryRowContext(ctx, `DELETE FROM saved_queries WHERE project = ? AND id = ? RETURNING id`, project, id).Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("saved query %d: %w", id, meta.ErrNotFound)
		}
		return fmt.Errorf("delete saved query %d: %w", id, err)
	}
	return nil
}
