package planner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/rollup"
	"github.com/alidade/alidade/internal/store"
)

// A day file is
//
//	magic "ALDDAY1\n"
//	uvarint(n) n × (varint(project) uvarint(len) dataset uvarint(rows))
//	crc32c of the above, 4 bytes little-endian
//	a rollup snapshot of [day, day+24h) (with its own checksum)
//
// The counts are the rows the store held for each dataset of the day when
// the snapshot was taken; every one of them is in the snapshot's cells.
const dayMagic = "ALDDAY1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func dayFileName(day int64) string {
	return time.UnixMilli(day).UTC().Format("2006-01-02") + ".rollup"
}

func (p *Planner) dayPath(day int64) string {
	return filepath.Join(p.opts.Dir, dayFileName(day))
}

// snapshotDays lists the days that have a snapshot file.
func (p *Planner) snapshotDays() ([]int64, error) {
	entries, err := os.ReadDir(p.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("list rollup snapshots: %w", err)
	}
	var days []int64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".rollup")
		if !ok || e.IsDir() {
			continue
		}
		t, err := time.Parse("2006-01-02", name)
		if err != nil {
			p.log.Warn("ignoring unexpected file in rollup directory", "file", e.Name())
			continue
		}
		days = append(days, t.UnixMilli())
	}
	return days, nil
}

// spec returns the spec a dataset's rollup must have now.
func (p *Planner) spec(project int64, dataset string) *rollup.Spec {
	f := p.opts.Spec
	if f == nil {
		f = rollup.DefaultSpec
	}
	s := f(project, dataset)
	if s == nil || s.Validate() != nil {
		return &rollup.Spec{}
	}
	return s
}

// load builds the live rollups: each day the store holds from its snapshot
// when that matches the store, else from raw points; empty rollups for the
// time between; all merged into one that covers every time.
func (p *Planner) load(ctx context.Context) error {
	start := time.Now()
	snaps, err := p.snapshotDays()
	if err != nil {
		return err
	}
	stored := p.st.Days()
	days := slices.Sorted(maps.Keys(setOf(append(slices.Clone(stored), snaps...))))
	inStore := setOf(stored)
	now := p.opts.Now().UnixMilli()

	var parts []*rollup.Rollup
	first := int64(math.MaxInt64)
	if len(days) > 0 {
		first = days[0]
	}
	parts = append(parts, rollup.Build(p.rollupOptions(0), math.MinInt64, first, nil))
	prevEnd := first
	loaded, rebuilt, rebuiltPoints := 0, 0, int64(0)
	for _, day := range days {
		if day > prevEnd {
			parts = append(parts, rollup.Build(p.rollupOptions(0), prevEnd, day, nil))
		}
		prevEnd = day + dayMs
		if !inStore[day] {
			// The store dropped the day (retention): so does the rollup.
			if err := os.Remove(p.dayPath(day)); err != nil && !os.IsNotExist(err) {
				return err
			}
			parts = append(parts, rollup.Build(p.rollupOptions(0), day, day+dayMs, nil))
			continue
		}
		counts, err := p.st.DayCounts(ctx, day)
		if err != nil {
			return err
		}
		maps.Copy(p.counts, counts)
		r, why := p.loadDay(day, counts)
		if r != nil {
			loaded++
			parts = append(parts, r)
			p.written[day] = p.opts.Now()
			continue
		}
		p.log.Info("rebuilding the rollups of a day from raw points", "day", dayName(day), "reason", why)
		t0 := time.Now()
		r, n, err := p.buildDay(ctx, day, 0, "", now)
		if err != nil {
			return err
		}
		p.log.Info("rebuilt the rollups of a day", "day", dayName(day), "points", n, "elapsed", time.Since(t0).Round(time.Millisecond))
		rebuilt++
		rebuiltPoints += n
		p.dirty[day] = true
		parts = append(parts, r)
	}
	live := rollup.New(p.rollupOptions(prevEnd))
	if len(days) == 0 {
		live = rollup.New(p.rollupOptions(math.MinInt64))
		parts = nil
	}
	parts = append(parts, live)
	r, err := mergeAll(parts)
	if err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	p.r = r
	if len(days) > 0 {
		p.frontier.Store(min(now, days[len(days)-1]+dayMs))
	}
	p.loadStats = LoadStats{DaysLoaded: loaded, DaysRebuilt: rebuilt, PointsRead: rebuiltPoints}
	p.seal()
	p.log.Info("rollups ready", "days_loaded", loaded, "days_rebuilt", rebuilt, "points_read", rebuiltPoints,
		"elapsed", time.Since(start).Round(time.Millisecond), "size", p.r.Stats().String())
	return nil
}

