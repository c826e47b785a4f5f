package alidade

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// typicalPoint is a requests point as Middleware writes it.
var typicalPoint = Point{
	Index:   "GET /api/users/{id}",
	Blobs:   []string{"/api/users/42", "GET", "api"},
	Doubles: []float64{12.5, 200, 5120, 0},
}

// benchServer accepts every write without decoding it.
func benchServer(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"accepted":1000,"rejected":[]}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// offlineClient returns a Client whose batches are acknowledged at once,
// without encoding or network, so that a benchmark measures Write alone.
func offlineClient(b *testing.B) *Client {
	c := New(Config{URL: "http://127.0.0.1:1", Key: "k"})
	c.testDeliver = func(ch *chunk) outcome { return outcome{sent: ch.live()} }
	b.Cleanup(func() { c.Close(b.Context()) })
	return c
}

func reportDrops(b *testing.B, c *Client) {
	b.StopTimer()
	s := c.Stats()
	if s.Written > 0 {
		b.ReportMetric(float64(s.Dropped)/float64(s.Written), "dropped/op")
	}
}

// BenchmarkWrite measures Write of a typical point with a zero Timestamp.
func BenchmarkWrite(b *testing.B) {
	c := offlineClient(b)
	b.ReportAllocs()
	for b.Loop() {
		c.Write("requests", typicalPoint)
	}
	reportDrops(b, c)
}

func BenchmarkWriteParallel(b *testing.B) {
	c := offlineClient(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Write("requests", typicalPoint)
		}
	})
	reportDrops(b, c)
}

// BenchmarkWriteHTTP writes as fast as it can to a local HTTP server: the
// background goroutine encodes, gzips and posts meanwhile, and the buffer
// drops what it cannot keep (dropped/op).
func BenchmarkWriteHTTP(b *testing.B) {
	c := New(Config{URL: benchServer(b), Key: "k"})
	b.Cleanup(func() { c.Close(b.Context()) })
	b.ReportAllocs()
	for b.Loop() {
		c.Write("requests", typicalPoint)
	}
	reportDrops(b, c)
}

// BenchmarkSend measures the background work per point: encoding a batch
// of 1000 points to NDJSON and gzipping it.
func BenchmarkSend(b *testing.B) {
	c := New(Config{URL: "http://127.0.0.1:1", Key: "k"})
	defer c.Close(b.Context())
	ch := &chunk{}
	for i := range DefaultBatchSize {
		size, _ := check("requests", &typicalPoint)
		ch.add(uint64(i), "requests", 1795760000000+int64(i), &typicalPoint, size)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(c.encode(ch, 0, DefaultBatchSize))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*DefaultBatchSize), "ns/point")
	b.ReportMetric(float64(n)/DefaultBatchSize, "gzip-bytes/point")
}

// BenchmarkMiddleware compares a bare ServeMux with the same one behind
// Middleware.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	body := []byte(`{"id":42,"name":"Ada"}`)
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"middleware", Middleware(offlineClient(b), mux)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/users/42", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				bc.h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkHelpers(b *testing.B) {
	c := offlineClient(b)
	cost := 0.01
	for _, bc := range []struct {
		name string
		f    func()
	}{
		{"LogRequest", func() {
			c.LogRequest(RequestEvent{Endpoint: "GET /users/{id}", URL: "/users/42", Method: "GET", Status: 200, Duration: time.Millisecond})
		}},
		{"TrackAIUsage", func() {
			c.TrackAIUsage(AIUsage{Model: "gpt-4o", Feature: "chat", Provider: "openai", InputTokens: 800, OutputTokens: 95, Latency: time.Second, Cost: &cost})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.f()
			}
		})
	}
	_ = fmt.Sprint
}
