package testinfra

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// ChDB is a current ClickHouse for one test: chDB (ClickHouse as a
// library, the npm package chdb that .ci/ensure-chdb installs into the dir
// $ALIDADE_CHDB names) served over ClickHouse's HTTP interface by
// .ci/chdb-http/server.js. It is one server, no cluster, and it runs one
// request at a time.
type ChDB struct {
	// URL of its HTTP interface, with a trailing slash: http://127.0.0.1:PORT/.
	URL string
	// Port is its HTTP port on 127.0.0.1.
	Port int
	// Dir holds its data.
	Dir string
}

// chdbModules returns $ALIDADE_CHDB, else skips or fails t.
func chdbModules(t testing.TB) string {
	t.Helper()
	mods := os.Getenv("ALIDADE_CHDB")
	if mods == "" {
		missing(t, "chDB (a current ClickHouse; $ALIDADE_CHDB is not set)",
			"run .ci/ensure-chdb and set ALIDADE_CHDB to the dir it prints; make test-cluster and make test-clickhouse-sql do it")
	}
	return mods
}

// chdbScript is the path of .ci/chdb-http/server.js in this repository.
func chdbScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".ci", "chdb-http", "server.js")
}

// StartChDB starts .ci/chdb-http/server.js with node over a fresh temp dir
// on a free loopback port, in zone UTC, and waits until /ping answers 200;
// t.Cleanup stops it. Without $ALIDADE_CHDB (or node) the test is skipped,
// or fails with CI=true.
func StartChDB(t testing.TB) *ChDB {
	t.Helper()
	mods := chdbModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", "chDB runs in node: install Node.js (.ci/ensure-chdb needs it too)")
	}
	port := freePort(t)
	c := &ChDB{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Port: port, Dir: t.TempDir()}
	cmd := exec.Command(node, chdbScript(), fmt.Sprint(port), c.Dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(mods, "node_modules"), "TZ=UTC")
	p, err := startProcess("chdb-http", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chdb-http on %s, the end of its log:\n%s", c.URL, p.logTail())
		}
		if err := p.stop(os.Interrupt); err != nil {
			t.Errorf("stop chdb-http: %v", err)
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	if err := waitReady("chdb-http on "+c.URL, p, httpPing(client, c.URL+"ping")); err != nil {
		t.Fatal(err)
	}
	return c
}
