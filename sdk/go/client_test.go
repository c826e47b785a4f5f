package alidade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// checkInvariant checks Written = Sent + Rejected + Dropped + Buffered.
func checkInvariant(t *testing.T, s Stats) {
	t.Helper()
	if s.Written != s.Sent+s.Rejected+s.Dropped+uint64(s.Buffered) {
		t.Errorf("Stats %+v: Written != Sent + Rejected + Dropped + Buffered", s)
	}
}

func TestBatchesBySize(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f.URL())
	cfg.BatchSize = 10
	c := New(cfg)
	for i := range 35 {
		if err := c.Write("sdk", idPoint(i)); err != nil {
			t.Fatalf("Write(%d) = %v", i, err)
		}
	}
	// Three full batches go without a flush (FlushInterval is an hour).
	f.waitPoints(t, 30, 5*time.Second)
	time.Sleep(20 * time.Millisecond)
	if n := len(f.got()); n != 30 {
		t.Fatalf("before Flush the server has %d points; want 30 (3 full batches)", n)
	}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	reqs := f.reqs()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.points))
	}
	if !slices.Equal(sizes, []int{10, 10, 10, 5}) {
		t.Errorf("batch sizes = %v; want [10 10 10 5]", sizes)
	}
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 35)) {
		t.Errorf("ids = %v; want 0..34 in order", got)
	}
	closeOK(t, c)
	s := c.Stats()
	if s.Written != 35 || s.Sent != 35 || s.Batches != 4 || s.Buffered != 0 || s.Dropped != 0 {
		t.Errorf("Stats = %+v; want 35 written and sent in 4 batches", s)
	}
	checkInvariant(t, s)
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

func TestBatchesByInterval(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f.URL())
	cfg.FlushInterval = 50 * time.Millisecond
	c := New(cfg)
	defer closeOK(t, c)
	start := time.Now()
	for i := range 3 {
		c.Write("sdk", idPoint(i))
	}
	f.waitPoints(t, 3, 2*time.Second)
	if el := time.Since(start); el > time.Second {
		t.Errorf("3 points arrived after %v; want about one FlushInterval (50ms)", el)
	}
	if n := len(f.reqs()); n != 1 {
		t.Errorf("%d requests; want 1 batch of 3", n)
	}
}

func TestBodyIsGzippedNDJSON(t *testing.T) {
	for _, mode := range []GzipMode{GzipOn, GzipOff} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			f := newFakeServer(t)
			cfg := testConfig(t, f.URL()+"/") // a trailing slash is fine
			cfg.Gzip = mode
			c := New(cfg)
			ts := time.UnixMilli(1795760000000)
			c.Write("requests", Point{Index: "/api/chat", Blobs: []string{"/api/chat", "GET"}, Doubles: []float64{12.5, 200}, Timestamp: ts})
			c.Write("odd", Point{Blobs: []string{"q\"uo\\te\n\t\x01é☃", ""}, Doubles: []float64{1e-9, 1e300, -0.5, 3}, Timestamp: ts})
			c.Write("bare", Point{Timestamp: ts})
			closeOK(t, c)
			reqs := f.reqs()
			if len(reqs) != 1 {
				t.Fatalf("%d requests; want 1", len(reqs))
			}
			r := reqs[0]
			want := `{"dataset":"requests","timestamp":1795760000000,"indexes":["/api/chat"],"blobs":["/api/chat","GET"],"doubles":[12.5,200]}
{"dataset":"odd","timestamp":1795760000000,"blobs":["q\"uo\\te\n\t\u0001é☃",""],"doubles":[1e-9,1e+300,-0.5,3]}
{"dataset":"bare","timestamp":1795760000000}
`
			if string(r.ndjson) != want {
				t.Errorf("body =\n%s\nwant\n%s", r.ndjson, want)
			}
			wantEnc := "gzip"
			if mode == GzipOff {
				wantEnc = ""
			}
			for h, v := range map[string]string{
				"Authorization":    "Bearer ald_write_test",
				"Content-Type":     "application/x-ndjson",
				"Content-Encoding": wantEnc,
			} {
				if got := r.header.Get(h); got != v {
					t.Errorf("header %s = %q; want %q", h, got, v)
				}
			}
			if mode == GzipOn && len(r.raw) == len(r.ndjson) {
				t.Errorf("gzip body is as long as the NDJSON")
			}
			p := f.got()[1]
			if p.Blobs[0] != "q\"uo\\te\n\t\x01é☃" || p.Doubles[0] != 1e-9 || p.Doubles[1] != 1e300 {
				t.Errorf("decoded point = %+v; want the written values back", p)
			}
		})
	}
}

