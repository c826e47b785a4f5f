//go:build cluster

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/testinfra"
)

// clusterEnv is a ClickHouse cluster of two shards and a PostgreSQL, and
// the flags a node takes to use them.
type clusterEnv struct {
	ch    *testinfra.ClickHouseCluster
	pg    *testinfra.Postgres
	flags []string
}

func startClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	e := &clusterEnv{ch: testinfra.StartClickHouseCluster(t, 2), pg: testinfra.StartPostgres(t)}
	e.flags = []string{
		"--store", fmt.Sprintf("clickhouse://127.0.0.1:%d/alidade?cluster=%s", e.ch.Shards[0].HTTPPort, e.ch.Name),
		"--meta", e.pg.DSN,
	}
	return e
}

// launch starts an Alidade node of the cluster without waiting for it
// (its data dir holds none of the data).
func (e *clusterEnv) launch(t *testing.T, flags ...string) *proc {
	t.Helper()
	return launchArgs(t, t.TempDir(), "warn", append(append([]string{}, e.flags...), flags...))
}

// writeBoth posts body (points, one a line) to dataset on a cluster node
// and on the embedded server, each with its write key, and fails t unless
// both accept every line.
func writeBoth(t *testing.T, dataset, body string, node, emb *proc, keys, ekeys map[string]string) {
	t.Helper()
	n := strings.Count(body, "\n")
	for _, w := range []struct {
		p   *proc
		key string
	}{{node, keys["write"]}, {emb, ekeys["write"]}} {
		code, resp := do(t, "POST", w.p.url+"/api/v1/datasets/"+dataset+"/points", w.key, body)
		if code != 200 || !strings.Contains(resp, fmt.Sprintf(`"accepted":%d`, n)) {
			t.Fatalf("write %s points to %s = %d %s", dataset, w.p.url, code, resp)
		}
	}
}

// launchTwo starts two nodes at once on e's fresh cluster and waits until
// both are ready. One makes the default project and prints its keys: that
// is a, and keys are its banner's; b finds it made and prints none.
func (e *clusterEnv) launchTwo(t *testing.T) (a, b *proc, keys map[string]string) {
	t.Helper()
	a, b = e.launch(t), e.launch(t)
	a.waitReady()
	b.waitReady()
	if strings.Contains(stdoutOf(b), "ald_write_") {
		a, b = b, a
	}
	keys = bannerKeys(t, a)
	if len(keys) != 4 || strings.Contains(stdoutOf(b), "ald_write_") {
		t.Fatalf("first start of two nodes at once: node A printed keys %v; want 4, and node B none\nA:\n%s\nB:\n%s", keys, stdoutOf(a), stdoutOf(b))
	}
	return a, b, keys
}

