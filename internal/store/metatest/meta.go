package metatest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
)

func testSettings(t *testing.T, m Meta) {
	ctx := context.Background()
	get := func(name, want string) {
		t.Helper()
		v, err := m.Setting(ctx, name)
		ok(t, fmt.Sprintf("Setting(%q)", name), err)
		if v != want {
			t.Fatalf("Setting(%q) = %q; want %q", name, v, want)
		}
	}
	get("root_key_hash", "")
	ok(t, "SetSetting", m.SetSetting(ctx, "root_key_hash", "abc"))
	ok(t, "SetSetting", m.SetSetting(ctx, "other", "x y"))
	get("root_key_hash", "abc")
	ok(t, "SetSetting", m.SetSetting(ctx, "root_key_hash", ""))
	get("root_key_hash", "")
	ok(t, "SetSetting", m.SetSetting(ctx, "root_key_hash", "def"))
	get("root_key_hash", "def")
	get("other", "x y")
}

func testProjects(t *testing.T, m Meta) {
	ctx := context.Background()
	ps, err := m.Projects(ctx)
	ok(t, "Projects() of an empty store", err)
	if len(ps) != 0 {
		t.Fatalf("Projects() of an empty store = %v; want none", ps)
	}
	before := time.Now().Add(-time.Second)
	create := func(name string, want int64) {
		t.Helper()
		p, err := m.CreateProject(ctx, name)
		ok(t, fmt.Sprintf("CreateProject(%q)", name), err)
		if p.ID != want || p.Name != name {
			t.Fatalf("CreateProject(%q) = {%d %q}; want {%d %q}", name, p.ID, p.Name, want, name)
		}
		if p.Created.Before(before) || p.Created.After(time.Now().Add(time.Second)) || p.Created.Location() != time.UTC {
			t.Fatalf("CreateProject(%q).Created = %v; want about now, UTC", name, p.Created)
		}
	}
	create("default", 1)
	create("shop", 2)
	_, err = m.CreateProject(ctx, "default")
	is(t, `CreateProject("default") again`, err, meta.ErrExists)
	for _, bad := range []string{"", "with space", "ümlaut"} {
		if _, err := m.CreateProject(ctx, bad); err == nil {
			t.Fatalf("CreateProject(%q) = nil error; want an invalid name", bad)
		}
	}
	// The failures used up no id.
	create("Blog.v2", 3)
	ps, err = m.Projects(ctx)
	ok(t, "Projects()", err)
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d %s", p.ID, p.Name))
		if p.Created.Location() != time.UTC {
			t.Errorf("Projects(): %s created %v; want UTC", p.Name, p.Created)
		}
	}
	if want := []string{"1 default", "2 shop", "3 Blog.v2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Projects() = %q; want %q", got, want)
	}
}

func testKeys(t *testing.T, m Meta) {
	ctx := context.Background()
	created := at(1)
	mk := func(project int64, kind meta.KeyKind, name, public string) *meta.Key {
		k := &meta.Key{ProjectID: project, Kind: kind, Name: name, Prefix: "ak_" + name[:2],
			Hash: []byte("sha256 of " + name + "................"), Created: created, Public: public}
		ok(t, fmt.Sprintf("CreateKey(%s)", name), m.CreateKey(ctx, k))
		return k
	}
	k1 := mk(1, meta.KindWrite, "writer", "")
	k2 := mk(2, meta.KindRead, "reader", "")
	k3 := mk(1, meta.KindPublic, "browser", "pk_secret_in_clear")
	// A secret in clear is kept for public keys only.
	k4 := mk(1, meta.KindAdmin, "admin", "must not be kept")
	if k1.ID != 1 || k2.ID != 2 || k3.ID != 3 || k4.ID != 4 {
		t.Fatalf("CreateKey ids = %d %d %d %d; want 1 2 3 4", k1.ID, k2.ID, k3.ID, k4.ID)
	}
	// A key without a time gets now.
	k5 := &meta.Key{ProjectID: 3, Kind: meta.KindRead, Name: "now", Prefix: "ak_no", Hash: []byte("h5")}
	ok(t, "CreateKey(no time)", m.CreateKey(ctx, k5))
	if k5.ID != 5 || time.Since(k5.Created) > time.Minute || k5.Created.Location() != time.UTC {
		t.Fatalf("CreateKey(no time) = id %d created %v; want 5, now in UTC", k5.ID, k5.Created)
	}

	keys := func(project int64, want ...*meta.Key) {
		t.Helper()
		got, err := m.Keys(ctx, project)
		ok(t, fmt.Sprintf("Keys(%d)", project), err)
		if len(got) != len(want) {
			t.Fatalf("Keys(%d) = %d keys %v; want %d", project, len(got), got, len(want))
		}
		for i, w := range want {
			g := got[i]
			wantPublic := ""
			if w.Kind == meta.KindPublic {
				wantPublic = w.Public
			}
			if g.ID != w.ID || g.ProjectID != w.ProjectID || g.Kind != w.Kind || g.Name != w.Name || g.Prefix != w.Prefix ||
				string(g.Hash) != string(w.Hash) || g.Public != wantPublic {
				t.Errorf("Keys(%d)[%d] = %+v; want %+v with Public %q", project, i, g, *w, wantPublic)
			}
			sameTime(t, fmt.Sprintf("Keys(%d)[%d].Created", project, i), g.Created, w.Created)
		}
	}
	keys(1, k1, k3, k4)
	keys(2, k2)
	keys(0, k1, k2, k3, k4, k5)
	keys(9)

	// Revoking: only a live key, only through its project.
	is(t, "RevokeKey(2, 1) (another project's key)", m.RevokeKey(ctx, 2, k1.ID), meta.ErrNotFound)
	is(t, "RevokeKey(1, 99)", m.RevokeKey(ctx, 1, 99), meta.ErrNotFound)
	ok(t, "RevokeKey(1, 1)", m.RevokeKey(ctx, 1, k1.ID))
	is(t, "RevokeKey(1, 1) again", m.RevokeKey(ctx, 1, k1.ID), meta.ErrNotFound)
	keys(1, k3, k4)
	keys(0, k2, k3, k4, k5)
	// Revoked ids are not given again.
	k6 := mk(1, meta.KindWrite, "writer2", "")
	if k6.ID != 6 {
		t.Fatalf("CreateKey after a revocation: id %d; want 6", k6.ID)
	}
}

