package query

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

var (
	testNow   = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	testNowMs = testNow.UnixMilli()
	hour      = int64(3600 * 1000)
	day       = 24 * hour
)

var testSchemas = map[string]*point.Schema{
	"requests": {Index: "endpoint", Blobs: []string{"url", "method"}, Doubles: []string{"duration", "status"}},
	"ai_usage": {Index: "model", Blobs: []string{"provider", "endpoint"}, Doubles: []string{"tokens", "latency", "cost"}},
	"app":      {Doubles: []string{"duration", "status", "tokens"}},
	"numeric":  {Doubles: []string{"endpoint"}},
}

func testSchema(ds string) *point.Schema { return testSchemas[ds] }

func idx() point.Field         { return point.Field{Kind: point.KindIndex, Pos: 1} }
func blob(n int) point.Field   { return point.Field{Kind: point.KindBlob, Pos: n} }
func double(n int) point.Field { return point.Field{Kind: point.KindDouble, Pos: n} }
func timestamp() point.Field   { return point.Field{Kind: point.KindTimestamp} }
func sub(ds string, from, to int64) Sub {
	return Sub{Dataset: ds, From: from, To: to, MaxGroups: MaxGroups}
}

func mustParse(t *testing.T, body string) *Query {
	t.Helper()
	q, err := Parse([]byte(body), testNow, testSchema)
	if err != nil {
		t.Fatalf("Parse(%s) = %v; want no error", body, err)
	}
	if err := q.Validate(); err != nil {
		t.Fatalf("Parse(%s) returned a query that fails Validate: %v", body, err)
	}
	return q
}

// TestParseFull parses the contract's example and checks every part of the Query.
func TestParseFull(t *testing.T) {
	body := `{"dataset": "requests",
	 "range": "24h",
	 "filter": [{"field": "status", "op": ">=", "value": 400}],
	 "groupBy": ["endpoint"],
	 "interval": "5m",
	 "aggregations": {
	   "requestCount": {"type": "count"},
	   "avgLatency":   {"type": "avg", "field": "duration"},
	   "p95":          {"type": "quantile", "field": "duration", "q": 0.95},
	   "errorRate":    {"type": "percentage", "filter": {"field": "status", "operator": ">=", "value": 400}},
	   "tokens":       {"type": "sum", "field": "double1", "dataset": "ai_usage"}},
	 "orderBy": [{"by": "requestCount", "desc": true}],
	 "limit": 100}`
	got := mustParse(t, body)
	from := testNowMs - day
	main := sub("requests", from, testNowMs)
	main.Interval = 300000
	main.GroupBy = []point.Field{idx()}
	main.Filter = []Filter{{Field: double(2), Op: OpGe, Value: 400.0}}
	main.Aggs = []Agg{
		{Type: AggCount},
		{Type: AggAvg, Field: double(1)},
		{Type: AggQuantile, Field: double(1), Q: 0.95},
		{Type: AggPercentage, Filter: []Filter{{Field: double(2), Op: OpGe, Value: 400.0}}},
	}
	ai := sub("ai_usage", from, testNowMs)
	ai.Interval = 300000
	ai.GroupBy = []point.Field{blob(2)}
	ai.Aggs = []Agg{{Type: AggSum, Field: double(1)}}
	want := &Query{
		Dataset:  "requests",
		From:     from,
		To:       testNowMs,
		Interval: 300000,
		GroupBy:  []string{"endpoint"},
		Subs:     []Sub{main, ai},
		Columns: []Column{
			{Name: "requestCount", Sub: 0, Agg: 0},
			{Name: "avgLatency", Sub: 0, Agg: 1},
			{Name: "p95", Sub: 0, Agg: 2},
			{Name: "errorRate", Sub: 0, Agg: 3},
			{Name: "tokens", Sub: 1, Agg: 0},
		},
		OrderBy: []Order{{Key: "requestCount", Desc: true}},
		Limit:   100,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(example) =\n%+v\nwant\n%+v", got, want)
	}
}

// TestParseSeed parses the seed's MetricsAggregator.query shapes.
func TestParseSeed(t *testing.T) {
	body := `{"dataset": "app", "timeRange": "7d", "aggregations": {
	  "requestCount": {"type": "count"},
	  "avgLatency": {"type": "avg", "field": "duration"},
	  "errorRate": {"type": "percentage", "filter": {"field": "status", "operator": ">=", "value": 400}},
	  "aiTokensUsed": {"type": "sum", "field": "tokens", "filter": {"index": "ai_model"}}}}`
	q := mustParse(t, body)
	if q.From != testNowMs-7*day || q.To != testNowMs {
		t.Errorf("range = [%d, %d); want [%d, %d)", q.From, q.To, testNowMs-7*day, testNowMs)
	}
	aggs := q.Subs[0].Aggs
	wantPct := []Filter{{Field: double(2), Op: OpGe, Value: 400.0}}
	if !reflect.DeepEqual(aggs[2].Filter, wantPct) {
		t.Errorf("errorRate filter = %+v; want %+v", aggs[2].Filter, wantPct)
	}
	wantIdx := []Filter{{Field: idx(), Op: OpEq, Value: "ai_model"}}
	if !reflect.DeepEqual(aggs[3].Filter, wantIdx) || aggs[3].Field != double(3) {
		t.Errorf("aiTokensUsed = %+v; want sum of double3 with filter %+v", aggs[3], wantIdx)
	}
}

