package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/demo"
	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// aePoint is a point as the tests write it: the AE positional form with its
// dataset and timestamp.
type aePoint struct {
	Dataset   string    `json:"dataset,omitempty"`
	Timestamp int64     `json:"timestamp"`
	Indexes   []string  `json:"indexes,omitempty"`
	Blobs     []string  `json:"blobs,omitempty"`
	Doubles   []float64 `json:"doubles,omitempty"`
}

func (p aePoint) index() string {
	if len(p.Indexes) == 0 {
		return ""
	}
	return p.Indexes[0]
}

func (p aePoint) blob(n int) string {
	if n > len(p.Blobs) {
		return ""
	}
	return p.Blobs[n-1]
}

func (p aePoint) dbl(n int) float64 {
	if n > len(p.Doubles) {
		return 0
	}
	return p.Doubles[n-1]
}

// write sends points as NDJSON through the HTTP API, one request per
// dataset and at most 2,000 points, in order within each dataset.
//
// It writes to /api/v1/datasets/{dataset}/points rather than
// /api/v1/points: with the zero-copy decoder, a dataset name read from the
// body shares the pooled body buffer, and the store keeps it as a map key
// after the request (reported; not this package's to fix).
func (e *env) write(key string, pts []aePoint) {
	e.t.Helper()
	var order []string
	by := map[string][]aePoint{}
	for _, p := range pts {
		if _, ok := by[p.Dataset]; !ok {
			order = append(order, p.Dataset)
		}
		q := p
		q.Dataset = ""
		by[p.Dataset] = append(by[p.Dataset], q)
	}
	for _, ds := range order {
		rest := by[ds]
		for len(rest) > 0 {
			n := min(len(rest), 2000)
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			for _, p := range rest[:n] {
				if err := enc.Encode(p); err != nil {
					e.t.Fatal(err)
				}
			}
			var wa writeAnswer
			if code := e.call("POST", "/api/v1/datasets/"+ds+"/points", key, b.Bytes(), map[string]string{"Content-Type": "application/x-ndjson"}, &wa); code != 200 || wa.Accepted != n {
				e.t.Fatalf("write %s = %d %+v; want %d accepted", ds, code, wa, n)
			}
			rest = rest[n:]
		}
	}
}

// The prices the test expects, USD per 1M tokens (from the default catalog,
// and the project's own entries the test sets).
const (
	llamaInput      = 0.282 // @cf/meta/llama-3.1-8b-instruct
	neuronPer1k     = 0.011
	miniInput       = 0.15 // gpt-4o-mini
	miniCached      = 0.075
	miniOutput      = 0.60
	bgeEmbedding    = 0.067 // @cf/baai/bge-base-en-v1.5
	projMiniInput   = 1.0   // the project's gpt-4o-mini price, for the first half
	projMiniOutput  = 2.0
	llama           = "@cf/meta/llama-3.1-8b-instruct"
	mini            = "gpt-4o-mini"
	haiku           = "claude-haiku-4-5"
	unpricedBlob    = "tutor-ft-v3"
	unpricedIndex   = "house-model"
	bge             = "@cf/baai/bge-base-en-v1.5"
	unpricedEmbeder = "custom-embedder"
)

// fixture is the generated data and the cost the test expects each AI point
// to carry once stored.
type fixture struct {
	pts  []aePoint
	cost map[int]float64 // index in pts -> expected stored cost
}

