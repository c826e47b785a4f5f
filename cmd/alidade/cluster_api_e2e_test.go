//go:build cluster

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClusterAPI: what a cluster node answers as the embedded store does,
// on two nodes over the same ClickHouse and PostgreSQL.
func TestClusterAPI(t *testing.T) {
	e := startClusterEnv(t)
	var a walNode
	e.startWALNode(t, &a)
	b := e.launch(t)
	a.p.waitReady()
	b.waitReady()
	keys := clusterKeys(t, a.p, b)
	t.Run("Idempotency", func(t *testing.T) { testClusterIdempotency(t, e, &a, b, keys) })
	emb := start(t, t.TempDir())
	ekeys := bannerKeys(t, emb)
	t.Run("WebExitPages", func(t *testing.T) { testClusterWebExits(t, b, emb, keys, ekeys) })
	t.Run("IntentAccuracy", func(t *testing.T) { testClusterIntent(t, b, emb, keys, ekeys) })
}

// testClusterIntent: the platform metrics' intent figures (the join of
// predictions with their latest labels: DuckDB SQL on the embedded store,
// ClickHouse SQL on a cluster), overall, by intent and per bucket, are
// the same on the same points.
func testClusterIntent(t *testing.T, node, emb *proc, keys, ekeys map[string]string) {
	from := time.Now().Add(-3 * time.Hour).Truncate(time.Hour).UnixMilli()
	to := from + 2*3600*1000
	intents := []string{"ask", "hint", "submit", "chat"}
	var b strings.Builder
	add := func(ts int64, intent, id, kind, actual string) {
		fmt.Fprintf(&b, `{"timestamp":%d,"index":"clf","fields":{"model":"clf","intent":%q,"prediction_id":%q,"kind":%q,"actual":%q,"confidence":0.5}}`+"\n",
			ts, intent, id, kind, actual)
	}
	for i := range 400 {
		ts := from - 600_000 + int64(i)*20_000 + int64(i%9)*7 // some before the period
		pred := intents[(i*7)%len(intents)]
		id := fmt.Sprintf("p%d", i)
		if i%23 == 0 {
			id = "" // never labelled
		}
		add(ts, pred, id, "prediction", "")
		if id == "" || i%6 == 0 {
			continue
		}
		actual := pred
		if i%5 == 0 {
			actual = intents[(i+1)%len(intents)]
		}
		if i%8 == 0 {
			// Corrected by a later label: the latest wins.
			add(ts+1_000, "", id, "label", "chat")
		}
		add(ts+2_000+int64(i%3), "", id, "label", actual)
	}
	add(to, "ask", "edge", "prediction", "") // outside: [from, to)
	add(to+1, "", "edge", "label", "ask")
	body := b.String()
	writeBoth(t, "intent", body, node, emb, keys, ekeys)
	type answer struct {
		Intent json.RawMessage `json:"intent"`
		Series struct {
			Buckets []struct {
				T           string   `json:"t"`
				Predictions float64  `json:"intentPredictions"`
				Accuracy    *float64 `json:"intentAccuracy"`
			} `json:"buckets"`
		} `json:"series"`
		Meta struct {
			Warnings []string `json:"warnings"`
		} `json:"meta"`
	}
	get := func(url, key string) (answer, string) {
		t.Helper()
		q := fmt.Sprintf("%s/api/v1/metrics?from=%d&to=%d&interval=15m&source=raw", url, from, to)
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, resp := do(t, "GET", q, key, "")
			var a answer
			if code != 200 || json.Unmarshal([]byte(resp), &a) != nil {
				t.Fatalf("GET %s = %d %s", q, code, resp)
			}
			if strings.Contains(string(a.Intent), `"submit"`) || time.Now().After(deadline) {
				series, _ := json.Marshal(a.Series)
				return a, string(series)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c, cs := get(node.url, keys["read"])
	e, es := get(emb.url, ekeys["read"])
	for _, w := range c.Meta.Warnings {
		if strings.Contains(w, "intent") {
			t.Errorf("the cluster's metrics warn: %s", w)
		}
	}
	if string(c.Intent) != string(e.Intent) || !strings.Contains(string(c.Intent), `"accuracy"`) {
		t.Errorf("intent figures:\ncluster:  %s\nembedded: %s", c.Intent, e.Intent)
	}
	if cs != es || len(c.Series.Buckets) != 8 || c.Series.Buckets[3].Predictions == 0 {
		t.Errorf("intent series:\ncluster:  %s\nembedded: %s", cs, es)
	}
	t.Logf("intent on both: %s", c.Intent)
}

// testClusterWebExits: the web analytics' exit pages and entry pages'
// bounces (raw SQL questions: DuckDB's on the embedded store, ClickHouse's
// on a cluster) are the same on the same page views, to the millisecond
// at the period's edges.
func testClusterWebExits(t *testing.T, node, emb *proc, keys, ekeys map[string]string) {
	from := time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli() + 400
	to := from + 40*60*1000
	pages := []string{"/", "/a", "/b", "/c", "/d", "/e"}
	var b strings.Builder
	pv := func(ts int64, session, page string, entry, visitPage int) {
		fmt.Fprintf(&b, `{"timestamp":%d,"index":%q,"fields":{"path":%q,"session":%q,"entry":%d,"visit_page":%d}}`+"\n",
			ts, page, page, session, entry, visitPage)
	}
	for v := range 90 {
		views := 1 + (v*7)%5
		ts := from + int64(v)*20_000 + int64(v%7)*13
		for i := range views {
			entry := 0
			if i == 0 {
				entry = 1
			}
			pv(ts+int64(i)*3_000, fmt.Sprintf("s%d", v), pages[(v+i*3)%len(pages)], entry, i+1)
		}
	}
	// At the edges, in the same second as them: in from, out before it
	// and at to (a visit's last view outside the period is not its exit).
	pv(from, "edge1", "/in-from", 1, 1)
	pv(from-1, "edge2", "/before-from", 1, 1)
	pv(to-1, "s0", "/last-in", 0, 9)
	pv(to, "s1", "/at-to", 0, 9)
	pv(to-100, "nosession", "/x", 1, 1)
	body := strings.ReplaceAll(b.String(), `"session":"nosession"`, `"session":""`)
	writeBoth(t, "pageviews", body, node, emb, keys, ekeys)
	type answer struct {
		Entry json.RawMessage `json:"entryPages"`
		Exit  json.RawMessage `json:"exitPages"`
		Meta  struct {
			Warnings []string `json:"warnings"`
		} `json:"meta"`
	}
	get := func(url, key string) answer {
		t.Helper()
		q := fmt.Sprintf("%s/api/v1/web?from=%d&to=%d&top=100&source=raw", url, from, to)
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, resp := do(t, "GET", q, key, "")
			var a answer
			if code != 200 || json.Unmarshal([]byte(resp), &a) != nil {
				t.Fatalf("GET %s = %d %s", q, code, resp)
			}
			if len(a.Exit) > 4 || time.Now().After(deadline) {
				return a
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c, e := get(node.url, keys["read"]), get(emb.url, ekeys["read"])
	for _, w := range c.Meta.Warnings {
		if strings.Contains(w, "exit") || strings.Contains(w, "bounce") {
			t.Errorf("the cluster's web analytics warn: %s", w)
		}
	}
	if string(c.Exit) != string(e.Exit) || len(c.Exit) < 10 {
		t.Errorf("exit pages:\ncluster:  %s\nembedded: %s", c.Exit, e.Exit)
	}
	if string(c.Entry) != string(e.Entry) || !strings.Contains(string(c.Entry), `"bounces"`) {
		t.Errorf("entry pages:\ncluster:  %s\nembedded: %s", c.Entry, e.Entry)
	}
	for _, page := range []string{"/in-from", "/last-in"} {
		if !strings.Contains(string(c.Exit), `"`+page+`"`) {
			t.Errorf("exit pages lack %s: %s", page, c.Exit)
		}
	}
	for _, page := range []string{"/before-from", "/at-to", "/x"} {
		if strings.Contains(string(c.Exit), `"`+page+`"`) {
			t.Errorf("exit pages hold %s, outside the period or without a visit: %s", page, c.Exit)
		}
	}
	t.Logf("exit pages on both: %s", c.Exit)
}

// idemWrite sends body to url's requests dataset with an Idempotency-Key.
func idemWrite(url, writeKey, key, body string) (code int, resp string, replayed bool, err error) {
	req, _ := http.NewRequest("POST", url+"/api/v1/datasets/requests/points", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+writeKey)
	req.Header.Set("Idempotency-Key", key)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", false, err
	}
	defer r.Body.Close()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, r.Body)
	return r.StatusCode, buf.String(), r.Header.Get("Idempotent-Replayed") == "true", nil
}

// idemPoints is n points of the requests dataset whose index is tag.
func idemPoints(now time.Time, tag string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"timestamp":%d,"index":%q,"fields":{"duration":%d,"status":200}}`+"\n", now.Add(-time.Duration(i)*time.Second).UnixMilli(), tag, i)
	}
	return b.String()
}

// waitCount waits until url counts want points of the requests dataset
// whose endpoint starts with "idem-" (the loader of a --wal on node loads
// behind its answers), and fails with the last count past 30 s.
func waitCount(t *testing.T, url, readKey string, want int) {
	t.Helper()
	q := `{"dataset":"requests","range":"24h","source":"raw","filter":{"field":"endpoint","operator":"starts_with","value":"idem-"},"aggregations":{"n":{"type":"count"}}}`
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		code, resp := do(t, "POST", url+"/api/v1/query", readKey, q)
		last = fmt.Sprint(code, " ", resp)
		if code == 200 && strings.Contains(resp, fmt.Sprintf(`"n":%d}`, want)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("count of the idempotent writes on %s = %s; want %d", url, last, want)
}

// testClusterIdempotency: a write with an Idempotency-Key answered by one
// node is answered again by the other, stored once; another request with
// the key is refused; a node killed after logging a write and before
// recording its key leaves the key pending (409 on the other node) until
// its restart loads the log, and the write is stored once.
func testClusterIdempotency(t *testing.T, e *clusterEnv, a *walNode, b *proc, keys map[string]string) {
	now := time.Now()
	w := keys["write"]
	stored := 0
	for _, c := range []struct {
		name          string
		first, second *proc
	}{{"wal-node-first", a.p, b}, {"plain-node-first", b, a.p}} {
		body := idemPoints(now, "idem-"+c.name, 50)
		code, first, replayed, err := idemWrite(c.first.url, w, c.name, body)
		if err != nil || code != 200 || replayed || !strings.Contains(first, `"accepted":50`) {
			t.Fatalf("%s: first write = %d %s replayed=%v %v; want 200 accepting 50", c.name, code, first, replayed, err)
		}
		stored += 50
		code, again, replayed, err := idemWrite(c.second.url, w, c.name, body)
		if err != nil || code != 200 || !replayed || again != first {
			t.Fatalf("%s: retry on the other node = %d %q replayed=%v %v; want 200 %q replayed", c.name, code, again, replayed, err, first)
		}
		code, other, _, err := idemWrite(c.second.url, w, c.name, idemPoints(now, "idem-other", 3))
		if err != nil || code != 422 || !strings.Contains(other, c.name) {
			t.Fatalf("%s: the key with another body on the other node = %d %s %v; want 422 naming the key", c.name, code, other, err)
		}
	}
	waitCount(t, b.url, keys["read"], stored)

	// Killed after the log append, before the key is recorded done.
	a.p.kill9()
	e.startWALNode(t, a, "ALIDADE_FAILPOINT=kill-after-commit")
	a.p.waitReady()
	body := idemPoints(now, "idem-killed", 40)
	if code, resp, _, err := idemWrite(a.p.url, w, "killed", body); err == nil {
		t.Fatalf("the write was answered (%d %s); want the node killed before its answer", code, resp)
	}
	<-a.p.done
	code, resp, _, err := idemWrite(b.url, w, "killed", body)
	if err != nil || code != 409 || !strings.Contains(resp, "in progress on node") {
		t.Fatalf("retry on the other node while the killed node is down = %d %s %v; want 409 in progress", code, resp, err)
	}
	e.startWALNode(t, a)
	a.p.waitReady()
	code, resp, replayed, err := idemWrite(b.url, w, "killed", body)
	if err != nil || code != 200 || !replayed || !strings.Contains(resp, `"accepted":40`) {
		t.Fatalf("retry on the other node after the restart = %d %s replayed=%v %v; want 200 accepting 40, replayed", code, resp, replayed, err)
	}
	stored += 40
	waitCount(t, b.url, keys["read"], stored)
}
