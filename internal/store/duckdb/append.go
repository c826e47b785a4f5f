package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// lane is one writer connection with its appenders. Several lanes append
// and commit concurrently: DuckDB's appends never conflict, so while one
// lane commits, another fills its next transaction.
type lane struct {
	conn      *sql.Conn
	appenders map[string]*tableAppender // alias.dataset
	// raw is conn's C connection, set by laneConn on first use. The
	// appenders are opened on it, so they append inside the transactions
	// conn begins and commits.
	raw bindings.Connection
	// arena holds the long strings of the chunk being appended.
	arena stringArena
}

// tableAppender is a cached appender for one day table: a C appender and a
// data chunk with the table's columns, reused for every append.
type tableAppender struct {
	app   bindings.Appender
	w     width
	chunk *dataChunk
}

// row is one point bound to its project.
type row struct {
	project int64
	p       *point.Point
}

// dayTables is a batch sorted by day file and dataset.
type dayTables map[int64]map[string][]row

// rowBufs recycles the row slices of dayTables, which otherwise are most of
// an append's allocations. Pooled slices are all zero, so they keep no
// points alive.
var rowBufs sync.Pool // of *[]row

func rowBuf() []row {
	if p, ok := rowBufs.Get().(*[]row); ok {
		return *p
	}
	return nil
}

// recycle returns the row slices to rowBufs; byDay must not be used after.
func (byDay dayTables) recycle() {
	for _, tables := range byDay {
		for _, rows := range tables {
			clear(rows)
			rows = rows[:0]
			rowBufs.Put(&rows)
		}
	}
}

// Append commits the batches durably: when it returns nil every point is in
// DuckDB's write-ahead log. Points are committed in one transaction per day
// file they fall in. Append may be called concurrently, up to one call per
// write lane at a time; more calls wait for a lane.
func (s *Store) Append(ctx context.Context, batches []store.Batch) error {
	return s.AppendAt(ctx, batches, store.LogPos{})
}

// AppendAt is Append for batches loaded from the write-ahead log up to
// pos: every day file the batches write to records pos in the same
// transaction as their rows (see LoadedPositions), so that a replay after
// a crash loads each record's points of each day exactly once.
func (s *Store) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	return s.AppendAtLog(ctx, batches, store.MainLog, pos)
}

