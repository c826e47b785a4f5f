package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// idemPost writes body with an Idempotency-Key and returns the status,
// the body and whether the answer says it was replayed.
func (e *env) idemPost(path, key, idemKey, body string) (int, string, bool) {
	e.t.Helper()
	resp, data := e.postNDJSON(path, key, idemKey, body)
	return resp.StatusCode, string(data), resp.Header.Get("Idempotent-Replayed") == "true"
}

// postNDJSON posts an NDJSON body to path with key (and an
// Idempotency-Key when idemKey is set) and returns the answer and its body.
func (e *env) postNDJSON(path, key, idemKey, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
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
	return resp, data
}

// countRaw counts a dataset's stored points (raw) and rolled up points
// over the last two days.
func (e *env) countBoth(key, dataset string) (raw, rolled float64) {
	e.t.Helper()
	for _, src := range []string{"raw", "rollup"} {
		code, a := e.query(key, fmt.Sprintf(`{"dataset":%q,"range":"48h","source":%q,"aggregations":{"n":{"type":"count"}}}`, dataset, src))
		if code != 200 || len(a.Rows) != 1 {
			e.t.Fatalf("count %s from %s = %d %+v", dataset, src, code, a)
		}
		n, _ := a.Rows[0]["n"].(float64)
		if src == "raw" {
			raw = n
		} else {
			rolled = n
		}
	}
	return raw, rolled
}

