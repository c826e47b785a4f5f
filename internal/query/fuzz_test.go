package query

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are *Errors, and
// that a query it accepts passes Validate and runs through the engine.
func FuzzParse(f *testing.F) {
	f.Add([]byte(exampleBody))
	for _, c := range parseCases {
		f.Add([]byte(c.body))
	}
	for _, c := range errorCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := Parse(body, testNow, testSchema)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) error %v is a %T; want *Error", body, err, err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("Parse(%q) returned a query that fails Validate: %v", body, err)
		}
		resp, err := testEngine(oneRowExec()).Execute(context.Background(), 1, q)
		if err != nil {
			t.Fatalf("Execute(Parse(%q)) = %v; want no error", body, err)
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("json.Marshal(Execute(Parse(%q))) = %v", body, err)
		}
	})
}

// oneRowExec answers every Sub with one well-formed row.
func oneRowExec() Executor {
	return execStub{ExecuteFunc: func(_ context.Context, s *Sub) (*SubResult, error) {
		row := SubRow{Bucket: s.From - s.From%max(s.Interval, 1)}
		for _, f := range s.GroupBy {
			if f.Kind.IsNumeric() {
				row.Groups = append(row.Groups, 1.0)
			} else {
				row.Groups = append(row.Groups, "g")
			}
		}
		for _, a := range s.Aggs {
			if a.Type == AggQuantiles {
				row.Values = append(row.Values, make([]float64, len(a.Qs)))
			} else {
				row.Values = append(row.Values, 2.0)
			}
		}
		return &SubResult{Rows: []SubRow{row}, RowsScanned: 1}, nil
	}}
}
