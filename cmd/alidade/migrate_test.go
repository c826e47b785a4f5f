package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/store"
)

func TestCompareCounts(t *testing.T) {
	const d1, d2 = 20 * store.DayMs, 21 * store.DayMs
	a := map[store.TableDay]int64{
		{Project: 1, Dataset: "requests", Day: d1}: 10,
		{Project: 2, Dataset: "clicks", Day: d1}:   3,
		{Project: 1, Dataset: "requests", Day: d2}: 5,
	}
	b := map[store.TableDay]int64{
		{Project: 1, Dataset: "requests", Day: d1}: 10,
		{Project: 2, Dataset: "clicks", Day: d1}:   4,
		{Project: 3, Dataset: "x", Day: d2}:        1,
	}
	got := compareCounts(a, b)
	want := []string{
		"project 2, dataset clicks, 1970-01-21: 3 points in the embedded store, 4 in ClickHouse",
		"project 1, dataset requests, 1970-01-22: 5 points in the embedded store, 0 in ClickHouse",
		"project 3, dataset x, 1970-01-22: 0 points in the embedded store, 1 in ClickHouse",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("compareCounts =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := compareCounts(a, a); len(got) != 0 {
		t.Errorf("compareCounts of equal counts = %v; want none", got)
	}
	if got := mergeDays([]int64{d2, 0}, []int64{d1, d2}); !reflect.DeepEqual(got, []int64{0, d1, d2}) {
		t.Errorf("mergeDays = %v", got)
	}
}

// The progress line: days, points, rate and time left.
func TestMigrateProgress(t *testing.T) {
	var b bytes.Buffer
	now := time.Now()
	p := &migrateProgress{w: &b, days: 3, total: 300, start: now, lastW: now}
	p.skip(100)
	p.add(100)
	p.dayDone(store.DayMs, 100)
	line := b.String()
	if !strings.HasPrefix(line, "migrate: days 2/3 (1970-01-02: 100 points), points 200/300, ") || !strings.Contains(line, "points/s, ETA ") {
		t.Errorf("progress line = %q", line)
	}
}

// Usage mistakes exit 2 and name what is missing; a directory without an
// embedded store is an error, not a new empty store.
func TestMigrateUsage(t *testing.T) {
	ctx := context.Background()
	t.Setenv("ALIDADE_STORE", "")
	t.Setenv("ALIDADE_META", "")
	var ue *usageError
	if err := runMigrate(ctx, []string{"--to", "clickhouse://127.0.0.1:8123/db"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--meta") {
		t.Errorf("without --meta = %v; want a usage error naming --meta", err)
	}
	if err := runMigrate(ctx, []string{"--to", "http://x/db", "--meta", "postgres://u@h/db"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--to") {
		t.Errorf("with an http:// --to = %v; want a usage error naming --to", err)
	}
	dir := t.TempDir()
	err := runMigrate(ctx, []string{"--data-dir", dir, "--to", "clickhouse://127.0.0.1:1/db", "--meta", "postgres://u@127.0.0.1:1/db"})
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "no embedded store in "+dir) {
		t.Errorf("an empty data directory = %v; want an error saying it holds no store", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "alidade.duckdb")); err == nil {
		t.Errorf("migrate made a store in the empty directory")
	}
}
