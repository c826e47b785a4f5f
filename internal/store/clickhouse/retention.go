package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store"
)

// DropDaysBefore drops the day partitions (of every project) that end at
// or before cutoff: whole UTC days older than it, never a part of a day.
// It returns the days dropped (their starts, Unix ms). With a cluster the
// partitions are dropped ON CLUSTER from every shard's points_local.
func (s *Store) DropDaysBefore(ctx context.Context, cutoff time.Time) ([]int64, error) {
	days, _, err := s.dropDaysBefore(ctx, cutoff)
	return days, err
}

// dropDaysBefore is DropDaysBefore, also returning the bytes on disk of the
// active parts dropped, the points' and the rollup's (summed over the
// shards).
func (s *Store) dropDaysBefore(ctx context.Context, cutoff time.Time) ([]int64, int64, error) {
	defer s.forgetSize()
	last := store.DayStart(cutoff.UnixMilli()) // days before this one end at or before cutoff
	if last <= 0 {
		return nil, 0, nil
	}
	_, localName, _ := strings.Cut(s.local, ".")
	names := []string{chString(localName)}
	for _, t := range s.rollupTables() {
		_, local := s.rollupNames(t)
		_, name, _ := strings.Cut(local, ".")
		names = append(names, chString(name))
	}
	// The day's points and rollup rows go together (dropPartition).
	q := fmt.Sprintf("SELECT partition, sum(bytes_on_disk) FROM %s WHERE database = %s AND table IN (%s) AND active "+
		"AND toDate(partition) < toDate(toDateTime(%d)) GROUP BY partition ORDER BY partition FORMAT TabSeparated",
		s.partsFrom(), chString(s.cfg.Database), strings.Join(names, ", "), min(last, maxTimestamp-1)/1000)
	out, err := s.query(ctx, q, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("retention: list the day partitions: %w", err)
	}
	var days []int64
	var freed int64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		part, size, _ := strings.Cut(line, "\t")
		d, err := time.Parse(time.DateOnly, part)
		n, err2 := strconv.ParseInt(size, 10, 64)
		if err != nil || err2 != nil {
			return days, freed, fmt.Errorf("retention: unreadable partition %q", line)
		}
		if err := s.dropPartition(ctx, part); err != nil {
			return days, freed, fmt.Errorf("retention: drop day %s: %w", part, err)
		}
		days = append(days, d.UnixMilli())
		freed += n
	}
	return days, freed, nil
}

