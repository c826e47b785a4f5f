package testinfra

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ZooKeeper is a standalone ZooKeeper server started for one test.
// ClickHouse 18.16 has no built-in keeper: its `ON CLUSTER` DDL queue and
// ReplicatedMergeTree tables need a ZooKeeper.
type ZooKeeper struct {
	// Addr is host:port of its client port on 127.0.0.1.
	Addr string
	t    testing.TB
	proc *process
}

// StartZooKeeper starts Debian's ZooKeeper (Java) on 127.0.0.1 and a free
// port with its data in a temp dir, without its admin server, and waits
// until it answers "imok". t.Cleanup stops it. The jars are found in
// $ALIDADE_ZOOKEEPER, else /usr/share/java (.ci/ensure-zookeeper).
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	java, err := exec.LookPath("java")
	jar := ""
	for _, d := range []string{os.Getenv("ALIDADE_ZOOKEEPER"), "/usr/share/java"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "zookeeper.jar")); err == nil {
			jar = filepath.Join(d, "zookeeper.jar")
			break
		}
	}
	if err != nil || jar == "" {
		missing(t, "ZooKeeper (Debian's zookeeper package and a Java runtime)", "run .ci/ensure-zookeeper as root; make test-cluster does it")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf("tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\nmaxClientCnxns=0\n",
		filepath.Join(dir, "data"), port)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// A small heap and the client compiler only: it starts in about a second.
	cmd := exec.Command(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-cp", jar, "org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(dir, "zoo.cfg"))
	cmd.Dir = dir
	p, err := startProcess("zookeeper", cmd)
	if err != nil {
		t.Fatal(err)
	}
	zk := &ZooKeeper{Addr: fmt.Sprintf("127.0.0.1:%d", port), t: t, proc: p}
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	if err := waitReady("zookeeper on "+zk.Addr, p, zk.ruok); err != nil {
		t.Fatal(err)
	}
	return zk
}

// ruok asks the four-letter-word "ruok" and wants "imok".
func (zk *ZooKeeper) ruok() error {
	c, err := net.DialTimeout("tcp", zk.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if string(b) != "imok" {
		return fmt.Errorf("ruok answered %q (%v)", b, err)
	}
	return nil
}