// parseCase is a request that parses and a check of the result.
type parseCase struct {
	name  string
	body  string
	check func(q *Query) string // "" when q is right
}

// wrap builds a request on dataset requests with a count aggregation and extra keys.
func wrap(extra string) string {
	if !strings.Contains(extra, `"aggregations"`) {
		extra = `"aggregations": {"n": {"type": "count"}}, ` + extra
	}
	return strings.TrimSuffix(`{"dataset": "requests", `+extra, ", ") + `}`
}

func wantRange(from, to int64) func(q *Query) string {
	return func(q *Query) string {
		if q.From != from || q.To != to {
			return fmt.Sprintf("range = [%d, %d); want [%d, %d)", q.From, q.To, from, to)
		}
		return ""
	}
}

func wantFilter(fs ...Filter) func(q *Query) string {
	return func(q *Query) string {
		got := q.Subs[0].Filter
		if len(fs) == 0 && len(got) == 0 {
			return ""
		}
		if !reflect.DeepEqual(got, fs) {
			return fmt.Sprintf("filter = %#v; want %#v", got, fs)
		}
		return ""
	}
}

func wantAgg(name string, a Agg) func(q *Query) string {
	return func(q *Query) string {
		for _, c := range q.Columns {
			if c.Name == name {
				got := q.Subs[c.Sub].Aggs[c.Agg]
				if !reflect.DeepEqual(got, a) {
					return fmt.Sprintf("aggregation %s = %#v; want %#v", name, got, a)
				}
				return ""
			}
		}
		return "no aggregation " + name
	}
}

func wantOrder(os ...Order) func(q *Query) string {
	return func(q *Query) string {
		if !reflect.DeepEqual(q.OrderBy, os) {
			return fmt.Sprintf("orderBy = %+v; want %+v", q.OrderBy, os)
		}
		return ""
	}
}

func fc(f point.Field, op Op, v any) Filter { return Filter{Field: f, Op: op, Value: v} }