// genPeriod adds a period's worth of every built-in dataset in [from, to).
func genPeriod(rng *rand.Rand, fx *fixture, from, to int64, scale int, ids *int) {
	ts := func() int64 { return from + 1000 + rng.Int64N(to-from-2000) }
	add := func(p aePoint) int {
		fx.pts = append(fx.pts, p)
		return len(fx.pts) - 1
	}
	endpoints := []string{"GET /api/courses", "POST /api/chat", "POST /api/submit", "GET /api/search", "GET /api/me"}
	statuses := []float64{200, 200, 200, 200, 201, 204, 301, 400, 404, 500, 503}
	for range 60 * scale {
		ep := endpoints[rng.IntN(len(endpoints))]
		st := statuses[rng.IntN(len(statuses))]
		if ep == "GET /api/me" {
			st = 200 // an endpoint without errors
		}
		add(aePoint{Dataset: "requests", Timestamp: ts(), Indexes: []string{ep}, Blobs: []string{"https://tutor.example" + ep[strings.IndexByte(ep, ' ')+1:], ep[:strings.IndexByte(ep, ' ')]},
			Doubles: []float64{float64(rng.IntN(2000)) + 0.25, st}})
	}
	for range 20 * scale {
		tokens := float64(100 + rng.IntN(3000))
		switch rng.IntN(7) {
		case 0: // the seed's trackAIUsage, one-index form
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{llama}, Blobs: []string{llama}, Doubles: []float64{tokens, float64(50 + rng.IntN(900))}})
			fx.cost[i] = tokens * llamaInput / 1e6
		case 1: // Workers AI with neurons
			neurons := float64(rng.IntN(500))
			in := float64(rng.IntN(1000))
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{llama}, Blobs: []string{llama, "chat", "workers-ai"},
				Doubles: []float64{in + 100, float64(rng.IntN(900)), in, 100, 0, 0, 0, neurons, 0}})
			if neurons > 0 {
				fx.cost[i] = neurons / 1000 * neuronPer1k
			} else {
				fx.cost[i] = (in*llamaInput + 100*0.827) / 1e6
			}
		case 2: // the SDK's split form, with cache and time to first token
			in := float64(200 + rng.IntN(2000))
			out := float64(rng.IntN(800))
			cached := float64(rng.IntN(int(in)))
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{mini}, Blobs: []string{mini, "chat", "openai"},
				Doubles: []float64{in + out, float64(100 + rng.IntN(3000)), in, out, float64(20 + rng.IntN(400)), 0, cached, 0, 0}})
			fx.cost[i] = -1 // depends on the price in force when it is written
		case 3: // the writer's own cost
			c := float64(rng.IntN(1000)) / 1e4
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{haiku}, Blobs: []string{haiku, "grading", "anthropic"},
				Doubles: []float64{tokens, float64(rng.IntN(2000)), tokens, 0, 0, c, 0, 0, 2}})
			fx.cost[i] = c
		case 4: // the writer's cost without the priced flag
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{"gpt-4o"}, Blobs: []string{"gpt-4o"}, Doubles: []float64{tokens, 300, 0, 0, 0, 0.5}})
			fx.cost[i] = 0.5
		case 5: // a model with no price
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{unpricedBlob}, Blobs: []string{unpricedBlob}, Doubles: []float64{tokens, float64(rng.IntN(700))}})
			fx.cost[i] = 0
		case 6: // a model with no price, named only by its index
			i := add(aePoint{Dataset: "ai_usage", Timestamp: ts(), Indexes: []string{unpricedIndex}, Doubles: []float64{tokens, float64(rng.IntN(700))}})
			fx.cost[i] = 0
		}
	}
	for range 10 * scale {
		tokens := float64(10 + rng.IntN(500))
		if rng.IntN(4) == 0 {
			i := add(aePoint{Dataset: "embeddings", Timestamp: ts(), Indexes: []string{unpricedEmbeder}, Blobs: []string{unpricedEmbeder, "search"},
				Doubles: []float64{float64(rng.IntN(80)), tokens, 1, 384}})
			fx.cost[i] = 0
			continue
		}
		i := add(aePoint{Dataset: "embeddings", Timestamp: ts(), Indexes: []string{bge}, Blobs: []string{bge, "rag"},
			Doubles: []float64{float64(rng.IntN(80)), tokens, float64(1 + rng.IntN(3)), 768, 0, 0}})
		fx.cost[i] = tokens * bgeEmbedding / 1e6
	}
	for range 15 * scale {
		idx := []string{"course-content", "lesson-notes"}[rng.IntN(2)]
		if rng.IntN(5) == 0 { // the seed's trackVectorSearch: no scores
			add(aePoint{Dataset: "vector_search", Timestamp: ts(), Indexes: []string{idx}, Blobs: []string{"vector_search"},
				Doubles: []float64{float64(rng.IntN(20)), float64(rng.IntN(200))}})
			continue
		}
		add(aePoint{Dataset: "vector_search", Timestamp: ts(), Indexes: []string{idx}, Blobs: []string{"vector_search"},
			Doubles: []float64{float64(rng.IntN(20)), float64(rng.IntN(200)), 0.5 + float64(rng.IntN(50))/100, 0.2 + float64(rng.IntN(50))/100}})
	}
	for range 30 * scale {
		q := []string{"users.by_id", "courses.list", "submissions.insert", "progress.update"}[rng.IntN(4)]
		add(aePoint{Dataset: "db_queries", Timestamp: ts(), Indexes: []string{q}, Blobs: []string{q, "main"},
			Doubles: []float64{float64(rng.IntN(300)) / 3, float64(rng.IntN(100)), float64(rng.IntN(3))}})
	}
	for range 10 * scale {
		switch k := rng.IntN(10); {
		case k < 4:
			add(aePoint{Dataset: "websocket", Timestamp: ts(), Indexes: []string{"open"}, Blobs: []string{"open", "chat"}})
		case k < 7:
			code := []float64{1000, 1001, 0, 1006, 1011}[rng.IntN(5)]
			add(aePoint{Dataset: "websocket", Timestamp: ts(), Indexes: []string{"close"}, Blobs: []string{"close", "chat"},
				Doubles: []float64{float64(rng.IntN(600000)), code}})
		case k < 8:
			add(aePoint{Dataset: "websocket", Timestamp: ts(), Indexes: []string{"error"}, Blobs: []string{"error", "chat", "ECONNRESET"}})
		default:
			add(aePoint{Dataset: "websocket", Timestamp: ts(), Indexes: []string{"message"}, Blobs: []string{"message", "chat"}, Doubles: []float64{0, 0, 1, 1}})
		}
	}
	for range 10 * scale {
		lms := []string{"canvas", "moodle", "blackboard"}[rng.IntN(3)]
		ok := 1.0
		if rng.IntN(10) == 0 || lms == "moodle" && rng.IntN(3) == 0 {
			ok = 0
		}
		add(aePoint{Dataset: "grade_passback", Timestamp: ts(), Indexes: []string{lms}, Blobs: []string{lms, "", "c1"},
			Doubles: []float64{ok, float64(rng.IntN(900)), 1, float64(rng.IntN(100))}})
	}
	intents := []string{"ask_question", "get_hint", "submit_answer", "small_talk"}
	for range 10 * scale {
		*ids++
		id := "p" + strconv.Itoa(*ids)
		if rng.IntN(20) == 0 {
			id = "" // a prediction nobody can label
		}
		pred := intents[rng.IntN(len(intents))]
		t := ts()
		add(aePoint{Dataset: "intent", Timestamp: t, Indexes: []string{"intent-clf"}, Blobs: []string{"intent-clf", pred, id, "prediction", ""},
			Doubles: []float64{float64(rng.IntN(100)) / 100, 0}})
		if id == "" || rng.IntN(100) >= 85 {
			continue
		}
		actual := pred
		if rng.IntN(10) == 0 {
			actual = intents[rng.IntN(len(intents))]
		}
		// Labels come later, possibly after the period; a few are
		// corrected by a later label.
		lt := t + rng.Int64N(6*3600*1000)
		if rng.IntN(10) == 0 {
			add(aePoint{Dataset: "intent", Timestamp: lt, Blobs: []string{"", "small_talk", id, "label", "small_talk"}, Doubles: []float64{0, 0}})
			lt += 1000
		}
		add(aePoint{Dataset: "intent", Timestamp: lt, Blobs: []string{"", actual, id, "label", actual}, Doubles: []float64{0, 0}})
	}
}

