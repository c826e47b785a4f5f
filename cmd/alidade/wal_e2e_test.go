package main

// The crash test of the write-ahead log: the real binary, with --wal on,
// killed with SIGKILL again and again at chosen moments while writers run.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// killMoment is what a cycle of TestWALKill9Cycles kills the server in.
type killMoment int

const (
	// killIngest: writers at full speed, the kill after a delay.
	killIngest killMoment = iota
	// killCheckpoint: writers with pauses, upkeep every 5 ms checkpointing
	// idle day files; the kill a moment after the nth checkpoint.
	killCheckpoint
	// killRetention: upkeep every 20 ms deleting the expired points that
	// a writer keeps sending; the kill a moment after the nth deletion.
	killRetention
	// killBacklog: every load held 1 s, so writers outpace the loader;
	// the kill with the log holding a backlog.
	killBacklog
	// killLogFull: as killBacklog with a 1 MB --wal-max; the kill once
	// writers get 429 log_full.
	killLogFull
	// killReplay: no writers; the kill while the start loads the backlog
	// the cycle before left (or right after it has), a delay after it
	// began reading the log.
	killReplay
	// killReplayCommit: as killReplay, the kill a delay after the load
	// first changed a day file (a commit of one of the days it writes).
	killReplayCommit
)

func (k killMoment) String() string {
	return [...]string{"ingest", "checkpoint", "retention", "backlog", "log full", "replay", "replay+commit"}[k]
}

// walCycle is one start and kill -9 of a server: the moment, and the
// delay (or the count of checkpoints or deletions) that places the kill.
type walCycle struct {
	server int // index into the test's servers
	at     killMoment
	after  time.Duration
	nth    int
}

// The test's two servers (data directories). Batches of the first span
// two days (a quarter of their points yesterday), so a load commits each
// in two day files. The second keeps a dataset with a 1 h retention fed
// with expired points; its points all fall today, because a restart fails
// once a day's rollup snapshot holds a table that retention emptied and a
// later day follows (see TestShortRetentionRestart in internal/server).
const (
	twoDaysServer = iota
	retentionServer
)

// walCycles is the schedule: 25 kills, each moment several times, every
// replay right after a cycle that left a backlog.
var walCycles = []walCycle{
	{server: twoDaysServer, at: killIngest, after: 300 * time.Millisecond},
	{server: twoDaysServer, at: killIngest, after: 150 * time.Millisecond},
	{server: twoDaysServer, at: killCheckpoint, nth: 1, after: 0},
	{server: twoDaysServer, at: killBacklog, after: 800 * time.Millisecond},
	{server: twoDaysServer, at: killReplayCommit, after: 0},
	{server: twoDaysServer, at: killIngest, after: 100 * time.Millisecond},
	{server: twoDaysServer, at: killCheckpoint, nth: 3, after: 2 * time.Millisecond},
	{server: twoDaysServer, at: killLogFull},
	{server: twoDaysServer, at: killReplay, after: 30 * time.Millisecond},
	{server: twoDaysServer, at: killIngest, after: 250 * time.Millisecond},
	{server: twoDaysServer, at: killBacklog, after: 1000 * time.Millisecond},
	{server: twoDaysServer, at: killReplayCommit, after: 5 * time.Millisecond},
	{server: twoDaysServer, at: killCheckpoint, nth: 2, after: 5 * time.Millisecond},
	{server: twoDaysServer, at: killIngest, after: 30 * time.Millisecond},
	{server: twoDaysServer, at: killBacklog, after: 700 * time.Millisecond},
	{server: twoDaysServer, at: killReplay, after: 100 * time.Millisecond},
	{server: twoDaysServer, at: killLogFull},
	{server: twoDaysServer, at: killReplayCommit, after: 1 * time.Millisecond},
	{server: retentionServer, at: killRetention, nth: 1, after: 0},
	{server: retentionServer, at: killRetention, nth: 2, after: 3 * time.Millisecond},
	{server: retentionServer, at: killIngest, after: 200 * time.Millisecond},
	{server: retentionServer, at: killRetention, nth: 3, after: 8 * time.Millisecond},
	{server: retentionServer, at: killBacklog, after: 800 * time.Millisecond},
	{server: retentionServer, at: killReplay, after: 20 * time.Millisecond},
	{server: retentionServer, at: killRetention, nth: 2, after: 1 * time.Millisecond},
}

