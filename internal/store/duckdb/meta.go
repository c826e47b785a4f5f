package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/sampling"
)

const metaSchema = `
CREATE TABLE IF NOT EXISTS projects (
	id BIGINT PRIMARY KEY,
	name VARCHAR NOT NULL UNIQUE,
	created TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
	id BIGINT PRIMARY KEY,
	project_id BIGINT NOT NULL,
	kind VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	prefix VARCHAR NOT NULL,
	hash BLOB NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	revoked TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS datasets (
	project_id BIGINT NOT NULL,
	name VARCHAR NOT NULL,
	schema_json VARCHAR NOT NULL DEFAULT '',
	retention_ms BIGINT NOT NULL DEFAULT 0,
	created TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (project_id, name));
CREATE TABLE IF NOT EXISTS settings (
	name VARCHAR PRIMARY KEY,
	value VARCHAR NOT NULL);
`

// metaMigrations bring the metadata tables of an older data directory up to
// date; each is a no-op on a current one. Columns are added nullable (DuckDB
// adds no constrained column) and read through coalesce.
const metaMigrations = `
ALTER TABLE datasets ADD COLUMN IF NOT EXISTS sampling_pps DOUBLE DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS public_secret VARCHAR;
`

func (s *Store) initMeta(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, metaSchema); err != nil {
		return fmt.Errorf("create metadata tables: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, metaMigrations); err != nil {
		return fmt.Errorf("migrate metadata tables: %w", err)
	}
	if err := s.initMonitors(ctx); err != nil {
		return err
	}
	if err := s.initSessions(ctx); err != nil {
		return err
	}
	if err := s.initSavedQueries(ctx); err != nil {
		return err
	}
	if err := s.initAlerts(ctx); err != nil {
		return err
	}
	if err := s.initChecks(ctx); err != nil {
		return err
	}
	return s.initErrors(ctx)
}

// Setting returns a stored setting, or "" when unset.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, nil
}

// SetSetting stores a setting.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)`, name, value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", name, err)
	}
	return nil
}

