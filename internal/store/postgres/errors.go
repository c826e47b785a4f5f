package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/alidade/alidade/internal/errtrack"
)

// Error tracking's metadata on a cluster: the error groups and the ids of
// the events recorded (migration 2). The events themselves and their
// attachments are not kept here but by the caller's write (ClickHouse, see
// package cluster), inside the transaction that changes their groups.

// groupCols are error_groups' columns in scanGroup's order.
const groupCols = `id, project, fingerprint, grouping_version, title, culprit, exc_type, level, platform, status, first_seen, last_seen,
	event_count, user_count, users_sketch, releases, environments, first_release, last_release, resolved_at, resolved_release,
	regressed, regressed_at, regressed_release, regressions, status_changed, last_event`

// setGroup is the SET list of an UPDATE of every column but the key ($1: id).
const setGroup = `grouping_version = $2, title = $3, culprit = $4, exc_type = $5, level = $6, platform = $7, status = $8,
	first_seen = $9, last_seen = $10, event_count = $11, user_count = $12, users_sketch = $13, releases = $14, environments = $15,
	first_release = $16, last_release = $17, resolved_at = $18, resolved_release = $19, regressed = $20, regressed_at = $21,
	regressed_release = $22, regressions = $23, status_changed = $24, last_event = $25`

func groupValues(g *errtrack.Group) []any {
	rel, env := g.Releases, g.Environments
	if rel == nil {
		rel = []string{}
	}
	if env == nil {
		env = []string{}
	}
	return []any{g.ID, g.Grouping, g.Title, g.Culprit, g.Type, g.Level, g.Platform, g.Status, g.FirstSeen, g.LastSeen, g.Count,
		g.Users.Count(), g.Users.MarshalBinary(), rel, env, g.FirstRelease, g.LastRelease, g.ResolvedAt, g.ResolvedRelease,
		g.Regressed, g.RegressedAt, g.RegressedRelease, g.Regressions, g.StatusChanged, g.LastEventID}
}

func scanGroup(sc pgx.Row) (*errtrack.Group, error) {
	var g errtrack.Group
	var users int64
	var sketch []byte
	err := sc.Scan(&g.ID, &g.Project, &g.Fingerprint, &g.Grouping, &g.Title, &g.Culprit, &g.Type, &g.Level, &g.Platform, &g.Status,
		&g.FirstSeen, &g.LastSeen, &g.Count, &users, &sketch, &g.Releases, &g.Environments, &g.FirstRelease, &g.LastRelease, &g.ResolvedAt,
		&g.ResolvedRelease, &g.Regressed, &g.RegressedAt, &g.RegressedRelease, &g.Regressions, &g.StatusChanged, &g.LastEventID)
	if err != nil {
		return nil, err
	}
	g.Users = errtrack.UnmarshalUsers(sketch)
	if g.Releases == nil {
		g.Releases = []string{}
	}
	if g.Environments == nil {
		g.Environments = []string{}
	}
	return &g, nil
}

// maxSharedTries is how many times ShareErrors runs a transaction that
// PostgreSQL aborted as a deadlock or a serialization failure.
const maxSharedTries = 3

// ShareErrors runs fn in one transaction (errtrack.SharedStore's
// CommitShared): fn claims event ids and locks groups through its
// SharedTx; then the groups fn returns are written back and the
// transaction commits. The commit's events and attachments are not
// written here: the caller stored them before (ClickHouse, see package
// cluster), so that a group never counts an event that cannot be read,
// and the transaction holds its locks for PostgreSQL's statements alone.
func (s *Store) ShareErrors(ctx context.Context, fn func(errtrack.SharedTx) (errtrack.Commit, error)) error {
	var err error
	for try := 1; ; try++ {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			c, err := fn(&sharedTx{ctx: ctx, tx: tx})
			if err != nil {
				return err
			}
			return updateGroups(ctx, tx, c)
		})
		var pe *pgconn.PgError
		if try < maxSharedTries && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
			continue
		}
		break
	}
	if err != nil {
		return s.fail("commit error groups", err)
	}
	return nil
}

