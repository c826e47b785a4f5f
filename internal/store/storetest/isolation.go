package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// stats is what DatasetStats should say of the reference's points.
func (r *reference) stats(project int64, dataset string) meta.DatasetStats {
	var st meta.DatasetStats
	for _, b := range r.batches {
		if b.Project != project {
			continue
		}
		for i := range b.Points {
			p := &b.Points[i]
			if p.Dataset != dataset {
				continue
			}
			if st.Points == 0 || p.Timestamp < st.First {
				st.First = p.Timestamp
			}
			if st.Points == 0 || p.Timestamp > st.Last {
				st.Last = p.Timestamp
			}
			st.Points += int64(p.Weight())
		}
	}
	return st
}

// checkStats compares DatasetStats with the reference's.
func checkStats(t *testing.T, b Backend, ref *reference, project int64, dataset string) {
	t.Helper()
	got, err := b.DatasetStats(context.Background(), project, dataset)
	want := ref.stats(project, dataset)
	if err != nil || got != want {
		t.Errorf("DatasetStats(%d, %q) = %+v, %v; want %+v, nil", project, dataset, got, err, want)
	}
}

// everything is an ungrouped Sub of every aggregation over all time.
func everything(project int64, dataset string) query.Sub {
	return query.Sub{Project: project, Dataset: dataset, From: 0, To: now.UnixMilli() + dayMs, MaxGroups: 100000, Aggs: allAggs()}
}

func datasetNames(ds []meta.Dataset) []string {
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names
}

// testProjectIsolation has two projects write the same dataset name and
// checks that every answer for one is blind to the other's points, and that
// one project's retention leaves the other's points alone.
func testProjectIsolation(t *testing.T, open Opener) {
	ctx := context.Background()
	b := openBackend(t, open, t.TempDir())
	a := createProject(t, b, "alpha")
	bp := createProject(t, b, "beta")
	idle := createProject(t, b, "idle")
	if a == bp || a == idle || bp == idle {
		t.Fatalf("CreateProject gave ids %d, %d, %d; want distinct ids", a, bp, idle)
	}
	ref := &reference{}
	g := newGen(2)
	nowMs := now.UnixMilli()

	// Both write "requests"; beta's latencies are ten times alpha's, and
	// beta uses only two endpoints, so sums, quantiles and uniq differ.
	ptsA := append(g.requests(3000, nowMs-2*dayMs, nowMs), g.requests(400, nowMs-12*dayMs, nowMs-10*dayMs)...)
	ptsB := append(g.requests(2000, nowMs-2*dayMs, nowMs), g.requests(300, nowMs-12*dayMs, nowMs-10*dayMs)...)
	for i := range ptsB {
		ptsB[i].Doubles[0] *= 10
		ptsB[i].Index = endpoints[i%2]
	}
	onlyA := g.requests(50, nowMs-dayMs, nowMs)
	for i := range onlyA {
		onlyA[i].Dataset = "alpha_only"
	}
	appendPoints(t, b, ref,
		store.Batch{Project: a, Points: ptsA[:1000]},
		store.Batch{Project: bp, Points: ptsB},
		store.Batch{Project: a, Points: ptsA[1000:]},
		store.Batch{Project: a, Points: onlyA},
	)

	check := func(t *testing.T) {
		t.Helper()
		for _, p := range []int64{a, bp, idle} {
			for _, ds := range []string{"requests", "alpha_only"} {
				sub := everything(p, ds)
				checkSub(t, b, ref, &sub)
				sub.GroupBy = []point.Field{fIndex}
				sub.Interval = dayMs
				checkSub(t, b, ref, &sub)
				checkStats(t, b, ref, p, ds)
			}
		}
	}
	t.Run("queries", check)

	t.Run("counts by hand", func(t *testing.T) {
		// Independent of the reference: beta sees exactly its own points.
		sub := query.Sub{Project: bp, Dataset: "requests", From: 0, To: nowMs + 1, MaxGroups: 1, Aggs: []query.Agg{
			{Type: query.AggCount}, {Type: query.AggUniq, Field: fIndex},
		}}
		res := execute(t, b, &sub)
		want := []any{float64(len(ptsB)), 2.0}
		if len(res.Rows) != 1 || !slices.Equal(res.Rows[0].Values, want) || res.RowsScanned != int64(len(ptsB)) {
			t.Errorf("Execute(%v) = %+v; want one row of %v and RowsScanned %d", describeSub(&sub), res, want, len(ptsB))
		}
	})

	t.Run("metadata", func(t *testing.T) {
		if got, want := datasetNames(b.Datasets(a)), []string{"alpha_only", "requests"}; !slices.Equal(got, want) {
			t.Errorf("Datasets(%d) = %v; want %v", a, got, want)
		}
		if got, want := datasetNames(b.Datasets(bp)), []string{"requests"}; !slices.Equal(got, want) {
			t.Errorf("Datasets(%d) = %v; want %v", bp, got, want)
		}
		if got := b.Datasets(idle); len(got) != 0 {
			t.Errorf("Datasets(%d) = %v; want none", idle, got)
		}
		if d := b.Dataset(bp, "alpha_only"); d != nil {
			t.Errorf("Dataset(%d, %q) = %+v; want nil", bp, "alpha_only", d)
		}
		// Beta's schema (none, or a built-in one) does not change when
		// alpha sets its own.
		beta := b.Schema(bp, "requests")
		schema := &point.Schema{Index: "route", Blobs: []string{"verb"}, Doubles: []string{"ms"}}
		if err := b.SetSchema(ctx, a, "requests", schema); err != nil {
			t.Fatalf("SetSchema(%d, requests) = %v; want nil", a, err)
		}
		if got := b.Schema(bp, "requests"); !reflect.DeepEqual(got, beta) {
			t.Errorf("Schema(%d, requests) = %+v after setting project %d's; want %+v as before", bp, got, a, beta)
		}
		if got := b.Schema(a, "requests"); !reflect.DeepEqual(got, schema) {
			t.Errorf("Schema(%d, requests) = %+v; want %+v", a, got, schema)
		}
	})

	t.Run("retention of one project", func(t *testing.T) {
		if err := b.SetRetention(ctx, a, "requests", 5*24*time.Hour); err != nil {
			t.Fatalf("SetRetention(%d, requests, 5 days) = %v; want nil", a, err)
		}
		rep, err := b.Expire(ctx, now, 90*24*time.Hour)
		if err != nil {
			t.Fatalf("Expire(now, 90 days) = %v; want nil", err)
		}
		cutoff := nowMs - 5*dayMs
		before := ref.stats(a, "requests").Points
		ref.drop(func(project int64, p *point.Point) bool {
			return project == a && p.Dataset == "requests" && p.Timestamp < cutoff
		})
		deleted := before - ref.stats(a, "requests").Points
		if deleted != 400 {
			t.Fatalf("fixture: %d of alpha's points older than 5 days; want 400", deleted)
		}
		if rep.FilesRemoved != 0 || rep.RowsDeleted != deleted || rep.DatasetsTrimmed != 1 {
			t.Errorf("Expire(now, 90 days) = %+v; want 0 files removed, %d rows deleted from 1 dataset", rep, deleted)
		}
		if d := b.Dataset(bp, "requests"); d == nil || d.Retention != 0 {
			t.Errorf("Dataset(%d, requests) = %+v; want retention 0 (only project %d's was set)", bp, d, a)
		}
		check(t)
	})
}
