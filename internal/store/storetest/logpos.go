package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// testLogPositions: AppendAt records the log position in every day it
// writes, a later AppendAt moves only the days it writes, Append records
// none, and the positions survive a reopen and are not datasets.
func testLogPositions(t *testing.T, open Opener) {
	ctx := context.Background()
	dir := t.TempDir()
	b := openBackend(t, open, dir)
	project := createProject(t, b, "log")
	nowMs := now.UnixMilli()
	today, yesterday := nowMs-nowMs%dayMs, nowMs-nowMs%dayMs-dayMs
	pt := func(ts int64) point.Point { return point.Point{Dataset: "d", Timestamp: ts, Doubles: []float64{1}} }
	if err := b.Append(ctx, []store.Batch{{Project: project, Points: []point.Point{pt(nowMs - 2*dayMs)}}}); err != nil {
		t.Fatal(err)
	}
	p1, p2 := store.LogPos{Seg: 1, Off: 100}, store.LogPos{Seg: 2, Off: 7}
	if err := b.AppendAt(ctx, []store.Batch{{Project: project, Points: []point.Point{pt(nowMs - 1000), pt(nowMs - dayMs)}}}, p1); err != nil {
		t.Fatalf("AppendAt = %v", err)
	}
	if err := b.AppendAt(ctx, []store.Batch{{Project: project, Points: []point.Point{pt(nowMs - 500)}}}, p2); err != nil {
		t.Fatalf("AppendAt = %v", err)
	}
	want := fmt.Sprint(map[int64]store.LogPos{today: p2, yesterday: p1})
	if got, err := b.LoadedPositions(ctx); err != nil || fmt.Sprint(got) != want {
		t.Fatalf("LoadedPositions = %v, %v; want %v", got, err, want)
	}
	if err := b.close(); err != nil {
		t.Fatal(err)
	}
	b = openBackend(t, open, dir)
	if got, err := b.LoadedPositions(ctx); err != nil || fmt.Sprint(got) != want {
		t.Errorf("after reopen LoadedPositions = %v, %v; want %v", got, err, want)
	}
	for _, d := range b.Datasets(project) {
		if d.Name != "d" {
			t.Errorf("dataset %q listed; want only d", d.Name)
		}
	}
}
