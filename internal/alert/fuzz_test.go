package alert

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode: any body is a rule or a *FieldError, never a panic; a rule
// keeps the limits (every from 1 s, for from 0 s, at most 10 http(s)
// targets, one aggregation) and what is stored decodes to the same rule.
func FuzzDecode(f *testing.F) {
	for _, b := range readmeRules {
		f.Add(b)
	}
	for _, b := range []string{`{}`, `null`, `{"name":"x","query":{"range":"today","dataset":"ai_usage","aggregations":{"c":{"type":"sum","field":"cost"}}},"condition":{"op":">","value":1e308}}`,
		`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},"condition":{"op":"!=","value":-0},"for":"0","every":"1d1h","noData":"keep"}`,
		`{"name":"x","query":{"dataset":"requests","timeRange":"5m","range":"1m"},"condition":{}}`} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		sp, err := Decode([]byte(body), testNow, builtinSchemas)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || sp != nil {
				t.Fatalf("Decode(%q) = %v, %v; want a *FieldError alone", body, sp, err)
			}
			return
		}
		forD, every := sp.Durations()
		if every < MinEvery || every > MaxEvery || forD < 0 || forD > MaxFor || len(sp.Notify) > MaxTargets {
			t.Fatalf("Decode(%q) kept a rule out of bounds: %+v", body, sp)
		}
		for _, n := range sp.Notify {
			if CheckURL(n.URL) != nil || n.Type != "webhook" && n.Type != "slack" {
				t.Fatalf("Decode(%q) kept target %+v", body, n)
			}
		}
		plan, err := sp.Parse(testNow, builtinSchemas)
		if err != nil || len(plan.Query.Columns) != 1 || plan.Query.Interval != 0 {
			t.Fatalf("Decode(%q) kept a query that does not plan: %v", body, err)
		}
		again, err := Decode([]byte(marshal(sp)), testNow, builtinSchemas)
		if err != nil || !reflect.DeepEqual(again, sp) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", body, again, err, sp)
		}
	})
}