func TestZeroTimestampIsWriteTime(t *testing.T) {
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	before := time.Now().UnixMilli()
	c.Write("sdk", Point{})
	after := time.Now().UnixMilli()
	closeOK(t, c)
	if ts := f.got()[0].Timestamp; ts < before || ts > after {
		t.Errorf("timestamp = %d; want the Write time in [%d, %d]", ts, before, after)
	}
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":{"code":"overloaded","message":"the ingest queue is full"}}`, http.StatusTooManyRequests)
			return true
		}
		return false
	})
	c := New(testConfig(t, f.URL()))
	for i := range 5 {
		c.Write("sdk", idPoint(i))
	}
	closeOK(t, c)
	reqs := f.reqs()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2 (a 429, then the retry)", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retry came %v after the 429; want ≥ Retry-After (1s)", gap)
	}
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 5)) {
		t.Errorf("ids = %v; want 0..4 once", got)
	}
	if s := c.Stats(); s.Retries != 1 || s.Sent != 5 || s.Requests != 2 || s.Batches != 1 {
		t.Errorf("Stats = %+v; want 1 retry, 5 sent, 2 requests, 1 batch", s)
	}
}

// A cluster node answers 409 while another node writes the same
// Idempotency-Key: the batch is retried with the key, not dropped.
func TestRetry409IdempotencyKeyInProgress(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"code":"idempotency_key_in_progress","message":"a write with this Idempotency-Key is in progress on node b"}}`, http.StatusConflict)
			return true
		}
		return false
	})
	c := New(testConfig(t, f.URL()))
	for i := range 3 {
		c.Write("sdk", idPoint(i))
	}
	closeOK(t, c)
	reqs := f.reqs()
	if len(reqs) != 2 || reqs[0].header.Get("Idempotency-Key") == "" || reqs[0].header.Get("Idempotency-Key") != reqs[1].header.Get("Idempotency-Key") {
		t.Fatalf("%d requests; want 2 (a 409, then the retry with the same Idempotency-Key)", len(reqs))
	}
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 3)) {
		t.Errorf("ids = %v; want 0..2 once", got)
	}
}

func TestRetry503AndConnectionReset(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		switch n {
		case 0:
			http.Error(w, `{"error":{"code":"shutting_down","message":"bye"}}`, http.StatusServiceUnavailable)
			return true
		case 1:
			resetConn(t, w)
			return true
		case 2:
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return true
		}
		return false
	})
	c := New(testConfig(t, f.URL()))
	for i := range 7 {
		c.Write("sdk", idPoint(i))
	}
	closeOK(t, c)
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 7)) {
		t.Errorf("ids = %v; want 0..6 once", got)
	}
	s := c.Stats()
	// A batch carries an Idempotency-Key, so net/http's Transport may
	// itself resend it once after the reset of a reused connection: then
	// the SDK counts 2 retries of its own, not 3.
	if s.Retries < 2 || s.Retries > 3 || s.Sent != 7 || s.Dropped != 0 {
		t.Errorf("Stats = %+v; want 2 or 3 retries, 7 sent, none dropped", s)
	}
	checkInvariant(t, s)
}

func TestBackoffBounds(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for attempt := range 70 {
		b := hi
		if attempt < 6 { // 100ms·2^5 = 3.2s < 5s
			b = lo << attempt
		}
		seen := map[bool]bool{}
		for range 2000 {
			d := backoff(attempt, lo, hi)
			if d < b/2 || d > b {
				t.Fatalf("backoff(%d) = %v; want within [%v, %v]", attempt, d, b/2, b)
			}
			seen[d < b/2+b/4] = true
		}
		if !seen[true] || !seen[false] {
			t.Errorf("backoff(%d) is not jittered over [%v, %v]", attempt, b/2, b)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"99999999999", maxRetryAfter},
		{"Fri, 27 Nov 2026 10:00:30 GMT", 30 * time.Second},
		{"Fri, 27 Nov 2026 09:00:00 GMT", 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestRejectedPointsCountedNeverRetried(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, req *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		switch n {
		case 0: // two of five points invalid
			w.Write([]byte(`{"accepted":3,"rejected":[{"position":1,"error":"timestamp too old"},{"position":4,"error":"x"}]}`))
			return true
		case 1: // none valid
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"code":"no_valid_points","message":"the batch has no valid point"},"accepted":0,"rejected":[{"position":0,"error":"x"},{"position":1,"error":"x"}]}`))
			return true
		}
		return false
	})
	var handled []string
	var mu sync.Mutex
	cfg := testConfig(t, f.URL()) // batches go at Flush and Close
	cfg.ErrorHandler = func(err error) { mu.Lock(); handled = append(handled, err.Error()); mu.Unlock() }
	c := New(cfg)
	for i := range 5 {
		c.Write("sdk", idPoint(i))
	}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	err := c.Flush(ctx)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Rejected != 2 || de.Dropped != 0 {
		t.Errorf("Flush = %v; want a DeliveryError with 2 rejected", err)
	}
	c.Write("sdk", idPoint(5))
	c.Write("sdk", idPoint(6))
	err = c.Close(ctx)
	if !errors.As(err, &de) || de.Rejected != 2 {
		t.Errorf("Close = %v; want a DeliveryError with 2 rejected", err)
	}
	if n := len(f.reqs()); n != 2 {
		t.Errorf("%d requests; want 2 (rejections are never retried)", n)
	}
	s := c.Stats()
	if s.Rejected != 4 || s.Sent != 3 || s.Retries != 0 || s.Dropped != 0 {
		t.Errorf("Stats = %+v; want 4 rejected, 3 sent, no retry", s)
	}
	checkInvariant(t, s)
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(handled, func(s string) bool { return strings.Contains(s, "timestamp too old") }) {
		t.Errorf("ErrorHandler got %q; want the server's rejection", handled)
	}
}

