package duckdb_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// Dashboard sessions survive a reopen with every field; a touch moves the
// last use; deletes take any number of hashes.
func TestSessionsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	var all []session.Session
	for i := 0; i < 1200; i++ {
		s := session.Session{Hash: sha256.Sum256([]byte(fmt.Sprint(i))), KeyID: int64(i + 1), Project: 1, Kind: meta.KindRead,
			CSRF: fmt.Sprintf("token-%d", i), Created: t0, LastSeen: t0}
		if i == 0 {
			s = session.Session{Hash: s.Hash, Root: true, RootTag: "abc", CSRF: "root-token", Created: t0, LastSeen: t0}
		}
		if err := st.PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	if err := st.TouchSession(ctx, all[1].Hash, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	hs := make([]session.Hash, 0, 1197)
	for _, s := range all[3:] {
		hs = append(hs, s.Hash)
	}
	if err := st.DeleteSessions(ctx, hs...); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].KeyID < got[j].KeyID })
	all[1].LastSeen = t0.Add(time.Hour)
	if len(got) != 3 {
		t.Fatalf("Sessions = %d; want 3", len(got))
	}
	for i, want := range all[:3] {
		g := got[i]
		if g.Hash != want.Hash || g.KeyID != want.KeyID || g.Root != want.Root || g.RootTag != want.RootTag || g.Project != want.Project ||
			g.Kind != want.Kind || g.CSRF != want.CSRF || !g.Created.Equal(want.Created) || !g.LastSeen.Equal(want.LastSeen) {
			t.Errorf("session %d = %+v; want %+v", i, g, want)
		}
	}
}