const (
	replayLine     = "write-ahead log: reading it to load what the store lacks"
	readyLine      = "write-ahead log on"
	checkpointLine = "checkpointed idle day files"
	retentionLine  = "retention pass"
)

// env returns the server's environment and log level for the cycle.
func (c walCycle) env() (env []string, level string) {
	env, level = []string{"ALIDADE_WAL=on", "ALIDADE_TEST_UPKEEP=100ms"}, "info"
	switch c.at {
	case killCheckpoint:
		env[1], level = "ALIDADE_TEST_UPKEEP=5ms", "debug"
	case killRetention:
		env[1] = "ALIDADE_TEST_UPKEEP=20ms"
	case killBacklog:
		env = append(env, "ALIDADE_TEST_LOAD_DELAY=1s")
	case killLogFull:
		env = append(env, "ALIDADE_TEST_LOAD_DELAY=1s", "ALIDADE_WAL_MAX=1MB")
	}
	return env, level
}

// walServer is a data directory of TestWALKill9Cycles and what was sent
// to it.
type walServer struct {
	name      string
	dir       string
	keys      map[string]string
	w         *walWrites
	yesterday bool // a quarter of each batch's points fall yesterday
	expiring  bool // a writer sends points retention deletes
}

// TestWALKill9Cycles runs the server with --wal on through 25 kill -9
// cycles: mid-ingest, around idle checkpoints, around retention deleting
// points, with the loader behind, with the log full, and while a start
// loads the log. Afterwards every acknowledged batch is stored exactly
// once (its count and its sum), no batch is stored in part, no refused
// batch is stored at all, the rollups agree with the raw points, and
// retention has removed every expired point.
func TestWALKill9Cycles(t *testing.T) {
	servers := []*walServer{
		{name: "two days", dir: t.TempDir(), yesterday: true},
		{name: "retention", dir: t.TempDir(), expiring: true},
	}
	for _, s := range servers {
		s.w = &walWrites{acked: map[string]walBatch{}, refused: map[string]walBatch{}, unknown: map[string]walBatch{}}
	}
	// The retention server's points, expired ones too (2 h old), must all
	// fall today, until the test ends. Near midnight its retention cycles
	// are ingest cycles.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	runRetention := time.Since(today) > 2*time.Hour+5*time.Minute && time.Until(today.Add(24*time.Hour)) > 15*time.Minute
	if !runRetention {
		servers[retentionServer].expiring = false
		t.Logf("it is %s UTC: too near midnight for expired points that fall today; the retention cycles are ingest cycles", time.Now().UTC().Format("15:04"))
	}
	var midReplay, checkpoints, deletions int
	began := time.Now()
	for i, c := range walCycles {
		s := servers[c.server]
		if c.at == killRetention && !runRetention {
			c = walCycle{server: c.server, at: killIngest, after: 150 * time.Millisecond}
		}
		env, level := c.env()
		t0 := time.Now()
		if c.at == killReplay || c.at == killReplayCommit {
			p := launch(t, s.dir, level, env...)
			if !p.waitLog(replayLine, 1, 30*time.Second) {
				t.Fatalf("cycle %d: the start did not read the log; stderr:\n%s", i, p.stderr.String())
			}
			mark := "began reading the log"
			if c.at == killReplayCommit {
				mark = "first changed a day file"
				before := dayFiles(s.dir)
				for dayFiles(s.dir) == before && !strings.Contains(p.stderr.String(), readyLine) {
					time.Sleep(time.Millisecond)
				}
			}
			time.Sleep(c.after)
			p.kill9()
			landed := "after it"
			if !strings.Contains(p.stderr.String(), readyLine) {
				midReplay++
				landed = "during it"
			}
			t.Logf("cycle %2d %-9s %-13s killed %v after the load %s: %s (%v)",
				i, s.name, c.at, c.after, mark, landed, time.Since(t0).Round(time.Millisecond))
			continue
		}
		p := startLogging(t, s.dir, level, env...)
		if s.keys == nil {
			s.keys = bannerKeys(t, p)
			if s.expiring {
				setUpExpiring(t, p.url, s.keys)
			}
		}
		ready := time.Since(t0)
		stop, done := make(chan struct{}), make(chan struct{})
		load := walLoad{prefix: fmt.Sprintf("c%d-", i), writers: 3, perBatch: 200, yesterday: s.yesterday, expiring: s.expiring}
		if c.at == killCheckpoint {
			load.pause = 30 * time.Millisecond // idle moments for the checkpoints
		}
		go func() {
			s.w.run(p.url, s.keys["write"], load, stop)
			close(done)
		}()
		full0 := s.w.logFullCount()
		switch c.at {
		case killIngest, killBacklog:
			time.Sleep(c.after)
		case killCheckpoint, killRetention:
			line := map[killMoment]string{killCheckpoint: checkpointLine, killRetention: retentionLine}[c.at]
			if !p.waitLog(line, c.nth, 30*time.Second) {
				t.Fatalf("cycle %d: no %q in the log within 30 s; stderr:\n%s", i, line, tail(p.stderr.String(), 4000))
			}
			time.Sleep(c.after)
		case killLogFull:
			deadline := time.Now().Add(30 * time.Second)
			for s.w.logFullCount() == full0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if s.w.logFullCount() == full0 {
				t.Fatalf("cycle %d: no write got 429 log_full within 30 s with a 1 MB log and a held loader", i)
			}
		}
		backlog := walBytes(t, s.dir)
		p.kill9()
		close(stop)
		<-done
		logs := p.stderr.String()
		checkpoints += strings.Count(logs, checkpointLine)
		deletions += strings.Count(logs, retentionLine)
		replayed := "-"
		if m := replayedRE.FindStringSubmatch(logs); m != nil {
			replayed = m[1] + " points in " + m[2]
		}
		t.Logf("cycle %2d %-9s %-13s killed: %d batches acknowledged so far, log segments %d KB, %d checkpoints, %d retention passes deleting (start loaded %s, ready in %v, cycle %v)",
			i, s.name, c.at, s.w.ackedCount(), backlog>>10, strings.Count(logs, checkpointLine), strings.Count(logs, retentionLine),
			replayed, ready.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	}
	t.Logf("%d kill -9 cycles in %v", len(walCycles), time.Since(began).Round(time.Millisecond))
	if midReplay == 0 {
		t.Errorf("no kill landed while a start loaded the log; the replay kills test nothing")
	}
	if checkpoints == 0 || runRetention && deletions == 0 {
		t.Errorf("%d checkpoints, %d retention deletions logged: the cycles did not exercise them", checkpoints, deletions)
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) { s.verify(t) })
	}
}