// ResolveErrorGroups returns the ids of the groups of keys (distinct, in
// key order), creating those missing, empty (Count 0: reads do not see
// them until a commit gives them events), and which of the event keys
// are claimed already, in one round trip of statements of their own: no
// lock is kept. What errtrack.SharedStore.ResolveErrorGroups is.
func (s *Store) ResolveErrorGroups(ctx context.Context, keys []errtrack.GroupKey, events []errtrack.EventKey) (map[errtrack.GroupKey]int64, map[errtrack.EventKey]bool, error) {
	ids, claimed := make(map[errtrack.GroupKey]int64, len(keys)), map[errtrack.EventKey]bool{}
	if len(keys) == 0 {
		return ids, claimed, nil
	}
	projects, fps := make([]int64, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		projects[i], fps[i] = k.Project, k.Fingerprint
	}
	eProjects, eIDs := make([]int64, len(events)), make([]string, len(events))
	for i, k := range events {
		eProjects[i], eIDs[i] = k.Project, k.EventID
	}
	// A group created by the INSERT and deleted by retention before the
	// SELECT (it had events: another node's commit gave it some) is
	// created again by the next try.
	for try := 1; ; try++ {
		clear(ids)
		clear(claimed)
		if err := s.resolveErrorGroups(ctx, projects, fps, eProjects, eIDs, ids, claimed); err != nil {
			return nil, nil, s.fail("create error groups", err)
		}
		if len(ids) == len(keys) {
			return ids, claimed, nil
		}
		if try == maxSharedTries {
			return nil, nil, s.fail("create error groups", fmt.Errorf("%d of %d error groups were deleted as they were created", len(keys)-len(ids), len(keys)))
		}
	}
}

func (s *Store) resolveErrorGroups(ctx context.Context, projects []int64, fps []string, eProjects []int64, eIDs []string,
	ids map[errtrack.GroupKey]int64, claimed map[errtrack.EventKey]bool) error {
	// The SELECT runs once the INSERT is done (a statement of its own,
	// with a snapshot of its own): it sees the groups another node
	// created at the same time, which the INSERT skipped.
	var b pgx.Batch
	// Only the missing are inserted: a row that conflicts still takes a
	// value of the id sequence, and the ids of groups are shown (they
	// follow each other as on one server, but for races).
	b.Queue(`INSERT INTO error_groups (project, fingerprint)
		SELECT p, f FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(p, f, n)
		WHERE NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.project = k.p AND g.fingerprint = k.f) ORDER BY n
		ON CONFLICT (project, fingerprint) DO NOTHING`, projects, fps)
	b.Queue(`SELECT id, project, fingerprint FROM error_groups
		WHERE (project, fingerprint) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`, projects, fps)
	b.Queue(`SELECT project, event_id FROM error_event_ids
		WHERE (project, event_id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`, eProjects, eIDs)
	br := s.pool.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		var k errtrack.GroupKey
		var id int64
		if err := rows.Scan(&id, &k.Project, &k.Fingerprint); err != nil {
			rows.Close()
			return err
		}
		ids[k] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if rows, err = br.Query(); err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k errtrack.EventKey
		if err := rows.Scan(&k.Project, &k.EventID); err != nil {
			return err
		}
		claimed[k] = true
	}
	return rows.Err()
}

