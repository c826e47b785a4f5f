package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/store"
)

// DropDaysBefore drops the day partitions (of every project) that end at
// or before cutoff: whole UTC days older than it, never a part of a day.
// It returns the days dropped (their starts, Unix ms). With a cluster the
// partitions are dropped ON CLUSTER from every shard's points_local.
// Per-project and per-dataset retention shorter than the default is not
// a partition drop (a later slice: ALTER ... DELETE, or TTL on 19.6+).
func (s *Store) DropDaysBefore(ctx context.Context, cutoff time.Time) ([]int64, error) {
	last := store.DayStart(cutoff.UnixMilli()) // days before this one end at or before cutoff
	_, localName, _ := strings.Cut(s.local, ".")
	// system.parts of the server asked; with a cluster the days of all
	// shards (clusterAllReplicas does not exist in 18.16: the shards'
	// partitions are read through remote() on the cluster).
	from := "system.parts"
	if s.cfg.Cluster != "" {
		from = "cluster(" + s.cfg.Cluster + ", system.parts)"
	}
	q := fmt.Sprintf("SELECT DISTINCT partition FROM %s WHERE database = '%s' AND table = '%s' AND active "+
		"AND toDate(partition) < toDate(%d) ORDER BY partition", from, s.cfg.Database, localName, last/1000)
	out, err := s.query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("retention: list the day partitions: %w", err)
	}
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	var days []int64
	for _, part := range strings.Fields(out) {
		d, err := time.Parse(time.DateOnly, part)
		if err != nil {
			return days, fmt.Errorf("retention: unreadable partition %q", part)
		}
		if _, err := s.query(ctx, "ALTER TABLE "+s.local+on+" DROP PARTITION '"+part+"'", nil); err != nil {
			return days, fmt.Errorf("retention: drop day %s: %w", part, err)
		}
		days = append(days, d.UnixMilli())
	}
	return days, nil
}
