package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/store"
)

// DropDay drops the partition of the UTC day that starts at dayStart (Unix
// ms): every project's points of that day, at once. With a cluster it is
// dropped ON CLUSTER from every shard's points_local. The day's rollup
// rows go with it. A day without
// points is no error. alidade migrate drops so a day it had started to
// copy when it stopped, before it copies the day again.
func (s *Store) DropDay(ctx context.Context, dayStart int64) error {
	defer s.forgetSize()
	day := store.DayStart(dayStart)
	if day < 0 || day >= maxTimestamp {
		return nil // ClickHouse holds no point of such a day
	}
	part := time.UnixMilli(day).UTC().Format(time.DateOnly)
	if err := s.dropPartition(ctx, part); err != nil {
		return fmt.Errorf("drop day %s: %w", part, Classify(err))
	}
	return nil
}

// dropPartition drops a day (YYYY-MM-DD) of the points and of the rollup.
func (s *Store) dropPartition(ctx context.Context, part string) error {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	tables := []string{s.local}
	for _, t := range s.rollupTables() {
		_, local := s.rollupNames(t)
		tables = append(tables, local)
	}
	for _, t := range tables {
		if _, err := s.query(ctx, "ALTER TABLE "+t+on+" DROP PARTITION "+chString(part), nil); err != nil {
			return err
		}
	}
	return nil
}
