package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/alidade/alidade/internal/demo"
)

// TestDemoFillsEveryMetric runs the demo for a day at its default scale
// (at a small one, a US night at a weekend leaves no WebSocket open at the
// end, whatever the seed) against the real binary, checks that the server stored every point it generated,
// and that every section of /api/v1/metrics has something to show.
func TestDemoFillsEveryMetric(t *testing.T) {
	p := start(t, t.TempDir())
	keys := bannerKeys(t, p)

	// The command line: bad flags are usage errors; good ones write.
	var ue *usageError
	for _, args := range [][]string{{"--days", "x"}, {"--key", "k", "--days", "0"}, {"--url", p.url}, {"extra"}} {
		if err := runDemo(context.Background(), args); !errors.As(err, &ue) {
			t.Errorf("demo %v = %v; want a usage error", args, err)
		}
	}
	if err := runDemo(context.Background(), []string{"--url", p.url, "--key", keys["write"], "--days", "1", "--scale", "120", "--seed", "9"}); err != nil {
		t.Fatalf("demo: %v\nserver stderr:\n%s", err, p.stderr.String())
	}
	counts := func() map[string]float64 {
		out := map[string]float64{}
		for _, ds := range []string{"requests", "ai_usage", "embeddings", "vector_search", "db_queries", "websocket", "grade_passback", "intent",
			"pageviews", "events", "web_vitals", "api_calls", "ui_actions", "check_ins"} {
			q := fmt.Sprintf(`{"dataset":%q,"range":"3d","aggregations":{"n":{"type":"count"}}}`, ds)
			code, data, err := post(p.url+"/api/v1/query", keys["read"], "application/json", []byte(q))
			var a struct {
				Rows []struct{ N float64 } `json:"rows"`
			}
			if err != nil || code != 200 || json.Unmarshal(data, &a) != nil || len(a.Rows) != 1 {
				t.Fatalf("count %s = %d %s %v", ds, code, data, err)
			}
			out[ds] = a.Rows[0].N
		}
		return out
	}
	before := counts()

	o := demo.DefaultOptions()
	var progress bytes.Buffer
	o.URL, o.Key, o.Days, o.Scale, o.Seed, o.BatchSize, o.Progress = p.url, keys["write"], 1, 20, 3, 2000, &progress
	rep, err := demo.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("demo: %v\nserver stderr:\n%s", err, p.stderr.String())
	}
	if rep.Rejected != 0 {
		t.Errorf("the server refused %d points: %s", rep.Rejected, rep.FirstRejection)
	}
	after := counts()
	for ds, n := range rep.Datasets {
		// check_ins also gets the check-ins sent through error tracking
		// (and any a monitor's sweep writes).
		if got := after[ds] - before[ds]; got != float64(n) && (ds != "check_ins" || got < float64(n)) {
			t.Errorf("%s: %v points stored and visible; want the %d the demo wrote", ds, got, n)
		}
	}
	if e := rep.Errors; e.Project != 1 || e.Events == 0 || e.Envelopes == 0 || e.StatusNote == "" {
		t.Errorf("error tracking: %+v; want events in project 1, and a note that a write key resolves no group", e)
	}
	req, _ := http.NewRequest("GET", p.url+"/api/v1/metrics?range=2d&interval=1h", nil)
	req.Header.Set("Authorization", "Bearer "+keys["read"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET metrics = %d %s", resp.StatusCode, data)
	}
	var m struct {
		Requests            float64                        `json:"requests"`
		Latency             float64                        `json:"latency"`
		ErrorRate           float64                        `json:"errorRate"`
		AIUsage             struct{ Tokens, Cost float64 } `json:"aiUsage"`
		LatencyPercentiles  struct{ P95 *float64 }         `json:"latencyPercentiles"`
		ErrorRateByEndpoint []struct{ Errors float64 }     `json:"errorRateByEndpoint"`
		AI                  struct {
			ByModel          []any                    `json:"byModel"`
			UnpricedModels   []struct{ Model string } `json:"unpricedModels"`
			TimeToFirstToken struct{ P50 *float64 }   `json:"timeToFirstToken"`
		} `json:"ai"`
		Embeddings   struct{ Calls, Cost float64 } `json:"embeddings"`
		VectorSearch struct {
			Searches      float64  `json:"searches"`
			MeanRelevance *float64 `json:"meanRelevance"`
		} `json:"vectorSearch"`
		DBQueries struct {
			ByQuery []any `json:"byQuery"`
		} `json:"dbQueries"`
		WebSocket struct {
			OpenConnections, Opens, Closes, Errors float64
			DisconnectRate                         *float64
		} `json:"websocket"`
		GradePassback struct {
			Attempts    float64  `json:"attempts"`
			Failures    float64  `json:"failures"`
			SuccessRate *float64 `json:"successRate"`
		} `json:"gradePassback"`
		Intent struct {
			Accuracy      *float64 `json:"accuracy"`
			LabelledShare *float64 `json:"labelledShare"`
			ByIntent      []any    `json:"byIntent"`
		} `json:"intent"`
		Series struct {
			Buckets []struct{ Requests float64 } `json:"buckets"`
		} `json:"series"`
		Meta struct {
			Warnings []string `json:"warnings"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s is empty after the demo", name)
		}
	}
	check("requests", m.Requests > 0 && m.Latency > 0 && m.ErrorRate > 0)
	check("aiUsage", m.AIUsage.Tokens > 0 && m.AIUsage.Cost > 0)
	check("latencyPercentiles", m.LatencyPercentiles.P95 != nil)
	check("errorRateByEndpoint", len(m.ErrorRateByEndpoint) > 0 && m.ErrorRateByEndpoint[0].Errors > 0)
	check("ai.byModel", len(m.AI.ByModel) >= 4)
	check("ai.unpricedModels", len(m.AI.UnpricedModels) == 1 && m.AI.UnpricedModels[0].Model == "tutor-ft-v3")
	check("ai.timeToFirstToken", m.AI.TimeToFirstToken.P50 != nil)
	check("embeddings", m.Embeddings.Calls > 0 && m.Embeddings.Cost > 0)
	check("vectorSearch", m.VectorSearch.Searches > 0 && m.VectorSearch.MeanRelevance != nil)
	check("dbQueries.byQuery", len(m.DBQueries.ByQuery) > 0)
	check("websocket", m.WebSocket.OpenConnections > 0 && m.WebSocket.Closes > 0 && m.WebSocket.Errors > 0 && m.WebSocket.DisconnectRate != nil)
	check("gradePassback", m.GradePassback.Attempts > 0 && m.GradePassback.Failures > 0 && m.GradePassback.SuccessRate != nil)
	check("intent", m.Intent.Accuracy != nil && m.Intent.LabelledShare != nil && len(m.Intent.ByIntent) > 0)
	check("series", len(m.Series.Buckets) >= 48)
	if len(m.Meta.Warnings) > 0 {
		t.Errorf("warnings: %v", m.Meta.Warnings)
	}
	if t.Failed() {
		t.Logf("metrics: %s", data)
	}
}
