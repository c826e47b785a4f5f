package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/sampling"
)

// Setting returns a stored setting, or "" when unset.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail("read setting "+name, err)
	}
	return v, nil
}

// SetSetting stores a setting.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		_, err := tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return []meta.Change{{Kind: meta.ChangeSetting, Name: name}}, err
	})
	if err != nil {
		return s.fail("write setting "+name, err)
	}
	return nil
}

// CreateProject creates a project with the next id.
func (s *Store) CreateProject(ctx context.Context, name string) (*meta.Project, error) {
	if err := meta.ValidateProjectName(name); err != nil {
		return nil, err
	}
	p := &meta.Project{Name: name, Created: time.Now().UTC().Truncate(time.Millisecond)}
	exists := fmt.Errorf("project %q: %w", name, meta.ErrExists)
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		// Look first: a failed insert would use up an id.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM projects WHERE name = $1`, name).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, exists
		}
		err := tx.QueryRow(ctx, `INSERT INTO projects (name, created) VALUES ($1, $2) RETURNING id`, name, p.Created).Scan(&p.ID)
		if isUniqueViolation(err) { // another node, a moment ago
			return nil, exists
		}
		return []meta.Change{{Kind: meta.ChangeProject, Project: p.ID, Name: name}}, err
	})
	if err != nil {
		return nil, s.fail(fmt.Sprintf("create project %q", name), err)
	}
	return p, nil
}

// Projects lists every project by id.
func (s *Store) Projects(ctx context.Context) ([]meta.Project, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created FROM projects ORDER BY id`)
	if err != nil {
		return nil, s.fail("list projects", err)
	}
	defer rows.Close()
	var out []meta.Project
	for rows.Next() {
		var p meta.Project
		if err := rows.Scan(&p.ID, &p.Name, &p.Created); err != nil {
			return nil, s.fail("list projects", err)
		}
		p.Created = p.Created.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list projects", err)
	}
	return out, nil
}

// CreateKey stores a key record; k.ID is assigned.
func (s *Store) CreateKey(ctx context.Context, k *meta.Key) error {
	if k.Created.IsZero() {
		k.Created = time.Now().UTC().Truncate(time.Millisecond)
	}
	var public any // NULL for every kind but public
	if k.Kind == meta.KindPublic && k.Public != "" {
		public = k.Public
	}
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (project_id, kind, name, prefix, hash, created, public_secret)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.Created, public).Scan(&id)
		return []meta.Change{{Kind: meta.ChangeKeyCreated, Project: k.ProjectID, ID: id}}, err
	})
	if err != nil {
		return s.fail("create key", err)
	}
	k.ID = id
	return nil
}

const keyColumns = `id, project_id, kind, name, prefix, hash, created, coalesce(public_secret, '')`

func scanKey(row pgx.Row) (meta.Key, error) {
	var k meta.Key
	var kind string
	if err := row.Scan(&k.ID, &k.ProjectID, &kind, &k.Name, &k.Prefix, &k.Hash, &k.Created, &k.Public); err != nil {
		return meta.Key{}, err
	}
	k.Kind = meta.KeyKind(kind)
	k.Created = k.Created.UTC()
	return k, nil
}

// Keys lists the live keys of a project; project 0 lists every project's.
func (s *Store) Keys(ctx context.Context, project int64) ([]meta.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE revoked IS NULL AND ($1 = 0 OR project_id = $1) ORDER BY id`, project)
	if err != nil {
		return nil, s.fail("list keys", err)
	}
	defer rows.Close()
	var out []meta.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.fail("list keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list keys", err)
	}
	return out, nil
}

// Key returns the live key whose secret's SHA-256 is hash: a node looks a
// key up so when its cache misses (a key made on another node).
// meta.ErrNotFound when there is none, or it is revoked.
func (s *Store) Key(ctx context.Context, hash []byte) (*meta.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE hash = $1 AND revoked IS NULL ORDER BY id LIMIT 1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("key: %w", meta.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("look up key", err)
	}
	return &k, nil
}

// RevokeKey revokes a live key of the project.
func (s *Store) RevokeKey(ctx context.Context, project, id int64) error {
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked = now() WHERE id = $1 AND project_id = $2 AND revoked IS NULL`, id, project)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("key %d: %w", id, meta.ErrNotFound)
		}
		return []meta.Change{{Kind: meta.ChangeKeyRevoked, Project: project, ID: id}}, nil
	})
	if err != nil {
		return s.fail(fmt.Sprintf("revoke key %d", id), err)
	}
	return nil
}

const datasetColumns = `project_id, name, schema_json, retention_ms, sampling_pps, created, version`

// scanDataset reads a row of datasetColumns.
func scanDataset(row pgx.Row) (*cached, error) {
	var c cached
	var schemaJSON string
	var retMs int64
	d := &c.d
	if err := row.Scan(&d.ProjectID, &d.Name, &schemaJSON, &retMs, &d.Sampling, &d.Created, &c.version); err != nil {
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
	return &c, nil
}

// put takes a dataset row into the cache unless the cache has a newer one.
func (s *Store) put(c *cached) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := dsKey{c.d.ProjectID, c.d.Name}
	if old := s.datasets[k]; old == nil || old.version <= c.version {
		s.datasets[k] = c
	}
}

// loadDatasets reads every dataset into the cache.
func (s *Store) loadDatasets(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT `+datasetColumns+` FROM datasets`)
	if err != nil {
		return s.fail("load datasets", err)
	}
	defer rows.Close()
	var all []*cached
	for rows.Next() {
		c, err := scanDataset(rows)
		if err != nil {
			return s.fail("load datasets", err)
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return s.fail("load datasets", err)
	}
	for _, c := range all {
		s.put(c)
	}
	return nil
}

