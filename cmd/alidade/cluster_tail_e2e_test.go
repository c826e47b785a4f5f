//go:build cluster

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads one unlabelled metric of a node's /metrics; 0 when it is
// not there.
func scrape(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	return 0
}

// sseTail opens GET /api/v1/tail?query on a node and returns the data of
// its events as they come, after the ready event.
func sseTail(t *testing.T, p *proc, key, query string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/api/v1/tail?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /api/v1/tail?%s = %d %s", query, resp.StatusCode, b)
	}
	out := make(chan map[string]any, 10_000)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				if json.Unmarshal([]byte(d), &m) == nil {
					out <- m
				}
			}
		}
	}()
	select {
	case m := <-out:
		if m["event"] != "ready" {
			t.Fatalf("the tail's first event = %v; want ready", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tail sent no ready event within 10 s")
	}
	return out
}

// TestClusterTail checks that a live tail opened on one node sees the
// points written to another (through PostgreSQL's LISTEN/NOTIFY), with
// its filter applied, and that with nobody tailing no node forwards.
func TestClusterTail(t *testing.T) {
	e := startClusterEnv(t)
	a, b, keys := e.launchTwo(t)
	write := func(dataset, body string) {
		t.Helper()
		if code, resp := do(t, "POST", a.url+"/api/v1/datasets/"+dataset+"/points", keys["write"], body); code != 200 {
			t.Fatalf("write %s to A = %d %s", dataset, code, resp)
		}
	}
	const forwarded = "alidade_cluster_points_forwarded_total"
	const notes = "alidade_cluster_tail_notifications_total"

	// Nobody tails: A forwards nothing.
	for i := range 5 {
		write("requests", fmt.Sprintf(`{"index":"/quiet","fields":{"url":"/quiet","method":"GET","duration":%d,"status":200}}`, i))
	}
	time.Sleep(500 * time.Millisecond)
	if f, n := scrape(t, a, forwarded), scrape(t, a, notes); f != 0 || n != 0 {
		t.Fatalf("with no tail open A forwarded %v points in %v notifications; want none", f, n)
	}

	// A tail of requests on B sees what is written to A, by its fields'
	// names, within moments; the clicks written alongside stay out.
	tail := sseTail(t, b, keys["read"], "dataset=requests")
	start := time.Now()
	var got map[string]any
	for i := 0; got == nil; i++ {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("B's tail saw none of the points written to A for 3 s; A forwarded %v", scrape(t, a, forwarded))
		}
		write("clicks", `{"index":"/elsewhere","doubles":[1]}`)
		write("requests", fmt.Sprintf(`{"index":"/tailed","fields":{"url":"/tailed/%d","method":"POST","duration":12.5,"status":503}}`, i))
		deadline := time.After(200 * time.Millisecond)
	read:
		for {
			select {
			case m := <-tail:
				if m["dataset"] != "requests" {
					t.Fatalf("B's tail of requests sent %v", m)
				}
				if m["endpoint"] == "/tailed" {
					got = m
					break read
				}
			case <-deadline:
				break read
			}
		}
	}
	t.Logf("B's tail saw a point written to A %v after it opened", time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(fmt.Sprint(got["url"]), "/tailed/") || got["method"] != "POST" || got["duration"] != 12.5 || got["status"] != 503.0 {
		t.Errorf("B's tail record of A's point = %v; want url /tailed/…, method POST, duration 12.5, status 503", got)
	}
	// More of A's points, and none of clicks, keep coming.
	write("requests", `{"index":"/tailed","fields":{"url":"/last","method":"GET","duration":1,"status":200}}`)
	timeout := time.After(2 * time.Second)
	for last := false; !last; {
		select {
		case m := <-tail:
			if m["dataset"] != "requests" {
				t.Fatalf("B's tail of requests sent %v", m)
			}
			last = m["url"] == "/last"
		case <-timeout:
			t.Fatal("B's tail did not see A's last point within 2 s")
		}
	}
	if f := scrape(t, a, forwarded); f < 2 {
		t.Errorf("%s on A = %v after B's tail saw its points", forwarded, f)
	}
}
