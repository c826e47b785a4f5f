// Package cluster is the store of an Alidade node in a cluster (issue 18):
// its metadata in PostgreSQL (package postgres), its points in ClickHouse
// (package clickhouse), nothing of either on the node itself. It joins the
// two halves into the one store the server, the planner and the ingest
// pipeline take: the metadata methods are PostgreSQL's, promoted; the
// points methods are ClickHouse's, with what the two must agree on — a
// dataset is recorded in PostgreSQL before its first points go to
// ClickHouse, retention reads every dataset's own — done here. Error
// tracking is both: groups in PostgreSQL, events in ClickHouse, written
// in one PostgreSQL transaction (errors.go).
//
// Errors of a backend that cannot be reached wrap store.ErrUnavailable
// (ClickHouse's through clickhouse.Classify, PostgreSQL's through
// meta.ErrUnavailable), which the server answers with 503.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/postgres"
)

// Points is what the node needs of the ClickHouse store.
type Points interface {
	Ping(ctx context.Context) error
	Close() error
	Append(ctx context.Context, batches []store.Batch) error
	AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error
	Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error)
	ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error
	DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error)
	SizeBytes() int64
	Expire(ctx context.Context, now time.Time, defaultRetention time.Duration, datasets []meta.Dataset) (store.ExpireReport, error)
	Days() []int64
	DayCounts(ctx context.Context, dayStart int64) (map[store.TableDay]int64, error)
	ScanDay(ctx context.Context, dayStart int64, project int64, dataset string, fn func(project int64, p *point.Point) error) error
	SQLSource(project int64, dataset string, argBase int) (string, []any, bool)
	RawSource(project int64, dataset string) string
	QuerySQL(ctx context.Context, query string, args []any) (*clickhouse.Result, error)
	Deduplicates() bool
	Rollups() bool
	RollupsOff() string
	Features() clickhouse.Features
}

var _ Points = (*clickhouse.Store)(nil)

// Cron monitors' check-ins come to every node: each changes the stored
// state under a lock (monitors.SharedStore), never what it remembers.
var _ monitors.SharedStore = (*Store)(nil)

// Store is a cluster node's store. Its metadata methods are the
// PostgreSQL store's.
type Store struct {
	*postgres.Store
	points Points
	idem   postgres.IdemClaimer
}

// Open joins a metadata store and a points store; Close closes both.
func Open(m *postgres.Store, p Points) *Store {
	return &Store{Store: m, points: p, idem: postgres.IdemClaimer{Node: randomNode()}}
}

// Ping checks both halves.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.Store.Ping(ctx); err != nil {
		return err
	}
	return s.points.Ping(ctx)
}

// Close closes both halves.
func (s *Store) Close() error {
	return errors.Join(s.points.Close(), s.Store.Close())
}

// Append records each batch's datasets in PostgreSQL (once: the dataset
// cache answers later writes) and writes the points to ClickHouse.
func (s *Store) Append(ctx context.Context, batches []store.Batch) error {
	return s.append(ctx, batches, store.LogPos{})
}

// append is Append; a pos that is not zero says that the batches come
// from the node's write-ahead log, where they are (the insert then
// carries a token of pos where the server takes one: AppendAt). Their idempotency keys are recorded done after the
// points are in ClickHouse. A failure to record them fails a load from the
// log (the loader loads the group again, which ClickHouse drops as a
// repeat, and records them then), but not a write of the ingest pipeline:
// its points are stored, and failing it would fail every write of its
// group commit; the server records the key again before it answers (see
// server.sharedIdempotency), and a key left pending is taken over after
// IdemStale.
func (s *Store) append(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	logged := !pos.IsZero()
	for _, b := range batches {
		if err := s.ensureDatasets(ctx, b); err != nil {
			return err
		}
	}
	insert := s.points.Append
	if logged {
		insert = func(ctx context.Context, bs []store.Batch) error { return s.points.AppendAt(ctx, bs, pos) }
	}
	if err := clickhouse.Classify(insert(ctx, batches)); err != nil {
		return err
	}
	if err := s.idemDone(ctx, batches); err != nil && logged {
		return err
	}
	return nil
}

func (s *Store) ensureDatasets(ctx context.Context, b store.Batch) error {
	var last string
	for i := range b.Points {
		name := b.Points[i].Dataset
		if name == last {
			continue
		}
		last = name
		if s.Dataset(b.Project, name) != nil {
			continue
		}
		if err := s.EnsureDataset(ctx, b.Project, name); err != nil {
			return fmt.Errorf("record dataset %s: %w", name, err)
		}
	}
	return nil
}

// AppendAt is Append for the write-ahead log's loader. ClickHouse keeps
// no log position with the rows: the node's loader keeps how far its log
// is loaded in its ranges file (loader.Options.Ranges) and loads a group
// again, as the same insert, when it cannot tell whether it was stored;
// Deduplicates says whether ClickHouse then keeps the rows once. On a
// server with insert_deduplication_token the insert carries a token made
// of pos and the rows (clickhouse.DedupToken); pos is not recorded.
func (s *Store) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	return s.append(ctx, batches, pos)
}

