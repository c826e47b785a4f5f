package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// testMaxGroups checks that a Sub yielding more than MaxGroups rows fails
// with an error wrapping query.ErrTooManyGroups, and that one yielding
// exactly MaxGroups rows does not.
func testMaxGroups(t *testing.T, open Opener) {
	b := openBackend(t, open, t.TempDir())
	project := createProject(t, b, "groups")
	ref := &reference{}
	g := newGen(10)
	nowMs := now.UnixMilli()
	// Every endpoint appears, over exactly two days' hours.
	pts := g.requests(5000, nowMs-dayMs-hourMs, nowMs-hourMs)
	for i, e := range endpoints {
		pts[i].Index = e
	}
	appendPoints(t, b, ref, store.Batch{Project: project, Points: pts})

	byIndex := query.Sub{Project: project, Dataset: "requests", From: nowMs - 2*dayMs, To: nowMs, GroupBy: []point.Field{fIndex}, Aggs: allAggs()}
	byHour := byIndex
	byHour.GroupBy, byHour.Interval = nil, hourMs
	nIndex, nHour := len(ref.execute(&byIndex).rows), len(ref.execute(&byHour).rows)
	if nIndex != len(endpoints) || nHour < 24 {
		t.Fatalf("reference: %d endpoint groups, %d hours; want %d and at least 24", nIndex, nHour, len(endpoints))
	}
	for _, c := range []struct {
		name   string
		sub    query.Sub
		groups int
	}{{"by index", byIndex, nIndex}, {"every hour", byHour, nHour}} {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{1, c.groups / 2, c.groups - 1} {
				sub := c.sub
				sub.MaxGroups = limit
				res, err := b.Execute(context.Background(), &sub)
				if !errors.Is(err, query.ErrTooManyGroups) {
					t.Errorf("Execute(%v) = %v, %v; want an error wrapping query.ErrTooManyGroups (%d groups)", describeSub(&sub), res, err, c.groups)
				}
			}
			for _, limit := range []int{c.groups, c.groups + 1} {
				sub := c.sub
				sub.MaxGroups = limit
				checkSub(t, b, ref, &sub)
			}
		})
	}
}
