package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// TestRollupsFollowSchemaAndRebuild: a dataset's schema declares its
// rollup; changing it rebuilds the history in the background; the rebuild
// endpoint streams its progress; every answer names its source.
func TestRollupsFollowSchemaAndRebuild(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]
	if code := e.call("PUT", "/api/v1/datasets/orders/schema", A,
		`{"index":"shop","blobs":["country","sku"],"doubles":["amount"],"rollup":{"dimensions":["country"],"distributions":["amount"]}}`, nil, nil); code != 200 {
		t.Fatalf("PUT schema = %d", code)
	}
	var b strings.Builder
	now := time.Now().UnixMilli()
	for i := range 600 {
		fmt.Fprintf(&b, `{"timestamp":%d,"index":"s%d","fields":{"country":"%s","sku":"sku%d","amount":%d}}`+"\n",
			now-int64(i)*60_000, i%3, []string{"US", "DE"}[i%2], i%7, 10+i%50)
	}
	var wa writeAnswer
	if code := e.call("POST", "/api/v1/datasets/orders/points", W, b.String(), map[string]string{"Content-Type": "application/x-ndjson"}, &wa); code != 200 || wa.Accepted != 600 {
		t.Fatalf("write = %d, accepted %d, %d rejected: %s", code, wa.Accepted, len(wa.Rejected), wa.Error.Message)
	}

	byCountry := `{"dataset":"orders","range":"24h","groupBy":["country"],"aggregations":{"n":{"type":"count"},"revenue":{"type":"sum","field":"amount"}}}`
	bySKU := `{"dataset":"orders","range":"24h","filter":[{"field":"sku","op":"=","value":"sku3"}],"aggregations":{"n":{"type":"count"}}}`
	if code, a := e.query(R, byCountry); code != 200 || a.Meta["source"] != "rollup" || len(a.Rows) != 2 {
		t.Fatalf("by country = %d %+v; want 2 rows from the rollup", code, a)
	}
	if code, a := e.query(R, bySKU); code != 200 || a.Meta["source"] != "raw" || a.Rows[0]["n"] != float64(86) {
		t.Fatalf("by sku = %d %+v; want n 86 from raw points", code, a)
	}
	rollupSKU := strings.Replace(bySKU, `"range"`, `"source":"rollup","range"`, 1)
	if code, a := e.query(R, rollupSKU); code != 400 || !strings.Contains(a.Error.Message, "blob2") {
		t.Fatalf("by sku from rollups = %d %+v; want 400 naming blob2", code, a)
	}

	// sku becomes a dimension: the history is rebuilt in the background.
	req, _ := http.NewRequest("PUT", e.url+"/api/v1/datasets/orders/schema", strings.NewReader(
		`{"index":"shop","blobs":["country","sku"],"doubles":["amount"],"rollup":{"dimensions":["country","sku"],"distributions":["amount"]}}`))
	req.Header.Set("Authorization", "Bearer "+A)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Alidade-Rollup-Rebuild") != "started" {
		t.Fatalf("PUT schema = %d, rebuild header %q", resp.StatusCode, resp.Header.Get("Alidade-Rollup-Rebuild"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Enabled  bool
			Datasets []struct {
				Dataset, Spec, Want string
				Rebuilding          bool
			}
		}
		e.call("GET", "/api/v1/rollups", R, nil, nil, &st)
		pending := !st.Enabled
		for _, d := range st.Datasets {
			if d.Dataset == "orders" && (d.Rebuilding || d.Want != "" || !strings.Contains(d.Spec, "blob2")) {
				pending = true
			}
		}
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuild after the schema change did not finish: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, a := e.query(R, rollupSKU); code != 200 || a.Meta["source"] != "rollup" || a.Rows[0]["n"] != float64(86) {
		t.Fatalf("by sku from rollups after the rebuild = %d %+v; want n 86", code, a)
	}

	// The rebuild endpoint streams one line per day and a summary.
	req, _ = http.NewRequest("POST", e.url+"/api/v1/rollups/rebuild", strings.NewReader(`{"dataset":"orders"}`))
	req.Header.Set("Authorization", "Bearer "+A)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var points int64
	var done bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var line struct {
			Points   int64
			Done     bool
			Datasets []struct{ Points int64 }
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if line.Done {
			done = len(line.Datasets) == 1 && line.Datasets[0].Points == 600
		} else {
			points += line.Points
		}
	}
	if resp.StatusCode != 200 || !done || points != 600 {
		t.Errorf("rebuild stream: status %d, done %v, %d points in progress lines; want 600", resp.StatusCode, done, points)
	}
	if code, a := e.query(R, byCountry); code != 200 || a.Meta["source"] != "rollup" || a.Rows[0]["n"].(float64)+a.Rows[1]["n"].(float64) != 600 {
		t.Errorf("by country after the rebuild = %d %+v", code, a)
	}
	// Read keys may not rebuild; an unknown dataset is 404.
	if code := e.call("POST", "/api/v1/rollups/rebuild", R, nil, nil, nil); code != 403 {
		t.Errorf("rebuild with a read key = %d; want 403", code)
	}
	if code := e.call("POST", "/api/v1/rollups/rebuild", A, `{"dataset":"nope"}`, nil, nil); code != 404 {
		t.Errorf("rebuild of an unknown dataset = %d; want 404", code)
	}
	// A bad rollup schema is refused with the reason.
	var bad queryAnswer
	if code := e.call("PUT", "/api/v1/datasets/orders/schema", A, `{"blobs":["country"],"rollup":{"dimensions":["nope"]}}`, nil, &bad); code != 400 || !strings.Contains(bad.Error.Message, "nope") {
		t.Errorf("bad rollup schema = %d %+v; want 400 naming the field", code, bad)
	}
}

