package alidade

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// logServer is a fake logs endpoint that keeps the records it receives.
type logServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	records []map[string]any
	paths   []string
	gate    chan struct{} // when set, each request waits for it to close
}

func newLogServer(t *testing.T) *logServer {
	s := &logServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := s.gate; g != nil {
			<-g
		}
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			rd = zr
		}
		n := 0
		sc := bufio.NewScanner(rd)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				http.Error(w, `{"error":{"message":"bad line"}}`, 400)
				return
			}
			s.mu.Lock()
			s.records = append(s.records, rec)
			s.mu.Unlock()
			n++
		}
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		w.Write([]byte(`{"accepted":` + itoa(n) + `,"rejected":[]}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (s *logServer) got() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.records...)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSlogHandlerRecords(t *testing.T) {
	s := newLogServer(t)
	c := New(Config{URL: s.srv.URL, Key: "k", Service: "api"})
	h := c.SlogHandler(&SlogOptions{Level: slog.LevelDebug})
	log := slog.New(h)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	log.Debug("one", "n", 1, "ok", true, "f", 1.5, "d", time.Second, "err", errors.New("boom"))
	l2 := log.With("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "user", "u1").WithGroup("req").With("method", "GET")
	l2.Warn("two", "status", 503, slog.Group("db", "rows", 2), slog.Group("empty"))
	log.WithGroup("unused").Error("three") // an empty group is left out
	rec := slog.NewRecord(at, slog.LevelError+2, "four", 0)
	rec.AddAttrs(slog.Group("", slog.String("inlined", "x")), slog.Attr{}, slog.String("span_id", "00f067aa0ba902b7"))
	h.Handle(context.Background(), rec)
	log.Info(strings.Repeat("é", MaxLogMessageBytes)) // cut at a character boundary

	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	got := s.got()
	if len(got) != 5 || s.paths[0] != "/api/v1/logs" {
		t.Fatalf("server got %d records on %v; want 5 on /api/v1/logs", len(got), s.paths)
	}
	for i, want := range []map[string]any{
		{"level": "DEBUG", "message": "one", "service": "api", "attributes": map[string]any{"n": 1, "ok": true, "f": 1.5, "d": 1e9, "err": "boom"}},
		{"level": "WARN", "message": "two", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
			"attributes": map[string]any{"user": "u1", "req": map[string]any{"method": "GET", "status": 503, "db": map[string]any{"rows": 2}}}},
		{"level": "ERROR", "message": "three", "attributes": nil},
		{"level": "ERROR+2", "message": "four", "span_id": "00f067aa0ba902b7", "timestamp": at.UnixMilli(), "attributes": map[string]any{"inlined": "x"}},
	} {
		for k, v := range want {
			if jsonOf(got[i][k]) != jsonOf(v) {
				t.Errorf("record %d: %s = %s; want %s", i, k, jsonOf(got[i][k]), jsonOf(v))
			}
		}
	}
	if m := got[4]["message"].(string); len(m) != MaxLogMessageBytes || !strings.HasSuffix(m, "é") {
		t.Errorf("long message: %d bytes; want %d, cut between characters", len(m), MaxLogMessageBytes)
	}
	if st := h.Stats(); st.Written != 5 || st.Sent != 5 || st.Dropped != 0 {
		t.Errorf("Stats = %+v; want 5 written and sent", st)
	}
	if st := c.Stats(); st.Written != 0 {
		t.Errorf("the Client's point Stats = %+v; want none", st)
	}
}

func TestSlogHandlerLevelSourceAndLimits(t *testing.T) {
	s := newLogServer(t)
	c := New(Config{URL: s.srv.URL, Key: "k", Gzip: GzipOff})
	h := c.SlogHandler(&SlogOptions{AddSource: true, Service: "worker"})
	if h.Enabled(context.Background(), slog.LevelDebug) || !h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled: want Info and above only")
	}
	log := slog.New(h)
	log.Debug("not sent")
	var args []any
	for i := range 100 {
		args = append(args, "k"+itoa(i), strings.Repeat("v", 200))
	}
	log.Info("many", args...)
	log.WithGroup("g").Info("grouped", "a", 1)
	log.WithGroup("g").With("b", 2).Info("with")
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	got := s.got()
	if len(got) != 3 {
		t.Fatalf("server got %d records; want 3", len(got))
	}
	attrs := got[0]["attributes"].(map[string]any)
	if b := jsonOf(attrs); len(b) > MaxLogAttributesBytes || len(attrs) > MaxLogAttributes || len(attrs) < 10 {
		t.Errorf("attributes: %d keys, %d bytes; want at most %d keys and %d bytes, and the first ones kept", len(attrs), len(b), MaxLogAttributes, MaxLogAttributesBytes)
	}
	src, _ := attrs["source"].(map[string]any)
	if src == nil || !strings.HasSuffix(src["file"].(string), "slog_test.go") || !strings.Contains(src["function"].(string), "TestSlogHandlerLevelSourceAndLimits") {
		t.Errorf("source = %v; want this file and function", attrs["source"])
	}
	g := got[1]["attributes"].(map[string]any)
	if g["source"] == nil || jsonOf(g["g"]) != `{"a":1}` || got[1]["service"] != "worker" {
		t.Errorf("grouped record = %v; want the source at the top and a in g", got[1])
	}
	if g := got[2]["attributes"].(map[string]any); jsonOf(g["g"]) != `{"b":2}` {
		t.Errorf("WithGroup then With = %v; want b in g", got[2])
	}
}

func TestSlogHandlerDropsWhenFull(t *testing.T) {
	s := newLogServer(t)
	s.gate = make(chan struct{})
	c := New(Config{URL: s.srv.URL, Key: "k", BufferSize: 2})
	h := c.SlogHandler(nil)
	var full int
	for range 10 {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "x", 0)
		if err := h.Handle(context.Background(), r); errors.Is(err, ErrBufferFull) {
			full++
		}
	}
	if st := h.Stats(); full != 8 || st.Dropped != 8 || st.Written != 10 {
		t.Errorf("%d ErrBufferFull, Stats %+v; want 8 dropped of 10", full, st)
	}
	close(s.gate)
	err := c.Close(context.Background())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Dropped != 8 {
		t.Errorf("Close = %v; want a DeliveryError with 8 dropped", err)
	}
	if st := h.Stats(); st.Sent != 2 {
		t.Errorf("Stats = %+v; want 2 sent", st)
	}
	// After Close, records are dropped and a new handler has no sender.
	if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close = %v; want ErrClosed", err)
	}
	if h2 := c.SlogHandler(nil); h2.Enabled(context.Background(), slog.LevelError) {
		t.Error("a handler made after Close is enabled")
	}
	var nilClient *Client
	if h3 := nilClient.SlogHandler(nil); h3.Enabled(context.Background(), slog.LevelError) || h3.Handle(context.Background(), slog.Record{}) != nil {
		t.Error("a nil Client's handler is enabled")
	}
}

func TestSlogHandlerFlush(t *testing.T) {
	s := newLogServer(t)
	c := New(Config{URL: s.srv.URL, Key: "k", FlushInterval: time.Hour})
	defer c.Close(context.Background())
	slog.New(c.SlogHandler(nil)).Info("flushed")
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	if got := s.got(); len(got) != 1 || got[0]["message"] != "flushed" {
		t.Errorf("after Flush the server has %v; want the record", got)
	}
}

// BenchmarkSlogHandle measures a slog.Logger call through the handler on
// the request path: a message, five attributes, one WithAttrs, with
// batches acknowledged without network.
func BenchmarkSlogHandle(b *testing.B) {
	c := New(Config{URL: "http://127.0.0.1:1", Key: "k"})
	h := c.SlogHandler(nil)
	h.s.testDeliver = func(ch *chunk) outcome { return outcome{sent: ch.live()} }
	b.Cleanup(func() { c.Close(b.Context()) })
	log := slog.New(h).With("service_version", "1.2.3")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		log.LogAttrs(ctx, slog.LevelInfo, "request served",
			slog.String("method", "GET"), slog.String("path", "/api/users/42"), slog.Int("status", 200),
			slog.Duration("duration", 12*time.Millisecond), slog.String("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"))
	}
	reportDrops(b, h.s)
}
