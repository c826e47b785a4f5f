package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/query"
)

// Source auto reads the rollup tables only where they read fewer rows
// than the points, by an estimate: the rows of the tables' active parts
// per day partition (system.parts, summed over the shards, read at most
// once per rowsTTL), each span of a query's range taken as its share of
// its days' rows. A rollup row costs autoRowCost points (its aggregate
// states, a sketch's sumMap above all, are merged, not summed), and each
// UNION ALL branch past the first autoBranchRows (another query on every
// shard). The estimate is of the whole database, not the project and
// dataset asked: series that are dense in one dataset and sparse in
// another share one ratio.
//
// Measured (BenchmarkAutoCost: one local 18.16 server, 1M dense points —
// 12 series over a day, 17,280 minute rows — and 1M sparse ones — 998,256
// minute rows —, minute buckets over the day, medians of 3 alternating
// rounds, load average ~10 from other runs): a minute row read for count
// and avg cost 4.5 points dense (raw 174 ms, rollup 14 ms) and 1.7 sparse
// (110, 183 ms), so 4 stays; with a p95 1.1 points sparse (855, 961 ms)
// but 79 dense (774, 1062 ms): a dense row's sketch holds dozens of bins
// and each minute bucket's merged sketch is sent whole, which rows do not
// measure: a query with a quantile weighs a rollup row
// autoSketchRowCost points instead (80: dense 79 picks the points, which
// were faster; sparse 1.1 picks them too, also faster). One more branch (a minute read with edges that are not whole
// minutes against without) cost 3.1 ms, ~28,000 points of the sparse raw
// read: autoBranchRows was 5,000.
const (
	autoRowCost       = 4
	autoSketchRowCost = 80
	autoBranchRows    = 25_000
	rowsTTL           = 10 * time.Second
)

// dayRows are a table's rows by day partition (its start, Unix ms).
type dayRows map[int64]int64

// rowsIn estimates the rows of [from, to): each day's rows times the
// share of the day in the range.
func (d dayRows) rowsIn(from, to int64) float64 {
	const dayMs = 86_400_000
	var n float64
	for day := floorDiv(from, dayMs) * dayMs; day < to; day += dayMs {
		if r := d[day]; r > 0 {
			n += float64(r) * float64(min(to, day+dayMs)-max(from, day)) / dayMs
		}
	}
	return n
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// tableRows are the row counts auto decides by: the points table's and
// each rollup tier's (by tier width), by day.
type tableRows struct {
	points dayRows
	tiers  map[int64]dayRows
}

// rollupCost is what auto weighs: the estimated cost of reading spans
// (rollup rows rowCost each, points 1, autoBranchRows a branch past the
// first) against reading [from, to) from points.
func (r *tableRows) rollupCost(spans []span, from, to int64, rowCost float64) (rollup, raw float64) {
	raw = r.points.rowsIn(from, to)
	for i, sp := range spans {
		if i > 0 {
			rollup += autoBranchRows
		}
		if sp.tier == nil {
			rollup += r.points.rowsIn(sp.from, sp.to)
			continue
		}
		rollup += rowCost * r.tiers[sp.tier.ms].rowsIn(sp.from, sp.to)
	}
	return rollup, raw
}

// rowCache holds the last tableRows read, for rowsTTL by now.
type rowCache struct {
	mu   sync.Mutex
	now  func() time.Time
	at   time.Time
	rows *tableRows
}

// get answers the rows read within rowsTTL, or reads them with load.
func (c *rowCache) get(load func() (*tableRows, error)) (*tableRows, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	if c.rows != nil && now().Sub(c.at) < rowsTTL {
		return c.rows, nil
	}
	rows, err := load()
	if err != nil {
		return nil, err
	}
	c.rows, c.at = rows, now()
	return rows, nil
}

// loadTableRows reads the active parts' rows of the points table and the
// rollup tiers, per table and day, from every shard.
func (s *Store) loadTableRows(ctx context.Context) (*tableRows, error) {
	out := &tableRows{points: dayRows{}, tiers: map[int64]dayRows{}}
	_, pl, _ := strings.Cut(s.local, ".")
	names := map[string]dayRows{pl: out.points}
	var quoted []string
	for _, t := range rollupTiers {
		_, local := s.rollupNames(t)
		_, local, _ = strings.Cut(local, ".")
		d := dayRows{}
		out.tiers[t.ms] = d
		names[local] = d
	}
	for n := range names {
		quoted = append(quoted, chString(n))
	}
	q := fmt.Sprintf("SELECT table, partition, sum(rows) FROM %s WHERE database = %s AND active AND table IN (%s) GROUP BY table, partition FORMAT TabSeparated",
		s.partsFrom(), chString(s.cfg.Database), strings.Join(quoted, ", "))
	body, err := s.query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read the tables' rows per day: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("clickhouse %s: the tables' rows per day: line %q has %d fields; want 3", s.cfg.HTTP, line, len(f))
		}
		day, err := time.Parse(time.DateOnly, f[1])
		if err != nil {
			return nil, fmt.Errorf("clickhouse %s: unreadable partition %q of %s", s.cfg.HTTP, f[1], f[0])
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("clickhouse %s: rows of %s %s: %w", s.cfg.HTTP, f[0], f[1], err)
		}
		if d := names[f[0]]; d != nil {
			d[day.UnixMilli()] += n
		}
	}
	return out, nil
}

// autoReadsRollup reports whether source auto reads sub (which the rollup
// tables cover) from them: when their estimated cost is below the
// points'. When the estimate cannot be read it does (the query will then
// likely fail too, with the server's error).
func (s *Store) autoReadsRollup(ctx context.Context, sub *query.Sub) bool {
	rows, err := s.rowCache.get(func() (*tableRows, error) { return s.loadTableRows(ctx) })
	if err != nil {
		return true
	}
	cover, _ := s.RollupCoverFrom()
	from, to := max(sub.From, 0), min(sub.To, maxTimestamp)
	rollup, raw := rows.rollupCost(rollupSpans(from, to, sub.Interval, cover), from, to, rowCost(sub))
	return rollup < raw
}

// rowCost is what a rollup row read for sub costs, in points: more when
// it merges distribution sketches.
func rowCost(sub *query.Sub) float64 {
	for _, a := range sub.Aggs {
		if a.Type == query.AggQuantile || a.Type == query.AggQuantiles {
			return autoSketchRowCost
		}
	}
	return autoRowCost
}