// TestSampledDatasetRollupsCountEveryPoint: with a sampling budget the
// store keeps a sample, weighted so that raw counts stay exact once the
// second has closed, while rollups count every point at once.
func TestSampledDatasetRollupsCountEveryPoint(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]
	write := func(index string, n int) {
		t.Helper()
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"index":%q,"fields":{"method":"GET","duration":%d,"status":200}}`+"\n", index, 1+i%100)
		}
		var wa writeAnswer
		if code := e.call("POST", "/api/v1/datasets/requests/points", W, b.String(), map[string]string{"Content-Type": "application/x-ndjson"}, &wa); code != 200 || wa.Accepted != n {
			t.Fatalf("write = %d, accepted %d", code, wa.Accepted)
		}
	}
	count := func(src string) (float64, string) {
		t.Helper()
		code, a := e.query(R, `{"dataset":"requests","range":"1h","source":"`+src+`","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"}}}`)
		if code != 200 {
			t.Fatalf("count from %s = %d %+v", src, code, a)
		}
		var n float64
		for _, r := range a.Rows {
			if r["endpoint"] == "/hot" {
				n = r["n"].(float64)
			}
		}
		return n, a.Meta["source"].(string)
	}
	// A built-in dataset takes its settings before its first write.
	if code := e.call("PATCH", "/api/v1/datasets/requests", A, `{"sampling":{"pointsPerSecond":50}}`, nil, nil); code != 200 {
		t.Fatalf("PATCH sampling = %d", code)
	}
	write("/cold", 20)
	time.Sleep(1100 * time.Millisecond) // the budget counts arrivals per second
	write("/hot", 3000)
	write("/cold", 20)
	if n, src := count("auto"); n != 3000 || src != "rollup" {
		t.Errorf("rollup count of /hot = %v from %s; want 3000 from rollup", n, src)
	}
	// A write in a later second closes the open groups of the earlier one.
	time.Sleep(1100 * time.Millisecond)
	write("/cold", 20)
	if n, _ := count("raw"); n != 3000 {
		t.Errorf("raw weighted count of /hot = %v; want 3000", n)
	}
	var rows int64
	for _, d := range e.store.Days() {
		counts, err := e.store.DayCounts(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range counts {
			if k.Dataset == "requests" {
				rows += n
			}
		}
	}
	if rows >= 1000 || rows < 60 {
		t.Errorf("stored requests rows = %d; want a sample (the 60 cold points and a few hundred hot ones)", rows)
	}
}