func testDatasets(t *testing.T, m Meta) {
	ctx := context.Background()
	if d := m.Dataset(1, "orders"); d != nil {
		t.Fatalf("Dataset(1, orders) of an empty store = %+v; want nil", d)
	}
	if s := m.Schema(1, "orders"); s != nil {
		t.Fatalf("Schema(1, orders) of an empty store = %+v; want nil", s)
	}
	// A built-in dataset has its schema before its first write, and no record.
	if s := m.Schema(1, "requests"); !reflect.DeepEqual(s, point.Builtin("requests")) {
		t.Fatalf("Schema(1, requests) = %+v; want the built-in %+v", s, point.Builtin("requests"))
	}
	if d := m.Dataset(1, "requests"); d != nil {
		t.Fatalf("Dataset(1, requests) before a write = %+v; want nil", d)
	}
	if ds := m.AllDatasets(); len(ds) != 0 {
		t.Fatalf("AllDatasets() of an empty store = %+v; want none", ds)
	}

	before := time.Now().Add(-time.Second)
	ok(t, "EnsureDataset(1, orders)", m.EnsureDataset(ctx, 1, "orders"))
	d := m.Dataset(1, "orders")
	if d == nil || d.ProjectID != 1 || d.Name != "orders" || d.Schema != nil || d.Retention != 0 || d.Sampling != 0 {
		t.Fatalf("Dataset(1, orders) after EnsureDataset = %+v; want a bare record", d)
	}
	if d.Created.Before(before) || d.Created.After(time.Now().Add(time.Second)) || d.Created.Location() != time.UTC {
		t.Fatalf("Dataset(1, orders).Created = %v; want about now, UTC", d.Created)
	}
	// Idempotent: the record (its creation time) stays.
	ok(t, "EnsureDataset(1, orders) again", m.EnsureDataset(ctx, 1, "orders"))
	if d2 := m.Dataset(1, "orders"); d2 == nil || !d2.Created.Equal(d.Created) {
		t.Fatalf("Dataset(1, orders) after a second EnsureDataset = %+v; want created %v", d2, d.Created)
	}
	for _, bad := range []string{"", "Orders", "with space", "a-b"} {
		if err := m.EnsureDataset(ctx, 1, bad); err == nil {
			t.Errorf("EnsureDataset(1, %q) = nil error; want an invalid name", bad)
		}
		if m.Dataset(1, bad) != nil {
			t.Errorf("Dataset(1, %q) after a refused EnsureDataset is not nil", bad)
		}
	}
	ok(t, "EnsureDataset(1, requests)", m.EnsureDataset(ctx, 1, "requests"))
	ok(t, "EnsureDataset(2, orders)", m.EnsureDataset(ctx, 2, "orders"))
	ok(t, "EnsureDataset(1, aaa)", m.EnsureDataset(ctx, 1, "aaa"))

	names := func(ds []meta.Dataset) []string {
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%d %s", d.ProjectID, d.Name))
		}
		return out
	}
	if got, want := names(m.Datasets(1)), []string{"1 aaa", "1 orders", "1 requests"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Datasets(1) = %q; want %q", got, want)
	}
	if got, want := names(m.Datasets(2)), []string{"2 orders"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Datasets(2) = %q; want %q", got, want)
	}
	if got := m.Datasets(3); len(got) != 0 {
		t.Fatalf("Datasets(3) = %+v; want none", got)
	}
	all := m.AllDatasets()
	if got, want := names(all), []string{"1 aaa", "1 orders", "1 requests", "2 orders"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AllDatasets() = %q; want %q", got, want)
	}
	// A built-in dataset's record carries its schema.
	if d := m.Dataset(1, "requests"); d == nil || !reflect.DeepEqual(d.Schema, point.Builtin("requests")) {
		t.Fatalf("Dataset(1, requests) = %+v; want the built-in schema", d)
	}
	for _, ds := range [][]meta.Dataset{m.Datasets(1), all} {
		for _, d := range ds {
			if want := point.Builtin(d.Name); !reflect.DeepEqual(d.Schema, want) {
				t.Errorf("dataset %d %s: schema %+v; want %+v", d.ProjectID, d.Name, d.Schema, want)
			}
		}
	}
}