func TestWriteRejectsInvalidPoints(t *testing.T) {
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	bigBlobs := []string{strings.Repeat("a", 10000), strings.Repeat("b", 7000)}
	for _, tc := range []struct {
		name    string
		dataset string
		p       Point
	}{
		{"empty dataset", "", Point{}},
		{"uppercase dataset", "Requests", Point{}},
		{"long dataset", strings.Repeat("a", 65), Point{}},
		{"long index", "sdk", Point{Index: strings.Repeat("x", 97)}},
		{"bad UTF-8 index", "sdk", Point{Index: "\xff"}},
		{"21 blobs", "sdk", Point{Blobs: make([]string, 21)}},
		{"21 doubles", "sdk", Point{Doubles: make([]float64, 21)}},
		{"blobs over 16 KB", "sdk", Point{Blobs: bigBlobs}},
		{"bad UTF-8 blob", "sdk", Point{Blobs: []string{"ok", "\xc3"}}},
		{"NaN", "sdk", Point{Doubles: []float64{1, math.NaN()}}},
		{"+Inf", "sdk", Point{Doubles: []float64{math.Inf(1)}}},
		{"-Inf", "sdk", Point{Doubles: []float64{math.Inf(-1)}}},
	} {
		if err := c.Write(tc.dataset, tc.p); !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("Write(%s) = %v; want ErrInvalidPoint", tc.name, err)
		}
	}
	// The limits themselves are fine.
	ok := Point{Index: strings.Repeat("x", 96), Blobs: append(make([]string, 19), strings.Repeat("b", 16*1024)), Doubles: make([]float64, 20)}
	if err := c.Write(strings.Repeat("a", 64), ok); err != nil {
		t.Errorf("Write(a point at every limit) = %v; want nil", err)
	}
	closeWant(t, c, 0, 12)
	if n := len(f.got()); n != 1 {
		t.Errorf("server got %d points; want only the valid one", n)
	}
	s := c.Stats()
	if s.Rejected != 12 || s.Sent != 1 || s.Written != 13 {
		t.Errorf("Stats = %+v; want 12 rejected, 1 sent, 13 written", s)
	}
	checkInvariant(t, s)
}

// blockingServer holds every request until release is closed, and reports
// each arrival on arrived.
func blockingServer(t *testing.T, f *fakeServer) (arrived chan int, release chan struct{}) {
	arrived = make(chan int, 100)
	release = make(chan struct{})
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, r *http.Request) bool {
		arrived <- n
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	return arrived, release
}

