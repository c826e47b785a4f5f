package testinfra

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ClusterName is the remote_servers cluster StartClickHouseCluster defines
// on every shard: `CREATE TABLE ... ON CLUSTER alidade`, `Distributed(alidade, ...)`.
const ClusterName = "alidade"

// ClickHouseOptions shape one clickhouse-server. The zero value is a lone
// server on free ports.
type ClickHouseOptions struct {
	// HTTPPort and TCPPort on 127.0.0.1; zero picks free ones. A cluster
	// needs them known before its servers start.
	HTTPPort, TCPPort int
	// RemoteServers is the XML inside <remote_servers>: the clusters this
	// server knows. Empty: none.
	RemoteServers string
	// ZooKeeper is host:port of a ZooKeeper; with it the server runs
	// `ON CLUSTER` DDL (its distributed_ddl queue) and Replicated tables.
	ZooKeeper string
	// Macros are the server's <macros> ({shard}, {replica} in table paths).
	Macros map[string]string
	// InterserverPort is the interserver HTTP port on 127.0.0.1, which a
	// ReplicatedMergeTree replica needs to become active (without it
	// inserts work, but merges and DROP PARTITION fail "No active
	// replicas"). With ZooKeeper, zero picks a free one; without, none.
	InterserverPort int
}

// ClickHouse is a clickhouse-server started for one test.
type ClickHouse struct {
	// URL of its HTTP interface, with a trailing slash: http://127.0.0.1:PORT/.
	URL string
	// HTTPPort and TCPPort stay the same across Stop and Start.
	HTTPPort, TCPPort int
	// Dir holds its config, data and logs (server.log, server.err.log).
	Dir string

	t    testing.TB
	bin  string
	zk   bool
	proc *process
	// http is this server's own client, so that Stop can close its idle
	// keep-alive connections: the server waits for open ones when it stops.
	http *http.Client
}

// clickhouseServer returns the server binary: $CLICKHOUSE_SERVER, else
// Debian's (.ci/ensure-clickhouse installs it), else skips or fails t.
func clickhouseServer(t testing.TB) string {
	t.Helper()
	bin := executable(os.Getenv("CLICKHOUSE_SERVER"), "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")
	if bin == "" {
		missing(t, "clickhouse-server", "run .ci/ensure-clickhouse as root (Debian's clickhouse-server 18.16), or set CLICKHOUSE_SERVER; make test-cluster does it")
	}
	return bin
}