func testDatasetSettings(t *testing.T, m Meta) {
	ctx := context.Background()
	schema := &point.Schema{Index: "customer", Blobs: []string{"path", "method"}, Doubles: []string{"amount"},
		Rollup: &point.RollupSchema{Dimensions: []string{"method"}, Distributions: []string{"amount"}}}
	// The setters create the dataset.
	ok(t, "SetSchema(1, orders)", m.SetSchema(ctx, 1, "orders", schema))
	if got := m.Schema(1, "orders"); !reflect.DeepEqual(got, schema) {
		t.Fatalf("Schema(1, orders) = %+v; want %+v", got, schema)
	}
	if m.Schema(2, "orders") != nil {
		t.Fatal("Schema(2, orders) is set; the schema is project 1's")
	}
	ok(t, "SetRetention(1, orders)", m.SetRetention(ctx, 1, "orders", 48*time.Hour))
	ok(t, "SetSampling(1, orders)", m.SetSampling(ctx, 1, "orders", 2.5))
	d := m.Dataset(1, "orders")
	if d == nil || !reflect.DeepEqual(d.Schema, schema) || d.Retention != 48*time.Hour || d.Sampling != 2.5 {
		t.Fatalf("Dataset(1, orders) = %+v; want the schema, 48h and 2.5", d)
	}
	if got := m.Sampling(1, "orders"); got != 2.5 {
		t.Fatalf("Sampling(1, orders) = %v; want 2.5", got)
	}
	if got := m.Sampling(1, "nothing"); got != 0 {
		t.Fatalf("Sampling(1, nothing) = %v; want 0", got)
	}
	// Each setter leaves the others' settings.
	schema2 := &point.Schema{Index: "user", Blobs: []string{"page"}}
	ok(t, "SetSchema(1, orders) again", m.SetSchema(ctx, 1, "orders", schema2))
	ok(t, "SetSampling(1, orders, 0)", m.SetSampling(ctx, 1, "orders", 0))
	d = m.Dataset(1, "orders")
	if d == nil || !reflect.DeepEqual(d.Schema, schema2) || d.Retention != 48*time.Hour || d.Sampling != 0 {
		t.Fatalf("Dataset(1, orders) = %+v; want schema2, 48h and 0", d)
	}

	ok(t, "SetRetention(1, logs)", m.SetRetention(ctx, 1, "logs", time.Hour))
	ok(t, "SetSampling(2, pings)", m.SetSampling(ctx, 2, "pings", 10))
	if d := m.Dataset(1, "logs"); d == nil || d.Retention != time.Hour || !reflect.DeepEqual(d.Schema, point.Builtin("logs")) {
		t.Fatalf("Dataset(1, logs) = %+v; want 1h and the built-in schema", d)
	}
	if d := m.Dataset(2, "pings"); d == nil || d.Sampling != 10 || d.Schema != nil {
		t.Fatalf("Dataset(2, pings) = %+v; want sampling 10, no schema", d)
	}

	// Refused: nothing changes.
	if err := m.SetSchema(ctx, 1, "orders", &point.Schema{Blobs: []string{"Bad Name"}}); err == nil {
		t.Fatal("SetSchema with a bad field name = nil error")
	}
	if err := m.SetSampling(ctx, 1, "orders", -1); err == nil {
		t.Fatal("SetSampling(-1) = nil error")
	}
	if err := m.SetRetention(ctx, 1, "Bad Name", time.Hour); err == nil {
		t.Fatal(`SetRetention(1, "Bad Name") = nil error`)
	}
	if d := m.Dataset(1, "orders"); d == nil || !reflect.DeepEqual(d.Schema, schema2) || d.Sampling != 0 {
		t.Fatalf("Dataset(1, orders) after refused changes = %+v; want it unchanged", d)
	}
	var got []string
	for _, d := range m.AllDatasets() {
		got = append(got, fmt.Sprintf("%d %s %v %v", d.ProjectID, d.Name, d.Retention, d.Sampling))
	}
	if want := []string{"1 logs 1h0m0s 0", "1 orders 48h0m0s 0", "2 pings 0s 10"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AllDatasets() = %q; want %q", got, want)
	}
}
