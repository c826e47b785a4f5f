package query

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// execStub is an Executor made of a function field.
type execStub struct {
	ExecuteFunc func(ctx context.Context, s *Sub) (*SubResult, error)
}

func (e execStub) Execute(ctx context.Context, s *Sub) (*SubResult, error) {
	return e.ExecuteFunc(ctx, s)
}

var _ Executor = execStub{}

// recorder answers each dataset with a fixed result and records the Subs it saw.
type recorder struct {
	mu      sync.Mutex
	subs    map[string]Sub
	results map[string]*SubResult
}

func (r *recorder) exec() execStub {
	return execStub{ExecuteFunc: func(_ context.Context, s *Sub) (*SubResult, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.subs == nil {
			r.subs = map[string]Sub{}
		}
		r.subs[s.Dataset] = *s
		if res, ok := r.results[s.Dataset]; ok {
			return res, nil
		}
		return &SubResult{}, nil
	}}
}

func testEngine(exec Executor) *Engine {
	return &Engine{
		Exec:    exec,
		Schemas: func(project int64, ds string) *point.Schema { return testSchemas[ds] },
		Now:     func() time.Time { return testNow },
	}
}

func run(t *testing.T, e *Engine, body string) *Response {
	t.Helper()
	resp, err := e.Run(context.Background(), 7, []byte(body))
	if err != nil {
		t.Fatalf("Run(%s) = %v; want no error", body, err)
	}
	return resp
}

// jsonOf marshals v with elapsedMs zeroed.
func jsonOf(t *testing.T, resp *Response) string {
	t.Helper()
	resp.Meta.ElapsedMs = 0
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatalf("json.Marshal(response) = %v", err)
	}
	return string(b)
}

const exampleBody = `{"dataset": "requests", "range": "24h",
 "filter": [{"field": "status", "op": ">=", "value": 400}],
 "groupBy": ["endpoint"], "interval": "1h",
 "aggregations": {
   "requestCount": {"type": "count"},
   "avgLatency":   {"type": "avg", "field": "duration"},
   "p95":          {"type": "quantile", "field": "duration", "q": 0.95},
   "errorRate":    {"type": "percentage", "filter": {"field": "status", "operator": ">=", "value": 500}},
   "tokens":       {"type": "sum", "field": "double1", "dataset": "ai_usage", "filter": {"model": "gpt"}}},
 "orderBy": [{"by": "requestCount", "desc": true}], "limit": 100}`

func TestEngineSubs(t *testing.T) {
	rec := &recorder{}
	run(t, testEngine(rec.exec()), exampleBody)
	if len(rec.subs) != 2 {
		t.Fatalf("executed %d subs; want 2 (requests, ai_usage)", len(rec.subs))
	}
	from := testNowMs - day
	want := map[string]Sub{
		"requests": {
			Project: 7, Dataset: "requests", From: from, To: testNowMs, Interval: hour, MaxGroups: MaxGroups,
			Filter:  []Filter{fc(double(2), OpGe, 400.0)},
			GroupBy: []point.Field{idx()},
			Aggs: []Agg{
				{Type: AggCount},
				{Type: AggAvg, Field: double(1)},
				{Type: AggQuantile, Field: double(1), Q: 0.95},
				{Type: AggPercentage, Filter: []Filter{fc(double(2), OpGe, 500.0)}},
			},
		},
		"ai_usage": {
			Project: 7, Dataset: "ai_usage", From: from, To: testNowMs, Interval: hour, MaxGroups: MaxGroups,
			GroupBy: []point.Field{blob(2)},
			Aggs:    []Agg{{Type: AggSum, Field: double(1), Filter: []Filter{fc(idx(), OpEq, "gpt")}}},
		},
	}
	for ds, w := range want {
		if got := rec.subs[ds]; !reflect.DeepEqual(got, w) {
			t.Errorf("sub %s =\n%+v\nwant\n%+v", ds, got, w)
		}
	}
}