// StartClickHouse starts one clickhouse-server from a fresh temp dir with a
// minimal config: 127.0.0.1 only, HTTP and native TCP ports (an
// interserver port only with a ZooKeeper; no MySQL or other ports),
// timezone UTC, user default without password, logs in its dir. It waits until /ping answers and t.Cleanup stops
// it. The binary is $CLICKHOUSE_SERVER or Debian's.
func StartClickHouse(t testing.TB, opts ClickHouseOptions) *ClickHouse {
	t.Helper()
	ch := newClickHouse(t, clickhouseServer(t), opts)
	if err := ch.start(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// newClickHouse writes the server's config and registers its cleanup; it
// does not start it.
func newClickHouse(t testing.TB, bin string, opts ClickHouseOptions) *ClickHouse {
	t.Helper()
	if opts.HTTPPort == 0 {
		opts.HTTPPort = freePort(t)
	}
	if opts.TCPPort == 0 {
		opts.TCPPort = freePort(t)
	}
	if opts.ZooKeeper != "" && opts.InterserverPort == 0 {
		opts.InterserverPort = freePort(t)
	}
	dir := t.TempDir()
	ch := &ClickHouse{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/", opts.HTTPPort),
		HTTPPort: opts.HTTPPort, TCPPort: opts.TCPPort, Dir: dir, t: t, bin: bin, zk: opts.ZooKeeper != "",
		http: &http.Client{Transport: &http.Transport{IdleConnTimeout: 2 * time.Second}, Timeout: 2 * time.Minute},
	}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(clickhouseConfig(dir, opts)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(clickhouseUsers), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && ch.proc != nil {
			t.Logf("clickhouse-server on %s, the end of its log:\n%s", ch.URL, ch.proc.logTail())
		}
		if err := ch.stop(); err != nil {
			t.Errorf("stop clickhouse-server: %v", err)
		}
	})
	return ch
}

func clickhouseConfig(dir string, opts ClickHouseOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>debug</level><!-- StartClickHouseCluster reads the DDL worker's debug lines -->
    <log>%[1]s/server.log</log>
    <errorlog>%[1]s/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>%[2]d</http_port>
  <tcp_port>%[3]d</tcp_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <keep_alive_timeout>3</keep_alive_timeout>
  <shutdown_wait_unfinished>2</shutdown_wait_unfinished>
  <remote_servers>%[4]s</remote_servers>
`, dir, opts.HTTPPort, opts.TCPPort, opts.RemoteServers)
	if opts.ZooKeeper != "" {
		host, port, _ := strings.Cut(opts.ZooKeeper, ":")
		fmt.Fprintf(&b, `  <zookeeper><node><host>%s</host><port>%s</port></node><session_timeout_ms>2000</session_timeout_ms></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
`, host, port)
	}
	if opts.InterserverPort != 0 {
		fmt.Fprintf(&b, "  <interserver_http_port>%d</interserver_http_port>\n  <interserver_http_host>127.0.0.1</interserver_http_host>\n", opts.InterserverPort)
	}
	if len(opts.Macros) > 0 {
		keys := make([]string, 0, len(opts.Macros))
		for k := range opts.Macros {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  <macros>")
		for _, k := range keys {
			fmt.Fprintf(&b, "<%s>%s</%[1]s>", k, opts.Macros[k])
		}
		b.WriteString("</macros>\n")
	}
	b.WriteString("</yandex>\n")
	return b.String()
}

// clickhouseUsers: user default, no password, from 127.0.0.1 only; ON
// CLUSTER DDL gives up after 60 s (not 180) when a shard does not run it.
const clickhouseUsers = `<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <max_memory_usage>2000000000</max_memory_usage>
    <max_execution_time>60</max_execution_time>
    <distributed_ddl_task_timeout>60</distributed_ddl_task_timeout>
    <poll_interval>1</poll_interval>
  </default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

// Stop shuts the server down (SIGTERM; killed after 30 s) and waits for it.
func (ch *ClickHouse) Stop() {
	ch.t.Helper()
	if err := ch.stop(); err != nil {
		ch.t.Fatalf("stop clickhouse-server on %s: %v", ch.URL, err)
	}
}

// Start starts a stopped server again on the same ports and data dir and
// waits until /ping answers.
func (ch *ClickHouse) Start() {
	ch.t.Helper()
	if err := ch.start(); err != nil {
		ch.t.Fatal(err)
	}
}

func (ch *ClickHouse) stop() error {
	if ch.proc == nil {
		return nil
	}
	p := ch.proc
	ch.proc = nil
	ch.http.CloseIdleConnections()
	return p.stop(syscall.SIGTERM)
}

func (ch *ClickHouse) start() error {
	if ch.proc != nil && !ch.proc.exited() {
		return fmt.Errorf("clickhouse-server on %s is already running", ch.URL)
	}
	logFile := filepath.Join(ch.Dir, "server.log")
	var logStart int64
	if st, err := os.Stat(logFile); err == nil {
		logStart = st.Size()
	}
	cmd := exec.Command(ch.bin, "--config-file="+filepath.Join(ch.Dir, "config.xml"))
	cmd.Dir = ch.Dir
	p, err := startProcess("clickhouse-server", cmd, filepath.Join(ch.Dir, "server.err.log"), logFile)
	if err != nil {
		return err
	}
	ch.proc = p
	err = waitReady("clickhouse-server on "+ch.URL, p, httpPing(ch.http, ch.URL+"ping"))
	if err != nil || !ch.zk {
		return err
	}
	// 18.16 can crash (a NULL pointer in zkutil::ZooKeeper::createImpl)
	// when an ON CLUSTER query comes before its own DDL worker has its
	// ZooKeeper session: ready means that worker has begun processing its
	// queue, which it logs (at level debug) a few hundred ms after /ping
	// answers. The queue's node in ZooKeeper is no sign: the first shard
	// creates it for all.
	return waitReady("the distributed DDL worker of clickhouse-server on "+ch.URL, p, func() error {
		data, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if int64(len(data)) >= logStart { // else the log was rotated: all of it is new
			data = data[logStart:]
		}
		if !bytes.Contains(data, []byte("DDLWorker: Processing tasks")) {
			return fmt.Errorf("no \"DDLWorker: Processing tasks\" in %s yet", logFile)
		}
		return nil
	})
}

// Query posts sql to the HTTP interface and returns the answer's body; an
// answer other than 200 is an error carrying ClickHouse's message.
func (ch *ClickHouse) Query(sql string) (string, error) {
	resp, err := ch.http.Post(ch.URL, "text/plain", strings.NewReader(sql))
	if err != nil {
		return "", fmt.Errorf("clickhouse %s: %w", ch.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("clickhouse %s: read answer: %w", ch.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse %s: %s: %s", ch.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// ClickHouseCluster is N clickhouse-server shards (one replica each) and
// the ZooKeeper their `ON CLUSTER` DDL goes through; every shard defines the
// cluster ClusterName over all of them.
type ClickHouseCluster struct {
	Name      string
	Shards    []*ClickHouse
	ZooKeeper *ZooKeeper
}

// StartClickHouseCluster starts a ZooKeeper and shards clickhouse-servers
// (in parallel) that share the remote_servers cluster ClusterName, shard i
// (1-based) with macros shard=i and replica=r1, and waits until all answer
// /ping and their DDL workers run. Distributed tables connect to the shards'
// native TCP ports. A shard down makes every query through a Distributed
// table fail with code 279 (ALL_CONNECTION_TRIES_FAILED) naming the shard's
// host:port, unless the query sets skip_unavailable_shards = 1, which
// silently leaves that shard's rows out.
func StartClickHouseCluster(t testing.TB, shards int) *ClickHouseCluster {
	t.Helper()
	if shards < 1 {
		t.Fatalf("StartClickHouseCluster: shards = %d; want at least 1", shards)
	}
	bin := clickhouseServer(t)
	zk := StartZooKeeper(t)
	seen := map[int]bool{}
	port := func() int {
		for {
			p := freePort(t)
			if !seen[p] {
				seen[p] = true
				return p
			}
		}
	}
	opts := make([]ClickHouseOptions, shards)
	var remote strings.Builder
	fmt.Fprintf(&remote, "<%s>", ClusterName)
	for i := range opts {
		opts[i] = ClickHouseOptions{HTTPPort: port(), TCPPort: port(), InterserverPort: port(), ZooKeeper: zk.Addr,
			Macros: map[string]string{"shard": fmt.Sprint(i + 1), "replica": "r1"}}
		// internal_replication: a shard's replicas replicate themselves
		// (ReplicatedMergeTree), which ON CLUSTER ALTERs of replicated
		// tables require.
		fmt.Fprintf(&remote, "<shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", opts[i].TCPPort)
	}
	fmt.Fprintf(&remote, "</%s>", ClusterName)
	c := &ClickHouseCluster{Name: ClusterName, ZooKeeper: zk}
	for i := range opts {
		opts[i].RemoteServers = remote.String()
		c.Shards = append(c.Shards, newClickHouse(t, bin, opts[i]))
	}
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i, ch := range c.Shards {
		wg.Go(func() { errs[i] = ch.start() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i+1, err)
		}
	}
	return c
}
