package clickhouse

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/errtrack"
)

// Error tracking's events and attachments (the groups are PostgreSQL's:
// package postgres). Two tables, created at Open as the points table is
// (local MergeTree tables ON CLUSTER and a Distributed table over them
// with a cluster, Replicated with the replica macros):
//
//	error_events: project UInt64, event_id String, group_id UInt64,
//	  ts Int64, received Int64 (Unix ms), level, release, environment,
//	  user_key, title String, size UInt32, payload String (compressed),
//	  day Date (of received)
//	  PARTITION BY day ORDER BY (project, group_id, received)
//	error_attachments: project UInt64, event_id String, received Int64,
//	  filename, content_type, attachment_type String, size UInt64,
//	  data String (compressed), day Date
//	  PARTITION BY day ORDER BY (project, event_id)
//
// The Distributed tables shard by a hash of project and event id, so
// that every row of an event is on one shard. An event is normally stored
// once: its id is claimed in PostgreSQL in the transaction that inserts
// it. A transaction that failed after its insert reached ClickHouse leaves
// rows that the SDK's retry stores again; every read keeps one row per
// event id (LIMIT 1 BY), the latest received.

const eventsCols = "project UInt64, event_id String, group_id UInt64, ts Int64, received Int64, level String, `release` String, " +
	"environment String, user_key String, title String, size UInt32, payload String, day Date"

const attachmentsCols = "project UInt64, event_id String, received Int64, filename String, content_type String, " +
	"attachment_type String, size UInt64, data String, day Date"

// errorShardingKey keeps an event's rows (and its attachments) on one shard.
const errorShardingKey = "cityHash64(project, event_id)"

// errorTables returns the statements that create the error tables.
func (s *Store) errorTables(on string, replicated bool) []string {
	db := s.cfg.Database
	var stmts []string
	for _, t := range []struct{ name, cols, key string }{
		{"error_events", eventsCols, "(project, group_id, received)"},
		{"error_attachments", attachmentsCols, "(project, event_id)"},
	} {
		local := t.name
		if s.cfg.Cluster != "" {
			local += "_local"
		}
		engine := "MergeTree()"
		if replicated {
			engine = fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')", db, local)
		}
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+db+"."+local+on+" ("+t.cols+") ENGINE = "+engine+
			" PARTITION BY day ORDER BY "+t.key+" SETTINGS index_granularity = 8192")
		if s.cfg.Cluster != "" {
			stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+db+"."+t.name+on+" AS "+db+"."+local+
				" ENGINE = Distributed("+s.cfg.Cluster+", "+db+", "+local+", "+errorShardingKey+")")
		}
	}
	return stmts
}

// errTable is the table of name to read and write; errLocal, the local
// one (mutations, partitions).
func (s *Store) errTable(name string) string { return s.cfg.Database + "." + name }
func (s *Store) errLocal(name string) string {
	if s.cfg.Cluster != "" {
		return s.cfg.Database + "." + name + "_local"
	}
	return s.errTable(name)
}

// dayOf is the days since 1970-01-01 of a Unix ms time (a Date in
// RowBinary), 0 for times before.
func dayOf(ms int64) uint16 {
	if ms <= 0 {
		return 0
	}
	return uint16(min(ms/86_400_000, 0xffff))
}

// AppendErrors inserts events and attachments (an INSERT for each table
// that has rows; with a cluster, synchronously on every shard). A failed
// call may have stored some of the rows; the same rows inserted again are
// read once.
func (s *Store) AppendErrors(ctx context.Context, events []errtrack.StoredEvent, atts []errtrack.Attachment) error {
	var settings []string
	if s.cfg.Cluster != "" {
		settings = []string{"insert_distributed_sync", "1"}
	}
	defer s.forgetSize()
	if len(events) > 0 {
		var buf bytes.Buffer
		for i := range events {
			e := &events[i]
			if e.Project <= 0 || e.GroupID <= 0 {
				return fmt.Errorf("clickhouse: append error event %s: project %d, group %d; want positive ids", e.EventID, e.Project, e.GroupID)
			}
			b := buf.AvailableBuffer()
			b = binary.LittleEndian.AppendUint64(b, uint64(e.Project))
			b = appendString(b, e.EventID)
			b = binary.LittleEndian.AppendUint64(b, uint64(e.GroupID))
			b = binary.LittleEndian.AppendUint64(b, uint64(e.Timestamp))
			b = binary.LittleEndian.AppendUint64(b, uint64(e.Received))
			for _, v := range []string{e.Level, e.Release, e.Environment, e.User, e.Title} {
				b = appendString(b, v)
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(e.Size))
			b = binary.AppendUvarint(b, uint64(len(e.Payload)))
			b = append(b, e.Payload...)
			b = binary.LittleEndian.AppendUint16(b, dayOf(e.Received))
			buf.Write(b)
		}
		if _, err := s.query(ctx, "INSERT INTO "+s.errTable("error_events")+" FORMAT RowBinary", &buf, settings...); err != nil {
			return fmt.Errorf("append %d error events: %w", len(events), err)
		}
	}
	if len(atts) > 0 {
		var buf bytes.Buffer
		for i := range atts {
			a := &atts[i]
			if a.Project <= 0 {
				return fmt.Errorf("clickhouse: append attachment of event %s: project %d; want a positive id", a.EventID, a.Project)
			}
			b := buf.AvailableBuffer()
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Project))
			b = appendString(b, a.EventID)
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Received))
			for _, v := range []string{a.Filename, a.ContentType, a.AttachmentType} {
				b = appendString(b, v)
			}
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Size))
			b = binary.AppendUvarint(b, uint64(len(a.Data)))
			b = append(b, a.Data...)
			b = binary.LittleEndian.AppendUint16(b, dayOf(a.Received))
			buf.Write(b)
		}
		if _, err := s.query(ctx, "INSERT INTO "+s.errTable("error_attachments")+" FORMAT RowBinary", &buf, settings...); err != nil {
			return fmt.Errorf("append %d attachments: %w", len(atts), err)
		}
	}
	return nil
}