func TestOverflow(t *testing.T) {
	for _, tc := range []struct {
		policy  Overflow
		wantIDs []int
		wantErr error
	}{
		// 0..9 are in flight; the buffer holds 90 more: the first ones...
		{DropNewest, seq(0, 100), ErrBufferFull},
		// ...or the last ones.
		{DropOldest, append(seq(0, 10), seq(910, 1000)...), nil},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			f := newFakeServer(t)
			arrived, release := blockingServer(t, f)
			cfg := testConfig(t, f.URL())
			cfg.BatchSize = 10
			cfg.BufferSize = 100
			cfg.Overflow = tc.policy
			c := New(cfg)
			for i := range 10 {
				c.Write("sdk", idPoint(i))
			}
			<-arrived // the first batch is in flight
			var errs int
			for i := 10; i < 1000; i++ {
				if err := c.Write("sdk", idPoint(i)); err != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Write(%d) = %v; want %v", i, err, tc.wantErr)
					}
					errs++
				}
				if s := c.Stats(); s.Buffered > 100 {
					t.Fatalf("Buffered = %d; want ≤ BufferSize 100", s.Buffered)
				}
			}
			s := c.Stats()
			if s.Dropped != 900 || s.Buffered != 100 {
				t.Errorf("Stats = %+v; want exactly 900 dropped and 100 buffered", s)
			}
			if tc.wantErr != nil && errs != 900 {
				t.Errorf("%d writes failed; want 900", errs)
			}
			close(release)
			closeWant(t, c, 900, 0)
			if got := ids(t, f.got()); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("delivered ids = %v; want %v", got, tc.wantIDs)
			}
			s = c.Stats()
			if s.Sent != 100 || s.Dropped != 900 || s.Written != 1000 {
				t.Errorf("Stats = %+v; want 100 sent, 900 dropped", s)
			}
			checkInvariant(t, s)
		})
	}
}

func TestOverflowBoundsMemory(t *testing.T) {
	for _, policy := range []Overflow{DropNewest, DropOldest} {
		t.Run(policy.String(), func(t *testing.T) {
			f := newFakeServer(t)
			arrived, release := blockingServer(t, f)
			cfg := testConfig(t, f.URL())
			cfg.BatchSize = 4
			cfg.MaxBufferBytes = 64 << 10
			cfg.Overflow = policy
			c := New(cfg)
			blob := strings.Repeat("x", 1000)
			p := Point{Blobs: []string{"", blob}}
			write := func(i int) {
				p.Blobs[0] = fmt.Sprintf("%04d", i)
				c.Write("sdk", p)
			}
			for i := range 4 {
				write(i)
			}
			<-arrived
			for i := 4; i < 1000; i++ {
				write(i)
				if s := c.Stats(); s.BufferedBytes > cfg.MaxBufferBytes {
					t.Fatalf("BufferedBytes = %d; want ≤ %d", s.BufferedBytes, cfg.MaxBufferBytes)
				}
			}
			s := c.Stats()
			// Each point takes 48 + 3 + 4 + 1000 + 8 = 1063 bytes: 61 fit in 64 KB.
			if s.Buffered != 61 || s.Dropped != 1000-61 {
				t.Errorf("Stats = %+v; want 61 buffered, 939 dropped", s)
			}
			close(release)
			closeWant(t, c, 939, 0)
			if n := len(f.got()); n != 61 {
				t.Errorf("server got %d points; want 61", n)
			}
			checkInvariant(t, c.Stats())
		})
	}
}

func TestCloseDeliversBuffered(t *testing.T) {
	f := newFakeServer(t)
	c := New(testConfig(t, f.URL()))
	for i := range 2500 {
		c.Write("sdk", idPoint(i))
	}
	closeOK(t, c)
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 2500)) {
		t.Errorf("server got %d points; want 0..2499 in order", len(got))
	}
	if s := c.Stats(); s.Sent != 2500 || s.Buffered != 0 {
		t.Errorf("Stats = %+v; want all 2500 sent", s)
	}
	// Close again: the same result, at once.
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
}

