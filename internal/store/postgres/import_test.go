//go:build cluster

package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/session"
	"github.com/alidade/alidade/internal/testinfra"
)

// importSnapshot is an installation's metadata with gaps in its ids (a
// project, keys, a saved query deleted), as an embedded store's would be.
func importSnapshot() *Snapshot {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := func(s string) []byte { b := sha256.Sum256([]byte(s)); return b[:] }
	var sh session.Hash
	copy(sh[:], h("session"))
	return &Snapshot{
		Settings: map[string]string{"initialized": "1", "root_key_sha256": "ab12", "allowed_origins/3": `["https://a.example"]`},
		Projects: []meta.Project{{ID: 1, Name: "default", Created: at}, {ID: 3, Name: "web", Created: at.Add(time.Hour)}},
		Keys: []meta.Key{
			{ID: 1, ProjectID: 1, Kind: meta.KindPublic, Name: "public", Prefix: "ald_public_ab", Hash: h("p"), Created: at, Public: "ald_public_abc"},
			{ID: 2, ProjectID: 1, Kind: meta.KindWrite, Name: "write", Prefix: "ald_write_ab", Hash: h("w"), Created: at},
			{ID: 7, ProjectID: 3, Kind: meta.KindAdmin, Name: "admin", Prefix: "ald_admin_ab", Hash: h("a"), Created: at.Add(time.Hour)},
		},
		Datasets: []meta.Dataset{
			{ProjectID: 1, Name: "requests", Created: at, Retention: 30 * 24 * time.Hour},
			{ProjectID: 3, Name: "clicks", Created: at, Schema: &point.Schema{Index: "page", Blobs: []string{"button"}, Doubles: []string{"ms"}}, Sampling: 50},
		},
		Sessions:     []session.Session{{Hash: sh, KeyID: 7, Project: 3, Kind: meta.KindAdmin, CSRF: "csrf", Created: at, LastSeen: at.Add(time.Minute)}},
		SavedQueries: []SavedQuery{{ID: 4, Project: 3, Name: "Top", SQL: "SELECT 1", Created: at, Updated: at.Add(time.Second)}},
		AlertRules:   []alert.Record{{ID: 2, Project: 1, Spec: `{"name":"x"}`, State: `{"state":"ok"}`, Created: at, Updated: at}},
		Checks:       []checks.Record{{ID: 5, Project: 3, Spec: `{"url":"https://a.example"}`, State: `{}`, Created: at, Updated: at}},
		CheckRuns: []checks.RunRecord{
			{ID: 8, Project: 3, Check: 5, At: at, Run: `{"ok":true}`, ReportJSON: []byte("json"), ReportHTML: []byte("html")},
			{ID: 9, Project: 3, Check: 5, At: at.Add(time.Minute), Run: `{"ok":false}`},
		},
		Monitors: []monitors.Monitor{{Project: 3, Slug: "nightly", Environment: "prod", LastStatus: "ok", LastCheckIn: 42}},
	}
}

