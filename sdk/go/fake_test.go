package alidade

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakePoint is a point as the fake server decoded it.
type fakePoint struct {
	Dataset   string    `json:"dataset"`
	Timestamp int64     `json:"timestamp"`
	Indexes   []string  `json:"indexes"`
	Blobs     []string  `json:"blobs"`
	Doubles   []float64 `json:"doubles"`
}

func (p fakePoint) index() string {
	if len(p.Indexes) == 0 {
		return ""
	}
	return p.Indexes[0]
}

// fakeRequest is one write request the fake server received.
type fakeRequest struct {
	at     time.Time
	header http.Header
	raw    []byte // the body as sent
	ndjson []byte // the body after gunzip
	points []fakePoint
}

// fakeServer is a fake Alidade write endpoint that records what it receives
// and lets a test inject faults.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	requests []fakeRequest
	points   []fakePoint // accepted
	// fault, when set, is asked first about each request (n counts from
	// 0); when it returns true it has answered and nothing is accepted.
	fault func(n int, req *fakeRequest, w http.ResponseWriter, r *http.Request) bool
}

func newFakeServer(t testing.TB) *fakeServer {
	f := &fakeServer{t: t}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) URL() string { return f.srv.URL }

func (f *fakeServer) setFault(fn func(n int, req *fakeRequest, w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.fault = fn
	f.mu.Unlock()
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/points" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req := fakeRequest{at: time.Now(), header: r.Header.Clone(), raw: raw, ndjson: raw}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			f.t.Errorf("fake server: gzip: %v", err)
			http.Error(w, "bad gzip", 400)
			return
		}
		if req.ndjson, err = io.ReadAll(zr); err != nil {
			f.t.Errorf("fake server: gunzip: %v", err)
			http.Error(w, "bad gzip", 400)
			return
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(req.ndjson))
	sc.Buffer(nil, 20<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var p fakePoint
		if err := dec.Decode(&p); err != nil {
			f.t.Errorf("fake server: line %q: %v", sc.Text(), err)
		}
		req.points = append(req.points, p)
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req)
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(n, &req, w, r) {
		return
	}
	f.mu.Lock()
	f.points = append(f.points, req.points...)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"accepted":%d,"rejected":[]}`, len(req.points))
}

func (f *fakeServer) got() []fakePoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakePoint(nil), f.points...)
}

func (f *fakeServer) reqs() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

// waitPoints waits until the fake server accepted n points.
func (f *fakeServer) waitPoints(t testing.TB, n int, within time.Duration) []fakePoint {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := f.got()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake server has %d points after %v; want %d", len(got), within, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// resetConn answers a request by resetting its connection.
func resetConn(t testing.TB, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// ids returns blob1 of each point, read as an integer.
func ids(t testing.TB, pts []fakePoint) []int {
	t.Helper()
	out := make([]int, len(pts))
	for i, p := range pts {
		n, err := strconv.Atoi(p.Blobs[0])
		if err != nil {
			t.Fatalf("point %d: blob1 %q is not an id", i, p.Blobs[0])
		}
		out[i] = n
	}
	return out
}

// idPoint is a point whose blob1 is id.
func idPoint(id int) Point {
	return Point{Index: "i", Blobs: []string{strconv.Itoa(id)}, Doubles: []float64{float64(id)}}
}

// testConfig is a Config for tests: fast backoff, errors logged.
func testConfig(t testing.TB, url string) Config {
	return Config{
		URL:           url,
		Key:           "ald_write_test",
		FlushInterval: time.Hour, // tests flush by size or explicitly unless they say
		MinBackoff:    5 * time.Millisecond,
		MaxBackoff:    50 * time.Millisecond,
		ErrorInterval: time.Nanosecond,
		ErrorHandler:  func(err error) { t.Logf("ErrorHandler: %v", err) },
	}
}

// closeOK closes c with a deadline and fails the test on an error.
func closeOK(t testing.TB, c *Client) {
	t.Helper()
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v; want nil", err)
	}
}

// closeWant closes c and checks the DeliveryError's counts.
func closeWant(t testing.TB, c *Client, dropped, rejected uint64) {
	t.Helper()
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	err := c.Close(ctx)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Dropped != dropped || de.Rejected != rejected || de.Err != nil {
		t.Fatalf("Close = %v; want a DeliveryError of %d dropped, %d rejected", err, dropped, rejected)
	}
}
