package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// GET /api/v1/live streams a change event naming the datasets a commit
// wrote, for the key's project only.
func TestLiveStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/v1/live", nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[meta.KindRead])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/v1/live = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && ev == "change":
				events <- strings.TrimPrefix(line, "data: ")
			}
		}
		close(events)
	}()
	// The stream is open: a write of another project is not told, one
	// of this project is.
	var p struct{ Keys map[string]string }
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	now := time.Now().UnixMilli()
	e.write(p.Keys["write"], []aePoint{{Dataset: "signups", Timestamp: now, Blobs: []string{"x"}}})
	e.write(e.keys[meta.KindWrite], []aePoint{{Dataset: "requests", Timestamp: now, Indexes: []string{"GET /"}, Blobs: []string{"/", "GET", "api"}, Doubles: []float64{12, 200}}})
	select {
	case data := <-events:
		if data != `{"datasets":["requests"]}` {
			t.Errorf("change = %s; want requests only", data)
		}
	case <-ctx.Done():
		t.Fatal("no change event within 20 s")
	}
}