var parseCases = []parseCase{
	// range
	{"default range", wrap(""), wantRange(testNowMs-day, testNowMs)},
	{"range 30s", wrap(`"range": "30s"`), wantRange(testNowMs-30000, testNowMs)},
	{"range 15m", wrap(`"range": "15m"`), wantRange(testNowMs-15*60000, testNowMs)},
	{"range 24h", wrap(`"range": "24h"`), wantRange(testNowMs-day, testNowMs)},
	{"range 7d", wrap(`"range": "7d"`), wantRange(testNowMs-7*day, testNowMs)},
	{"range 2w", wrap(`"range": "2w"`), wantRange(testNowMs-14*day, testNowMs)},
	{"range 1h30m", wrap(`"range": "1h30m"`), wantRange(testNowMs-90*60000, testNowMs)},
	{"range 1500ms", wrap(`"range": "1500ms"`), wantRange(testNowMs-1500, testNowMs)},
	{"range 400d", wrap(`"range": "400d"`), wantRange(testNowMs-400*day, testNowMs)},
	{"timeRange", wrap(`"timeRange": "1h"`), wantRange(testNowMs-hour, testNowMs)},
	{"range rfc3339", wrap(`"range": {"from": "2024-04-30T00:00:00Z", "to": "2024-05-01T00:00:00+02:00"}`),
		wantRange(time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(2024, 4, 30, 22, 0, 0, 0, time.UTC).UnixMilli())},
	{"range fractional", wrap(`"range": {"from": "2024-05-01T11:00:00.250Z"}`), wantRange(testNowMs-hour+250, testNowMs)},
	{"range ms", wrap(`"range": {"from": 1714557600000, "to": 1714561200000}`), wantRange(1714557600000, 1714561200000)},
	{"range to defaults to now", wrap(`"range": {"from": 1714557600000}`), wantRange(1714557600000, testNowMs)},
	{"range null to", wrap(`"range": {"from": 1714557600000, "to": null}`), wantRange(1714557600000, testNowMs)},
	{"range null", wrap(`"range": null`), wantRange(testNowMs-day, testNowMs)},

	// interval
	{"interval 5m", wrap(`"interval": "5m"`), func(q *Query) string {
		if q.Interval != 300000 || q.Subs[0].Interval != 300000 {
			return fmt.Sprintf("interval = %d; want 300000", q.Interval)
		}
		return ""
	}},
	{"interval 1s over 2h", wrap(`"range": "2h", "interval": "1s"`), func(q *Query) string {
		if q.Interval != 1000 {
			return fmt.Sprintf("interval = %d; want 1000", q.Interval)
		}
		return ""
	}},
	{"10000 buckets", wrap(`"range": "10000s", "interval": "1s"`), func(q *Query) string {
		if q.Interval != 1000 {
			return fmt.Sprintf("interval = %d; want 1000", q.Interval)
		}
		return ""
	}},

	// groupBy
	{"groupBy names and positions", wrap(`"groupBy": ["endpoint", "blob2", "double2", "timestamp"]`), func(q *Query) string {
		want := []point.Field{idx(), blob(2), double(2), timestamp()}
		if !reflect.DeepEqual(q.Subs[0].GroupBy, want) || !reflect.DeepEqual(q.GroupBy, []string{"endpoint", "blob2", "double2", "timestamp"}) {
			return fmt.Sprintf("groupBy = %v %v; want %v", q.GroupBy, q.Subs[0].GroupBy, want)
		}
		return ""
	}},
	{"groupBy string", wrap(`"groupBy": "method"`), func(q *Query) string {
		if !reflect.DeepEqual(q.Subs[0].GroupBy, []point.Field{blob(2)}) {
			return fmt.Sprintf("groupBy = %v; want [blob2]", q.Subs[0].GroupBy)
		}
		return ""
	}},
	{"groupBy index", wrap(`"groupBy": ["index"]`), func(q *Query) string {
		if !reflect.DeepEqual(q.Subs[0].GroupBy, []point.Field{idx()}) {
			return fmt.Sprintf("groupBy = %v; want [index1]", q.Subs[0].GroupBy)
		}
		return ""
	}},

	// filter forms
	{"filter object", wrap(`"filter": {"field": "status", "op": ">=", "value": 400}`), wantFilter(fc(double(2), OpGe, 400.0))},
	{"filter array", wrap(`"filter": [{"field": "status", "op": ">=", "value": 400}, {"field": "method", "op": "=", "value": "GET"}]`),
		wantFilter(fc(double(2), OpGe, 400.0), fc(blob(2), OpEq, "GET"))},
	{"filter operator", wrap(`"filter": {"field": "status", "operator": "<", "value": 500}`), wantFilter(fc(double(2), OpLt, 500.0))},
	{"filter default op", wrap(`"filter": {"field": "method", "value": "GET"}`), wantFilter(fc(blob(2), OpEq, "GET"))},
	{"filter short index", wrap(`"filter": {"index": "ai_model"}`), wantFilter(fc(idx(), OpEq, "ai_model"))},
	{"filter short two keys", wrap(`"filter": {"method": "GET", "status": [200, 204]}`),
		wantFilter(fc(blob(2), OpEq, "GET"), fc(double(2), OpIn, []float64{200, 204}))},
	{"filter empty array", wrap(`"filter": []`), wantFilter()},
	{"filter null", wrap(`"filter": null`), wantFilter()},

	// values
	{"number to string", wrap(`"filter": {"field": "url", "op": "=", "value": 400}`), wantFilter(fc(blob(1), OpEq, "400"))},
	{"float to string", wrap(`"filter": {"field": "url", "op": "=", "value": 1.50}`), wantFilter(fc(blob(1), OpEq, "1.5"))},
	{"exponent to string", wrap(`"filter": {"field": "url", "op": "=", "value": 4e2}`), wantFilter(fc(blob(1), OpEq, "400"))},
	{"numeric string", wrap(`"filter": {"field": "status", "op": "=", "value": "404"}`), wantFilter(fc(double(2), OpEq, 404.0))},
	{"timestamp rfc3339", wrap(`"filter": {"field": "timestamp", "op": ">=", "value": "2024-05-01T11:00:00Z"}`),
		wantFilter(fc(timestamp(), OpGe, float64(testNowMs-hour)))},
	{"timestamp ms", wrap(`"filter": {"field": "timestamp", "op": "<", "value": 1714561200000}`),
		wantFilter(fc(timestamp(), OpLt, 1714561200000.0))},
	{"timestamp ms string", wrap(`"filter": {"field": "timestamp", "op": "<", "value": "1714561200000"}`),
		wantFilter(fc(timestamp(), OpLt, 1714561200000.0))},
	{"in strings", wrap(`"filter": {"field": "method", "op": "in", "value": ["GET", "POST", 1]}`),
		wantFilter(fc(blob(2), OpIn, []string{"GET", "POST", "1"}))},
	{"not_in numbers", wrap(`"filter": {"field": "status", "op": "not_in", "value": [500, "502"]}`),
		wantFilter(fc(double(2), OpNotIn, []float64{500, 502}))},
	{"contains", wrap(`"filter": {"field": "url", "op": "contains", "value": "/api"}`), wantFilter(fc(blob(1), OpContains, "/api"))},
	{"starts_with", wrap(`"filter": {"field": "endpoint", "op": "starts_with", "value": "/v1"}`), wantFilter(fc(idx(), OpStartsWith, "/v1"))},
	{"string less than", wrap(`"filter": {"field": "url", "op": "<", "value": "m"}`), wantFilter(fc(blob(1), OpLt, "m"))},

	// aggregation types
	{"count", wrap(""), wantAgg("n", Agg{Type: AggCount})},
	{"sum", wrap(`"aggregations": {"a": {"type": "sum", "field": "duration"}}`), wantAgg("a", Agg{Type: AggSum, Field: double(1)})},
	{"avg upper case", wrap(`"aggregations": {"a": {"type": "AVG", "field": "double2"}}`), wantAgg("a", Agg{Type: AggAvg, Field: double(2)})},
	{"min", wrap(`"aggregations": {"a": {"type": "min", "field": "timestamp"}}`), wantAgg("a", Agg{Type: AggMin, Field: timestamp()})},
	{"max", wrap(`"aggregations": {"a": {"type": "max", "field": "duration"}}`), wantAgg("a", Agg{Type: AggMax, Field: double(1)})},
	{"percentage", wrap(`"aggregations": {"a": {"type": "percentage", "filter": [{"field": "status", "op": "ge", "value": 500}]}}`),
		wantAgg("a", Agg{Type: AggPercentage, Filter: []Filter{fc(double(2), OpGe, 500.0)}})},
	{"quantile", wrap(`"aggregations": {"a": {"type": "quantile", "field": "duration", "q": 0.5}}`),
		wantAgg("a", Agg{Type: AggQuantile, Field: double(1), Q: 0.5})},
	{"quantiles", wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.95, 0.99]}}`),
		wantAgg("a", Agg{Type: AggQuantiles, Field: double(1), Qs: []float64{0.5, 0.95, 0.99}})},
	{"uniq string", wrap(`"aggregations": {"a": {"type": "uniq", "field": "url"}}`), wantAgg("a", Agg{Type: AggUniq, Field: blob(1)})},
	{"uniq number", wrap(`"aggregations": {"a": {"type": "uniq", "field": "status"}}`), wantAgg("a", Agg{Type: AggUniq, Field: double(2)})},
	{"agg filter", wrap(`"aggregations": {"a": {"type": "avg", "field": "duration", "filter": {"method": "GET"}}}`),
		wantAgg("a", Agg{Type: AggAvg, Field: double(1), Filter: []Filter{fc(blob(2), OpEq, "GET")}})},
	{"agg dataset", wrap(`"aggregations": {"a": {"type": "sum", "field": "cost", "dataset": "ai_usage", "filter": {"model": "m1"}}}`), func(q *Query) string {
		if len(q.Subs) != 1 || q.Subs[0].Dataset != "ai_usage" {
			return fmt.Sprintf("subs = %+v; want one on ai_usage", q.Subs)
		}
		return wantAgg("a", Agg{Type: AggSum, Field: double(3), Filter: []Filter{fc(idx(), OpEq, "m1")}})(q)
	}},
	{"agg dataset same as top", wrap(`"filter": {"method": "GET"}, "aggregations": {"a": {"type": "count", "dataset": "requests"}, "b": {"type": "count"}}`), func(q *Query) string {
		if len(q.Subs) != 1 || len(q.Subs[0].Aggs) != 2 || len(q.Subs[0].Filter) != 1 {
			return fmt.Sprintf("subs = %+v; want one on requests with both aggregations and the filter", q.Subs)
		}
		return ""
	}},
	{"only explicit top dataset", wrap(`"filter": {"method": "GET"}, "aggregations": {"a": {"type": "count", "dataset": "requests"}, "b": {"type": "count", "dataset": "ai_usage"}}`), func(q *Query) string {
		if len(q.Subs) != 2 || q.Subs[0].Dataset != "requests" || len(q.Subs[0].Filter) != 1 || len(q.Subs[1].Filter) != 0 {
			return fmt.Sprintf("subs = %+v; want requests (with the filter) then ai_usage", q.Subs)
		}
		return ""
	}},
	{"no top dataset", `{"aggregations": {"a": {"type": "count", "dataset": "ai_usage"}, "b": {"type": "count", "dataset": "requests"}}}`, func(q *Query) string {
		if q.Dataset != "" || len(q.Subs) != 2 || q.Subs[0].Dataset != "ai_usage" || q.Subs[1].Dataset != "requests" {
			return fmt.Sprintf("query = %+v; want subs ai_usage, requests", q)
		}
		return ""
	}},
	{"unknown dataset, positional fields", `{"dataset": "other", "groupBy": ["blob3"], "aggregations": {"a": {"type": "avg", "field": "double4"}}}`,
		wantAgg("a", Agg{Type: AggAvg, Field: double(4)})},
	{"aggregation order kept", wrap(`"aggregations": {"z": {"type": "count"}, "a": {"type": "count"}, "m": {"type": "count", "dataset": "ai_usage"}, "B_2": {"type": "count"}}`), func(q *Query) string {
		var names []string
		for _, c := range q.Columns {
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != "z,a,m,B_2" {
			return fmt.Sprintf("columns = %v; want z,a,m,B_2", names)
		}
		return ""
	}},

	// orderBy
	{"orderBy objects", wrap(`"groupBy": ["endpoint"], "orderBy": [{"by": "n", "desc": true}, {"by": "endpoint"}]`),
		wantOrder(Order{Key: "n", Desc: true}, Order{Key: "endpoint"})},
	{"orderBy strings", wrap(`"groupBy": ["endpoint"], "interval": "1h", "orderBy": ["-n", "+endpoint", "t"]`),
		wantOrder(Order{Key: "n", Desc: true}, Order{Key: "endpoint"}, Order{Key: "t"})},
	{"orderBy single string", wrap(`"orderBy": "-n"`), wantOrder(Order{Key: "n", Desc: true})},
	{"orderBy single object", wrap(`"orderBy": {"by": "n", "desc": false}`), wantOrder(Order{Key: "n"})},
	{"orderBy quantile key", wrap(`"aggregations": {"lat": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.95]}}, "orderBy": ["-lat.p95"]`),
		wantOrder(Order{Key: "lat.p95", Desc: true})},

	// limit
	{"default limit", wrap(""), func(q *Query) string {
		if q.Limit != DefaultLimit {
			return fmt.Sprintf("limit = %d; want %d", q.Limit, DefaultLimit)
		}
		return ""
	}},
	{"limit", wrap(`"limit": 100000`), func(q *Query) string {
		if q.Limit != MaxLimit {
			return fmt.Sprintf("limit = %d; want %d", q.Limit, MaxLimit)
		}
		return ""
	}},
	{"limit 1.0", wrap(`"limit": 1.0`), func(q *Query) string {
		if q.Limit != 1 {
			return fmt.Sprintf("limit = %d; want 1", q.Limit)
		}
		return ""
	}},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			q := mustParse(t, c.body)
			if msg := c.check(q); msg != "" {
				t.Errorf("Parse(%s): %s", c.body, msg)
			}
		})
	}
}

// TestParseOps checks every operator spelling.
func TestParseOps(t *testing.T) {
	ops := map[string]Op{
		"=": OpEq, "==": OpEq, "eq": OpEq, "EQ": OpEq,
		"!=": OpNe, "<>": OpNe, "ne": OpNe, "neq": OpNe,
		"<": OpLt, "lt": OpLt, "<=": OpLe, "le": OpLe, "lte": OpLe,
		">": OpGt, "gt": OpGt, ">=": OpGe, "ge": OpGe, "gte": OpGe,
		"in": OpIn, "not_in": OpNotIn, "nin": OpNotIn, "not in": OpNotIn,
		"contains": OpContains, "starts_with": OpStartsWith,
	}
	for word, want := range ops {
		value := `"x"`
		if want == OpIn || want == OpNotIn {
			value = `["x"]`
		}
		body := wrap(`"filter": {"field": "url", "op": "` + word + `", "value": ` + value + `}`)
		q := mustParse(t, body)
		if got := q.Subs[0].Filter[0].Op; got != want {
			t.Errorf("Parse(op %q) = %q; want %q", word, got, want)
		}
	}
}

// errorCase is a request that fails, the part its error must name and a
// fragment of its message.
type errorCase struct {
	body, part, msg string
}

func manyAggs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"a%d": {"type": "count"}`, i)
	}
	return `{"dataset": "requests", "aggregations": {` + b.String() + `}}`
}

