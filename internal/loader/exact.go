package loader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// exact is the state of a loader with a ranges file (Options.Ranges): the
// target records no log position with its rows, but drops an insert whose
// rows repeat one of its recent inserts. The loader then owns how far the
// log is loaded, in the ranges file, and loads it in groups it notes there
// before loading them: a group whose load failed, or that a crash cut
// short, is loaded again with the same records in the same order, so that
// the target sees the very same insert and keeps the rows once.
//
// Groups are large and few, as ClickHouse wants (at least about 1,000 rows
// an insert, about one insert a second): a group is loaded once it holds
// MaxPoints points, or its first record has waited MaxDelay, or writers
// wait on the backlog.
type exact struct {
	path  string
	state Range // as the ranges file says
	// ahead is records read from the log and not yet in a group.
	ahead []wal.Entry
	// g is the group being gathered (since when its first record was
	// read); inflight, a group noted in the ranges file and not loaded.
	g        group
	since    time.Time
	inflight *group
}

// replayExact reads the ranges file, loads the group it says was in
// flight (exactly those records), then every record after it, and leaves
// the loader at the log's end. l.work is held.
func (l *Loader) replayExact(ctx context.Context) (records, points int64, err error) {
	x := &exact{path: l.opts.Ranges}
	r, ok, err := ReadRange(x.path)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		// The file is written before the first group loads: a log with
		// records but no file is not one this loader wrote.
		if n := l.log.Size(); n > 0 {
			return 0, 0, fmt.Errorf("the write-ahead log in %s holds %d bytes of records but there is no ranges file %s, which says which of them the store holds: "+
				"this loader did not write it (an embedded store's log?). Move the log aside to start, and load it where it came from", l.opts.Ranges, n, x.path)
		}
		if err := WriteRange(x.path, Range{}); err != nil {
			return 0, 0, err
		}
	}
	x.state = r
	if end := l.log.End(); end.Less(r.To) {
		return 0, 0, fmt.Errorf("the loader's ranges file %s says the log was loaded up to %v, but the log ends at %v: it is not this log's file", x.path, r.To, end)
	}
	if l.r != nil {
		l.r.Close()
	}
	l.r = l.log.NewReader(r.Loaded)
	l.x = x
	l.mu.Lock()
	l.loaded = r.Loaded
	l.mu.Unlock()
	if r.InFlight() {
		// The group is the records after Loaded up to To, all of them,
		// whatever MaxPoints says now.
		g := group{}
		for g.last != r.To {
			es, err := l.r.Next(l.opts.ReadBytes)
			if err != nil {
				return 0, 0, err
			}
			if len(es) == 0 {
				return 0, 0, fmt.Errorf("the loader's ranges file %s says a group ends at %v, but the log's records end at %v", x.path, r.To, g.last)
			}
			for i, e := range es {
				if r.To.Less(e.Pos) {
					return 0, 0, fmt.Errorf("the loader's ranges file %s says a group ends at %v, but no record of the log ends there (one ends at %v)", x.path, r.To, e.Pos)
				}
				g.add(e)
				if e.Pos == r.To {
					x.ahead = append(x.ahead, es[i+1:]...)
					break
				}
			}
		}
		x.inflight = &g
		l.lg.Info("write-ahead log: loading again the group a stop cut short (the store drops the rows it has)",
			"from", r.Loaded, "to", r.To, "records", g.records, "points", g.n)
	}
	return l.loadExact(ctx, true)
}

// add puts a record in the group.
func (g *group) add(e wal.Entry) {
	g.records++
	if len(e.Batch.Points) > 0 || e.Batch.Idem != nil {
		g.batches = append(g.batches, e.Batch)
		g.n += len(e.Batch.Points)
	}
	g.last = e.Pos
}

// loadExact loads the group in flight, if any, then gathers groups from
// the log and loads each that is due (all of them with force), noting each
// in the ranges file before its load and its end after. l.work is held.
func (l *Loader) loadExact(ctx context.Context, force bool) (records, points int64, err error) {
	x := l.x
	for {
		if x.inflight != nil {
			g := x.inflight
			start := time.Now()
			if err := l.t.AppendAt(ctx, g.batches, g.last); err != nil {
				return records, points, err
			}
			took := time.Since(start)
			l.busy.Add(int64(took))
			l.lg.Debug("write-ahead log group loaded", "records", g.records, "points", g.n, "took", took.Round(time.Millisecond))
			done := Range{Loaded: g.last, To: g.last}
			if err := WriteRange(x.path, done); err != nil {
				// Loaded but not noted: the next try loads it again, and
				// the store drops the repeat.
				return records, points, err
			}
			x.state, x.inflight = done, nil
			if rerr := l.log.Release(g.last); rerr != nil {
				l.lg.Warn("release loaded log segments", "err", rerr)
			}
			l.mu.Lock()
			l.loaded = g.last
			l.cond.Broadcast()
			l.mu.Unlock()
			records += g.records
			points += int64(g.n)
			l.loads.Add(1)
			l.loadedPoints.Add(int64(g.n))
		}
		full, err := l.gather()
		if err != nil {
			return records, points, err
		}
		if x.g.records == 0 {
			return records, points, nil
		}
		due := force || full || time.Since(x.since) >= l.opts.MaxDelay ||
			l.opts.MaxBacklog > 0 && l.log.Unloaded() >= l.opts.MaxBacklog
		if !due {
			return records, points, nil
		}
		g := x.g
		x.g = group{}
		next := Range{Loaded: x.state.Loaded, To: g.last}
		if err := WriteRange(x.path, next); err != nil {
			// Nothing was loaded: the records go back to be gathered.
			x.g = g
			return records, points, err
		}
		x.state, x.inflight = next, &g
	}
}

// gather reads records into the group being gathered until it holds
// MaxPoints points (full) or the log's durable end is reached.
func (l *Loader) gather() (full bool, err error) {
	x := l.x
	for {
		for len(x.ahead) > 0 {
			if x.g.records == 0 {
				x.since = time.Now()
			}
			x.g.add(x.ahead[0])
			x.ahead[0] = wal.Entry{}
			x.ahead = x.ahead[1:]
			if x.g.n >= l.opts.MaxPoints {
				return true, nil
			}
		}
		es, err := l.r.Next(l.opts.ReadBytes)
		if err != nil || len(es) == 0 {
			return false, err
		}
		x.ahead = es
	}
}

// storeDown reports whether the last load failed because the store cannot
// be reached (store.ErrUnavailable), and that error.
func (l *Loader) storeDown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr != nil && errors.Is(l.lastErr, store.ErrUnavailable) {
		return l.lastErr
	}
	return nil
}

// Stats are the loader's figures since New.
type Stats struct {
	// Loads is the number of appends to the target (with a ranges file:
	// groups loaded), Points the points they carried.
	Loads, Points int64
	// Busy is the time the appends that succeeded took.
	Busy time.Duration
}

// Stats returns the loader's figures.
func (l *Loader) Stats() Stats {
	return Stats{Loads: l.loads.Load(), Points: l.loadedPoints.Load(), Busy: time.Duration(l.busy.Load())}
}
