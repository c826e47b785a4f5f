package duckdb

import (
	"context"
	"fmt"
	"sort"

	"github.com/alidade/alidade/internal/meta"
)

// What alidade migrate reads to copy an embedded data directory into a
// cluster, beyond the methods the server uses: every setting (the server
// reads them one name at a time), the dataset records as stored, and how
// much of error tracking stays behind.

// Settings returns every stored setting by name.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		out[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return out, nil
}

// DatasetRecords lists every project's datasets by project and name as
// they are stored: Schema is nil for a dataset without a schema of its
// own (Datasets and AllDatasets fill in a built-in dataset's), so that a
// copy keeps following the built-in schema rather than freezing it.
func (s *Store) DatasetRecords() []meta.Dataset {
	s.metaMu.Lock()
	out := make([]meta.Dataset, 0, len(s.datasets))
	for _, d := range s.datasets {
		c := *d
		if d.Schema != nil {
			sc := *d.Schema
			c.Schema = &sc
		}
		out = append(out, c)
	}
	s.metaMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProjectID != out[j].ProjectID {
			return out[i].ProjectID < out[j].ProjectID
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// ErrorCounts says how much error tracking holds: its groups (each
// group's latest version), events and attachments.
func (s *Store) ErrorCounts(ctx context.Context) (groups, events, attachments int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(DISTINCT (project, id)) FROM error_groups),
		(SELECT count(*) FROM error_events),
		(SELECT count(*) FROM error_attachments)`).Scan(&groups, &events, &attachments)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count error tracking's records: %w", err)
	}
	return groups, events, attachments, nil
}
