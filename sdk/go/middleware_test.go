package alidade

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// served runs requests through Middleware(mux) and returns the points the
// fake server got, in order.
func served(t *testing.T, mux http.Handler, reqs ...*http.Request) []fakePoint {
	t.Helper()
	f := newFakeServer(t)
	cfg := testConfig(t, f.URL())
	cfg.Service = "api"
	c := New(cfg)
	h := Middleware(c, mux)
	for _, r := range reqs {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	closeOK(t, c)
	got := f.got()
	if len(got) != len(reqs) {
		t.Fatalf("server got %d points; want %d", len(got), len(reqs))
	}
	return got
}

func TestMiddlewareRecordsRoutePatterns(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %s", r.PathValue("id"))
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	})
	chunked := httptest.NewRequest("POST", "/upload", io.MultiReader(strings.NewReader("abc"), strings.NewReader("defg")))
	chunked.ContentLength = -1
	got := served(t, mux,
		httptest.NewRequest("GET", "/users/42?token=secret", nil),
		httptest.NewRequest("POST", "/upload", strings.NewReader(strings.Repeat("x", 300))),
		chunked,
		httptest.NewRequest("GET", "/nope/7", nil),
		httptest.NewRequest("DELETE", "/users/42", nil),
		httptest.NewRequest("GET", "/slow", nil),
	)
	for i, want := range []struct {
		index, url, method string
		status, resp, req  float64
	}{
		{"GET /users/{id}", "/users/42", "GET", 200, 7, 0},
		{"POST /upload", "/upload", "POST", 201, 2, 300},
		{"POST /upload", "/upload", "POST", 201, 2, 7},
		{Unmatched, "/nope/7", "GET", 404, 19, 0},
		{Unmatched, "/users/42", "DELETE", 405, 19, 0},
		{"/slow", "/slow", "GET", 200, 0, 0},
	} {
		p := got[i]
		if p.Dataset != "requests" || p.index() != want.index || len(p.Blobs) != 3 || p.Blobs[0] != want.url ||
			p.Blobs[1] != want.method || p.Blobs[2] != "api" || len(p.Doubles) != 4 ||
			p.Doubles[1] != want.status || p.Doubles[2] != want.resp || p.Doubles[3] != want.req {
			t.Errorf("request %d: point %+v; want index %q, blobs [%s %s api], status %v, bytes %v/%v",
				i, p, want.index, want.url, want.method, want.status, want.resp, want.req)
		}
	}
	if d := got[5].Doubles[0]; d < 20 || d > 1000 {
		t.Errorf("duration of /slow = %vms; want ≥ 20ms", d)
	}
}

func TestMiddlewareOddRequests(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.Path = "/caf\xe9/" + strings.Repeat("a", 5000) // not UTF-8, and long
	got := served(t, mux, r)
	if u := got[0].Blobs[0]; len(u) > maxURLBytes || !strings.HasPrefix(u, "/caf\uFFFD/") {
		t.Errorf("url blob = %.40q (%d bytes); want valid UTF-8 of ≤ %d bytes", u, len(u), maxURLBytes)
	}
}

func TestMiddlewareRecordsPanics(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	h := Middleware(c, mux)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v; want the handler's panic to go on up", r)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	}()
	closeOK(t, c)
	if got := f.got(); len(got) != 1 || got[0].index() != "GET /boom" || got[0].Doubles[1] != 500 {
		t.Errorf("points = %+v; want GET /boom with status 500", got)
	}
}

func TestMiddlewareKeepsFlusherAndHijacker(t *testing.T) {
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Errorf("the ResponseWriter is not an http.Flusher")
		}
		w.Write([]byte("a"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush = %v", err)
		}
		w.Write([]byte("b"))
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("ResponseController.Hijack = %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
	})
	mux.HandleFunc("GET /ws2", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack = %v", err)
			return
		}
		conn.Close()
	})
	srv := httptest.NewServer(Middleware(c, mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ab" {
		t.Errorf("/stream body = %q", body)
	}
	waitWritten(t, c, 1)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.HasPrefix(line, "HTTP/1.1 101") {
		t.Errorf("/ws answered %q; want 101", line)
	}
	waitWritten(t, c, 2)
	// A connection of its own: the handler hijacks and closes it without an
	// answer, which on a reused keep-alive connection the client would
	// take for a stale one and send the GET again (a second point, after
	// Close).
	noReuse := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := noReuse.Get(srv.URL + "/ws2"); err == nil {
		resp.Body.Close()
	}
	waitWritten(t, c, 3)
	closeOK(t, c)
	byIndex := map[string]fakePoint{}
	for _, p := range f.got() {
		byIndex[p.index()] = p
	}
	if p := byIndex["GET /stream"]; p.Doubles == nil || p.Doubles[1] != 200 || p.Doubles[2] != 2 {
		t.Errorf("/stream point = %+v; want status 200, 2 bytes", p)
	}
	if p := byIndex["GET /ws"]; p.Doubles == nil || p.Doubles[1] != 101 {
		t.Errorf("/ws point = %+v; want status 101", p)
	}
	if p := byIndex["GET /ws2"]; p.Doubles == nil || p.Doubles[1] != 101 {
		t.Errorf("/ws2 point = %+v; want status 101", p)
	}
}

func TestMiddlewareReadFrom(t *testing.T) {
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.txt", time.Time{}, strings.NewReader(strings.Repeat("z", 10000)))
	})
	srv := httptest.NewServer(Middleware(c, mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/file")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitWritten(t, c, 1)
	closeOK(t, c)
	if got := f.got(); n != 10000 || len(got) != 1 || got[0].Doubles[2] != 10000 {
		t.Errorf("read %d bytes; points %+v; want 10000 response bytes recorded", n, got)
	}
}

// waitWritten waits until n points were written to c: a server's handler
// may still be running when its client has read the response.
func waitWritten(t *testing.T, c *Client, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.Stats().Written < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Stats = %+v; want %d written", c.Stats(), n)
		}
	}
}

func TestMiddlewareWithAnInvalidClient(t *testing.T) {
	c := New(Config{}) // no URL: every point is dropped
	h := Middleware(c, http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 404 {
		t.Errorf("status = %d; want the handler's 404", w.Code)
	}
	if s := c.Stats(); s.Dropped != 1 {
		t.Errorf("Stats = %+v; want 1 dropped", s)
	}
	if Middleware(c, nil) == nil {
		t.Errorf("Middleware(c, nil) = nil; want a handler of http.DefaultServeMux")
	}
}
