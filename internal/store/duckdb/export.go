package duckdb

import (
	"context"
	"fmt"
	"sort"

	"github.com/alidade/alidade/internal/errtrack"
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

// ExportErrorGroups returns every error group (its latest version), by id.
func (s *Store) ExportErrorGroups(ctx context.Context) ([]*errtrack.Group, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+groupColumns+` FROM error_groups
		QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read error groups: %w", err)
	}
	defer rows.Close()
	var out []*errtrack.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("read error groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ExportErrorEvents calls fn with every error event (with its payload, in
// order of arrival) in chunks of up to n, then with every attachment (with
// its data) in chunks of up to n.
func (s *Store) ExportErrorEvents(ctx context.Context, n int, fn func(events []errtrack.StoredEvent, atts []errtrack.Attachment) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+`, payload FROM error_events ORDER BY received, event_id`)
	if err != nil {
		return fmt.Errorf("read error events: %w", err)
	}
	var evs []errtrack.StoredEvent
	for rows.Next() {
		e, err := scanEvent(rows, true)
		if err == nil {
			if ref, ok := parsePayloadRef(e.Payload); ok {
				e.Payload, err = s.errw.payloads.read(ref)
			}
		}
		if err != nil {
			rows.Close()
			return fmt.Errorf("read error events: %w", err)
		}
		if evs = append(evs, *e); len(evs) == n {
			if err := fn(evs, nil); err != nil {
				rows.Close()
				return err
			}
			evs = nil
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read error events: %w", err)
	}
	if len(evs) > 0 {
		if err := fn(evs, nil); err != nil {
			return err
		}
	}
	rows, err = s.db.QueryContext(ctx, `SELECT project, event_id, received, filename, content_type, attachment_type, size, data FROM error_attachments ORDER BY received, event_id`)
	if err != nil {
		return fmt.Errorf("read attachments: %w", err)
	}
	defer rows.Close()
	var atts []errtrack.Attachment
	for rows.Next() {
		var a errtrack.Attachment
		var size int64
		if err := rows.Scan(&a.Project, &a.EventID, &a.Received, &a.Filename, &a.ContentType, &a.AttachmentType, &size, &a.Data); err != nil {
			return fmt.Errorf("read attachments: %w", err)
		}
		a.Size = int(size)
		if atts = append(atts, a); len(atts) == n {
			if err := fn(nil, atts); err != nil {
				return err
			}
			atts = nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read attachments: %w", err)
	}
	if len(atts) > 0 {
		return fn(nil, atts)
	}
	return nil
}