// CreateProject creates a project with the next id.
func (s *Store) CreateProject(ctx context.Context, name string) (*meta.Project, error) {
	if err := meta.ValidateProjectName(name); err != nil {
		return nil, err
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var exists int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE name = ?`, name).Scan(&exists); err != nil {
		return nil, fmt.Errorf("create project %q: %w", name, err)
	}
	if exists > 0 {
		return nil, fmt.Errorf("project %q: %w", name, meta.ErrExists)
	}
	p := &meta.Project{Name: name, Created: time.Now().UTC().Truncate(time.Millisecond)}
	err := s.db.QueryRowContext(ctx, `INSERT INTO projects (id, name, created)
		SELECT coalesce(max(id), 0) + 1, ?, ? FROM projects RETURNING id`, name, p.Created).Scan(&p.ID)
	if err != nil {
		return nil, fmt.Errorf("create project %q: %w", name, err)
	}
	return p, nil
}

// Projects lists every project by id.
func (s *Store) Projects(ctx context.Context) ([]meta.Project, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var out []meta.Project
	for rows.Next() {
		var p meta.Project
		if err := rows.Scan(&p.ID, &p.Name, &p.Created); err != nil {
			return nil, err
		}
		p.Created = p.Created.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreateKey stores a key record; k.ID is assigned.
func (s *Store) CreateKey(ctx context.Context, k *meta.Key) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if k.Created.IsZero() {
		k.Created = time.Now().UTC().Truncate(time.Millisecond)
	}
	var public any // NULL for every kind but public
	if k.Kind == meta.KindPublic && k.Public != "" {
		public = k.Public
	}
	err := s.db.QueryRowContext(ctx, `INSERT INTO api_keys (id, project_id, kind, name, prefix, hash, created, public_secret)
		SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM api_keys RETURNING id`,
		k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.Created, public).Scan(&k.ID)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// Keys lists the live keys of a project; project 0 lists every project's.
func (s *Store) Keys(ctx context.Context, project int64) ([]meta.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, project_id, kind, name, prefix, hash, created, coalesce(public_secret, '') FROM api_keys
		WHERE revoked IS NULL AND (? = 0 OR project_id = ?) ORDER BY id`, project, project)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []meta.Key
	for rows.Next() {
		var k meta.Key
		var kind string
		if err := rows.Scan(&k.ID, &k.ProjectID, &kind, &k.Name, &k.Prefix, &k.Hash, &k.Created, &k.Public); err != nil {
			return nil, err
		}
		k.Kind = meta.KeyKind(kind)
		k.Created = k.Created.UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokedKey is a revoked key, with when it was revoked.
type RevokedKey struct {
	meta.Key
	Revoked time.Time
}

// RevokedKeys lists every project's revoked keys (alidade migrate copies
// them, so that their ids are never given to a new key of the cluster:
// sessions and logs name keys by id).
func (s *Store) RevokedKeys(ctx context.Context) ([]RevokedKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, project_id, kind, name, prefix, hash, created, coalesce(public_secret, ''), revoked FROM api_keys
		WHERE revoked IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list revoked keys: %w", err)
	}
	defer rows.Close()
	var out []RevokedKey
	for rows.Next() {
		var k RevokedKey
		var kind string
		if err := rows.Scan(&k.ID, &k.ProjectID, &kind, &k.Name, &k.Prefix, &k.Hash, &k.Created, &k.Public, &k.Revoked); err != nil {
			return nil, err
		}
		k.Kind = meta.KeyKind(kind)
		k.Created, k.Revoked = k.Created.UTC(), k.Revoked.UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey revokes a live key of the project.
func (s *Store) RevokeKey(ctx context.Context, project, id int64) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked = now() WHERE id = ? AND project_id = ? AND revoked IS NULL`, id, project)
	if err != nil {
		return fmt.Errorf("revoke key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("key %d: %w", id, meta.ErrNotFound)
	}
	return nil
}

func (s *Store) loadDatasets(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT project_id, name, schema_json, retention_ms, coalesce(sampling_pps, 0), created FROM datasets`)
	if err != nil {
		return fmt.Errorf("load datasets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDataset(rows)
		if err != nil {
			return err
		}
		s.datasets[dsKey{d.ProjectID, d.Name}] = d
	}
	return rows.Err()
}

func scanDataset(rows *sql.Rows) (*meta.Dataset, error) {
	var d meta.Dataset
	var schemaJSON string
	var retMs int64
	if err := rows.Scan(&d.ProjectID, &d.Name, &schemaJSON, &retMs, &d.Sampling, &d.Created); err != nil {
		return nil, err
	}
	d.Created = d.Created.UTC()
	d.Retention = time.Duration(retMs) * time.Millisecond
	if schemaJSON != "" {
		d.Schema = new(point.Schema)
		if err := json.Unmarshal([]byte(schemaJSON), d.Schema); err != nil {
			return nil, fmt.Errorf("dataset %s: stored schema: %w", d.Name, err)
		}
	}
	return &d, nil
}

// Dataset returns a dataset's record, or nil when it does not exist.
func (s *Store) Dataset(project int64, name string) *meta.Dataset {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	d := s.datasets[dsKey{project, name}]
	if d == nil {
		return nil
	}
	c := *d
	if c.Schema == nil {
		c.Schema = point.Builtin(name)
	}
	return &c
}

// Schema returns a dataset's schema: its own, or for a built-in dataset
// the fixed one (even before its first write), or nil.
func (s *Store) Schema(project int64, name string) *point.Schema {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if d := s.datasets[dsKey{project, name}]; d != nil && d.Schema != nil {
		return d.Schema
	}
	return point.Builtin(name)
}

// Datasets lists a project's datasets by name.
func (s *Store) Datasets(project int64) []meta.Dataset {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	var out []meta.Dataset
	for k, d := range s.datasets {
		if k.project == project {
			c := *d
			if c.Schema == nil {
				c.Schema = point.Builtin(c.Name)
			}
			out = append(out, c)
		}
	}
	sortDatasets(out)
	return out
}

// AllDatasets lists every project's datasets, by project and name, as
// Datasets does (the metadata stores' common method for retention passes).
func (s *Store) AllDatasets() []meta.Dataset {
	out := s.allDatasets()
	for i := range out {
		if out[i].Schema == nil {
			out[i].Schema = point.Builtin(out[i].Name)
		}
	}
	return out
}

// EnsureDataset creates the dataset record when it does not exist.
func (s *Store) EnsureDataset(ctx context.Context, project int64, name string) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	return s.ensureDatasetLocked(ctx, project, name)
}

func (s *Store) ensureDatasetLocked(ctx context.Context, project int64, name string) error {
	if _, ok := s.datasets[dsKey{project, name}]; ok {
		return nil
	}
	if err := point.ValidateDatasetName(name); err != nil {
		return err
	}
	// The name may share memory with a request body that is reused after
	// the request: the catalog keeps its own copy.
	name = strings.Clone(name)
	d := &meta.Dataset{ProjectID: project, Name: name, Created: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO datasets (project_id, name, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		project, name, d.Created); err != nil {
		return fmt.Errorf("create dataset %s: %w", name, err)
	}
	s.datasets[dsKey{project, name}] = d
	return nil
}

// SetSchema stores a dataset's schema, creating the dataset when needed.
func (s *Store) SetSchema(ctx context.Context, project int64, name string, schema *point.Schema) error {
	if err := schema.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return err
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if err := s.ensureDatasetLocked(ctx, project, name); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE datasets SET schema_json = ? WHERE project_id = ? AND name = ?`, string(b), project, name); err != nil {
		return fmt.Errorf("set schema of %s: %w", name, err)
	}
	c := *schema
	s.datasets[dsKey{project, name}].Schema = &c
	return nil
}

// SetRetention stores a dataset's retention override (0 = server default).
func (s *Store) SetRetention(ctx context.Context, project int64, name string, d time.Duration) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if err := s.ensureDatasetLocked(ctx, project, name); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE datasets SET retention_ms = ? WHERE project_id = ? AND name = ?`, d.Milliseconds(), project, name); err != nil {
		return fmt.Errorf("set retention of %s: %w", name, err)
	}
	s.datasets[dsKey{project, name}].Retention = d
	return nil
}

// SetSampling stores a dataset's equitable-sampling budget in points per
// second per index1 value (0 = off), creating the dataset when needed.
func (s *Store) SetSampling(ctx context.Context, project int64, name string, pps float64) error {
	if err := sampling.ValidateBudget(pps); err != nil {
		return err
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if err := s.ensureDatasetLocked(ctx, project, name); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE datasets SET sampling_pps = ? WHERE project_id = ? AND name = ?`, pps, project, name); err != nil {
		return fmt.Errorf("set sampling of %s: %w", name, err)
	}
	s.datasets[dsKey{project, name}].Sampling = pps
	return nil
}

// Sampling returns a dataset's equitable-sampling budget (0 = off), for
// sampling.New. It takes the metadata lock only.
func (s *Store) Sampling(project int64, name string) float64 {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if d := s.datasets[dsKey{project, name}]; d != nil {
		return d.Sampling
	}
	return 0
}
