package main

// End-to-end tests: they build the real binary, start it on loopback over a
// real data directory, and talk HTTP to it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alidade-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "alidade")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		// Building is part of the test: a failure fails, never skips.
		fmt.Fprintf(os.Stderr, "build alidade: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const e2eRoot = "e2e-root-key-0123456789abcdef"

// proc is a running alidade serve.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs alidade serve on dataDir and waits until it answers /readyz.
func start(t *testing.T, dataDir string, extraEnv ...string) *proc {
	t.Helper()
	return startLogging(t, dataDir, "warn", extraEnv...)
}

// startLogging is start with another log level.
func startLogging(t *testing.T, dataDir, level string, extraEnv ...string) *proc {
	t.Helper()
	p := launch(t, dataDir, level, extraEnv...)
	p.waitReady()
	return p
}

// launch runs alidade serve on dataDir without waiting for it to be ready.
func launch(t *testing.T, dataDir, level string, extraEnv ...string) *proc {
	t.Helper()
	return launchArgs(t, dataDir, level, nil, extraEnv...)
}

// launchArgs is launch with more flags.
func launchArgs(t *testing.T, dataDir, level string, args []string, extraEnv ...string) *proc {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, append([]string{"serve", "--listen", addr, "--data-dir", dataDir, "--log-level", level}, args...)...)
	cmd.Env = append(os.Environ(), "ALIDADE_ROOT_KEY="+e2eRoot)
	cmd.Env = append(cmd.Env, extraEnv...)
	p := &proc{t: t, cmd: cmd, url: "http://" + addr, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdoutDone := make(chan struct{})
	go func() {
		io.Copy(p.stdout, pipe)
		close(stdoutDone)
	}()
	go func() {
		<-stdoutDone
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitReady waits until the server answers /readyz.
func (p *proc) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("alidade did not become ready; stderr:\n%s", p.stderr.String())
}

// kill9 kills the process without warning.
func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term sends SIGTERM and returns the exit error.
func (p *proc) term() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(60 * time.Second):
		p.t.Fatalf("alidade did not stop within 60s of SIGTERM; stderr:\n%s", p.stderr.String())
		return nil
	}
}

var keyRE = regexp.MustCompile(`(?m)^\s+(public|write|read|admin)\s+key\s+(ald_\S+)`)

