//go:build cluster

package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/alidade/alidade/internal/store"
)

// testIdem: the claims of two nodes on one key, at times the test picks
// (Unix ms; no clock is read): one claim at a time, the finished answer
// for every node, a reused key seen as such, a stale claim of a node
// without a log taken over and one of a node with a log never, release,
// settle, expiry.
func (srv *server) testIdem(t *testing.T) {
	ctx := context.Background()
	s := srv.closeAtEnd(t, srv.open(t, srv.database(t)))
	a, b := IdemClaimer{Node: "a"}, IdemClaimer{Node: "b"}
	durable := IdemClaimer{Node: "d", Durable: true}
	const day, stale = 86_400_000, 300_000
	const t0 = int64(1_000_000_000_000)
	claim := func(c IdemClaimer, key, hash string, at int64) (*store.Idem, error) {
		t.Helper()
		return s.IdemClaim(ctx, c, 1, store.Idem{Key: key, Hash: hash, At: at}, at-day, at-stale)
	}
	mustClaim := func(c IdemClaimer, key, hash string, at int64) {
		t.Helper()
		if got, err := claim(c, key, hash, at); got != nil || err != nil {
			t.Fatalf("IdemClaim(%s, %s, %s, %d) = %+v, %v; want the claim", c.Node, key, hash, at, got, err)
		}
	}
	inProgress := func(c IdemClaimer, key, hash string, at int64, node string) {
		t.Helper()
		got, err := claim(c, key, hash, at)
		var ip *IdemInProgressError
		if !errors.As(err, &ip) || !errors.Is(err, store.ErrIdemInProgress) || ip.Node != node {
			t.Fatalf("IdemClaim(%s, %s) at %d = %+v, %v; want in progress on %s", c.Node, key, at, got, err, node)
		}
	}

	mustClaim(a, "k", "h1", t0)
	inProgress(b, "k", "h1", t0+10, "a")
	// Another request with the key while it runs: the claim as it is.
	if got, err := claim(b, "k", "h2", t0+10); err != nil || got == nil || got.Hash != "h1" {
		t.Fatalf("IdemClaim of another request = %+v, %v; want the record of h1", got, err)
	}
	rec := &store.Idem{Key: "k", Hash: "h1", Status: 200, Body: []byte(`{"accepted":1}`), At: t0}
	if err := s.IdemDone(ctx, a, []int64{1}, []*store.Idem{rec}); err != nil {
		t.Fatal(err)
	}
	// Done twice (a load of the write-ahead log again): the same.
	if err := s.IdemDone(ctx, a, []int64{1}, []*store.Idem{rec}); err != nil {
		t.Fatal(err)
	}
	got, err := claim(b, "k", "h1", t0+1000)
	if err != nil || got == nil || got.Status != 200 || string(got.Body) != `{"accepted":1}` || got.At != t0 {
		t.Fatalf("IdemClaim after done = %+v, %v; want the answer of the first write", got, err)
	}
	if f, err := s.IdemFinished(ctx, 1, "k", t0); err != nil || f == nil || f.Hash != "h1" {
		t.Fatalf("IdemFinished = %+v, %v", f, err)
	}
	if f, err := s.IdemFinished(ctx, 1, "k", t0+1); err != nil || f != nil {
		t.Fatalf("IdemFinished received before since = %+v, %v; want none", f, err)
	}
	// Past the window the key is new again.
	mustClaim(b, "k", "h3", t0+day+1)

	// A stale claim of a node without a log is taken over; before, not.
	mustClaim(a, "s", "h", t0)
	inProgress(b, "s", "h", t0+stale-1, "a")
	mustClaim(b, "s", "h", t0+stale+1)
	// Nor is a durable node's, however old: its restart settles it.
	mustClaim(durable, "w", "h", t0)
	inProgress(b, "w", "h", t0+day-1, "d")
	if err := s.IdemRelease(ctx, a, 1, "w"); err != nil {
		t.Fatal(err)
	}
	inProgress(b, "w", "h", t0+10, "d") // another node's release drops nothing
	if n, err := s.IdemSettle(ctx, durable); err != nil || n != 1 {
		t.Fatalf("IdemSettle = %d, %v; want 1", n, err)
	}
	mustClaim(b, "w", "h", t0+20)
	if err := s.IdemRelease(ctx, b, 1, "w"); err != nil {
		t.Fatal(err)
	}
	mustClaim(a, "w", "h", t0+30)
	// Done by a claim since taken over (its received differs): ignored.
	if err := s.IdemDone(ctx, b, []int64{1}, []*store.Idem{{Key: "w", Hash: "h", Status: 200, Body: []byte("old"), At: t0 + 20}}); err != nil {
		t.Fatal(err)
	}
	inProgress(b, "w", "h", t0+40, "a")

	if n, err := s.IdemExpire(ctx, t0+day); err != nil || n != 2 {
		t.Fatalf("IdemExpire = %d, %v; want the 2 records received before", n, err)
	}
}
