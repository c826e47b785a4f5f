package lighthouse

import (
	"math"
	"testing"
)

// FuzzParseReport feeds the result reader arbitrary JSON, seeded from the
// real fixtures: it must not panic, and what it accepts must hold together.
func FuzzParseReport(f *testing.F) {
	for _, name := range []string{"fast.json", "slow.json", "error.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"categories":{"performance":{"score":1.7}},"audits":{"x":{"score":-1,"details":{"items":[{"items":[{"node":{"selector":"a"}}]}]}}}}`))
	f.Add([]byte(`{"categories":{"performance":{"score":0.5,"auditRefs":[{"id":"a"},{"id":"a"}]}},"audits":{"a":{"score":0,"metricSavings":{"LCP":-5,"TBT":1e308}}}}`))
	f.Add([]byte(`{"audits":{"largest-contentful-paint-element":{"details":{"type":"list","items":[1,"x",null,{"items":[{"items":[{"items":[{"items":[{"items":[{"node":{}}]}]}]}]}]}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseReport(data)
		if err != nil {
			return
		}
		if res.Score < 0 || res.Score > 100 {
			t.Fatalf("Score = %d; want 0–100", res.Score)
		}
		for i, r := range res.Recommendations {
			for _, v := range []float64{r.SavingsMs, r.SavingsBytes} {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("Recommendations[%d] = %+v: savings must be finite and >= 0", i, r)
				}
			}
			if i > 0 && r.SavingsMs > res.Recommendations[i-1].SavingsMs {
				t.Fatalf("Recommendations not sorted by SavingsMs: %+v", res.Recommendations)
			}
		}
	})
}
