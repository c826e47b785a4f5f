//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/storetest"
)

// startCurrent starts .ci/chdb-http/server.js: ClickHouse's HTTP interface
// over chDB, current ClickHouse as a library (npm package chdb, which
// .ci/ensure-chdb installs into the dir $ALIDADE_CHDB names). It returns
// the server's port; t.Cleanup stops it. Without $ALIDADE_CHDB the test
// skips, or fails when CI=true.
func startCurrent(t *testing.T) int {
	t.Helper()
	mods := os.Getenv("ALIDADE_CHDB")
	if mods == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ALIDADE_CHDB is not set: run .ci/ensure-chdb (make test-cluster does) to test against a current ClickHouse")
		}
		t.Skip("ALIDADE_CHDB is not set: run .ci/ensure-chdb and set it to test against a current ClickHouse")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", ".ci", "chdb-http", "server.js")
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", port))
		if err == nil {
			resp.Body.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("chdb-http did not answer /ping in 30 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCurrentClickHouse runs the store on a current ClickHouse (chDB, one
// server, no cluster): it detects every newer feature, creates its table
// with them, passes the conformance suite with them on (Expire's deletes
// are lightweight DELETEs there), and its loader inserts carry a
// deduplication token: the same group loaded again is stored once, other
// rows with the same content but another log position are stored.
func TestCurrentClickHouse(t *testing.T) {
	port := startCurrent(t)
	url := func(db string) string { return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", port, db) }
	s := open(t, url("feat"))
	want := clickhouse.Features{LowCardinality: true, Codecs: true, TTL: true, LightweightDelete: true, DedupToken: true, LimitByOffset: true, FormatOffset: true}
	if f := s.Features(); f != want {
		t.Fatalf("Features() on %s = %+v; want %+v", s.Version(), f, want)
	}
	t.Logf("server %s, features: %s", s.Version(), s.Features())
	if !s.Deduplicates() || !strings.Contains(s.Engine(), "non_replicated_deduplication_window = 1000") {
		t.Errorf("a new MergeTree on a current server: Deduplicates %v, engine %s; want a deduplication window", s.Deduplicates(), s.Engine())
	}
	ctx := context.Background()
	q := func(sql string) string {
		t.Helper()
		res, err := s.QuerySQL(ctx, sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows)
	}
	ddl := q("SELECT create_table_query FROM system.tables WHERE database = 'feat' AND name = 'points'")
	for _, w := range []string{"`dataset` LowCardinality(String) CODEC(ZSTD(1))", "`timestamp` DateTime CODEC(DoubleDelta, ZSTD(1))", "`double1` Float64 CODEC(Gorilla(8), ZSTD(1))", "`index1` String CODEC(ZSTD(1))"} {
		if !strings.Contains(ddl, w) {
			t.Errorf("the points table lacks %s:\n%s", w, ddl)
		}
	}

	pts := genPoints(rand.New(rand.NewPCG(5, 6)), 600) // over 3 days: 3 partitions
	group := []store.Batch{{Project: 1, Points: pts}}
	for range 2 {
		if err := s.AppendAt(ctx, group, store.LogPos{Seg: 3, Off: 4096}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAt(ctx, group, store.LogPos{Seg: 3, Off: 8192}); err != nil {
		t.Fatal(err)
	}
	if got := q("SELECT count() FROM feat.points"); got != "[[1200]]" {
		t.Errorf("a group loaded twice at one position and once at another: %s rows; want [[1200]]", got)
	}
	// Not replays: the same rows written twice are two writes.
	for range 2 {
		if err := s.Append(ctx, []store.Batch{{Project: 2, Points: pts[:50]}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := q("SELECT count() FROM feat.points WHERE project = 2"); got != "[[100]]" {
		t.Errorf("the same 50 points appended twice (no log): %s rows; want [[100]] (not dropped as a repeated block)", got)
	}

	start := time.Now()
	storetest.RunExcept(t, hybridOpener(url), notYet...)
	t.Logf("the conformance suite took %v on %s", time.Since(start).Round(time.Millisecond), s.Version())
}