func TestCloseWithCancelledContextReportsDropped(t *testing.T) {
	f := newFakeServer(t)
	arrived, release := blockingServer(t, f)
	defer close(release)
	cfg := testConfig(t, f.URL())
	cfg.BatchSize = 10
	c := New(cfg)
	for i := range 25 {
		c.Write("sdk", idPoint(i))
	}
	<-arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := c.Close(ctx)
	if el := time.Since(start); el > time.Second {
		t.Errorf("Close with a cancelled context took %v", el)
	}
	var de *DeliveryError
	if !errors.As(err, &de) || de.Dropped != 25 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v; want a DeliveryError with 25 dropped wrapping context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "25 dropped") {
		t.Errorf("Close error %q does not say 25 dropped", err)
	}
	s := c.Stats()
	if s.Dropped != 25 || s.Buffered != 0 || s.Sent != 0 {
		t.Errorf("Stats = %+v; want 25 dropped", s)
	}
	checkInvariant(t, s)
	// Writes after Close are dropped, never panic.
	if err := c.Write("sdk", idPoint(99)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v; want ErrClosed", err)
	}
	if err := c.LogRequest(RequestEvent{Endpoint: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("LogRequest after Close = %v; want ErrClosed", err)
	}
	if s := c.Stats(); s.Dropped != 27 || s.Written != 27 {
		t.Errorf("Stats = %+v; want 27 dropped of 27 written", s)
	}
	if err := c.Flush(context.Background()); !errors.As(err, &de) || de.Dropped != 2 {
		t.Errorf("Flush after Close = %v; want the 2 points written after Close dropped", err)
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Errorf("second Flush after Close = %v; want nil (the losses were reported)", err)
	}
}

func TestFlushTimeoutReportsPending(t *testing.T) {
	f := newFakeServer(t)
	arrived, release := blockingServer(t, f)
	c := New(testConfig(t, f.URL()))
	for i := range 7 {
		c.Write("sdk", idPoint(i))
	}
	ctx, cancel := contextTimeout(100 * time.Millisecond)
	defer cancel()
	err := c.Flush(ctx)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Pending != 7 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v; want 7 pending and DeadlineExceeded", err)
	}
	<-arrived
	close(release)
	// The points are still delivered.
	ctx2, cancel2 := contextTimeout(5 * time.Second)
	defer cancel2()
	if err := c.Flush(ctx2); err != nil {
		t.Fatalf("second Flush = %v", err)
	}
	if n := len(f.got()); n != 7 {
		t.Errorf("server got %d points; want 7", n)
	}
	closeOK(t, c)
}

