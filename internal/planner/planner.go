// Package planner owns the rollups of a running server. It sits between
// the ingest pipeline and the store: every commit goes to the store first
// (through the optional sampler) and then, whole, into the rollups, so
// rollups count every point even when the store keeps a sample. It answers
// each query Sub from rollups when they cover it and from raw points
// otherwise, and says which in SubResult.Source. It keeps the rollups
// durable beside the day files: one snapshot file per UTC day, holding the
// day's cells and how many points the store held for each dataset when the
// snapshot was taken. At start a snapshot whose counts still match the
// store is loaded; any other day is rebuilt from its raw points.
package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/rollup"
	"github.com/alidade/alidade/internal/store"
)

const (
	minuteMs = int64(60_000)
	hourMs   = int64(3_600_000)
	dayMs    = int64(86_400_000)
)

// Store is what the planner needs of the raw store.
type Store interface {
	Append(ctx context.Context, batches []store.Batch) error
	// AppendAt is Append recording that the write-ahead log is loaded up
	// to pos, in every day file written, in the same transactions.
	AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error
	// AppendAtLog is AppendAt for the records of one of Alidade's logs
	// (store.MainLog, store.ErrorJournal), whose positions are kept apart.
	AppendAtLog(ctx context.Context, batches []store.Batch, log int, pos store.LogPos) error
	Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error)
	// Days lists the start (Unix ms) of every day holding points.
	Days() []int64
	// DayCounts counts the rows of each project's datasets on a day.
	DayCounts(ctx context.Context, dayStart int64) (map[store.TableDay]int64, error)
	// ScanDay reads the points of a day (of one dataset and project, or all).
	ScanDay(ctx context.Context, dayStart int64, project int64, dataset string, fn func(project int64, p *point.Point) error) error
	// LoadedPositions returns how far each day file was loaded from the
	// write-ahead log (see AppendAt).
	LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error)
	// LoadedPositionsOf is LoadedPositions for one of Alidade's logs.
	LoadedPositionsOf(ctx context.Context, log int) (map[int64]store.LogPos, error)
	// IdemLookup returns the records of an idempotency key among days.
	IdemLookup(ctx context.Context, project int64, key string, days []int64, since int64) (map[int64]store.Idem, error)
	// ScanRange reads the points of one project's dataset in [from, to).
	ScanRange(ctx context.Context, project int64, dataset string, from, to int64, fn func(p *point.Point)) error
	Expire(ctx context.Context, now time.Time, defaultRetention time.Duration) (store.ExpireReport, error)
	Dataset(project int64, name string) *meta.Dataset
}