func ndjson(ts int64, n int, tag string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"timestamp":%d,"indexes":["%s"],"blobs":["%s-%d"],"doubles":[%d]}`+"\n", ts-int64(i), tag, tag, i, i)
	}
	return b.String()
}

func TestIdempotencyKeyStoresOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	now := time.Now().UnixMilli()
	body := ndjson(now-1000, 50, "a")
	// Yesterday and today: the key is recorded in both day files.
	body += ndjson(now-25*3600*1000, 30, "y")

	code, first, replayed := e.idemPost("/api/v1/datasets/idem/points", W, "batch-1", body)
	if code != 200 || replayed || !strings.Contains(first, `"accepted":80`) {
		t.Fatalf("first write = %d %s replayed=%v; want 200 accepting 80, not replayed", code, first, replayed)
	}
	for range 3 {
		code, again, replayed := e.idemPost("/api/v1/datasets/idem/points", W, "batch-1", body)
		if code != 200 || again != first || !replayed {
			t.Fatalf("repeat = %d %s replayed=%v; want the first answer %s again, replayed", code, again, replayed, first)
		}
	}
	if raw, rolled := e.countBoth(R, "idem"); raw != 80 || rolled != 80 {
		t.Errorf("after 4 sends of one key: raw %v, rollup %v points; want 80 each", raw, rolled)
	}

	// The same key with another body: refused, naming the key; nothing stored.
	code, msg, _ := e.idemPost("/api/v1/datasets/idem/points", W, "batch-1", ndjson(now-500, 5, "b"))
	if code != 422 || !strings.Contains(msg, "batch-1") || !strings.Contains(msg, "idempotency_key_reused") {
		t.Errorf("key reused with another body = %d %s; want 422 naming the key", code, msg)
	}
	// ... or to another dataset.
	if code, msg, _ := e.idemPost("/api/v1/datasets/other/points", W, "batch-1", body); code != 422 {
		t.Errorf("key reused for another dataset = %d %s; want 422", code, msg)
	}
	// Another key stores again; no key at all stores every time.
	if code, _, replayed := e.idemPost("/api/v1/datasets/idem/points", W, "batch-2", body); code != 200 || replayed {
		t.Errorf("a new key = %d replayed=%v; want 200 stored", code, replayed)
	}
	for range 2 {
		if code, _, replayed := e.idemPost("/api/v1/datasets/idem/points", W, "", body); code != 200 || replayed {
			t.Errorf("no key = %d replayed=%v; want 200 stored", code, replayed)
		}
	}
	if raw, rolled := e.countBoth(R, "idem"); raw != 4*80 || rolled != 4*80 {
		t.Errorf("raw %v, rollup %v points; want %d each", raw, rolled, 4*80)
	}

	// A write that stores nothing (no valid point) does not use up its key.
	if code, _, _ := e.idemPost("/api/v1/datasets/idem/points", W, "batch-3", `{"doubles":["x"]}`); code != 400 {
		t.Errorf("invalid write = %d; want 400", code)
	}
	if code, _, replayed := e.idemPost("/api/v1/datasets/idem/points", W, "batch-3", ndjson(now, 2, "c")); code != 200 || replayed {
		t.Errorf("the key of a refused write, with a valid body = %d replayed=%v; want 200 stored", code, replayed)
	}
}

func TestIdempotencyKeyRules(t *testing.T) {
	e := newEnv(t, envOptions{})
	W := e.keys[meta.KindWrite]
	body := ndjson(time.Now().UnixMilli(), 1, "r")
	for _, k := range []string{strings.Repeat("k", 129), "caf\u00e9", "tab\there"} {
		code, msg, _ := e.idemPost("/api/v1/points", W, k, `{"dataset":"r","doubles":[1]}`)
		if code != 400 || !strings.Contains(msg, "bad_idempotency_key") || !strings.Contains(msg, "1 to 128 printable ASCII") {
			t.Errorf("Idempotency-Key %q = %d %s; want 400 naming the rule", k, code, msg)
		}
	}
	if code, _, _ := e.idemPost("/api/v1/datasets/r/points", W, strings.Repeat("~", 128), body); code != 200 {
		t.Errorf("a 128-character key = %d; want 200", code)
	}
	// Keys belong to projects: another project's identical key stores.
	var proj struct {
		Keys map[string]string `json:"keys"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"second"}`, nil, &proj); code != 201 && code != 200 {
		t.Fatalf("create project = %d", code)
	}
	w2 := proj.Keys["write"]
	if w2 == "" {
		t.Fatalf("no write key for the second project: %+v", proj)
	}
	for _, key := range []string{W, w2} {
		if code, _, replayed := e.idemPost("/api/v1/datasets/r/points", key, "shared", body); code != 200 || replayed {
			t.Errorf("key %q in its project = %d replayed=%v; want stored", "shared", code, replayed)
		}
	}
}

// TestIdempotencyKeyConcurrent: many sends of one key at once store once;
// every sender gets the same answer, all but one marked replayed.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	body := ndjson(time.Now().UnixMilli(), 500, "c")
	const senders = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers, replays := map[string]int{}, 0
	for range senders {
		wg.Go(func() {
			code, a, replayed := e.idemPost("/api/v1/datasets/conc/points", W, "same-key", body)
			mu.Lock()
			defer mu.Unlock()
			answers[fmt.Sprint(code, " ", a)]++
			if replayed {
				replays++
			}
		})
	}
	wg.Wait()
	if len(answers) != 1 || replays != senders-1 {
		t.Errorf("answers %v, %d replayed; want one answer, %d replayed", answers, replays, senders-1)
	}
	if raw, rolled := e.countBoth(R, "conc"); raw != 500 || rolled != 500 {
		t.Errorf("raw %v, rollup %v; want 500 each", raw, rolled)
	}
}

// TestIdempotencyKeySampled: the key is recorded even where sampling keeps
// no point of the write, and a retry adds no weight.
func TestIdempotencyKeySampled(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]
	if code := e.call("PATCH", "/api/v1/datasets/requests", A, `{"sampling":{"pointsPerSecond":5}}`, nil, nil); code != 200 {
		t.Fatalf("PATCH sampling = %d", code)
	}
	var b bytes.Buffer
	now := time.Now().UnixMilli()
	for i := range 400 {
		fmt.Fprintf(&b, `{"timestamp":%d,"indexes":["/hot"],"doubles":[%d]}`+"\n", now-int64(i%50), i)
	}
	for i := range 3 {
		code, _, replayed := e.idemPost("/api/v1/datasets/requests/points", W, "sampled", b.String())
		if code != 200 || replayed != (i > 0) {
			t.Fatalf("send %d = %d replayed=%v", i, code, replayed)
		}
	}
	if raw, rolled := e.countBoth(R, "requests"); rolled != 400 || raw > 400 {
		t.Errorf("rollup count %v, stored points %v; want 400 (each point once) and no more weight stored", rolled, raw)
	}
}
