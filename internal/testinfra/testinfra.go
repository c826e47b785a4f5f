// Package testinfra starts real database servers for tests: PostgreSQL
// (metadata), clickhouse-server shards (points) and a current ClickHouse
// (chDB behind .ci/chdb-http), each a child process on 127.0.0.1 with its
// data in a temp dir, stopped and removed by t.Cleanup.
// It is for tests only: nothing outside _test.go files may import it, and it
// never touches a server it did not start (it picks free ports and keeps
// every file in its own temp dirs).
//
// The binaries are the Debian packages that .ci/ensure-postgres,
// .ci/ensure-clickhouse and .ci/ensure-zookeeper install, and the npm
// package .ci/ensure-chdb installs (make test-cluster runs them). When one is missing the test is skipped with a loud message,
// except with CI=true, where it fails. Tests that start servers carry the
// build tag cluster (this package's own: go test -tags cluster
// ./internal/testinfra/), so that go test ./... needs none of them.
package testinfra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds the wait for a server to become ready.
const startTimeout = 60 * time.Second

// stopTimeout bounds the wait for a server to exit after its stop signal;
// it is killed after that.
const stopTimeout = 30 * time.Second

// missing skips t, or fails it with CI=true, because a dependency is absent.
func missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("\n\n*** %s is not installed: this test needs it and is SKIPPED ***\n*** %s ***\n", what, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(strings.Replace(msg, "SKIPPED", "FAILED (CI=true)", 1))
	}
	t.Skip(msg)
}

// executable returns the first of the candidates that is an executable file.
func executable(candidates ...string) string {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return c
		}
	}
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that nobody listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady calls ready until it returns nil or startTimeout passes, or the
// process exits; the error names what and carries the server's log.
func waitReady(what string, p *process, ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%v): %v\n--- its log ---\n%s", what, p.exitErr(), err, p.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v\n--- its log ---\n%s", what, startTimeout, err, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpPing is a readiness check for waitReady: a GET of url that answers
// 200 within 2 s.
func httpPing(client *http.Client, url string) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s %s", url, resp.Status, body)
		}
		return nil
	}
}

// process is a started server: its command, its output and its exit.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{}
	mu   sync.Mutex
	err  error
	// logFiles are read, after the output, into logTail.
	logFiles []string
}

// startProcess starts cmd with its output kept, and killed if the test
// binary dies (on Linux).
func startProcess(name string, cmd *exec.Cmd, logFiles ...string) (*process, error) {
	p := &process{name: name, cmd: cmd, log: &tailBuffer{max: 64 << 10}, done: make(chan struct{}), logFiles: logFiles}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

// stop sends sig and waits up to stopTimeout, then kills the process.
func (p *process) stop(sig os.Signal) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v after %v: killed\n--- its log ---\n%s", p.name, stopTimeout, sig, p.logTail())
	}
}

// logTail is the end of the process's output and of its log files.
func (p *process) logTail() string {
	var b strings.Builder
	b.WriteString(p.log.String())
	for _, f := range p.logFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(data) > 16<<10 {
			data = data[len(data)-16<<10:]
		}
		fmt.Fprintf(&b, "--- %s (end) ---\n%s", f, data)
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