// Options configure a Planner.
type Options struct {
	// Dir holds the snapshot files; required unless Disabled.
	Dir string
	// Disabled turns rollups off: every query reads raw points.
	Disabled bool
	// Spec returns the rollup spec of a dataset; nil means rollup.DefaultSpec.
	Spec func(project int64, dataset string) *rollup.Spec
	// Sample, when set, picks the points the store keeps from a commit;
	// rollups still see every point. Flush returns what Sample holds back
	// (the last open group of each sampled index value); Close commits it.
	Sample func(batches []store.Batch, now time.Time) []store.Batch
	Flush  func() []store.Batch
	// Retention is the default retention (per-dataset overrides come from
	// the store's dataset records).
	Retention time.Duration
	// KeepMinutes is how long minute cells are kept before only hours and
	// days remain (default 6h).
	KeepMinutes time.Duration
	// SnapshotEvery is how often the current day's snapshot is rewritten
	// while points arrive (default 10m); closed days are rewritten at the
	// next tick after a late point.
	SnapshotEvery time.Duration
	// CheckpointIdle is how long a day file goes without writes before
	// upkeep checkpoints it (default 30s), when the store can.
	CheckpointIdle time.Duration
	// MaxCellsPerMinute and MaxSeries bound the rollups' memory (see
	// rollup.Options); 0 keeps rollup's defaults.
	MaxCellsPerMinute, MaxSeries int
	Logger                       *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Planner feeds, persists and queries the rollups.
type Planner struct {
	st   Store
	opts Options
	log  *slog.Logger
	r    *rollup.Rollup // nil when disabled

	// commit is held for reading by every commit (store append, rollup
	// add, count) and for writing where the planner needs the store and
	// the rollups to agree (starting and finishing a rebuild).
	commit sync.RWMutex
	// rebuildMu runs one rebuild at a time; snapMu one snapshot writer.
	rebuildMu, snapMu sync.Mutex

	mu       sync.Mutex
	counts   map[store.TableDay]int64 // rows the store holds
	dirty    map[int64]bool           // days whose snapshot is stale
	written  map[int64]time.Time      // when each day's snapshot was last written
	captures []*capture               // rebuilds in progress
	names    map[string]string        // dataset names, copied (see name)

	loadStats LoadStats

	// frontier is the latest timestamp committed (Unix ms). Upkeep seals
	// and compacts behind it, not behind the clock: a backfill of old
	// points, oldest first, then finds its hours open, as live points do.
	frontier atomic.Int64
	// sealedAt is the edge of the last seal; upkeepMu runs one at a time.
	sealedAt atomic.Int64
	upkeepMu sync.Mutex
	// sealReq asks the sealer goroutine to seal behind the frontier; stop
	// ends it, and sealerDone says it has.
	sealReq          chan struct{}
	stop, sealerDone chan struct{}
	stopOnce         sync.Once
}

// LoadStats says how Open found the rollups of each day.
type LoadStats struct {
	DaysLoaded  int   // from a snapshot matching the store
	DaysRebuilt int   // from raw points
	PointsRead  int64 // raw points read to rebuild
}

// Loaded reports how Open found the rollups.
func (p *Planner) Loaded() LoadStats { return p.loadStats }

// Open loads or rebuilds the rollups of every day the store holds, and
// returns a planner ready for commits. It reads every day's point counts;
// a day without a matching snapshot is read in full (progress is logged).
func Open(ctx context.Context, st Store, opts Options) (*Planner, error) {
	if opts.KeepMinutes <= 0 {
		opts.KeepMinutes = 6 * time.Hour
	}
	if opts.SnapshotEvery <= 0 {
		opts.SnapshotEvery = 10 * time.Minute
	}
	if opts.CheckpointIdle <= 0 {
		opts.CheckpointIdle = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retention <= 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Planner{
		st: st, opts: opts, log: log,
		counts:  map[store.TableDay]int64{},
		names:   map[string]string{},
		dirty:   map[int64]bool{},
		written: map[int64]time.Time{},
	}
	if opts.Disabled {
		return p, nil
	}
	if opts.Dir == "" {
		return nil, errors.New("planner: no snapshot directory")
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create rollup directory: %w", err)
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	p.sealReq = make(chan struct{}, 1)
	p.stop, p.sealerDone = make(chan struct{}), make(chan struct{})
	go p.sealer()
	return p, nil
}

// sealer seals when a commit asks: off the commit path, so that a
// backfill's commits do not wait for the hours it completes to be built.
func (p *Planner) sealer() {
	defer close(p.sealerDone)
	for {
		select {
		case <-p.stop:
			return
		case <-p.sealReq:
		}
		p.upkeepMu.Lock()
		p.seal()
		p.upkeepMu.Unlock()
	}
}

// stopSealer ends the sealer goroutine and waits for it.
func (p *Planner) stopSealer() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.sealerDone
}

// rollupOptions are the options of every Rollup the planner makes.
func (p *Planner) rollupOptions(coverFrom int64) rollup.Options {
	return rollup.Options{
		Spec:              p.opts.Spec,
		CoverFrom:         coverFrom,
		MaxCellsPerMinute: p.opts.MaxCellsPerMinute,
		MaxSeries:         p.opts.MaxSeries,
	}
}

// Stats describes the rollups in memory (zero when they are off).
func (p *Planner) Stats() rollup.Stats {
	if p.r == nil {
		return rollup.Stats{}
	}
	return p.r.Stats()
}

// Enabled reports whether rollups are on.
func (p *Planner) Enabled() bool { return p.r != nil }

// Append commits batches to the store (the sampled part, when sampling is
// on) and then rolls every point up. When it returns nil the points are
// durable in the store; the rollups are rebuilt from them after a crash.
func (p *Planner) Append(ctx context.Context, batches []store.Batch) error {
	return p.AppendAt(ctx, batches, store.LogPos{})
}

// LoadedPositions returns how far each day file was loaded from the
// write-ahead log.
func (p *Planner) LoadedPositions(ctx context.Context) (map[int64]store.LogPos, error) {
	return p.st.LoadedPositions(ctx)
}

// LoadedPositionsOf is LoadedPositions for one of Alidade's logs.
func (p *Planner) LoadedPositionsOf(ctx context.Context, log int) (map[int64]store.LogPos, error) {
	return p.st.LoadedPositionsOf(ctx, log)
}

// AppendAt is Append for batches the loader read from the write-ahead log
// up to pos: the store records pos with the rows of every day written.
func (p *Planner) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	return p.AppendAtLog(ctx, batches, store.MainLog, pos)
}

// AppendAtLog is AppendAt for the records of one of Alidade's logs.
func (p *Planner) AppendAtLog(ctx context.Context, batches []store.Batch, log int, pos store.LogPos) error {
	p.commit.RLock()
	defer p.commit.RUnlock()
	batches, err := p.dedupe(ctx, batches)
	if err != nil {
		return err
	}
	stored := batches
	if p.opts.Sample != nil {
		stored = p.opts.Sample(batches, p.opts.Now())
		// The records go in every day of their writes, sampled or not.
		for i := range batches {
			if batches[i].Idem != nil {
				stored = append(stored, store.Batch{Project: batches[i].Project, Idem: batches[i].Idem})
			}
		}
	}
	if err := p.st.AppendAtLog(ctx, stored, log, pos); err != nil {
		// The days the store committed before it failed are stored:
		// roll them up, or the rollups would miss them until a restart
		// (a retry, from the log, loads only the other days).
		var pe *store.PartialCommitError
		if p.r != nil && errors.As(err, &pe) {
			p.rollUp(onDays(batches, pe.Committed), onDays(stored, pe.Committed))
		}
		return err
	}
	if p.r == nil {
		return nil
	}
	p.rollUp(batches, stored)
	return nil
}

// rollUp adds committed points to the rollups (batches: every point, also
// those sampling did not store) and to the per-day counts (stored).
func (p *Planner) rollUp(batches, stored []store.Batch) {
	for i := range batches {
		p.r.AddBatch(batches[i].Project, batches[i].Points)
	}
	p.count(stored)
	// A backfill moves the frontier by days a minute: seal and compact
	// behind it as it moves, so minute cells stay a few hours deep.
	if p.frontier.Load()-p.sealedAt.Load() > hourMs {
		select {
		case p.sealReq <- struct{}{}:
		default: // a request is pending already
		}
	}
}

// onDays returns the points of batches that fall in days.
func onDays(batches []store.Batch, days []int64) []store.Batch {
	var out []store.Batch
	for _, b := range batches {
		var pts []point.Point
		for _, pt := range b.Points {
			if slices.Contains(days, store.DayStart(pt.Timestamp)) {
				pts = append(pts, pt)
			}
		}
		if len(pts) > 0 {
			out = append(out, store.Batch{Project: b.Project, Points: pts})
		}
	}
	return out
}

// seal seals complete hours and days behind the edge (the frontier, or
// now if earlier) and drops minute cells KeepMinutes behind it.
// upkeepMu is held.
func (p *Planner) seal() {
	edge := min(p.opts.Now().UnixMilli(), p.frontier.Load())
	p.r.Seal(edge - 5*minuteMs)
	p.r.Compact(edge - p.opts.KeepMinutes.Milliseconds())
	p.sealedAt.Store(edge)
}

// count adds stored points to the per-day counts and marks their days
// dirty, and hands points to the rebuilds that wait for them.
func (p *Planner) count(batches []store.Batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	latest := int64(math.MinInt64)
	defer func() {
		for f := p.frontier.Load(); latest > f && !p.frontier.CompareAndSwap(f, latest); f = p.frontier.Load() {
		}
	}()
	for _, b := range batches {
		var key store.TableDay
		var run int64
		for i := range b.Points {
			pt := &b.Points[i]
			latest = max(latest, pt.Timestamp)
			day := rollup.FloorTo(pt.Timestamp, dayMs)
			if run > 0 && (key.Day != day || key.Dataset != pt.Dataset) {
				p.counts[key] += run
				run = 0
			}
			if run == 0 {
				key = store.TableDay{Project: b.Project, Dataset: p.name(pt.Dataset), Day: day}
				p.dirty[day] = true
			}
			run++
			for _, c := range p.captures {
				c.offer(b.Project, pt)
			}
		}
		if run > 0 {
			p.counts[key] += run
		}
	}
}

// name returns the planner's own copy of a dataset name, which may share
// a request body (and assigning to a map entry replaces its string key
// too, so keys must be the copies). p.mu is held.
func (p *Planner) name(ds string) string {
	if c, ok := p.names[ds]; ok {
		return c
	}
	c := cloneString(ds)
	p.names[c] = c
	return c
}

// Execute answers a Sub from rollups when they cover it (or when
// sub.Source asks for them) and from raw points otherwise. A range whose
// edges are not whole buckets (a relative range ends now) is answered
// exactly: its whole buckets from rollups and its edges from raw points,
// which SubResult.Source calls mixed.
func (p *Planner) Execute(ctx context.Context, sub *query.Sub) (*query.SubResult, error) {
	if _, ok := p.st.(nativeRollups); ok && p.r == nil {
		// The store may keep rollups of its own (ClickHouse's rollup
		// tables) and answers Source itself, with its own reason when it
		// cannot read them.
		return p.st.Execute(ctx, sub)
	}
	if sub.Source != query.SourceRaw && p.r != nil {
		scan := func(ctx context.Context, from, to int64, fn func(*point.Point)) error {
			return p.st.ScanRange(ctx, sub.Project, sub.Dataset, from, to, fn)
		}
		res, err := p.r.ExecuteExact(ctx, sub, scan)
		switch {
		case err == nil:
			res.Source = query.SourceRollup
			if len(res.Edges) > 0 {
				res.Source = query.SourceMixed
			}
			return res.SubResult, nil
		case !errors.Is(err, rollup.ErrNotCovered):
			return nil, err
		case sub.Source == query.SourceRollup:
			why := strings.TrimPrefix(err.Error(), rollup.ErrNotCovered.Error()+": ")
			return nil, &query.Error{Part: "source", Msg: "rollups cannot answer this query: " + why}
		default:
			p.log.Debug("query reads raw points", "dataset", sub.Dataset, "why", err.Error())
		}
	} else if sub.Source == query.SourceRollup {
		return nil, &query.Error{Part: "source", Msg: "rollups are turned off on this server (serve --rollups=false)"}
	}
	res, err := p.st.Execute(ctx, sub)
	if err != nil {
		return nil, err
	}
	res.Source = query.SourceRaw
	return res, nil
}

// nativeRollups is a store that answers Subs from rollups it keeps itself
// (when Rollups reports true), setting SubResult.Source and honouring
// Sub.Source as the planner does (refusing source rollup with its reason
// when it has none).
type nativeRollups interface {
	Rollups() bool
}

// Run does the planner's upkeep until ctx ends: every tick it seals
// complete hours and days, drops minute cells older than KeepMinutes and
// writes stale snapshots; every retentionEvery it enforces retention on
// the store and the rollups.
func (p *Planner) Run(ctx context.Context, tick, retentionEvery time.Duration) {
	if tick <= 0 {
		tick = time.Minute
	}
	p.Expire(ctx)
	lastExpire := p.opts.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.checkpointIdle(ctx)
		p.Maintain(ctx, false)
		if now := p.opts.Now(); now.Sub(lastExpire) >= retentionEvery {
			p.Expire(ctx)
			lastExpire = now
		}
	}
}

