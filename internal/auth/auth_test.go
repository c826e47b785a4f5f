package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/meta"
)

// keyLister is a test double.
type keyLister struct {
	keys func(ctx context.Context, project int64) ([]meta.Key, error)
}

func (k keyLister) Keys(ctx context.Context, project int64) ([]meta.Key, error) {
	return k.keys(ctx, project)
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		secret, prefix, hash := NewSecret("write")
		if !strings.HasPrefix(secret, "ald_write_") || len(secret) != len("ald_write_")+32 {
			t.Fatalf("NewSecret(write) = %q; want ald_write_ and 32 characters", secret)
		}
		if !strings.HasPrefix(secret, strings.TrimSuffix(prefix, "…")) || strings.Contains(prefix, secret[14:]) {
			t.Fatalf("Prefix = %q shows too much or not the start of %q", prefix, secret)
		}
		if string(hash) != string(Hash(secret)) || len(hash) != 32 {
			t.Fatalf("hash of %q is not its SHA-256", secret)
		}
		if seen[secret] {
			t.Fatalf("NewSecret repeated %q", secret)
		}
		seen[secret] = true
	}
}

func TestAuthenticate(t *testing.T) {
	w, _, wh := NewSecret("write")
	r, _, rh := NewSecret("read")
	root := "root-secret-0123456789"
	lister := keyLister{func(ctx context.Context, project int64) ([]meta.Key, error) {
		if project != 0 {
			t.Fatalf("Keys(%d); want 0 (all projects)", project)
		}
		return []meta.Key{
			{ID: 1, ProjectID: 7, Kind: meta.KindWrite, Hash: wh},
			{ID: 2, ProjectID: 8, Kind: meta.KindRead, Hash: rh},
		}, nil
	}}
	a, err := New(context.Background(), lister, Hash(root))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		secret string
		want   Principal
		err    error
	}{
		{w, Principal{Project: 7, Kind: meta.KindWrite, KeyID: 1}, nil},
		{r, Principal{Project: 8, Kind: meta.KindRead, KeyID: 2}, nil},
		{root, Principal{Root: true}, nil},
		{"", Principal{}, ErrNoKey},
		{"ald_write_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Principal{}, ErrUnknownKey},
		{w + "x", Principal{}, ErrUnknownKey},
	}
	for _, c := range cases {
		got, err := a.Authenticate(c.secret)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("Authenticate(%.14q) = %+v, %v; want %+v, %v", c.secret, got, err, c.want, c.err)
		}
	}
	if p, ok := a.Key(1); !ok || p != (Principal{Project: 7, Kind: meta.KindWrite, KeyID: 1}) {
		t.Errorf("Key(1) = %+v, %v; want the write key of project 7", p, ok)
	}
	a.Revoke(1)
	if _, err := a.Authenticate(w); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Authenticate(revoked) = %v; want ErrUnknownKey", err)
	}
	if p, ok := a.Key(1); ok {
		t.Errorf("Key(revoked) = %+v, true; want false", p)
	}
	if _, ok := a.Key(2); !ok {
		t.Errorf("Key(2) = false after another key's revocation")
	}
	if p, err := a.Authenticate(r); err != nil || p.KeyID != 2 {
		t.Errorf("Authenticate(other key after a revoke) = %+v, %v", p, err)
	}
	// The root tag names the root key without showing it or its hash.
	tag := a.RootTag()
	other, _ := New(context.Background(), keyLister{func(context.Context, int64) ([]meta.Key, error) { return nil, nil }}, Hash(root+"2"))
	if len(tag) != 32 || strings.Contains(tag, root) || strings.Contains(fmt.Sprintf("%x", Hash(root)), tag) || other.RootTag() == tag {
		t.Errorf("RootTag = %q (another root key's %q); want 32 hex digits, neither the key nor its hash, one per key", tag, other.RootTag())
	}
	// No root hash: the root key means nothing.
	b, _ := New(context.Background(), keyLister{func(context.Context, int64) ([]meta.Key, error) { return nil, nil }}, nil)
	if _, err := b.Authenticate(root); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Authenticate(root) without a root hash = %v; want ErrUnknownKey", err)
	}
	if b.RootTag() != "" {
		t.Errorf("RootTag without a root key = %q; want \"\"", b.RootTag())
	}
}

func TestAllow(t *testing.T) {
	read := Principal{Project: 1, Kind: meta.KindRead}
	if err := read.Allow(meta.KindRead, meta.KindAdmin); err != nil {
		t.Errorf("read.Allow(read, admin) = %v", err)
	}
	if err := read.Allow(meta.KindWrite); !errors.Is(err, ErrWrongKind) || !strings.Contains(err.Error(), "write") {
		t.Errorf("read.Allow(write) = %v; want ErrWrongKind naming write", err)
	}
	root := Principal{Root: true}
	if err := root.Allow(meta.KindRead); !errors.Is(err, ErrWrongKind) {
		t.Errorf("root.Allow(read) = %v; want ErrWrongKind", err)
	}
	if err := root.AllowRoot(); err != nil {
		t.Errorf("root.AllowRoot() = %v", err)
	}
	if err := read.AllowRoot(); !errors.Is(err, ErrRootRequired) {
		t.Errorf("read.AllowRoot() = %v; want ErrRootRequired", err)
	}
}

func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":   "abc",
		"bearer  abc ": "abc",
		"BEARER abc":   "abc",
		"Basic abc":    "",
		"Bearer":       "",
		"":             "",
	} {
		if got := BearerToken(in); got != want {
			t.Errorf("BearerToken(%q) = %q; want %q", in, got, want)
		}
	}
}