// verify starts the server once more, writes to it a while (so that the
// live rollups take points too), and checks what it stores: every
// acknowledged batch whole and once, every unanswered batch whole or not
// at all, no refused batch, nothing never sent; rollups equal to the raw
// points; no expired point left. Then a restart with --wal off, after a
// clean stop, finds the same, its rollups loaded from their snapshots.
func (s *walServer) verify(t *testing.T) {
	w := s.w
	if len(w.acked) < 100 {
		t.Fatalf("%d batches acknowledged during the cycles: too few to mean something", len(w.acked))
	}
	p := startLogging(t, s.dir, "info", "ALIDADE_WAL=on")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		w.run(p.url, s.keys["write"], walLoad{prefix: "v-", writers: 2, perBatch: 200, yesterday: s.yesterday}, stop)
		close(done)
	}()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	got := batchStats(t, p.url, s.keys["read"], "durable")
	var want walStat
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for id, b := range w.acked {
		if st := got[id]; st != b.stat() {
			report("acknowledged batch %s: %v points summing to %v; want %d summing to %v", id, st.N, st.Sum, b.n, b.sum)
		}
		want.N += float64(b.n)
		want.Sum += b.sum
	}
	for id, b := range w.refused {
		if st, ok := got[id]; ok {
			report("refused batch %s (answered %d) has %v points; want none", id, b.code, st.N)
		}
	}
	unknownStored := 0
	for id, b := range w.unknown {
		st, ok := got[id]
		switch {
		case !ok:
		case st == b.stat():
			unknownStored++
			want.N += float64(b.n)
			want.Sum += b.sum
		default:
			report("unanswered batch %s: %v points summing to %v; want none or %d summing to %v", id, st.N, st.Sum, b.n, b.sum)
		}
	}
	for id := range got {
		if _, ok := w.batch(id); !ok {
			report("batch %s is stored but was never sent", id)
		}
	}
	if bad > 0 {
		t.Fatalf("%d batches stored wrongly after the kill -9 cycles", bad)
	}
	raw, rawBy := totals(t, p.url, s.keys["read"], "durable", "raw")
	rolled, rolledBy := totals(t, p.url, s.keys["read"], "durable", "rollup")
	if raw != want || rolled != raw || rawBy != "raw" || rolledBy != "rollup" {
		t.Errorf("totals: raw %+v (answered from %s), rollup %+v (from %s); want both %+v", raw, rawBy, rolled, rolledBy, want)
	}
	if s.expiring {
		// The start enforces retention: every expiring point is gone.
		deadline := time.Now().Add(30 * time.Second)
		left, _ := totals(t, p.url, s.keys["read"], "expiring", "raw")
		for left.N != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			left, _ = totals(t, p.url, s.keys["read"], "expiring", "raw")
		}
		if left.N != 0 {
			t.Errorf("%v expired points left after the start's retention pass; want none", left.N)
		}
	}
	t.Logf("%d acknowledged batches (%v points) stored exactly once; %d unanswered stored whole, %d not at all; %d refused (%d log_full) stored not at all",
		len(w.acked), want.N, unknownStored, len(w.unknown)-unknownStored, len(w.refused), w.logFull)

	// Back to --wal off: what the log holds is loaded (nothing twice).
	if err := p.term(); err != nil {
		t.Fatalf("SIGTERM = %v", err)
	}
	p2 := startLogging(t, s.dir, "info")
	if again := batchStats(t, p2.url, s.keys["read"], "durable"); len(again) != len(got) {
		t.Errorf("after a restart with --wal off: %d batches; want %d", len(again), len(got))
	} else {
		for id, st := range again {
			if st != got[id] {
				t.Errorf("after a restart with --wal off: batch %s is %+v; want %+v", id, st, got[id])
			}
		}
	}
	raw2, _ := totals(t, p2.url, s.keys["read"], "durable", "raw")
	rolled2, by := totals(t, p2.url, s.keys["read"], "durable", "rollup")
	if raw2 != want || rolled2 != raw2 || by != "rollup" {
		t.Errorf("after a clean stop and a restart: raw %+v, rollup %+v (from %s); want both %+v", raw2, rolled2, by, want)
	}
	if logs := p2.stderr.String(); strings.Contains(logs, "rebuilding the rollups") {
		t.Errorf("the restart after a clean stop rebuilt rollups instead of loading their snapshots; stderr:\n%s", tail(logs, 4000))
	}
}

