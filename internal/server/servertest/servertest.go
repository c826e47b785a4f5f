// Package servertest starts a real Alidade server for tests of other
// packages: a real DuckDB store in a temporary directory, the real ingest
// pipeline and the real HTTP server on loopback, assembled as `alidade
// serve` assembles them. It is test support only and holds no mocks.
package servertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/live"
	"github.com/alidade/alidade/internal/loader"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/sampling"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/tail"
	"github.com/alidade/alidade/internal/wal"
)

// Options adjust the server a test starts.
type Options struct {
	// RootKey is the instance root key (ALIDADE_ROOT_KEY); required.
	RootKey string
	// Server and Ingest, when set, edit the default options.
	Server func(*server.Options)
	Ingest func(*ingest.Options)
	// Wrap lets a test delay or observe commits; nil commits straight to
	// the planner (the store, then the rollups).
	Wrap func(ingest.Appender) ingest.Appender
	// Planner, when set, edits the planner's options (rollups are on by
	// default, as in alidade serve).
	Planner func(*planner.Options)
	// Dir is the data directory; empty means a new temporary one.
	Dir string
	// Tail, when set, edits the live tail hub's options.
	Tail func(*tail.Options)
	// PageRunner runs the page checks (a fake, or pagerunner.New over a
	// real Lighthouse runner); nil leaves them unavailable.
	PageRunner checks.PageRunner
	// WAL, when set, runs the server as `alidade serve --wal on` does:
	// writes are acknowledged once logged and a loader moves them into
	// the planner (through Target, when set, which may delay it).
	WAL *WALOptions
}

// WALOptions configure the write-ahead log of a test server.
type WALOptions struct {
	MaxBytes int64 // --wal-max; 0 means 1 GiB
	Target   func(loader.Target) loader.Target
	// Write, when set, replaces the log's file writes (see wal.Options),
	// e.g. to run out of disk space.
	Write func(f *os.File, b []byte) (int, error)
}

// Env is a running server and its parts.
type Env struct {
	URL      string // http://127.0.0.1:port
	Boot     *server.Bootstrap
	Keys     map[meta.KeyKind]string // the default project's keys
	Store    *duckdb.Store
	Server   *server.Server
	Pipeline *ingest.Pipeline
	Planner  *planner.Planner
	Tail     *tail.Hub
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	ctx := context.Background()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	smp := sampling.New(st.Sampling, sampling.DefaultOptions())
	popts := planner.Options{Dir: filepath.Join(dir, "rollups"), Spec: planner.SchemaSpec(st.Schema), Sample: smp.Sample, Flush: smp.Flush}
	if o.Planner != nil {
		o.Planner(&popts)
	}
	pl, err := planner.Open(ctx, st, popts)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := server.Prepare(ctx, st, o.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	au, err := auth.New(ctx, st, boot.RootHash)
	if err != nil {
		t.Fatal(err)
	}
	iopts := ingest.DefaultOptions()
	if o.Ingest != nil {
		o.Ingest(&iopts)
	}
	var app ingest.Appender = pl
	if o.Wrap != nil {
		app = o.Wrap(pl)
	}
	var ld *loader.Loader
	var lg *wal.Log
	if o.WAL != nil {
		if lg, err = wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), MaxBytes: o.WAL.MaxBytes, Write: o.WAL.Write}); err != nil {
			t.Fatal(err)
		}
		var tg loader.Target = pl
		if o.WAL.Target != nil {
			tg = o.WAL.Target(pl)
		}
		ld = loader.New(lg, tg, loader.Options{Idle: 20 * time.Millisecond})
		if _, _, err := ld.Replay(ctx); err != nil {
			t.Fatal(err)
		}
		ld.Start()
		app = ld
	}
	var pipe *ingest.Pipeline
	m := server.NewMetrics(func() int64 { return pipe.QueuedBytes() }, st.SizeBytes)
	iopts.OnCommit = m.ObserveCommit
	hub := live.NewHub()
	topts := tail.DefaultOptions()
	topts.Schema = st.Schema
	if o.Tail != nil {
		o.Tail(&topts)
	}
	th, err := tail.New(topts)
	if err != nil {
		t.Fatal(err)
	}
	iopts.OnAppended = func(bs []store.Batch) {
		hub.PublishBatches(bs)
		th.Publish(bs)
	}
	if pipe, err = ingest.New(app, iopts); err != nil {
		t.Fatal(err)
	}
	pipe.Start()
	sopts := server.DefaultOptions()
	sopts.Live = hub
	sopts.Tail = th
	sopts.Listen = "127.0.0.1:0"
	sopts.Rollups = pl
	sopts.ErrorJournal = filepath.Join(dir, "errors-wal")
	sopts.PageRunner = o.PageRunner
	sopts.Lab = checks.NewLab(st)
	if ld != nil {
		sopts.Fresh = func(ctx context.Context) { ld.Wait(ctx, time.Second) }
		sopts.Dedupe = pl.Dedupe
	}
	if o.Server != nil {
		o.Server(&sopts)
	}
	srv, err := server.New(sopts, st, au, pipe, pl, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := pipe.Close(ctx); err != nil {
			t.Error(err)
		}
		if ld != nil {
			if err := ld.Close(ctx); err != nil {
				t.Error(err)
			}
			lg.Close()
		}
		if err := pl.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return &Env{URL: "http://" + srv.Addr(), Boot: boot, Keys: boot.Keys, Store: st, Server: srv, Pipeline: pipe, Planner: pl, Tail: th}
}