func TestEngineMerge(t *testing.T) {
	rec := &recorder{results: map[string]*SubResult{
		"requests": {RowsScanned: 30, Rows: []SubRow{
			{Groups: []any{"/b"}, Values: []any{20.0, 2.5, 4.0, 10.0}},
			{Groups: []any{"/a"}, Values: []any{10.0, 5.0, 9.0, 20.0}},
		}},
		"ai_usage": {RowsScanned: 12, Rows: []SubRow{
			{Groups: []any{"/c"}, Values: []any{7.0}},
			{Groups: []any{"/b"}, Values: []any{100.0}},
		}},
	}}
	body := strings.NewReplacer(`"interval": "1h",`, "", `, "limit": 100`, "", `"orderBy": [{"by": "requestCount", "desc": true}]`, `"limit": 10`).Replace(exampleBody)
	resp := run(t, testEngine(rec.exec()), body)
	got := jsonOf(t, resp)
	want := `{"rows":[` +
		`{"endpoint":"/a","requestCount":10,"avgLatency":5,"p95":9,"errorRate":20,"tokens":0},` +
		`{"endpoint":"/b","requestCount":20,"avgLatency":2.5,"p95":4,"errorRate":10,"tokens":100},` +
		`{"endpoint":"/c","requestCount":0,"avgLatency":null,"p95":null,"errorRate":null,"tokens":7}],` +
		`"meta":{"from":"2024-04-30T12:00:00Z","to":"2024-05-01T12:00:00Z","rowsScanned":42,"elapsedMs":0,"source":"raw"}}`
	if got != want {
		t.Errorf("Run(merge) =\n%s\nwant\n%s", got, want)
	}
}

func TestEngineJSON(t *testing.T) {
	b1 := testNowMs - 2*hour
	b2 := testNowMs - hour
	rec := &recorder{results: map[string]*SubResult{"requests": {RowsScanned: 5, Rows: []SubRow{
		{Groups: []any{"/x", "GET"}, Bucket: b2, Values: []any{int64(3), []float64{10, 20.5, 1e21}, nil, 1234567.5}},
		{Groups: []any{"/x", "GET"}, Bucket: b1, Values: []any{2.0, []any{1.0, nil, math.NaN()}, "\u003c", 0.000001}},
	}}}}
	body := `{"dataset": "requests", "range": "3h", "interval": "1h", "groupBy": ["endpoint", "method"], "aggregations": {
	  "n": {"type": "count"}, "lat": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.95, 0.999]},
	  "u": {"type": "uniq", "field": "url"}, "s": {"type": "sum", "field": "duration"}}}`
	// The second row's uniq value is a string: a malformed result.
	if _, err := testEngine(rec.exec()).Run(context.Background(), 1, []byte(body)); !errors.Is(err, ErrBadResult) {
		t.Fatalf("Run with a string value = %v; want ErrBadResult", err)
	}
	rec.results["requests"].Rows[1].Values[2] = uint64(4)
	got := jsonOf(t, run(t, testEngine(rec.exec()), body))
	want := `{"rows":[` +
		`{"endpoint":"/x","method":"GET","t":"2024-05-01T10:00:00Z","n":2,"lat":{"p50":1,"p95":null,"p99.9":null},"u":4,"s":0.000001},` +
		`{"endpoint":"/x","method":"GET","t":"2024-05-01T11:00:00Z","n":3,"lat":{"p50":10,"p95":20.5,"p99.9":1e+21},"u":null,"s":1234567.5}],` +
		`"meta":{"from":"2024-05-01T09:00:00Z","to":"2024-05-01T12:00:00Z","rowsScanned":5,"elapsedMs":0,"source":"raw"}}`
	if got != want {
		t.Errorf("Run(json) =\n%s\nwant\n%s", got, want)
	}
}

// ordered runs a request on requests grouped by endpoint with an interval
// over fixed rows and returns the endpoint and t of each answer row.
func ordered(t *testing.T, extra string) []string {
	t.Helper()
	b0, b1 := testNowMs-2*hour, testNowMs-hour
	rec := &recorder{results: map[string]*SubResult{"requests": {Rows: []SubRow{
		{Groups: []any{"/b"}, Bucket: b1, Values: []any{5.0, 1.0, []float64{1, 9}}},
		{Groups: []any{"/a"}, Bucket: b1, Values: []any{5.0, nil, []float64{2, 8}}},
		{Groups: []any{"/c"}, Bucket: b0, Values: []any{7.0, 3.0, []float64{3, 7}}},
		{Groups: []any{"/a"}, Bucket: b0, Values: []any{1.0, 2.0, []float64{4, 6}}},
		{Groups: []any{"/b"}, Bucket: b0, Values: []any{9.0, nil, nil}},
	}}}}
	body := `{"dataset": "requests", "range": "3h", "interval": "1h", "groupBy": ["endpoint"], "aggregations": {
	  "n": {"type": "count"}, "avg": {"type": "avg", "field": "duration"},
	  "lat": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.95]}}` + extra + `}`
	resp := run(t, testEngine(rec.exec()), body)
	var out []string
	for _, r := range resp.Rows {
		ep, _ := r.Get("endpoint")
		ts, _ := r.Get("t")
		out = append(out, ep.(string)+"@"+ts.(string)[11:13])
	}
	return out
}