// AppendAtLog is AppendAt for one of Alidade's logs (the planner's
// Append, without a log, comes here with the zero position).
func (s *Store) AppendAtLog(ctx context.Context, batches []store.Batch, log int, pos store.LogPos) error {
	return s.append(ctx, batches, pos)
}

// ErrNoLogPositions is LoadedPositions' error: a loader that reads the
// store's positions per day would load every record of its log again.
var ErrNoLogPositions = errors.New("the ClickHouse store records no write-ahead log positions: " +
	"its loader keeps them in its ranges file (loader.Options.Ranges)")

// LoadedPositions fails with ErrNoLogPositions.
func (s *Store) LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error) {
	return nil, ErrNoLogPositions
}

// LoadedPositionsOf is empty for the logs other than the points' (a
// cluster node keeps no error journal); for the points' it fails as
// LoadedPositions does.
func (s *Store) LoadedPositionsOf(ctx context.Context, log int) (map[int64]store.LogPos, error) {
	if log == store.MainLog {
		return nil, ErrNoLogPositions
	}
	return map[int64]store.LogPos{}, nil
}

// Deduplicates reports whether ClickHouse stores the same insert, repeated,
// once (see clickhouse.Store.Deduplicates): whether the write-ahead log's
// replays are exactly once, or at least once.
func (s *Store) Deduplicates() bool { return s.points.Deduplicates() }

// Execute answers a structured query's part from ClickHouse.
func (s *Store) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	res, err := s.points.Execute(ctx, sub)
	return res, clickhouse.Classify(err)
}

// Rollups reports whether Execute answers from ClickHouse's rollup table
// when it covers a Sub (and sets the answer's Source).
func (s *Store) Rollups() bool { return s.points.Rollups() }

// RollupsOff says why Execute does not read the rollup table ("" when it
// does).
func (s *Store) RollupsOff() string { return s.points.RollupsOff() }

// ScanRange reads a dataset's points in [from, to).
func (s *Store) ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error {
	return clickhouse.Classify(s.points.ScanRange(ctx, project, dataset, from, to, fn))
}

// DatasetStats counts a dataset's points.
func (s *Store) DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error) {
	st, err := s.points.DatasetStats(ctx, project, dataset)
	return st, clickhouse.Classify(err)
}

// SizeBytes is the disk ClickHouse's tables take.
func (s *Store) SizeBytes() int64 { return s.points.SizeBytes() }

// Expire removes points past their dataset's retention.
func (s *Store) Expire(ctx context.Context, now time.Time, defaultRetention time.Duration) (store.ExpireReport, error) {
	r, err := s.points.Expire(ctx, now, defaultRetention, s.AllDatasets())
	if err != nil {
		return r, clickhouse.Classify(err)
	}
	// The idempotency keys past their window go with the points.
	if _, err := s.Store.IdemExpire(ctx, now.UnixMilli()-store.IdemWindow); err != nil {
		return r, err
	}
	return r, nil
}

// Days lists the days holding points.
func (s *Store) Days() []int64 { return s.points.Days() }

// DayCounts counts a day's points by project and dataset.
func (s *Store) DayCounts(ctx context.Context, dayStart int64) (map[store.TableDay]int64, error) {
	m, err := s.points.DayCounts(ctx, dayStart)
	return m, clickhouse.Classify(err)
}

// ScanDay reads a day's points.
func (s *Store) ScanDay(ctx context.Context, dayStart int64, project int64, dataset string, fn func(project int64, p *point.Point) error) error {
	return clickhouse.Classify(s.points.ScanDay(ctx, dayStart, project, dataset, fn))
}

// SQLSource is the SQL API's source of a dataset in ClickHouse SQL.
func (s *Store) SQLSource(project int64, dataset string, argBase int) (string, []any, bool) {
	return s.points.SQLSource(project, dataset, argBase)
}

// RawSource is a dataset's points with their timestamps in ms, for the
// web analytics' raw questions (web.ClickHouseRunner).
func (s *Store) RawSource(project int64, dataset string) string {
	return s.points.RawSource(project, dataset)
}

// SQLDialect says that the SQL API prints ClickHouse SQL for this store.
func (s *Store) SQLDialect() string { return "clickhouse" }

// SQLFeatures are what the SQL API's ClickHouse printer may use of the
// servers (the oldest decides; clickhouse.Features).
func (s *Store) SQLFeatures() aesql.ClickHouseFeatures { return s.points.Features().SQL() }

// the server's SQL API asks for SQLFeatures by this method set
var _ interface {
	SQLFeatures() aesql.ClickHouseFeatures
} = (*Store)(nil)

// QueryRows runs SQL the SQL API printed for ClickHouse and returns its
// rows as Go values and ClickHouse's count of the rows before the LIMIT
// (-1 when the query has none).
func (s *Store) QueryRows(ctx context.Context, sql string) ([][]any, int64, error) {
	res, err := s.points.QuerySQL(ctx, sql, nil)
	if err != nil {
		return nil, 0, clickhouse.Classify(err)
	}
	return res.Rows, res.RowsBeforeLimit, nil
}
