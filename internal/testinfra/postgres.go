package testinfra

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresDatabase is the database StartPostgres creates for the test.
const PostgresDatabase = "alidade"

// Postgres is a PostgreSQL server started for one test.
type Postgres struct {
	// DSN connects to PostgresDatabase as the superuser postgres, without
	// TLS or password: postgres://postgres@127.0.0.1:PORT/alidade?sslmode=disable.
	DSN string
	// Port is the TCP port on 127.0.0.1; it stays the same across Stop and Start.
	Port int
	// Dir holds the data directory (data/), the unix socket and the log.
	Dir string

	t    testing.TB
	bin  string
	cred *syscall.Credential
	proc *process
}

// StartPostgres initialises a cluster in a fresh temp dir (initdb, as the
// postgres user when the test runs as root: PostgreSQL refuses to run as
// root), starts it on 127.0.0.1 and a free port with its unix socket in that
// dir and durability off (fsync, synchronous_commit, full_page_writes: data
// survives Stop and Start, not a machine crash), creates PostgresDatabase and
// returns the server. t.Cleanup stops it and removes the dir.
//
// The binaries are found in $ALIDADE_PG_BIN, else /usr/lib/postgresql/15/bin
// (.ci/ensure-postgres installs them).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := ""
	for _, d := range []string{os.Getenv("ALIDADE_PG_BIN"), "/usr/lib/postgresql/15/bin"} {
		if d != "" && executable(filepath.Join(d, "initdb")) != "" && executable(filepath.Join(d, "postgres")) != "" {
			bin = d
			break
		}
	}
	if bin == "" {
		missing(t, "PostgreSQL 15 (initdb, postgres)", "run .ci/ensure-postgres as root, or set ALIDADE_PG_BIN to the directory of initdb; make test-cluster does it")
	}
	// Not t.TempDir: its parents are private to the test's user, and the
	// server runs as postgres.
	dir, err := os.MkdirTemp("", "alidade-pg-")
	if err != nil {
		t.Fatalf("postgres temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg := &Postgres{Dir: dir, Port: freePort(t), t: t, bin: bin}
	var asPostgres []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "the postgres user", "install Debian's postgresql-15 package (.ci/ensure-postgres), which creates it")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("chown %s to postgres: %v", dir, err)
		}
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		runuser := executable("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")
		if runuser == "" {
			t.Fatal("running as root and no runuser to run initdb as postgres")
		}
		asPostgres = []string{runuser, "-u", "postgres", "--"}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := append(asPostgres, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	start := time.Now()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	initdb := time.Since(start)
	t.Cleanup(func() {
		if err := pg.stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.dsn("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+PostgresDatabase); err != nil {
		t.Fatalf("create database %s: %v", PostgresDatabase, err)
	}
	pg.DSN = pg.dsn(PostgresDatabase)
	t.Logf("postgres: %s (initdb %v, start and create database %v)", pg.DSN, initdb.Round(time.Millisecond), (time.Since(start) - initdb).Round(time.Millisecond))
	return pg
}

func (pg *Postgres) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, db)
}

// Stop shuts the server down (a fast shutdown: sessions are ended, committed
// data is kept) and waits for it; Start starts it again on the same port and
// data. It fails the test if the server cannot be stopped.
func (pg *Postgres) Stop() {
	pg.t.Helper()
	if err := pg.stop(); err != nil {
		pg.t.Fatalf("stop postgres: %v", err)
	}
}

// Start starts a stopped server again and waits until it accepts connections.
func (pg *Postgres) Start() {
	pg.t.Helper()
	if err := pg.start(); err != nil {
		pg.t.Fatal(err)
	}
}

func (pg *Postgres) stop() error {
	if pg.proc == nil {
		return nil
	}
	p := pg.proc
	pg.proc = nil
	return p.stop(syscall.SIGINT)
}

func (pg *Postgres) start() error {
	if pg.proc != nil && !pg.proc.exited() {
		return fmt.Errorf("postgres on port %d is already running", pg.Port)
	}
	cmd := exec.Command(filepath.Join(pg.bin, "postgres"),
		"-D", filepath.Join(pg.Dir, "data"),
		"-p", strconv.Itoa(pg.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+pg.Dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=100",
		"-c", "logging_collector=off",
		"-c", "log_min_messages=warning",
	)
	cmd.Dir = pg.Dir
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	p, err := startProcess("postgres", cmd)
	if err != nil {
		return err
	}
	pg.proc = p
	return waitReady(fmt.Sprintf("postgres on 127.0.0.1:%d", pg.Port), p, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.dsn("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
}
