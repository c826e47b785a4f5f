package duckdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// Checks and their states survive a reopen; changes are scoped to the
// project; a check keeps its newest runs and the reports of its newest
// page runs; runs past the retention go; a deleted check's runs go too.
func TestChecksRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a, err := st.CreateCheck(ctx, 1, `{"name":"a"}`, `{}`, at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateCheck(ctx, 2, `{"name":"b"}`, `{}`, at)
	if err != nil || b != a+1 {
		t.Fatalf("second id %d, %v", b, err)
	}
	if err := st.UpdateCheck(ctx, 2, a, `{"name":"x"}`, `{}`, at); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("another project's update: %v", err)
	}
	if err := st.UpdateCheck(ctx, 1, a, `{"name":"a2"}`, `{}`, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCheckState(ctx, a, `{"status":"up"}`); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCheck(ctx, 1, b); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("another project's delete: %v", err)
	}
	for i := range 5 {
		var rep []byte
		if i >= 2 {
			rep = []byte{byte(i)}
		}
		id, err := st.AddCheckRun(ctx, checks.RunRecord{Project: 1, Check: a, At: at.Add(time.Duration(i) * time.Minute), Run: `{"ok":true}`,
			ReportJSON: rep, ReportHTML: rep}, 3, 2)
		if err != nil || id != int64(i+1) {
			t.Fatalf("run %d: id %d, %v", i, id, err)
		}
	}
	if _, err := st.AddCheckRun(ctx, checks.RunRecord{Project: 2, Check: b, At: at, Run: `{}`}, 3, 2); err != nil {
		t.Fatal(err)
	}
	runs, err := st.CheckRuns(ctx, 1, a, 10)
	if err != nil || len(runs) != 3 || runs[0].ID != 5 || runs[2].ID != 3 || !runs[0].At.Equal(at.Add(4*time.Minute)) {
		t.Fatalf("CheckRuns = %+v, %v; want runs 5, 4, 3", runs, err)
	}
	for run, want := range map[int64]bool{3: false, 4: true, 5: true, 6: false} {
		rep, err := st.CheckReport(ctx, 1, a, run, true)
		if err != nil || (rep != nil) != want {
			t.Errorf("CheckReport(run %d) = %v, %v; want kept %v", run, rep, err, want)
		}
	}
	if runs, _ := st.CheckRuns(ctx, 2, a, 10); len(runs) != 0 {
		t.Errorf("another project reads %d runs", len(runs))
	}
	if n, err := st.PruneCheckRuns(ctx, at.Add(3*time.Minute)); err != nil || n != 2 {
		t.Errorf("PruneCheckRuns = %d, %v; want 2 (run 3 and check b's)", n, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Checks(ctx)
	if err != nil || len(recs) != 2 || recs[0].Spec != `{"name":"a2"}` || recs[0].State != `{"status":"up"}` || !recs[0].Updated.Equal(at.Add(time.Hour)) {
		t.Fatalf("after reopen: %+v, %v", recs, err)
	}
	if err := st.DeleteCheck(ctx, 1, a); err != nil {
		t.Fatal(err)
	}
	if runs, _ := st.CheckRuns(ctx, 1, a, 10); len(runs) != 0 {
		t.Errorf("a deleted check keeps %d runs", len(runs))
	}
}
