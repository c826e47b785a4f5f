package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeWriteServer answers writes like Alidade: it counts the NDJSON lines,
// and answers 429 (Retry-After: 0) to the first overloaded requests.
func fakeWriteServer(t *testing.T, overloaded int64, fail func(n int64) (int, string)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var reqs, points atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reqs.Add(1)
		if r.URL.Path != "/api/v1/datasets/requests/points" || r.Header.Get("Authorization") != "Bearer wk" ||
			r.Header.Get("Content-Type") != "application/x-ndjson" {
			http.Error(w, "bad request line or headers", http.StatusTeapot)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if n <= overloaded {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"overloaded","message":"the ingest queue is full"}}`)
			return
		}
		if fail != nil {
			if status, msg := fail(n); status != 0 {
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"code":"bad_body","message":%q}}`, msg)
				return
			}
		}
		lines := strings.Count(string(body), "\n")
		points.Add(int64(lines))
		fmt.Fprintf(w, `{"accepted":%d,"rejected":[]}`, lines)
	}))
	t.Cleanup(srv.Close)
	return srv, &points
}

func TestIngestRetries429(t *testing.T) {
	srv, points := fakeWriteServer(t, 3, nil)
	g := NewGenerator(1, testFrom, testTo)
	w, err := NewWorkload(context.Background(), g, 5_500, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(srv.URL, 2)
	defer c.close()
	var ticks atomic.Int64
	res, err := ingest(context.Background(), c, "wk", w, 2, func(acked, retries int64, elapsed time.Duration) { ticks.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Points != 5_500 || points.Load() != 5_500 {
		t.Errorf("acknowledged %d points, server stored %d; want 5500", res.Points, points.Load())
	}
	if res.Retries429 != 3 {
		t.Errorf("Retries429 = %d; want 3", res.Retries429)
	}
	if len(res.LatenciesMs) != 6 {
		t.Errorf("%d latencies; want one per request (6)", len(res.LatenciesMs))
	}
	if res.RawBytes != res.WireBytes || res.Elapsed <= 0 {
		t.Errorf("RawBytes %d, WireBytes %d, Elapsed %v", res.RawBytes, res.WireBytes, res.Elapsed)
	}
}

func TestIngestFailsLoudly(t *testing.T) {
	srv, _ := fakeWriteServer(t, 0, func(n int64) (int, string) {
		if n == 4 {
			return http.StatusBadRequest, "point 7: index is over 96 bytes"
		}
		return 0, ""
	})
	g := NewGenerator(1, testFrom, testTo)
	w, err := NewWorkload(context.Background(), g, 10_000, 500, false)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(srv.URL, 2)
	defer c.close()
	_, err = ingest(context.Background(), c, "wk", w, 2, nil)
	if err == nil || !strings.Contains(err.Error(), "400 bad_body: point 7: index is over 96 bytes") {
		t.Errorf("ingest = %v; want the server's 400 message", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": -1, "0": 0, "1": time.Second, " 5 ": 5 * time.Second, "soon": -1, "-3": -1} {
		if got := parseRetryAfter(in); got != want {
			t.Errorf("parseRetryAfter(%q) = %v; want %v", in, got, want)
		}
	}
	if got := parseRetryAfter(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)); got != 0 {
		t.Errorf("parseRetryAfter(past date) = %v; want 0", got)
	}
}

func TestParseCommitMetrics(t *testing.T) {
	text := `# HELP alidade_commit_duration_seconds Group commit latency.
# TYPE alidade_commit_duration_seconds histogram
alidade_commit_duration_seconds_bucket{le="0.005"} 0
alidade_commit_duration_seconds_bucket{le="+Inf"} 50
alidade_commit_duration_seconds_sum 3.8365
alidade_commit_duration_seconds_count 50
alidade_commits_total{result="ok"} 50
`
	m := parseCommitMetrics(text)
	if !m.ok || m.count != 50 || m.seconds != 3.8365 {
		t.Errorf("parseCommitMetrics = %+v", m)
	}
	// Before the first commit the histogram has no series.
	if m := parseCommitMetrics("# HELP alidade_commit_duration_seconds x\n# TYPE alidade_commit_duration_seconds histogram\n"); m.ok {
		t.Errorf("parseCommitMetrics(empty histogram) = %+v; want not ok", m)
	}
}
