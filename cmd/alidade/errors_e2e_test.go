package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestErrorEventsSurviveKill9: an error event is acknowledged once it is
// in error tracking's journal, before the store has it. Killed with
// SIGKILL under load and restarted, the server has every acknowledged
// event, each once, and the errors dataset holds exactly one point per
// stored event (the journal's events and points are loaded apart, each
// exactly once).
func TestErrorEventsSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	keys := bannerKeys(t, p)
	var mu sync.Mutex
	var acked []string
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				id := fmt.Sprintf("%032x", i)
				hdr := fmt.Sprintf(`{"event_id":%q}`, id)
				ev := fmt.Sprintf(`{"event_id":%q,"level":"error","platform":"go","user":{"id":"u%d"},"exception":{"values":[{"type":"KillError","value":"bug %c","stacktrace":{"frames":[{"function":"worker%d","module":"app","in_app":true}]}}]}}`,
					id, i%50, 'a'+w, w)
				body := hdr + "\n" + `{"type":"event"}` + "\n" + ev + "\n"
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/1/envelope/?sentry_key=%s", p.url, keys["public"]), bytes.NewBufferString(body))
				resp, err := client.Do(req)
				if err != nil {
					return // killed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 400 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill9()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d events acknowledged before the kill", len(acked))
	}

	p2 := startLogging(t, dir, "info")
	for _, id := range acked {
		req, _ := http.NewRequest("GET", p2.url+"/api/v1/events/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+keys["read"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged event %s after kill -9: %d", id, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", p2.url+"/api/v1/error-groups?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+keys["read"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var gs struct {
		Groups []struct {
			Count int64 `json:"count"`
		} `json:"groups"`
	}
	err = json.NewDecoder(resp.Body).Decode(&gs)
	resp.Body.Close()
	if err != nil || len(gs.Groups) != 8 {
		t.Fatalf("error groups after kill -9: %+v, %v; want 8", gs, err)
	}
	var stored int64
	for _, g := range gs.Groups {
		stored += g.Count
	}
	if stored < int64(len(acked)) || stored > n.Load() {
		t.Errorf("the groups count %d events; %d were acknowledged, %d sent", stored, len(acked), n.Load())
	}
	q := `{"dataset":"errors","range":"1h","source":"raw","aggregations":{"n":{"type":"count"}}}`
	code, data, err := post(p2.url+"/api/v1/query", keys["read"], "application/json", []byte(q))
	if err != nil || code != 200 || !bytes.Contains(data, fmt.Appendf(nil, `"n":%d`, stored)) {
		t.Errorf("errors points after kill -9 = %d %s %v; want %d, one per stored event", code, data, err, stored)
	}
	t.Logf("%d acknowledged before the kill, %d stored after it; the restart loaded from the journal: %v", len(acked), stored,
		strings.Contains(p2.stderr.String()+stdoutOf(p2), "error journal: loaded"))
}
