package clickhouse

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/query"
)

func TestRowsIn(t *testing.T) {
	const day = 86_400_000
	d := dayRows{0: 1000, day: 4000}
	for _, c := range []struct {
		from, to int64
		want     float64
	}{
		{0, day, 1000},
		{0, 2 * day, 5000},
		{day / 2, day + day/4, 500 + 1000},
		{-day, 0, 0},
		{3 * day, 4 * day, 0},
		// A millisecond either side of the day boundary.
		{day - 1, day, 1000.0 / day},
		{day, day + 1, 4000.0 / day},
		{day - 1, day + 1, 1000.0/day + 4000.0/day},
		{-1, 1, 1000.0 / day},
		// The minute and the hour: their share of the day.
		{day, day + 60_000, 4000.0 * 60_000 / day},
		{day - 3_600_000, day, 1000.0 * 3_600_000 / day},
	} {
		if got := d.rowsIn(c.from, c.to); math.Abs(got-c.want) > 1e-9*max(1, c.want) {
			t.Errorf("rowsIn(%d, %d) = %v; want %v", c.from, c.to, got, c.want)
		}
	}
}

// TestRollupCostDenseSparse: auto reads the rollup where a tier has far
// fewer rows than the points, and the points where every rollup row is
// about one point.
func TestRollupCostDenseSparse(t *testing.T) {
	const day = 86_400_000
	rows := func(points, minutes, hours, days int64) *tableRows {
		return &tableRows{points: dayRows{0: points}, tiers: map[int64]dayRows{
			minuteTier.ms: {0: minutes}, hourTier.ms: {0: hours}, dayTier.ms: {0: days}}}
	}
	for _, c := range []struct {
		name       string
		rows       *tableRows
		from, to   int64
		interval   int64
		wantRollup bool
	}{
		{"dense, the day", rows(1_000_000, 100_000, 5_000, 300), 0, day, 0, true},
		{"dense, 5-minute buckets", rows(1_000_000, 100_000, 5_000, 300), 0, day, 300_000, true},
		{"sparse, the day", rows(20_000, 19_000, 15_000, 5_000), 0, day, 0, false},
		{"sparse, 5-minute buckets", rows(20_000, 19_000, 15_000, 5_000), 0, day, 300_000, false},
		{"sparse, edges not whole minutes", rows(20_000, 19_000, 15_000, 5_000), 1234, day - 1234, 0, false},
		{"dense, edges not whole minutes", rows(1_000_000, 100_000, 5_000, 300), 1234, day - 1234, 0, true},
		{"no rows", rows(0, 0, 0, 0), 0, day, 0, false},
	} {
		rollup, raw := c.rows.rollupCost(rollupSpans(c.from, c.to, c.interval, 0), c.from, c.to, autoRowCost)
		if got := rollup < raw; got != c.wantRollup {
			t.Errorf("%s: rollup cost %v, raw %v: reads rollup %v; want %v", c.name, rollup, raw, got, c.wantRollup)
		}
	}
}

// TestRollupCostQuantiles: the cases BenchmarkAutoCost measured with a
// p95 (1M points over a day, minute buckets): dense (17,280 minute rows)
// and sparse (998,256) both read points, which were faster; count and
// avg on the dense ones read the rollup. A month of the dense series
// (hour rows) reads the rollup even with a p95.
func TestRollupCostQuantiles(t *testing.T) {
	const day = 86_400_000
	p95 := &query.Sub{Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggQuantile, Q: 0.95}}}
	p := &query.Sub{Aggs: []query.Agg{{Type: query.AggQuantiles, Qs: []float64{0.5, 0.99}}}}
	avg := &query.Sub{Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggAvg}}}
	dense := &tableRows{points: dayRows{0: 1_000_000}, tiers: map[int64]dayRows{minuteTier.ms: {0: 17_280}, hourTier.ms: {0: 288}, dayTier.ms: {0: 12}}}
	sparse := &tableRows{points: dayRows{0: 1_000_000}, tiers: map[int64]dayRows{minuteTier.ms: {0: 998_256}, hourTier.ms: {0: 24 * 3000}, dayTier.ms: {0: 5000}}}
	month := &tableRows{points: dayRows{}, tiers: map[int64]dayRows{minuteTier.ms: {}, hourTier.ms: {}, dayTier.ms: {}}}
	for d := int64(0); d < 30; d++ {
		month.points[d*day] = 1_000_000
		month.tiers[minuteTier.ms][d*day] = 17_280
		month.tiers[hourTier.ms][d*day] = 288
		month.tiers[dayTier.ms][d*day] = 12
	}
	for _, c := range []struct {
		name       string
		rows       *tableRows
		sub        *query.Sub
		to         int64
		interval   int64
		wantRollup bool
	}{
		{"dense p95, minute buckets", dense, p95, day, 60_000, false},
		{"dense quantiles, minute buckets", dense, p, day, 60_000, false},
		{"sparse p95, minute buckets", sparse, p95, day, 60_000, false},
		{"dense avg, minute buckets", dense, avg, day, 60_000, true},
		{"sparse avg, minute buckets", sparse, avg, day, 60_000, false},
		{"dense p95, a month by hour", month, p95, 30 * day, 3_600_000, true},
	} {
		rollup, raw := c.rows.rollupCost(rollupSpans(0, c.to, c.interval, 0), 0, c.to, rowCost(c.sub))
		if got := rollup < raw; got != c.wantRollup {
			t.Errorf("%s: rollup cost %v, raw %v: reads rollup %v; want %v", c.name, rollup, raw, got, c.wantRollup)
		}
	}
}

func TestRowCacheTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := rowCache{now: func() time.Time { return now }}
	loads := 0
	load := func() (*tableRows, error) { loads++; return &tableRows{}, nil }
	for _, step := range []struct {
		advance   time.Duration
		wantLoads int
	}{{0, 1}, {rowsTTL - time.Second, 1}, {time.Second, 2}, {time.Second, 2}} {
		now = now.Add(step.advance)
		if _, err := c.get(load); err != nil || loads != step.wantLoads {
			t.Fatalf("after +%v: get = %v, %d loads; want nil, %d", step.advance, err, loads, step.wantLoads)
		}
	}
	now = now.Add(rowsTTL)
	boom := errors.New("boom")
	if _, err := c.get(func() (*tableRows, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("get with a failing load = %v; want %v", err, boom)
	}
	if _, err := c.get(load); err != nil || loads != 3 {
		t.Fatalf("get after a failed load = %v, %d loads; want nil, 3", err, loads)
	}
}
