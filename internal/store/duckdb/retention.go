package duckdb

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store"
)

// Expire enforces retention at now: day files wholly older than the default
// retention are detached and deleted (freeing their disk space at once), and
// datasets with a shorter retention of their own have their older points
// deleted. Longer per-dataset retentions keep their day files alive.
func (s *Store) Expire(ctx context.Context, now time.Time, defaultRetention time.Duration) (store.ExpireReport, error) {
	var rep store.ExpireReport
	s.ddl.Lock()
	defer s.ddl.Unlock()

	longest := defaultRetention
	s.metaMu.Lock()
	for _, d := range s.datasets {
		longest = max(longest, d.Retention)
	}
	s.metaMu.Unlock()
	nowMs := now.UnixMilli()

	// Whole files: a day is expired when its end is before now - retention
	// for every dataset, so the longest retention decides.
	cutoffDay := dayOf(nowMs - longest.Milliseconds())
	s.pmu.RLock()
	var old []*partition
	for day, p := range s.parts {
		if day < cutoffDay {
			old = append(old, p)
		}
	}
	s.pmu.RUnlock()
	sort.Slice(old, func(i, j int) bool { return old[i].day < old[j].day })
	for _, p := range old {
		freed, err := s.dropPartition(ctx, p)
		if err != nil {
			return rep, err
		}
		rep.FilesRemoved++
		rep.BytesFreed += freed
	}

	// Rows: every dataset whose retention is shorter than the longest.
	for _, d := range s.allDatasets() {
		ret := d.Retention
		if ret == 0 {
			ret = defaultRetention
		}
		if ret >= longest {
			continue
		}
		n, err := s.deleteBefore(ctx, d.ProjectID, d.Name, nowMs-ret.Milliseconds())
		if err != nil {
			return rep, err
		}
		if n > 0 {
			rep.RowsDeleted += n
			rep.DatasetsTrimmed++
		}
	}
	return rep, nil
}

func (s *Store) allDatasets() []meta.Dataset {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	out := make([]meta.Dataset, 0, len(s.datasets))
	for _, d := range s.datasets {
		out = append(out, *d)
	}
	sortDatasets(out)
	return out
}

func sortDatasets(ds []meta.Dataset) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].ProjectID != ds[j].ProjectID {
			return ds[i].ProjectID < ds[j].ProjectID
		}
		return ds[i].Name < ds[j].Name
	})
}

// dropPartition detaches a day file and deletes it, returning the bytes freed.
func (s *Store) dropPartition(ctx context.Context, p *partition) (int64, error) {
	s.dropAppenders(func(k string) bool { return strings.HasPrefix(k, p.alias+".") })
	s.pmu.Lock()
	delete(s.parts, p.day)
	s.pmu.Unlock()
	// Measured before DETACH, which checkpoints the WAL into the file and
	// so shrinks what is left to remove.
	var freed int64
	for _, path := range []string{p.path, p.path + ".wal"} {
		if info, err := os.Stat(path); err == nil {
			freed += info.Size()
		}
	}
	if _, err := s.db.ExecContext(ctx, "DETACH DATABASE IF EXISTS "+p.alias); err != nil {
		return 0, fmt.Errorf("detach %s: %w", p.path, err)
	}
	for _, path := range []string{p.path, p.path + ".wal"} {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return freed, fmt.Errorf("remove expired day file: %w", err)
		}
	}
	s.log.Info("expired day file", "file", p.path, "bytes", freed)
	return freed, nil
}

// deleteBefore deletes a project's points of a dataset older than cutoff (ms).
func (s *Store) deleteBefore(ctx context.Context, project int64, dataset string, cutoff int64) (int64, error) {
	views := s.viewsFor(dataset, 0, cutoff)
	var total int64
	for _, v := range views {
		res, err := s.db.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s.%s WHERE project = ? AND ts < ?", v.alias, quoteIdent(dataset)), int32(project), cutoff)
		if err != nil {
			return total, fmt.Errorf("expire %s in %s: %w", dataset, v.alias, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// DatasetStats returns a dataset's point count (weighted by sample interval)
// and first and last timestamps.
func (s *Store) DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error) {
	var st meta.DatasetStats
	views := s.viewsFor(dataset, -1<<62, 1<<62)
	for _, v := range views {
		var n int64
		var first, last *int64
		err := s.db.QueryRowContext(ctx, fmt.Sprintf("SELECT coalesce(sum(si), 0)::BIGINT, min(ts), max(ts) FROM %s.%s WHERE project = ?", v.alias, quoteIdent(dataset)), int32(project)).Scan(&n, &first, &last)
		if err != nil {
			return st, fmt.Errorf("stats of %s: %w", dataset, err)
		}
		if n == 0 {
			continue
		}
		st.Points += n
		if first != nil && (st.First == 0 || *first < st.First) {
			st.First = *first
		}
		if last != nil && *last > st.Last {
			st.Last = *last
		}
	}
	return st, nil
}
