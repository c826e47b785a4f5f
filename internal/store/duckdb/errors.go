package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store"
)

// Error tracking's tables live in the metadata database (alidade.duckdb):
// a group and the events that change it commit in one transaction, and a
// transaction writes one DuckDB database. A group's row is never updated
// in place: every commit appends the new state of the groups it changes
// with a higher version, reads take each group's latest version, and the
// committer deletes the older versions now and then (an UPDATE or an
// upsert of the same rows commit after commit costs DuckDB milliseconds a
// commit; an append costs microseconds). Events are appended in time
// order, so retention deletes whole row groups from the front, whose
// space DuckDB reuses after its next checkpoint.
const errorsSchema = `
CREATE TABLE IF NOT EXISTS error_groups (
	version BIGINT NOT NULL,
	id BIGINT NOT NULL,
	project BIGINT NOT NULL,
	fingerprint VARCHAR NOT NULL,
	grouping_version VARCHAR NOT NULL,
	title VARCHAR NOT NULL,
	culprit VARCHAR NOT NULL,
	exc_type VARCHAR NOT NULL,
	level VARCHAR NOT NULL,
	platform VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	event_count BIGINT NOT NULL,
	user_count BIGINT NOT NULL,
	users_sketch BLOB,
	releases VARCHAR NOT NULL,
	environments VARCHAR NOT NULL,
	first_release VARCHAR NOT NULL,
	last_release VARCHAR NOT NULL,
	resolved_at BIGINT NOT NULL,
	resolved_release VARCHAR NOT NULL,
	regressed BOOLEAN NOT NULL,
	regressed_at BIGINT NOT NULL,
	regressed_release VARCHAR NOT NULL,
	regressions BIGINT NOT NULL,
	status_changed BIGINT NOT NULL,
	last_event VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS error_events (
	project BIGINT NOT NULL,
	event_id VARCHAR NOT NULL,
	group_id BIGINT NOT NULL,
	ts BIGINT NOT NULL,
	received BIGINT NOT NULL,
	level VARCHAR NOT NULL,
	release VARCHAR NOT NULL,
	environment VARCHAR NOT NULL,
	user_key VARCHAR NOT NULL,
	title VARCHAR NOT NULL,
	size INTEGER NOT NULL,
	payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS error_journal_loaded (
	version BIGINT NOT NULL,
	seg UBIGINT NOT NULL,
	off BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS error_attachments (
	project BIGINT NOT NULL,
	event_id VARCHAR NOT NULL,
	received BIGINT NOT NULL,
	filename VARCHAR NOT NULL,
	content_type VARCHAR NOT NULL,
	attachment_type VARCHAR NOT NULL,
	size BIGINT NOT NULL,
	data BLOB NOT NULL);
`

const groupColumns = `id, project, fingerprint, grouping_version, title, culprit, exc_type, level, platform, status, first_seen, last_seen,
	event_count, user_count, users_sketch, releases, environments, first_release, last_release, resolved_at, resolved_release,
	regressed, regressed_at, regressed_release, regressions, status_changed, last_event`

var _ errtrack.Store = (*Store)(nil)

// errWriter is the connection error commits run on, one at a time, with
// its appenders.
type errWriter struct {
	mu      sync.Mutex
	conn    *sql.Conn
	events  *duckdb.Appender
	atts    *duckdb.Appender
	groups  *duckdb.Appender
	started bool
	// version is the last group version written; stale counts the
	// versions appended since the last compaction.
	version int64
	stale   int
	marks   int // error_journal_loaded rows since its last compaction
	// payloads keeps the events' payloads (payloads.go).
	payloads payloadLog
}

// compactEvery is how many group versions the committer appends before it
// deletes the superseded ones.
const compactEvery = 20_000

// latestGroups selects each group's latest version of one project (the
// first parameter).
const latestGroups = `(SELECT * FROM error_groups WHERE project = ? QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1)`

