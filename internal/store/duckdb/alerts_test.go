package duckdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// Alert rules and their states survive a reopen; updates and deletes are
// scoped to the project.
func TestAlertRulesRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a, err := st.CreateAlertRule(ctx, 1, `{"name":"a"}`, `{"state":"ok"}`, at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateAlertRule(ctx, 2, `{"name":"b"}`, `{"state":"ok"}`, at)
	if err != nil || b != a+1 {
		t.Fatalf("second id %d, %v", b, err)
	}
	if err := st.UpdateAlertRule(ctx, 2, a, `{"name":"x"}`, `{}`, at); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("another project's update: %v", err)
	}
	if err := st.UpdateAlertRule(ctx, 1, a, `{"name":"a2"}`, `{"state":"ok"}`, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAlertState(ctx, a, `{"state":"firing"}`); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAlertRule(ctx, 1, b); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("another project's delete: %v", err)
	}
	st.Close()
	if st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, err := st.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Spec != `{"name":"a2"}` || rs[0].State != `{"state":"firing"}` || !rs[0].Created.Equal(at) ||
		!rs[0].Updated.Equal(at.Add(time.Hour)) || rs[1].Project != 2 {
		t.Fatalf("rules = %+v", rs)
	}
	if err := st.DeleteAlertRule(ctx, 2, b); err != nil {
		t.Fatal(err)
	}
	if rs, _ = st.AlertRules(ctx); len(rs) != 1 {
		t.Fatalf("after delete: %+v", rs)
	}
}