func TestFlushWaitsForTheBatchInFlight(t *testing.T) {
	f := newFakeServer(t)
	arrived, release := blockingServer(t, f)
	cfg := testConfig(t, f.URL())
	cfg.BatchSize = 5
	c := New(cfg)
	for i := range 5 {
		c.Write("sdk", idPoint(i))
	}
	<-arrived
	done := make(chan error)
	go func() {
		ctx, cancel := contextTimeout(5 * time.Second)
		defer cancel()
		done <- c.Flush(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Flush returned %v while its points were in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Flush = %v", err)
	}
	if n := len(f.got()); n != 5 {
		t.Errorf("server got %d points after Flush; want 5", n)
	}
	closeOK(t, c)
}

// TestServerRestart keeps writing while the server is down for a while, on
// the same port, and checks that no point is lost.
func TestServerRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	f := &fakeServer{t: t}
	serve := func(ln net.Listener) *http.Server {
		srv := &http.Server{Handler: f}
		go srv.Serve(ln)
		return srv
	}
	srv := serve(ln)
	cfg := testConfig(t, "http://"+addr)
	cfg.BatchSize = 50
	cfg.FlushInterval = 10 * time.Millisecond
	c := New(cfg)
	id := 0
	writeFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); id++ {
			if err := c.Write("sdk", idPoint(id)); err != nil {
				t.Fatalf("Write = %v", err)
			}
			if id%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	writeFor(200 * time.Millisecond)
	srv.Close() // the server goes down; connections are refused
	writeFor(500 * time.Millisecond)
	if s := c.Stats(); s.Retries == 0 {
		t.Errorf("Stats = %+v; want retries while the server is down", s)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv = serve(ln)
	defer srv.Close()
	writeFor(200 * time.Millisecond)
	closeOK(t, c)
	got := ids(t, f.got())
	seen := make(map[int]int, len(got))
	for _, g := range got {
		seen[g]++
	}
	for i := range id {
		if seen[i] == 0 {
			t.Fatalf("point %d of %d is lost", i, id)
		}
	}
	s := c.Stats()
	if s.Sent != uint64(id) || s.Dropped != 0 {
		t.Errorf("Stats = %+v; want all %d sent", s, id)
	}
	t.Logf("%d points, %d received (%d duplicates from retried requests), %d retries", id, len(got), len(got)-len(seen), s.Retries)
}

func TestNilClient(t *testing.T) {
	var c *Client
	ctx := context.Background()
	if err := c.Write("sdk", Point{}); err != nil {
		t.Errorf("nil Write = %v", err)
	}
	for name, err := range map[string]error{
		"LogRequest":         c.LogRequest(RequestEvent{}),
		"TrackAIUsage":       c.TrackAIUsage(AIUsage{}),
		"TrackEmbedding":     c.TrackEmbedding(Embedding{}),
		"TrackVectorSearch":  c.TrackVectorSearch(VectorSearch{}),
		"TrackDBQuery":       c.TrackDBQuery(DBQuery{}),
		"TrackWebSocket":     c.TrackWebSocket(WebSocketEvent{}),
		"TrackGradePassback": c.TrackGradePassback(GradePassback{}),
		"TrackIntent":        c.TrackIntent(Intent{}),
		"LabelIntent":        c.LabelIntent("", ""),
		"Flush":              c.Flush(ctx),
		"Close":              c.Close(ctx),
	} {
		if err != nil {
			t.Errorf("nil %s = %v", name, err)
		}
	}
	if s := c.Stats(); s != (Stats{}) {
		t.Errorf("nil Stats = %+v", s)
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := Middleware(nil, h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Errorf("Middleware(nil, h) does not return h")
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "http://x"},
		{URL: "ftp://x", Key: "k"},
		{URL: "localhost:8080", Key: "k"},
		{URL: "http://x?a=b", Key: "k"},
		{URL: "http://x", Key: "k", BatchSize: -1},
		{URL: "http://x", Key: "k", MaxBufferBytes: 10},
		{URL: "http://x", Key: "k", Overflow: 7},
		{URL: "http://x", Key: "k", Gzip: 3},
		{URL: "http://x", Key: "k\n"},
	} {
		var reported atomic.Int32
		cfg.ErrorHandler = func(error) { reported.Add(1) }
		if cfg.Validate() == nil {
			t.Errorf("Validate(%+v) = nil; want an error", cfg)
			continue
		}
		c := New(cfg)
		if err := c.Write("sdk", Point{}); err == nil {
			t.Errorf("Write with config %+v = nil; want the config error", cfg)
		}
		if err := c.Flush(context.Background()); err == nil {
			t.Errorf("Flush with config %+v = nil; want the config error", cfg)
		}
		if err := c.Close(context.Background()); err == nil {
			t.Errorf("Close with config %+v = nil; want the config error", cfg)
		}
		if s := c.Stats(); s.Dropped != 1 || s.Written != 1 {
			t.Errorf("Stats = %+v; want 1 dropped", s)
		}
		if reported.Load() != 1 {
			t.Errorf("ErrorHandler called %d times; want once", reported.Load())
		}
	}
	if err := (Config{URL: "https://a.example/alidade", Key: "k"}).Validate(); err != nil {
		t.Errorf("Validate(good config) = %v", err)
	}
}

func TestNotRetried401(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, `{"error":{"code":"unauthorized","message":"unknown key"}}`, http.StatusUnauthorized)
		return true
	})
	var msgs []string
	var mu sync.Mutex
	cfg := testConfig(t, f.URL())
	cfg.ErrorHandler = func(err error) { mu.Lock(); msgs = append(msgs, err.Error()); mu.Unlock() }
	c := New(cfg)
	for i := range 3 {
		c.Write("sdk", idPoint(i))
	}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	err := c.Close(ctx)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Dropped != 3 {
		t.Errorf("Close = %v; want 3 dropped", err)
	}
	if n := len(f.reqs()); n != 1 {
		t.Errorf("%d requests; want 1 (401 is not retried)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(msgs, func(s string) bool { return strings.Contains(s, "401") && strings.Contains(s, "unknown key") }) {
		t.Errorf("ErrorHandler got %q; want the 401 and the server's message", msgs)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tweak    func(*Config)
		wantReqs int
	}{
		{"MaxRetries", func(c *Config) { c.MaxRetries = 3 }, 4},
		{"no retries", func(c *Config) { c.MaxRetries = -1 }, 1},
		{"MaxRetryTime", func(c *Config) {
			c.MinBackoff, c.MaxBackoff, c.MaxRetryTime = 40*time.Millisecond, 40*time.Millisecond, 100*time.Millisecond
		}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.setFault(func(int, *fakeRequest, http.ResponseWriter, *http.Request) bool {
				panic(http.ErrAbortHandler) // drop the connection
			})
			cfg := testConfig(t, f.URL())
			tc.tweak(&cfg)
			c := New(cfg)
			c.Write("sdk", idPoint(1))
			ctx, cancel := contextTimeout(5 * time.Second)
			defer cancel()
			err := c.Close(ctx)
			var de *DeliveryError
			if !errors.As(err, &de) || de.Dropped != 1 || de.Err != nil {
				t.Errorf("Close = %v; want 1 dropped after the retries", err)
			}
			n := len(f.reqs())
			if tc.wantReqs >= 0 && n != tc.wantReqs || tc.wantReqs < 0 && (n < 2 || n > 5) {
				t.Errorf("%d requests; want %d (-1: 2 to 5, as the jitter goes)", n, tc.wantReqs)
			}
		})
	}
}

