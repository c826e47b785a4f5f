package dashboard

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/query"
)

// maxIntentRows bounds the groups the intent join may return.
const maxIntentRows = 100000

// intentSQL prints the intent join. Predictions are the intent points in
// [from, to) whose kind (blob4) is not "label"; labels are every stored
// point of kind "label" with a prediction id (blob3), the latest label of an
// id winning. Each prediction counts its sample interval. key is the
// grouping expression over the predictions (intent or bucket). Every value
// is a parameter; the sources come from the store, scoped to the project.
// ok is false when no day file holds the dataset: there is nothing to ask.
func intentSQL(run SQLRunner, project int64, from, to int64, key func(param func(any) string) string) (q string, args []any, ok bool) {
	preds, a, ok := run.SQLSource(project, "intent", len(args))
	if !ok {
		return "", nil, false
	}
	args = append(args, a...)
	labels, a, _ := run.SQLSource(project, "intent", len(args))
	args = append(args, a...)
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	label, empty := param("label"), param("")
	var b strings.Builder
	b.WriteString("WITH labels AS (SELECT blob3 AS id, arg_max(blob5, \"timestamp\") AS actual FROM ")
	b.WriteString(labels)
	fmt.Fprintf(&b, " AS l WHERE blob4 = %s AND blob3 <> %s GROUP BY blob3), ", label, empty)
	b.WriteString("preds AS (SELECT blob2 AS intent, blob3 AS id, _sample_interval::DOUBLE AS w, epoch_ms(\"timestamp\") AS ts FROM ")
	b.WriteString(preds)
	fmt.Fprintf(&b, " AS p WHERE blob4 <> %s AND epoch_ms(\"timestamp\") >= %s AND epoch_ms(\"timestamp\") < %s) ", label, param(from), param(to))
	k := key(param)
	fmt.Fprintf(&b, "SELECT %s AS k, sum(preds.w)::DOUBLE, coalesce(sum(preds.w) FILTER (WHERE labels.id IS NOT NULL), 0)::DOUBLE, "+
		"coalesce(sum(preds.w) FILTER (WHERE labels.actual = preds.intent), 0)::DOUBLE "+
		"FROM preds LEFT JOIN labels ON preds.id = labels.id GROUP BY 1 LIMIT %d", k, maxIntentRows+1)
	return b.String(), args, true
}

// intentRow is one group of the join.
type intentRow struct {
	intent                         string
	bucket                         int64
	predictions, labelled, correct float64
}

// intentAsker runs the intent join: in DuckDB SQL (duckIntent) or in
// ClickHouse SQL (chIntent), the same answers. iv 0 groups by predicted
// intent, else by buckets of iv ms. ok is false when the store holds no
// intent point (nothing to ask).
type intentAsker interface {
	intentRows(ctx context.Context, project, from, to, iv int64) (rows []intentRow, ok bool, err error)
}

// duckIntent asks in DuckDB SQL (intentSQL).
type duckIntent struct{ run SQLRunner }

func (d duckIntent) intentRows(ctx context.Context, project, from, to, iv int64) ([]intentRow, bool, error) {
	key := func(func(any) string) string { return "preds.intent" }
	if iv > 0 {
		key = func(param func(any) string) string {
			v := param(iv)
			return "(preds.ts // " + v + ") * " + v
		}
	}
	q, args, ok := intentSQL(d.run, project, from, to, key)
	if !ok {
		return nil, false, nil
	}
	rows, err := d.run.QuerySQL(ctx, q, args)
	if err != nil {
		return nil, true, err
	}
	defer rows.Close()
	var out []intentRow
	for rows.Next() {
		var r intentRow
		var intent sql.NullString
		var bucket sql.NullInt64
		var k any = &intent
		if iv > 0 {
			k = &bucket
		}
		if err := rows.Scan(k, &r.predictions, &r.labelled, &r.correct); err != nil {
			return nil, true, err
		}
		r.intent, r.bucket = intent.String, bucket.Int64
		out = append(out, r)
	}
	return out, true, rows.Err()
}

// runIntent runs an intent join (see intentAsker); ok is false when
// there was nothing to ask.
func (p *plan) runIntent(ctx context.Context, from, to, iv int64) (rows []intentRow, ok bool, err error) {
	out, ok, err := p.d.intent.intentRows(ctx, p.project, from, to, iv)
	if err != nil {
		return nil, true, fmt.Errorf("metrics intent: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	// The join matches predictions with labels by id: raw points only.
	p.answered(query.SourceRaw)
	if len(out) > maxIntentRows {
		p.warn(fmt.Sprintf("intent: more than %d intents in the period; the figures are left out", maxIntentRows))
		return nil, true, nil
	}
	return out, true, nil
}

// intent asks for the period's accuracy, overall and by predicted intent.
func (p *plan) intent(in *Intent, from, to int64) {
	if p.d.intent == nil {
		if !p.noSQLWarned {
			p.noSQLWarned = true
			p.warn("intent: the store answers no SQL; accuracy is left out")
		}
		return
	}
	p.jobs = append(p.jobs, func(ctx context.Context) error {
		rows, ok, err := p.runIntent(ctx, from, to, 0)
		if err != nil || !ok {
			return err
		}
		list := make([]IntentStat, 0, len(rows))
		for _, r := range rows {
			in.Predictions += r.predictions
			in.Labelled += r.labelled
			in.Correct += r.correct
			list = append(list, IntentStat{Intent: r.intent, Predictions: r.predictions, Labelled: r.labelled, Correct: r.correct,
				Accuracy: ratio(r.correct, r.labelled), LabelledShare: ratio(r.labelled, r.predictions)})
		}
		in.Accuracy = ratio(in.Correct, in.Labelled)
		in.LabelledShare = ratio(in.Labelled, in.Predictions)
		slices.SortStableFunc(list, func(a, b IntentStat) int {
			if c := cmp.Compare(b.Predictions, a.Predictions); c != 0 {
				return c
			}
			return cmp.Compare(a.Intent, b.Intent)
		})
		in.ByIntent = capList(list, maxList)
		return nil
	})
}

// intentSeries asks for predictions and accuracy per bucket.
func (p *plan) intentSeries(from, to, iv int64, at func(int64) *Bucket) {
	if p.d.intent == nil {
		return
	}
	p.jobs = append(p.jobs, func(ctx context.Context) error {
		rows, _, err := p.runIntent(ctx, from, to, iv)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if b := at(r.bucket); b != nil {
				b.IntentPredictions = r.predictions
				b.IntentAccuracy = ratio(r.correct, r.labelled)
			}
		}
		return nil
	})
}
