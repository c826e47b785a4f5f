package duckdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// TestErrorStore: groups, events and attachments round-trip, filters and
// sorts select the right groups, every read is scoped to its project, a
// restart keeps them, and retention deletes events, attachments and
// groups by age.
func TestErrorStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	const t0 = int64(1_800_000_000_000)
	group := func(id, project int64, fp, title, status string, count int64, last int64, rels, envs []string) *errtrack.Group {
		g := &errtrack.Group{ID: id, Project: project, Fingerprint: fp, Grouping: "v1", Title: title, Culprit: "app in f", Level: "error",
			Status: status, FirstSeen: t0, LastSeen: last, Count: count, Releases: rels, Environments: envs, LastRelease: "1.0", LastEventID: fmt.Sprintf("%032x", id)}
		for i := range id {
			g.Users.Add(errtrack.UserHash(fmt.Sprint("u", i)))
		}
		return g
	}
	groups := []*errtrack.Group{
		group(1, 1, "aaaa", "TypeError: x is undefined", "unresolved", 10, t0+1000, []string{"1.0", "0.9"}, []string{"prod"}),
		group(2, 1, "bbbb", "KeyError: lesson", "resolved", 50, t0+500, []string{"1.0"}, []string{"staging"}),
		group(3, 1, "cccc", "cache miss", "unresolved", 5, t0+2000, nil, nil),
		group(4, 2, "aaaa", "TypeError: x is undefined", "unresolved", 1, t0+3000, []string{"1.0"}, []string{"prod"}),
	}
	var events []errtrack.StoredEvent
	for i, g := range groups {
		events = append(events, errtrack.StoredEvent{Project: g.Project, EventID: g.LastEventID, GroupID: g.ID, Timestamp: g.LastSeen,
			Received: t0 + int64(i), Level: "error", Release: "1.0", Environment: "prod", User: "u1", Title: g.Title,
			Payload: errtrack.Compress([]byte(`{"message":"m"}`)), Size: 15})
	}
	atts := []errtrack.Attachment{{Project: 1, EventID: groups[0].LastEventID, Received: t0, Filename: "a.log", ContentType: "text/plain",
		AttachmentType: "event.attachment", Size: 3, Data: errtrack.Compress([]byte("abc"))}}
	if err := st.CommitErrors(ctx, errtrack.Commit{New: groups, Events: events, Attachments: atts}); err != nil {
		t.Fatal(err)
	}
	// An update replaces the row.
	up := groups[0].Clone()
	up.Count, up.Status, up.Regressed = 11, "unresolved", true
	if err := st.CommitErrors(ctx, errtrack.Commit{Changed: []*errtrack.Group{up}}); err != nil {
		t.Fatal(err)
	}

	ids := func(f errtrack.GroupFilter, project int64) []int64 {
		t.Helper()
		gs, err := st.ErrorGroups(ctx, project, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	for _, c := range []struct {
		f    errtrack.GroupFilter
		want []int64
	}{
		{errtrack.GroupFilter{}, []int64{3, 1, 2}},
		{errtrack.GroupFilter{Sort: "count"}, []int64{2, 1, 3}},
		{errtrack.GroupFilter{Sort: "users"}, []int64{3, 2, 1}},
		{errtrack.GroupFilter{Sort: "first_seen", Limit: 1}, []int64{3}},
		{errtrack.GroupFilter{Status: "resolved"}, []int64{2}},
		{errtrack.GroupFilter{Environment: "prod"}, []int64{1}},
		{errtrack.GroupFilter{Environment: "pro"}, nil},
		{errtrack.GroupFilter{Release: "0.9"}, []int64{1}},
		{errtrack.GroupFilter{Query: "typeerror"}, []int64{1}},
		{errtrack.GroupFilter{Query: "cccc"}, []int64{3}},
		{errtrack.GroupFilter{Level: "fatal"}, nil},
	} {
		if got := ids(c.f, 1); !slices.Equal(got, c.want) {
			t.Errorf("ErrorGroups(%+v) = %v; want %v", c.f, got, c.want)
		}
	}
	if got := ids(errtrack.GroupFilter{}, 2); !slices.Equal(got, []int64{4}) {
		t.Errorf("project 2's groups = %v", got)
	}

	check := func(what string, st *duckdb.Store) {
		t.Helper()
		g, err := st.ErrorGroup(ctx, 1, 1)
		if err != nil || g.Count != 11 || !g.Regressed || g.Users.Count() != 1 || !slices.Equal(g.Releases, []string{"1.0", "0.9"}) || g.LastEventID != groups[0].LastEventID {
			t.Errorf("%s: ErrorGroup = %+v, %v", what, g, err)
		}
		if _, err := st.ErrorGroup(ctx, 2, 1); !errors.Is(err, errtrack.ErrNotFound) {
			t.Errorf("%s: project 2 reads project 1's group: %v", what, err)
		}
		f, err := st.FindErrorGroup(ctx, 2, "aaaa")
		if err != nil || f == nil || f.ID != 4 {
			t.Errorf("%s: FindErrorGroup = %+v, %v", what, f, err)
		}
		if f, err := st.FindErrorGroup(ctx, 1, "zzzz"); err != nil || f != nil {
			t.Errorf("%s: FindErrorGroup of an unknown fingerprint = %+v, %v", what, f, err)
		}
		e, err := st.ErrorEvent(ctx, 1, groups[0].LastEventID)
		if err != nil || e.GroupID != 1 || e.Size != 15 {
			t.Fatalf("%s: ErrorEvent = %+v, %v", what, e, err)
		}
		if raw, err := errtrack.Decompress(e.Payload); err != nil || string(raw) != `{"message":"m"}` {
			t.Errorf("%s: payload = %q, %v", what, raw, err)
		}
		if _, err := st.ErrorEvent(ctx, 2, groups[0].LastEventID); !errors.Is(err, errtrack.ErrNotFound) {
			t.Errorf("%s: project 2 reads project 1's event: %v", what, err)
		}
		evs, err := st.ErrorEvents(ctx, 1, 1, 10, 0)
		if err != nil || len(evs) != 1 || evs[0].Payload != nil {
			t.Errorf("%s: ErrorEvents = %+v, %v", what, evs, err)
		}
		a, err := st.ErrorAttachments(ctx, 1, groups[0].LastEventID)
		if err != nil || len(a) != 1 || a[0].Filename != "a.log" || a[0].Size != 3 {
			t.Errorf("%s: ErrorAttachments = %+v, %v", what, a, err)
		}
		if n, err := st.MaxErrorGroupID(ctx); err != nil || n != 4 {
			t.Errorf("%s: MaxErrorGroupID = %d, %v", what, n, err)
		}
		if r, err := st.RecentErrorEventIDs(ctx, 2); err != nil || len(r) != 2 || r[0].EventID != groups[3].LastEventID {
			t.Errorf("%s: RecentErrorEventIDs = %+v, %v", what, r, err)
		}
	}
	check("open", st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check("reopened", st)

	// Retention: events received and groups last seen before the cutoff.
	rep, err := st.ExpireErrors(ctx, 1, t0+1)
	if err != nil || rep.Events != 1 || rep.Attachments != 1 || rep.Groups != 0 {
		t.Errorf("ExpireErrors = %+v, %v; want 1 event and its attachment", rep, err)
	}
	rep, err = st.ExpireErrors(ctx, 1, t0+1500)
	if err != nil || rep.Groups != 2 {
		t.Errorf("ExpireErrors = %+v, %v; want groups 1 and 2", rep, err)
	}
	if got := ids(errtrack.GroupFilter{}, 1); !slices.Equal(got, []int64{3}) {
		t.Errorf("groups after retention = %v", got)
	}
	if got := ids(errtrack.GroupFilter{}, 2); !slices.Equal(got, []int64{4}) {
		t.Errorf("project 2 lost groups to project 1's retention: %v", got)
	}
}

// TestErrorPayloadsOutsideDuckDB: events' payloads go to a file of the
// commit's day and their rows hold references; a payload reads back
// whole, after a restart too, a row that holds its payload itself (as
// rows stored before did) reads back, a damaged payload is an error, and
// retention removes the files of days before the oldest event left.
func TestErrorPayloadsOutsideDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	now := time.Now().UnixMilli()
	raw := func(i int) []byte {
		return fmt.Appendf(nil, `{"message":"event %d","extra":{"blob":%q}}`, i, strings.Repeat(fmt.Sprintf("%x", i*7919), 300))
	}
	g := &errtrack.Group{ID: 1, Project: 1, Fingerprint: "f", Grouping: "v1", Title: "t", Status: "unresolved", FirstSeen: now, LastSeen: now, Count: 3}
	var events []errtrack.StoredEvent
	total := 0
	for i := range 3 {
		p := errtrack.Compress(raw(i))
		total += len(p)
		events = append(events, errtrack.StoredEvent{Project: 1, EventID: fmt.Sprintf("%032x", i+1), GroupID: 1, Timestamp: now, Received: now + int64(i),
			Level: "error", Title: "t", Payload: p, Size: len(raw(i))})
	}
	if err := st.CommitErrors(ctx, errtrack.Commit{New: []*errtrack.Group{g}, Events: events}); err != nil {
		t.Fatal(err)
	}
	// A row as stored before: the payload itself.
	legacy := errtrack.Compress([]byte(`{"message":"stored in the row"}`))
	rows, err := st.QuerySQL(ctx, `INSERT INTO error_events VALUES (1, ?, 1, ?, ?, 'error', '', '', '', 't', 30, ?)`, []any{fmt.Sprintf("%032x", 9), now, now - 1, legacy})
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	today := filepath.Join(dir, "errors", time.Now().UTC().Format("2006-01-02")+".payloads")
	if fi, err := os.Stat(today); err != nil || fi.Size() != int64(total) {
		t.Fatalf("payload file: %v, %v; want %d bytes", fi, err, total)
	}
	var inRows int64
	rows, err = st.QuerySQL(ctx, `SELECT sum(octet_length(payload)) FROM error_events WHERE event_id <> ?`, []any{fmt.Sprintf("%032x", 9)})
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		rows.Scan(&inRows)
	}
	rows.Close()
	if inRows > 3*32 {
		t.Errorf("the rows hold %d bytes of payloads; want references only", inRows)
	}
	check := func(what string) {
		t.Helper()
		for i := range 3 {
			e, err := st.ErrorEvent(ctx, 1, fmt.Sprintf("%032x", i+1))
			if err != nil {
				t.Fatalf("%s: event %d: %v", what, i, err)
			}
			if b, err := errtrack.Decompress(e.Payload); err != nil || !bytes.Equal(b, raw(i)) {
				t.Errorf("%s: event %d's payload = %.40q…, %v", what, i, b, err)
			}
		}
		e, err := st.ErrorEvent(ctx, 1, fmt.Sprintf("%032x", 9))
		if err != nil || !bytes.Equal(e.Payload, legacy) {
			t.Errorf("%s: the event stored with its payload = %+v, %v", what, e, err)
		}
	}
	check("open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "256MB"}); err != nil {
		t.Fatal(err)
	}
	check("reopened")

	// A damaged byte is found.
	f, err := os.OpenFile(today, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, int64(total-5))
	b[0] ^= 0xff
	f.WriteAt(b, int64(total-5))
	f.Close()
	if _, err := st.ErrorEvent(ctx, 1, fmt.Sprintf("%032x", 3)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a damaged payload reads back with %v; want a checksum error", err)
	}

	// Retention: the files of days before the oldest event's (and the day
	// before it) go; the oldest event's stays.
	old := filepath.Join(dir, "errors", "2020-01-01.payloads")
	if err := os.WriteFile(old, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if rep, err := st.ExpireErrors(ctx, 1, now); err != nil || rep.Events != 1 {
		t.Fatalf("ExpireErrors = %+v, %v; want the legacy event expired", rep, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file of 2020 is left: %v", err)
	}
	if _, err := os.Stat(today); err != nil {
		t.Errorf("today's file: %v", err)
	}
	check2, err := st.ErrorEvent(ctx, 1, fmt.Sprintf("%032x", 1))
	if err != nil || check2.Payload == nil {
		t.Errorf("an event left after retention: %+v, %v", check2, err)
	}
}