func TestTooLargeBodyIsSplit(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, req *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		if len(req.points) > 3 {
			http.Error(w, `{"error":{"code":"body_too_large","message":"too large"}}`, http.StatusRequestEntityTooLarge)
			return true
		}
		return false
	})
	c := New(testConfig(t, f.URL()))
	for i := range 20 {
		c.Write("sdk", idPoint(i))
	}
	closeOK(t, c)
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 20)) {
		t.Errorf("ids = %v; want 0..19 in order", got)
	}
	if s := c.Stats(); s.Sent != 20 || s.Retries != 0 {
		t.Errorf("Stats = %+v; want 20 sent", s)
	}
}

func TestErrorHandlerRateLimitedAndPanicSafe(t *testing.T) {
	f := newFakeServer(t)
	f.setFault(func(n int, _ *fakeRequest, w http.ResponseWriter, _ *http.Request) bool {
		if n < 6 {
			http.Error(w, "oops", http.StatusInternalServerError)
			return true
		}
		return false
	})
	var calls atomic.Int32
	cfg := testConfig(t, f.URL())
	cfg.ErrorInterval = time.Hour
	cfg.ErrorHandler = func(err error) {
		calls.Add(1)
		panic("the handler panics")
	}
	c := New(cfg)
	c.Write("sdk", idPoint(1))
	closeOK(t, c)
	if n := calls.Load(); n != 1 {
		t.Errorf("ErrorHandler called %d times within ErrorInterval; want 1", n)
	}
	if s := c.Stats(); s.Sent != 1 || s.Retries != 6 {
		t.Errorf("Stats = %+v; want 1 sent after 6 retries", s)
	}
}

func TestConcurrentWriters(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f.URL())
	cfg.BatchSize = 100
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.BufferSize = 5000
	c := New(cfg)
	var wg sync.WaitGroup
	const writers, each = 8, 2000
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				c.Write("sdk", idPoint(w*each+i))
				if i%100 == 0 {
					c.Stats()
				}
				if i == each/2 {
					ctx, cancel := contextTimeout(5 * time.Second)
					c.Flush(ctx)
					cancel()
				}
			}
		})
	}
	wg.Wait()
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	err := c.Close(ctx)
	s := c.Stats()
	var de *DeliveryError
	if s.Dropped > 0 && (!errors.As(err, &de) || de.Dropped == 0) || s.Dropped == 0 && err != nil {
		t.Errorf("Close = %v with Stats %+v; want an error exactly when points were dropped", err, s)
	}
	checkInvariant(t, s)
	if s.Written != writers*each || s.Sent+s.Dropped != writers*each {
		t.Errorf("Stats = %+v; want %d written, sent or dropped", s, writers*each)
	}
	if got := len(f.got()); uint64(got) != s.Sent {
		t.Errorf("server got %d points; Stats says %d sent", got, s.Sent)
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	c := New(Config{URL: "http://127.0.0.1:1", Key: "k", BatchSize: 100})
	c.testDeliver = func(ch *chunk) outcome { return outcome{sent: ch.live()} }
	defer closeOK(t, c)
	p := Point{Index: "/api/chat", Blobs: []string{"/api/chat", "GET", "web"}, Doubles: []float64{12.5, 200, 5120, 0}}
	ctx := context.Background()
	for range 10 { // grow the chunks
		for range 100 {
			c.Write("requests", p)
		}
		c.Flush(ctx)
	}
	for range 5 {
		c.Flush(ctx)
		if n := testing.AllocsPerRun(98, func() { c.Write("requests", p) }); n != 0 {
			t.Errorf("Write allocates %v times per call; want 0", n)
		}
		c.Flush(ctx)
		if n := testing.AllocsPerRun(98, func() {
			c.LogRequest(RequestEvent{Endpoint: "GET /users/{id}", URL: "/users/42", Method: "GET", Status: 200, Duration: time.Millisecond})
		}); n != 0 {
			t.Errorf("LogRequest allocates %v times per call; want 0", n)
		}
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "q\"b\\s/", "\x00\x1f\x7f", "\n\r\t\b\f", "é☃😀", "\u2028\u2029", "<&>"}
	floats := []float64{0, 1, -1, 0.1, 1e-6, 9.99e-7, 1e20, 1e21, -1e21, 123456789.123, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1.5e-10}
	for _, s := range strs {
		b := appendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("appendString(%q) = %s: reads back as %q, %v", s, b, back, err)
		}
	}
	for _, x := range floats {
		b := appendFloat(nil, x)
		want, _ := json.Marshal(x)
		if string(b) != string(want) {
			t.Errorf("appendFloat(%v) = %s; want %s (encoding/json)", x, b, want)
		}
	}
}

