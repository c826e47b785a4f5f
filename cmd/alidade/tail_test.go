package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// proxy forwards TCP connections to a server until cut.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// lines sends what r writes, line by line.
func lines(r io.Reader) <-chan string {
	ch := make(chan string, 1000)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// waitFor returns the first line that contains s, failing the test if
// the output ends first or after a long while.
func waitFor(t *testing.T, ch <-chan string, s string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("the output ended before a line with %q", s)
			}
			if strings.Contains(l, s) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line with %q in 60 s", s)
		}
	}
}

// alidade tail against a real server: JSON lines when piped, only what
// the filters keep, and a reconnection on its own after the connection
// is cut.
func TestTailCLIAgainstServer(t *testing.T) {
	p := start(t, t.TempDir())
	keys := bannerKeys(t, p)
	px := newProxy(t, strings.TrimPrefix(p.url, "http://"))
	cmd := exec.Command(binary, "tail", "--url", "http://"+px.ln.Addr().String(), "--key", keys["read"],
		"--dataset", "requests", "--status", "error", "--method", "POST")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out, log := lines(stdout), lines(stderr)
	waitFor(t, log, "tailing http://")

	write := func(url, method string, status int) {
		t.Helper()
		body := fmt.Sprintf(`{"indexes":["%s %s"],"blobs":["%s","%s"],"doubles":[5,%d]}`, method, url, url, method, status)
		if code, ans, err := post(p.url+"/api/v1/datasets/requests/points", keys["write"], "application/json", []byte(body)); err != nil || code != 200 {
			t.Fatalf("write = %d %s %v", code, ans, err)
		}
	}
	expect := func(url string) {
		t.Helper()
		var rec map[string]any
		line := <-out
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["dataset"] != "requests" || rec["url"] != url || rec["method"] != "POST" {
			t.Fatalf("alidade tail printed %q; want the JSON record of %s", line, url)
		}
	}
	write("/ok", "POST", 200)
	write("/get", "GET", 500)
	write("/bad", "POST", 500)
	expect("/bad")

	px.cut()
	waitFor(t, log, "reconnecting")
	waitFor(t, log, "tailing http://")
	write("/again", "POST", 503)
	expect("/again")

	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("alidade tail after SIGINT: %v", err)
	}
}

func TestTailCLIRefusals(t *testing.T) {
	p := start(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--status", "bad"}, 2, "--status"},
		{[]string{"--sampling-rate", "2"}, 2, "--sampling-rate"},
		{[]string{"--field", "status>500"}, 2, "--field"},
		{[]string{"--format", "xml"}, 2, "--format"},
		{[]string{"--key", "ald_wrong"}, 1, "401"},
	} {
		args := append([]string{"tail", "--url", p.url}, tc.args...)
		if !strings.Contains(strings.Join(tc.args, " "), "--key") {
			args = append(args, "--key", "ald_wrong")
		}
		out, err := exec.Command(binary, args...).CombinedOutput()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("alidade %v = %v %q; want exit %d naming %q", args, err, out, tc.code, tc.want)
		}
	}
}

// The CLI notes the server's sampling and drop events, prints records
// readably, and reconnects (with backoff) when a stream ends.
func TestTailLoopNotesAndReconnects(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" || r.URL.Query().Get("dataset") != "requests" {
			http.Error(w, `{"error":{"code":"bad","message":"unexpected request"}}`, 400)
			return
		}
		n := conns.Add(1)
		if n == 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"code":"too_many_tails","message":"busy"}}`, http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 3000\n: alidade tail\n\nevent: ready\ndata: {\"event\":\"ready\"}\n\n")
		fmt.Fprintf(w, "data: {\"dataset\":\"requests\",\"timestamp\":0,\"url\":\"/n%d\",\"status\":500}\n\n", n)
		fmt.Fprint(w, "event: sampling\ndata: {\"event\":\"sampling\",\"rate\":0.1,\"message\":\"10% of them are sent\"}\n\n")
		fmt.Fprint(w, ": ping\n\nevent: dropped\ndata: {\"event\":\"dropped\",\"message\":\"too slow\"}\n\n")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var out strings.Builder
	var mu sync.Mutex
	o := tailOptions{url: srv.URL, key: "k", query: url.Values{"dataset": {"requests"}}, out: writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(b)
	}), log: pw, idle: time.Minute, minBackoff: time.Millisecond, maxBackoff: 4 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- tailLoop(ctx, o); pw.Close() }()
	log := lines(pr)
	waitFor(t, log, "the server samples this tail: 10% of them are sent")
	waitFor(t, log, "the server dropped this tail: too slow")
	waitFor(t, log, "reconnecting")
	waitFor(t, log, "server said 429 too_many_tails: busy; reconnecting")
	waitFor(t, log, "tailing "+srv.URL+" (dataset=requests)")
	waitFor(t, log, "the server samples this tail") // after the third connection's record
	cancel()
	go func() {
		for range log {
		}
	}()
	if err := <-done; err != nil {
		t.Errorf("tailLoop after cancel = %v", err)
	}
	mu.Lock()
	got := out.String()
	mu.Unlock()
	if !strings.Contains(got, "requests     url=/n1 status=500\n") {
		t.Errorf("pretty output = %q", got)
	}
	if !strings.Contains(got, "url=/n3 status=500") {
		t.Errorf("no record of the third connection in %q", got)
	}

	// A refusal a reconnection would repeat ends the loop.
	o.query = url.Values{"dataset": {"other"}}
	if err := tailLoop(context.Background(), o); err == nil || !strings.Contains(err.Error(), "unexpected request") {
		t.Errorf("tailLoop refused with 400 = %v; want the server's message", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestPrettyRecord(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.Local).UnixMilli()
	rec := fmt.Sprintf(`{"dataset":"requests","timestamp":%d,"endpoint":"POST /api/chat","url":"/api/chat","method":"POST","duration":80.5,"status":502}`, ts)
	want := `03:04:05.006 requests     endpoint="POST /api/chat" url=/api/chat method=POST duration=80.5 status=502`
	if got := prettyRecord([]byte(rec), false); got != want {
		t.Errorf("prettyRecord =\n%q; want\n%q", got, want)
	}
	got := prettyRecord([]byte(rec), true)
	if !strings.Contains(got, "\x1b[36mrequests") || !strings.Contains(got, "\x1b[31m\x1b[1m502\x1b[0m") {
		t.Errorf("prettyRecord in colour = %q; want the dataset in cyan, the 502 in red", got)
	}
	if got := prettyRecord([]byte(`{"dataset":"logs","timestamp":0,"level":"error","message":"a=b"}`), true); !strings.Contains(got, "\x1b[31m\x1b[1merror") {
		t.Errorf("prettyRecord of an error log = %q", got)
	}
	if got := prettyRecord([]byte(`[1]`), false); got != `[1]` {
		t.Errorf("prettyRecord of a non-object = %q", got)
	}
}
