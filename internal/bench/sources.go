package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// QueryNote is a remark on one query.
type QueryNote struct {
	Name, Text string
}

// QueryNotes marshal as a JSON object keeping the queries' order.
type QueryNotes []QueryNote

// Get returns the note on the named query.
func (q QueryNotes) Get(name string) (string, bool) {
	for _, n := range q {
		if n.Name == name {
			return n.Text, true
		}
	}
	return "", false
}

// MarshalJSON writes {"name": "text", ...} in order.
func (q QueryNotes) MarshalJSON() ([]byte, error) {
	t := make(orderedJSON, len(q))
	for i, n := range q {
		t[i] = orderedField{n.Name, n.Text}
	}
	return t.MarshalJSON()
}

// UnmarshalJSON reads {"name": "text", ...}, keeping the order.
func (q *QueryNotes) UnmarshalJSON(data []byte) error {
	var t orderedJSON
	if err := t.unmarshal(data, func() any { return new(string) }); err != nil {
		return err
	}
	*q = nil
	for _, f := range t {
		*q = append(*q, QueryNote{f.key, *f.val.(*string)})
	}
	return nil
}

// queryResults are the first answers of each query, by source.
type queryResults struct {
	raw, auto map[string]*queryAnswer
}

// runQueries runs every query of bodies repeat times with source=raw and
// with the server's choice (auto), alternating, and fills the report's
// query figures. When auto reads raw points, it asks once with
// source=rollup to learn why rollups cannot answer.
func runQueries(ctx context.Context, c *client, key string, bodies map[string][]byte, repeat int, rep *Report, logf func(string, ...any)) (*queryResults, error) {
	res := &queryResults{raw: map[string]*queryAnswer{}, auto: map[string]*queryAnswer{}}
	for _, name := range QueryNames {
		var autoMs, rawMs []float64
		for i := range repeat {
			ans, d, err := runQuery(ctx, c, key, bodies[name])
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", name, err)
			}
			autoMs = append(autoMs, msOf(d))
			if i == 0 {
				res.auto[name] = ans
			}
			ans, d, err = runQuery(ctx, c, key, withSource(bodies[name], "raw"))
			if err != nil {
				return nil, fmt.Errorf("query %s with source raw: %w", name, err)
			}
			rawMs = append(rawMs, msOf(d))
			if i == 0 {
				res.raw[name] = ans
			}
		}
		auto, raw := round(Median(autoMs), 2), round(Median(rawMs), 2)
		src := res.auto[name].Meta.Source
		rep.QueriesMs = append(rep.QueriesMs, QueryTime{Name: name, Ms: auto})
		rep.QueriesRawMs = append(rep.QueriesRawMs, QueryTime{Name: name, Ms: raw})
		rep.QuerySources = append(rep.QuerySources, QueryNote{name, src})
		line := fmt.Sprintf("query %s: %s ms from %s, %s ms from raw points", name, ms(auto), orUnknown(src), ms(raw))
		if fromRollups(src) && auto > 0 {
			line += " (" + speedup(raw/auto) + ")"
		}
		logf("%s (medians of %d; raw scanned %s rows)", line, repeat, groupDigits(res.raw[name].Meta.RowsScanned))
		if !fromRollups(src) {
			why, err := rollupRefusal(ctx, c, key, bodies[name])
			if err != nil {
				return nil, fmt.Errorf("query %s with source rollup: %w", name, err)
			}
			rep.RollupNotCovered = append(rep.RollupNotCovered, QueryNote{name, why})
			logf("query %s: rollups cannot answer it: %s", name, why)
		}
	}
	return res, nil
}

// rollupRefusal asks body with source=rollup and returns the server's
// reason for refusing it (a 400), or a remark when it answers.
func rollupRefusal(ctx context.Context, c *client, key string, body []byte) (string, error) {
	ans, _, err := runQuery(ctx, c, key, withSource(body, "rollup"))
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		if ae.Msg != "" {
			return ae.Msg, nil
		}
		return ae.Error(), nil
	case err != nil:
		return "", err
	}
	// Coverage can change between two requests (minutes are compacted).
	return "answered from " + orUnknown(ans.Meta.Source) + " when asked for rollups, but not with source auto", nil
}

// compareQueries compares, for every query auto answered from rollups, its
// answer with the raw one.
func compareQueries(res *queryResults, cmp *comparison) {
	for _, name := range QueryNames {
		a, r := res.auto[name], res.raw[name]
		if a == nil || r == nil || !fromRollups(a.Meta.Source) {
			continue
		}
		cmp.compare(name, rowsAsAny(r.Rows), rowsAsAny(a.Rows))
	}
}

func rowsAsAny(rows []map[string]any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "(no meta.source)"
	}
	return s
}

// fromRollups says an answer's source used rollups: alone, or with the
// edges of its range read from raw points ("mixed").
func fromRollups(src string) bool { return src == "rollup" || src == "mixed" }
