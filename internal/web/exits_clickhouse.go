package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ClickHouseRunner answers the exit pages and the entry pages' bounces
// from ClickHouse (a cluster node's store): RawSource yields a subquery of
// exactly one project's points of a dataset, with the AE columns and
// ts_ms, the timestamp in Unix ms; QueryRows runs ClickHouse SQL this
// package printed (its values written in as literals: numbers, and the
// empty string) and returns its rows as Go values (String string, Float64
// float64).
type ClickHouseRunner interface {
	RawSource(project int64, dataset string) string
	QueryRows(ctx context.Context, sql string) ([][]any, int64, error)
}

// chAsker asks in ClickHouse SQL (18.16 and current): the questions of
// exitsSQL, weightedSQL and bouncesSQL, written with argMax/argMin for
// DuckDB's arg_max/arg_min.
type chAsker struct{ run ClickHouseRunner }

// chPeriod is the WHERE of a period's page views of a visit.
func chPeriod(from, to int64) string {
	return "ts_ms >= " + strconv.FormatInt(from, 10) + " AND ts_ms < " + strconv.FormatInt(to, 10)
}

func (c chAsker) exits(ctx context.Context, project, from, to int64, top int) ([]exitCount, error) {
	src := c.run.RawSource(project, "pageviews")
	rows, _, err := c.run.QueryRows(ctx, "SELECT count() FROM "+src+" AS p WHERE "+chPeriod(from, to)+" AND _sample_interval > 1")
	if err != nil {
		return nil, err
	}
	weighted := len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] != uint64(0)
	var b strings.Builder
	if weighted {
		b.WriteString("SELECT e.page, toFloat64(sum(e.w)) AS exits FROM (")
		b.WriteString("SELECT argMax(index1, double3) AS page, argMax(_sample_interval, double3) AS w FROM ")
	} else {
		b.WriteString("SELECT e.page, toFloat64(count()) AS exits FROM (")
		b.WriteString("SELECT argMax(index1, double3) AS page FROM ")
	}
	b.WriteString(src)
	fmt.Fprintf(&b, " AS p WHERE %s AND blob9 != '' GROUP BY blob9) AS e GROUP BY e.page ORDER BY exits DESC, e.page LIMIT %d", chPeriod(from, to), top)
	rows, _, err = c.run.QueryRows(ctx, b.String())
	if err != nil {
		return nil, err
	}
	var out []exitCount
	for _, r := range rows {
		page, n, err := pageCount(r)
		if err != nil {
			return nil, fmt.Errorf("exit pages: %w", err)
		}
		out = append(out, exitCount{page: page, exits: n})
	}
	return out, nil
}

func (c chAsker) bounces(ctx context.Context, project, from, to int64) (map[string]float64, error) {
	q := "SELECT b.page, toFloat64(sum(b.w)) AS bounces FROM (" +
		"SELECT argMin(index1, double3) AS page, argMin(_sample_interval, double3) AS w, count() AS views, max(double2) AS entered FROM " +
		c.run.RawSource(project, "pageviews") + " AS p WHERE " + chPeriod(from, to) + " AND blob9 != '' GROUP BY blob9" +
		") AS b WHERE b.views = 1 AND b.entered = 1 GROUP BY b.page ORDER BY bounces DESC, b.page LIMIT " + strconv.Itoa(maxPages)
	rows, _, err := c.run.QueryRows(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(rows))
	for _, r := range rows {
		page, n, err := pageCount(r)
		if err != nil {
			return nil, fmt.Errorf("bounces: %w", err)
		}
		out[page] = n
	}
	return out, nil
}

// pageCount reads a row of (String, Float64).
func pageCount(r []any) (string, float64, error) {
	if len(r) != 2 {
		return "", 0, fmt.Errorf("a row of %d columns; want 2", len(r))
	}
	page, ok1 := r[0].(string)
	n, ok2 := r[1].(float64)
	if !ok1 || !ok2 {
		return "", 0, fmt.Errorf("a row of %T, %T; want string, float64", r[0], r[1])
	}
	return page, n, nil
}
