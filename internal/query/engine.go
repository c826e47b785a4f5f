package query

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// Engine parses requests and answers them through an Executor.
type Engine struct {
	// Exec answers the Subs.
	Exec Executor
	// Schemas returns a project's dataset schema, or nil; Schemas may be nil.
	Schemas func(project int64, dataset string) *point.Schema
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Response is the answer to a query.
type Response struct {
	Rows []Row `json:"rows"`
	Meta Meta  `json:"meta"`
}

// Meta describes how a query was answered.
type Meta struct {
	From        string  `json:"from"` // RFC 3339, UTC
	To          string  `json:"to"`   // RFC 3339, UTC, exclusive
	RowsScanned int64   `json:"rowsScanned"`
	ElapsedMs   float64 `json:"elapsedMs"`
	// Source is "rollup" when every dataset was answered from rollups,
	// "raw" when every one was read from raw points, "mixed" otherwise
	// (also when rollups answered the whole buckets of a range and raw
	// points its edges).
	Source string `json:"source"`
}

// Run parses body and runs it for project. A fault in the request is an
// *Error; any other error is the backend's.
func (e *Engine) Run(ctx context.Context, project int64, body []byte) (*Response, error) {
	start := time.Now()
	q, err := Parse(body, e.now(), e.schemasOf(project))
	if err != nil {
		return nil, err
	}
	resp, err := e.Execute(ctx, project, q)
	if err != nil {
		return nil, err
	}
	resp.Meta.ElapsedMs = elapsedMs(start)
	return resp, nil
}

// Execute runs a Query, such as one Parse returned, for project: it runs its
// Subs concurrently, merges their rows by groups and bucket, orders them and
// applies the limit.
func (e *Engine) Execute(ctx context.Context, project int64, q *Query) (*Response, error) {
	start := time.Now()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if e.Exec == nil {
		return nil, errors.New("query: engine has no executor")
	}
	results, err := e.runSubs(ctx, project, q)
	if err != nil {
		return nil, err
	}
	m := newMerger(q)
	resp := &Response{Meta: Meta{From: formatMs(q.From), To: formatMs(q.To)}}
	for i, res := range results {
		if err := m.add(i, res); err != nil {
			return nil, err
		}
		resp.Meta.RowsScanned += res.RowsScanned
		resp.Meta.Source = CombineSources(resp.Meta.Source, res.Source, i == 0)
	}
	rows := m.finish()
	sortRows(q, rows)
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	resp.Rows = buildRows(q, rows)
	resp.Meta.ElapsedMs = elapsedMs(start)
	return resp, nil
}

// CombineSources folds the source of one more answer into acc: first says
// src is the first answer.
func CombineSources(acc, src string, first bool) string {
	if src != SourceRollup && src != SourceMixed {
		src = SourceRaw
	}
	switch {
	case first:
		return src
	case acc != src:
		return SourceMixed
	}
	return acc
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Engine) schemasOf(project int64) func(string) *point.Schema {
	if e.Schemas == nil {
		return nil
	}
	return func(ds string) *point.Schema { return e.Schemas(project, ds) }
}

func elapsedMs(start time.Time) float64 {
	return float64(time.Since(start).Microseconds()) / 1000
}

// runSubs executes q's Subs concurrently for project; the first failure
// cancels the others.
func (e *Engine) runSubs(ctx context.Context, project int64, q *Query) ([]*SubResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*SubResult, len(q.Subs))
	errs := make([]error, len(q.Subs))
	var wg sync.WaitGroup
	for i := range q.Subs {
		s := q.Subs[i]
		s.Project = project
		wg.Go(func() {
			results[i], errs[i] = e.runSub(ctx, &s)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return results, firstError(errs)
}

func (e *Engine) runSub(ctx context.Context, s *Sub) (*SubResult, error) {
	res, err := e.Exec.Execute(ctx, s)
	switch {
	case errors.Is(err, ErrTooManyGroups) || err == nil && res != nil && len(res.Rows) > s.MaxGroups:
		return nil, &Error{Part: "groupBy", Msg: fmt.Sprintf(
			"dataset %q has more than %d groups in range; group by fewer fields, filter, shorten the range or widen the interval", s.Dataset, s.MaxGroups)}
	case err != nil:
		return nil, fmt.Errorf("query dataset %q: %w", s.Dataset, err)
	case res == nil:
		return nil, fmt.Errorf("query dataset %q: %w: no result", s.Dataset, ErrBadResult)
	}
	return res, nil
}

// firstError returns the first error that is not a cancellation caused by
// another Sub's failure, or else the first error.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// buildRows turns merged rows into output rows sharing one key slice.
func buildRows(q *Query, rows []*mrow) []Row {
	keys := make([]string, 0, len(q.GroupBy)+1+len(q.Columns))
	keys = append(keys, q.GroupBy...)
	if q.Interval > 0 {
		keys = append(keys, "t")
	}
	for _, c := range q.Columns {
		keys = append(keys, c.Name)
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		vals := make([]any, 0, len(keys))
		vals = append(vals, r.groups...)
		if q.Interval > 0 {
			vals = append(vals, formatMs(r.bucket))
		}
		vals = append(vals, r.vals...)
		out[i] = Row{Keys: keys, Values: vals}
	}
	return out
}
