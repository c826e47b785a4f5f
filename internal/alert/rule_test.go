package alert

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func builtinSchemas(ds string) *point.Schema { return point.Builtin(ds) }

// The seven rules the README shows decode, and their queries parse.
var readmeRules = []string{
	// Error rate > 5 % over 5 min on /api/chat.
	`{"name":"chat errors","query":{"dataset":"requests","range":"5m","filter":[{"field":"endpoint","op":"=","value":"POST /api/chat"}],
	  "aggregations":{"errorRate":{"type":"percentage","filter":{"field":"status","op":">=","value":500}}}},
	  "condition":{"op":">","value":5},"for":"2m","every":"30s","notify":[{"type":"webhook","url":"http://127.0.0.1:9/hook"},{"type":"slack","url":"https://hooks.slack.com/services/T/B/X"}]}`,
	// p95 latency > 2 s.
	`{"name":"slow","query":{"dataset":"requests","range":"5m","aggregations":{"p95":{"type":"quantile","field":"duration","q":0.95}}},"condition":{"op":">","value":2000},"for":"5m","every":"1m"}`,
	// AI cost today > $50.
	`{"name":"ai budget","query":{"dataset":"ai_usage","range":"today","aggregations":{"cost":{"type":"sum","field":"cost"}}},"condition":{"op":">","value":50},"every":"5m","timezone":"Europe/Paris"}`,
	// Grade passback success < 99 %.
	`{"name":"grades","query":{"dataset":"grade_passback","range":"1h","aggregations":{"ok":{"type":"percentage","filter":{"field":"success","op":"=","value":1}}}},"condition":{"op":"<","value":99},"for":"10m"}`,
	// Intent accuracy < 90 %.
	`{"name":"intent","query":{"dataset":"intent","range":"1h","filter":[{"field":"kind","op":"=","value":"labelled"}],"aggregations":{"accuracy":{"type":"avg","field":"correct"}}},"condition":{"op":"<","value":0.9}}`,
	// A new error group.
	`{"name":"new issue","query":{"dataset":"errors","range":"1m","aggregations":{"newGroups":{"type":"sum","field":"new_group"}}},"condition":{"op":">","value":0},"every":"30s"}`,
	// No data for 10 min.
	`{"name":"silence","query":{"dataset":"requests","range":"10m","aggregations":{"n":{"type":"count"}}},"condition":{"op":"==","value":0},"every":"1m"}`,
}

func TestDecodeReadmeRules(t *testing.T) {
	for _, b := range readmeRules {
		sp, err := Decode([]byte(b), testNow, builtinSchemas)
		if err != nil {
			t.Errorf("Decode(%.60s…) = %v", b, err)
			continue
		}
		if sp.NoData != NoDataOK || sp.Timezone == "" || sp.Notify == nil {
			t.Errorf("defaults not filled in: %+v", sp)
		}
		// What is stored decodes to the same rule.
		again, err := Decode([]byte(marshal(sp)), testNow, builtinSchemas)
		if err != nil || !reflect.DeepEqual(again, sp) {
			t.Errorf("round trip of %s: %+v, %v", marshal(sp), again, err)
		}
	}
}

// Every bad part is a 400 naming its field.
func TestDecodeErrors(t *testing.T) {
	const q = `{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}}`
	for _, c := range []struct{ body, field, msg string }{
		{`[]`, "", "JSON object"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"extra":1}`, "extra", "not a rule field"},
		{`{"query":` + q + `,"condition":{"op":">","value":1}}`, "name", "required"},
		{`{"name":"  ","query":` + q + `,"condition":{"op":">","value":1}}`, "name", "1 to 100"},
		{`{"name":"a\nb","query":` + q + `,"condition":{"op":">","value":1}}`, "name", "control character"},
		{`{"name":"x","condition":{"op":">","value":1}}`, "query", "required"},
		{`{"name":"x","query":{"dataset":"requests","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":1}}`, "query.range", "required"},
		{`{"name":"x","query":{"dataset":"requests","range":{"from":0},"aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":1}}`, "query.range", "duration"},
		{`{"name":"x","query":{"dataset":"requests","range":"5m","interval":"1m","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":1}}`, "query.interval", "no time buckets"},
		{`{"name":"x","query":{"dataset":"requests","range":"5x","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":1}}`, "query.range", "not a duration"},
		{`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"},"m":{"type":"count"}}},"condition":{"op":">","value":1}}`, "query.aggregations", "exactly one"},
		{`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"q":{"type":"quantiles","field":"duration","qs":[0.5]}}},"condition":{"op":">","value":1}}`, "query.aggregations.q.type", "quantile"},
		{`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"d":{"type":"avg","field":"nope"}}},"condition":{"op":">","value":1}}`, "query.aggregations.d.field", ""},
		{`{"name":"x","query":` + q + `}`, "condition", "required"},
		{`{"name":"x","query":` + q + `,"condition":{"value":1}}`, "condition.op", "required"},
		{`{"name":"x","query":` + q + `,"condition":{"op":"~","value":1}}`, "condition.op", "not an operator"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">"}}`, "condition.value", "required"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":"5"}}`, "condition.value", "finite number"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1,"x":2}}`, "condition", "unknown field"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"every":"999ms"}`, "every", "from 1s"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"every":"25h"}`, "every", "to 1d"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"for":"-1s"}`, "for", "not a duration"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"for":5}`, "for", "duration string"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"noData":"alert"}`, "noData", "must be"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"timezone":"Mars/Olympus"}`, "timezone", "IANA"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":{}}`, "notify", "array"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":[{"type":"email","url":"http://a"}]}`, "notify[0].type", "webhook"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":[{"type":"webhook"}]}`, "notify[0].url", "required"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":[{"type":"webhook","url":"http://a"},{"type":"slack","url":"file:///etc/passwd"}]}`, "notify[1].url", "http or https"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":[{"type":"webhook","url":"http://"}]}`, "notify[0].url", "no host"},
		{`{"name":"x","query":` + q + `,"condition":{"op":">","value":1},"notify":[{"type":"webhook","url":"http://a","secret":1}]}`, "notify[0]", "unknown field"},
	} {
		_, err := Decode([]byte(c.body), testNow, builtinSchemas)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("Decode(%s) = %v; want a FieldError on %q saying %q", c.body, err, c.field, c.msg)
		}
	}
}

func TestDecodeNormalizes(t *testing.T) {
	sp, err := Decode([]byte(`{"name":" x ","query":{"dataset":"requests","timeRange":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":"=","value":0},"for":"1d","every":"1s"}`), testNow, builtinSchemas)
	if err != nil {
		t.Fatal(err)
	}
	var q map[string]json.RawMessage
	_ = json.Unmarshal(sp.Query, &q)
	if sp.Name != "x" || sp.Condition.Op != "==" || string(q["range"]) != `"5m"` || q["timeRange"] != nil {
		t.Fatalf("Decode = %+v (query %s)", sp, sp.Query)
	}
	if f, ev := sp.Durations(); f != 24*time.Hour || ev != time.Second {
		t.Fatalf("Durations = %v, %v", f, ev)
	}
}
