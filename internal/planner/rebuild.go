package planner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/rollup"
)

// capture collects, while a rebuild reads the store, the points of its
// dataset committed with timestamps before the rebuild's start (the live
// table, reset, takes only later ones).
type capture struct {
	project int64
	dataset string
	at      int64
	byDay   map[int64][]point.Point
	// used counts, per day, the captured points already accounted for.
	used map[int64]int
}

// offer keeps a copy of pt when it belongs to the capture. p.mu is held.
func (c *capture) offer(project int64, pt *point.Point) {
	if project != c.project || pt.Timestamp >= c.at || pt.Dataset != c.dataset {
		return
	}
	day := rollup.FloorTo(pt.Timestamp, dayMs)
	c.byDay[day] = append(c.byDay[day], clonePoint(pt))
}

// clonePoint copies a point whose strings may share a request body.
func clonePoint(p *point.Point) point.Point {
	c := point.Point{
		Dataset:        strings.Clone(p.Dataset),
		Timestamp:      p.Timestamp,
		Index:          strings.Clone(p.Index),
		Doubles:        slices.Clone(p.Doubles),
		SampleInterval: p.SampleInterval,
	}
	if len(p.Blobs) > 0 {
		c.Blobs = make([]string, len(p.Blobs))
		for i, b := range p.Blobs {
			c.Blobs[i] = strings.Clone(b)
		}
	}
	return c
}

// RebuildProgress reports one day of a rebuild.
type RebuildProgress struct {
	Day    string `json:"day"`
	Points int64  `json:"points"`
}

// RebuildReport sums a rebuild up.
type RebuildReport struct {
	Dataset   string  `json:"dataset"`
	Days      int     `json:"days"`
	Points    int64   `json:"points"`
	Spec      string  `json:"spec"`
	ElapsedMs float64 `json:"elapsedMs"`
}

// ErrDisabled is returned by Rebuild when rollups are off.
var ErrDisabled = errors.New("rollups are turned off on this server (serve --rollups=false)")

// Rebuild rebuilds the rollup of one project's dataset from its raw points
// with the dataset's current spec, while commits go on: the table is reset
// to cover from the next minute, every day the store holds is read and
// rolled up apart, and the result is merged back. Points committed during
// the rebuild with earlier timestamps are captured and counted exactly
// once. progress, when set, is called after each day.
func (p *Planner) Rebuild(ctx context.Context, project int64, dataset string, progress func(RebuildProgress)) (RebuildReport, error) {
	rep := RebuildReport{Dataset: dataset}
	if p.r == nil {
		return rep, ErrDisabled
	}
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	start := time.Now()
	spec := p.spec(project, dataset)
	rep.Spec = spec.String()
	at := rollup.CeilTo(p.opts.Now().UnixMilli(), minuteMs)

	c := &capture{project: project, dataset: dataset, at: at, byDay: map[int64][]point.Point{}, used: map[int64]int{}}
	base := map[int64]int64{}
	p.commit.Lock()
	// The capture first, so that Rebuilding holds once the spec changed.
	p.mu.Lock()
	p.captures = append(p.captures, c)
	for k, n := range p.counts {
		if k.Project == project && k.Dataset == dataset {
			base[k.Day] = n
		}
	}
	p.mu.Unlock()
	if err := p.r.Reset(project, dataset, spec, at); err != nil {
		p.commit.Unlock()
		return rep, err
	}
	p.commit.Unlock()
	defer func() {
		p.mu.Lock()
		p.captures = slices.DeleteFunc(p.captures, func(x *capture) bool { return x == c })
		p.mu.Unlock()
	}()

	days := slices.Sorted(maps.Keys(base))
	days = slices.DeleteFunc(days, func(d int64) bool { return d >= at })
	first := at
	if len(days) > 0 {
		first = days[0]
	}
	parts := []*rollup.Rollup{p.tableRollup(project, dataset, math.MinInt64, first)}
	prevEnd := first
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("rebuild of %q stopped: %w (its rollup covers only from %s until the next rebuild or restart)", dataset, err, time.UnixMilli(at).UTC().Format(time.RFC3339))
		}
		if day > prevEnd {
			parts = append(parts, p.tableRollup(project, dataset, prevEnd, day))
		}
		end := min(day+dayMs, at)
		prevEnd = end
		r, n, err := p.buildTableDay(ctx, project, dataset, day, end)
		if err != nil {
			return rep, err
		}
		// With commits held off, every committed point has been offered
		// to the capture, and the scan saw a prefix of them: none (n is
		// the count at the start) or all.
		p.commit.Lock()
		p.mu.Lock()
		got := c.byDay[day]
		p.mu.Unlock()
		switch n {
		case base[day]:
			for i := range got {
				r.Add(project, &got[i])
			}
		case base[day] + int64(len(got)):
		default:
			// The scan saw some of them: read the day again while
			// commits wait.
			r, n, err = p.buildTableDay(ctx, project, dataset, day, end)
			if err != nil {
				p.commit.Unlock()
				return rep, err
			}
		}
		c.used[day] = len(got)
		p.commit.Unlock()
		parts = append(parts, r)
		rep.Days++
		rep.Points += n
		if progress != nil {
			progress(RebuildProgress{Day: dayName(day), Points: n})
		}
	}
	if prevEnd < at {
		parts = append(parts, p.tableRollup(project, dataset, prevEnd, at))
	}
	hist, err := mergeAll(parts)
	if err != nil {
		return rep, err
	}
	p.commit.Lock()
	defer p.commit.Unlock()
	p.mu.Lock()
	for day, pts := range c.byDay {
		for i := c.used[day]; i < len(pts); i++ {
			hist.Add(project, &pts[i])
		}
	}
	p.captures = slices.DeleteFunc(p.captures, func(x *capture) bool { return x == c })
	for _, d := range days {
		p.dirty[d] = true
	}
	p.mu.Unlock()
	hist.Seal(at)
	if err := p.r.Merge(hist); err != nil {
		return rep, fmt.Errorf("rebuild of %q: %w", dataset, err)
	}
	nowMs := p.opts.Now().UnixMilli()
	p.r.Expire(func(pr int64, ds string) int64 {
		if pr != project || ds != dataset {
			return math.MinInt64
		}
		return nowMs - p.retention(pr, ds).Milliseconds()
	})
	rep.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
	p.log.Info("rebuilt rollup", "dataset", dataset, "project", project, "days", rep.Days, "points", rep.Points, "spec", rep.Spec, "elapsed", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// tableRollup is an empty rollup of one table over [from, to).
func (p *Planner) tableRollup(project int64, dataset string, from, to int64) *rollup.Rollup {
	return rollup.BuildTable(p.rollupOptions(0), project, dataset, from, to, func(func(*point.Point) bool) {})
}

// buildTableDay rolls up one table's points of day before end.
func (p *Planner) buildTableDay(ctx context.Context, project int64, dataset string, day, end int64) (*rollup.Rollup, int64, error) {
	var n int64
	var err error
	pts := p.scan(ctx, day, project, dataset, &n, &err)
	r := rollup.BuildTable(p.rollupOptions(0), project, dataset, day, end, func(yield func(*point.Point) bool) {
		for _, pt := range pts {
			if !yield(pt) {
				return
			}
		}
	})
	if err != nil {
		return nil, n, fmt.Errorf("rebuild rollup of %q on %s: %w", dataset, dayName(day), err)
	}
	return r, n, nil
}
