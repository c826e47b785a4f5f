package duckdb

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// Days returns the start (Unix ms) of every day that has a day file, in
// order.
func (s *Store) Days() []int64 {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	days := make([]int64, 0, len(s.parts))
	for day := range s.parts {
		days = append(days, day*dayMs)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	return days
}

// DayCounts returns how many points (rows, not weighted) each project's
// datasets hold on the day starting at dayStart. A day without a file has
// none.
func (s *Store) DayCounts(ctx context.Context, dayStart int64) (map[store.TableDay]int64, error) {
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	out := map[store.TableDay]int64{}
	s.pmu.RLock()
	p := s.parts[dayOf(dayStart)]
	var tables []string
	if p != nil {
		for t := range p.tables {
			tables = append(tables, t)
		}
	}
	s.pmu.RUnlock()
	if p == nil {
		return out, nil
	}
	sort.Strings(tables)
	for _, t := range tables {
		rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT project, count(*) FROM %s.%s GROUP BY project", p.alias, quoteIdent(t)))
		if err != nil {
			return nil, fmt.Errorf("count points of %s on %s: %w", t, dayName(p.day), err)
		}
		for rows.Next() {
			var project, n int64
			if err := rows.Scan(&project, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[store.TableDay{Project: project, Dataset: t, Day: p.day * dayMs}] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count points of %s on %s: %w", t, dayName(p.day), err)
		}
	}
	return out, nil
}

// ScanDay calls fn with every point stored on the day starting at dayStart,
// of dataset (every dataset when "") and project (every project when 0).
// The point and its slices are reused between calls; its strings are not.
// fn's error stops the scan and is returned.
func (s *Store) ScanDay(ctx context.Context, dayStart int64, project int64, dataset string, fn func(project int64, p *point.Point) error) error {
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	s.pmu.RLock()
	p := s.parts[dayOf(dayStart)]
	type tw struct {
		name string
		w    width
	}
	var tables []tw
	if p != nil {
		for t, w := range p.tables {
			if dataset == "" || t == dataset {
				tables = append(tables, tw{t, w})
			}
		}
	}
	s.pmu.RUnlock()
	if p == nil {
		return nil
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	for _, t := range tables {
		if err := s.scanTable(ctx, p.alias, t.name, t.w, project, nil, fn); err != nil {
			return fmt.Errorf("read points of %s on %s: %w", t.name, dayName(p.day), err)
		}
	}
	return nil
}

// ScanRange calls fn with every point of project's dataset with
// from <= timestamp < to, day by day (in no order within a day). The
// point and its slices are reused between calls; its strings are not.
func (s *Store) ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error {
	if from >= to {
		return nil
	}
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	span := [2]int64{from, to}
	for _, v := range s.viewsFor(dataset, from, to) {
		err := s.scanTable(ctx, v.alias, dataset, v.w, project, &span, func(_ int64, p *point.Point) error {
			fn(p)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read points of %s in %s: %w", dataset, v.alias, err)
		}
	}
	return nil
}

// scanTable reads a day table's points of project (all when 0) and, with
// span, only those with span[0] <= ts < span[1].
func (s *Store) scanTable(ctx context.Context, alias, dataset string, w width, project int64, span *[2]int64, fn func(int64, *point.Point) error) error {
	var b strings.Builder
	b.WriteString("SELECT project, ts, si, index1")
	for i := 1; i <= w.blobs; i++ {
		fmt.Fprintf(&b, ", blob%d", i)
	}
	for i := 1; i <= w.doubles; i++ {
		fmt.Fprintf(&b, ", double%d", i)
	}
	fmt.Fprintf(&b, " FROM %s.%s", alias, quoteIdent(dataset))
	var args []any
	var conds []string
	if project != 0 {
		conds = append(conds, "project = ?")
		args = append(args, int32(project))
	}
	if span != nil {
		conds = append(conds, "ts >= ? AND ts < ?")
		args = append(args, span[0], span[1])
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	rows, err := s.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	pt := &point.Point{Dataset: dataset, Blobs: make([]string, w.blobs), Doubles: make([]float64, w.doubles)}
	var proj int64
	var si uint32
	dest := make([]any, 0, 4+w.blobs+w.doubles)
	dest = append(dest, &proj, &pt.Timestamp, &si, &pt.Index)
	for i := range pt.Blobs {
		dest = append(dest, &pt.Blobs[i])
	}
	for i := range pt.Doubles {
		dest = append(dest, &pt.Doubles[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		pt.SampleInterval = si
		if err := fn(proj, pt); err != nil {
			return err
		}
	}
	return rows.Err()
}
