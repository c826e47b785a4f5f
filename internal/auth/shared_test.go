package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// fakeShared is a shared metadata store's keys (a unit test's stand-in;
// the cluster tests run PostgreSQL).
type fakeShared struct {
	keys    []meta.Key
	lookups int
	down    bool
}

func (f *fakeShared) Key(_ context.Context, hash []byte) (*meta.Key, error) {
	f.lookups++
	if f.down {
		return nil, fmt.Errorf("dial: %w", meta.ErrUnavailable)
	}
	for _, k := range f.keys {
		if string(k.Hash) == string(hash) {
			return &k, nil
		}
	}
	return nil, meta.ErrNotFound
}

func (f *fakeShared) Keys(_ context.Context, project int64) ([]meta.Key, error) {
	var out []meta.Key
	for _, k := range f.keys {
		if project == 0 || k.ProjectID == project {
			out = append(out, k)
		}
	}
	return out, nil
}

func TestSharedLookupOnMiss(t *testing.T) {
	ctx := context.Background()
	f := &fakeShared{}
	a, err := New(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Share(f)
	now := time.Date(2026, 12, 6, 23, 59, 59, 500e6, time.UTC)
	a.shared.now = func() time.Time { return now }

	secret, prefix, hash := NewSecret("write")
	if _, err := a.Authenticate(secret); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown secret: %v; want ErrUnknownKey", err)
	}
	// Another node creates the key: within missTTL the miss is remembered…
	f.keys = append(f.keys, meta.Key{ID: 7, ProjectID: 3, Kind: meta.KindWrite, Prefix: prefix, Hash: hash})
	if _, err := a.Authenticate(secret); !errors.Is(err, ErrUnknownKey) || f.lookups != 1 {
		t.Fatalf("within the miss TTL: %v after %d lookups; want ErrUnknownKey after 1", err, f.lookups)
	}
	// …its notification clears the miss at once (across the day's end).
	now = now.Add(time.Millisecond)
	if err := a.Apply(ctx, f, meta.Change{Kind: meta.ChangeKeyCreated, Project: 3, ID: 7}); err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(secret)
	if err != nil || p.Project != 3 || p.KeyID != 7 || p.Kind != meta.KindWrite {
		t.Fatalf("after the notification: %+v, %v", p, err)
	}
	// A key the notification has not reached yet is found by lookup.
	s2, pre2, h2 := NewSecret("read")
	f.keys = append(f.keys, meta.Key{ID: 8, ProjectID: 3, Kind: meta.KindRead, Prefix: pre2, Hash: h2})
	if p, err := a.Authenticate(s2); err != nil || p.KeyID != 8 {
		t.Fatalf("lookup on miss: %+v, %v", p, err)
	}
	n := f.lookups
	if _, err := a.Authenticate(s2); err != nil || f.lookups != n {
		t.Fatalf("a found key is kept: %v, %d lookups; want %d", err, f.lookups, n)
	}
	// Revoked on another node: refused at once, also by id.
	if err := a.Apply(ctx, f, meta.Change{Kind: meta.ChangeKeyRevoked, Project: 3, ID: 8}); err != nil {
		t.Fatal(err)
	}
	f.keys = f.keys[:1]
	if _, err := a.Authenticate(s2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("revoked key: %v", err)
	}
	if _, ok := a.Key(8); ok {
		t.Fatal("Key(8) after revocation")
	}
	// The miss expires after missTTL exactly.
	bad := "ald_write_nope"
	a.Authenticate(bad)
	n = f.lookups
	now = now.Add(missTTL - time.Nanosecond)
	a.Authenticate(bad)
	if f.lookups != n {
		t.Fatalf("asked again before missTTL")
	}
	now = now.Add(time.Nanosecond)
	a.Authenticate(bad)
	if f.lookups != n+1 {
		t.Fatalf("not asked again at missTTL")
	}
	// The store down: the error says so (503), and nothing is cached.
	f.down = true
	s3, _, _ := NewSecret("write")
	if _, err := a.Authenticate(s3); !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("store down: %v; want meta.ErrUnavailable", err)
	}
	f.down = false
	// A resync replaces the table: what was revoked meanwhile is gone.
	f.keys = nil
	if err := a.Apply(ctx, f, meta.Change{Kind: meta.ChangeResync}); err != nil {
		t.Fatal(err)
	}
	a.shared.finder = &fakeShared{} // no lookup may find it back
	if _, err := a.Authenticate(secret); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after a resync without the key: %v", err)
	}
}
