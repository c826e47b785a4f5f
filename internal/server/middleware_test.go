package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPanicIs500WithRequestID: a handler panic answers 500 naming the
// request id, and the server goes on serving.
func TestPanicIs500WithRequestID(t *testing.T) {
	s := &Server{log: discardLogger(), metrics: NewMetrics(func() int64 { return 0 }, func() int64 { return 0 })}
	h := s.observe(s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("boom")
		}
		w.WriteHeader(204)
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != 500 || id == "" || body.Error.RequestID != id || !strings.Contains(body.Error.Message, id) {
		t.Fatalf("panic = %d %+v (X-Request-Id %q); want 500 naming the request id", rec.Code, body, id)
	}
	if s.metrics.Panics.Value() != 1 {
		t.Errorf("panics counted = %d; want 1", s.metrics.Panics.Value())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/fine", nil))
	if rec.Code != 204 {
		t.Fatalf("request after a panic = %d; want 204", rec.Code)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour, "15m": 15 * time.Minute, "1.5d": 36 * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "forever", "-1d", "d", "3x"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = nil error; want one", in)
		}
	}
}
