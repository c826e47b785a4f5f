package server_test

import (
	"context"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/pricing"
	"github.com/alidade/alidade/internal/server"
)

type pricingAnswer struct {
	AsOf    string   `json:"prices_as_of"`
	Sources []string `json:"sources"`
	Models  []struct {
		Model   string `json:"model"`
		Pattern bool   `json:"pattern"`
		pricing.Price
		Source string `json:"source"`
	} `json:"models"`
	Error struct{ Code, Message string } `json:"error"`
}

func (a pricingAnswer) find(model string, pattern bool) (pricing.Price, string, bool) {
	for _, m := range a.Models {
		if m.Model == model && m.Pattern == pattern {
			return m.Price, m.Source, true
		}
	}
	return pricing.Price{}, "", false
}

func TestPricingAPI(t *testing.T) {
	operator, err := pricing.ParseCatalog([]byte(`{"models":[
		{"model":"house-llm","input":0.5,"output":1},
		{"model":"gpt-4o","input":2,"output":8}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{server: func(o *server.Options) {
		o.Pricing = pricing.Default().With(pricing.SourceOperator, operator)
	}})
	A, R, W := e.keys[meta.KindAdmin], e.keys[meta.KindRead], e.keys[meta.KindWrite]

	var a pricingAnswer
	if code := e.call("GET", "/api/v1/pricing", A, nil, nil, &a); code != 200 {
		t.Fatalf("GET pricing = %d %+v", code, a.Error)
	}
	if a.AsOf != pricing.Default().AsOf() || len(a.Sources) == 0 {
		t.Errorf("as of %q, sources %v; want the default catalog's", a.AsOf, a.Sources)
	}
	if p, src, ok := a.find("gpt-4o", false); !ok || src != "operator" || p.Input != 2 {
		t.Errorf("gpt-4o = %+v from %q; want the operator's price", p, src)
	}
	if p, src, ok := a.find("gpt-4o-mini", false); !ok || src != "default" || p.Input != 0.15 {
		t.Errorf("gpt-4o-mini = %+v from %q; want the default price", p, src)
	}
	if _, src, ok := a.find("house-llm", false); !ok || src != "operator" {
		t.Errorf("house-llm from %q; want operator", src)
	}

	// Project entries: names with slashes, and patterns (URL-encoded).
	if code := e.call("PUT", "/api/v1/pricing/@cf/meta/llama-3.1-8b-instruct", A, `{"input":1,"output":2,"neurons_per_1k":0}`, nil, nil); code != 200 {
		t.Errorf("PUT a name with slashes = %d", code)
	}
	pat := `tutor-ft-v\d+`
	var put struct {
		Model   string  `json:"model"`
		Pattern bool    `json:"pattern"`
		Input   float64 `json:"input"`
		Source  string  `json:"source"`
	}
	if code := e.call("PUT", "/api/v1/pricing/"+url.PathEscape(pat), A, `{"input":3,"pattern":true}`, nil, &put); code != 200 || put.Model != pat || !put.Pattern || put.Source != "project" {
		t.Errorf("PUT pattern = %d %+v", code, put)
	}
	for _, tc := range []struct{ path, body, code string }{
		{"bad(", `{"input":1,"pattern":true}`, "bad_price"},
		{"neg", `{"input":-1}`, "bad_price"},
		{"unknown", `{"inptu":1}`, "bad_json"},
	} {
		var ea pricingAnswer
		if code := e.call("PUT", "/api/v1/pricing/"+url.PathEscape(tc.path), A, tc.body, nil, &ea); code != 400 || ea.Error.Code != tc.code {
			t.Errorf("PUT %s %s = %d %+v; want 400 %s", tc.path, tc.body, code, ea.Error, tc.code)
		}
	}
	for _, k := range []string{R, W} {
		if code := e.call("PUT", "/api/v1/pricing/x", k, `{"input":1}`, nil, nil); code != 403 {
			t.Errorf("PUT with a non-admin key = %d; want 403", code)
		}
		if code := e.call("GET", "/api/v1/pricing", k, nil, nil, nil); code != 403 {
			t.Errorf("GET with a non-admin key = %d; want 403", code)
		}
	}
	a = pricingAnswer{}
	e.call("GET", "/api/v1/pricing", A, nil, nil, &a)
	if p, src, ok := a.find("@cf/meta/llama-3.1-8b-instruct", false); !ok || src != "project" || p.Input != 1 {
		t.Errorf("llama = %+v from %q; want the project's", p, src)
	}
	if _, src, ok := a.find(pat, true); !ok || src != "project" {
		t.Errorf("pattern from %q; want project", src)
	}

	// Ingest prices with the project's entries; another project keeps
	// the operator's and default prices.
	var web struct {
		Keys map[string]string `json:"keys"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"web"}`, nil, &web); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	ts := time.Now().Add(-time.Minute).UnixMilli()
	batch := []aePoint{
		{Dataset: "ai_usage", Timestamp: ts, Indexes: []string{"tutor-ft-v3"}, Blobs: []string{"tutor-ft-v3"}, Doubles: []float64{1e6, 5}},
		{Dataset: "ai_usage", Timestamp: ts, Indexes: []string{"@cf/meta/llama-3.1-8b-instruct"}, Blobs: []string{"@cf/meta/llama-3.1-8b-instruct"}, Doubles: []float64{1e6, 5}},
		{Dataset: "ai_usage", Timestamp: ts, Indexes: []string{"house-llm"}, Blobs: []string{"house-llm"}, Doubles: []float64{1e6, 5}},
	}
	e.write(W, batch)
	e.write(web.Keys["write"], batch)
	costs := func(key string) map[string][2]float64 {
		code, qa := e.query(key, `{"dataset":"ai_usage","range":"1h","groupBy":["model"],
			"aggregations":{"cost":{"type":"sum","field":"cost"},"priced":{"type":"max","field":"priced"}}}`)
		if code != 200 {
			t.Fatalf("query = %d %+v", code, qa)
		}
		out := map[string][2]float64{}
		for _, r := range qa.Rows {
			out[r["model"].(string)] = [2]float64{r["cost"].(float64), r["priced"].(float64)}
		}
		return out
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	mine, theirs := costs(R), costs(web.Keys["read"])
	for model, want := range map[string][2]float64{"tutor-ft-v3": {3, 1}, "@cf/meta/llama-3.1-8b-instruct": {1, 1}, "house-llm": {0.5, 1}} {
		if g := mine[model]; !near(g[0], want[0]) || g[1] != want[1] {
			t.Errorf("project 1 %s cost, priced = %v; want %v", model, g, want)
		}
	}
	for model, want := range map[string][2]float64{"tutor-ft-v3": {0, 0}, "@cf/meta/llama-3.1-8b-instruct": {0.282, 1}, "house-llm": {0.5, 1}} {
		if g := theirs[model]; !near(g[0], want[0]) || g[1] != want[1] {
			t.Errorf("project 2 %s cost, priced = %v; want %v", model, g, want)
		}
	}

	// Entries persist in the store's settings.
	stored, err := e.store.Setting(context.Background(), "pricing/1")
	if err != nil || !strings.Contains(stored, "tutor-ft-v") || !strings.Contains(stored, "llama-3.1-8b-instruct") {
		t.Errorf("stored project prices = %q, %v", stored, err)
	}
	f, err := pricing.ParseCatalog([]byte(stored))
	if err != nil || len(f.Entries) != 2 {
		t.Errorf("stored prices parse to %+v, %v; want 2 entries", f, err)
	}

	// DELETE: the project's own entry only.
	if code := e.call("DELETE", "/api/v1/pricing/"+url.PathEscape(pat), A, nil, nil, nil); code != 200 {
		t.Errorf("DELETE pattern = %d", code)
	}
	if code := e.call("DELETE", "/api/v1/pricing/"+url.PathEscape(pat), A, nil, nil, nil); code != 404 {
		t.Errorf("second DELETE = %d; want 404", code)
	}
	if code := e.call("DELETE", "/api/v1/pricing/gpt-4o", A, nil, nil, nil); code != 404 {
		t.Errorf("DELETE of an operator price = %d; want 404", code)
	}
	if code := e.call("DELETE", "/api/v1/pricing/@cf/meta/llama-3.1-8b-instruct", web.Keys["admin"], nil, nil, nil); code != 404 {
		t.Errorf("project 2 deleting project 1's price = %d; want 404", code)
	}
	a = pricingAnswer{}
	e.call("GET", "/api/v1/pricing", A, nil, nil, &a)
	if _, _, ok := a.find(pat, true); ok {
		t.Error("deleted pattern still listed")
	}
	// The cost already stored keeps the price of its day.
	if g := costs(R)["tutor-ft-v3"]; !near(g[0], 3) {
		t.Errorf("tutor-ft-v3 cost after the price was deleted = %v; want 3 (history keeps its price)", g)
	}
}
