package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

const rootKey = "test-root-key-0123456789"

// env is a real server on loopback over a real DuckDB store.
type env struct {
	t     *testing.T
	url   string
	keys  map[meta.KeyKind]string
	store *duckdb.Store
	srv   *server.Server
	pipe  *ingest.Pipeline
}

type envOptions struct {
	server func(*server.Options)
	ingest func(*ingest.Options)
	// wrap lets a test delay or observe commits; nil commits straight to the store.
	wrap func(ingest.Appender) ingest.Appender
	// wal runs the server with its write-ahead log (--wal on).
	wal *servertest.WALOptions
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	se := servertest.Start(t, servertest.Options{RootKey: rootKey, Server: o.server, Ingest: o.ingest, Wrap: o.wrap, WAL: o.wal})
	if b := se.Boot; !b.FirstStart || b.Project.ID != 1 || b.Project.Name != "default" {
		t.Fatalf("Prepare = %+v; want first start with project 1 \"default\"", b)
	}
	return &env{t: t, url: se.URL, keys: se.Keys, store: se.Store, srv: se.Server, pipe: se.Pipeline}
}

// call sends a request and decodes a JSON answer into out (when not nil).
func (e *env) call(method, path, key string, body any, header map[string]string, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type writeAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Position int    `json:"position"`
		Error    string `json:"error"`
	} `json:"rejected"`
	Error struct {
		Code, Message string
	} `json:"error"`
}

type queryAnswer struct {
	Rows  []map[string]any `json:"rows"`
	Meta  map[string]any   `json:"meta"`
	Error struct {
		Code, Message string
	} `json:"error"`
}

func (e *env) query(key string, q string) (int, queryAnswer) {
	e.t.Helper()
	var a queryAnswer
	code := e.call("POST", "/api/v1/query", key, q, nil, &a)
	return code, a
}

func TestWriteAndQueryRoundTrip(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]

	// AE positional form, JSON array.
	var wa writeAnswer
	code := e.call("POST", "/api/v1/datasets/reqs/points", W,
		`[{"indexes":["/api/chat"],"blobs":["/api/chat","GET"],"doubles":[10,200]},
		  {"indexes":["/api/chat"],"blobs":["/api/chat","POST"],"doubles":[30,500]}]`, nil, &wa)
	if code != 200 || wa.Accepted != 2 || len(wa.Rejected) != 0 {
		t.Fatalf("write array = %d %+v; want 200 accepted 2", code, wa)
	}
	// Schema, then the named form over NDJSON with gzip.
	if code := e.call("PUT", "/api/v1/datasets/reqs/schema", A,
		`{"index":"endpoint","blobs":["url","method"],"doubles":["duration","status"]}`, nil, nil); code != 200 {
		t.Fatalf("PUT schema = %d; want 200", code)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintln(zw, `{"index":"/api/grade","fields":{"url":"/api/grade","method":"POST","duration":50,"status":200}}`)
	fmt.Fprintln(zw, `{"index":"/api/grade","fields":{"url":"/api/grade","method":"POST","duration":70,"status":404}}`)
	zw.Close()
	code = e.call("POST", "/api/v1/datasets/reqs/points", W, gz.Bytes(),
		map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, &wa)
	if code != 200 || wa.Accepted != 2 {
		t.Fatalf("write gzip NDJSON = %d %+v; want 200 accepted 2", code, wa)
	}
	// /api/v1/points with the dataset in each point.
	code = e.call("POST", "/api/v1/points", W, `{"dataset":"ai_usage","indexes":["llama"],"blobs":["llama"],"doubles":[1200,850]}`, nil, &wa)
	if code != 200 || wa.Accepted != 1 {
		t.Fatalf("write /api/v1/points = %d %+v; want 200 accepted 1", code, wa)
	}

	code, qa := e.query(R, `{"dataset":"reqs","range":"1h","groupBy":["index1"],
		"aggregations":{"n":{"type":"count"},"avg":{"type":"avg","field":"duration"},
		"err":{"type":"percentage","filter":{"field":"status","operator":">=","value":400}},
		"tokens":{"type":"sum","field":"double1","dataset":"ai_usage"}},
		"orderBy":[{"by":"index1"}]}`)
	if code != 200 {
		t.Fatalf("query = %d %+v", code, qa)
	}
	// The ai_usage sum is grouped by its own index1, so it forms its own row.
	got := map[string][3]float64{}
	tokens := map[string]any{}
	for _, r := range qa.Rows {
		ep, _ := r["index1"].(string)
		tokens[ep] = r["tokens"]
		n, _ := r["n"].(float64)
		avg, _ := r["avg"].(float64)
		errPct, _ := r["err"].(float64)
		if ep == "/api/chat" || ep == "/api/grade" {
			got[ep] = [3]float64{n, avg, errPct}
		}
	}
	want := map[string][3]float64{"/api/chat": {2, 20, 50}, "/api/grade": {2, 60, 50}}
	for ep, w := range want {
		if got[ep] != w {
			t.Errorf("query row %s = %v; want %v (rows %v)", ep, got[ep], w, qa.Rows)
		}
	}
	if len(qa.Rows) != 3 || tokens["llama"] != 1200.0 || tokens["/api/chat"] != 0.0 {
		t.Errorf("rows = %v; want 3 rows, llama's tokens 1200 and 0 for the endpoints", qa.Rows)
	}
	// The same with a groupBy name only requests' schema knows is a clear 400.
	if code, qa := e.query(R, `{"dataset":"reqs","groupBy":["endpoint"],"aggregations":{"tokens":{"type":"sum","field":"double1","dataset":"ai_usage"}}}`); code != 400 || !strings.Contains(qa.Error.Message, "endpoint") {
		t.Errorf("query grouping ai_usage by an unknown name = %d %+v; want 400 naming it", code, qa)
	}

	// Datasets list with counts and schema.
	var ds struct {
		Datasets []struct {
			Name   string         `json:"name"`
			Points int64          `json:"points"`
			Schema map[string]any `json:"schema"`
		} `json:"datasets"`
	}
	if code := e.call("GET", "/api/v1/datasets", R, nil, nil, &ds); code != 200 {
		t.Fatalf("GET datasets = %d", code)
	}
	counts := map[string]int64{}
	for _, d := range ds.Datasets {
		counts[d.Name] = d.Points
	}
	if counts["reqs"] != 4 || counts["ai_usage"] != 1 {
		t.Errorf("dataset counts = %v; want reqs 4, ai_usage 1", counts)
	}
}

