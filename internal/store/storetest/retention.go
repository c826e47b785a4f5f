package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

const days = 24 * time.Hour

// expire runs a retention pass and mirrors it in ref: a point is gone when
// it is older than its dataset's retention (retention[project/dataset] when
// set, else the default).
func expire(t *testing.T, b Backend, ref *reference, at time.Time, def time.Duration, retention map[int64]map[string]time.Duration) store.ExpireReport {
	t.Helper()
	rep, err := b.Expire(context.Background(), at, def)
	if err != nil {
		t.Fatalf("Expire(%v, %v) = %v; want nil error", at, def, err)
	}
	ref.drop(func(project int64, p *point.Point) bool {
		ret := def
		if r, ok := retention[project][p.Dataset]; ok && r > 0 {
			ret = r
		}
		return p.Timestamp < at.Add(-ret).UnixMilli()
	})
	return rep
}

// testRetention checks that expiring old points removes them from queries
// and stats, frees their disk, and honours per-dataset retention.
func testRetention(t *testing.T, open Opener) {
	t.Run("default retention frees disk", func(t *testing.T) { testRetentionDisk(t, open) })
	t.Run("shorter dataset retention", func(t *testing.T) { testRetentionShorter(t, open) })
	t.Run("longer dataset retention", func(t *testing.T) { testRetentionLonger(t, open) })
}

func testRetentionDisk(t *testing.T, open Opener) {
	dir := t.TempDir()
	b := openBackend(t, open, dir)
	reopen := func() {
		t.Helper()
		closeBackend(t, b)
		b = openBackend(t, open, dir)
	}
	project := createProject(t, b, "retained")
	ref := &reference{}
	g := newGen(7)
	nowMs := now.UnixMilli()
	oldDay := (nowMs - 100*dayMs) / dayMs * dayMs
	oldSub := query.Sub{Project: project, Dataset: "requests", From: oldDay, To: oldDay + dayMs, MaxGroups: 1, Aggs: []query.Agg{{Type: query.AggCount}}}
	checkToday := func(t *testing.T) {
		t.Helper()
		// The old day answers nothing; today is intact.
		if res := execute(t, b, &oldSub); len(res.Rows) != 1 || res.Rows[0].Values[0] != 0.0 || res.RowsScanned != 0 {
			t.Errorf("Execute(%v) after Expire = %+v; want one row of count 0", describeSub(&oldSub), res)
		}
		all := everything(project, "requests")
		checkSub(t, b, ref, &all)
		all.GroupBy = []point.Field{fIndex}
		all.Interval = hourMs
		checkSub(t, b, ref, &all)
		checkStats(t, b, ref, project, "requests")
		if st := ref.stats(project, "requests"); st.Points != 2000 {
			t.Fatalf("reference: %d points after Expire; want today's 2000", st.Points)
		}
	}
	// writeOld writes 200k points on one day 100 days ago (Append takes any
	// timestamp: the server enforces the window).
	writeOld := func() {
		t.Helper()
		old := g.requests(200_000, oldDay+hourMs, oldDay+23*hourMs)
		for i := 0; i < len(old); i += 50_000 {
			appendPoints(t, b, ref, store.Batch{Project: project, Points: old[i : i+50_000]})
		}
		checkStats(t, b, ref, project, "requests")
	}
	// expireOld expires the old day and checks the disk it gave back.
	expireOld := func(t *testing.T, sizeWithout, sizeWith int64) {
		t.Helper()
		oldBytes := sizeWith - sizeWithout
		if oldBytes <= 0 {
			t.Fatalf("SizeBytes() = %d with 200k old points, %d without; want it larger", sizeWith, sizeWithout)
		}
		rep := expire(t, b, ref, now, 90*days, nil)
		sizeAfter := b.SizeBytes()
		t.Logf("SizeBytes: %d without the old points, %d with them, %d after Expire; Expire = %+v", sizeWithout, sizeWith, sizeAfter, rep)
		if rep.FilesRemoved < 1 || rep.BytesFreed <= 0 {
			t.Errorf("Expire(now, 90 days) = %+v; want at least one file removed and BytesFreed > 0", rep)
		}
		freed := sizeWith - sizeAfter
		if freed < oldBytes/2 {
			t.Errorf("SizeBytes() = %d after Expire, %d before; want at least %d bytes freed (half of the %d the old points took)", sizeAfter, sizeWith, oldBytes/2, oldBytes)
		}
		// BytesFreed tells the disk the pass gave back: about the drop in
		// SizeBytes, and no more than there was.
		if rep.BytesFreed < freed/2 || rep.BytesFreed > sizeWith {
			t.Errorf("Expire(now, 90 days).BytesFreed = %d; want about the %d bytes SizeBytes dropped by (at least %d, at most %d)", rep.BytesFreed, freed, freed/2, sizeWith)
		}
		checkToday(t)
		// A second pass has nothing to do.
		if rep := expire(t, b, ref, now, 90*days, nil); rep != (store.ExpireReport{}) {
			t.Errorf("Expire(now, 90 days) again = %+v; want nothing removed", rep)
		}
	}

	appendPoints(t, b, ref, store.Batch{Project: project, Points: g.requests(2000, nowMs-2*hourMs, nowMs)})
	t.Run("as written", func(t *testing.T) {
		// Old points fresh from Append, as a running server expires them.
		sizeWithout := b.SizeBytes()
		writeOld()
		expireOld(t, sizeWithout, b.SizeBytes())
	})
	t.Run("at rest", func(t *testing.T) {
		// Old points as a reopened backend holds them, compacted.
		reopen()
		sizeWithout := b.SizeBytes()
		writeOld()
		reopen()
		expireOld(t, sizeWithout, b.SizeBytes())
		// What was expired stays expired.
		reopen()
		checkToday(t)
	})
}