// bannerKeys reads the keys printed on first start. The banner is written
// before readiness, so it is complete by now.
func bannerKeys(t *testing.T, p *proc) map[string]string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys := map[string]string{}
		for _, m := range keyRE.FindAllStringSubmatch(stdoutOf(p), -1) {
			keys[m[1]] = m[2]
		}
		if len(keys) == 4 || time.Now().After(deadline) {
			return keys
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stdoutOf(p *proc) string { return p.stdout.String() }

func post(url, key, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// countByBatch returns the stored point count of every batch id (blob1).
func countByBatch(t *testing.T, url, readKey string) map[string]float64 {
	t.Helper()
	q := `{"dataset":"durable","range":"1h","groupBy":["blob1"],"aggregations":{"n":{"type":"count"}},"limit":100000}`
	code, data, err := post(url+"/api/v1/query", readKey, "application/json", []byte(q))
	if err != nil || code != 200 {
		t.Fatalf("query = %d %s %v", code, data, err)
	}
	var a struct {
		Rows []struct {
			Batch string  `json:"blob1"`
			N     float64 `json:"n"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range a.Rows {
		out[r.Batch] = r.N
	}
	return out
}

// writeUntil writes batches of perBatch points from writers goroutines,
// each batch tagged with a unique id in blob1, until stop is closed; it
// returns the ids of the acknowledged batches.
func writeUntil(url, writeKey, prefix string, writers, perBatch int, stop <-chan struct{}) (acked []string, failures int64) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var fails atomic.Int64
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%sw%d-%d", prefix, w, seq)
				var body bytes.Buffer
				for i := 0; i < perBatch; i++ {
					fmt.Fprintf(&body, `{"indexes":["%s"],"blobs":["%s","x"],"doubles":[%d,200]}`+"\n", id, id, i)
				}
				code, _, err := post(url+"/api/v1/datasets/durable/points", writeKey, "application/x-ndjson", body.Bytes())
				if err != nil || code != 200 {
					fails.Add(1)
					if err != nil {
						return // the server is gone
					}
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acked, fails.Load()
}

// TestKill9LosesNoAcknowledgedPoint writes from several goroutines, kills the
// server with SIGKILL mid-stream, restarts it, and finds every acknowledged point.
func TestKill9LosesNoAcknowledgedPoint(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	keys := bannerKeys(t, p)
	if keys["write"] == "" || keys["read"] == "" {
		t.Fatalf("banner keys = %v; stdout:\n%s", keys, stdoutOf(p))
	}
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() {
		acked, _ = writeUntil(p.url, keys["write"], "", 6, 500, stop)
		close(done)
	}()
	// Let writes flow, then kill while requests are in flight.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if n := len(countByBatch(t, p.url, keys["read"])); n >= 40 {
			break
		}
	}
	p.kill9()
	close(stop)
	<-done
	if len(acked) < 40 {
		t.Fatalf("only %d batches were acknowledged before the kill; the test needs more to mean something", len(acked))
	}

	p2 := startLogging(t, dir, "info")
	got := countByBatch(t, p2.url, keys["read"])
	lost := 0
	for _, id := range acked {
		if got[id] != 500 {
			lost++
			if lost < 5 {
				t.Errorf("acknowledged batch %s has %v of 500 points after kill -9 and restart", id, got[id])
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged batches incomplete after kill -9", lost, len(acked))
	}
	// Batches never acknowledged may or may not be there, but never partly:
	// a batch is committed whole or not at all.
	for id, n := range got {
		if n != 500 {
			t.Errorf("batch %s has %v points; want all 500 or none", id, n)
		}
	}
	t.Logf("%d acknowledged batches (%d points) all present after kill -9", len(acked), len(acked)*500)
	// The rollups, rebuilt from the day's raw points at start, agree.
	if raw, rolled := totalCount(t, p2.url, keys["read"], "raw"), totalCount(t, p2.url, keys["read"], "rollup"); raw != rolled || raw < float64(len(acked)*500) {
		t.Errorf("after kill -9: raw count %v, rollup count %v; want equal, at least %d", raw, rolled, len(acked)*500)
	}
	if !strings.Contains(p2.stderr.String(), "rebuilding the rollups of a day") {
		t.Errorf("the restart after kill -9 did not rebuild today's rollups; stderr:\n%s", p2.stderr.String())
	}

	// A later start prints no secret.
	if strings.Contains(stdoutOf(p2), "ald_") {
		t.Errorf("second start printed a secret:\n%s", stdoutOf(p2))
	}
}

// TestSIGTERMCommitsAcceptedWrites stops the server while writers run: it
// must exit 0, and every acknowledged point must be there after a restart.
func TestSIGTERMCommitsAcceptedWrites(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	keys := bannerKeys(t, p)
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() {
		acked, _ = writeUntil(p.url, keys["write"], "", 4, 300, stop)
		close(done)
	}()
	time.Sleep(1500 * time.Millisecond)
	if err := p.term(); err != nil {
		t.Fatalf("exit after SIGTERM = %v; want 0; stderr:\n%s", err, p.stderr.String())
	}
	close(stop)
	<-done
	if len(acked) == 0 {
		t.Fatalf("no batch acknowledged before SIGTERM")
	}
	p2 := startLogging(t, dir, "info")
	got := countByBatch(t, p2.url, keys["read"])
	for _, id := range acked {
		if got[id] != 300 {
			t.Fatalf("acknowledged batch %s has %v of 300 points after SIGTERM", id, got[id])
		}
	}
	// A clean stop wrote the rollups' snapshot: the restart loads it.
	if raw, rolled := totalCount(t, p2.url, keys["read"], "raw"), totalCount(t, p2.url, keys["read"], "rollup"); raw != rolled {
		t.Errorf("after SIGTERM: raw count %v, rollup count %v; want equal", raw, rolled)
	}
	if logs := p2.stderr.String(); strings.Contains(logs, "rebuilding the rollups") || !strings.Contains(logs, "days_loaded=1") {
		t.Errorf("the restart after SIGTERM did not load the rollups from their snapshot; stderr:\n%s", logs)
	}
}

// totalCount counts the durable dataset's points of the last hour from
// source (raw or rollup).
func totalCount(t *testing.T, url, readKey, source string) float64 {
	t.Helper()
	q := `{"dataset":"durable","range":"1h","source":"` + source + `","aggregations":{"n":{"type":"count"}}}`
	code, data, err := post(url+"/api/v1/query", readKey, "application/json", []byte(q))
	if err != nil || code != 200 {
		t.Fatalf("count from %s = %d %s %v", source, code, data, err)
	}
	var a struct {
		Rows []struct {
			N float64 `json:"n"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(data, &a); err != nil || len(a.Rows) != 1 {
		t.Fatalf("count from %s: %s %v", source, data, err)
	}
	return a.Rows[0].N
}

// TestCLIProjectsAndKeys drives the admin commands against a real server.
func TestCLIProjectsAndKeys(t *testing.T) {
	p := start(t, t.TempDir())
	keys := bannerKeys(t, p)
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(append(os.Environ(), "ALIDADE_URL="+p.url), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run([]string{"ALIDADE_ROOT_KEY=" + e2eRoot}, "projects", "create", "web")
	if err != nil || !strings.Contains(out, `"web" (id 2)`) || !regexp.MustCompile(`write\s+ald_write_`).MatchString(out) {
		t.Fatalf("projects create = %v\n%s", err, out)
	}
	out, err = run([]string{"ALIDADE_ROOT_KEY=" + e2eRoot}, "projects", "list")
	if err != nil || !strings.Contains(out, "default") || !strings.Contains(out, "web") {
		t.Fatalf("projects list = %v\n%s", err, out)
	}
	// The DSN: in the banner, and again from the CLI with the public key.
	wantDSN := strings.Replace(p.url, "http://", "http://"+keys["public"]+"@", 1) + "/1"
	if !strings.Contains(stdoutOf(p), "Sentry DSN") || !strings.Contains(stdoutOf(p), wantDSN) {
		t.Errorf("banner lacks the DSN %s:\n%s", wantDSN, stdoutOf(p))
	}
	out, err = run([]string{"ALIDADE_ROOT_KEY=" + e2eRoot}, "projects", "dsn", "default")
	if err != nil || strings.TrimSpace(out) != wantDSN {
		t.Errorf("projects dsn default = %v %q; want %s", err, out, wantDSN)
	}
	if out, err = run([]string{"ALIDADE_ROOT_KEY=" + e2eRoot}, "projects", "dsn", "nope"); err == nil || !strings.Contains(out, "no project named") {
		t.Errorf("projects dsn nope = %v %q; want an error", err, out)
	}
	out, err = run([]string{"ALIDADE_ADMIN_KEY=" + keys["admin"]}, "keys", "create", "--kind", "read", "--name", "grafana")
	m := regexp.MustCompile(`ald_read_\S+`).FindString(out)
	if err != nil || m == "" {
		t.Fatalf("keys create = %v\n%s", err, out)
	}
	code, data, _ := post(p.url+"/api/v1/query", m, "", []byte(`{"dataset":"x","aggregations":{"n":{"type":"count"}}}`))
	if code != 200 {
		t.Fatalf("query with the CLI-made key = %d %s", code, data)
	}
	out, err = run(nil, "keys", "create", "--kind", "read")
	if err == nil || !strings.Contains(out, "ALIDADE_ADMIN_KEY") {
		t.Fatalf("keys create without a key = %v\n%s; want a usage error naming the variable", err, out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("usage error exit = %v; want 2", err)
	}
	out, err = run([]string{"ALIDADE_ADMIN_KEY=" + keys["admin"]}, "keys", "create", "--kind", "superuser")
	if err == nil || !strings.Contains(out, "unknown key kind") {
		t.Fatalf("keys create --kind superuser = %v\n%s", err, out)
	}

	// Rollups: status lists specs, rebuild reports what it read.
	if code, data, err := post(p.url+"/api/v1/datasets/requests/points", keys["write"], "", []byte(`[{"indexes":["/a"],"blobs":["/a","GET"],"doubles":[5,200]},{"indexes":["/b"],"blobs":["/b","POST"],"doubles":[7,500]}]`)); err != nil || code != 200 {
		t.Fatalf("write = %d %s %v", code, data, err)
	}
	out, err = run([]string{"ALIDADE_ADMIN_KEY=" + keys["admin"]}, "rollups", "status")
	if err != nil || !regexp.MustCompile(`requests\s+dims index1,blob2,blob3,double2 dists double1`).MatchString(out) {
		t.Fatalf("rollups status = %v\n%s", err, out)
	}
	out, err = run([]string{"ALIDADE_ADMIN_KEY=" + keys["admin"]}, "rollups", "rebuild", "--dataset", "requests")
	if err != nil || !strings.Contains(out, "rebuilt requests: 2 points over 1 days") {
		t.Fatalf("rollups rebuild = %v\n%s", err, out)
	}
	out, err = run([]string{"ALIDADE_ADMIN_KEY=" + keys["admin"]}, "rollups", "rebuild", "--dataset", "nope")
	if err == nil || !strings.Contains(out, "does not exist") {
		t.Fatalf("rollups rebuild of an unknown dataset = %v\n%s", err, out)
	}
}

func TestServeHelpAndBadFlags(t *testing.T) {
	out, err := exec.Command(binary, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help = %v\n%s", err, out)
	}
	for _, want := range []string{"--listen", "ALIDADE_LISTEN", "--data-dir", "--retention", "90d", "--log-level", "--log-format", "--max-body", "--queue-size", "Limits:", "ALIDADE_ROOT_KEY"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(binary, "serve", "--retention", "forever").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--retention") {
		t.Errorf("serve --retention forever = %v\n%s; want exit 2 naming the flag", err, out)
	}
	out, err = exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "alidade ") {
		t.Errorf("version = %v %q", err, out)
	}
}

// TestSecondProcessOnSameDataDir fails clearly instead of corrupting data.
func TestSecondProcessOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	start(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", freePort(t), "--data-dir", dir)
	cmd.Env = append(os.Environ(), "ALIDADE_ROOT_KEY="+e2eRoot)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another alidade") {
		t.Fatalf("second serve on the same data dir = %v\n%s; want a clear error", err, out)
	}
}

// TestIdempotentWriteSurvivesKill9 kills the server with SIGKILL after it
// committed a write with an Idempotency-Key and before it answered
// (ALIDADE_FAILPOINT=kill-after-commit), restarts it, and retries: the
// retry stores nothing and gets the first answer, marked replayed; the
// same key with another body is refused with 422.
func TestIdempotentWriteSurvivesKill9(t *testing.T) {
	t.Run("store", func(t *testing.T) { testIdempotentKill9(t) })
	// With --wal on the answer is lost after the log append; the restart
	// loads the log, and the retry finds the key in the store.
	t.Run("wal", func(t *testing.T) { testIdempotentKill9(t, "ALIDADE_WAL=on") })
}

func testIdempotentKill9(t *testing.T, env ...string) {
	dir := t.TempDir()
	p := start(t, dir, append([]string{"ALIDADE_FAILPOINT=kill-after-commit"}, env...)...)
	keys := bannerKeys(t, p)
	now := time.Now().UnixMilli()
	var body bytes.Buffer
	for i := range 300 {
		// Today and yesterday: the key is in two day files.
		ts := now - int64(i)*1000
		if i%3 == 0 {
			ts -= 24 * 3600 * 1000
		}
		fmt.Fprintf(&body, `{"timestamp":%d,"indexes":["k"],"blobs":["p%d"],"doubles":[%d]}`+"\n", ts, i, i)
	}
	send := func(url string, b []byte) (int, string, bool, error) {
		req, _ := http.NewRequest("POST", url+"/api/v1/datasets/durable/points", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+keys["write"])
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Idempotency-Key", "kill-9-batch")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", false, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data), resp.Header.Get("Idempotent-Replayed") == "true", nil
	}
	if code, a, _, err := send(p.url, body.Bytes()); err == nil {
		t.Fatalf("the write was answered (%d %s); want the process killed before its answer", code, a)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not die at the failpoint")
	}

	p2 := startLogging(t, dir, "info", env...)
	code, a, replayed, err := send(p2.url, body.Bytes())
	if err != nil || code != 200 || !replayed || !strings.Contains(a, `"accepted":300`) {
		t.Fatalf("retry after kill -9 = %d %s replayed=%v %v; want 200 accepting 300, replayed", code, a, replayed, err)
	}
	q := `{"dataset":"durable","range":"48h","source":"raw","aggregations":{"n":{"type":"count"}}}`
	for _, src := range []string{"raw", "rollup"} {
		c, data, err := post(p2.url+"/api/v1/query", keys["read"], "application/json", []byte(strings.Replace(q, `"raw"`, `"`+src+`"`, 1)))
		if err != nil || c != 200 || !strings.Contains(string(data), `"n":300`) {
			t.Errorf("count from %s after the retry = %d %s %v; want 300", src, c, data, err)
		}
	}
	if code, a, _, _ := send(p2.url, []byte(`{"indexes":["other"],"doubles":[1]}`)); code != 422 || !strings.Contains(a, "kill-9-batch") {
		t.Errorf("the key with another body = %d %s; want 422 naming the key", code, a)
	}
}