func TestWriteRejections(t *testing.T) {
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.MaxBodyBytes = 4096 }})
	W := e.keys[meta.KindWrite]
	var wa writeAnswer

	code := e.call("POST", "/api/v1/datasets/requests/points", W,
		`[{"blobs":["ok"],"doubles":[1]},{"indexes":["a","b"]},{"doubles":[1e999]},{"blobs":["x"],"doubles":[2]}]`, nil, &wa)
	if code != 200 || wa.Accepted != 2 || len(wa.Rejected) != 2 || wa.Rejected[0].Position != 1 || wa.Rejected[1].Position != 2 {
		t.Fatalf("mixed batch = %d %+v; want 200, accepted 2, rejected positions 1 and 2", code, wa)
	}
	if !strings.Contains(wa.Rejected[0].Error, "index") {
		t.Errorf("two-index rejection = %q; want it to explain the one-index rule", wa.Rejected[0].Error)
	}

	code = e.call("POST", "/api/v1/datasets/requests/points", W, `[{"indexes":["a","b"]}]`, nil, &wa)
	if code != 400 || wa.Accepted != 0 || len(wa.Rejected) != 1 {
		t.Fatalf("all-invalid batch = %d %+v; want 400 with one rejection", code, wa)
	}

	big := `{"blobs":["` + strings.Repeat("x", 5000) + `"]}`
	code = e.call("POST", "/api/v1/datasets/requests/points", W, big, nil, &wa)
	if code != 413 || !strings.Contains(wa.Error.Message, "4096") {
		t.Fatalf("oversized body = %d %+v; want 413 naming the 4096-byte limit", code, wa)
	}
	// A gzip bomb is refused by its decompressed size.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(big))
	zw.Close()
	code = e.call("POST", "/api/v1/datasets/requests/points", W, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}, &wa)
	if code != 413 {
		t.Fatalf("oversized gzip body = %d; want 413", code)
	}

	code = e.call("POST", "/api/v1/datasets/Bad-Name/points", W, `{"blobs":["x"]}`, nil, &wa)
	if code != 400 || !strings.Contains(wa.Error.Message, "[a-z0-9_]") {
		t.Fatalf("bad dataset = %d %+v; want 400 naming the rule", code, wa)
	}
	old := time.Now().Add(-100 * 24 * time.Hour).UnixMilli()
	code = e.call("POST", "/api/v1/datasets/requests/points", W, fmt.Sprintf(`{"blobs":["x"],"timestamp":%d}`, old), nil, &wa)
	if code != 400 || len(wa.Rejected) != 1 || !strings.Contains(wa.Rejected[0].Error, "timestamp") {
		t.Fatalf("timestamp outside retention = %d %+v; want 400 naming the timestamp", code, wa)
	}
}