func (s *Store) initErrors(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, errorsSchema); err != nil {
		return fmt.Errorf("create error tracking tables: %w", err)
	}
	s.errw.payloads.dir = filepath.Join(s.opts.Dir, payloadsDir)
	return nil
}

// writerLocked opens the error writer's connection and appenders.
func (s *Store) errWriterLocked(ctx context.Context) (*errWriter, error) {
	w := &s.errw
	if w.started {
		return w, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open error tracking connection: %w", err)
	}
	err = conn.Raw(func(dc any) error {
		var err error
		if w.events, err = duckdb.NewAppender(dc.(driver.Conn), "", "", "error_events"); err != nil {
			return err
		}
		if w.atts, err = duckdb.NewAppender(dc.(driver.Conn), "", "", "error_attachments"); err != nil {
			return err
		}
		w.groups, err = duckdb.NewAppender(dc.(driver.Conn), "", "", "error_groups")
		return err
	})
	if err == nil {
		err = conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM error_groups`).Scan(&w.version)
	}
	if err != nil {
		w.closeLocked()
		conn.Close()
		return nil, fmt.Errorf("open error tracking appenders: %w", err)
	}
	w.conn, w.started, w.stale = conn, true, compactEvery
	return w, nil
}

// closeLocked drops the writer's appenders and connection; the next commit
// opens them again.
func (w *errWriter) closeLocked() {
	if w.events != nil {
		_ = w.events.Clear()
		_ = w.events.Close()
		w.events = nil
	}
	if w.atts != nil {
		_ = w.atts.Clear()
		_ = w.atts.Close()
		w.atts = nil
	}
	if w.groups != nil {
		_ = w.groups.Clear()
		_ = w.groups.Close()
		w.groups = nil
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	w.started = false
}

// CommitErrors stores new and changed groups, events and attachments in
// one transaction.
func (s *Store) CommitErrors(ctx context.Context, c errtrack.Commit) error {
	events, atts := c.Events, c.Attachments
	s.errw.mu.Lock()
	defer s.errw.mu.Unlock()
	w, err := s.errWriterLocked(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
		// A failed appender cannot be reused; what it buffered must not
		// be flushed after the rollback.
		w.closeLocked()
		return err
	}
	// The payloads go to their file first, synced, so that a committed
	// row's payload is durable.
	var out [][]byte
	for _, e := range events {
		if len(e.Payload) > payloadRefSize {
			out = append(out, e.Payload)
		}
	}
	var refs []payloadRef
	if len(out) > 0 {
		if refs, err = w.payloads.write(time.Now(), out); err != nil {
			return err
		}
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		w.closeLocked()
		return fmt.Errorf("begin: %w", err)
	}
	for _, e := range events {
		payload := e.Payload
		if len(payload) > payloadRefSize {
			payload, refs = refs[0].marshal(), refs[1:]
		}
		if err := w.events.AppendRow(e.Project, e.EventID, e.GroupID, e.Timestamp, e.Received, e.Level, e.Release, e.Environment,
			e.User, e.Title, int32(e.Size), payload); err != nil {
			return fail(fmt.Errorf("append error event: %w", err))
		}
	}
	if len(events) > 0 {
		if err := w.events.Flush(); err != nil {
			return fail(fmt.Errorf("append error events: %w", err))
		}
	}
	for _, a := range atts {
		if err := w.atts.AppendRow(a.Project, a.EventID, a.Received, a.Filename, a.ContentType, a.AttachmentType, int64(a.Size), a.Data); err != nil {
			return fail(fmt.Errorf("append attachment: %w", err))
		}
	}
	if len(atts) > 0 {
		if err := w.atts.Flush(); err != nil {
			return fail(fmt.Errorf("append attachments: %w", err))
		}
	}
	version := w.version + 1
	for _, gs := range [][]*errtrack.Group{c.New, c.Changed} {
		for _, g := range gs {
			vals := append([]driver.Value{version}, groupArgs(g)...)
			if err := w.groups.AppendRow(vals...); err != nil {
				return fail(fmt.Errorf("append error group %d: %w", g.ID, err))
			}
		}
	}
	if len(c.New)+len(c.Changed) > 0 {
		if err := w.groups.Flush(); err != nil {
			return fail(fmt.Errorf("append error groups: %w", err))
		}
	}
	if p := c.Loaded; p != nil {
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO error_journal_loaded VALUES (?, ?, ?)`, version, p.Seg, p.Off); err != nil {
			return fail(fmt.Errorf("record how far the error journal is loaded: %w", err))
		}
		w.marks++
	}
	if w.marks >= compactEvery/10 {
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM error_journal_loaded WHERE version < (SELECT max(version) FROM error_journal_loaded)`); err != nil {
			return fail(fmt.Errorf("compact the error journal's marks: %w", err))
		}
		w.marks = 0
	}
	compact := w.stale >= compactEvery
	if compact {
		// The versions superseded by a later one go.
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM error_groups USING (SELECT id, max(version) AS v FROM error_groups GROUP BY id) AS latest
			WHERE error_groups.id = latest.id AND error_groups.version < latest.v`); err != nil {
			return fail(fmt.Errorf("compact error groups: %w", err))
		}
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(fmt.Errorf("commit error events: %w", err))
	}
	w.version = version
	w.stale += len(c.Changed)
	if compact {
		w.stale = 0
	}
	return nil
}

