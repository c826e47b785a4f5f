//go:build cluster

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/bench"
)

// runBenchBinary runs `alidade bench args...` without ALIDADE_* settings
// from the test's environment and returns its stdout, stderr and exit
// code.
func runBenchBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"bench"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALIDADE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run alidade bench: %v", err)
	}
	return out.String(), errOut.String(), code
}

// benchDatabases lists the bench's databases left on a shard.
func benchDatabases(t *testing.T, e *clusterEnv, shard int) string {
	t.Helper()
	out, err := e.ch.Shards[shard].Query("SELECT name FROM system.databases WHERE name LIKE 'alidade\\_bench\\_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestClusterBench: `alidade bench --store … --meta …` over a 2-shard
// ClickHouse cluster and a PostgreSQL reports the embedded store's and the
// cluster's figures (points and error events) side by side with agreeing
// answers, drops its database
// and revokes its project's keys; on a metadata store set up before, it
// asks for the root key rather than replacing it.
func TestClusterBench(t *testing.T) {
	e := startClusterEnv(t)
	// The bench's database is made with rollups (rollups=on); source auto
	// weighs them against the points.
	store := e.flags[1] + "&rollups=on" // clickhouse://127.0.0.1:PORT/alidade?cluster=NAME
	const points = 20000
	start := time.Now()
	stdout, stderr, code := runBenchBinary(t, "--store", store, "--meta", e.pg.DSN,
		"--points", "20000", "--repeat", "2", "--vs-rounds", "2", "--no-settle", "--baseline-pairs", "0", "--error-events", "400")
	t.Logf("bench took %v; stdout:\n%s\nstderr:\n%s", time.Since(start).Round(time.Second), stdout, stderr)
	if code != 0 {
		t.Fatalf("alidade bench exited %d\nstdout:\n%s", code, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var rep bench.Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("the last line is not the report's JSON: %v\n%s", err, stdout)
	}
	for _, want := range []string{"vs cluster", "cluster points/s", "embedded points/s", "cluster error events/s", "embedded error events/s", "answers", "all agree"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
	cc := rep.VsCluster
	if cc == nil {
		t.Fatalf("the report has no vs_cluster: %s", lines[len(lines)-1])
	}
	if rep.Points != points || cc.Points != points || cc.Rounds != 2 || len(cc.EmbeddedPointsPerS) != 2 || len(cc.ClusterPointsPerS) != 2 {
		t.Errorf("points %d, cluster points %d in %d rounds (%v, %v); want %d each in 2", rep.Points, cc.Points, cc.Rounds, cc.EmbeddedPointsPerS, cc.ClusterPointsPerS, points)
	}
	if cc.EmbeddedMedian <= 0 || cc.ClusterMedian <= 0 || cc.IngestRatio <= 0 || rep.IngestPointsPerS <= 0 {
		t.Errorf("ingest: embedded %v, cluster %v points/s, ratio %v; want all > 0", cc.EmbeddedMedian, cc.ClusterMedian, cc.IngestRatio)
	}
	// Error events through the Sentry endpoint, in the same 2 rounds,
	// every one acknowledged and counted once in 40 groups on each side.
	if cc.ErrorEvents != 400 || cc.ErrorGroups != 40 || len(cc.EmbeddedErrorEventsPerS) != 2 || len(cc.ClusterErrorEventsPerS) != 2 ||
		cc.EmbeddedErrorMedian <= 0 || cc.ClusterErrorMedian <= 0 || cc.ErrorIngestRatio <= 0 || cc.ClusterErrorP99Ms <= 0 ||
		cc.EmbeddedErrorsRejected != 0 || cc.ClusterErrorsRejected != 0 {
		t.Errorf("error events: %d in %d groups, rounds %v and %v events/s, medians %v and %v, ratio %v, cluster p99 %v ms, rejected %d and %d; want 400 in 40, 2 rounds each, all acknowledged",
			cc.ErrorEvents, cc.ErrorGroups, cc.EmbeddedErrorEventsPerS, cc.ClusterErrorEventsPerS, cc.EmbeddedErrorMedian, cc.ClusterErrorMedian,
			cc.ErrorIngestRatio, cc.ClusterErrorP99Ms, cc.EmbeddedErrorsRejected, cc.ClusterErrorsRejected)
	}
	t.Logf("error events/s: embedded %v (median of %v), cluster %v (median of %v), ×%.2f; cluster p50 %v ms, p99 %v ms",
		cc.EmbeddedErrorMedian, cc.EmbeddedErrorEventsPerS, cc.ClusterErrorMedian, cc.ClusterErrorEventsPerS, cc.ErrorIngestRatio, cc.ClusterErrorP50Ms, cc.ClusterErrorP99Ms)
	// Each of the node's group commits is one INSERT; 20,000 points in
	// 10,000-point requests take from 1 to 2 of them.
	if cc.ClusterInserts == nil || *cc.ClusterInserts < 1 || *cc.ClusterInserts > 2 {
		t.Errorf("cluster INSERTs %v; want 1 or 2", cc.ClusterInserts)
	}
	if len(cc.Queries) != len(bench.QueryNames) {
		t.Errorf("%d queries compared; want %d (%v)", len(cc.Queries), len(bench.QueryNames), cc.Queries)
	}
	for i, q := range cc.Queries {
		if i < len(bench.QueryNames) && q.Name != bench.QueryNames[i] || q.EmbeddedMs <= 0 || q.ClusterMs <= 0 || q.Rows == 0 {
			t.Errorf("query %d: %+v; want %s with both times and rows", i, q, bench.QueryNames[min(i, len(bench.QueryNames)-1)])
		}
		// 20,000 points over a day are sparse series (about one point a
		// series and minute): source auto reads the points, which is
		// cheaper than the rollup rows (see rollupcost.go).
		if q.ClusterAutoMs <= 0 || q.ClusterAutoSource != "raw" {
			t.Errorf("query %s with source auto on the cluster: %v ms from %q; want an answer from raw points (sparse series)", q.Name, q.ClusterAutoMs, q.ClusterAutoSource)
		}
	}
	if len(cc.Disagreements) != 0 {
		t.Errorf("disagreements: %q", cc.Disagreements)
	}
	if cc.ClusterBytesPerPoint == nil || *cc.ClusterBytesPerPoint <= 0 || cc.EmbeddedBytesPerPoint == nil || *cc.EmbeddedBytesPerPoint <= 0 {
		t.Errorf("bytes/point: cluster %v, embedded %v; want both > 0", cc.ClusterBytesPerPoint, cc.EmbeddedBytesPerPoint)
	}
	if !strings.HasPrefix(cc.Database, "alidade_bench_") || !strings.Contains(cc.Store, "/"+cc.Database+"?cluster=") || cc.Cluster != e.ch.Name {
		t.Errorf("database %q, store %q, cluster %q; want a fresh alidade_bench_ database on cluster %s", cc.Database, cc.Store, cc.Cluster, e.ch.Name)
	}
	if !strings.Contains(cc.LeftBehind, "project "+cc.Project) || !strings.Contains(cc.LeftBehind, "keys revoked") || strings.Contains(cc.LeftBehind, "ClickHouse") {
		t.Errorf("left behind: %q; want the project with its keys revoked, no database", cc.LeftBehind)
	}
	for i := range e.ch.Shards {
		if dbs := benchDatabases(t, e, i); dbs != "" {
			t.Errorf("shard %d still has the bench's databases: %s", i+1, dbs)
		}
	}
	// The metadata store was empty: the node initialised it, and the bench
	// printed the root key it is now under.
	m := regexp.MustCompile(`with root key (ald_root_[A-Za-z0-9]+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the bench did not print the root key of the metadata store it initialised")
	}

	// A second run on the same metadata store: without its root key it
	// stops with a clear error, before writing, and still drops its
	// database; with it, it runs.
	_, stderr, code = runBenchBinary(t, "--store", store, "--meta", e.pg.DSN, "--points", "2000", "--repeat", "1", "--no-settle")
	if code == 0 || !strings.Contains(stderr, "was initialised before and has its own root key: give it with --root-key or ALIDADE_ROOT_KEY") {
		t.Errorf("a run without the root key of a used metadata store = exit %d; want an error asking for it\n%s", code, stderr)
	}
	for i := range e.ch.Shards {
		if dbs := benchDatabases(t, e, i); dbs != "" {
			t.Errorf("after the failed run, shard %d still has the bench's databases: %s", i+1, dbs)
		}
	}
	second := time.Now()
	stdout, stderr, code = runBenchBinary(t, "--store", store, "--meta", e.pg.DSN, "--root-key", m[1],
		"--points", "2000", "--repeat", "1", "--vs-rounds", "1", "--no-settle", "--json", "--error-events", "40")
	t.Logf("the run with the root key took %v", time.Since(second).Round(time.Second))
	if code != 0 || !strings.Contains(stdout, `"vs_cluster":{`) || !strings.Contains(stdout, `"disagreements":[]`) {
		t.Errorf("a run with the root key = exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
