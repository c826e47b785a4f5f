package alidade_test

// Integration tests against the real Alidade server: they build it from the
// parent module, start it on loopback over a temporary data directory, write
// with the SDK and read back with the query API. A failed build fails.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	alidade "github.com/alidade/alidade/sdk/go"
)

var (
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

// alidadeBinary builds cmd/alidade of the parent module once per test run.
func alidadeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(filepath.Dir(wd)) // sdk/go is two levels under the repository root
		dir, err := os.MkdirTemp("", "alidade-sdk-it-")
		if err != nil {
			buildErr = err
			return
		}
		serverBin = filepath.Join(dir, "alidade")
		cmd := exec.Command("go", "build", "-o", serverBin, "github.com/alidade/alidade/cmd/alidade")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build github.com/alidade/alidade/cmd/alidade in %s: %v\n%s", root, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr) // building is part of the test: never a skip
	}
	return serverBin
}

// server is a running `alidade serve`.
type server struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	rootKey string
	cmd     *exec.Cmd
	done    chan struct{}
	stderr  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomKey(t *testing.T) string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sdk-root-" + hex.EncodeToString(b)
}

// startServer starts alidade serve and waits for GET /readyz to answer 200.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, bin: alidadeBinary(t), addr: freeAddr(t), dataDir: t.TempDir(), rootKey: randomKey(t)}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) url() string { return "http://" + s.addr }