func setOf(days []int64) map[int64]bool {
	m := make(map[int64]bool, len(days))
	for _, d := range days {
		m[d] = true
	}
	return m
}

func dayName(day int64) string {
	return time.UnixMilli(day).UTC().Format("2006-01-02")
}

// mergeAll merges rollups of adjacent ranges, in order, pairwise (so each
// cell is copied about log2(len) times, not len times).
func mergeAll(parts []*rollup.Rollup) (*rollup.Rollup, error) {
	for len(parts) > 1 {
		next := make([]*rollup.Rollup, 0, (len(parts)+1)/2)
		for i := 0; i < len(parts); i += 2 {
			if i+1 == len(parts) {
				next = append(next, parts[i])
				continue
			}
			if err := parts[i].Merge(parts[i+1]); err != nil {
				return nil, err
			}
			next = append(next, parts[i])
		}
		parts = next
	}
	return parts[0], nil
}

// loadDay reads the snapshot of day; it returns nil and why when there is
// none, it is unreadable, or it does not match the store's counts or the
// current specs.
func (p *Planner) loadDay(day int64, counts map[store.TableDay]int64) (*rollup.Rollup, string) {
	data, err := os.ReadFile(p.dayPath(day))
	if os.IsNotExist(err) {
		return nil, "no snapshot"
	}
	if err != nil {
		return nil, err.Error()
	}
	snapCounts, rest, err := decodeDayHeader(data, day)
	if err != nil {
		return nil, err.Error()
	}
	if !maps.Equal(snapCounts, counts) {
		var sn, sc int64
		for _, n := range snapCounts {
			sn += n
		}
		for _, n := range counts {
			sc += n
		}
		return nil, fmt.Sprintf("the snapshot holds %d points, the store %d (or they differ by dataset)", sn, sc)
	}
	r, err := rollup.Load(bytes.NewReader(rest), p.rollupOptions(0))
	if err != nil {
		return nil, err.Error()
	}
	if from, end := r.Range(); from != day || end != day+dayMs {
		return nil, "the snapshot covers another range"
	}
	for k := range counts {
		if !r.Spec(k.Project, k.Dataset).Equal(p.spec(k.Project, k.Dataset)) {
			return nil, fmt.Sprintf("the rollup spec of dataset %q changed", k.Dataset)
		}
		if from, end := r.Coverage(k.Project, k.Dataset); from != day || end != day+dayMs {
			return nil, fmt.Sprintf("the snapshot of dataset %q covers part of the day", k.Dataset)
		}
	}
	return r, ""
}

func decodeDayHeader(data []byte, day int64) (map[store.TableDay]int64, []byte, error) {
	bad := func(what string) error { return fmt.Errorf("snapshot header: %s", what) }
	if !bytes.HasPrefix(data, []byte(dayMagic)) {
		return nil, nil, bad("not an Alidade day snapshot")
	}
	b := data[len(dayMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, nil, bad("bad count")
	}
	b = b[k:]
	out := make(map[store.TableDay]int64, n)
	for range n {
		project, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, bad("truncated")
		}
		b = b[k:]
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, nil, bad("truncated")
		}
		name := string(b[k : k+int(l)])
		b = b[k+int(l):]
		rows, k := binary.Uvarint(b)
		if k <= 0 || rows > math.MaxInt64 {
			return nil, nil, bad("truncated")
		}
		b = b[k:]
		key := store.TableDay{Project: project, Dataset: name, Day: day}
		if _, dup := out[key]; dup {
			return nil, nil, bad("a dataset repeats")
		}
		out[key] = int64(rows)
	}
	headerLen := len(data) - len(b)
	if len(b) < 4 {
		return nil, nil, bad("truncated")
	}
	if crc32.Checksum(data[:headerLen], castagnoli) != binary.LittleEndian.Uint32(b) {
		return nil, nil, bad("checksum mismatch")
	}
	return out, b[4:], nil
}

func encodeDayHeader(counts map[store.TableDay]int64) []byte {
	b := []byte(dayMagic)
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b store.TableDay) int {
		if a.Project != b.Project {
			return int(min(max(a.Project-b.Project, -1), 1))
		}
		return strings.Compare(a.Dataset, b.Dataset)
	})
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendVarint(b, k.Project)
		b = binary.AppendUvarint(b, uint64(len(k.Dataset)))
		b = append(b, k.Dataset...)
		b = binary.AppendUvarint(b, uint64(counts[k]))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errStop = errors.New("stop")

