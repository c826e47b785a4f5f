package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/alidade/alidade/internal/store"
)

// idemTableName is the table of idempotency records in a day file. It
// cannot be a dataset's name (those are [a-z0-9_]).
const idemTableName = "idempotency-keys"

// idemRef is a record to write in a day file, with its project.
type idemRef struct {
	project int64
	rec     *store.Idem
}

// ensureIdem creates the day file's idempotency table. The caller holds
// ddl's write side.
func (s *Store) ensureIdem(ctx context.Context, p *partition) error {
	if p.idem.Load() {
		return nil
	}
	q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (project INTEGER NOT NULL, idem_key VARCHAR NOT NULL, hash VARCHAR NOT NULL,
		days INTEGER NOT NULL, status INTEGER NOT NULL, body VARCHAR NOT NULL, received BIGINT NOT NULL, PRIMARY KEY (project, idem_key))`,
		p.alias, quoteIdent(idemTableName))
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create the idempotency table of %s: %w", p.path, err)
	}
	p.idem.Store(true)
	return nil
}

// IdemLookup returns, per day among days, the record of key in project's
// day file, when one was received at or after since.
func (s *Store) IdemLookup(ctx context.Context, project int64, key string, days []int64, since int64) (map[int64]store.Idem, error) {
	s.ddl.RLock()
	defer s.ddl.RUnlock()
	out := map[int64]store.Idem{}
	for _, day := range days {
		s.pmu.RLock()
		p := s.parts[dayOf(day)]
		s.pmu.RUnlock()
		if p == nil || !p.idem.Load() {
			continue
		}
		var r store.Idem
		var n int
		var body string
		err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT hash, days, status, body, received FROM %s.%s WHERE project = ? AND idem_key = ? AND received >= ?`,
			p.alias, quoteIdent(idemTableName)), int32(project), key, since).Scan(&r.Hash, &n, &r.Status, &body, &r.At)
		switch {
		case err == nil:
			r.Key, r.Body = key, []byte(body)
			r.Days = make([]int64, n) // only its length is known here
			out[day] = r
		case errors.Is(err, sql.ErrNoRows):
		default:
			return nil, fmt.Errorf("look up idempotency key in %s: %w", p.path, err)
		}
	}
	return out, nil
}

// writeIdem records recs in the day file p, inside the lane's open
// transaction.
func (l *lane) writeIdem(ctx context.Context, p *partition, recs []idemRef) error {
	if len(recs) == 0 {
		return nil
	}
	q := fmt.Sprintf(`INSERT OR REPLACE INTO %s.%s VALUES (?, ?, ?, ?, ?, ?, ?)`, p.alias, quoteIdent(idemTableName))
	for _, r := range recs {
		if _, err := l.conn.ExecContext(ctx, q, int32(r.project), r.rec.Key, r.rec.Hash, len(r.rec.Days), r.rec.Status, string(r.rec.Body), r.rec.At); err != nil {
			return fmt.Errorf("record idempotency key in %s: %w", p.path, err)
		}
	}
	return nil
}