// start (re)starts the server on its address and data directory.
func (s *server) start() {
	s.t.Helper()
	s.stderr = &syncBuffer{}
	s.cmd = exec.Command(s.bin, "serve", "--listen", s.addr, "--data-dir", s.dataDir, "--log-level", "warn")
	s.cmd.Env = append(os.Environ(), "ALIDADE_ROOT_KEY="+s.rootKey)
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start alidade: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.done:
			s.t.Fatalf("alidade exited before it was ready; stderr:\n%s", s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("alidade not ready after 30s; stderr:\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *server) post(path, key string, body any) (int, []byte) {
	s.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.url()+path, bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// project creates a project and returns its write and read keys.
func (s *server) project(name string) (write, read string) {
	s.t.Helper()
	code, data := s.post("/api/v1/projects", s.rootKey, map[string]string{"name": name})
	var a struct {
		Keys struct{ Write, Read string } `json:"keys"`
	}
	if code != http.StatusCreated || json.Unmarshal(data, &a) != nil || a.Keys.Write == "" || a.Keys.Read == "" {
		s.t.Fatalf("create project = %d %s; want 201 with keys", code, data)
	}
	return a.Keys.Write, a.Keys.Read
}

// query runs a structured query and returns its first row.
func (s *server) query(readKey string, q map[string]any) map[string]float64 {
	s.t.Helper()
	code, data := s.post("/api/v1/query", readKey, q)
	var a struct {
		Rows []map[string]any `json:"rows"`
	}
	if code != http.StatusOK || json.Unmarshal(data, &a) != nil {
		s.t.Fatalf("query %v = %d %s", q, code, data)
	}
	row := map[string]float64{}
	if len(a.Rows) > 0 {
		for k, v := range a.Rows[0] {
			if f, ok := v.(float64); ok {
				row[k] = f
			}
		}
	}
	return row
}

func aggs(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "count" {
			m[kv[i]] = map[string]string{"type": "count"}
			continue
		}
		typ, field, _ := strings.Cut(kv[i+1], ":")
		m[kv[i]] = map[string]string{"type": typ, "field": field}
	}
	return m
}

// TestRealServerHelpers writes through LogRequest and TrackAIUsage and reads
// the counts and sums back by the built-in field names.
func TestRealServerHelpers(t *testing.T) {
	s := startServer(t)
	write, read := s.project("sdk")
	c := alidade.New(alidade.Config{
		URL: s.url(), Key: write, BatchSize: 500,
		ErrorHandler: func(err error) { t.Logf("ErrorHandler: %v", err) },
	})
	const nReq, nAI = 3000, 2000
	var statusSum, bytesSum, tokens, cached float64
	for i := range nReq {
		status := 200 + 100*(i%4) // 200, 300, 400, 500
		statusSum += float64(status)
		bytesSum += float64(i)
		if err := c.LogRequest(alidade.RequestEvent{
			Endpoint: fmt.Sprintf("GET /api/items/{id}/%d", i%5), URL: fmt.Sprintf("/api/items/%d", i), Method: "GET",
			Service: "sdk-test", Status: status, Duration: time.Duration(i) * time.Microsecond, ResponseBytes: int64(i),
		}); err != nil {
			t.Fatalf("LogRequest = %v", err)
		}
	}
	cost := 0.001
	for i := range nAI {
		u := alidade.AIUsage{Model: "gpt-4o-mini", Feature: "chat", Provider: "openai",
			InputTokens: 100 + i%7, OutputTokens: 20, CachedInputTokens: i % 3, Latency: 800 * time.Millisecond}
		if i%2 == 0 {
			u.Cost = &cost
		}
		tokens += float64(u.InputTokens + u.OutputTokens)
		cached += float64(u.CachedInputTokens)
		if err := c.TrackAIUsage(u); err != nil {
			t.Fatalf("TrackAIUsage = %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v; stderr:\n%s", err, s.stderr.String())
	}
	if st := c.Stats(); st.Sent != nReq+nAI || st.Dropped != 0 || st.Rejected != 0 {
		t.Fatalf("Stats = %+v; want %d sent", st, nReq+nAI)
	}

	row := s.query(read, map[string]any{"dataset": "requests", "range": "1h",
		"aggregations": aggs("n", "count", "status", "sum:status", "bytes", "sum:response_bytes", "eps", "uniq:endpoint")})
	if row["n"] != nReq || row["status"] != statusSum || row["bytes"] != bytesSum || row["eps"] != 5 {
		t.Errorf("requests: %v; want n %d, sum(status) %v, sum(response_bytes) %v, 5 endpoints", row, nReq, statusSum, bytesSum)
	}
	row = s.query(read, map[string]any{"dataset": "requests", "range": "1h",
		"filter":       []map[string]any{{"field": "blob3", "op": "=", "value": "sdk-test"}, {"field": "double2", "op": ">=", "value": 400}},
		"aggregations": aggs("n", "count")})
	if row["n"] != nReq/2 {
		t.Errorf("requests of service sdk-test with status ≥ 400 (blob3, double2) = %v; want %d", row["n"], nReq/2)
	}
	row = s.query(read, map[string]any{"dataset": "ai_usage", "range": "1h",
		"aggregations": aggs("n", "count", "tokens", "sum:tokens", "cached", "sum:cached_input_tokens", "latency", "avg:latency")})
	if row["n"] != nAI || row["tokens"] != tokens || row["cached"] != cached || row["latency"] != 800 {
		t.Errorf("ai_usage: %v; want n %d, sum(tokens) %v, sum(cached_input_tokens) %v, avg(latency) 800", row, nAI, tokens, cached)
	}

	// A point the server refuses (older than the retention) is counted as
	// rejected, and Close says so.
	c2 := alidade.New(alidade.Config{URL: s.url(), Key: write})
	c2.Write("sdk_old", alidade.Point{Blobs: []string{"old"}, Timestamp: time.Now().AddDate(-2, 0, 0)})
	c2.Write("sdk_old", alidade.Point{Blobs: []string{"new"}})
	err := c2.Close(ctx)
	var de *alidade.DeliveryError
	if !errors.As(err, &de) || de.Rejected != 1 || de.Dropped != 0 {
		t.Errorf("Close = %v; want a DeliveryError with 1 rejected", err)
	}
	if st := c2.Stats(); st.Sent != 1 || st.Rejected != 1 {
		t.Errorf("Stats = %+v; want 1 sent, 1 rejected", st)
	}
}

// TestRealServerKill9 kills the server with SIGKILL while the SDK writes,
// restarts it on the same port and data directory, and finds every point the
// SDK reports as delivered.
func TestRealServerKill9(t *testing.T) {
	s := startServer(t)
	write, read := s.project("sdk")
	c := alidade.New(alidade.Config{
		URL: s.url(), Key: write, BatchSize: 200, FlushInterval: 20 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Timeout: 5 * time.Second,
		ErrorHandler: func(err error) { t.Logf("ErrorHandler: %v", err) }, ErrorInterval: 500 * time.Millisecond,
	})
	var written atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Write("sdk_kill", alidade.Point{Index: "k", Blobs: []string{fmt.Sprintf("p%07d", i)}, Doubles: []float64{float64(i)}}); err != nil {
				t.Errorf("Write = %v", err)
				return
			}
			written.Add(1)
			if i%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	time.Sleep(700 * time.Millisecond)
	before := c.Stats()
	s.kill()
	t.Logf("SIGKILL after %d points written, %d acknowledged", written.Load(), before.Sent)
	time.Sleep(500 * time.Millisecond)
	s.start()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	<-writerDone

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v; stderr:\n%s", err, s.stderr.String())
	}
	st := c.Stats()
	n := uint64(written.Load())
	if st.Sent != n || st.Dropped != 0 || st.Rejected != 0 {
		t.Fatalf("Stats = %+v; want all %d points sent", st, n)
	}
	if st.Retries == 0 || before.Sent == 0 {
		t.Errorf("Stats = %+v, %d sent before the kill; want points sent before it and retries after", st, before.Sent)
	}
	row := s.query(read, map[string]any{"dataset": "sdk_kill", "range": "1h",
		"aggregations": aggs("n", "count", "ids", "uniq:blob1")})
	// Each batch carries an Idempotency-Key: a batch the server committed
	// before the kill, whose answer was lost, is not stored again.
	if row["ids"] != float64(n) || row["n"] != float64(n) {
		t.Fatalf("stored %v points with %v distinct ids; want all %d ids, once each", row["n"], row["ids"], n)
	}
	t.Logf("%d points written and sent, %d retries; stored %v", n, st.Retries, row["n"])
}

// TestRealServerLostAnswer puts a proxy in front of the server that lets
// the first write through and then drops its answer (the connection
// closes): the SDK retries the batch with the same Idempotency-Key, and
// the server stores it once and answers it again.
func TestRealServerLostAnswer(t *testing.T) {
	s := startServer(t)
	write, read := s.project("sdk")
	target := s.url()
	var mu sync.Mutex
	var keys []string
	replays := 0
	proxy := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, target+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		first := len(keys) == 1
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			replays++
		}
		mu.Unlock()
		if first {
			// The server committed the batch; its answer is lost.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go proxy.Serve(ln)
	t.Cleanup(func() { proxy.Close() })

	c := alidade.New(alidade.Config{URL: "http://" + ln.Addr().String(), Key: write, BatchSize: 1000, FlushInterval: time.Minute,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	const n = 700
	for i := range n {
		c.Write("sdk_lost", alidade.Point{Index: "x", Blobs: []string{fmt.Sprintf("p%d", i)}, Doubles: []float64{float64(i)}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if st := c.Stats(); st.Sent != n || st.Retries == 0 {
		t.Errorf("Stats = %+v; want %d sent after a retry", st, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) < 2 || keys[0] == "" || keys[1] != keys[0] || replays != 1 {
		t.Fatalf("Idempotency-Keys sent %q, %d replayed answers; want the first key again on the retry, replayed", keys, replays)
	}
	row := s.query(read, map[string]any{"dataset": "sdk_lost", "range": "1h", "aggregations": aggs("n", "count", "ids", "uniq:blob1")})
	if row["n"] != n || row["ids"] != n {
		t.Errorf("stored %v points, %v distinct; want %d once each", row["n"], row["ids"], n)
	}
}