// scan yields the points of day (of dataset and project, or all) from the
// store; *errp receives the store's error.
func (p *Planner) scan(ctx context.Context, day, project int64, dataset string, n *int64, errp *error) iter.Seq2[int64, *point.Point] {
	return func(yield func(int64, *point.Point) bool) {
		err := p.st.ScanDay(ctx, day, project, dataset, func(pr int64, pt *point.Point) error {
			*n++
			if !yield(pr, pt) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			*errp = err
		}
	}
}

// buildDay rolls up the raw points of day (of one dataset and project, or
// all); the hours after now stay open.
func (p *Planner) buildDay(ctx context.Context, day, project int64, dataset string, now int64) (*rollup.Rollup, int64, error) {
	var n int64
	var err error
	pts := p.scan(ctx, day, project, dataset, &n, &err)
	var r *rollup.Rollup
	if dataset == "" {
		r = rollup.BuildSealed(p.rollupOptions(0), day, day+dayMs, now-5*minuteMs, pts)
	} else {
		r = rollup.BuildTable(p.rollupOptions(0), project, dataset, day, day+dayMs, func(yield func(*point.Point) bool) {
			for _, pt := range pts {
				if !yield(pt) {
					return
				}
			}
		})
	}
	if err != nil {
		return nil, n, fmt.Errorf("rebuild rollups of %s: %w", dayName(day), err)
	}
	return r, n, nil
}

// writeDirty writes the snapshots of stale days: closed days at once, the
// current day every SnapshotEvery, every day when all is set. While a
// rebuild runs, snapshots wait.
func (p *Planner) writeDirty(ctx context.Context, all bool) error {
	p.snapMu.Lock() // the upkeep loop and Close may both get here
	defer p.snapMu.Unlock()
	now := p.opts.Now()
	nowMs := now.UnixMilli()
	p.mu.Lock()
	if len(p.captures) > 0 {
		p.mu.Unlock()
		return nil
	}
	var days []int64
	for d := range p.dirty {
		closed := d+dayMs <= nowMs-5*minuteMs
		if all || closed || now.Sub(p.written[d]) >= p.opts.SnapshotEvery {
			days = append(days, d)
		}
	}
	p.mu.Unlock()
	slices.Sort(days)
	var errs []error
	for _, d := range days {
		if err := ctx.Err(); err != nil && !all {
			return err
		}
		if err := p.writeDay(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeDay writes the snapshot of day atomically (temporary file, fsync,
// rename). The counts are read before the cells, so the cells hold at
// least every counted point; a point rolled up but not yet counted makes
// the counts disagree with the store at the next start, and the day is
// rebuilt then.
func (p *Planner) writeDay(day int64) error {
	p.mu.Lock()
	counts := map[store.TableDay]int64{}
	for k, n := range p.counts {
		if k.Day == day {
			counts[k] = n
		}
	}
	delete(p.dirty, day)
	p.written[day] = p.opts.Now()
	p.mu.Unlock()
	err := p.writeDayFile(day, counts)
	if err != nil {
		p.mu.Lock()
		p.dirty[day] = true
		p.mu.Unlock()
	}
	return err
}

func (p *Planner) writeDayFile(day int64, counts map[store.TableDay]int64) error {
	path := p.dayPath(day)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("write rollup snapshot: %w", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = w.Write(encodeDayHeader(counts))
	if err == nil {
		err = p.r.Snapshot(w, day, day+dayMs)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(p.opts.Dir)
	}
	if err != nil {
		return fmt.Errorf("write rollup snapshot %s: %w", filepath.Base(path), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// afterExpire forgets the days the store dropped, and recounts the days
// where the store may have deleted some datasets' older points.
func (p *Planner) afterExpire(ctx context.Context, rowsDeleted bool) error {
	inStore := setOf(p.st.Days())
	nowMs := p.opts.Now().UnixMilli()
	recount := map[int64]bool{}
	p.mu.Lock()
	for k := range p.counts {
		switch {
		case !inStore[k.Day]:
			delete(p.counts, k)
		case rowsDeleted && k.Day < nowMs-p.retention(k.Project, k.Dataset).Milliseconds():
			recount[k.Day] = true
		}
	}
	for d := range p.dirty {
		if !inStore[d] {
			delete(p.dirty, d)
			delete(p.written, d)
		}
	}
	p.mu.Unlock()
	snaps, err := p.snapshotDays()
	if err != nil {
		return err
	}
	for _, d := range snaps {
		if !inStore[d] {
			if err := os.Remove(p.dayPath(d)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	for d := range recount {
		// Hold commits off so that the count and the store agree.
		p.commit.Lock()
		counts, err := p.st.DayCounts(ctx, d)
		if err == nil {
			p.mu.Lock()
			for k := range p.counts {
				if k.Day == d {
					delete(p.counts, k)
				}
			}
			maps.Copy(p.counts, counts)
			p.dirty[d] = true
			p.mu.Unlock()
		}
		p.commit.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