func TestAuthKindsAndRevocation(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A, P := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin], e.keys[meta.KindPublic]
	q := `{"dataset":"requests","aggregations":{"n":{"type":"count"}}}`
	pt := `{"blobs":["x"]}`
	cases := []struct {
		method, path, key string
		body              string
		want              int
	}{
		{"POST", "/api/v1/datasets/requests/points", "", pt, 401},
		{"POST", "/api/v1/datasets/requests/points", "ald_write_nope", pt, 401},
		{"POST", "/api/v1/datasets/requests/points", R, pt, 403},
		{"POST", "/api/v1/datasets/requests/points", P, pt, 403},
		{"POST", "/api/v1/datasets/requests/points", rootKey, pt, 403},
		{"POST", "/api/v1/datasets/requests/points", W, pt, 200},
		{"POST", "/api/v1/query", W, q, 403},
		{"POST", "/api/v1/query", P, q, 403},
		{"POST", "/api/v1/query", R, q, 200},
		{"POST", "/api/v1/query", A, q, 200},
		{"PUT", "/api/v1/datasets/mine/schema", R, `{"index":"endpoint"}`, 403},
		{"PUT", "/api/v1/datasets/mine/schema", A, `{"index":"endpoint"}`, 200},
		{"GET", "/api/v1/keys", R, "", 403},
		{"GET", "/api/v1/keys", A, "", 200},
		{"POST", "/api/v1/projects", A, `{"name":"x"}`, 403},
		{"GET", "/api/v1/projects", rootKey, "", 200},
	}
	for _, c := range cases {
		var body any
		if c.body != "" {
			body = c.body
		}
		if got := e.call(c.method, c.path, c.key, body, nil, nil); got != c.want {
			t.Errorf("%s %s with key %.12q = %d; want %d", c.method, c.path, c.key, got, c.want)
		}
	}

	// A new key works at once, and stops at once when revoked.
	var k struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if code := e.call("POST", "/api/v1/keys", A, `{"kind":"read","name":"grafana"}`, nil, &k); code != 201 || k.Kind != "read" || k.Name != "grafana" || k.Key == "" {
		t.Fatalf("POST /api/v1/keys = %d %+v; want 201 with a read key", code, k)
	}
	if code, _ := e.query(k.Key, q); code != 200 {
		t.Fatalf("query with new key = %d; want 200", code)
	}
	var list struct {
		Keys []map[string]any `json:"keys"`
	}
	e.call("GET", "/api/v1/keys", A, nil, nil, &list)
	for _, lk := range list.Keys {
		if _, ok := lk["key"]; ok {
			t.Errorf("GET /api/v1/keys shows a secret: %v", lk)
		}
	}
	if len(list.Keys) != 5 {
		t.Errorf("GET /api/v1/keys lists %d keys; want 5", len(list.Keys))
	}
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), A, nil, nil, nil); code != 204 {
		t.Fatalf("DELETE key = %d; want 204", code)
	}
	if code, _ := e.query(k.Key, q); code != 401 {
		t.Fatalf("query with revoked key = %d; want 401", code)
	}
}