// checkpointIdle has a store that can checkpoint the day files that
// stopped receiving writes (a backfill's older days, yesterday after
// midnight) do so, which frees the memory holding their logged rows.
func (p *Planner) checkpointIdle(ctx context.Context) {
	c, ok := p.st.(interface {
		CheckpointIdle(ctx context.Context, idle time.Duration) (int, error)
	})
	if !ok {
		return
	}
	n, err := c.CheckpointIdle(ctx, p.opts.CheckpointIdle)
	if err != nil && ctx.Err() == nil {
		p.log.Warn("checkpoint idle day files", "err", err)
	}
	if n > 0 {
		p.log.Debug("checkpointed idle day files", "files", n)
	}
}

// Maintain seals, compacts and writes stale snapshots (every dirty day
// when all is set, as at shutdown).
func (p *Planner) Maintain(ctx context.Context, all bool) {
	if p.r == nil {
		return
	}
	p.upkeepMu.Lock()
	p.seal()
	p.upkeepMu.Unlock()
	if err := p.writeDirty(ctx, all); err != nil {
		p.log.Error("write rollup snapshots", "err", err)
	}
}

// Expire enforces retention on the store, then on the rollups, and
// forgets the counts and snapshots of the days the store dropped.
func (p *Planner) Expire(ctx context.Context) {
	now := p.opts.Now()
	rep, err := p.st.Expire(ctx, now, p.opts.Retention)
	if err != nil {
		p.log.Error("retention pass failed", "err", err)
		return
	}
	if rep.FilesRemoved > 0 || rep.RowsDeleted > 0 {
		p.log.Info("retention pass", "files_removed", rep.FilesRemoved, "bytes_freed", rep.BytesFreed, "rows_deleted", rep.RowsDeleted)
	}
	if p.r == nil {
		return
	}
	nowMs := now.UnixMilli()
	longest := p.opts.Retention
	p.mu.Lock()
	for k := range p.counts {
		longest = max(longest, p.retention(k.Project, k.Dataset))
	}
	p.mu.Unlock()
	p.r.Expire(func(project int64, dataset string) int64 {
		ret := p.retention(project, dataset)
		if ret >= longest {
			// The store drops whole day files only: it keeps all of the
			// day the cutoff falls in, and so do the rollups.
			return rollup.FloorTo(nowMs-ret.Milliseconds(), dayMs)
		}
		// The store deletes this dataset's older rows: the rollups keep
		// the whole days after the cutoff.
		return nowMs - ret.Milliseconds()
	})
	if err := p.afterExpire(ctx, rep.RowsDeleted > 0); err != nil {
		p.log.Error("rollup retention", "err", err)
	}
}

func (p *Planner) retention(project int64, dataset string) time.Duration {
	if d := p.st.Dataset(project, dataset); d != nil && d.Retention > 0 {
		return d.Retention
	}
	return p.opts.Retention
}

// Close commits what the sampler holds back and writes every stale
// snapshot. Call it after the last commit.
func (p *Planner) Close(ctx context.Context) error {
	if p.opts.Flush != nil {
		if held := p.opts.Flush(); len(held) > 0 {
			p.commit.RLock()
			err := p.st.Append(ctx, held)
			if err == nil && p.r != nil {
				p.count(held)
			}
			p.commit.RUnlock()
			if err != nil {
				return fmt.Errorf("commit the sampler's last points: %w", err)
			}
		}
	}
	if p.r == nil {
		return nil
	}
	p.stopSealer()
	p.upkeepMu.Lock()
	p.seal()
	p.upkeepMu.Unlock()
	return p.writeDirty(ctx, true)
}

func cloneString(s string) string {
	return string(append([]byte(nil), s...))
}
