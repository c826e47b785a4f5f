package rollup

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Scan reads the raw points of the Sub's project and dataset with
// from <= timestamp < to and calls fn with each (fn must not keep p).
type Scan func(ctx context.Context, from, to int64, fn func(p *point.Point)) error

// Exact is an answer of ExecuteExact.
type Exact struct {
	*query.SubResult
	// Edges are the parts of the range read from raw points: none when
	// the range is made of whole buckets.
	Edges [][2]int64
}

// ExecuteExact answers sub over exactly [From, To), also when its edges
// are not whole minutes (a relative range ends now, not on a minute): the
// whole buckets inside the range come from the cells, and so does a
// minute cut by an edge when all of its points lie in the range (the
// last minute of a live range, usually); the other partial edges come
// from the raw points scan reads, which are rolled up into a table of
// their own for the query and merged with the cells bucket by bucket. An
// edge read from raw points is less than a minute, or, where minute cells
// are compacted, less than an hour. With an interval, output buckets stay aligned to
// multiples of it and the first and last hold only points in the range.
// When even the whole buckets inside the range are not covered it returns
// an error wrapping ErrNotCovered.
func (r *Rollup) ExecuteExact(ctx context.Context, sub *query.Sub, scan Scan) (*Exact, error) {
	if sub == nil {
		return nil, fmt.Errorf("%w: no query", ErrNotCovered)
	}
	t, unlock := r.readTable(sub)
	inner, l, why := t.innerRange(sub)
	if why != "" {
		unlock()
		return nil, fmt.Errorf("%w: %s", ErrNotCovered, why)
	}
	if inner.From <= sub.From && inner.To >= sub.To {
		defer unlock()
		plan, why := t.check(inner)
		if why != "" {
			return nil, fmt.Errorf("%w: %s", ErrNotCovered, why)
		}
		e, err := newExec(t, sub)
		if err != nil {
			return nil, err
		}
		res, err := e.run(ctx, plan, nil)
		if err != nil {
			return nil, err
		}
		return &Exact{SubResult: res}, nil
	}
	unlock()

	// Read the edges without holding the table: a commit may add to it
	// meanwhile (its points are in the store already, or not yet in
	// either), and an edge of up to an hour takes a while to read.
	var edges [][2]int64
	if sub.From < inner.From {
		edges = append(edges, [2]int64{sub.From, inner.From})
	}
	if inner.To < sub.To {
		edges = append(edges, [2]int64{inner.To, sub.To})
	}
	// A new table keeps minute cells only: it is never sealed.
	et := newTable(t.key, l, &r.opts, r.seed, sub.From, sub.To)
	for _, ed := range edges {
		if err := scan(ctx, ed[0], ed[1], et.add); err != nil {
			return nil, fmt.Errorf("read the range's edge %s..%s: %w", fmtMs(ed[0]), fmtMs(ed[1]), err)
		}
	}

	t, unlock = r.readTable(sub)
	defer unlock()
	if again, l2, _ := t.innerRange(sub); l2 != l || again == nil || again.From != inner.From || again.To != inner.To {
		return nil, fmt.Errorf("%w: the rollup of dataset %q changed while the query ran", ErrNotCovered, sub.Dataset)
	}
	plan, why := t.check(inner)
	if why != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotCovered, why)
	}
	e, err := newExec(t, sub)
	if err != nil {
		return nil, err
	}
	res, err := e.run(ctx, plan, et)
	if err != nil {
		return nil, err
	}
	return &Exact{SubResult: res, Edges: edges}, nil
}

// innerRange returns sub narrowed to the whole buckets the table can
// answer: From rounded up and To rounded down to a minute, or to an hour
// where minute cells are compacted. It also returns the table's layout,
// which the edges are rolled up with. t is read-locked.
func (t *table) innerRange(sub *query.Sub) (*query.Sub, *layout, string) {
	if sub.From >= sub.To {
		return nil, nil, "empty range"
	}
	if why := t.checkFields(sub); why != "" {
		return nil, nil, why
	}
	// A minute (or, where minutes are compacted, an hour) cut by an edge
	// is answered from its cells when it holds no point outside the range
	// (a live range's last minute, usually), or no point at all.
	within := func(tier int, start int64) bool {
		switch {
		case tier == tierMinute && start < t.minFrom, tier == tierHour && start >= t.hourTo:
			return false
		}
		b := t.tiers[tier].buckets[start]
		return b == nil || b.within(sub.From, sub.To)
	}
	// edge returns where the whole buckets start (up) or end (!up) at an
	// edge x of the range.
	edge := func(x int64, up bool) int64 {
		for tier := tierMinute; tier <= tierHour; tier++ {
			w := tierWidth[tier]
			b := floorTo(x, w)
			if tier == tierMinute && b < t.minFrom {
				continue // compacted: an hour is the finest
			}
			if b == x {
				return x
			}
			if within(tier, b) == up {
				return b
			}
			return b + w
		}
		return x // not reached: minutes are kept from an hour boundary
	}
	from, to := edge(sub.From, true), edge(sub.To, false)
	if from >= to {
		return nil, nil, fmt.Sprintf("the range %s..%s holds no whole minute (or hour, where minutes are compacted) for rollups to answer",
			fmtMs(sub.From), fmtMs(sub.To))
	}
	in := *sub
	in.From, in.To = from, to
	return &in, t.l, ""
}

// edgeRuns groups the minute buckets of the edge table by output bucket
// label (0 without an interval), in time order.
func edgeRuns(et *table, interval int64) (labels []int64, runs map[int64][]*bucket) {
	if et == nil {
		return nil, nil
	}
	runs = map[int64][]*bucket{}
	ms := &et.tiers[tierMinute]
	for _, s := range ms.startsIn(math.MinInt64, math.MaxInt64) {
		var label int64
		if interval > 0 {
			label = floorTo(s, interval)
		}
		if _, ok := runs[label]; !ok {
			labels = append(labels, label)
		}
		runs[label] = append(runs[label], ms.buckets[s])
	}
	return labels, runs
}

// mergeLabels returns the sorted union of the plan's labels and the edge
// labels.
func mergeLabels(plan []outBucket, edge []int64) []int64 {
	out := make([]int64, 0, len(plan)+len(edge))
	for _, ob := range plan {
		out = append(out, ob.label)
	}
	out = append(out, edge...)
	slices.Sort(out)
	return slices.Compact(out)
}