func manyValues(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	return wrap(`"filter": {"field": "status", "op": "in", "value": [` + strings.Join(vals, ",") + `]}`)
}

func manyConds(n int) string {
	conds := make([]string, n)
	for i := range conds {
		conds[i] = `{"field": "status", "op": ">", "value": 1}`
	}
	return wrap(`"filter": [` + strings.Join(conds, ",") + `]`)
}

var errorCases = []errorCase{
	// body
	{``, "", "empty"},
	{`[]`, "", "must be a JSON object"},
	{`{`, "", "invalid JSON"},
	{`{"dataset": }`, "", "invalid JSON"},
	{`{} {}`, "", "after the top-level value"},
	{`{"filter": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "", "deeper than"},
	{wrap(`"bogus": 1`), "bogus", "unknown key"},
	{wrap(`"Range": "1h"`), "Range", "unknown key"},
	{wrap(`"a b": 1`), `"a b"`, "unknown key"},
	{wrap(`"limit": 1, "limit": 2`), "limit", "repeats"},

	// dataset
	{`{"dataset": 1, "aggregations": {"n": {"type": "count"}}}`, "dataset", "must be a string"},
	{`{"dataset": "Req!", "aggregations": {"n": {"type": "count"}}}`, "dataset", "[a-z0-9_]"},
	{`{"aggregations": {"n": {"type": "count"}}}`, "dataset", `aggregation "n" names no dataset`},

	// range
	{wrap(`"range": "24x"`), "range", "not a duration"},
	{wrap(`"range": "h"`), "range", "not a duration"},
	{wrap(`"range": ""`), "range", "not a duration"},
	{wrap(`"range": "-1h"`), "range", "not a duration"},
	{wrap(`"range": "0s"`), "range", "longer than zero"},
	{wrap(`"range": "401d"`), "range", "longest range, 400d"},
	{wrap(`"range": "9999999999h"`), "range", "not a duration"},
	{wrap(`"range": "999999999w999999999w"`), "range", "too long"},
	{wrap(`"range": 3600`), "range", "must be a duration"},
	{wrap(`"range": {}`), "range.from", "required"},
	{wrap(`"range": {"from": "yesterday"}`), "range.from", "RFC 3339"},
	{wrap(`"range": {"from": true}`), "range.from", "RFC 3339 string or Unix milliseconds"},
	{wrap(`"range": {"from": -1}`), "range.from", "between 1970-01-01"},
	{wrap(`"range": {"from": 1e300}`), "range.from", "between 1970-01-01"},
	{wrap(`"range": {"from": 1714557600000, "to": "later"}`), "range.to", "RFC 3339"},
	{wrap(`"range": {"from": 1714557600000, "to": 1714557600000}`), "range", "must be before to"},
	{wrap(`"range": {"from": 0, "to": 1714557600000}`), "range", "longest range is 400d"},
	{wrap(`"range": {"from": 1714557600000, "until": 1}`), "range.until", "unknown key"},
	{wrap(`"timeRange": "bad"`), "timeRange", "not a duration"},
	{wrap(`"range": "1h", "timeRange": "1h"`), "timeRange", "synonym"},

	// interval
	{wrap(`"interval": 60`), "interval", "must be a duration string"},
	{wrap(`"interval": "5x"`), "interval", "not a duration"},
	{wrap(`"interval": "500ms"`), "interval", "shorter than the shortest interval"},
	{wrap(`"interval": "401d"`), "interval", "longer than the longest range"},
	{wrap(`"interval": "1s"`), "interval", "interval 1s over range 24h gives 86400 buckets; the limit is 10000"},
	{wrap(`"range": "10001s", "interval": "1s"`), "interval", "10001 buckets"},

	// groupBy
	{wrap(`"groupBy": [1]`), "groupBy[0]", "must be a field name"},
	{wrap(`"groupBy": 1`), "groupBy", "must be a field name"},
	{wrap(`"groupBy": [""]`), "groupBy[0]", `must be a field name, got ""`},
	{wrap(`"groupBy": ["t"]`), "groupBy[0]", "reserved"},
	{wrap(`"groupBy": ["url", "url"]`), "groupBy[1]", "repeats"},
	{wrap(`"groupBy": ["a","b","c","d","e","f","g","h","i"]`), "groupBy", "limit is 8"},
	{wrap(`"groupBy": ["nope"]`), "groupBy[0]", `dataset "requests": unknown field "nope"`},
	{wrap(`"groupBy": ["endpoint", "index1"]`), "groupBy[1]", "same column (index1)"},
	{wrap(`"groupBy": ["url"], "aggregations": {"a": {"type": "count", "dataset": "ai_usage"}, "b": {"type": "count"}}`), "groupBy[0]",
		`dataset "ai_usage" (read by aggregation "a"): unknown field "url"`},
	{wrap(`"groupBy": ["endpoint"], "aggregations": {"a": {"type": "count"}, "b": {"type": "count", "dataset": "numeric"}}`), "groupBy[0]",
		"cannot be merged"},

	// aggregations
	{`{"dataset": "requests"}`, "aggregations", "required"},
	{`{"dataset": "requests", "aggregations": []}`, "aggregations", "must be an object"},
	{`{"dataset": "requests", "aggregations": {}}`, "aggregations", "empty"},
	{manyAggs(65), "aggregations", "limit is 64"},
	{wrap(`"aggregations": {"1x": {"type": "count"}}`), "aggregations.1x", "name is invalid"},
	{wrap(`"aggregations": {"a-b": {"type": "count"}}`), `aggregations."a-b"`, "name is invalid"},
	{wrap(`"aggregations": {"t": {"type": "count"}}`), "aggregations.t", "reserved"},
	{wrap(`"groupBy": ["url"], "aggregations": {"url": {"type": "count"}}`), "aggregations.url", "also a groupBy field"},
	{wrap(`"aggregations": {"a": {"type": "count"}, "a": {"type": "count"}}`), "aggregations.a", "repeats"},
	{wrap(`"aggregations": {"a": "count"}`), "aggregations.a", "must be an object"},
	{wrap(`"aggregations": {"a": {"type": "count", "fld": "x"}}`), "aggregations.a.fld", "unknown key"},
	{wrap(`"aggregations": {"a": {"field": "duration"}}`), "aggregations.a.type", "required"},
	{wrap(`"aggregations": {"a": {"type": "median", "field": "duration"}}`), "aggregations.a.type", `"median" is not an aggregation type`},
	{wrap(`"aggregations": {"a": {"type": 1}}`), "aggregations.a.type", "not an aggregation type"},
	{wrap(`"aggregations": {"a": {"type": "count", "field": "duration"}}`), "aggregations.a.field", "count takes no field"},
	{wrap(`"aggregations": {"a": {"type": "percentage", "field": "duration", "filter": {"method": "GET"}}}`), "aggregations.a.field", "takes no field"},
	{wrap(`"aggregations": {"a": {"type": "sum"}}`), "aggregations.a.field", "sum needs a field"},
	{wrap(`"aggregations": {"a": {"type": "uniq"}}`), "aggregations.a.field", "uniq needs a field"},
	{wrap(`"aggregations": {"a": {"type": "avg", "field": 3}}`), "aggregations.a.field", "must be a field name"},
	{wrap(`"aggregations": {"a": {"type": "avg", "field": "url"}}`), "aggregations.a.field", `"url" is a string field (blob1); avg needs a numeric field`},
	{wrap(`"aggregations": {"a": {"type": "min", "field": "nope"}}`), "aggregations.a.field", `unknown field "nope"`},
	{wrap(`"aggregations": {"a": {"type": "sum", "field": "duration", "dataset": "ai_usage"}}`), "aggregations.a.field", `dataset "ai_usage": unknown field "duration"`},
	{wrap(`"aggregations": {"p95": {"type": "quantile", "field": "duration", "q": 1.5}}`), "aggregations.p95.q", "query: aggregations.p95.q: q must be in (0, 1), got 1.5"},
	{wrap(`"aggregations": {"a": {"type": "quantile", "field": "duration", "q": 0}}`), "aggregations.a.q", "got 0"},
	{wrap(`"aggregations": {"a": {"type": "quantile", "field": "duration", "q": "0.5"}}`), "aggregations.a.q", "must be a number"},
	{wrap(`"aggregations": {"a": {"type": "quantile", "field": "duration"}}`), "aggregations.a.q", "required"},
	{wrap(`"aggregations": {"a": {"type": "avg", "field": "duration", "q": 0.5}}`), "aggregations.a.q", "avg takes no q"},
	{wrap(`"aggregations": {"a": {"type": "quantile", "field": "duration", "q": 0.5, "qs": [0.5]}}`), "aggregations.a.qs", "takes no qs"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration"}}`), "aggregations.a.qs", "required"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": []}}`), "aggregations.a.qs", "non-empty array"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": 0.5}}`), "aggregations.a.qs", "non-empty array"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": [0.5, 1]}}`), "aggregations.a.qs[1]", "in (0, 1), got 1"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": [0.5, 0.50]}}`), "aggregations.a.qs[1]", "repeats (key p50)"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "duration", "qs": [0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08,0.09,0.1,0.11,0.12,0.13,0.14,0.15,0.16,0.17]}}`),
		"aggregations.a.qs", "limit is 16"},
	{wrap(`"aggregations": {"a": {"type": "quantiles", "field": "method", "qs": [0.5]}}`), "aggregations.a.field", "numeric field"},
	{wrap(`"aggregations": {"a": {"type": "percentage"}}`), "aggregations.a.filter", "required"},
	{wrap(`"aggregations": {"a": {"type": "percentage", "filter": []}}`), "aggregations.a.filter", "at least one condition"},
	{wrap(`"aggregations": {"a": {"type": "count", "dataset": "A"}}`), "aggregations.a.dataset", "[a-z0-9_]"},
	{wrap(`"aggregations": {"a": {"type": "count", "dataset": 1}}`), "aggregations.a.dataset", "must be a string"},
	{wrap(`"aggregations": {"errorRate": {"type": "percentage", "filter": {"field": "status", "op": "~", "value": 1}}}`),
		"aggregations.errorRate.filter.op", `"~" is not an operator`},

	// filter
	{`{"filter": {"method": "GET"}, "aggregations": {"a": {"type": "count", "dataset": "requests"}}}`, "filter", "names none"},
	{wrap(`"filter": {"method": "GET"}, "aggregations": {"a": {"type": "count", "dataset": "ai_usage"}}`), "filter", "no aggregation reads"},
	{wrap(`"filter": "status >= 400"`), "filter", "must be a condition"},
	{wrap(`"filter": [1]`), "filter[0]", "must be a condition object"},
	{wrap(`"filter": {}`), "filter", "empty condition"},
	{wrap(`"filter": [{"field": "status", "op": ">=", "value": 400, "x": 1}]`), "filter[0].x", "unknown key"},
	{wrap(`"filter": {"op": ">=", "value": 400}`), "filter.field", "required"},
	{wrap(`"filter": {"field": 1, "op": ">=", "value": 400}`), "filter.field", "must be a field name, got 1"},
	{wrap(`"filter": {"field": "status", "op": ">=", "operator": ">=", "value": 400}`), "filter.operator", "synonym"},
	{wrap(`"filter": {"field": "status", "op": "~", "value": 400}`), "filter.op", "not an operator"},
	{wrap(`"filter": {"field": "status", "op": 1, "value": 400}`), "filter.op", "not an operator"},
	{wrap(`"filter": {"field": "status", "operator": "=>", "value": 400}`), "filter.operator", "not an operator"},
	{wrap(`"filter": {"field": "status", "op": ">="}`), "filter.value", "required"},
	{wrap(`"filter": {"field": "status", "op": ">=", "value": null}`), "filter.value", "required"},
	{wrap(`"filter": {"field": "nope", "op": "=", "value": 1}`), "filter.field", `dataset "requests": unknown field "nope"`},
	{wrap(`"filter": {"field": "status", "op": "contains", "value": "4"}`), "filter.op", "contains needs a string field"},
	{wrap(`"filter": {"field": "status", "operator": "starts_with", "value": "4"}`), "filter.operator", "starts_with needs a string field"},
	{wrap(`"filter": {"field": "method", "op": "=", "value": true}`), "filter.value", `must be a string for "method" (blob2), got a boolean`},
	{wrap(`"filter": {"field": "blob1", "op": "=", "value": {}}`), "filter.value", `must be a string for "blob1"`},
	{wrap(`"filter": {"field": "url", "op": "=", "value": 1e400}`), "filter.value", "not a finite number"},
	{wrap(`"filter": {"field": "status", "op": "=", "value": "abc"}`), "filter.value", "not a number"},
	{wrap(`"filter": {"field": "status", "op": "=", "value": "NaN"}`), "filter.value", "not a number"},
	{wrap(`"filter": {"field": "status", "op": "=", "value": 1e400}`), "filter.value", "not a finite number"},
	{wrap(`"filter": {"field": "status", "op": "=", "value": false}`), "filter.value", "must be a number"},
	{wrap(`"filter": {"field": "timestamp", "op": ">", "value": "yesterday"}`), "filter.value", "neither Unix milliseconds nor an RFC 3339 time"},
	{wrap(`"filter": {"field": "status", "op": "=", "value": [1]}`), "filter.value", "use in for a list"},
	{wrap(`"filter": {"field": "status", "op": "in", "value": 1}`), "filter.value", "in needs an array"},
	{wrap(`"filter": {"field": "status", "op": "not_in", "value": []}`), "filter.value", "not_in needs at least one value"},
	{wrap(`"filter": {"field": "status", "op": "in", "value": [1, "x"]}`), "filter.value[1]", "not a number"},
	{wrap(`"filter": {"field": "url", "op": "in", "value": ["a", null]}`), "filter.value[1]", "must be a string"},
	{wrap(`"filter": {"field": "url", "op": "in", "value": [["a"]]}`), "filter.value[0]", "must be a single value"},
	{manyValues(1001), "filter.value", "limit is 1000"},
	{manyConds(65), "filter", "more than 64 conditions"},
	{wrap(`"filter": {"nope": 1}`), "filter.nope", "unknown field"},
	{wrap(`"filter": {"status": "x"}`), "filter.status", "not a number"},
	{wrap(`"filter": {"url": "a", "url": "b"}`), "filter.url", "repeats"},
	{wrap(`"filter": {"field": "status", "field": "url", "value": 1}`), "filter.field", "repeats"},

	// orderBy
	{wrap(`"orderBy": ["nope"]`), "orderBy[0]", `"nope" is not an output name`},
	{wrap(`"orderBy": "nope"`), "orderBy", "not an output name"},
	{wrap(`"orderBy": ["t"]`), "orderBy[0]", "no interval"},
	{wrap(`"orderBy": ["n", "-n"]`), "orderBy[1]", "repeats"},
	{wrap(`"orderBy": [{"desc": true}]`), "orderBy[0].by", "must be the name"},
	{wrap(`"orderBy": [{"by": "n", "desc": "yes"}]`), "orderBy[0].desc", "true or false"},
	{wrap(`"orderBy": [{"by": "n", "asc": true}]`), "orderBy[0].asc", "unknown key"},
	{wrap(`"orderBy": [1]`), "orderBy[0]", "must be a name"},
	{wrap(`"aggregations": {"lat": {"type": "quantiles", "field": "duration", "qs": [0.5]}}, "orderBy": ["lat"]`), "orderBy[0]", `such as "lat.p50"`},
	{wrap(`"aggregations": {"lat": {"type": "quantiles", "field": "duration", "qs": [0.5]}}, "orderBy": ["lat.p99"]`), "orderBy[0]", "not an output name"},

	// limit
	{wrap(`"limit": 0`), "limit", "between 1 and 100000, got 0"},
	{wrap(`"limit": -1`), "limit", "between 1 and 100000"},
	{wrap(`"limit": 100001`), "limit", "between 1 and 100000"},
	{wrap(`"limit": 1.5`), "limit", "whole number, got 1.5"},
	{wrap(`"limit": "10"`), "limit", `whole number, got "10"`},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases {
		q, err := Parse([]byte(c.body), testNow, testSchema)
		if err == nil {
			t.Errorf("Parse(%s) = %+v; want an error naming %q", clip(c.body, 200), q, c.part)
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("Parse(%s) error %v is a %T; want *Error", clip(c.body, 200), err, err)
			continue
		}
		if qe.Part != c.part || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%s) = %q (part %q); want part %q and message containing %q", clip(c.body, 200), err, qe.Part, c.part, c.msg)
		}
	}
}

