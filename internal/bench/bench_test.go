package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The integration tests build the alidade binary once, into binDir.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// alidadeBinary builds ./cmd/alidade (cgo, DuckDB) and returns its path. A
// failed build fails the test: the end-to-end bench is never skipped for it.
func alidadeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binError = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		if binDir, binError = os.MkdirTemp("", "alidade-bench-test-"); binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "alidade")
		cmd := exec.Command(goTool, "build", "-o", binPath, "github.com/alidade/alidade/cmd/alidade")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binError = &buildError{err: err, out: string(out)}
		}
	})
	if binError != nil {
		t.Fatalf("build the alidade binary: %v", binError)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// cleanEnv is the environment without ALIDADE_* settings, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALIDADE_") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestBenchCommand runs `alidade bench --json` end to end: it starts its own
// server child, writes 20000 points, queries, and prints one JSON line.
func TestBenchCommand(t *testing.T) {
	bin := alidadeBinary(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--points", "20k", "--days", "3", "--concurrency", "2", "--batch", "3000",
		"--repeat", "2", "--seed", "7", "--no-settle", "--json")
	cmd.Env = cleanEnv("TMPDIR=" + tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("alidade bench: %v\nstderr:\n%s", err, stderr.String())
	}
	line := bytes.TrimSuffix(stdout.Bytes(), []byte("\n"))
	if bytes.Contains(line, []byte("\n")) {
		t.Fatalf("--json printed more than one line:\n%s", stdout.String())
	}
	keys := jsonKeys(t, line)
	if strings.Join(keys[:len(contractKeys)], ",") != strings.Join(contractKeys, ",") {
		t.Errorf("keys %v; want them to start with %v", keys, contractKeys)
	}
	var rep Report
	if err := json.Unmarshal(line, &rep); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if rep.Points != 20_000 || rep.Concurrency != 2 || rep.Batch != 3000 || rep.Requests != 7 || rep.Repeat != 2 || rep.Seed != 7 || rep.Target != "child" {
		t.Errorf("run parameters in the report: %s", line)
	}
	if rep.IngestPointsPerS <= 0 || rep.IngestMBPerS <= 0 || rep.CommitP50Ms <= 0 || rep.CommitP99Ms < rep.CommitP50Ms {
		t.Errorf("ingest figures: %s", line)
	}
	if len(rep.QueriesMs) != len(QueryNames) {
		t.Errorf("queries_ms = %v; want %v", rep.QueriesMs, QueryNames)
	}
	for i, q := range rep.QueriesMs {
		if q.Name != QueryNames[i] || q.Ms <= 0 {
			t.Errorf("queries_ms[%d] = %+v", i, q)
		}
	}
	if runtime.GOOS == "linux" && (rep.PeakRSSBytes == nil || *rep.PeakRSSBytes < 10<<20) {
		t.Errorf("peak_rss_bytes = %v; want the child's peak", rep.PeakRSSBytes)
	}
	if rep.DiskBytesPerPoint == nil || *rep.DiskBytesPerPoint <= 0 || rep.DiskBytes == nil {
		t.Errorf("disk figures: %s", line)
	}
	if rep.ServerCommits == nil || *rep.ServerCommits < 1 {
		t.Errorf("server_commits = %v; want the commits /metrics counted", rep.ServerCommits)
	}
	// Raw and auto answers, from rollups where they cover: all but the
	// 5-minute series over 3 days, whose older minutes the server has
	// compacted to hours (it keeps 6 hours of minutes behind the latest
	// point).
	if rep.Days != 3 || rep.SetupPath != "http" || rep.SettleS != 0 || len(rep.QueriesRawMs) != len(QueryNames) {
		t.Errorf("days, set-up, settle or raw query times: %s", line)
	}
	for _, n := range rep.QuerySources {
		want := "rollup"
		if n.Name == "timeseries_5m" {
			want = "raw"
		}
		if n.Text != want {
			t.Errorf("query %s came from %q; want %s", n.Name, n.Text, want)
		}
	}
	if len(rep.Overview) != len(OverviewRanges) {
		t.Errorf("overview = %+v; want %v", rep.Overview, OverviewRanges)
	}
	for _, ot := range rep.Overview {
		// Asked after ingest, a relative range starts inside the data: the
		// part of its first hour in range is read raw, the rest from rollups.
		if (ot.AutoSource != "rollup" && ot.AutoSource != "mixed") || ot.AutoMs == nil || *ot.AutoMs <= 0 || ot.RawMs == nil || ot.RawSource != "raw" ||
			ot.WholeMs == nil || *ot.WholeMs <= 0 || ot.WholeSource != "rollup" {
			t.Errorf("overview %+v", ot)
		}
	}
	if q := rep.QuantileError; q == nil || q.Compared < 100 || q.MaxRel > BudgetQuantileRelErr {
		t.Errorf("quantile_error = %+v", q)
	}
	if len(rep.RollupMismatches) != 0 || rep.IngestOverhead != nil || len(rep.Budgets) < 5 {
		t.Errorf("mismatches, overhead or budgets: %s", line)
	}
	if !strings.Contains(stderr.String(), "bench: query by_endpoint_8:") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
	// The temporary data directory is gone.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the bench left %d entries in TMPDIR, e.g. %s", len(left), left[0].Name())
	}
}