// TestImport: a snapshot imported reads back the same through the store's
// methods, ids included; new rows take ids after the largest imported; a
// second import, or one into a database with projects, is refused; an
// import that fails leaves nothing.
func TestImport(t *testing.T) {
	pg := testinfra.StartPostgres(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	srv := &server{pg: pg, admin: admin}
	s := srv.closeAtEnd(t, srv.open(t, srv.database(t)))
	snap := importSnapshot()
	if err := s.Import(ctx, snap); err != nil {
		t.Fatalf("Import = %v", err)
	}

	projects, err := s.Projects(ctx)
	if err != nil || !reflect.DeepEqual(projects, snap.Projects) {
		t.Errorf("Projects = %+v, %v; want %+v", projects, err, snap.Projects)
	}
	keys, err := s.Keys(ctx, 0)
	if err != nil || !reflect.DeepEqual(keys, snap.Keys) {
		t.Errorf("Keys = %+v, %v; want %+v", keys, err, snap.Keys)
	}
	if k, err := s.Key(ctx, snap.Keys[2].Hash); err != nil || k.ID != 7 {
		t.Errorf("Key(admin's hash) = %+v, %v; want id 7", k, err)
	}
	for name, want := range snap.Settings {
		if v, err := s.Setting(ctx, name); err != nil || v != want {
			t.Errorf("Setting(%q) = %q, %v; want %q", name, v, err, want)
		}
	}
	// A dataset without a schema of its own follows the built-in one.
	if d := s.Dataset(1, "requests"); d == nil || d.Retention != 30*24*time.Hour || !reflect.DeepEqual(d.Schema, point.Builtin("requests")) {
		t.Errorf("Dataset(1, requests) = %+v", d)
	}
	if d := s.Dataset(3, "clicks"); d == nil || d.Sampling != 50 || !reflect.DeepEqual(d.Schema, snap.Datasets[1].Schema) {
		t.Errorf("Dataset(3, clicks) = %+v", d)
	}
	var raw string
	if err := s.pool.QueryRow(ctx, `SELECT schema_json FROM datasets WHERE project_id = 1 AND name = 'requests'`).Scan(&raw); err != nil || raw != "" {
		t.Errorf("requests' stored schema = %q, %v; want none (the built-in one)", raw, err)
	}
	if got, err := s.Sessions(ctx); err != nil || !reflect.DeepEqual(got, snap.Sessions) {
		t.Errorf("Sessions = %+v, %v; want %+v", got, err, snap.Sessions)
	}
	var saved []SavedQuery
	if err := s.SavedQueries(ctx, 3, func(id int64, name, sql string, created, updated time.Time) {
		saved = append(saved, SavedQuery{ID: id, Project: 3, Name: name, SQL: sql, Created: created, Updated: updated})
	}); err != nil || !reflect.DeepEqual(saved, snap.SavedQueries) {
		t.Errorf("SavedQueries = %+v, %v; want %+v", saved, err, snap.SavedQueries)
	}
	if got, err := s.AlertRules(ctx); err != nil || !reflect.DeepEqual(got, snap.AlertRules) {
		t.Errorf("AlertRules = %+v, %v", got, err)
	}
	if got, err := s.Checks(ctx); err != nil || !reflect.DeepEqual(got, snap.Checks) {
		t.Errorf("Checks = %+v, %v", got, err)
	}
	if runs, err := s.CheckRuns(ctx, 3, 5, 10); err != nil || len(runs) != 2 || runs[0].ID != 9 || runs[1].ID != 8 {
		t.Errorf("CheckRuns = %+v, %v; want runs 9 and 8", runs, err)
	}
	if b, err := s.CheckReport(ctx, 3, 5, 8, true); err != nil || string(b) != "html" {
		t.Errorf("CheckReport(8, html) = %q, %v", b, err)
	}
	if got, err := s.Monitors(ctx); err != nil || !reflect.DeepEqual(got, snap.Monitors) {
		t.Errorf("Monitors = %+v, %v", got, err)
	}

	// New rows: ids after the largest imported.
	if p, err := s.CreateProject(ctx, "next"); err != nil || p.ID != 4 {
		t.Errorf("CreateProject after the import = %+v, %v; want id 4", p, err)
	}
	k := &meta.Key{ProjectID: 3, Kind: meta.KindRead, Name: "r", Prefix: "ald_read_x", Hash: []byte("x")}
	if err := s.CreateKey(ctx, k); err != nil || k.ID != 8 {
		t.Errorf("CreateKey after the import = id %d, %v; want 8", k.ID, err)
	}
	if id, err := s.CreateSavedQuery(ctx, 3, "Other", "SELECT 2", time.Now()); err != nil || id != 5 {
		t.Errorf("CreateSavedQuery = %d, %v; want 5", id, err)
	}
	if id, err := s.CreateAlertRule(ctx, 1, "{}", "{}", time.Now()); err != nil || id != 3 {
		t.Errorf("CreateAlertRule = %d, %v; want 3", id, err)
	}
	if id, err := s.CreateCheck(ctx, 1, "{}", "{}", time.Now()); err != nil || id != 6 {
		t.Errorf("CreateCheck = %d, %v; want 6", id, err)
	}
	if id, err := s.AddCheckRun(ctx, checks.RunRecord{Project: 3, Check: 5, At: time.Now(), Run: "{}"}, 10, 10); err != nil || id != 10 {
		t.Errorf("AddCheckRun = %d, %v; want 10", id, err)
	}

	// Again: refused, naming the projects there.
	var ne *NotEmptyError
	if err := s.Import(ctx, importSnapshot()); !errors.As(err, &ne) || ne.Projects != 3 {
		t.Errorf("a second Import = %v; want NotEmptyError of 3 projects", err)
	}

	// A snapshot that fails midway (a key names a key id twice) leaves an
	// empty database, and says why.
	s2 := srv.closeAtEnd(t, srv.open(t, srv.database(t)))
	bad := importSnapshot()
	bad.Keys = append(bad.Keys, bad.Keys[0])
	err = s2.Import(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "api_keys") {
		t.Fatalf("Import of a snapshot with a key twice = %v; want an error naming api_keys", err)
	}
	if ps, err := s2.Projects(ctx); err != nil || len(ps) != 0 {
		t.Errorf("after a failed Import: projects %+v, %v; want none", ps, err)
	}
	if v, _ := s2.Setting(ctx, "initialized"); v != "" {
		t.Errorf("after a failed Import: setting initialized = %q; want none", v)
	}
	if err := s2.Import(ctx, importSnapshot()); err != nil {
		t.Errorf("Import after a failed one = %v", err)
	}
}