// TestProjectIsolation proves a project can neither read nor write another's
// data through any endpoint.
func TestProjectIsolation(t *testing.T) {
	e := newEnv(t, envOptions{})
	var web struct {
		ID   int64             `json:"id"`
		Name string            `json:"name"`
		Keys map[string]string `json:"keys"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"web"}`, nil, &web); code != 201 || web.ID != 2 || web.Name != "web" || len(web.Keys) != 4 {
		t.Fatalf("create project = %d %+v; want 201 id 2 with 4 keys", code, web)
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"web"}`, nil, nil); code != 409 {
		t.Errorf("duplicate project = %d; want 409", code)
	}
	A1, W1, R1 := e.keys[meta.KindAdmin], e.keys[meta.KindWrite], e.keys[meta.KindRead]
	A2, W2, R2 := web.Keys["admin"], web.Keys["write"], web.Keys["read"]

	e.call("POST", "/api/v1/datasets/mine/points", W1, `[{"blobs":["one"],"doubles":[1]},{"blobs":["one"],"doubles":[1]}]`, nil, nil)
	e.call("POST", "/api/v1/datasets/mine/points", W2, `{"blobs":["two"],"doubles":[100]}`, nil, nil)
	e.call("PUT", "/api/v1/datasets/mine/schema", A1, `{"blobs":["secret_name"]}`, nil, nil)

	count := func(key string) (float64, float64) {
		code, a := e.query(key, `{"dataset":"mine","aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"double1"}}}`)
		if code != 200 || len(a.Rows) != 1 {
			t.Fatalf("query = %d %+v", code, a)
		}
		return a.Rows[0]["n"].(float64), a.Rows[0]["s"].(float64)
	}
	if n, s := count(R1); n != 2 || s != 2 {
		t.Errorf("project 1 sees count %v sum %v; want 2, 2", n, s)
	}
	if n, s := count(R2); n != 1 || s != 100 {
		t.Errorf("project 2 sees count %v sum %v; want 1, 100", n, s)
	}
	// Project 2 does not see project 1's schema name.
	if code, a := e.query(R2, `{"dataset":"mine","groupBy":["secret_name"],"aggregations":{"n":{"type":"count"}}}`); code != 400 {
		t.Errorf("project 2 grouping by project 1's schema name = %d %+v; want 400", code, a)
	}
	var schema map[string]any
	e.call("GET", "/api/v1/datasets/mine/schema", R2, nil, nil, &schema)
	if len(schema) != 0 {
		t.Errorf("project 2's schema = %v; want empty", schema)
	}
	// Keys: project 2's admin cannot list or revoke project 1's keys.
	var list struct {
		Keys []struct {
			ID int64 `json:"id"`
		} `json:"keys"`
	}
	e.call("GET", "/api/v1/keys", A1, nil, nil, &list)
	for _, k := range list.Keys {
		if code := e.call("DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), A2, nil, nil, nil); code != 404 {
			t.Errorf("project 2 revoking project 1's key %d = %d; want 404", k.ID, code)
		}
	}
	if code, _ := e.query(R1, `{"dataset":"mine","aggregations":{"n":{"type":"count"}}}`); code != 200 {
		t.Errorf("project 1's read key after project 2's revoke attempts = %d; want 200", code)
	}
	// Datasets lists: each project sees only its own.
	e.call("POST", "/api/v1/datasets/only_two/points", W2, `{"blobs":["x"]}`, nil, nil)
	var ds struct {
		Datasets []struct {
			Name   string `json:"name"`
			Points int64  `json:"points"`
		} `json:"datasets"`
	}
	e.call("GET", "/api/v1/datasets", R1, nil, nil, &ds)
	for _, d := range ds.Datasets {
		if d.Name == "only_two" {
			t.Errorf("project 1 lists project 2's dataset %q", d.Name)
		}
	}
	if code := e.call("GET", "/api/v1/datasets/only_two", R1, nil, nil, nil); code != 404 {
		t.Errorf("project 1 GET project 2's dataset = %d; want 404", code)
	}
}

// slowAppender holds every commit until release is closed.
type slowAppender struct {
	next    ingest.Appender
	release chan struct{}
}

func (s *slowAppender) Append(ctx context.Context, b []store.Batch) error {
	<-s.release
	return s.next.Append(ctx, b)
}