// reloadDataset reads one dataset into the cache, after another node
// changed it.
func (s *Store) reloadDataset(ctx context.Context, project int64, name string) error {
	c, err := scanDataset(s.pool.QueryRow(ctx, `SELECT `+datasetColumns+` FROM datasets WHERE project_id = $1 AND name = $2`, project, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // nothing deletes a dataset record: a notification by hand
	}
	if err != nil {
		return s.fail("reload dataset "+name, err)
	}
	s.put(c)
	return nil
}

// Dataset returns a dataset's record, or nil when it does not exist.
func (s *Store) Dataset(project int64, name string) *meta.Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.datasets[dsKey{project, name}]
	if c == nil {
		return nil
	}
	d := c.d
	if d.Schema == nil {
		d.Schema = point.Builtin(name)
	}
	return &d
}

// Schema returns a dataset's schema: its own, or for a built-in dataset
// the fixed one (even before its first write), or nil.
func (s *Store) Schema(project int64, name string) *point.Schema {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.datasets[dsKey{project, name}]; c != nil && c.d.Schema != nil {
		return c.d.Schema
	}
	return point.Builtin(name)
}

// Datasets lists a project's datasets by name.
func (s *Store) Datasets(project int64) []meta.Dataset {
	return s.datasetsOf(func(p int64) bool { return p == project })
}

// AllDatasets lists every project's datasets, by project and name (for
// retention passes), as Datasets does.
func (s *Store) AllDatasets() []meta.Dataset {
	return s.datasetsOf(func(int64) bool { return true })
}

func (s *Store) datasetsOf(keep func(project int64) bool) []meta.Dataset {
	s.mu.Lock()
	var out []meta.Dataset
	for k, c := range s.datasets {
		if keep(k.project) {
			d := c.d
			if d.Schema == nil {
				d.Schema = point.Builtin(d.Name)
			}
			out = append(out, d)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProjectID != out[j].ProjectID {
			return out[i].ProjectID < out[j].ProjectID
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// EnsureDataset creates the dataset record when it does not exist. A
// dataset in the cache costs no round trip.
func (s *Store) EnsureDataset(ctx context.Context, project int64, name string) error {
	s.mu.Lock()
	_, ok := s.datasets[dsKey{project, name}]
	s.mu.Unlock()
	if ok {
		return nil
	}
	if err := point.ValidateDatasetName(name); err != nil {
		return err
	}
	// The name may share memory with a request body that is reused after
	// the request: the cache keeps its own copy.
	name = strings.Clone(name)
	return s.updateDataset(ctx, project, name, "create dataset "+name, "")
}

// updateDataset creates the dataset when it does not exist, then runs
// set (an assignment list of an UPDATE of its row, arguments from $3;
// none when "") and takes the row into the cache, announcing the change
// when there was one.
func (s *Store) updateDataset(ctx context.Context, project int64, name, what, set string, args ...any) error {
	created := time.Now().UTC().Truncate(time.Millisecond)
	var c *cached
	err := s.tx(ctx, func(tx pgx.Tx) ([]meta.Change, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO datasets (project_id, name, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			project, name, created)
		if err != nil {
			return nil, err
		}
		q := `SELECT ` + datasetColumns + ` FROM datasets WHERE project_id = $1 AND name = $2`
		if set != "" {
			q = `UPDATE datasets SET ` + set + `, version = version + 1 WHERE project_id = $1 AND name = $2 RETURNING ` + datasetColumns
		}
		if c, err = scanDataset(tx.QueryRow(ctx, q, append([]any{project, name}, args...)...)); err != nil {
			return nil, err
		}
		if set == "" && tag.RowsAffected() == 0 {
			return nil, nil // there already, made by another node
		}
		return []meta.Change{{Kind: meta.ChangeDataset, Project: project, Name: name}}, nil
	})
	if err != nil {
		return s.fail(what, err)
	}
	s.put(c)
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
	if err := s.ensureValid(project, name); err != nil {
		return err
	}
	return s.updateDataset(ctx, project, name, "set schema of "+name, `schema_json = $3`, string(b))
}

// SetRetention stores a dataset's retention override (0 = server default).
func (s *Store) SetRetention(ctx context.Context, project int64, name string, d time.Duration) error {
	if err := s.ensureValid(project, name); err != nil {
		return err
	}
	return s.updateDataset(ctx, project, name, "set retention of "+name, `retention_ms = $3`, d.Milliseconds())
}

// SetSampling stores a dataset's equitable-sampling budget in points per
// second per index1 value (0 = off), creating the dataset when needed.
func (s *Store) SetSampling(ctx context.Context, project int64, name string, pps float64) error {
	if err := sampling.ValidateBudget(pps); err != nil {
		return err
	}
	if err := s.ensureValid(project, name); err != nil {
		return err
	}
	return s.updateDataset(ctx, project, name, "set sampling of "+name, `sampling_pps = $3`, pps)
}

// ensureValid checks the name of a dataset the setters would create (one
// in the cache exists already, whatever its name).
func (s *Store) ensureValid(project int64, name string) error {
	s.mu.Lock()
	_, ok := s.datasets[dsKey{project, name}]
	s.mu.Unlock()
	if ok {
		return nil
	}
	return point.ValidateDatasetName(name)
}

// Sampling returns a dataset's equitable-sampling budget (0 = off), for
// sampling.New.
func (s *Store) Sampling(project int64, name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.datasets[dsKey{project, name}]; c != nil {
		return c.d.Sampling
	}
	return 0
}
