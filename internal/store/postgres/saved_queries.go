package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
)

// Saved queries are the dashboard's Explore queries, a few per project: a
// row each, their names unique in a project (a constraint: two nodes may
// save at once).

// SavedQueries calls each for every saved query of project, by name (case
// folded, then as is, then by id). They are sorted here rather than by
// PostgreSQL, whose order of text depends on the database's collation.
func (s *Store) SavedQueries(ctx context.Context, project int64, each func(id int64, name, sql string, created, updated time.Time)) error {
	type row struct {
		id               int64
		name, text       string
		created, updated time.Time
		folded           string
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, sql, created, updated FROM saved_queries WHERE project = $1`, project)
	if err != nil {
		return s.fail("read saved queries", err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name, &r.text, &r.created, &r.updated); err != nil {
			rows.Close()
			return s.fail("read saved queries", err)
		}
		r.folded = strings.ToLower(r.name)
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.fail("read saved queries", err)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := &all[i], &all[j]
		if a.folded != b.folded {
			return a.folded < b.folded
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.id < b.id
	})
	for _, r := range all {
		each(r.id, r.name, r.text, r.created.UTC(), r.updated.UTC())
	}
	return nil
}

// nameTaken reports meta.ErrExists when another saved query of project
// (not id) has name.
func nameTaken(ctx context.Context, tx pgx.Tx, project, id int64, name string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM saved_queries WHERE project = $1 AND name = $2 AND id <> $3`,
		project, name, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nameExists(name)
	}
	return nil
}

func nameExists(name string) error {
	return fmt.Errorf("a saved query named %q: %w; choose another name", name, meta.ErrExists)
}

// CreateSavedQuery stores a new saved query of project and returns its id
// (meta.ErrExists when the project has one of that name).
func (s *Store) CreateSavedQuery(ctx context.Context, project int64, name, text string, at time.Time) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		// Look first: a failed insert would use up an id.
		if err := nameTaken(ctx, tx, project, 0, name); err != nil {
			return nil, err
		}
		err := tx.QueryRow(ctx, `INSERT INTO saved_queries (project, name, sql, created, updated)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`, project, name, text, at).Scan(&id)
		if isUniqueViolation(err) {
			return nil, nameExists(name)
		}
		return nil, err
	})
	if err != nil {
		return 0, s.fail(fmt.Sprintf("save query %q", name), err)
	}
	return id, nil
}

// CountSavedQueries returns how many saved queries project has.
func (s *Store) CountSavedQueries(ctx context.Context, project int64) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM saved_queries WHERE project = $1`, project).Scan(&n); err != nil {
		return 0, s.fail("count saved queries", err)
	}
	return n, nil
}

// UpdateSavedQuery replaces the name and SQL of a saved query of project
// and returns when it was created: meta.ErrNotFound when project has no
// query id (another project's id included), meta.ErrExists when another of
// its queries has the name.
func (s *Store) UpdateSavedQuery(ctx context.Context, project, id int64, name, text string, at time.Time) (time.Time, error) {
	var created time.Time
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		err := tx.QueryRow(ctx, `SELECT created FROM saved_queries WHERE project = $1 AND id = $2 FOR UPDATE`, project, id).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("saved query %d: %w", id, meta.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		if err := nameTaken(ctx, tx, project, id, name); err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `UPDATE saved_queries SET name = $1, sql = $2, updated = $3 WHERE project = $4 AND id = $5`,
			name, text, at, project, id)
		if isUniqueViolation(err) {
			return nil, nameExists(name)
		}
		return nil, err
	})
	if err != nil {
		return time.Time{}, s.fail(fmt.Sprintf("update saved query %d", id), err)
	}
	return created.UTC(), nil
}

// DeleteSavedQuery deletes a saved query of project (meta.ErrNotFound when
// project has no query id).
func (s *Store) DeleteSavedQuery(ctx context.Context, project, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM saved_queries WHERE project = $1 AND id = $2`, project, id)
	if err != nil {
		return s.fail(fmt.Sprintf("delete saved query %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("saved query %d: %w", id, meta.ErrNotFound)
	}
	return nil
}