func TestBackpressure429(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, envOptions{
		ingest: func(o *ingest.Options) { o.QueueBytes = 4096 },
		wrap:   func(a ingest.Appender) ingest.Appender { return &slowAppender{next: a, release: release} },
	})
	W := e.keys[meta.KindWrite]
	body := `[` + strings.TrimSuffix(strings.Repeat(`{"blobs":["/a","GET"],"doubles":[1,200]},`, 20), ",") + `]`
	// The first write is taken into the empty queue and waits for its commit.
	first := make(chan int)
	go func() { first <- e.call("POST", "/api/v1/datasets/requests/points", W, body, nil, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.pipe.QueuedBytes() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Fill the queue: the next writes find it full.
	req, _ := http.NewRequest("POST", e.url+"/api/v1/datasets/requests/points", strings.NewReader(body+strings.Repeat(" ", 5000)))
	req.Header.Set("Authorization", "Bearer "+W)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(data), "queue is full") {
		t.Fatalf("write to a full queue = %d Retry-After %q %s; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), data)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Fatalf("the queued write = %d; want 200 once committed", code)
	}
	// Nothing of the refused request was stored.
	code, a := e.query(e.keys[meta.KindRead], `{"dataset":"requests","aggregations":{"n":{"type":"count"}}}`)
	if code != 200 || a.Rows[0]["n"].(float64) != 20 {
		t.Fatalf("count after 429 = %d %+v; want 20", code, a)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	if code := e.call("GET", "/healthz", "", nil, nil, nil); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code := e.call("GET", "/readyz", "", nil, nil, nil); code != 200 {
		t.Errorf("readyz = %d", code)
	}
	e.call("POST", "/api/v1/datasets/requests/points", e.keys[meta.KindWrite], `[{"blobs":["a"]},{"indexes":["a","b"]}]`, nil, nil)
	e.query(e.keys[meta.KindRead], `{"dataset":"requests","aggregations":{"n":{"type":"count"}}}`)
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(data)
	for _, want := range []string{
		"alidade_points_accepted_total 1",
		`alidade_points_rejected_total{reason="index"} 1`,
		"alidade_ingest_queue_bytes 0",
		"alidade_commit_duration_seconds_count 1",
		"alidade_query_duration_seconds_count 1",
		"alidade_store_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var nf struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := e.call("GET", "/nope", "", nil, nil, &nf); code != 404 || nf.Error.Code != "not_found" {
		t.Errorf("unknown route = %d %+v; want 404 not_found", code, nf)
	}
}

func TestDatasetRetentionOverride(t *testing.T) {
	e := newEnv(t, envOptions{})
	A := e.keys[meta.KindAdmin]
	e.call("POST", "/api/v1/datasets/short/points", e.keys[meta.KindWrite], `{"blobs":["x"]}`, nil, nil)
	var d struct {
		Retention string `json:"retention"`
		Points    int64  `json:"points"`
	}
	if code := e.call("PATCH", "/api/v1/datasets/short", A, `{"retention":"7d"}`, nil, &d); code != 200 || d.Retention != "7d" || d.Points != 1 {
		t.Fatalf("PATCH retention = %d %+v; want 200 7d", code, d)
	}
	if ds := e.store.Dataset(1, "short"); ds == nil || ds.Retention != 7*24*time.Hour {
		t.Fatalf("stored retention = %+v; want 7d", ds)
	}
	if code := e.call("PATCH", "/api/v1/datasets/short", A, `{"retention":"soon"}`, nil, nil); code != 400 {
		t.Errorf("PATCH bad retention = %d; want 400", code)
	}
}

func TestBuiltinSchemas(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Before any write, a built-in dataset's names work in queries.
	code, a := e.query(e.keys[meta.KindRead], `{"dataset":"requests","groupBy":["endpoint"],"aggregations":{"p95":{"type":"quantile","field":"duration","q":0.95}}}`)
	if code != 200 || len(a.Rows) != 0 {
		t.Fatalf("query by built-in names before any write = %d %+v; want 200 and no rows", code, a)
	}
	// The seed's writeDataPoint lands in the named columns.
	e.call("POST", "/api/v1/datasets/requests/points", e.keys[meta.KindWrite],
		`{"blobs":["https://x/api/chat","POST"],"doubles":[42,503],"indexes":["/api/chat"]}`, nil, nil)
	code, a = e.query(e.keys[meta.KindRead], `{"dataset":"requests","groupBy":["endpoint","method"],"aggregations":{"d":{"type":"max","field":"duration"},"s":{"type":"max","field":"status"}}}`)
	if code != 200 || len(a.Rows) != 1 || a.Rows[0]["endpoint"] != "/api/chat" || a.Rows[0]["method"] != "POST" || a.Rows[0]["d"] != 42.0 || a.Rows[0]["s"] != 503.0 {
		t.Fatalf("built-in names = %d %+v", code, a)
	}
	var e409 struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := e.call("PUT", "/api/v1/datasets/requests/schema", e.keys[meta.KindAdmin], `{"index":"x"}`, nil, &e409); code != 409 || !strings.Contains(e409.Error.Message, "built-in") {
		t.Fatalf("PUT a built-in schema = %d %+v; want 409", code, e409)
	}
	var schema map[string]any
	e.call("GET", "/api/v1/datasets/requests/schema", e.keys[meta.KindRead], nil, nil, &schema)
	if schema["index"] != "endpoint" {
		t.Errorf("GET built-in schema = %v", schema)
	}
}

// TestDatasetNamesOutliveTheirRequest: names decoded from a body (which is
// reused by later requests) must stay intact in the store's catalog.
func TestDatasetNamesOutliveTheirRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	day := time.Now().Add(-24 * time.Hour).UnixMilli()
	e.call("POST", "/api/v1/points", W, fmt.Sprintf(`[{"dataset":"alpha","blobs":["a"],"timestamp":%d},{"dataset":"alpha","blobs":["a"]}]`, day), nil, nil)
	for i := 0; i < 5; i++ {
		e.call("POST", "/api/v1/points", W, `[{"dataset":"zzzzz","blobs":["overwrite the pooled body"],"doubles":[1,2,3]},{"dataset":"zzzzz","indexes":["x"]},{"dataset":"zzzzz"}]`, nil, nil)
	}
	code, a := e.query(R, `{"dataset":"alpha","range":"3d","aggregations":{"n":{"type":"count"}}}`)
	if code != 200 || a.Rows[0]["n"] != 2.0 {
		t.Fatalf("alpha count after later requests = %d %+v; want 2", code, a)
	}
	var ds struct {
		Datasets []struct {
			Name   string `json:"name"`
			Points int64  `json:"points"`
		} `json:"datasets"`
	}
	e.call("GET", "/api/v1/datasets", R, nil, nil, &ds)
	got := map[string]int64{}
	for _, d := range ds.Datasets {
		got[d.Name] = d.Points
	}
	if len(got) != 2 || got["alpha"] != 2 || got["zzzzz"] != 15 {
		t.Fatalf("datasets = %v; want alpha 2 and zzzzz 15", got)
	}
}

// TestSQLEndpoints: the SQL API answers on its own path and on Analytics
// Engine's, by POST body or GET ?query=, honouring default_format unless the
// query names a FORMAT.
func TestSQLEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	e.call("POST", "/api/v1/datasets/requests/points", W, `[{"indexes":["/a"],"blobs":["/a","GET"],"doubles":[10,200]},{"indexes":["/a"],"blobs":["/a","GET"],"doubles":[30,500]}]`, nil, nil)
	q := "SELECT endpoint, count() AS n, avg(duration) AS d FROM requests GROUP BY endpoint"
	get := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+R)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	wantJSON := `"data":[{"endpoint":"\/a","n":"2","d":20}]`
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/api/v1/sql", q, wantJSON},
		{"POST", "/client/v4/accounts/0123/analytics_engine/sql", q, wantJSON},
		{"GET", "/api/v1/sql?query=" + url.QueryEscape(q), "", wantJSON},
		{"POST", "/api/v1/sql?default_format=TabSeparated", q, "/a\t2\t20\n"},
		{"POST", "/api/v1/sql?default_format=TabSeparated", q + " FORMAT JSONEachRow", `{"endpoint":"\/a","n":"2","d":20}` + "\n"},
	} {
		code, body := get(c.method, c.path, c.body)
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s = %d %s; want 200 containing %s", c.method, c.path, code, body, c.want)
		}
	}
	if code, body := get("POST", "/api/v1/sql", "SELECT * FROM read_csv('/etc/passwd')"); code != 400 || !strings.Contains(body, "line 1, column") {
		t.Errorf("table function = %d %s; want 400 naming line and column", code, body)
	}
	if code, _ := get("POST", "/api/v1/sql?default_format=XML", q); code != 400 {
		t.Errorf("default_format=XML = %d; want 400", code)
	}
	if code := e.call("POST", "/api/v1/sql", W, q, nil, nil); code != 403 {
		t.Errorf("SQL with a write key = %d; want 403", code)
	}
}
