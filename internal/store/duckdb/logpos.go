package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/alidade/alidade/internal/store"
)

// logPosTableName is the table of a day file that holds the write-ahead
// log position its rows were loaded up to. It cannot be a dataset's name.
const logPosTableName = "wal-position"

// ensureLogPos creates the day file's position table. The caller holds
// ddl's write side.
func (s *Store) ensureLogPos(ctx context.Context, p *partition) error {
	if p.logPos.Load() {
		return nil
	}
	q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (id INTEGER PRIMARY KEY, seg UBIGINT NOT NULL, off BIGINT NOT NULL)`,
		p.alias, quoteIdent(logPosTableName))
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create the log position table of %s: %w", p.path, err)
	}
	p.logPos.Store(true)
	return nil
}

// writeLogPos records a log's pos in the day file p (the row of id log), inside the lane's open
// transaction.
func (l *lane) writeLogPos(ctx context.Context, p *partition, log int, pos store.LogPos) error {
	if pos.IsZero() {
		return nil
	}
	q := fmt.Sprintf(`INSERT OR REPLACE INTO %s.%s VALUES (?, ?, ?)`, p.alias, quoteIdent(logPosTableName))
	if _, err := l.conn.ExecContext(ctx, q, log, pos.Seg, pos.Off); err != nil {
		return fmt.Errorf("record the log position in %s: %w", p.path, err)
	}
	return nil
}

// LoadedPositions returns, per day (its start, Unix ms) whose file has one,
// the write-ahead log position its rows were loaded up to (AppendAt).
func (s *Store) LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error) {
	return s.LoadedPositionsOf(ctx, store.MainLog)
}

// LoadedPositionsOf is LoadedPositions for one of Alidade's logs.
func (s *Store) LoadedPositionsOf(ctx context.Context, log int) (map[int64]store.LogPos, error) {
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	s.pmu.RLock()
	var parts []*partition
	for _, p := range s.parts {
		if p.logPos.Load() {
			parts = append(parts, p)
		}
	}
	s.pmu.RUnlock()
	out := map[int64]store.LogPos{}
	for _, p := range parts {
		var pos store.LogPos
		err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT seg, off FROM %s.%s WHERE id = ?`, p.alias, quoteIdent(logPosTableName)), log).Scan(&pos.Seg, &pos.Off)
		switch {
		case err == nil:
			out[p.day*dayMs] = pos
		case errors.Is(err, sql.ErrNoRows):
		default:
			return nil, fmt.Errorf("read the log position of %s: %w", p.path, err)
		}
	}
	return out, nil
}
