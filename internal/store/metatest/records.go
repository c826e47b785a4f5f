package metatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/session"
)

func testSessions(t *testing.T, m Meta) {
	ctx := context.Background()
	got, err := m.Sessions(ctx)
	ok(t, "Sessions() of an empty store", err)
	if len(got) != 0 {
		t.Fatalf("Sessions() of an empty store = %+v; want none", got)
	}
	a := session.Session{Hash: sha256.Sum256([]byte("a")), KeyID: 7, Project: 1, Kind: meta.KindAdmin,
		CSRF: "csrf-a", Created: at(1), LastSeen: at(2)}
	b := session.Session{Hash: sha256.Sum256([]byte("b")), Root: true, RootTag: "root-1",
		CSRF: "csrf-b", Created: at(3), LastSeen: at(3)}
	c := session.Session{Hash: sha256.Sum256([]byte("c")), KeyID: 9, Project: 2, Kind: meta.KindRead,
		CSRF: "csrf-c", Created: at(4), LastSeen: at(4)}
	for _, x := range []session.Session{a, b, c} {
		ok(t, "PutSession", m.PutSession(ctx, x))
	}
	sessions := func(want ...session.Session) {
		t.Helper()
		got, err := m.Sessions(ctx)
		ok(t, "Sessions()", err)
		// In no promised order.
		sort.Slice(got, func(i, j int) bool { return bytes.Compare(got[i].Hash[:], got[j].Hash[:]) < 0 })
		sort.Slice(want, func(i, j int) bool { return bytes.Compare(want[i].Hash[:], want[j].Hash[:]) < 0 })
		if len(got) != len(want) {
			t.Fatalf("Sessions() = %d sessions; want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			sameTime(t, "Created", g.Created, w.Created)
			sameTime(t, "LastSeen", g.LastSeen, w.LastSeen)
			g.Created, g.LastSeen, w.Created, w.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if g != w {
				t.Errorf("Sessions()[%d] = %+v; want %+v", i, g, w)
			}
		}
	}
	sessions(a, b, c)
	ok(t, "TouchSession(a)", m.TouchSession(ctx, a.Hash, at(20)))
	ok(t, "TouchSession(unknown)", m.TouchSession(ctx, sha256.Sum256([]byte("x")), at(20)))
	a.LastSeen = at(20)
	// A put of a known hash replaces the session.
	c.CSRF, c.LastSeen = "csrf-c2", at(30)
	ok(t, "PutSession(c) again", m.PutSession(ctx, c))
	sessions(a, b, c)
	ok(t, "DeleteSessions()", m.DeleteSessions(ctx))
	ok(t, "DeleteSessions(b, unknown)", m.DeleteSessions(ctx, b.Hash, sha256.Sum256([]byte("y"))))
	sessions(a, c)
	ok(t, "DeleteSessions(b) again", m.DeleteSessions(ctx, b.Hash))
	ok(t, "DeleteSessions(a, c)", m.DeleteSessions(ctx, a.Hash, c.Hash))
	sessions()
}

func testSavedQueries(t *testing.T, m Meta) {
	ctx := context.Background()
	type q struct {
		id               int64
		name, sql        string
		created, updated time.Time
	}
	list := func(project int64, want ...q) {
		t.Helper()
		var got []q
		ok(t, fmt.Sprintf("SavedQueries(%d)", project), m.SavedQueries(ctx, project, func(id int64, name, sql string, created, updated time.Time) {
			if created.Location() != time.UTC || updated.Location() != time.UTC {
				t.Errorf("saved query %d: times %v %v; want UTC", id, created, updated)
			}
			got = append(got, q{id, name, sql, created, updated})
		}))
		if len(got) != len(want) {
			t.Fatalf("SavedQueries(%d) = %+v; want %+v", project, got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.id != w.id || g.name != w.name || g.sql != w.sql || !g.created.Equal(w.created) || !g.updated.Equal(w.updated) {
				t.Fatalf("SavedQueries(%d)[%d] = %+v; want %+v", project, i, g, w)
			}
		}
		n, err := m.CountSavedQueries(ctx, project)
		ok(t, "CountSavedQueries", err)
		if n != len(want) {
			t.Fatalf("CountSavedQueries(%d) = %d; want %d", project, n, len(want))
		}
	}
	create := func(project int64, name, sql string, when time.Time, want int64) q {
		t.Helper()
		id, err := m.CreateSavedQuery(ctx, project, name, sql, when)
		ok(t, fmt.Sprintf("CreateSavedQuery(%d, %q)", project, name), err)
		if id != want {
			t.Fatalf("CreateSavedQuery(%d, %q) = %d; want %d", project, name, id, want)
		}
		return q{id, name, sql, when, when}
	}
	list(1)
	b := create(1, "b", "SELECT 2", at(1), 1)
	upperA := create(1, "A", "SELECT 1", at(2), 2)
	a := create(1, "a", "SELECT 3", at(3), 3)
	_, err := m.CreateSavedQuery(ctx, 1, "b", "SELECT 4", at(4))
	is(t, `CreateSavedQuery(1, "b") again`, err, meta.ErrExists)
	// Another project may have the name; ids are the store's, not the project's.
	other := create(2, "b", "SELECT 5", at(5), 4)
	// By name, case folded, then as is.
	list(1, upperA, a, b)
	list(2, other)

	created, err := m.UpdateSavedQuery(ctx, 1, b.id, "c", "SELECT 6", at(6))
	ok(t, "UpdateSavedQuery(1, b -> c)", err)
	sameTime(t, "UpdateSavedQuery's created", created, b.created)
	c := q{b.id, "c", "SELECT 6", b.created, at(6)}
	// Keeping its own name is no clash.
	_, err = m.UpdateSavedQuery(ctx, 1, a.id, "a", "SELECT 7", at(7))
	ok(t, "UpdateSavedQuery(1, a -> a)", err)
	a.sql, a.updated = "SELECT 7", at(7)
	_, err = m.UpdateSavedQuery(ctx, 1, a.id, "A", "SELECT 8", at(8))
	is(t, `UpdateSavedQuery(1, a -> "A")`, err, meta.ErrExists)
	_, err = m.UpdateSavedQuery(ctx, 2, a.id, "z", "SELECT 8", at(8))
	is(t, "UpdateSavedQuery of another project's query", err, meta.ErrNotFound)
	_, err = m.UpdateSavedQuery(ctx, 1, 99, "z", "SELECT 8", at(8))
	is(t, "UpdateSavedQuery(1, 99)", err, meta.ErrNotFound)
	list(1, upperA, a, c)

	is(t, "DeleteSavedQuery of another project's query", m.DeleteSavedQuery(ctx, 2, upperA.id), meta.ErrNotFound)
	ok(t, "DeleteSavedQuery(1, A)", m.DeleteSavedQuery(ctx, 1, upperA.id))
	is(t, "DeleteSavedQuery(1, A) again", m.DeleteSavedQuery(ctx, 1, upperA.id), meta.ErrNotFound)
	list(1, a, c)
	// A deleted query's name is free again.
	a2 := create(1, "A", "SELECT 9", at(9), 5)
	list(1, a2, a, c)
	list(2, other)
}

func testAlertRules(t *testing.T, m Meta) {
	ctx := context.Background()
	rules := func(want ...alert.Record) {
		t.Helper()
		got, err := m.AlertRules(ctx)
		ok(t, "AlertRules()", err)
		if len(got) != len(want) {
			t.Fatalf("AlertRules() = %+v; want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			sameTime(t, "Created", g.Created, w.Created)
			sameTime(t, "Updated", g.Updated, w.Updated)
			if g.ID != w.ID || g.Project != w.Project || g.Spec != w.Spec || g.State != w.State {
				t.Fatalf("AlertRules()[%d] = %+v; want %+v", i, g, w)
			}
		}
	}
	rules()
	create := func(project int64, spec, state string, when time.Time, want int64) alert.Record {
		t.Helper()
		id, err := m.CreateAlertRule(ctx, project, spec, state, when)
		ok(t, "CreateAlertRule", err)
		if id != want {
			t.Fatalf("CreateAlertRule = %d; want %d", id, want)
		}
		return alert.Record{ID: id, Project: project, Spec: spec, State: state, Created: when, Updated: when}
	}
	r1 := create(1, `{"name":"slow"}`, `{"state":"ok"}`, at(1), 1)
	r2 := create(2, `{"name":"errors"}`, `{}`, at(2), 2)
	r3 := create(1, `{"name":"down"}`, `{}`, at(3), 3)
	rules(r1, r2, r3)

	ok(t, "UpdateAlertRule(1, 1)", m.UpdateAlertRule(ctx, 1, r1.ID, `{"name":"slower"}`, `{"state":"pending"}`, at(4)))
	r1.Spec, r1.State, r1.Updated = `{"name":"slower"}`, `{"state":"pending"}`, at(4)
	is(t, "UpdateAlertRule of another project's rule", m.UpdateAlertRule(ctx, 2, r1.ID, "{}", "{}", at(5)), meta.ErrNotFound)
	is(t, "UpdateAlertRule(1, 99)", m.UpdateAlertRule(ctx, 1, 99, "{}", "{}", at(5)), meta.ErrNotFound)
	// A state is put by id alone, and keeps the rule's update time.
	ok(t, "PutAlertState(2)", m.PutAlertState(ctx, r2.ID, `{"state":"firing"}`))
	r2.State = `{"state":"firing"}`
	ok(t, "PutAlertState(99)", m.PutAlertState(ctx, 99, `{}`))
	rules(r1, r2, r3)

	is(t, "DeleteAlertRule of another project's rule", m.DeleteAlertRule(ctx, 1, r2.ID), meta.ErrNotFound)
	ok(t, "DeleteAlertRule(1, 1)", m.DeleteAlertRule(ctx, 1, r1.ID))
	is(t, "DeleteAlertRule(1, 1) again", m.DeleteAlertRule(ctx, 1, r1.ID), meta.ErrNotFound)
	rules(r2, r3)
	r4 := create(1, `{"name":"new"}`, `{}`, at(6), 4)
	rules(r2, r3, r4)
}

func testChecks(t *testing.T, m Meta) {
	ctx := context.Background()
	list := func(want ...checks.Record) {
		t.Helper()
		got, err := m.Checks(ctx)
		ok(t, "Checks()", err)
		if len(got) != len(want) {
			t.Fatalf("Checks() = %+v; want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			sameTime(t, "Created", g.Created, w.Created)
			sameTime(t, "Updated", g.Updated, w.Updated)
			if g.ID != w.ID || g.Project != w.Project || g.Spec != w.Spec || g.State != w.State {
				t.Fatalf("Checks()[%d] = %+v; want %+v", i, g, w)
			}
		}
	}
	list()
	create := func(project int64, spec string, when time.Time, want int64) checks.Record {
		t.Helper()
		id, err := m.CreateCheck(ctx, project, spec, "{}", when)
		ok(t, "CreateCheck", err)
		if id != want {
			t.Fatalf("CreateCheck = %d; want %d", id, want)
		}
		return checks.Record{ID: id, Project: project, Spec: spec, State: "{}", Created: when, Updated: when}
	}
	c1 := create(1, `{"url":"https://a"}`, at(1), 1)
	c2 := create(2, `{"url":"https://b"}`, at(2), 2)
	list(c1, c2)
	ok(t, "UpdateCheck(1, 1)", m.UpdateCheck(ctx, 1, c1.ID, `{"url":"https://a2"}`, `{"up":true}`, at(3)))
	c1.Spec, c1.State, c1.Updated = `{"url":"https://a2"}`, `{"up":true}`, at(3)
	is(t, "UpdateCheck of another project's check", m.UpdateCheck(ctx, 1, c2.ID, "{}", "{}", at(4)), meta.ErrNotFound)
	is(t, "UpdateCheck(1, 99)", m.UpdateCheck(ctx, 1, 99, "{}", "{}", at(4)), meta.ErrNotFound)
	ok(t, "PutCheckState(2)", m.PutCheckState(ctx, c2.ID, `{"up":false}`))
	c2.State = `{"up":false}`
	ok(t, "PutCheckState(99)", m.PutCheckState(ctx, 99, `{}`))
	list(c1, c2)
	is(t, "DeleteCheck of another project's check", m.DeleteCheck(ctx, 2, c1.ID), meta.ErrNotFound)
	ok(t, "DeleteCheck(1, 1)", m.DeleteCheck(ctx, 1, c1.ID))
	is(t, "DeleteCheck(1, 1) again", m.DeleteCheck(ctx, 1, c1.ID), meta.ErrNotFound)
	list(c2)
}

func testCheckRuns(t *testing.T, m Meta) {
	ctx := context.Background()
	check, err := m.CreateCheck(ctx, 1, `{}`, `{}`, at(0))
	ok(t, "CreateCheck", err)
	other, err := m.CreateCheck(ctx, 1, `{}`, `{}`, at(0))
	ok(t, "CreateCheck", err)
	report := func(i int, kind string) []byte { return []byte(fmt.Sprintf("%s report %d", kind, i)) }
	// keepRuns 3 and keepReports 2: runs 1 and 2 go, run 3 keeps no report.
	for i := 1; i <= 5; i++ {
		r := checks.RunRecord{Project: 1, Check: check, At: at(i), Run: fmt.Sprintf(`{"n":%d}`, i),
			ReportJSON: report(i, "json"), ReportHTML: report(i, "html")}
		id, err := m.AddCheckRun(ctx, r, 3, 2)
		ok(t, "AddCheckRun", err)
		if id != int64(i) {
			t.Fatalf("AddCheckRun #%d = %d; want %d", i, id, i)
		}
	}
	// Another check's runs neither count nor go.
	id, err := m.AddCheckRun(ctx, checks.RunRecord{Project: 1, Check: other, At: at(6), Run: `{"other":1}`}, 3, 2)
	ok(t, "AddCheckRun(other)", err)
	if id != 6 {
		t.Fatalf("AddCheckRun(other) = %d; want 6", id)
	}
	runs := func(project, check int64, limit int, want ...int) {
		t.Helper()
		got, err := m.CheckRuns(ctx, project, check, limit)
		ok(t, "CheckRuns", err)
		var ids []int
		for _, r := range got {
			ids = append(ids, int(r.ID))
			n := int(r.ID)
			if r.Project != project || r.Check != check || r.Run != fmt.Sprintf(`{"n":%d}`, n) || r.ReportJSON != nil || r.ReportHTML != nil {
				t.Errorf("CheckRuns: run %+v; want project %d check %d, no reports", r, project, check)
			}
			sameTime(t, "run time", r.At, at(n))
		}
		if !reflect.DeepEqual(ids, want) {
			t.Fatalf("CheckRuns(%d, %d, %d) = ids %v; want %v", project, check, limit, ids, want)
		}
	}
	runs(1, check, 10, 5, 4, 3)
	runs(1, check, 2, 5, 4)
	runs(2, check, 10)
	reportOf := func(run int64, html bool, want []byte) {
		t.Helper()
		got, err := m.CheckReport(ctx, 1, check, run, html)
		ok(t, "CheckReport", err)
		if !bytes.Equal(got, want) {
			t.Fatalf("CheckReport(run %d, html %v) = %q; want %q", run, html, got, want)
		}
	}
	reportOf(5, false, report(5, "json"))
	reportOf(5, true, report(5, "html"))
	reportOf(4, true, report(4, "html"))
	reportOf(3, false, nil) // its report dropped
	reportOf(1, false, nil) // the run dropped
	reportOf(99, true, nil)
	if got, err := m.CheckReport(ctx, 2, check, 5, false); err != nil || got != nil {
		t.Fatalf("CheckReport of another project = %q, %v; want nil, nil", got, err)
	}
	// A run without reports keeps the older runs' reports.
	_, err = m.AddCheckRun(ctx, checks.RunRecord{Project: 1, Check: check, At: at(7), Run: `{"n":7}`}, 3, 2)
	ok(t, "AddCheckRun without reports", err)
	runs(1, check, 10, 7, 5, 4)
	reportOf(4, false, report(4, "json"))

	n, err := m.PruneCheckRuns(ctx, at(5))
	ok(t, "PruneCheckRuns", err)
	if n != 1 {
		t.Fatalf("PruneCheckRuns(before run 5) = %d; want 1 (run 4)", n)
	}
	runs(1, check, 10, 7, 5)
	ok(t, "DeleteCheck", m.DeleteCheck(ctx, 1, check))
	runs(1, check, 10)
	reportOf(5, false, nil)
	got, err := m.CheckRuns(ctx, 1, other, 10)
	ok(t, "CheckRuns(other)", err)
	if len(got) != 1 || got[0].ID != 6 {
		t.Fatalf("CheckRuns(other) after deleting the first check = %+v; want run 6", got)
	}
}

func testMonitors(t *testing.T, m Meta) {
	ctx := context.Background()
	got, err := m.Monitors(ctx)
	ok(t, "Monitors() of an empty store", err)
	if len(got) != 0 {
		t.Fatalf("Monitors() of an empty store = %+v; want none", got)
	}
	cfg := &errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: "0 2 * * *", Timezone: "Europe/Paris", Margin: 5, MaxRuntime: 30}
	ms := []monitors.Monitor{
		{Project: 2, Slug: "backup", Environment: "production"},
		{Project: 1, Slug: "nightly", Environment: "staging", Config: cfg, LastCheckIn: 1_700_000_000_000, LastStatus: "ok",
			NextExpected: 1_700_086_400_000, InProgress: "abc", InProgressSince: 1_700_000_001_000},
		{Project: 1, Slug: "nightly", Environment: "production", Config: cfg},
		{Project: 1, Slug: "Zz", Environment: ""},
	}
	for _, x := range ms {
		ok(t, "PutMonitor", m.PutMonitor(ctx, x))
	}
	// Replaced by project, slug and environment.
	ms[2].LastStatus, ms[2].LastCheckIn = "error", 1_700_000_002_000
	ok(t, "PutMonitor again", m.PutMonitor(ctx, ms[2]))
	got, err = m.Monitors(ctx)
	ok(t, "Monitors()", err)
	// By project, slug and environment, in byte order.
	want := []monitors.Monitor{ms[3], ms[2], ms[1], ms[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Monitors() = %+v; want %+v", got, want)
	}
}