func TestSenderPanicIsRecovered(t *testing.T) {
	var errs atomic.Int32
	c := New(Config{URL: "http://127.0.0.1:1", Key: "k", ErrorInterval: time.Nanosecond,
		ErrorHandler: func(error) { errs.Add(1) }})
	var calls atomic.Int32
	c.testDeliver = func(ch *chunk) outcome {
		if calls.Add(1) == 1 {
			panic("boom: the deliver step panics once")
		}
		return outcome{sent: ch.live()}
	}
	for i := range 30 {
		c.Write("sdk", idPoint(i))
	}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	err := c.Flush(ctx)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Dropped != 30 {
		t.Errorf("Flush = %v; want the 30 points of the batch that panicked dropped", err)
	}
	for i := range 20 {
		c.Write("sdk", idPoint(i))
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close = %v; want nil: the sender goes on after a panic", err)
	}
	s := c.Stats()
	if s.Sent != 20 || s.Dropped != 30 {
		t.Errorf("Stats = %+v; want 20 sent, 30 dropped", s)
	}
	checkInvariant(t, s)
	if errs.Load() == 0 {
		t.Errorf("the panic was not reported to the ErrorHandler")
	}
}

func TestDropOldestCannotRecallTheBatchInFlight(t *testing.T) {
	f := newFakeServer(t)
	arrived, release := blockingServer(t, f)
	cfg := testConfig(t, f.URL())
	cfg.BatchSize = 10
	cfg.BufferSize = 10
	cfg.Overflow = DropOldest
	c := New(cfg)
	for i := range 10 {
		c.Write("sdk", idPoint(i))
	}
	<-arrived
	for i := 10; i < 15; i++ {
		if err := c.Write("sdk", idPoint(i)); !errors.Is(err, ErrBufferFull) {
			t.Errorf("Write(%d) = %v; want ErrBufferFull (only the batch in flight is buffered)", i, err)
		}
	}
	close(release)
	closeWant(t, c, 5, 0)
	if got := ids(t, f.got()); !slices.Equal(got, seq(0, 10)) {
		t.Errorf("ids = %v; want 0..9", got)
	}
	if s := c.Stats(); s.Dropped != 5 || s.Sent != 10 {
		t.Errorf("Stats = %+v; want 5 dropped, 10 sent", s)
	}
}

func TestNotAnAlidadeAnswer(t *testing.T) {
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>welcome</html>"))
	})
	cfg := testConfig(t, srv)
	c := New(cfg)
	c.Write("sdk", idPoint(1))
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	var de *DeliveryError
	if err := c.Close(ctx); !errors.As(err, &de) || de.Dropped != 1 {
		t.Errorf("Close = %v; want 1 dropped", err)
	}
	if s := c.Stats(); s.Sent != 0 || s.Requests != 1 {
		t.Errorf("Stats = %+v; want nothing sent, 1 request", s)
	}
}

func httptestServer(t *testing.T, h http.HandlerFunc) string {
	f := newFakeServer(t)
	f.setFault(func(_ int, _ *fakeRequest, w http.ResponseWriter, r *http.Request) bool {
		h(w, r)
		return true
	})
	return f.URL()
}