// TestParseNilSchemas checks that a nil schema function allows positional names only.
func TestParseNilSchemas(t *testing.T) {
	body := `{"dataset": "requests", "groupBy": ["index1"], "aggregations": {"a": {"type": "avg", "field": "double1"}}}`
	if _, err := Parse([]byte(body), testNow, nil); err != nil {
		t.Errorf("Parse with nil schemas = %v; want no error", err)
	}
	body = `{"dataset": "requests", "aggregations": {"a": {"type": "avg", "field": "duration"}}}`
	if _, err := Parse([]byte(body), testNow, nil); err == nil {
		t.Errorf("Parse with nil schemas of a named field = nil; want an error")
	}
}

func TestQuantileKey(t *testing.T) {
	for q, want := range map[float64]string{
		0.5: "p50", 0.95: "p95", 0.99: "p99", 0.999: "p99.9", 0.05: "p5", 0.001: "p0.1",
		0.29: "p29", 0.57: "p57", 0.1: "p10", 0.123456: "p12.3456", 1e-9: "p0.0000001",
	} {
		if got := QuantileKey(q); got != want {
			t.Errorf("QuantileKey(%v) = %q; want %q", q, got, want)
		}
	}
}

func TestErrorString(t *testing.T) {
	if got := (&Error{Part: "limit", Msg: "must be positive"}).Error(); got != "query: limit: must be positive" {
		t.Errorf("Error() = %q; want %q", got, "query: limit: must be positive")
	}
	if got := (&Error{Msg: "the body is empty"}).Error(); got != "query: the body is empty" {
		t.Errorf("Error() = %q; want %q", got, "query: the body is empty")
	}
}