// Expire enforces retention at now. The metadata (which datasets exist,
// their retention; meta.Dataset.Retention 0 means defaultRetention) is not
// the points store's: the caller passes every dataset of every project.
//
// Whole UTC days older than the longest retention in force are dropped by
// partition (DropDaysBefore): FilesRemoved counts the days, BytesFreed
// their parts' bytes on disk. A dataset whose retention is shorter has its
// older points deleted by one ALTER TABLE ... DELETE (a mutation; ON
// CLUSTER with a cluster) covering every such dataset: RowsDeleted counts
// the rows it matched, DatasetsTrimmed the datasets that had any.
//
// On a server with lightweight deletes (Features.LightweightDelete) the
// statement is DELETE FROM instead, which marks the rows deleted without
// rewriting the parts (merges drop them later).
//
// Mutations run in the background; Expire waits until the server (every
// shard) has finished them, polling system.mutations, so that when it
// returns the points are gone from every answer, as with the DuckDB store.
// Polling works on every version: 18.16 has no mutations_sync. A mutation
// rewrites every part of the table that holds points older than the
// earliest cutoff (18.16 cannot limit it to partitions: DELETE IN
// PARTITION is 20.x), so its cost is a rewrite of the table's data up to
// the day of the longest cut; one mutation per pass, not one per dataset.
// Points of those datasets written between the count and the mutation are
// deleted too but not counted.
func (s *Store) Expire(ctx context.Context, now time.Time, defaultRetention time.Duration, datasets []meta.Dataset) (store.ExpireReport, error) {
	var rep store.ExpireReport
	defer s.forgetSize()
	longest := defaultRetention
	for _, d := range datasets {
		longest = max(longest, d.Retention)
	}
	nowMs := now.UnixMilli()
	days, freed, err := s.dropDaysBefore(ctx, time.UnixMilli(nowMs-longest.Milliseconds()))
	rep.FilesRemoved, rep.BytesFreed = len(days), freed
	if err != nil {
		return rep, err
	}

	var conds, rconds []string
	for _, d := range datasets {
		ret := d.Retention
		if ret == 0 {
			ret = defaultRetention
		}
		if ret >= longest {
			continue
		}
		cutoff := min(nowMs-ret.Milliseconds(), maxTimestamp)
		if cutoff <= 0 {
			continue
		}
		cond := fmt.Sprintf("project = %d AND dataset = %s AND timestamp <= toDateTime(%d) AND %s < %d",
			d.ProjectID, chString(d.Name), (cutoff-1)/1000, tsMs, cutoff)
		out, err := s.query(ctx, "SELECT count() FROM "+s.table+" WHERE "+cond, nil)
		if err != nil {
			return rep, fmt.Errorf("retention: count the expired points of %s: %w", d.Name, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			return rep, fmt.Errorf("clickhouse %s: retention: unreadable count %q", s.cfg.HTTP, out)
		}
		if n > 0 {
			conds = append(conds, "("+cond+")")
			rconds = append(rconds, fmt.Sprintf("(project = %d AND dataset = %s AND minute < toDateTime(%d - %%d))", d.ProjectID, chString(d.Name), cutoff/1000))
			rep.RowsDeleted += n
			rep.DatasetsTrimmed++
		}
	}
	if len(conds) == 0 {
		return rep, nil
	}
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	if _, err := s.query(ctx, deleteStatement(s.features, s.local, on, strings.Join(conds, " OR ")), nil); err != nil {
		return store.ExpireReport{FilesRemoved: rep.FilesRemoved, BytesFreed: rep.BytesFreed},
			fmt.Errorf("retention: delete the expired points of %d datasets: %w", len(conds), err)
	}
	// The rollup's minutes that end at or before a cutoff go too; the one
	// a cutoff falls in stays whole (it holds later points too), so a
	// rollup answer over it still counts its expired points.
	for _, t := range s.rollupTables() {
		_, rlocal := s.rollupNames(t)
		// Rows whose bucket ends at or before the cutoff.
		cond := strings.ReplaceAll(strings.Join(rconds, " OR "), "%d", strconv.FormatInt(t.ms/1000-1, 10))
		if _, err := s.query(ctx, "ALTER TABLE "+rlocal+on+" DELETE WHERE "+cond, nil); err != nil {
			return rep, fmt.Errorf("retention: delete the expired rollups of %d datasets: %w", len(rconds), err)
		}
	}
	for _, t := range s.rollupTables() {
		_, rlocal := s.rollupNames(t)
		if err := s.waitMutationsOf(ctx, rlocal); err != nil {
			return rep, err
		}
	}
	if err := s.waitMutationsOf(ctx, s.local); err != nil {
		return rep, err
	}
	for _, t := range s.rollupTables() {
		_, rlocal := s.rollupNames(t)
		if err := s.waitMutationsOf(ctx, rlocal); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// waitMutationsOf waits until no mutation of table (db.name) is pending on
// any shard.
func (s *Store) waitMutationsOf(ctx context.Context, table string) error {
	from := "system.mutations"
	if s.cfg.Cluster != "" {
		from = "cluster(" + s.cfg.Cluster + ", system.mutations)"
	}
	_, localName, _ := strings.Cut(table, ".")
	q := fmt.Sprintf("SELECT count() FROM %s WHERE database = %s AND table = %s AND NOT is_done",
		from, chString(s.cfg.Database), chString(localName))
	wait := 20 * time.Millisecond
	for {
		out, err := s.query(ctx, q, nil)
		if err != nil {
			return fmt.Errorf("retention: wait for the deletion: %w", err)
		}
		if strings.TrimSpace(out) == "0" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("retention: the deletion of expired points is still running on the server: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// sizeTTL is how long SizeBytes answers from its last reading: a scrape
// every few seconds costs one query of system.parts per sizeTTL. The
// store's own writes make it read again; other nodes' show within sizeTTL.
const sizeTTL = 10 * time.Second

// SizeBytes is the bytes on disk of the active parts of Alidade's tables
// (the database in the URL), summed over every shard with a cluster; -1
// when the server cannot say. Parts a merge, mutation or drop made
// outdated are not counted: the server deletes them itself (after
// old_parts_lifetime, 8 minutes by default).
func (s *Store) SizeBytes() int64 {
	s.sizeMu.Lock()
	defer s.sizeMu.Unlock()
	gen := s.writes.Load()
	if !s.sizeAt.IsZero() && time.Since(s.sizeAt) < sizeTTL && s.sizeGen == gen {
		return s.size
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := fmt.Sprintf("SELECT sum(bytes_on_disk) FROM %s WHERE database = %s AND active", s.partsFrom(), chString(s.cfg.Database))
	out, err := s.query(ctx, q, nil)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		return -1
	}
	s.size, s.sizeAt, s.sizeGen = n, time.Now(), gen
	return n
}

// forgetSize makes the next SizeBytes read the size again.
func (s *Store) forgetSize() { s.writes.Add(1) }
