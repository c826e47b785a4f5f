//go:build cluster

package clickhouse_test

import (
	"context"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/testinfra"
)

// TestDropDay: DropDay removes every project's points of one UTC day and
// nothing of the days around it; a day without points is no error.
func TestDropDay(t *testing.T) {
	t.Parallel()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	s := open(t, chURL(ch, "dropday", ""))
	ctx := context.Background()
	var a, b []point.Point
	for i := range 3 * 24 {
		ts := int64(day0 + i*3600*1000 + 1234)
		a = append(a, point.Point{Dataset: "reqs", Timestamp: ts, Index: "x", Doubles: []float64{float64(i)}})
		b = append(b, point.Point{Dataset: "other", Timestamp: ts, Blobs: []string{"y"}})
	}
	if err := s.Append(ctx, []store.Batch{{Project: 1, Points: a}, {Project: 2, Points: b}}); err != nil {
		t.Fatal(err)
	}
	// Any instant of the day names it.
	if err := s.DropDay(ctx, day0+store.DayMs+5000); err != nil {
		t.Fatalf("DropDay = %v", err)
	}
	for i, want := range []int64{24, 0, 24} {
		counts, err := s.DayCounts(ctx, day0+int64(i)*store.DayMs)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []store.TableDay{{Project: 1, Dataset: "reqs", Day: day0 + int64(i)*store.DayMs}, {Project: 2, Dataset: "other", Day: day0 + int64(i)*store.DayMs}} {
			if counts[k] != want {
				t.Errorf("day %d after DropDay of day 1: %+v holds %d points; want %d", i, k, counts[k], want)
			}
		}
	}
	days, err := s.DaysContext(ctx)
	if err != nil || len(days) != 2 || days[0] != day0 || days[1] != day0+2*store.DayMs {
		t.Errorf("days after DropDay = %v, %v; want day 0 and day 2", days, err)
	}
	for _, day := range []int64{day0 + store.DayMs, day0 + 10*store.DayMs, -store.DayMs} {
		if err := s.DropDay(ctx, day); err != nil {
			t.Errorf("DropDay of a day without points (%d) = %v; want nil", day, err)
		}
	}
}
