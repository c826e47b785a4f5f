package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// victoriaLogsBinary returns the peer binary: $ALIDADE_PEER_VICTORIALOGS,
// else ../shared/peers/victoria-logs next to the repository. Without it the
// test is skipped, loudly: the project's scripts cannot install it.
func victoriaLogsBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ALIDADE_PEER_VICTORIALOGS")
	if path == "" {
		path = filepath.Join("..", "..", "..", "shared", "peers", "victoria-logs") // from internal/bench
	}
	exe, err := CheckPeerExe(path)
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the VictoriaLogs peer binary is not usable (%v); it comes from ../shared/peers/ (see its README); set ALIDADE_PEER_VICTORIALOGS to its path", err)
	}
	if err != nil {
		t.Skipf("SKIPPED, NOT RUN: the VictoriaLogs peer binary is not usable (%v). It comes from ../shared/peers/ "+
			"(see its README), which this repository's scripts cannot install; set ALIDADE_PEER_VICTORIALOGS to its path", err)
	}
	return exe
}

// TestBenchVsVictoriaLogs runs `alidade bench --vs-victorialogs` against
// the real peer binary: both get the same 40k events in 2 alternating
// rounds, and both answers to the grouped query count all of them.
func TestBenchVsVictoriaLogs(t *testing.T) {
	peer := victoriaLogsBinary(t)
	bin := alidadeBinary(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--points", "40k", "--vs-victorialogs", peer, "--vs-rounds", "2",
		"--repeat", "2", "--no-settle")
	cmd.Env = cleanEnv("TMPDIR=" + tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("alidade bench --vs-victorialogs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	out := strings.TrimRight(stdout.String(), "\n")
	last := strings.LastIndexByte(out, '\n')
	table, line := out[:last+1], out[last+1:]
	var rep Report
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		t.Fatalf("the last line is not the report: %v\n%s", err, out)
	}
	pc := rep.VsVictoriaLogs
	if pc == nil {
		t.Fatalf("no vs_victorialogs in %s", line)
	}
	// Both got every event, and answer the grouped query alike.
	if pc.Events != 40_000 || pc.AlidadeCount != 40_000 || pc.PeerCount != 40_000 || len(pc.Disagreements) != 0 {
		t.Errorf("events %d sent to each, counted by Alidade %d, by the peer %d; disagreements %q; want 40000 each, none",
			pc.Events, pc.AlidadeCount, pc.PeerCount, pc.Disagreements)
	}
	if pc.PeerRowsIngested == nil || *pc.PeerRowsIngested != 40_000 || pc.PeerRowsDropped == nil || *pc.PeerRowsDropped != 0 {
		t.Errorf("the peer's /metrics: %v ingested, %v dropped; want 40000, 0", pc.PeerRowsIngested, pc.PeerRowsDropped)
	}
	if pc.Groups < 40 || pc.QuantileDiff["p99"] <= 0 || pc.QuantileDiff["p99"] > 0.15 {
		t.Errorf("%d groups, quantile differences %v", pc.Groups, pc.QuantileDiff)
	}
	// Both rates, each round's, and the ratio of the medians.
	if pc.Peer != PeerVictoriaLogs || !strings.HasPrefix(pc.Version, "victoria-logs") || pc.Rounds != 2 ||
		len(pc.AlidadeEventsPerS) != 2 || len(pc.PeerEventsPerS) != 2 {
		t.Errorf("peer, version or rounds: %s", line)
	}
	if pc.AlidadeMedian <= 0 || pc.PeerMedian <= 0 || math.Abs(pc.IngestRatio-pc.AlidadeMedian/pc.PeerMedian) > 1e-3 {
		t.Errorf("medians %v and %v, ratio %v", pc.AlidadeMedian, pc.PeerMedian, pc.IngestRatio)
	}
	if pc.AlidadeQueryMs <= 0 || pc.AlidadeQueryRawMs <= 0 || pc.PeerQueryMs <= 0 || pc.QuerySpeedup <= 0 || !strings.Contains(pc.PeerQuery, "stats by (route)") {
		t.Errorf("query figures: %s", line)
	}
	if runtime.GOOS == "linux" && (pc.PeerPeakRSSBytes == nil || *pc.PeerPeakRSSBytes < 10<<20 || pc.PeerDiskBytes == nil || *pc.PeerDiskBytes <= 0) {
		t.Errorf("the peer's memory and disk: %s", line)
	}
	if !strings.Contains(line, `{"figure":"ingest vs VictoriaLogs","met":`) {
		t.Errorf("no verdict on the peer budget: %s", line)
	}
	// Alidade's own figures are its rounds'.
	if rep.Points != 40_000 || rep.IngestPointsPerS <= 0 || rep.Requests != 4 || len(rep.RollupMismatches) != 0 {
		t.Errorf("Alidade's figures: %s", line)
	}
	for _, want := range []string{"vs VictoriaLogs", "Alidade events/s", "VictoriaLogs events/s", "ingest ratio", "grouped query, VictoriaLogs", "40,000 events each, all agree"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(stderr.String(), "bench: ingest round 2 of 2") {
		t.Errorf("no round progress on stderr:\n%s", stderr.String())
	}
	// Both data directories are gone, and no peer is left running.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the bench left %d entries in TMPDIR, e.g. %s", len(left), left[0].Name())
	}
}

// TestRunVsVictoriaLogsAgainstURL runs the comparison in process against
// an Alidade server the bench did not start.
func TestRunVsVictoriaLogsAgainstURL(t *testing.T) {
	peer := victoriaLogsBinary(t)
	bin := alidadeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Setenv("TMPDIR", t.TempDir())
	dataDir := t.TempDir()
	srv, err := StartServer(ctx, ServerOptions{Exe: bin, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(30 * time.Second)
	keys, err := CreateProject(ctx, srv.URL, srv.RootKey, "bench")
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	o := DefaultOptions()
	o.Points, o.Batch, o.Concurrency, o.Repeat, o.Settle = 12_000, 2000, 2, 1, false
	o.URL, o.WriteKey, o.ReadKey, o.VictoriaLogs, o.VsRounds, o.Progress = srv.URL, keys.Write, keys.Read, peer, 10, &progress
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	// 6 requests: at most 6 rounds.
	if pc := rep.VsVictoriaLogs; pc == nil || pc.Rounds != 6 || pc.PeerCount != 12_000 || pc.AlidadeCount != 12_000 || len(pc.Disagreements) != 0 {
		t.Errorf("vs_victorialogs = %+v", rep.VsVictoriaLogs)
	}
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
		t.Errorf("the bench left %d entries in TMPDIR, e.g. %s", len(left), left[0].Name())
	}

	// A second run into the same project: Alidade's range holds the
	// first run's points too, so only the totals are compared.
	o.Seed = 2
	rep, err = Run(ctx, o)
	if err != nil {
		t.Fatalf("second Run: %v\nprogress:\n%s", err, progress.String())
	}
	if pc := rep.VsVictoriaLogs; pc.PeerCount != 12_000 || pc.AlidadeCount <= 12_000 {
		t.Errorf("second run: vs_victorialogs = %+v; want the peer's 12000 and Alidade's two runs' points", pc)
	}
}
