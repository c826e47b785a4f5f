package clickhouse

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// pointColumns are the columns scan reads, in the order decodePoint takes
// them: project, dataset, the timestamp in ms, the weight, index1, the
// blobs and the doubles.
var pointColumns = func() string {
	cols := "project, dataset, " + tsMs + ", _sample_interval, index1"
	for i := 1; i <= point.MaxBlobs; i++ {
		cols += ", blob" + strconv.Itoa(i)
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols += ", double" + strconv.Itoa(i)
	}
	return cols
}()

const nPointColumns = 5 + point.MaxBlobs + point.MaxDoubles

// decodePoint reads a row of pointColumns into p, reusing its slices. The
// table has every column for every point: trailing empty blobs and zero
// doubles are left out, as a point that never had them reads the same.
func decodePoint(fields [][]byte, nulls []bool, p *point.Point) (project int64, err error) {
	if len(fields) != nPointColumns {
		return 0, fmt.Errorf("%d columns; want %d", len(fields), nPointColumns)
	}
	for i, null := range nulls {
		if null {
			return 0, fmt.Errorf("column %d is NULL", i+1)
		}
	}
	if project, err = strconv.ParseInt(string(fields[0]), 10, 64); err != nil {
		return 0, fmt.Errorf("project: %w", err)
	}
	if string(fields[1]) != p.Dataset {
		p.Dataset = string(fields[1])
	}
	if p.Timestamp, err = strconv.ParseInt(string(fields[2]), 10, 64); err != nil {
		return 0, fmt.Errorf("timestamp: %w", err)
	}
	si, err := strconv.ParseUint(string(fields[3]), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("_sample_interval: %w", err)
	}
	p.SampleInterval = uint32(si)
	p.Index = string(fields[4])
	blobs := fields[5 : 5+point.MaxBlobs]
	nb := len(blobs)
	for nb > 0 && len(blobs[nb-1]) == 0 {
		nb--
	}
	p.Blobs = p.Blobs[:0]
	for _, b := range blobs[:nb] {
		p.Blobs = append(p.Blobs, string(b))
	}
	doubles := fields[5+point.MaxBlobs:]
	p.Doubles = p.Doubles[:0]
	nd := 0
	for i, d := range doubles {
		v, err := parseFloat(d)
		if err != nil {
			return 0, fmt.Errorf("double%d: %w", i+1, err)
		}
		p.Doubles = append(p.Doubles, v)
		if v != 0 {
			nd = i + 1
		}
	}
	p.Doubles = p.Doubles[:nd]
	return project, nil
}

// scan runs SELECT pointColumns WHERE where and calls fn with each point,
// in no particular order. The point and its slices are reused between
// calls; its strings are not. fn's error stops the scan and is returned.
//
// The answer streams from the server as it is read (the server buffers it
// first, wait_end_of_query, so that an error midway is an error and not a
// short answer).
func (s *Store) scan(ctx context.Context, where string, fn func(project int64, p *point.Point) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := s.do(ctx, "SELECT "+pointColumns+" FROM "+s.table+" WHERE "+where+"\nFORMAT TabSeparated", nil, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	t := newTSVReader(pr)
	p := &point.Point{Blobs: make([]string, 0, point.MaxBlobs), Doubles: make([]float64, 0, point.MaxDoubles)}
	var err error
	for {
		var ok bool
		ok, err = t.next()
		if err != nil || !ok {
			break
		}
		var project int64
		if project, err = decodePoint(t.fields, t.nulls, p); err != nil {
			err = fmt.Errorf("clickhouse %s: read points: row %d: %w", s.cfg.HTTP, t.row, err)
			break
		}
		if err = fn(project, p); err != nil {
			break
		}
	}
	if err != nil {
		cancel()
		pr.CloseWithError(err)
		<-done
		return err
	}
	return <-done
}

// ScanRange calls fn with every point of the project's dataset with
// from <= timestamp < to (ms), in no particular order. The point and its
// slices are fn's to keep.
func (s *Store) ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error {
	from, to = max(from, 0), min(to, maxTimestamp)
	if from >= to {
		return nil
	}
	where := fmt.Sprintf("project = %d AND dataset = %s AND timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d) AND %s >= %d AND %s < %d",
		project, chString(dataset), from/1000, (to-1)/1000, tsMs, from, tsMs, to)
	return s.scan(ctx, where, func(_ int64, p *point.Point) error {
		q := *p
		q.Blobs = append([]string(nil), p.Blobs...)
		q.Doubles = append([]float64(nil), p.Doubles...)
		fn(&q)
		return nil
	})
}

// ScanDay calls fn with every point stored on the UTC day starting at
// dayStart (Unix ms), of dataset (every dataset when "") and project (every
// project when 0), in no particular order. The point and its slices are
// reused between calls; its strings are not. fn's error stops the scan and
// is returned.
func (s *Store) ScanDay(ctx context.Context, dayStart int64, project int64, dataset string, fn func(project int64, p *point.Point) error) error {
	if dayStart < 0 || dayStart >= maxTimestamp {
		return nil
	}
	where := dayWhere(dayStart)
	if project != 0 {
		where += fmt.Sprintf(" AND project = %d", project)
	}
	if dataset != "" {
		where += " AND dataset = " + chString(dataset)
	}
	if err := s.scan(ctx, where, fn); err != nil {
		return fmt.Errorf("read the points of %s: %w", time.UnixMilli(dayStart).UTC().Format(time.DateOnly), err)
	}
	return nil
}

// dayWhere selects the points of the UTC day that starts at dayStart: one
// day partition.
func dayWhere(dayStart int64) string {
	sec := store.DayStart(dayStart) / 1000
	return fmt.Sprintf("timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d)", sec, min(sec+store.DayMs/1000-1, maxTimestamp/1000-1))
}

// DayCounts returns how many points (rows, not weighted) each project's
// datasets hold on the UTC day starting at dayStart.
func (s *Store) DayCounts(ctx context.Context, dayStart int64) (map[store.TableDay]int64, error) {
	out := map[store.TableDay]int64{}
	if dayStart < 0 || dayStart >= maxTimestamp {
		return out, nil
	}
	day := store.DayStart(dayStart)
	q := "SELECT project, dataset, count() FROM " + s.table + " WHERE " + dayWhere(day) + " GROUP BY project, dataset FORMAT TabSeparated"
	body, err := s.query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("count the points of %s: %w", time.UnixMilli(day).UTC().Format(time.DateOnly), err)
	}
	t := newTSVReader(strings.NewReader(body))
	for {
		ok, err := t.next()
		if err != nil {
			return nil, fmt.Errorf("clickhouse %s: count the points of a day: %w", s.cfg.HTTP, err)
		}
		if !ok {
			return out, nil
		}
		if len(t.fields) != 3 {
			return nil, fmt.Errorf("clickhouse %s: count the points of a day: %d columns; want 3", s.cfg.HTTP, len(t.fields))
		}
		project, err1 := strconv.ParseInt(string(t.fields[0]), 10, 64)
		n, err2 := strconv.ParseInt(string(t.fields[2]), 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("clickhouse %s: count the points of a day: unreadable row %d", s.cfg.HTTP, t.row)
		}
		out[store.TableDay{Project: project, Dataset: string(t.fields[1]), Day: day}] = n
	}
}

