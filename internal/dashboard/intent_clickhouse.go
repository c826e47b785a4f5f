package dashboard

import (
	"context"
	"fmt"
	"strconv"
)

// ClickHouseRunner runs the intent join on ClickHouse (a cluster node's
// store): RawSource yields a subquery of exactly one project's points of a
// dataset, with the AE columns and ts_ms, the timestamp in Unix ms;
// QueryRows runs ClickHouse SQL this package printed (its values written
// in as literals) and returns its rows as Go values (String string,
// UInt64 uint64, Float64 float64).
type ClickHouseRunner interface {
	RawSource(project int64, dataset string) string
	QueryRows(ctx context.Context, sql string) ([][]any, int64, error)
}

// chIntent asks intentSQL's question in ClickHouse SQL (18.16 and
// current): no WITH of subqueries, no FILTER (sumIf), a join's strictness
// said (ANY: one label row per id), and a prediction without a label
// joined to default values, not NULLs (has_label tells them apart).
type chIntent struct{ run ClickHouseRunner }

func (c chIntent) intentRows(ctx context.Context, project, from, to, iv int64) ([]intentRow, bool, error) {
	src := c.run.RawSource(project, "intent")
	key := "intent"
	if iv > 0 {
		v := strconv.FormatInt(iv, 10)
		key = "toInt64(intDiv(ts, " + v + ") * " + v + ")"
	}
	q := fmt.Sprintf("SELECT %s AS k, toFloat64(sum(w)), toFloat64(sumIf(w, has_label = 1)), toFloat64(sumIf(w, has_label = 1 AND actual = intent)) FROM "+
		"(SELECT blob2 AS intent, blob3 AS id, toFloat64(_sample_interval) AS w, ts_ms AS ts FROM %s AS p WHERE blob4 != 'label' AND ts_ms >= %d AND ts_ms < %d) "+
		"ANY LEFT JOIN (SELECT blob3 AS id, argMax(blob5, ts_ms) AS actual, toUInt8(1) AS has_label FROM %s AS l WHERE blob4 = 'label' AND blob3 != '' GROUP BY blob3) "+
		"USING id GROUP BY k LIMIT %d", key, src, from, to, src, maxIntentRows+1)
	rows, _, err := c.run.QueryRows(ctx, q)
	if err != nil {
		return nil, true, err
	}
	out := make([]intentRow, 0, len(rows))
	for _, r := range rows {
		if len(r) != 4 {
			return nil, true, fmt.Errorf("a row of %d columns; want 4", len(r))
		}
		var row intentRow
		switch k := r[0].(type) {
		case string:
			row.intent = k
		case int64:
			row.bucket = k
		default:
			return nil, true, fmt.Errorf("a key of %T", r[0])
		}
		for i, dst := range []*float64{&row.predictions, &row.labelled, &row.correct} {
			f, ok := r[i+1].(float64)
			if !ok {
				return nil, true, fmt.Errorf("column %d of %T; want float64", i+2, r[i+1])
			}
			*dst = f
		}
		out = append(out, row)
	}
	return out, true, nil
}