// do sends a request with a key and returns the status and body.
func do(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// clusterPoints is a day of requests points with names (the built-in
// requests dataset), the same for every node that gets them.
func clusterPoints(now time.Time, n int) string {
	r := rand.New(rand.NewPCG(7, 11))
	eps := []string{"/api/chat", "/api/grade", "/api/search", "/login"}
	var b strings.Builder
	for i := range n {
		ts := now.Add(-time.Duration(r.IntN(23*3600*1000)) * time.Millisecond).UnixMilli()
		ep := eps[r.IntN(len(eps))]
		status := 200
		if r.IntN(10) == 0 {
			status = 500
		}
		fmt.Fprintf(&b, `{"timestamp":%d,"index":%q,"fields":{"url":%q,"method":"GET","duration":%g,"status":%d}}`+"\n",
			ts, ep, ep, float64(r.IntN(20000))/8, status)
		_ = i
	}
	return b.String()
}

// TestClusterTwoNodes: two Alidade nodes over a 2-shard ClickHouse cluster
// and one PostgreSQL answer as one server — and as the embedded store,
// byte for byte, on the same points.
func TestClusterTwoNodes(t *testing.T) {
	e := startClusterEnv(t)
	a, b, keys := e.launchTwo(t)
	embedded := start(t, t.TempDir())
	ekeys := bannerKeys(t, embedded)

	now := time.Now()
	body := clusterPoints(now, 5000)
	writeBoth(t, "requests", body, a, embedded, keys, ekeys)

	// Idempotency keys across the nodes: TestClusterAPI.

	// Written to A, counted by B: structured query, SQL, metrics.
	// source raw: the embedded store would answer p95 from its rollups'
	// sketches (within 1%), a cluster from the points (exact, and to the
	// bit as DuckDB's quantile_cont).
	q := `{"dataset":"requests","range":"24h","source":"raw","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"},` +
		`"avg":{"type":"avg","field":"duration"},"p95":{"type":"quantile","field":"duration","q":0.95},` +
		`"err":{"type":"percentage","filter":{"field":"status","operator":">=","value":500}}},"orderBy":[{"by":"endpoint"}]}`
	rowsOf := func(p *proc, key string) string {
		code, resp := do(t, "POST", p.url+"/api/v1/query", key, q)
		if code != 200 {
			t.Fatalf("query on %s = %d %s", p.url, code, resp)
		}
		var r struct {
			Rows json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal([]byte(resp), &r); err != nil {
			t.Fatal(err)
		}
		return string(r.Rows)
	}
	onB, onEmbedded := rowsOf(b, keys["read"]), rowsOf(embedded, ekeys["read"])
	if onB != onEmbedded {
		t.Errorf("structured query on node B:\n%s\nembedded store:\n%s", onB, onEmbedded)
	}
	if !strings.Contains(onB, `"endpoint":"/api/chat"`) {
		t.Errorf("node B's answer lacks the written endpoints: %s", onB)
	}
	for _, sql := range []string{
		"SELECT count() AS n, sum(double1) AS total FROM requests",
		"SELECT index1, count() AS n, round(avg(duration), 3) AS avg FROM requests GROUP BY index1 ORDER BY index1",
		"SELECT toStartOfHour(timestamp) AS h, count() AS n FROM requests GROUP BY h ORDER BY h DESC LIMIT 3",
		"SELECT blob1, countIf(double2 >= 500) AS errors FROM requests WHERE timestamp > now() - INTERVAL '1' DAY GROUP BY blob1 ORDER BY errors DESC, blob1 FORMAT TabSeparatedWithNames",
		// emulated for 18.16 (aesql.ClickHouseFeatures) over the shards
		"SELECT topKWeighted(2)(index1, _sample_interval) AS top, topKWeighted(5)(blob1, double2) AS byStatus FROM requests",
		"SELECT index1, blob1 FROM requests ORDER BY index1, blob1 DESC LIMIT 2 OFFSET 1 BY index1 LIMIT 5",
	} {
		cb, rb := do(t, "POST", b.url+"/api/v1/sql", keys["read"], sql)
		ce, re := do(t, "POST", embedded.url+"/api/v1/sql", ekeys["read"], sql)
		if cb != 200 || cb != ce || stripStats(rb) != stripStats(re) {
			t.Errorf("%s\nnode B: %d %s\nembedded: %d %s", sql, cb, rb, ce, re)
		}
	}

	// A project made on A is usable on B at once; a key revoked on A is
	// refused on B within a second.
	proj := createProject(t, a.url, "web")
	code, resp := do(t, "POST", b.url+"/api/v1/datasets/clicks/points", proj.Keys["write"], `{"index":"x","doubles":[1]}`)
	if code != 200 {
		t.Fatalf("the new project's write key on B at once = %d %s", code, resp)
	}
	code, resp = do(t, "POST", b.url+"/api/v1/sql", proj.Keys["read"], "SELECT count() FROM clicks FORMAT TabSeparated")
	if code != 200 || strings.TrimSpace(resp) != "1" {
		t.Fatalf("the new project's read key on B = %d %q; want 1", code, resp)
	}
	code, resp = do(t, "POST", b.url+"/api/v1/sql", keys["read"], "SELECT count() FROM clicks FORMAT TabSeparated")
	if code != 400 {
		t.Fatalf("project 1 reads project %d's dataset on B = %d %q; want 400 (unknown dataset)", proj.ID, code, resp)
	}
	code, resp = do(t, "POST", a.url+"/api/v1/keys", proj.Keys["admin"], `{"kind":"read","name":"temp"}`)
	if code != 201 {
		t.Fatalf("create key on A = %d %s", code, resp)
	}
	var k struct {
		ID  int64  `json:"id"`
		Key string `json:"key"`
	}
	json.Unmarshal([]byte(resp), &k)
	if code, resp := do(t, "POST", b.url+"/api/v1/sql", k.Key, "SELECT 1"); code != 200 {
		t.Fatalf("a key made on A, on B at once = %d %s", code, resp)
	}
	if code, resp := do(t, "DELETE", fmt.Sprintf("%s/api/v1/keys/%d", a.url, k.ID), proj.Keys["admin"], ""); code != 204 && code != 200 {
		t.Fatalf("revoke on A = %d %s", code, resp)
	}
	revoked := time.Now()
	for {
		code, _ := do(t, "POST", b.url+"/api/v1/sql", k.Key, "SELECT 1")
		if code == 401 {
			t.Logf("a key revoked on A was refused on B after %v", time.Since(revoked).Round(time.Millisecond))
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("a key revoked on A still opens B after %v (%d)", time.Since(revoked), code)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The platform metrics, on B as on the embedded store (the intent
	// join, in ClickHouse SQL on a cluster: TestClusterAPI).
	metricsOf := func(p *proc, key string) map[string]any {
		code, resp := do(t, "GET", p.url+"/api/v1/metrics?range=24h&source=raw", key, "")
		if code != 200 {
			t.Fatalf("metrics on %s = %d %s", p.url, code, resp)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(resp), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	mb, me := metricsOf(b, keys["read"]), metricsOf(embedded, ekeys["read"])
	for _, k := range []string{"requests", "latency", "errorRate", "latencyPercentiles", "errorRateByEndpoint"} {
		gb, _ := json.Marshal(mb[k])
		ge, _ := json.Marshal(me[k])
		if string(gb) != string(ge) || mb[k] == nil {
			t.Errorf("metrics %s on node B = %s; embedded store %s", k, gb, ge)
		}
	}
	if mb["requests"] != float64(5000) {
		t.Errorf("metrics requests on node B = %v; want 5000", mb["requests"])
	}

	// A dashboard session opened on A opens B; signed out on A, it is
	// refused on B within a second.
	cookie := signIn(t, a.url, keys["read"])
	code, resp = sessionOn(t, b.url, cookie)
	var sess struct {
		CSRF string `json:"csrfToken"`
		Kind string `json:"kind"`
	}
	json.Unmarshal([]byte(resp), &sess)
	if code != 200 || sess.Kind != "read" || sess.CSRF == "" {
		t.Fatalf("A's session on B = %d %s", code, resp)
	}
	oreq, _ := http.NewRequest("POST", a.url+"/logout", nil)
	oreq.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	oreq.Header.Set("X-CSRF-Token", sess.CSRF)
	oresp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(oreq)
	if err != nil || oresp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on A = %v %v", oresp, err)
	}
	oresp.Body.Close()
	out := time.Now()
	for {
		if code, _ := sessionOn(t, b.url, cookie); code == 401 {
			t.Logf("a session ended on A was refused on B after %v", time.Since(out).Round(time.Millisecond))
			break
		}
		if time.Since(out) > time.Second {
			t.Fatalf("a session ended on A still opens B after %v", time.Since(out))
		}
		time.Sleep(5 * time.Millisecond)
	}

	// PostgreSQL down: writes with a key and a dataset the node knows go
	// on, and so do queries; what needs the metadata store answers 503.
	e.pg.Stop()
	pgDown := `{"index":"/pg-down","fields":{"duration":1,"status":200}}`
	if code, resp := do(t, "POST", a.url+"/api/v1/datasets/requests/points", keys["write"], pgDown); code != 200 {
		t.Errorf("a write with a cached key while PostgreSQL is down = %d %s; want 200", code, resp)
	}
	if code, resp := do(t, "POST", embedded.url+"/api/v1/datasets/requests/points", ekeys["write"], pgDown); code != 200 {
		t.Fatalf("write to the embedded store = %d %s", code, resp)
	}
	if code, resp := do(t, "POST", b.url+"/api/v1/sql", keys["read"], "SELECT count() FROM requests WHERE index1 = '/pg-down' FORMAT TabSeparated"); code != 200 || strings.TrimSpace(resp) != "1" {
		t.Errorf("SQL while PostgreSQL is down = %d %q; want 200 and 1", code, resp)
	}
	if code, resp := do(t, "POST", a.url+"/api/v1/keys", keys["admin"], `{"kind":"read","name":"x"}`); code != 503 || !strings.Contains(resp, "store_unavailable") {
		t.Errorf("creating a key while PostgreSQL is down = %d %s; want 503", code, resp)
	}
	if code, resp := do(t, "POST", a.url+"/api/v1/sql", "ald_read_unknownunknownunknown", "SELECT 1"); code != 503 {
		t.Errorf("an unknown key while PostgreSQL is down = %d %s; want 503 (it may be new)", code, resp)
	}
	e.pg.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, resp := do(t, "POST", a.url+"/api/v1/keys", keys["admin"], `{"kind":"read","name":"after"}`)
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating a key after PostgreSQL came back = %d %s", code, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A node started with another root key is refused: it would change
	// the cluster's root key for every node.
	c := launchArgs(t, t.TempDir(), "warn", e.flags, "ALIDADE_ROOT_KEY=another-root-key-0123456789")
	select {
	case err := <-c.done:
		if err == nil || !strings.Contains(c.stderr.String(), "ALIDADE_ROOT_KEY is not the root key") {
			t.Errorf("a node with another root key = %v\n%s", err, c.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("a node with another root key still runs after 30 s")
	}
	if code, resp := do(t, "POST", b.url+"/api/v1/projects", e2eRoot, `{"name":"after-refusal"}`); code != 201 {
		t.Errorf("the cluster's root key after the refused node = %d %s", code, resp)
	}

	// A shard down: 503 with Retry-After, never a smaller count; back up,
	// the same count again.
	e.ch.Shards[1].Stop()
	for _, p := range []*proc{a, b} {
		req, _ := http.NewRequest("POST", p.url+"/api/v1/query", strings.NewReader(q))
		req.Header.Set("Authorization", "Bearer "+keys["read"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body.String(), "store_unavailable") {
			t.Errorf("structured query with a shard down = %d (Retry-After %q) %s; want 503", resp.StatusCode, resp.Header.Get("Retry-After"), body.String())
		}
		if code, body := do(t, "POST", p.url+"/api/v1/sql", keys["read"], "SELECT count() FROM requests"); code != 503 {
			t.Errorf("SQL with a shard down = %d %s; want 503", code, body)
		}
	}
	e.ch.Shards[1].Start()
	if got, want := rowsOf(b, keys["read"]), rowsOf(embedded, ekeys["read"]); got != want || !strings.Contains(got, "/pg-down") {
		t.Errorf("after the shard came back:\n%s\nwant\n%s", got, want)
	}
}

// newProject is a project made with the root key, and its keys.
type newProject struct {
	ID   int64             `json:"id"`
	Keys map[string]string `json:"keys"`
}

// createProject makes a project on the server at url.
func createProject(t *testing.T, url, name string) newProject {
	t.Helper()
	code, resp := do(t, "POST", url+"/api/v1/projects", e2eRoot, fmt.Sprintf(`{"name":%q}`, name))
	if code != 201 {
		t.Fatalf("create project %s on %s = %d %s", name, url, code, resp)
	}
	var p newProject
	if err := json.Unmarshal([]byte(resp), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// stripStats drops the figures that differ between runs of the same
// answer (ClickHouse's JSON statistics: elapsed time, bytes read).
func stripStats(s string) string {
	if i := strings.Index(s, `"statistics"`); i >= 0 {
		return s[:i]
	}
	return s
}