// DatasetStats returns a dataset's point count (weighted by sample
// interval) and first and last timestamps (0 when it has no points).
func (s *Store) DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error) {
	var st meta.DatasetStats
	q := fmt.Sprintf("SELECT sum(_sample_interval), min(%s), max(%s), count() FROM %s WHERE project = %d AND dataset = %s FORMAT TabSeparated",
		tsMs, tsMs, s.table, project, chString(dataset))
	body, err := s.query(ctx, q, nil)
	if err != nil {
		return st, fmt.Errorf("stats of %s: %w", dataset, err)
	}
	var n int64
	if _, err := fmt.Sscan(body, &st.Points, &st.First, &st.Last, &n); err != nil {
		return meta.DatasetStats{}, fmt.Errorf("clickhouse %s: stats of %s: unreadable answer %q", s.cfg.HTTP, dataset, body)
	}
	if n == 0 {
		return meta.DatasetStats{}, nil
	}
	return st, nil
}

// partsFrom is where the data parts of Alidade's tables are listed: this
// server's system.parts, or with a cluster every shard's through the
// cluster() table function (18.16 has it; clusterAllReplicas came later).
func (s *Store) partsFrom() string {
	if s.cfg.Cluster != "" {
		return "cluster(" + s.cfg.Cluster + ", system.parts)"
	}
	return "system.parts"
}

// DaysContext returns the start (Unix ms) of every UTC day that has points
// (an active part of the points table on some shard), in order.
func (s *Store) DaysContext(ctx context.Context) ([]int64, error) {
	_, localName, _ := strings.Cut(s.local, ".")
	q := fmt.Sprintf("SELECT DISTINCT partition FROM %s WHERE database = %s AND table = %s AND active ORDER BY partition FORMAT TabSeparated",
		s.partsFrom(), chString(s.cfg.Database), chString(localName))
	body, err := s.query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("list the day partitions: %w", err)
	}
	var days []int64
	for _, part := range strings.Fields(body) {
		d, err := time.Parse(time.DateOnly, part)
		if err != nil {
			return nil, fmt.Errorf("clickhouse %s: unreadable partition %q", s.cfg.HTTP, part)
		}
		days = append(days, d.UnixMilli())
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	s.mu.Lock()
	s.days = days
	s.mu.Unlock()
	return days, nil
}

// Days is DaysContext for callers that take no error (the planner's store
// interface): when the server cannot be asked it returns the days it last
// read, since an empty answer would read as every day dropped.
func (s *Store) Days() []int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	days, err := s.DaysContext(ctx)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return append([]int64(nil), s.days...)
	}
	return days
}