func groupArgs(g *errtrack.Group) []driver.Value {
	return []driver.Value{g.ID, g.Project, g.Fingerprint, g.Grouping, g.Title, g.Culprit, g.Type, g.Level, g.Platform, g.Status,
		g.FirstSeen, g.LastSeen, g.Count, g.Users.Count(), g.Users.MarshalBinary(), joinList(g.Releases), joinList(g.Environments),
		g.FirstRelease, g.LastRelease, g.ResolvedAt, g.ResolvedRelease, g.Regressed, g.RegressedAt, g.RegressedRelease,
		g.Regressions, g.StatusChanged, g.LastEventID}
}

// joinList stores a list of names as "\n" + each + "\n", so that "seen in
// release R" is contains(releases, "\n" || R || "\n"). Names never hold
// control characters (errtrack strips them).
func joinList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return "\n" + strings.Join(l, "\n") + "\n"
}

func splitList(s string) []string {
	s = strings.Trim(s, "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

func scanGroup(sc interface{ Scan(...any) error }) (*errtrack.Group, error) {
	var g errtrack.Group
	var users int64
	var sketch []byte
	var rel, env string
	err := sc.Scan(&g.ID, &g.Project, &g.Fingerprint, &g.Grouping, &g.Title, &g.Culprit, &g.Type, &g.Level, &g.Platform, &g.Status,
		&g.FirstSeen, &g.LastSeen, &g.Count, &users, &sketch, &rel, &env, &g.FirstRelease, &g.LastRelease, &g.ResolvedAt,
		&g.ResolvedRelease, &g.Regressed, &g.RegressedAt, &g.RegressedRelease, &g.Regressions, &g.StatusChanged, &g.LastEventID)
	if err != nil {
		return nil, err
	}
	g.Users = errtrack.UnmarshalUsers(sketch)
	g.Releases, g.Environments = splitList(rel), splitList(env)
	return &g, nil
}

// ErrorsLoaded returns how far the error journal is loaded (the last
// position recorded).
func (s *Store) ErrorsLoaded(ctx context.Context) (store.LogPos, error) {
	var p store.LogPos
	err := s.db.QueryRowContext(ctx, `SELECT seg, off FROM error_journal_loaded ORDER BY version DESC LIMIT 1`).Scan(&p.Seg, &p.Off)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LogPos{}, nil
	}
	if err != nil {
		return p, fmt.Errorf("read how far the error journal is loaded: %w", err)
	}
	return p, nil
}

// MaxErrorGroupID returns the largest group id (0: none).
func (s *Store) MaxErrorGroupID(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM error_groups`).Scan(&n)
	return n, err
}

// FindErrorGroup returns a project's group of a fingerprint, or nil.
func (s *Store) FindErrorGroup(ctx context.Context, project int64, fingerprint string) (*errtrack.Group, error) {
	g, err := scanGroup(s.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM `+latestGroups+` WHERE fingerprint = ? ORDER BY id LIMIT 1`, project, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return g, err
}

// ErrorGroup returns a project's group by id.
func (s *Store) ErrorGroup(ctx context.Context, project, id int64) (*errtrack.Group, error) {
	g, err := scanGroup(s.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM error_groups WHERE project = ? AND id = ? ORDER BY version DESC LIMIT 1`, project, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("error group %d: %w", id, errtrack.ErrNotFound)
	}
	return g, err
}

// ErrorGroups lists a project's groups by the filter.
func (s *Store) ErrorGroups(ctx context.Context, project int64, f errtrack.GroupFilter) ([]errtrack.Group, error) {
	q := `SELECT ` + groupColumns + ` FROM ` + latestGroups + ` WHERE true`
	args := []any{project}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Level != "" {
		q += ` AND level = ?`
		args = append(args, f.Level)
	}
	if f.Environment != "" {
		q += ` AND contains(environments, ?)`
		args = append(args, "\n"+f.Environment+"\n")
	}
	if f.Release != "" {
		q += ` AND contains(releases, ?)`
		args = append(args, "\n"+f.Release+"\n")
	}
	if f.Query != "" {
		q += ` AND (contains(lower(title), ?) OR contains(lower(culprit), ?) OR fingerprint = ?)`
		l := strings.ToLower(f.Query)
		args = append(args, l, l, l)
	}
	q += errtrack.GroupOrder(f.Sort)
	limit := errtrack.ListLimit(f.Limit)
	q += ` LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list error groups: %w", err)
	}
	defer rows.Close()
	out := []errtrack.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

const eventColumns = `project, event_id, group_id, ts, received, level, release, environment, user_key, title, size`

func scanEvent(sc interface{ Scan(...any) error }, payload bool) (*errtrack.StoredEvent, error) {
	var e errtrack.StoredEvent
	var size int32
	dst := []any{&e.Project, &e.EventID, &e.GroupID, &e.Timestamp, &e.Received, &e.Level, &e.Release, &e.Environment, &e.User, &e.Title, &size}
	if payload {
		dst = append(dst, &e.Payload)
	}
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	e.Size = int(size)
	return &e, nil
}

// ErrorEvent returns a project's event with its payload.
func (s *Store) ErrorEvent(ctx context.Context, project int64, eventID string) (*errtrack.StoredEvent, error) {
	e, err := scanEvent(s.db.QueryRowContext(ctx, `SELECT `+eventColumns+`, payload FROM error_events WHERE project = ? AND event_id = ? ORDER BY received LIMIT 1`, project, eventID), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("event %s: %w", eventID, errtrack.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if ref, ok := parsePayloadRef(e.Payload); ok {
		if e.Payload, err = s.errw.payloads.read(ref); err != nil {
			return nil, fmt.Errorf("event %s: %w", eventID, err)
		}
	}
	return e, nil
}

// ErrorEvents lists a group's events, newest first, without payloads:
// by arrival, and events that arrived in the same millisecond (an SDK
// sending its queue at once) by the time their SDK captured them.
func (s *Store) ErrorEvents(ctx context.Context, project, group int64, limit int, before int64) ([]errtrack.StoredEvent, error) {
	limit = errtrack.ListLimit(limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM error_events WHERE project = ? AND group_id = ? AND (? = 0 OR received < ?)
		ORDER BY received DESC, ts DESC, event_id LIMIT ?`, project, group, before, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list error events: %w", err)
	}
	defer rows.Close()
	out := []errtrack.StoredEvent{}
	for rows.Next() {
		e, err := scanEvent(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// ErrorAttachments lists an event's attachments without their data.
func (s *Store) ErrorAttachments(ctx context.Context, project int64, eventID string) ([]errtrack.Attachment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT received, filename, content_type, attachment_type, size FROM error_attachments
		WHERE project = ? AND event_id = ? ORDER BY received, filename`, project, eventID)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	defer rows.Close()
	var out []errtrack.Attachment
	for rows.Next() {
		a := errtrack.Attachment{Project: project, EventID: eventID}
		var size int64
		if err := rows.Scan(&a.Received, &a.Filename, &a.ContentType, &a.AttachmentType, &size); err != nil {
			return nil, err
		}
		a.Size = int(size)
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecentErrorEventIDs returns the ids of the latest events received.
func (s *Store) RecentErrorEventIDs(ctx context.Context, limit int) ([]errtrack.EventKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT project, event_id FROM error_events ORDER BY received DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read recent error events: %w", err)
	}
	defer rows.Close()
	var out []errtrack.EventKey
	for rows.Next() {
		var k errtrack.EventKey
		if err := rows.Scan(&k.Project, &k.EventID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ExpireErrors deletes a project's events and attachments received before
// cutoff, and its groups last seen before it.
func (s *Store) ExpireErrors(ctx context.Context, project int64, cutoff int64) (errtrack.ExpireReport, error) {
	var rep errtrack.ExpireReport
	for _, x := range []struct {
		sql string
		n   *int64
	}{
		{`DELETE FROM error_events WHERE project = ? AND received < ?`, &rep.Events},
		{`DELETE FROM error_attachments WHERE project = ? AND received < ?`, &rep.Attachments},
	} {
		res, err := s.db.ExecContext(ctx, x.sql, project, cutoff)
		if err != nil {
			return rep, fmt.Errorf("expire error events: %w", err)
		}
		*x.n, _ = res.RowsAffected()
	}
	if rep.Events > 0 {
		if err := s.expirePayloads(ctx); err != nil {
			return rep, fmt.Errorf("expire error payloads: %w", err)
		}
	}
	// A group goes with every version of it.
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+latestGroups+` WHERE last_seen < ?`, project, cutoff).Scan(&rep.Groups)
	if err == nil && rep.Groups > 0 {
		_, err = s.db.ExecContext(ctx, `DELETE FROM error_groups WHERE id IN (SELECT id FROM `+latestGroups+` WHERE last_seen < ?)`, project, cutoff)
	}
	if err != nil {
		return rep, fmt.Errorf("expire error groups: %w", err)
	}
	return rep, nil
}

// expirePayloads removes the payload files no event refers to any more:
// a file holds the payloads committed on its day, received that day or
// before, so those of the days before the oldest event's are unused (one
// day more is kept, for a clock stepped back). It runs between two
// commits of the error writer.
func (s *Store) expirePayloads(ctx context.Context) error {
	s.errw.mu.Lock()
	defer s.errw.mu.Unlock()
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(received) FROM error_events`).Scan(&oldest); err != nil {
		return err
	}
	keepFrom := int64(math.MaxInt64)
	if oldest.Valid {
		keepFrom = dayOf(oldest.Int64) - 1
	}
	writing := int64(math.MinInt64)
	if s.errw.payloads.f != nil {
		writing = s.errw.payloads.day
	}
	n, err := s.errw.payloads.expire(keepFrom, writing)
	if n > 0 {
		s.log.Debug("removed error payload files", "files", n)
	}
	return err
}

// closeErrors closes the error writer (at Close).
func (s *Store) closeErrors() {
	s.errw.mu.Lock()
	defer s.errw.mu.Unlock()
	s.errw.closeLocked()
	s.errw.payloads.close()
}