func updateGroups(ctx context.Context, tx pgx.Tx, c errtrack.Commit) error {
	var b pgx.Batch
	for _, gs := range [][]*errtrack.Group{c.New, c.Changed} {
		for _, g := range gs {
			b.Queue(`UPDATE error_groups SET `+setGroup+` WHERE id = $1`, groupValues(g)...)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &b).Close()
}

// sharedTx is errtrack.SharedTx in a transaction.
type sharedTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *sharedTx) ClaimEvents(keys []errtrack.EventKey, now int64) (map[errtrack.EventKey]bool, error) {
	dup := map[errtrack.EventKey]bool{}
	if len(keys) == 0 {
		return dup, nil
	}
	projects, ids := make([]int64, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		projects[i], ids[i] = k.Project, k.EventID
		dup[k] = true
	}
	// The rows go in the order given (WITH ORDINALITY), so that two
	// transactions claim common ids in the same order.
	rows, err := t.tx.Query(t.ctx, `INSERT INTO error_event_ids (project, event_id, received)
		SELECT p, e, $3 FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(p, e, n) ORDER BY n
		ON CONFLICT DO NOTHING RETURNING project, event_id`, projects, ids, now)
	if err != nil {
		return nil, fmt.Errorf("claim event ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k errtrack.EventKey
		if err := rows.Scan(&k.Project, &k.EventID); err != nil {
			return nil, err
		}
		delete(dup, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim event ids: %w", err)
	}
	return dup, nil
}

func (t *sharedTx) LockGroups(keys []errtrack.GroupKey, ids []int64) (map[errtrack.GroupKey]*errtrack.Group, error) {
	out := make(map[errtrack.GroupKey]*errtrack.Group, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	projects, fps := make([]int64, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		projects[i], fps[i] = k.Project, k.Fingerprint
	}
	// A group retention deleted since ResolveErrorGroups comes back with
	// its id (the events stored name it); if another node created its
	// fingerprint again meanwhile, that group is locked (another id).
	var b pgx.Batch
	b.Queue(`INSERT INTO error_groups (id, project, fingerprint)
		SELECT i, p, f FROM unnest($1::bigint[], $2::bigint[], $3::text[]) WITH ORDINALITY AS k(i, p, f, n) ORDER BY n
		ON CONFLICT DO NOTHING`, ids, projects, fps)
	b.Queue(`SELECT `+groupCols+` FROM error_groups
		WHERE (project, fingerprint) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
		ORDER BY project, fingerprint COLLATE "C" FOR UPDATE`, projects, fps)
	br := t.tx.SendBatch(t.ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("create error groups: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("lock error groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("lock error groups: %w", err)
		}
		out[errtrack.GroupKey{Project: g.Project, Fingerprint: g.Fingerprint}] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock error groups: %w", err)
	}
	return out, nil
}

// UpdateErrorGroup runs fn on a group locked in a transaction and writes
// it back.
func (s *Store) UpdateErrorGroup(ctx context.Context, project, id int64, fn func(g *errtrack.Group)) (*errtrack.Group, error) {
	var out *errtrack.Group
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		g, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupCols+` FROM error_groups WHERE project = $1 AND id = $2 AND event_count > 0 FOR UPDATE`, project, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("error group %d: %w", id, errtrack.ErrNotFound)
		}
		if err != nil {
			return err
		}
		fn(g)
		if _, err := tx.Exec(ctx, `UPDATE error_groups SET `+setGroup+` WHERE id = $1`, groupValues(g)...); err != nil {
			return err
		}
		out = g
		return nil
	})
	if err != nil {
		if errtrack.IsNotFound(err) {
			return nil, err
		}
		return nil, s.fail("change error group", err)
	}
	return out, nil
}

