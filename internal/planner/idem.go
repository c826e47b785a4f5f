package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// dedupe drops what earlier writes with the same idempotency key stored:
// before sampling and rollups, so that a retry counts nowhere twice. For
// each batch with a key recorded in some of its days (a write committed
// before, or partly, when a crash cut a write over several days), it
// keeps only the points of the other days and records the key in those;
// a key recorded with another request's hash keeps nothing. Found tells
// the writer. Writes of one key are never committed concurrently (the
// server lets one run at a time), so looking up outside the commit's
// transactions is safe. It returns batches itself when nothing changes.
func (p *Planner) dedupe(ctx context.Context, batches []store.Batch) ([]store.Batch, error) {
	var out []store.Batch
	for i := range batches {
		b := &batches[i]
		if b.Idem == nil {
			continue
		}
		since := p.opts.Now().UnixMilli() - store.IdemWindow
		found, err := p.st.IdemLookup(ctx, b.Project, b.Idem.Key, b.Idem.Days, since)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			continue
		}
		if out == nil {
			out = slices.Clone(batches)
		}
		nb := &out[i]
		for _, day := range b.Idem.Days {
			if r, ok := found[day]; ok {
				nb.Idem.Found = &r
				break
			}
		}
		if nb.Idem.Found.Hash != b.Idem.Hash {
			nb.Points, nb.Idem = nil, nil
			continue
		}
		rest := *b.Idem
		rest.Days = slices.DeleteFunc(slices.Clone(rest.Days), func(d int64) bool { _, ok := found[d]; return ok })
		rest.Found = nil
		nb.Points = slices.DeleteFunc(slices.Clone(b.Points), func(pt point.Point) bool {
			_, ok := found[store.DayStart(pt.Timestamp)]
			return ok
		})
		nb.Idem = nil
		if len(rest.Days) > 0 {
			nb.Idem = &rest
		}
		if len(nb.Points) > 0 && nb.Idem == nil {
			return nil, fmt.Errorf("BUG: points left of a write whose key every day recorded")
		}
	}
	if out == nil {
		return batches, nil
	}
	return out, nil
}

// Dedupe is dedupe for the write path: a server whose writes are
// acknowledged once logged, before they reach the store, asks before
// logging whether an earlier write of a key stored the batch (Idem.Found)
// and logs only what it did not. The commit dedupes again, which a replay
// needs.
func (p *Planner) Dedupe(ctx context.Context, batches []store.Batch) ([]store.Batch, error) {
	return p.dedupe(ctx, batches)
}