// TestRunAgainstURL runs the bench in process against a server it did not
// start: once creating a project with the root key, then twice with a
// project's keys, the second time over points already there.
func TestRunAgainstURL(t *testing.T) {
	bin := alidadeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	srv, err := StartServer(ctx, ServerOptions{Exe: bin, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(30 * time.Second)

	var progress bytes.Buffer
	o := DefaultOptions()
	o.Points, o.Batch, o.Concurrency, o.Repeat, o.Gzip = 12_345, 2000, 3, 1, true
	o.URL, o.RootKey, o.DataDir, o.Progress = srv.URL, srv.RootKey, dataDir, &progress
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if rep.Target != srv.URL || rep.Points != 12_345 || rep.Requests != 7 || !rep.Gzip {
		t.Errorf("report = %+v", rep)
	}
	if rep.PeakRSSBytes != nil {
		t.Errorf("peak_rss_bytes = %d for a server the bench did not start; want null", *rep.PeakRSSBytes)
	}
	if rep.DiskBytesPerPoint == nil || *rep.DiskBytesPerPoint <= 0 {
		t.Errorf("disk_bytes_per_point = %v; want the data directory measured", rep.DiskBytesPerPoint)
	}
	if rep.IngestWireMBPerS >= rep.IngestMBPerS {
		t.Errorf("gzip: wire %v MB/s, NDJSON %v MB/s; want less on the wire", rep.IngestWireMBPerS, rep.IngestMBPerS)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"by_endpoint_8", "12,345", "(server not started by the bench)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	// A project's keys; "bench" is taken by now, so another name is chosen.
	keys, err := CreateProject(ctx, srv.URL, srv.RootKey, "bench")
	if err != nil {
		t.Fatal(err)
	}
	o = DefaultOptions()
	o.Points, o.Batch, o.Concurrency, o.Repeat, o.Seed = 5000, 1000, 2, 1, 9
	o.URL, o.WriteKey, o.ReadKey = srv.URL, keys.Write, keys.Read
	for i := range 2 {
		if _, err := Run(ctx, o); err != nil {
			t.Fatalf("Run %d with keys: %v", i+1, err)
		}
	}

	if err := srv.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && srv.PeakRSS() < 10<<20 {
		t.Errorf("PeakRSS = %d after exit; want the child's peak", srv.PeakRSS())
	}
}

func TestStartServerFailsLoudly(t *testing.T) {
	_, err := StartServer(context.Background(), ServerOptions{Exe: filepath.Join(t.TempDir(), "no-such-binary"), DataDir: t.TempDir()})
	if err == nil {
		t.Fatal("StartServer with a missing binary = nil error")
	}
	o := DefaultOptions()
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "no server") {
		t.Errorf("Run without a server = %v; want an error", err)
	}
	o.URL = "http://127.0.0.1:1"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "write key") {
		t.Errorf("Run with a URL and no keys = %v; want an error", err)
	}
}

// TestMeasureOverhead runs one pair of fresh servers, rollups off then on.
func TestMeasureOverhead(t *testing.T) {
	bin := alidadeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Setenv("TMPDIR", t.TempDir())
	g := NewGenerator(2, testFrom, testTo)
	w, err := NewWorkload(ctx, g, 4000, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.ServerExe, o.BaselinePairs, o.Concurrency = bin, 1, 2
	var lines []string
	ov, err := measureOverhead(ctx, &o, w, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if ov.Points != 4000 || ov.Pairs != 1 || len(ov.OffPointsPerS) != 1 || len(ov.OnPointsPerS) != 1 ||
		ov.OffMedian <= 0 || ov.OnMedian <= 0 || math.Abs(ov.Ratio-ov.OnMedian/ov.OffMedian) > 1e-3 {
		t.Errorf("overhead = %+v", ov)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "rollups off run 1 of 1") || !strings.Contains(lines[1], "rollups on  run 1 of 1") {
		t.Errorf("progress %q", lines)
	}
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
		t.Errorf("the overhead runs left %d entries in TMPDIR", len(left))
	}
}