// setUpExpiring creates the dataset expiring with a retention of 1 h: the
// writers send it points 2 h old, which retention deletes as they come.
func setUpExpiring(t *testing.T, url string, keys map[string]string) {
	t.Helper()
	body := fmt.Sprintf(`{"timestamp":%d,"indexes":["setup"],"blobs":["setup"],"doubles":[1]}`, time.Now().Add(-2*time.Hour).UnixMilli())
	if code, data, err := post(url+"/api/v1/datasets/expiring/points", keys["write"], "application/x-ndjson", []byte(body)); err != nil || code != 200 {
		t.Fatalf("write to expiring = %d %s %v", code, data, err)
	}
	req, _ := http.NewRequest("PATCH", url+"/api/v1/datasets/expiring", strings.NewReader(`{"retention":"1h"}`))
	req.Header.Set("Authorization", "Bearer "+keys["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH expiring retention = %d %s", resp.StatusCode, data)
	}
}

// waitLog waits until the server's log holds n lines containing s; it
// reports whether it did before d passed.
func (p *proc) waitLog(s string, n int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for strings.Count(p.stderr.String(), s) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var replayedRE = regexp.MustCompile(`points_loaded=(\d+) elapsed=(\S+)`)

// dayFiles describes the day files of a data directory (names, sizes,
// modification times): it changes when a load commits.
func dayFiles(dir string) string {
	ents, _ := os.ReadDir(filepath.Join(dir, "points"))
	var b strings.Builder
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// walBytes returns the size of the write-ahead log's segments.
func walBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// walBatch is a batch sent to durable: its points and the sum of their
// double1, and the status it was answered with (0 for none).
type walBatch struct {
	n    int
	sum  float64
	code int
}

// walStat is what the store holds of a batch, or of a dataset.
type walStat struct {
	N   float64 `json:"n"`
	Sum float64 `json:"s"`
}

func (b walBatch) stat() walStat { return walStat{N: float64(b.n), Sum: b.sum} }

// walLoad is how the writers of a cycle write.
type walLoad struct {
	prefix    string
	writers   int
	perBatch  int
	pause     time.Duration // between a writer's batches
	yesterday bool          // a quarter of each batch's points fall yesterday
	expiring  bool          // one more writer sends expired points to expiring
}

// walWrites are the batches sent over all cycles, by outcome.
type walWrites struct {
	mu      sync.Mutex
	acked   map[string]walBatch // answered 200: stored whole, once
	refused map[string]walBatch // answered otherwise: stored not at all
	unknown map[string]walBatch // unanswered (the server died): whole or not at all
	logFull int                 // 429 log_full answers with a Retry-After
}

func (w *walWrites) logFullCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logFull
}

func (w *walWrites) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *walWrites) batch(id string) (walBatch, bool) {
	for _, m := range []map[string]walBatch{w.acked, w.refused, w.unknown} {
		if b, ok := m[id]; ok {
			return b, true
		}
	}
	return walBatch{}, false
}

