//go:build clickhouse

package aesql_test

// The SQL API's ClickHouse backend on a current ClickHouse: chDB (current
// ClickHouse as a library, the npm package chdb that .ci/ensure-chdb
// installs into the dir $ALIDADE_CHDB names) served over ClickHouse's
// HTTP interface by .ci/chdb-http/server.js. TestClickHouseBackendCurrent
// and TestClickHouseScriptsCurrent are TestClickHouseBackend and
// TestClickHouseScripts on it: the same corpus and scripts, compared with
// the DuckDB backend; what ClickHouse itself answers differently there is
// listed in testdata/clickhouse/backend_differences_current.txt and in
// "-- clickhouse-current: differs: <reason>" script lines.
//
//	ALIDADE_CHDB=$(.ci/ensure-chdb) go test -tags clickhouse -run 'Current$' ./internal/aesql/

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const backendDifferencesCurrent = "testdata/clickhouse/backend_differences_current.txt"

// startCurrentClickHouse starts .ci/chdb-http/server.js over a temporary
// data dir on a free loopback port; t.Cleanup stops it. Without
// $ALIDADE_CHDB the test skips, or fails when CI=true. The adapter runs
// one request at a time.
func startCurrentClickHouse(t *testing.T) *chServer {
	t.Helper()
	mods := os.Getenv("ALIDADE_CHDB")
	if mods == "" {
		msg := "\n\n*** ALIDADE_CHDB is not set: this test needs a current ClickHouse (chDB) and is SKIPPED (run .ci/ensure-chdb; make test-clickhouse-sql does) ***\n"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script, err := filepath.Abs("../../.ci/chdb-http/server.js")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command("node", script, fmt.Sprint(port), dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(mods, "node_modules"), "TZ=UTC")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Logf("chdb-http log:\n%s", b)
		}
	})
	s := &chServer{url: fmt.Sprintf("http://127.0.0.1:%d/", port), current: true}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chdb-http did not answer on %s in 30 s: %v", s.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClickHouseBackendCurrent(t *testing.T) {
	runClickHouseBackend(t, startCurrentClickHouse(t), backendDifferencesCurrent)
}

func TestClickHouseScriptsCurrent(t *testing.T) {
	runClickHouseScripts(t, startCurrentClickHouse(t), "clickhouse-current")
}
