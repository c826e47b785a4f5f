//go:build cluster

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hook is a webhook receiver on loopback that keeps what it gets.
type hook struct {
	mu    sync.Mutex
	got   []string // "state delivery-id"
	srv   *httptest.Server
	first map[string]time.Time
}

func newHook(t *testing.T) *hook {
	h := &hook{first: map[string]time.Time{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ State string }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &m)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got = append(h.got, m.State+" "+r.Header.Get("X-Alidade-Delivery"))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) deliveries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

// waitFor waits until the hook got n deliveries, failing after d.
func (h *hook) waitFor(t *testing.T, n int, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for len(h.deliveries()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d deliveries after %v; want %d: %q", what, len(h.deliveries()), d, n, h.deliveries())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leading reads a node's alidade_leader gauge: 1, 0, or -1 when the node
// does not answer.
func leading(p *proc) int {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		switch l {
		case "alidade_leader 1":
			return 1
		case "alidade_leader 0":
			return 0
		}
	}
	return -1
}

// TestClusterLeader: two nodes; an alert rule made through the follower
// is evaluated by the leader alone, each transition notified once; the
// leader is killed, the follower takes over within seconds and notifies
// the next transition once; both nodes' APIs show the rule and its state.
func TestClusterLeader(t *testing.T) {
	e := startClusterEnv(t)
	a, b, keys := e.launchTwo(t)

	// One node leads (after its lock's grace), the other does not.
	start := time.Now()
	var leader, follower *proc
	for leader == nil {
		la, lb := leading(a), leading(b)
		switch {
		case la == 1 && lb == 1:
			t.Fatal("both nodes lead")
		case la == 1 && lb == 0:
			leader, follower = a, b
		case lb == 1 && la == 0:
			leader, follower = b, a
		case time.Since(start) > 15*time.Second:
			t.Fatalf("no leader %v after the start (alidade_leader: A %d, B %d)", time.Since(start), la, lb)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("a leader %v after both nodes were ready", time.Since(start).Round(time.Millisecond))

	// The rule, made on the follower: a count over the last 3 s, every
	// second, firing at once.
	h := newHook(t)
	rule := fmt.Sprintf(`{"name":"cluster","query":{"dataset":"requests","range":"3s","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":0},"for":"0s","every":"1s","notify":[{"type":"webhook","url":%q}]}`, h.srv.URL)
	code, resp := do(t, "POST", follower.url+"/api/v1/alerts", keys["admin"], rule)
	if code != 201 {
		t.Fatalf("create the rule on the follower = %d %s", code, resp)
	}
	var made struct{ ID int64 }
	json.Unmarshal([]byte(resp), &made)

	// The leader's API lists it at once (it reloaded on the notification).
	stateOn := func(p *proc) string {
		t.Helper()
		code, resp := do(t, "GET", p.url+"/api/v1/alerts", keys["read"], "")
		if code != 200 {
			t.Fatalf("list the rules on %s = %d %s", p.url, code, resp)
		}
		var l struct {
			Alerts []struct {
				ID          int64
				Name, State string
			}
		}
		if err := json.Unmarshal([]byte(resp), &l); err != nil {
			t.Fatalf("list the rules on %s: %v: %s", p.url, err, resp)
		}
		for _, r := range l.Alerts {
			if r.ID == made.ID && r.Name == "cluster" {
				return r.State
			}
		}
		return ""
	}
	waitState := func(p *proc, want string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for got := stateOn(p); got != want; got = stateOn(p) {
			if time.Now().After(deadline) {
				t.Fatalf("rule's state on %s = %q after %v; want %q", p.url, got, d, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitState(leader, "ok", 2*time.Second)

	write := func(p *proc) {
		t.Helper()
		pt := fmt.Sprintf(`{"timestamp":%d,"index":"/api/chat","fields":{"url":"/api/chat","method":"GET","duration":12,"status":200}}`, time.Now().UnixMilli())
		if code, resp := do(t, "POST", p.url+"/api/v1/datasets/requests/points", keys["write"], pt); code != 200 {
			t.Fatalf("write a point to %s = %d %s", p.url, code, resp)
		}
	}
	quiet := func(n int, what string) {
		t.Helper()
		time.Sleep(1500 * time.Millisecond) // a second evaluation would have notified by then
		if got := h.deliveries(); len(got) != n {
			t.Fatalf("%s: deliveries %q; want %d", what, got, n)
		}
	}

	// A breach: firing, notified once (not once per node).
	write(follower)
	h.waitFor(t, 1, 10*time.Second, "firing")
	quiet(1, "firing")
	// Both nodes show the state the leader wrote.
	waitState(follower, "firing", 2*time.Second)
	waitState(leader, "firing", time.Second)
	// The window empties: resolved, notified once.
	h.waitFor(t, 2, 10*time.Second, "resolved")
	quiet(2, "resolved")
	waitState(follower, "ok", 3*time.Second)

	// kill -9 of the leader: PostgreSQL drops its connection and its
	// lock; the follower takes over.
	leader.kill9()
	killed := time.Now()
	for leading(follower) != 1 {
		if time.Since(killed) > 15*time.Second {
			t.Fatalf("the follower does not lead %v after the leader was killed", time.Since(killed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("takeover: the follower leads %v after kill -9 of the leader", time.Since(killed).Round(time.Millisecond))

	// The next breach is notified once, by the new leader.
	write(follower)
	h.waitFor(t, 3, 10*time.Second, "firing after the takeover")
	quiet(3, "firing after the takeover")
	waitState(follower, "firing", time.Second)

	got := h.deliveries()
	ids := map[string]bool{}
	for _, d := range got {
		ids[strings.Fields(d)[1]] = true
	}
	states := make([]string, len(got))
	for i, d := range got {
		states[i] = strings.Fields(d)[0]
	}
	if strings.Join(states, ",") != "firing,resolved,firing" || len(ids) != 3 {
		t.Fatalf("deliveries %q; want firing, resolved, firing, each its own delivery id", got)
	}
	t.Logf("deliveries: %q", got)
}