// rows runs a SELECT and returns its rows' fields (FORMAT TabSeparated).
func (s *Store) rows(ctx context.Context, q string, ncol int) ([][]string, error) {
	out, err := s.query(ctx, q+" FORMAT TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	t := newTSVReader(strings.NewReader(out))
	var rows [][]string
	for {
		ok, err := t.next()
		if err != nil {
			return nil, fmt.Errorf("clickhouse %s: %w", s.cfg.HTTP, err)
		}
		if !ok {
			return rows, nil
		}
		if len(t.fields) != ncol {
			return nil, fmt.Errorf("clickhouse %s: row %d has %d columns; want %d", s.cfg.HTTP, t.row, len(t.fields), ncol)
		}
		r := make([]string, ncol)
		for i, f := range t.fields {
			r[i] = string(f)
		}
		rows = append(rows, r)
	}
}

// eventSelect are the columns decodeEvent reads.
const eventSelect = "project, event_id, group_id, ts, received, level, `release`, environment, user_key, title, size"

func decodeEvent(r []string) (errtrack.StoredEvent, error) {
	var e errtrack.StoredEvent
	var err error
	ints := []*int64{&e.Project, nil, &e.GroupID, &e.Timestamp, &e.Received}
	for i, p := range ints {
		if p != nil {
			if *p, err = strconv.ParseInt(r[i], 10, 64); err != nil {
				return e, fmt.Errorf("error event column %d: %w", i+1, err)
			}
		}
	}
	e.EventID, e.Level, e.Release, e.Environment, e.User, e.Title = r[1], r[5], r[6], r[7], r[8], r[9]
	if e.Size, err = strconv.Atoi(r[10]); err != nil {
		return e, fmt.Errorf("error event size: %w", err)
	}
	return e, nil
}

// ErrorEvent returns a project's event with its payload (the latest
// received of its rows).
func (s *Store) ErrorEvent(ctx context.Context, project int64, eventID string) (*errtrack.StoredEvent, error) {
	rows, err := s.rows(ctx, fmt.Sprintf("SELECT %s, hex(payload) FROM %s WHERE project = %d AND event_id = %s ORDER BY received DESC LIMIT 1",
		eventSelect, s.errTable("error_events"), project, chString(eventID)), 12)
	if err != nil {
		return nil, fmt.Errorf("read error event: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("event %s: %w", eventID, errtrack.ErrNotFound)
	}
	e, err := decodeEvent(rows[0])
	if err != nil {
		return nil, err
	}
	if e.Payload, err = hex.DecodeString(rows[0][11]); err != nil {
		return nil, fmt.Errorf("error event %s: payload: %w", eventID, err)
	}
	return &e, nil
}

// ErrorEvents lists a group's events, newest first (by arrival, then by
// the SDK's time, then id), without payloads, each once.
func (s *Store) ErrorEvents(ctx context.Context, project, group int64, limit int, before int64) ([]errtrack.StoredEvent, error) {
	limit = errtrack.ListLimit(limit)
	cond := ""
	if before != 0 {
		cond = fmt.Sprintf(" AND received < %d", before)
	}
	rows, err := s.rows(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE project = %d AND group_id = %d%s ORDER BY received DESC, ts DESC, event_id LIMIT 1 BY event_id LIMIT %d",
		eventSelect, s.errTable("error_events"), project, group, cond, limit), 11)
	if err != nil {
		return nil, fmt.Errorf("list error events: %w", err)
	}
	out := make([]errtrack.StoredEvent, 0, len(rows))
	for _, r := range rows {
		e, err := decodeEvent(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ErrorAttachments lists an event's attachments without their data.
func (s *Store) ErrorAttachments(ctx context.Context, project int64, eventID string) ([]errtrack.Attachment, error) {
	rows, err := s.rows(ctx, fmt.Sprintf("SELECT received, filename, content_type, attachment_type, size FROM %s WHERE project = %d AND event_id = %s "+
		"ORDER BY received DESC LIMIT 1 BY filename, content_type, attachment_type, size", s.errTable("error_attachments"), project, chString(eventID)), 5)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	var out []errtrack.Attachment
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		a := errtrack.Attachment{Project: project, EventID: eventID, Filename: r[1], ContentType: r[2], AttachmentType: r[3]}
		var err1, err2 error
		a.Received, err1 = strconv.ParseInt(r[0], 10, 64)
		a.Size, err2 = strconv.Atoi(r[4])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("clickhouse %s: unreadable attachment row %q", s.cfg.HTTP, r)
		}
		out = append(out, a)
	}
	// In the embedded store's order: received, then filename.
	slices.SortStableFunc(out, func(a, b errtrack.Attachment) int {
		return cmp.Or(cmp.Compare(a.Received, b.Received), cmp.Compare(a.Filename, b.Filename))
	})
	return out, nil
}

// RecentErrorEventIDs returns the ids of the latest events received.
func (s *Store) RecentErrorEventIDs(ctx context.Context, limit int) ([]errtrack.EventKey, error) {
	rows, err := s.rows(ctx, fmt.Sprintf("SELECT project, event_id FROM %s ORDER BY received DESC LIMIT 1 BY project, event_id LIMIT %d",
		s.errTable("error_events"), max(limit, 0)), 2)
	if err != nil {
		return nil, fmt.Errorf("read recent error events: %w", err)
	}
	out := make([]errtrack.EventKey, 0, len(rows))
	for _, r := range rows {
		p, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read recent error events: %w", err)
		}
		out = append(out, errtrack.EventKey{Project: p, EventID: r[1]})
	}
	return out, nil
}

// ExpireErrors deletes a project's events and attachments received before
// cutoff (Unix ms) and returns how many events (each once) and attachment
// rows went: one delete per table that has any (deleteStatement: a
// lightweight DELETE where the server has it, else ALTER TABLE ... DELETE;
// ON CLUSTER with a cluster), waited for as Expire waits for its own.
func (s *Store) ExpireErrors(ctx context.Context, project, cutoff int64) (events, atts int64, err error) {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	cond := fmt.Sprintf("project = %d AND received < %d", project, cutoff)
	defer s.forgetSize()
	for _, t := range []struct {
		name, count string
		n           *int64
	}{
		{"error_events", "uniqExact(event_id)", &events},
		{"error_attachments", "count()", &atts},
	} {
		out, err := s.query(ctx, "SELECT "+t.count+" FROM "+s.errTable(t.name)+" WHERE "+cond, nil)
		if err != nil {
			return events, atts, fmt.Errorf("retention: count the expired rows of %s: %w", t.name, err)
		}
		if *t.n, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
			return events, atts, fmt.Errorf("clickhouse %s: retention: unreadable count %q", s.cfg.HTTP, out)
		}
		if *t.n == 0 {
			continue
		}
		if _, err := s.query(ctx, deleteStatement(s.features, s.errLocal(t.name), on, cond), nil); err != nil {
			return events, atts, fmt.Errorf("retention: delete the expired rows of %s: %w", t.name, err)
		}
		if err := s.waitMutationsOf(ctx, s.errLocal(t.name)); err != nil {
			return events, atts, err
		}
	}
	return events, atts, nil
}

// ErrorCounts counts the events (each id once) and the attachments (each
// once) as reads see them.
func (s *Store) ErrorCounts(ctx context.Context) (events, atts int64, err error) {
	out, err := s.query(ctx, "SELECT (SELECT uniqExact(project, event_id) FROM "+s.errTable("error_events")+"), "+
		"(SELECT uniqExact(project, event_id, filename, content_type, attachment_type, size) FROM "+s.errTable("error_attachments")+") FORMAT TabSeparated", nil)
	if err != nil {
		return 0, 0, fmt.Errorf("count error events: %w", err)
	}
	a, b, _ := strings.Cut(strings.TrimSpace(out), "\t")
	events, err1 := strconv.ParseInt(a, 10, 64)
	atts, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("clickhouse %s: unreadable counts %q", s.cfg.HTTP, out)
	}
	return events, atts, nil
}