// retentionFixture writes 40 points at each of 1 hour, 3 days and 10 days
// ago into each (project, dataset).
func retentionFixture(t *testing.T, b Backend, ref *reference, g *gen, projects []int64, datasets ...string) {
	t.Helper()
	nowMs := now.UnixMilli()
	for _, p := range projects {
		for _, ds := range datasets {
			var pts []point.Point
			for _, age := range []int64{hourMs, 3 * dayMs, 10 * dayMs} {
				for _, pt := range g.requests(40, nowMs-age-30*minuteMs, nowMs-age) {
					pt.Dataset = ds
					pts = append(pts, pt)
				}
			}
			appendPoints(t, b, ref, store.Batch{Project: p, Points: pts})
		}
	}
}

func checkAll(t *testing.T, b Backend, ref *reference, projects []int64, datasets ...string) {
	t.Helper()
	for _, p := range projects {
		for _, ds := range datasets {
			sub := everything(p, ds)
			sub.GroupBy = []point.Field{fMethod}
			sub.Interval = dayMs
			checkSub(t, b, ref, &sub)
			checkStats(t, b, ref, p, ds)
		}
	}
}

func testRetentionShorter(t *testing.T, open Opener) {
	ctx := context.Background()
	b := openBackend(t, open, t.TempDir())
	p := createProject(t, b, "p")
	q := createProject(t, b, "q")
	ref := &reference{}
	retentionFixture(t, b, ref, newGen(8), []int64{p, q}, "short", "long")
	if err := b.SetRetention(ctx, p, "short", 2*days); err != nil {
		t.Fatalf("SetRetention(%d, short, 2 days) = %v; want nil", p, err)
	}
	rep := expire(t, b, ref, now, 90*days, map[int64]map[string]time.Duration{p: {"short": 2 * days}})
	// p's "short" loses its 3- and 10-day-old points; q's "short" and both
	// "long" keep theirs.
	if want := (store.ExpireReport{RowsDeleted: 80, DatasetsTrimmed: 1}); rep != want {
		t.Errorf("Expire(now, 90 days) = %+v; want %+v", rep, want)
	}
	if st := ref.stats(p, "short"); st.Points != 40 {
		t.Fatalf("reference: %d points left in p's short; want 40", st.Points)
	}
	checkAll(t, b, ref, []int64{p, q}, "short", "long")
}

func testRetentionLonger(t *testing.T, open Opener) {
	ctx := context.Background()
	b := openBackend(t, open, t.TempDir())
	p := createProject(t, b, "p")
	ref := &reference{}
	g := newGen(9)
	nowMs := now.UnixMilli()
	oldDay := (nowMs - 100*dayMs) / dayMs * dayMs
	for _, ds := range []string{"keep", "requests"} {
		pts := append(g.requests(300, oldDay, oldDay+dayMs), g.requests(300, nowMs-dayMs, nowMs)...)
		for i := range pts {
			pts[i].Dataset = ds
		}
		appendPoints(t, b, ref, store.Batch{Project: p, Points: pts})
	}
	retention := map[int64]map[string]time.Duration{p: {"keep": 200 * days}}
	if err := b.SetRetention(ctx, p, "keep", 200*days); err != nil {
		t.Fatalf("SetRetention(%d, keep, 200 days) = %v; want nil", p, err)
	}
	// "keep" outlives the default: its old points stay, and "requests"
	// loses its old points all the same.
	rep := expire(t, b, ref, now, 90*days, retention)
	if rep.RowsDeleted+rep.BytesFreed == 0 {
		t.Errorf("Expire(now, 90 days) = %+v; want the old points of requests removed", rep)
	}
	for ds, want := range map[string]int64{"keep": 600, "requests": 300} {
		if st := ref.stats(p, ds); st.Points != want {
			t.Fatalf("reference: %s has %d points; want %d", ds, st.Points, want)
		}
	}
	checkAll(t, b, ref, []int64{p}, "keep", "requests")

	// 120 days on, "keep"'s old day is past 200 days and "requests" is
	// past 90 days altogether.
	later := now.Add(120 * days)
	rep = expire(t, b, ref, later, 90*days, retention)
	if rep.RowsDeleted+int64(rep.FilesRemoved) == 0 {
		t.Errorf("Expire(now+120 days, 90 days) = %+v; want points removed", rep)
	}
	for ds, want := range map[string]int64{"keep": 300, "requests": 0} {
		if st := ref.stats(p, ds); st.Points != want {
			t.Fatalf("reference: %s has %d points; want %d", ds, st.Points, want)
		}
	}
	checkAll(t, b, ref, []int64{p}, "keep", "requests")
}
