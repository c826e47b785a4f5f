package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/session"
)

// Snapshot is the metadata of an embedded data directory as alidade
// migrate copies it into an empty metadata database, ids included: keys
// keep their ids (which sessions name), projects theirs (which points
// carry), saved queries, alert rules, checks and their runs theirs (which
// URLs and notifications carry).
type Snapshot struct {
	// Settings are every setting by name (the root key's hash,
	// initialized, allowed origins, prices, error rate limits, visitor
	// salts, and what the caller adds).
	Settings map[string]string
	Projects []meta.Project
	// Keys are the live keys, with their hashes, public secrets and
	// creation times.
	Keys []meta.Key
	// RevokedKeys are the revoked keys, copied revoked so that no new
	// key takes their ids (which sessions and logs name).
	RevokedKeys []RevokedKey
	// Datasets are the records as stored: a nil Schema is a dataset
	// without a schema of its own.
	Datasets     []meta.Dataset
	Sessions     []session.Session
	SavedQueries []SavedQuery
	AlertRules   []alert.Record
	Checks       []checks.Record
	// CheckRuns are the checks' runs, with the reports that were kept.
	CheckRuns []checks.RunRecord
	Monitors  []monitors.Monitor
}

// RevokedKey is a revoked key as a Snapshot carries it.
type RevokedKey struct {
	meta.Key
	Revoked time.Time
}

// SavedQuery is a saved query as a Snapshot carries it.
type SavedQuery struct {
	ID, Project      int64
	Name, SQL        string
	Created, Updated time.Time
}

// NotEmptyError is Import's refusal of a database that already has
// projects: a copy into it would mix two installations' ids.
type NotEmptyError struct {
	Projects int
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("the metadata database already has %d project(s): import only into an empty one", e.Projects)
}

// Import writes a snapshot into a database that has no project yet, in
// one transaction: all of it or, on any error, nothing. Rows keep their
// ids; each identity column's sequence is then moved past the largest id
// imported, so that the next project, key, saved query, alert rule,
// check or run made on a node takes a new one. A database with a project
// gives *NotEmptyError. Nothing is announced: no node is expected to run
// on the database before the import ends (alidade migrate says so), and
// a node that starts reads everything afresh.
func (s *Store) Import(ctx context.Context, snap *Snapshot) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two imports at once: the second waits, then finds projects.
		if _, err := tx.Exec(ctx, `LOCK TABLE projects IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM projects`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &NotEmptyError{Projects: n}
		}
		return importRows(ctx, tx, snap)
	})
	if err != nil {
		var ne *NotEmptyError
		if errors.As(err, &ne) {
			return err
		}
		return s.fail("import metadata", err)
	}
	// The dataset cache answers the non-ctx getters: load what was
	// imported.
	return s.loadDatasets(ctx)
}

// importRows inserts the snapshot's rows in tx.
func importRows(ctx context.Context, tx pgx.Tx, snap *Snapshot) error {
	var b pgx.Batch
	names := make([]string, 0, len(snap.Settings))
	for name := range snap.Settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Queue(`INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, snap.Settings[name])
	}
	for _, p := range snap.Projects {
		if p.ID <= 0 {
			return fmt.Errorf("project %q: id %d; want a positive id", p.Name, p.ID)
		}
		b.Queue(`INSERT INTO projects (id, name, created) VALUES ($1, $2, $3)`, p.ID, p.Name, p.Created)
	}
	for _, k := range snap.Keys {
		var public any // NULL for every kind but public, as CreateKey stores it
		if k.Kind == meta.KindPublic && k.Public != "" {
			public = k.Public
		}
		b.Queue(`INSERT INTO api_keys (id, project_id, kind, name, prefix, hash, created, public_secret)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.Created, public)
	}
	for _, k := range snap.RevokedKeys {
		var public any
		if k.Kind == meta.KindPublic && k.Public != "" {
			public = k.Public
		}
		b.Queue(`INSERT INTO api_keys (id, project_id, kind, name, prefix, hash, created, public_secret, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.Created, public, k.Revoked)
	}
	for _, d := range snap.Datasets {
		schemaJSON := ""
		if d.Schema != nil {
			j, err := json.Marshal(d.Schema)
			if err != nil {
				return fmt.Errorf("dataset %s of project %d: %w", d.Name, d.ProjectID, err)
			}
			schemaJSON = string(j)
		}
		b.Queue(`INSERT INTO datasets (project_id, name, schema_json, retention_ms, sampling_pps, created)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ProjectID, d.Name, schemaJSON, d.Retention.Milliseconds(), d.Sampling, d.Created)
	}
	for _, x := range snap.Sessions {
		b.Queue(`INSERT INTO dashboard_sessions
			(id_sha256, key_id, root, root_tag, project, kind, csrf_token, created, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			x.Hash[:], x.KeyID, x.Root, x.RootTag, x.Project, string(x.Kind), x.CSRF, x.Created, x.LastSeen)
	}
	for _, q := range snap.SavedQueries {
		b.Queue(`INSERT INTO saved_queries (id, project, name, sql, created, updated) VALUES ($1, $2, $3, $4, $5, $6)`,
			q.ID, q.Project, q.Name, q.SQL, q.Created, q.Updated)
	}
	for _, r := range snap.AlertRules {
		b.Queue(`INSERT INTO alert_rules (id, project, spec, state, created, updated) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Project, r.Spec, r.State, r.Created, r.Updated)
	}
	for _, r := range snap.Checks {
		b.Queue(`INSERT INTO check_specs (id, project, spec, state, created, updated) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Project, r.Spec, r.State, r.Created, r.Updated)
	}
	for _, r := range snap.CheckRuns {
		b.Queue(`INSERT INTO check_runs (id, project, check_id, run_at, run, report_json, report_html) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.ID, r.Project, r.Check, r.At, r.Run, r.ReportJSON, r.ReportHTML)
	}
	for _, m := range snap.Monitors {
		state, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("cron monitor %q: %w", m.Slug, err)
		}
		b.Queue(`INSERT INTO cron_monitors (project, slug, environment, state) VALUES ($1, $2, $3, $4)`,
			m.Project, m.Slug, m.Environment, string(state))
	}
	// Each identity's next value follows the largest id now in its
	// table (setval's third argument true: the value given is taken).
	for _, table := range identityTables {
		b.Queue(`SELECT setval(pg_get_serial_sequence('` + table + `', 'id'), max(id)) FROM ` + table + ` HAVING max(id) IS NOT NULL`)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	return nil
}

// identityTables are the tables whose id is an identity column.
var identityTables = []string{"projects", "api_keys", "saved_queries", "alert_rules", "check_specs", "check_runs"}