func TestEngineOrder(t *testing.T) {
	for _, c := range []struct {
		extra string
		want  string
	}{
		{``, "/a@10 /b@10 /c@10 /a@11 /b@11"},
		{`, "orderBy": ["-n"]`, "/b@10 /c@10 /a@11 /b@11 /a@10"},
		{`, "orderBy": [{"by": "n", "desc": true}, {"by": "endpoint", "desc": true}]`, "/b@10 /c@10 /b@11 /a@11 /a@10"},
		{`, "orderBy": ["avg"]`, "/b@11 /a@10 /c@10 /b@10 /a@11"},
		{`, "orderBy": ["-avg"]`, "/c@10 /a@10 /b@11 /b@10 /a@11"},
		{`, "orderBy": ["-t"]`, "/a@11 /b@11 /a@10 /b@10 /c@10"},
		{`, "orderBy": ["endpoint"]`, "/a@10 /a@11 /b@10 /b@11 /c@10"},
		{`, "orderBy": ["-lat.p95"]`, "/b@11 /a@11 /c@10 /a@10 /b@10"},
		{`, "orderBy": ["lat.p50"], "limit": 2`, "/b@11 /a@11"},
		{`, "limit": 1`, "/a@10"},
	} {
		if got := strings.Join(ordered(t, c.extra), " "); got != c.want {
			t.Errorf("order with %s = %s; want %s", c.extra, got, c.want)
		}
	}
}

func TestEngineGlobalRow(t *testing.T) {
	rec := &recorder{}
	body := `{"dataset": "requests", "aggregations": {"n": {"type": "count"}, "s": {"type": "sum", "field": "duration"}, "a": {"type": "avg", "field": "duration"}}}`
	got := jsonOf(t, run(t, testEngine(rec.exec()), body))
	if !strings.HasPrefix(got, `{"rows":[{"n":0,"s":0,"a":null}],`) {
		t.Errorf("Run(no rows, no groups) = %s; want one row of zero count", got)
	}
	body = `{"dataset": "requests", "groupBy": ["endpoint"], "aggregations": {"n": {"type": "count"}}}`
	if got := jsonOf(t, run(t, testEngine(rec.exec()), body)); !strings.HasPrefix(got, `{"rows":[],`) {
		t.Errorf("Run(no rows, grouped) = %s; want no rows", got)
	}
}

func TestEngineGroupValues(t *testing.T) {
	rec := &recorder{results: map[string]*SubResult{"requests": {Rows: []SubRow{
		{Groups: []any{math.Copysign(0, -1), nil}, Values: []any{1.0}},
		{Groups: []any{int64(200), "GET"}, Values: []any{2.0}},
	}}, "other": {Rows: []SubRow{
		{Groups: []any{0.0, ""}, Values: []any{3.0}},
	}}}}
	e := testEngine(rec.exec())
	e.Schemas = func(_ int64, ds string) *point.Schema {
		if ds == "other" {
			return &point.Schema{Blobs: []string{"", "", "method"}, Doubles: []string{"", "status"}}
		}
		return testSchemas[ds]
	}
	body := `{"dataset": "requests", "groupBy": ["status", "method"], "aggregations": {"n": {"type": "count"},
	  "m": {"type": "count", "dataset": "other"}}}`
	got := jsonOf(t, run(t, e, body))
	want := `{"rows":[{"status":0,"method":"","n":1,"m":3},{"status":200,"method":"GET","n":2,"m":0}],`
	if !strings.HasPrefix(got, want) {
		t.Errorf("Run(group values) = %s; want prefix %s", got, want)
	}
	if g := rec.subs["other"].GroupBy; !reflect.DeepEqual(g, []point.Field{double(2), blob(3)}) {
		t.Errorf("other's groupBy = %v; want [double2 blob3]", g)
	}
}

func TestEngineErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	fail := execStub{ExecuteFunc: func(context.Context, *Sub) (*SubResult, error) { return nil, boom }}
	body := `{"dataset": "requests", "groupBy": ["endpoint"], "aggregations": {"n": {"type": "count"}}}`

	_, err := testEngine(fail).Run(context.Background(), 1, []byte(`{"dataset": 1}`))
	var qe *Error
	if !errors.As(err, &qe) || qe.Part != "dataset" {
		t.Errorf("Run(bad request) = %v; want *Error naming dataset", err)
	}

	_, err = testEngine(fail).Run(context.Background(), 1, []byte(body))
	if !errors.Is(err, boom) || errors.As(err, &qe) || !strings.Contains(err.Error(), `"requests"`) {
		t.Errorf("Run(backend failure) = %v; want the backend error wrapped with the dataset, not an *Error", err)
	}

	tooMany := execStub{ExecuteFunc: func(context.Context, *Sub) (*SubResult, error) {
		return nil, fmtWrap(ErrTooManyGroups)
	}}
	_, err = testEngine(tooMany).Run(context.Background(), 1, []byte(body))
	if !errors.As(err, &qe) || qe.Part != "groupBy" {
		t.Errorf("Run(ErrTooManyGroups) = %v; want *Error naming groupBy", err)
	}

	q, err := Parse([]byte(body), testNow, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	q.Subs[0].MaxGroups = 1
	two := &recorder{results: map[string]*SubResult{"requests": {Rows: []SubRow{
		{Groups: []any{"a"}, Values: []any{1.0}}, {Groups: []any{"b"}, Values: []any{1.0}}}}}}
	_, err = testEngine(two.exec()).Execute(context.Background(), 1, q)
	if !errors.As(err, &qe) || qe.Part != "groupBy" {
		t.Errorf("Execute(more rows than MaxGroups) = %v; want *Error naming groupBy", err)
	}

	_, err = (&Engine{}).Run(context.Background(), 1, []byte(body))
	if err == nil {
		t.Errorf("Run without executor = nil; want an error")
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("duckdb"), err) }

func TestEngineBadResults(t *testing.T) {
	body := `{"dataset": "requests", "groupBy": ["endpoint"], "aggregations": {"n": {"type": "count"},
	  "q": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.9]}}}`
	for name, res := range map[string]*SubResult{
		"nil result":        nil,
		"few groups":        {Rows: []SubRow{{Groups: nil, Values: []any{1.0, nil}}}},
		"numeric group":     {Rows: []SubRow{{Groups: []any{1.0}, Values: []any{1.0, nil}}}},
		"few values":        {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{1.0}}}},
		"repeated group":    {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{1.0, nil}}, {Groups: []any{"a"}, Values: []any{1.0, nil}}}},
		"short quantiles":   {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{1.0, []float64{1}}}}},
		"scalar quantiles":  {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{1.0, 2.0}}}},
		"string quantile":   {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{1.0, []any{1.0, "x"}}}}},
		"slice count value": {Rows: []SubRow{{Groups: []any{"a"}, Values: []any{[]float64{1}, nil}}}},
	} {
		stub := execStub{ExecuteFunc: func(context.Context, *Sub) (*SubResult, error) { return res, nil }}
		if _, err := testEngine(stub).Run(context.Background(), 1, []byte(body)); !errors.Is(err, ErrBadResult) {
			t.Errorf("Run(%s) = %v; want ErrBadResult", name, err)
		}
	}
}

// TestEngineCancel checks that one Sub's failure cancels the others and is
// the error reported.
func TestEngineCancel(t *testing.T) {
	boom := errors.New("ai_usage is gone")
	stub := execStub{ExecuteFunc: func(ctx context.Context, s *Sub) (*SubResult, error) {
		if s.Dataset == "ai_usage" {
			return nil, boom
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	_, err := testEngine(stub).Run(context.Background(), 1, []byte(exampleBody))
	if !errors.Is(err, boom) {
		t.Errorf("Run(one sub fails) = %v; want %v", err, boom)
	}
}

func TestExecuteValidates(t *testing.T) {
	rec := &recorder{}
	_, err := testEngine(rec.exec()).Execute(context.Background(), 1, &Query{})
	if err == nil || len(rec.subs) != 0 {
		t.Errorf("Execute(empty query) = %v after %d subs; want an error before any sub", err, len(rec.subs))
	}
}