// BenchmarkPlatformMetrics measures GET /api/v1/metrics over about a
// million points: four days of the demo's traffic.
func BenchmarkPlatformMetrics(b *testing.B) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: b.TempDir(), MemoryLimit: "1GB"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	boot, err := server.Prepare(ctx, st, rootKey)
	if err != nil {
		b.Fatal(err)
	}
	au, err := auth.New(ctx, st, boot.RootHash)
	if err != nil {
		b.Fatal(err)
	}
	pipe, err := ingest.New(st, ingest.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	pipe.Start()
	defer pipe.Close(ctx)
	opts := server.DefaultOptions()
	opts.Listen = "127.0.0.1:0"
	srv, err := server.New(opts, st, au, pipe, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)
	url := "http://" + srv.Addr()
	// Four days of the demo's traffic, written one dataset per request
	// (see env.write for why not through /api/v1/points).
	now := time.Now()
	bodies := map[string][]byte{}
	var points float64
	post := func(ds string) {
		req, _ := http.NewRequest("POST", url+"/api/v1/datasets/"+ds+"/points", bytes.NewReader(bodies[ds]))
		req.Header.Set("Authorization", "Bearer "+boot.Keys[meta.KindWrite])
		req.Header.Set("Content-Type", "application/x-ndjson")
		for {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 {
				time.Sleep(time.Second)
				req.Body = io.NopCloser(bytes.NewReader(bodies[ds]))
				continue
			}
			if resp.StatusCode != 200 {
				b.Fatalf("write %s = %d", ds, resp.StatusCode)
			}
			break
		}
		bodies[ds] = bodies[ds][:0]
	}
	demo.Generate(1, now.Add(-4*24*time.Hour).UnixMilli(), now.Add(-time.Second).UnixMilli(), 120, func(p *demo.Point) {
		bodies[p.Dataset] = demo.AppendNDJSON(bodies[p.Dataset], p)
		points++
		if len(bodies[p.Dataset]) > 4<<20 {
			post(p.Dataset)
		}
	})
	for ds, body := range bodies {
		if len(body) > 0 {
			post(ds)
		}
	}
	// Every point must be visible, or the figures measure less work.
	var visible float64
	for ds := range bodies {
		q := fmt.Sprintf(`{"dataset":%q,"range":"8d","aggregations":{"n":{"type":"count"}}}`, ds)
		res, err := (&query.Engine{Exec: st, Schemas: st.Schema}).Run(ctx, 1, []byte(q))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := res.Rows[0].Get("n")
		visible += n.(float64)
	}
	if visible != points {
		b.Fatalf("%v of the %v points written are visible to queries", visible, points)
	}
	for _, q := range []string{"range=24h", "range=7d", "range=7d&interval=1h"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", url+"/api/v1/metrics?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+boot.Keys[meta.KindRead])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET metrics = %d", resp.StatusCode)
				}
			}
			b.ReportMetric(points, "points")
		})
	}
}