// PutErrorGroups writes groups by id, as they are (new ones keep their
// ids), and moves the id sequence past the largest: what CommitErrors and
// a migration from the embedded store store.
func (s *Store) PutErrorGroups(ctx context.Context, groups []*errtrack.Group) error {
	if len(groups) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, g := range groups {
			b.Queue(`INSERT INTO error_groups (id, project, fingerprint) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, g.ID, g.Project, g.Fingerprint)
			b.Queue(`UPDATE error_groups SET `+setGroup+` WHERE id = $1`, groupValues(g)...)
		}
		b.Queue(`SELECT setval(pg_get_serial_sequence('error_groups', 'id'), greatest((SELECT max(id) FROM error_groups), 1))`)
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return s.fail("store error groups", err)
	}
	return nil
}

// MaxErrorGroupID returns the largest group id (0: none).
func (s *Store) MaxErrorGroupID(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM error_groups`).Scan(&n); err != nil {
		return 0, s.fail("read error groups", err)
	}
	return n, nil
}

// FindErrorGroup returns a project's group of a fingerprint, or nil. A
// group is only seen once it has events (LockGroups creates it empty, in
// the transaction that gives it its first).
func (s *Store) FindErrorGroup(ctx context.Context, project int64, fingerprint string) (*errtrack.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM error_groups WHERE project = $1 AND fingerprint = $2 AND event_count > 0`, project, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("find error group", err)
	}
	return g, nil
}

// ErrorGroup returns a project's group by id.
func (s *Store) ErrorGroup(ctx context.Context, project, id int64) (*errtrack.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM error_groups WHERE project = $1 AND id = $2 AND event_count > 0`, project, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error group %d: %w", id, errtrack.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("read error group", err)
	}
	return g, nil
}

// ErrorGroups lists a project's groups by the filter, in the DuckDB
// store's orders.
func (s *Store) ErrorGroups(ctx context.Context, project int64, f errtrack.GroupFilter) ([]errtrack.Group, error) {
	q := `SELECT ` + groupCols + ` FROM error_groups WHERE project = $1 AND event_count > 0`
	args := []any{project}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Status != "" {
		q += ` AND status = ` + arg(f.Status)
	}
	if f.Level != "" {
		q += ` AND level = ` + arg(f.Level)
	}
	if f.Environment != "" {
		q += ` AND ` + arg(f.Environment) + ` = ANY(environments)`
	}
	if f.Release != "" {
		q += ` AND ` + arg(f.Release) + ` = ANY(releases)`
	}
	if f.Query != "" {
		l := arg(strings.ToLower(f.Query))
		q += ` AND (strpos(lower(title), ` + l + `) > 0 OR strpos(lower(culprit), ` + l + `) > 0 OR fingerprint = ` + l + `)`
	}
	q += errtrack.GroupOrder(f.Sort)
	limit := errtrack.ListLimit(f.Limit)
	q += ` LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail("list error groups", err)
	}
	defer rows.Close()
	out := []errtrack.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, s.fail("list error groups", err)
		}
		out = append(out, *g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list error groups", err)
	}
	return out, nil
}

// ExpireErrorGroups deletes a project's groups last seen before cutoff
// (Unix ms) and its event ids received before it.
func (s *Store) ExpireErrorGroups(ctx context.Context, project, cutoff int64) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM error_groups WHERE project = $1 AND last_seen < $2 AND event_count > 0`, project, cutoff)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM error_event_ids WHERE project = $1 AND received < $2`, project, cutoff)
		return err
	})
	if err != nil {
		return n, s.fail("expire error groups", err)
	}
	return n, nil
}

// ClaimErrorEvents records events' ids as stored (what a migration
// copies), so that an SDK's retry of one is a duplicate.
func (s *Store) ClaimErrorEvents(ctx context.Context, events []errtrack.StoredEvent) error {
	if len(events) == 0 {
		return nil
	}
	projects, ids, received := make([]int64, len(events)), make([]string, len(events)), make([]int64, len(events))
	for i, e := range events {
		projects[i], ids[i], received[i] = e.Project, e.EventID, e.Received
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO error_event_ids (project, event_id, received)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`, projects, ids, received)
	if err != nil {
		return s.fail("claim error events", err)
	}
	return nil
}

// ErrorGroupCount counts the error groups.
func (s *Store) ErrorGroupCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM error_groups WHERE event_count > 0`).Scan(&n); err != nil {
		return 0, s.fail("count error groups", err)
	}
	return n, nil
}
