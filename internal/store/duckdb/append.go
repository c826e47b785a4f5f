package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// tableAppender is a cached appender for one day table.
type tableAppender struct {
	app  *duckdb.Appender
	w    width
	args []driver.Value
}

// row is one point bound to its project.
type row struct {
	project int64
	p       *point.Point
}

// Append commits the batches durably: when it returns nil every point is in
// DuckDB's write-ahead log, synced. Points are committed in one transaction
// per day file they fall in. Append must not be called concurrently; the
// ingest pipeline's single committer calls it.
func (s *Store) Append(ctx context.Context, batches []store.Batch) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()

	byDay := map[int64]map[string][]row{}
	for _, b := range batches {
		for i := range b.Points {
			p := &b.Points[i]
			if err := s.EnsureDataset(ctx, b.Project, p.Dataset); err != nil {
				return err
			}
			day := dayOf(p.Timestamp)
			m := byDay[day]
			if m == nil {
				m = map[string][]row{}
				byDay[day] = m
			}
			m[p.Dataset] = append(m[p.Dataset], row{b.Project, p})
		}
	}
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, day := range days {
		if err := s.appendDay(ctx, day, byDay[day]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) appendDay(ctx context.Context, day int64, tables map[string][]row) error {
	p, err := s.attach(ctx, day)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	// Tables are created and widened before the transaction: DDL is idempotent
	// and an empty column costs nothing.
	apps := make([]*tableAppender, len(names))
	for i, name := range names {
		need := width{}
		for _, r := range tables[name] {
			need = maxWidth(need, width{len(r.p.Blobs), len(r.p.Doubles)})
		}
		if apps[i], err = s.appenderFor(ctx, p, name, need); err != nil {
			return err
		}
	}
	if _, err := s.wconn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for i, name := range names {
		if err := apps[i].appendRows(tables[name]); err != nil {
			s.abort(ctx, p.alias, name)
			return fmt.Errorf("append to %s.%s: %w", p.alias, name, err)
		}
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		s.abort(ctx, p.alias, "")
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	return nil
}

// abort rolls back and drops the appenders of the failed table (or all of
// the day when table is ""), since a failed flush invalidates an appender.
func (s *Store) abort(ctx context.Context, alias, table string) {
	if _, err := s.wconn.ExecContext(ctx, "ROLLBACK"); err != nil {
		s.log.Warn("rollback", "err", err)
	}
	for k, a := range s.appenders {
		if k == alias+"."+table || table == "" && strings.HasPrefix(k, alias+".") {
			_ = a.app.Close()
			delete(s.appenders, k)
		}
	}
}

func (a *tableAppender) appendRows(rows []row) error {
	args := a.args
	for _, r := range rows {
		p := r.p
		args[0] = int32(r.project)
		args[1] = p.Timestamp
		args[2] = p.Weight()
		args[3] = p.Index
		for i := 0; i < a.w.blobs; i++ {
			args[4+i] = p.Blob(i + 1)
		}
		for i := 0; i < a.w.doubles; i++ {
			args[4+a.w.blobs+i] = p.Double(i + 1)
		}
		if err := a.app.AppendRow(args...); err != nil {
			return err
		}
	}
	return a.app.Flush()
}

// appenderFor returns an appender for the day table of dataset, creating or
// widening the table so that it has at least need columns.
func (s *Store) appenderFor(ctx context.Context, p *partition, dataset string, need width) (*tableAppender, error) {
	key := p.alias + "." + dataset
	s.pmu.RLock()
	have, exists := p.tables[dataset]
	want := maxWidth(need, s.widths[dataset])
	s.pmu.RUnlock()
	if a := s.appenders[key]; a != nil && exists && have.blobs >= need.blobs && have.doubles >= need.doubles {
		return a, nil
	}
	if a := s.appenders[key]; a != nil {
		if err := a.app.Close(); err != nil {
			s.log.Warn("close appender", "table", key, "err", err)
		}
		delete(s.appenders, key)
	}
	table := p.alias + "." + quoteIdent(dataset)
	switch {
	case !exists:
		if _, err := s.wconn.ExecContext(ctx, createTableSQL(table, want)); err != nil {
			return nil, fmt.Errorf("create table %s: %w", key, err)
		}
		have = want
	case have.blobs < need.blobs || have.doubles < need.doubles:
		for i := have.blobs + 1; i <= need.blobs; i++ {
			if _, err := s.wconn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS blob%d VARCHAR DEFAULT ''", table, i)); err != nil {
				return nil, fmt.Errorf("widen table %s: %w", key, err)
			}
		}
		for i := have.doubles + 1; i <= need.doubles; i++ {
			if _, err := s.wconn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS double%d DOUBLE DEFAULT 0", table, i)); err != nil {
				return nil, fmt.Errorf("widen table %s: %w", key, err)
			}
		}
		have = maxWidth(have, need)
	}
	s.pmu.Lock()
	p.tables[dataset] = have
	s.widths[dataset] = maxWidth(s.widths[dataset], have)
	s.pmu.Unlock()

	cols := columnNames(have)
	a := &tableAppender{w: have, args: make([]driver.Value, len(cols))}
	err := s.wconn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("BUG: duckdb connection is not a driver.Conn")
		}
		var err error
		a.app, err = duckdb.NewAppenderWithColumns(conn, p.alias, "main", dataset, cols)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open appender for %s: %w", key, err)
	}
	s.appenders[key] = a
	return a, nil
}

// columnNames lists a day table's columns in appender order.
func columnNames(w width) []string {
	cols := []string{"project", "ts", "si", "index1"}
	for i := 1; i <= w.blobs; i++ {
		cols = append(cols, "blob"+strconv.Itoa(i))
	}
	for i := 1; i <= w.doubles; i++ {
		cols = append(cols, "double"+strconv.Itoa(i))
	}
	return cols
}

func createTableSQL(table string, w width) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS ")
	b.WriteString(table)
	b.WriteString(" (project INTEGER NOT NULL, ts BIGINT NOT NULL, si UINTEGER NOT NULL DEFAULT 1, index1 VARCHAR NOT NULL DEFAULT ''")
	for i := 1; i <= w.blobs; i++ {
		fmt.Fprintf(&b, ", blob%d VARCHAR DEFAULT ''", i)
	}
	for i := 1; i <= w.doubles; i++ {
		fmt.Fprintf(&b, ", double%d DOUBLE DEFAULT 0", i)
	}
	b.WriteString(")")
	return b.String()
}
