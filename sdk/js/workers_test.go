package sdkjs

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWorkersBindingAgainstAlidade runs the seed's WorkerAnalytics and
// MetricsAggregator, verbatim, in Node (test/workers.e2e.mjs) with
// env.ANALYTICS = analyticsEngineDataset({url, key, dataset: "requests"})
// against a real `alidade serve` on a temporary data directory, and checks
// what it stored by querying it back.
func TestWorkersBindingAgainstAlidade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts alidade")
	}
	requireNode(t)
	tmp := t.TempDir()
	esm := filepath.Join(tmp, "sdk")
	if b, err := exec.Command("node", "build.mjs", "--outdir", esm).CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	bin := filepath.Join(tmp, "alidade")
	if b, err := exec.Command("go", "build", "-o", bin, "../../cmd/alidade").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/alidade: %v\n%s", err, b)
	}
	url, keys := serve(t, bin, filepath.Join(tmp, "data"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "test/workers.e2e.mjs")
	cmd.Env = append(os.Environ(), "ALIDADE_URL="+url, "ALIDADE_WRITE_KEY="+keys["write"], "ALIDADE_READ_KEY="+keys["read"], "SDK_DIR="+esm)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/workers.e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the Workers binding test failed: %v", err)
	}
	if !bytes.Contains(out, []byte("pass 2")) {
		t.Fatalf("node ran no test (want 2 passed)")
	}
}

var keyRE = regexp.MustCompile(`(?m)^\s+(public|write|read|admin)\s+key\s+(ald_\S+)`)

// serve starts `bin serve` on a free loopback port over dir, waits until it
// is ready, and returns its URL and the keys its first-start banner prints.
// The server is stopped when the test ends.
func serve(t *testing.T, bin, dir string) (string, map[string]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dir, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "ALIDADE_ROOT_KEY=sdk-js-test-root-key-0123456789")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var banner strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			banner.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alidade did not become ready; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	keys := map[string]string{}
	for time.Now().Before(deadline) && len(keys) < 4 {
		mu.Lock()
		for _, m := range keyRE.FindAllStringSubmatch(banner.String(), -1) {
			keys[m[1]] = m[2]
		}
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if keys["write"] == "" || keys["read"] == "" {
		t.Fatalf("no write and read keys in the banner:\n%s", banner.String())
	}
	return url, keys
}
