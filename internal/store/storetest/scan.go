package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// testScanRange reads ranges whose edges fall mid-second and across a day
// boundary, and checks ScanRange returns exactly the project's points of
// the dataset in [from, to): none of another project, another dataset or
// just outside an edge.
func testScanRange(t *testing.T, open Opener) {
	ctx := context.Background()
	b := openBackend(t, open, t.TempDir())
	project := createProject(t, b, "scan")
	other := createProject(t, b, "other")
	g := newGen(11)
	nowMs := now.UnixMilli()
	from, to := nowMs-dayMs-7*hourMs-123, nowMs-3*hourMs+457
	pts := g.requests(3000, nowMs-2*dayMs, nowMs)
	for _, ts := range []int64{from - 1, from, from + 1, to - 1, to, to + 1} {
		pts = append(pts, g.request(ts))
	}
	logs := g.requests(200, nowMs-2*dayMs, nowMs)
	for i := range logs {
		logs[i].Dataset = "logs"
	}
	ref := &reference{}
	appendPoints(t, b, ref,
		store.Batch{Project: project, Points: pts},
		store.Batch{Project: project, Points: logs},
		store.Batch{Project: other, Points: g.requests(500, nowMs-2*dayMs, nowMs)})

	key := func(p *point.Point) string {
		return fmt.Sprintf("%d %s %v %v %d", p.Timestamp, p.Index, p.Blobs[:2], p.Doubles[:2], p.Weight())
	}
	var want []string
	for i := range pts {
		if pts[i].Timestamp >= from && pts[i].Timestamp < to {
			want = append(want, key(&pts[i]))
		}
	}
	var got []string
	err := b.ScanRange(ctx, project, "requests", from, to, func(p *point.Point) {
		if len(p.Blobs) < 2 || len(p.Doubles) < 2 {
			t.Fatalf("ScanRange gave a point with %d blobs and %d doubles; want 2 of each", len(p.Blobs), len(p.Doubles))
		}
		got = append(got, key(p))
	})
	if err != nil {
		t.Fatalf("ScanRange = %v", err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) < 1000 || !slices.Equal(got, want) {
		t.Errorf("ScanRange(%d..%d) gave %d points; want the %d in range", from, to, len(got), len(want))
	}
	n := 0
	if err := b.ScanRange(ctx, project, "requests", to, to, func(*point.Point) { n++ }); err != nil || n != 0 {
		t.Errorf("ScanRange of an empty range = %d points, %v; want none", n, err)
	}
}