// AppendAtLog is AppendAt for the records of one of Alidade's logs: each
// log's position is recorded apart (store.MainLog, store.ErrorJournal).
func (s *Store) AppendAtLog(ctx context.Context, batches []store.Batch, log int, pos store.LogPos) error {
	byDay, err := s.sortBatches(ctx, batches)
	defer byDay.recycle()
	if err != nil {
		return err
	}
	// Idempotency records go in every day file their write's points
	// fall in, in the transaction that commits that day.
	var recs map[int64][]idemRef
	for i := range batches {
		if r := batches[i].Idem; r != nil {
			if recs == nil {
				recs = map[int64][]idemRef{}
			}
			for _, d := range r.Days {
				recs[dayOf(d)] = append(recs[dayOf(d)], idemRef{batches[i].Project, r})
			}
		}
	}
	if err := s.prepareTables(ctx, byDay, recs, !pos.IsZero()); err != nil {
		return err
	}
	// Lanes are taken under the read side of ddl, so that schema changes
	// (which take the write side) never run beside an open transaction.
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	var l *lane
	select {
	case l = <-s.lanes:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { s.lanes <- l }()
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	for d := range recs {
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for i, day := range days {
		if err := s.appendDay(ctx, l, day, byDay[day], recs[day], log, pos); err != nil {
			if i > 0 {
				return &store.PartialCommitError{Committed: days[:i], Err: err}
			}
			return err
		}
	}
	return nil
}

// sortBatches groups points by day and dataset, creating dataset records.
func (s *Store) sortBatches(ctx context.Context, batches []store.Batch) (dayTables, error) {
	byDay := dayTables{}
	var lastProject int64 = -1
	lastDataset := ""
	for _, b := range batches {
		for i := range b.Points {
			p := &b.Points[i]
			if b.Project != lastProject || p.Dataset != lastDataset {
				if err := s.EnsureDataset(ctx, b.Project, p.Dataset); err != nil {
					return nil, err
				}
				lastProject, lastDataset = b.Project, p.Dataset
			}
			day := dayOf(p.Timestamp)
			m := byDay[day]
			if m == nil {
				m = map[string][]row{}
				byDay[day] = m
			}
			rows, ok := m[p.Dataset]
			if !ok {
				rows = rowBuf()
			}
			m[p.Dataset] = append(rows, row{b.Project, p})
		}
	}
	return byDay, nil
}

// prepareTables makes sure every day file is attached and every day table
// exists with the columns the rows need. It changes the schema only under
// the write side of ddl, when no lane is inside a transaction.
func (s *Store) prepareTables(ctx context.Context, byDay dayTables, recs map[int64][]idemRef, logPos bool) error {
	type need struct {
		day     int64
		dataset string
		w       width
	}
	var missing []need
	var idem []int64 // days whose file lacks its idempotency table
	s.pmu.RLock()
	for day := range recs {
		if p := s.parts[day]; p == nil || !p.idem.Load() {
			idem = append(idem, day)
		}
	}
	var posDays []int64 // days whose file lacks its log position table
	if logPos {
		for day := range byDay {
			if p := s.parts[day]; p == nil || !p.logPos.Load() {
				posDays = append(posDays, day)
			}
		}
		for day := range recs {
			if p := s.parts[day]; p == nil || !p.logPos.Load() {
				posDays = append(posDays, day)
			}
		}
	}
	for day, tables := range byDay {
		p := s.parts[day]
		for name, rows := range tables {
			w := width{}
			for _, r := range rows {
				w = maxWidth(w, width{len(r.p.Blobs), len(r.p.Doubles)})
			}
			var have width
			ok := false
			if p != nil {
				have, ok = p.tables[name]
			}
			if !ok || have.blobs < w.blobs || have.doubles < w.doubles {
				missing = append(missing, need{day, name, w})
			}
		}
	}
	s.pmu.RUnlock()
	if len(missing) == 0 && len(idem) == 0 && len(posDays) == 0 {
		return nil
	}
	s.ddl.Lock()
	defer s.ddl.Unlock()
	// Day files that lack their log position or idempotency table.
	for _, need := range []struct {
		days   []int64
		ensure func(context.Context, *partition) error
	}{{posDays, s.ensureLogPos}, {idem, s.ensureIdem}} {
		for _, day := range need.days {
			p, err := s.attach(ctx, day)
			if err != nil {
				return err
			}
			if err := need.ensure(ctx, p); err != nil {
				return err
			}
		}
	}
	for _, m := range missing {
		p, err := s.attach(ctx, m.day)
		if err != nil {
			return err
		}
		if err := s.ensureTable(ctx, p, m.dataset, m.w); err != nil {
			return err
		}
	}
	return nil
}

// ensureTable creates or widens a day table. The caller holds ddl's write side.
func (s *Store) ensureTable(ctx context.Context, p *partition, dataset string, need width) error {
	s.pmu.RLock()
	have, exists := p.tables[dataset]
	want := maxWidth(need, s.widths[dataset])
	s.pmu.RUnlock()
	if exists && have.blobs >= need.blobs && have.doubles >= need.doubles {
		return nil
	}
	table := p.alias + "." + quoteIdent(dataset)
	key := p.alias + "." + dataset
	if !exists {
		if _, err := s.db.ExecContext(ctx, createTableSQL(table, want)); err != nil {
			return fmt.Errorf("create table %s: %w", key, err)
		}
		have = want
	} else {
		// Appenders describe the table as it was: drop them before it changes.
		s.dropAppenders(func(k string) bool { return k == key })
		for i := have.blobs + 1; i <= need.blobs; i++ {
			if _, err := s.db.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS blob%d VARCHAR DEFAULT ''", table, i)); err != nil {
				return fmt.Errorf("widen table %s: %w", key, err)
			}
		}
		for i := have.doubles + 1; i <= need.doubles; i++ {
			if _, err := s.db.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS double%d DOUBLE DEFAULT 0", table, i)); err != nil {
				return fmt.Errorf("widen table %s: %w", key, err)
			}
		}
		have = maxWidth(have, need)
	}
	dataset = strings.Clone(dataset) // it may share memory with a request body
	s.pmu.Lock()
	p.tables[dataset] = have
	s.widths[dataset] = maxWidth(s.widths[dataset], have)
	s.pmu.Unlock()
	return nil
}

