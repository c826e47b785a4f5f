//go:build cluster

package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// walNode is an Alidade node of the cluster with --wal on, on a data dir
// that outlives its process.
type walNode struct {
	dir string
	p   *proc
}

func (e *clusterEnv) startWALNode(t *testing.T, n *walNode, env ...string) {
	t.Helper()
	if n.dir == "" {
		n.dir = t.TempDir()
	}
	n.p = launchArgs(t, n.dir, "info", append(append([]string{}, e.flags...), "--wal", "on"), env...)
}

// clusterKeys returns the keys whichever of the nodes made the default
// project printed.
func clusterKeys(t *testing.T, ps ...*proc) map[string]string {
	t.Helper()
	for _, p := range ps {
		if strings.Contains(stdoutOf(p), "ald_write_") {
			return bannerKeys(t, p)
		}
	}
	t.Fatal("no node printed the first start's keys")
	return nil
}

// verifyOnce waits until the store holds every acknowledged batch (up to
// a minute: the loaders retry with backoff), then checks that each is
// stored exactly once, that an unanswered one is stored whole or not at
// all, a refused one not at all, and nothing else is stored. It returns
// the points stored.
func verifyOnce(t *testing.T, url, readKey string, w *walWrites) float64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got map[string]walStat
	for {
		got = batchStats(t, url, readKey, "durable")
		missing := 0
		for id := range w.acked {
			if _, ok := got[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged batches not stored after a minute", missing, len(w.acked))
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The loaders may still load unanswered batches: settle.
	time.Sleep(2 * time.Second)
	got = batchStats(t, url, readKey, "durable")
	var points float64
	bad := 0
	for id, s := range got {
		points += s.N
		b, ok := w.batch(id)
		switch {
		case !ok:
			t.Errorf("batch %s stored (%+v) but never sent", id, s)
		case w.acked[id].n > 0 && s != b.stat():
			bad++
			if bad <= 10 {
				t.Errorf("acknowledged batch %s stored as %+v; want %+v (exactly once)", id, s, b.stat())
			}
		case w.unknown[id].n > 0 && s != b.stat():
			t.Errorf("unanswered batch %s stored as %+v; want all of %+v or nothing", id, s, b.stat())
		case w.refused[id].n > 0:
			t.Errorf("refused batch %s (answered %d) stored as %+v", id, b.code, s)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d acknowledged batches not stored exactly once", bad, len(w.acked))
	}
	return points
}

var loadsRE = regexp.MustCompile(`write-ahead log loads" loads=(\d+) points=(\d+) points_per_load=(\d+) busy=(\S+)`)

// loadStats reads what a node that stopped cleanly logged of its loads:
// how many, their points, and the time the inserts took.
func loadStats(t *testing.T, p *proc) (loads, points int64, busy time.Duration) {
	t.Helper()
	m := loadsRE.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("the node logged no load figures; its log ends:\n%s", tail(p.stderr.String(), 3000))
	}
	loads, _ = strconv.ParseInt(m[1], 10, 64)
	points, _ = strconv.ParseInt(m[2], 10, 64)
	busy, _ = time.ParseDuration(m[4])
	return loads, points, busy
}

// TestClusterWALClickHouseDown: two nodes with --wal on take writes while
// a ClickHouse shard is stopped (inserts through the Distributed table
// fail, some after the other shard stored its part) and started again:
// writes are acknowledged all along, queries answer 503 meanwhile, and
// every acknowledged batch is stored exactly once.
func TestClusterWALClickHouseDown(t *testing.T) {
	e := startClusterEnv(t)
	var a, b walNode
	e.startWALNode(t, &a)
	e.startWALNode(t, &b)
	a.p.waitReady()
	b.p.waitReady()
	keys := clusterKeys(t, a.p, b.p)
	if strings.Contains(a.p.stderr.String(), "AT LEAST ONCE") {
		t.Fatalf("the node warns that its ClickHouse tables do not deduplicate:\n%s", tail(a.p.stderr.String(), 2000))
	}

	w := &walWrites{acked: map[string]walBatch{}, refused: map[string]walBatch{}, unknown: map[string]walBatch{}}
	stop := make(chan struct{})
	done := make(chan struct{}, 2)
	start := time.Now()
	for i, n := range []*walNode{&a, &b} {
		go func() {
			w.run(n.p.url, keys["write"], walLoad{prefix: fmt.Sprintf("n%d-", i), writers: 3, perBatch: 40, pause: 5 * time.Millisecond}, stop)
			done <- struct{}{}
		}()
	}
	time.Sleep(3 * time.Second)
	before := w.ackedCount()
	e.ch.Shards[1].Stop()
	down := time.Now()
	time.Sleep(2 * time.Second)
	if code, body := do(t, "POST", b.p.url+"/api/v1/sql", keys["read"], "SELECT count() FROM durable"); code != 503 {
		t.Errorf("SQL with a shard down = %d %s; want 503", code, body)
	}
	time.Sleep(4 * time.Second)
	during := w.ackedCount() - before
	e.ch.Shards[1].Start()
	outage := time.Since(down)
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	<-done
	writing := time.Since(start)
	if during < 20 {
		t.Errorf("%d batches acknowledged during the %v outage; want writes acknowledged into the log all along", during, outage.Round(time.Millisecond))
	}
	points := verifyOnce(t, a.p.url, keys["read"], w)
	t.Logf("%d batches acknowledged (%d during the %v outage), %d refused, %d unanswered; %v points stored, each acknowledged batch once",
		len(w.acked), during, outage.Round(time.Millisecond), len(w.refused), len(w.unknown), points)
	for _, n := range []*walNode{&a, &b} {
		if err := n.p.term(); err != nil {
			t.Errorf("stop node: %v", err)
		}
		loads, pts, busy := loadStats(t, n.p)
		t.Logf("node %s: %d inserts of %d points in %v of writing (%.0f points per insert, %.2f inserts/s); the inserts took %v (%.0f points/s while inserting)",
			n.p.url, loads, pts, writing.Round(time.Millisecond), float64(pts)/float64(max(loads, 1)), float64(loads)/writing.Seconds(),
			busy, float64(pts)/busy.Seconds())
	}
	if dups := strings.Count(readFile(t, e.ch.Shards[0].Dir+"/server.log"), "already exists; ignoring it"); dups > 0 {
		t.Logf("shard 1 dropped %d repeated insert blocks", dups)
	}
}

// TestClusterWALKill9: a node killed with -9 right after a load stored its
// group (before it noted so), and a node killed with -9 mid-load, restart
// on their data dirs: every acknowledged batch is stored exactly once.
func TestClusterWALKill9(t *testing.T) {
	e := startClusterEnv(t)
	var a, b walNode
	e.startWALNode(t, &a, "ALIDADE_FAILPOINT=kill-after-load")
	e.startWALNode(t, &b)
	a.p.waitReady()
	b.p.waitReady()
	keys := clusterKeys(t, a.p, b.p)
	w := &walWrites{acked: map[string]walBatch{}, refused: map[string]walBatch{}, unknown: map[string]walBatch{}}

	for cycle, kill := range []string{"after a load stored its group", "mid-load"} {
		stop := make(chan struct{})
		done := make(chan struct{}, 2)
		for i, n := range []*walNode{&a, &b} {
			go func() {
				w.run(n.p.url, keys["write"], walLoad{prefix: fmt.Sprintf("c%dn%d-", cycle, i), writers: 3, perBatch: 40, pause: 2 * time.Millisecond}, stop)
				done <- struct{}{}
			}()
		}
		if cycle == 0 {
			select {
			case <-a.p.done:
			case <-time.After(30 * time.Second):
				t.Fatal("the node with the kill-after-load failpoint did not die")
			}
		} else {
			time.Sleep(3 * time.Second)
			a.p.kill9()
		}
		acked := w.ackedCount()
		e.startWALNode(t, &a)
		a.p.waitReady()
		if !strings.Contains(a.p.stderr.String(), "write-ahead log on") {
			t.Fatalf("restart: %s", tail(a.p.stderr.String(), 2000))
		}
		if cycle == 0 && !strings.Contains(a.p.stderr.String(), "loading again the group a stop cut short") {
			t.Errorf("the restart did not load the group the kill cut short again:\n%s", tail(a.p.stderr.String(), 3000))
		}
		if cycle == 0 {
			// The group's rows were stored before the kill: loaded again,
			// ClickHouse dropped them as repeated blocks.
			dropped := 0
			for _, sh := range e.ch.Shards {
				dropped += strings.Count(readFile(t, sh.Dir+"/server.log"), "already exists; ignoring it")
			}
			if dropped == 0 {
				t.Error("no shard logged a repeated insert block dropped: the group loaded again was not the same insert")
			}
			t.Logf("the group loaded again: the shards dropped %d repeated blocks", dropped)
		}
		time.Sleep(time.Second)
		close(stop)
		<-done
		<-done
		points := verifyOnce(t, b.p.url, keys["read"], w)
		t.Logf("kill -9 %s: %d batches acknowledged before it, %d in all, %d unanswered; %v points stored, each acknowledged batch once",
			kill, acked, len(w.acked), len(w.unknown), points)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("read %s: %v", path, err)
	}
	return string(b)
}
