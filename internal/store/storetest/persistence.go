package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// testPersistence writes points and metadata, closes the backend and opens it
// again over the same directory: everything is still there, and the reopened
// backend takes new writes.
func testPersistence(t *testing.T, open Opener) {
	ctx := context.Background()
	dir := t.TempDir()
	b := openBackend(t, open, dir)
	p1 := createProject(t, b, "first")
	p2 := createProject(t, b, "second.project")
	if _, err := b.CreateProject(ctx, "first"); !errors.Is(err, meta.ErrExists) {
		t.Errorf("CreateProject(%q) again = %v; want an error wrapping meta.ErrExists", "first", err)
	}

	keys := []*meta.Key{
		{ProjectID: p1, Kind: meta.KindWrite, Name: "ingest", Prefix: "ak_w1", Hash: bytes.Repeat([]byte{0xa1}, 32)},
		{ProjectID: p1, Kind: meta.KindRead, Name: "dashboards", Prefix: "ak_r1", Hash: bytes.Repeat([]byte{0x00, 0xff}, 16)},
		{ProjectID: p2, Kind: meta.KindAdmin, Name: "ops", Prefix: "ak_a2", Hash: []byte("0123456789abcdef0123456789abcdef")},
		{ProjectID: p2, Kind: meta.KindPublic, Name: "browser", Prefix: "ak_p2", Hash: bytes.Repeat([]byte{0x5c}, 32)},
	}
	for _, k := range keys {
		if err := b.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey(%+v) = %v; want nil", k, err)
		}
		if k.ID == 0 || k.Created.IsZero() {
			t.Fatalf("CreateKey(%q) left ID %d, Created %v; want both set", k.Name, k.ID, k.Created)
		}
	}
	revoked := keys[1]
	if err := b.RevokeKey(ctx, p1, revoked.ID); err != nil {
		t.Fatalf("RevokeKey(%d, %d) = %v; want nil", p1, revoked.ID, err)
	}
	if err := b.RevokeKey(ctx, p2, keys[0].ID); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("RevokeKey(%d, %d) of another project's key = %v; want an error wrapping meta.ErrNotFound", p2, keys[0].ID, err)
	}

	schema := &point.Schema{Index: "endpoint", Blobs: []string{"method", "", "country"}, Doubles: []string{"latency_ms"}}
	if err := b.SetSchema(ctx, p2, "audit", schema); err != nil {
		t.Fatalf("SetSchema(%d, audit) = %v; want nil", p2, err)
	}
	if err := b.SetRetention(ctx, p1, "requests", 30*24*time.Hour); err != nil {
		t.Fatalf("SetRetention(%d, requests) = %v; want nil", p1, err)
	}
	if err := b.SetRetention(ctx, p2, "audit", 400*24*time.Hour); err != nil {
		t.Fatalf("SetRetention(%d, audit) = %v; want nil", p2, err)
	}
	if err := b.EnsureDataset(ctx, p2, "empty_one"); err != nil {
		t.Fatalf("EnsureDataset(%d, empty_one) = %v; want nil", p2, err)
	}

	ref := &reference{}
	g := newGen(6)
	nowMs := now.UnixMilli()
	audit := g.requests(100, nowMs-3*dayMs, nowMs)
	for i := range audit {
		audit[i].Dataset = "audit"
		audit[i].SampleInterval = 3
	}
	appendPoints(t, b, ref,
		store.Batch{Project: p1, Points: g.requests(1500, nowMs-3*dayMs, nowMs)},
		store.Batch{Project: p2, Points: audit},
	)

	projects, err := b.Projects(ctx)
	if err != nil {
		t.Fatalf("Projects() = %v; want nil error", err)
	}
	liveKeys, err := b.Keys(ctx, 0)
	if err != nil {
		t.Fatalf("Keys(0) = %v; want nil error", err)
	}
	if len(liveKeys) != 3 || slices.ContainsFunc(liveKeys, func(k meta.Key) bool { return k.ID == revoked.ID }) {
		t.Errorf("Keys(0) = %+v; want the 3 keys not revoked", liveKeys)
	}
	datasets := map[int64][]meta.Dataset{p1: b.Datasets(p1), p2: b.Datasets(p2)}

	subs := []query.Sub{everything(p1, "requests"), everything(p2, "audit"), everything(p2, "empty_one")}
	subs[0].GroupBy = []point.Field{fIndex}
	subs[0].Interval = dayMs
	for i := range subs {
		checkSub(t, b, ref, &subs[i])
	}

	closeBackend(t, b)
	b = openBackend(t, open, dir)

	t.Run("projects", func(t *testing.T) {
		got, err := b.Projects(ctx)
		if err != nil || !reflect.DeepEqual(got, projects) {
			t.Errorf("Projects() after reopening = %+v, %v; want %+v, nil", got, err, projects)
		}
		if _, err := b.CreateProject(ctx, "second.project"); !errors.Is(err, meta.ErrExists) {
			t.Errorf("CreateProject(%q) after reopening = %v; want an error wrapping meta.ErrExists", "second.project", err)
		}
		p3 := createProject(t, b, "third")
		if p3 == p1 || p3 == p2 {
			t.Errorf("CreateProject(%q) after reopening = id %d; want an id other than %d and %d", "third", p3, p1, p2)
		}
	})

	t.Run("keys", func(t *testing.T) {
		got, err := b.Keys(ctx, 0)
		if err != nil || !reflect.DeepEqual(got, liveKeys) {
			t.Errorf("Keys(0) after reopening = %+v, %v; want %+v, nil", got, err, liveKeys)
		}
		for _, k := range keys {
			if k == revoked {
				continue
			}
			i := slices.IndexFunc(got, func(g meta.Key) bool { return g.ID == k.ID })
			if i < 0 {
				t.Errorf("Keys(0) after reopening lacks key %d (%s)", k.ID, k.Name)
				continue
			}
			g := got[i]
			if !bytes.Equal(g.Hash, k.Hash) || g.Kind != k.Kind || g.ProjectID != k.ProjectID || g.Name != k.Name || g.Prefix != k.Prefix || !g.Created.Equal(k.Created) {
				t.Errorf("Keys(0)[%d] after reopening = %+v; want %+v", i, g, *k)
			}
		}
		mine, err := b.Keys(ctx, p2)
		if err != nil || len(mine) != 2 || mine[0].ProjectID != p2 || mine[1].ProjectID != p2 {
			t.Errorf("Keys(%d) after reopening = %+v, %v; want project %d's 2 keys", p2, mine, err, p2)
		}
		// Revoked stays revoked.
		if err := b.RevokeKey(ctx, p1, revoked.ID); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("RevokeKey(%d, %d) of a revoked key after reopening = %v; want an error wrapping meta.ErrNotFound", p1, revoked.ID, err)
		}
		k := &meta.Key{ProjectID: p1, Kind: meta.KindRead, Name: "new", Prefix: "ak_n", Hash: bytes.Repeat([]byte{7}, 32)}
		if err := b.CreateKey(ctx, k); err != nil || slices.ContainsFunc(keys, func(o *meta.Key) bool { return o.ID == k.ID }) {
			t.Errorf("CreateKey after reopening = %v, id %d; want nil and a fresh id", err, k.ID)
		}
	})

	t.Run("datasets", func(t *testing.T) {
		for p, want := range datasets {
			if got := b.Datasets(p); !reflect.DeepEqual(got, want) {
				t.Errorf("Datasets(%d) after reopening = %+v; want %+v", p, got, want)
			}
		}
		if got := b.Schema(p2, "audit"); !reflect.DeepEqual(got, schema) {
			t.Errorf("Schema(%d, audit) after reopening = %+v; want %+v", p2, got, schema)
		}
		for _, c := range []struct {
			project int64
			name    string
			want    time.Duration
		}{{p1, "requests", 30 * 24 * time.Hour}, {p2, "audit", 400 * 24 * time.Hour}, {p2, "empty_one", 0}} {
			if d := b.Dataset(c.project, c.name); d == nil || d.Retention != c.want {
				t.Errorf("Dataset(%d, %q) after reopening = %+v; want retention %v", c.project, c.name, d, c.want)
			}
		}
	})

	t.Run("points", func(t *testing.T) {
		for i := range subs {
			checkSub(t, b, ref, &subs[i])
		}
		checkStats(t, b, ref, p1, "requests")
		checkStats(t, b, ref, p2, "audit")
		// The reopened backend takes writes, on old days and new.
		appendPoints(t, b, ref, store.Batch{Project: p1, Points: g.requests(500, nowMs-4*dayMs, nowMs)})
		for i := range subs {
			checkSub(t, b, ref, &subs[i])
		}
		checkStats(t, b, ref, p1, "requests")
	})
}