var walClient = &http.Client{Timeout: 60 * time.Second}

// run writes until stop closes or the server is gone: ld.writers
// goroutines send batches to durable, each tagged with a unique id in
// blob1 and index1, with double1 values whose sum is known (and with
// ld.yesterday a quarter of their points yesterday, so that each batch
// spans two day files); with ld.expiring one more sends points 2 h old to
// expiring, for retention to delete.
func (w *walWrites) run(url, key string, ld walLoad, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for g := range ld.writers {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%sw%d-%d", ld.prefix, g, seq)
				var body bytes.Buffer
				b := walBatch{n: ld.perBatch}
				now := time.Now().UnixMilli()
				base := float64((g*7919 + seq*31) % 1000)
				for i := range ld.perBatch {
					ts := now - int64(i)
					if ld.yesterday && i%4 == 3 {
						ts -= 24 * 3600 * 1000
					}
					v := base + float64(i)
					b.sum += v
					fmt.Fprintf(&body, `{"timestamp":%d,"indexes":["%s"],"blobs":["%s"],"doubles":[%v]}`+"\n", ts, id, id, v)
				}
				code, logFull, err := w.send(url+"/api/v1/datasets/durable/points", key, body.Bytes())
				b.code = code
				w.mu.Lock()
				switch {
				case err != nil:
					w.unknown[id] = b
				case code == 200:
					w.acked[id] = b
				default:
					w.refused[id] = b
					if logFull {
						w.logFull++
					}
				}
				w.mu.Unlock()
				if err != nil {
					return // the server is gone
				}
				if code != 200 {
					time.Sleep(20 * time.Millisecond) // less than Retry-After asks: the test is in a hurry
				}
				time.Sleep(ld.pause)
			}
		})
	}
	if !ld.expiring {
		wg.Wait()
		return
	}
	wg.Go(func() {
		for seq := 0; ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			var body bytes.Buffer
			old := time.Now().Add(-2 * time.Hour).UnixMilli()
			for i := range 50 {
				fmt.Fprintf(&body, `{"timestamp":%d,"indexes":["old"],"blobs":["%se%d"],"doubles":[%d]}`+"\n", old-int64(i), ld.prefix, seq, i)
			}
			if _, _, err := w.send(url+"/api/v1/datasets/expiring/points", key, body.Bytes()); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	wg.Wait()
}

// send posts ndjson; logFull says the answer was 429 log_full with a
// Retry-After.
func (w *walWrites) send(url, key string, body []byte) (code int, logFull bool, err error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := walClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		// The answer was cut: whether it said 200 is unknown.
		return 0, false, err
	}
	var a struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &a)
	return resp.StatusCode, resp.StatusCode == 429 && a.Error.Code == "log_full" && resp.Header.Get("Retry-After") != "", nil
}