// dropAppenders closes every lane's appenders whose key matches. The
// caller holds ddl's write side, so no lane is in use.
func (s *Store) dropAppenders(match func(key string) bool) {
	for _, l := range s.allLanes {
		for k, a := range l.appenders {
			if match(k) {
				if err := a.close(); err != nil {
					s.log.Warn("close appender", "table", k, "err", err)
				}
				delete(l.appenders, k)
			}
		}
	}
}

func (s *Store) appendDay(ctx context.Context, l *lane, day int64, tables map[string][]row, recs []idemRef, log int, pos store.LogPos) error {
	s.pmu.RLock()
	p := s.parts[day]
	s.pmu.RUnlock()
	if p == nil {
		return fmt.Errorf("BUG: day file %s not attached", dayName(day))
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	apps := make([]*tableAppender, len(names))
	for i, name := range names {
		var err error
		if apps[i], err = s.appenderFor(l, p, name); err != nil {
			return err
		}
	}
	if _, err := l.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := l.writeIdem(ctx, p, recs); err != nil {
		l.abort(ctx, s, p.alias+".")
		return err
	}
	if err := l.writeLogPos(ctx, p, log, pos); err != nil {
		l.abort(ctx, s, p.alias+".")
		return err
	}
	for i, name := range names {
		if err := apps[i].appendRows(tables[name], &l.arena); err != nil {
			l.abort(ctx, s, p.alias+"."+name)
			return fmt.Errorf("append to %s.%s: %w", p.alias, name, err)
		}
	}
	if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
		l.abort(ctx, s, p.alias+".")
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	p.lastWrite.Store(time.Now().UnixNano())
	p.dirty.Store(true)
	return nil
}

// abort rolls back and drops the lane's appenders whose key starts with
// prefix, since a failed flush invalidates an appender.
func (l *lane) abort(ctx context.Context, s *Store, prefix string) {
	if _, err := l.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		s.log.Warn("rollback", "err", err)
	}
	for k, a := range l.appenders {
		if strings.HasPrefix(k, prefix) {
			// Discard what the appender still buffers: destroying it
			// flushes, and after the rollback that would commit on its own.
			bindings.AppenderClear(a.app)
			_ = a.close()
			delete(l.appenders, k)
		}
	}
}

// appendRows appends rows to the table in chunks of DuckDB's vector size and
// flushes them into the connection's transaction.
func (a *tableAppender) appendRows(rows []row, arena *stringArena) error {
	defer arena.release() // also unpins should fill panic
	for len(rows) > 0 {
		n := min(len(rows), a.chunk.capacity)
		a.chunk.fill(rows[:n], a.w, arena)
		// The appender copies the chunk, strings included, so the chunk
		// and the arena can be reused at once.
		state := bindings.AppendDataChunk(a.app, a.chunk.chunk)
		arena.release()
		a.chunk.reset()
		if state == bindings.StateError {
			return appendError(a.app)
		}
		rows = rows[n:]
	}
	if bindings.AppenderFlush(a.app) == bindings.StateError {
		return appendError(a.app)
	}
	return nil
}

// close destroys the appender, flushing what it still buffers, and its chunk.
func (a *tableAppender) close() error {
	var err error
	if bindings.AppenderFlush(a.app) == bindings.StateError {
		err = appendError(a.app)
		bindings.AppenderClear(a.app)
	}
	bindings.AppenderDestroy(&a.app)
	a.chunk.destroy()
	return err
}

// appenderFor returns the lane's appender for a day table, opening one for
// the table's current columns when the lane has none.
func (s *Store) appenderFor(l *lane, p *partition, dataset string) (*tableAppender, error) {
	key := p.alias + "." + dataset
	if a := l.appenders[key]; a != nil {
		return a, nil
	}
	s.pmu.RLock()
	have, ok := p.tables[dataset]
	s.pmu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("BUG: table %s not prepared", key)
	}
	raw, err := l.laneConn()
	if err != nil {
		return nil, fmt.Errorf("open appender for %s: %w", key, err)
	}
	a := &tableAppender{w: have}
	a.app, a.chunk, err = openAppender(raw, p.alias, dataset, columnNames(have), wantTypes(have))
	if err != nil {
		return nil, fmt.Errorf("open appender for %s: %w", key, err)
	}
	l.appenders[key] = a
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
