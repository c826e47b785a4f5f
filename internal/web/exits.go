package web

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/query"
)

// exitsSQL prints the exit pages question: each visit (session, blob9) of
// the period ends on its last page view in the period, the one with the
// highest rank in the visit (visit_page, double3: the enrichment step
// numbers a visit's page views in time order); the pages are counted by
// the visits that ended on them and the top most are returned. With
// weighted, each visit weighs its last page view's sample interval (which
// costs the question about twice as much); without, every point must
// stand for one (see weightedSQL). Page views without a session (written
// without the beacon) belong to no visit. Every value is a parameter; the
// source comes from the store, scoped to the project. ok is false when no
// day file holds the dataset.
func exitsSQL(run SQLRunner, project, from, to int64, top int, weighted bool) (q string, args []any, ok bool) {
	src, args, ok := run.SQLSource(project, "pageviews", 0)
	if !ok {
		return "", nil, false
	}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var b strings.Builder
	if weighted {
		b.WriteString("SELECT e.page, sum(e.w)::DOUBLE AS exits FROM (")
		b.WriteString("SELECT arg_max(index1, double3) AS page, arg_max(_sample_interval, double3) AS w FROM ")
	} else {
		b.WriteString("SELECT e.page, count(*)::DOUBLE AS exits FROM (")
		b.WriteString("SELECT arg_max(index1, double3) AS page FROM ")
	}
	b.WriteString(src)
	fmt.Fprintf(&b, " AS p WHERE epoch_ms(\"timestamp\") >= %s AND epoch_ms(\"timestamp\") < %s AND blob9 <> %s GROUP BY blob9",
		param(from), param(to), param(""))
	fmt.Fprintf(&b, ") AS e GROUP BY e.page ORDER BY exits DESC, e.page LIMIT %d", top)
	return b.String(), args, true
}

// weightedSQL prints the question whether any page view of the period
// stands for more than one (equitable sampling kept one of several).
func weightedSQL(run SQLRunner, project, from, to int64) (q string, args []any, ok bool) {
	src, args, ok := run.SQLSource(project, "pageviews", 0)
	if !ok {
		return "", nil, false
	}
	n := len(args)
	args = append(args, from, to)
	return fmt.Sprintf("SELECT count(*) FROM %s AS p WHERE epoch_ms(\"timestamp\") >= $%d AND epoch_ms(\"timestamp\") < $%d AND _sample_interval > 1",
		src, n+1, n+2), args, true
}

// bouncesSQL prints the bounces by entry page: the visits (session, blob9)
// that began in [from, to) (a page view with entry, double2, set) and saw
// no other page view in it, counted by the page they began on (the page
// view of the lowest visit_page, double3), each weighing its sample
// interval. Rollups cannot say it: a visit's bounce correction (-1) lands
// on its second page view, whose page is another.
func bouncesSQL(run SQLRunner, project, from, to int64) (q string, args []any, ok bool) {
	src, args, ok := run.SQLSource(project, "pageviews", 0)
	if !ok {
		return "", nil, false
	}
	n := len(args)
	args = append(args, from, to, "", maxPages)
	return fmt.Sprintf("SELECT b.page, sum(b.w)::DOUBLE AS bounces FROM ("+
		"SELECT arg_min(index1, double3) AS page, arg_min(_sample_interval, double3) AS w, count(*) AS views, max(double2) AS entered FROM %s AS p "+
		"WHERE epoch_ms(\"timestamp\") >= $%d AND epoch_ms(\"timestamp\") < $%d AND blob9 <> $%d GROUP BY blob9"+
		") AS b WHERE b.views = 1 AND b.entered = 1 GROUP BY b.page ORDER BY bounces DESC, b.page LIMIT $%d",
		src, n+1, n+2, n+3, n+4), args, true
}

// entryBounces asks for the bounces of each entry page of [from, to) and
// hands them to fill.
func (p *plan) entryBounces(key string, from, to int64, fill func(map[string]float64)) {
	if p.w.raw == nil {
		p.warn(key + ": the store answers no SQL; entry pages' bounces are left out")
		return
	}
	p.add(true, func(ctx context.Context) error {
		out, err := p.w.raw.bounces(ctx, p.project, from, to)
		if err != nil {
			return fmt.Errorf("web %s: %w", key, err)
		}
		p.answered([]string{key}, query.SourceRaw)
		if out != nil {
			fill(out)
		}
		return nil
	})
}

// rawAsker answers the questions only raw points can: DuckDB's SQL
// (duckAsker) or ClickHouse's (chAsker), the same answers.
type rawAsker interface {
	// exits is the top exit pages of [from, to).
	exits(ctx context.Context, project, from, to int64, top int) ([]exitCount, error)
	// bounces is the bounces of each entry page of [from, to); nil
	// when the store holds no page view.
	bounces(ctx context.Context, project, from, to int64) (map[string]float64, error)
}

// duckAsker asks in DuckDB SQL.
type duckAsker struct{ run SQLRunner }

func (d duckAsker) exits(ctx context.Context, project, from, to int64, top int) ([]exitCount, error) {
	return exits(ctx, d.run, project, from, to, top)
}

func (d duckAsker) bounces(ctx context.Context, project, from, to int64) (map[string]float64, error) {
	q, args, ok := bouncesSQL(d.run, project, from, to)
	if !ok {
		return nil, nil
	}
	rows, err := d.run.QuerySQL(ctx, q, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var page sql.NullString
		var n float64
		if err := rows.Scan(&page, &n); err != nil {
			return nil, err
		}
		out[page.String] = n
	}
	return out, rows.Err()
}

// exitCount is one row of the exit pages question.
type exitCount struct {
	page  string
	exits float64
}

// exitPages asks for the top exit pages of [from, to) and hands them to
// fill. Only raw points can say which page view was a visit's last.
func (p *plan) exitPages(key string, from, to int64, top int, fill func([]exitCount)) {
	if p.w.raw == nil {
		p.warn(key + ": the store answers no SQL; exit pages are left out")
		return
	}
	p.add(true, func(ctx context.Context) error {
		out, err := p.w.raw.exits(ctx, p.project, from, to, top)
		if err != nil {
			return fmt.Errorf("web %s: %w", key, err)
		}
		p.answered([]string{key}, query.SourceRaw)
		fill(out)
		return nil
	})
}

// exits runs the exit pages question.
func exits(ctx context.Context, run SQLRunner, project, from, to int64, top int) ([]exitCount, error) {
	q, args, ok := weightedSQL(run, project, from, to)
	if !ok {
		return nil, nil
	}
	var weighted int64
	if err := scanOne(ctx, run, q, args, &weighted); err != nil {
		return nil, err
	}
	q, args, _ = exitsSQL(run, project, from, to, top, weighted > 0)
	rows, err := run.QuerySQL(ctx, q, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []exitCount
	for rows.Next() {
		var page sql.NullString
		var r exitCount
		if err := rows.Scan(&page, &r.exits); err != nil {
			return nil, err
		}
		r.page = page.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanOne runs a question of one row and scans it into dest.
func scanOne(ctx context.Context, run SQLRunner, q string, args []any, dest ...any) error {
	rows, err := run.QuerySQL(ctx, q, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("no row")
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