// batchStats returns the stored points of each batch of a dataset (by
// blob1): their count and the sum of their double1.
func batchStats(t *testing.T, url, readKey, dataset string) map[string]walStat {
	t.Helper()
	q := `{"dataset":"` + dataset + `","range":"72h","source":"raw","groupBy":["blob1"],` +
		`"aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"double1"}},"limit":100000}`
	code, data, err := post(url+"/api/v1/query", readKey, "application/json", []byte(q))
	if err != nil || code != 200 {
		t.Fatalf("query = %d %s %v", code, data, err)
	}
	var a struct {
		Rows []struct {
			Batch string `json:"blob1"`
			walStat
		} `json:"rows"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) == 100000 {
		t.Fatalf("%d batches: over the query's row limit", len(a.Rows))
	}
	out := make(map[string]walStat, len(a.Rows))
	for _, r := range a.Rows {
		out[r.Batch] = r.walStat
	}
	return out
}

// totals counts a dataset's points from two days before today to the
// minute after the next, and sums their double1, from source (raw or
// rollup); it returns what answered. The range is whole minutes, so that
// rollups answer all of it, not its edges from raw points.
func totals(t *testing.T, url, readKey, dataset, source string) (walStat, string) {
	t.Helper()
	now := time.Now().UTC()
	from, to := now.Truncate(24*time.Hour).AddDate(0, 0, -2), now.Truncate(time.Minute).Add(2*time.Minute)
	q := fmt.Sprintf(`{"dataset":%q,"range":{"from":%d,"to":%d},"source":%q,`+
		`"aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"double1"}}}`, dataset, from.UnixMilli(), to.UnixMilli(), source)
	code, data, err := post(url+"/api/v1/query", readKey, "application/json", []byte(q))
	if err != nil || code != 200 {
		t.Fatalf("totals from %s = %d %s %v", source, code, data, err)
	}
	var a struct {
		Rows []walStat `json:"rows"`
		Meta struct {
			Source string `json:"source"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(data, &a); err != nil || len(a.Rows) != 1 {
		t.Fatalf("totals from %s: %s %v", source, data, err)
	}
	return a.Rows[0], a.Meta.Source
}
