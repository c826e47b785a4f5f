package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only on ALIDADE_PPROF's address
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/lighthouse"
	"github.com/alidade/alidade/internal/live"
	"github.com/alidade/alidade/internal/loader"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/pagerunner"
	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/pricing"
	"github.com/alidade/alidade/internal/sampling"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/store/postgres"
	livetail "github.com/alidade/alidade/internal/tail"
	"github.com/alidade/alidade/internal/wal"
)

type serveFlags struct {
	listen, dataDir, retention, logLevel, logFormat string
	memoryLimit, maxBody, maxPoints, queueSize      string
	queryTimeout, retentionEvery                    string
	pricing, writeLanes, rollups, keepMinutes       string
	wal, walMax, walBacklog                         string
	trustProxy, geoip                               string
	publicURL                                       string
	sessionIdle, sessionMax                         string
	alertForbidPrivate                              string
	tailMaxClients, tailMaxRate                     string
	checksAllow, checksPageConcurrency              string
	checksPageQueue                                 string
	storeURL, metaURL                               string
}

func runServe(ctx context.Context, args []string) error {
	var f serveFlags
	fs := newFlagSet("serve", "serve [flags]")
	fs.group("Server")
	fs.str(&f.listen, "listen", "ALIDADE_LISTEN", "127.0.0.1:8080", "address to listen on")
	fs.str(&f.logLevel, "log-level", "ALIDADE_LOG_LEVEL", "info", "debug, info, warn or error")
	fs.str(&f.logFormat, "log-format", "ALIDADE_LOG_FORMAT", "text", "text or json")
	fs.str(&f.publicURL, "public-url", "ALIDADE_PUBLIC_URL", "", "the URL browsers and SDKs reach the server at, e.g. https://alidade.example.com: the host of the projects' Sentry DSNs (default http:// and the listen address)")
	fs.group("Storage")
	fs.str(&f.dataDir, "data-dir", "ALIDADE_DATA_DIR", "./alidade-data", "directory holding the embedded store")
	fs.str(&f.storeURL, "store", "ALIDADE_STORE", "", "clickhouse://HOST:8123/DATABASE[?cluster=NAME&user=U&password=P]: keep points in ClickHouse (with --meta); unset: the embedded store in --data-dir")
	fs.str(&f.metaURL, "meta", "ALIDADE_META", "", "postgres://USER@HOST:5432/DB?sslmode=...: keep projects, keys, schemas and sessions in PostgreSQL (with --store)")
	fs.str(&f.retention, "retention", "ALIDADE_RETENTION", "90d", "default retention of points (e.g. 30d, 720h)")
	fs.str(&f.retentionEvery, "retention-interval", "ALIDADE_RETENTION_INTERVAL", "10m", "how often expired data is removed")
	fs.str(&f.memoryLimit, "memory-limit", "ALIDADE_MEMORY_LIMIT", duckdb.DefaultMemoryLimit, "memory limit of the embedded DuckDB (its cache of day files, hash tables, sorts)")
	fs.str(&f.writeLanes, "write-lanes", "ALIDADE_WRITE_LANES", "2", "group commits that may run at once")
	fs.group("Rollups")
	fs.str(&f.rollups, "rollups", "ALIDADE_ROLLUPS", "on", "on or off: per-minute rollups that answer dashboards without scanning points")
	fs.str(&f.keepMinutes, "rollup-minutes", "ALIDADE_ROLLUP_MINUTES", "6h", "how long rollups keep minute cells before only hours and days remain")
	fs.group("Limits")
	fs.str(&f.maxBody, "max-body", "ALIDADE_MAX_BODY", "10MB", "largest write body after decompression")
	fs.str(&f.maxPoints, "max-points-per-request", "ALIDADE_MAX_POINTS_PER_REQUEST", "1000000", "most points in one write body")
	fs.str(&f.queueSize, "queue-size", "ALIDADE_QUEUE_SIZE", "256MB", "memory for writes awaiting commit; past it writes get 429")
	fs.group("Write-ahead log (experimental)")
	fs.str(&f.wal, "wal", "ALIDADE_WAL", "off", "on: acknowledge writes once in Alidade's write-ahead log and load them into the store behind (faster acks; queries wait up to 1 s for the loader)")
	fs.str(&f.walMax, "wal-max", "ALIDADE_WAL_MAX", "1GB", "with --wal on: disk for acknowledged writes not loaded yet; past it writes get 429 (503 while the store cannot be reached)")
	fs.str(&f.walBacklog, "wal-backlog", "ALIDADE_WAL_BACKLOG", "4MB", "with --wal on: past this much log not yet loaded, writes wait (up to 5 s) for the loader, so queries see them within about a second; 0 for no wait")
	fs.str(&f.queryTimeout, "query-timeout", "ALIDADE_QUERY_TIMEOUT", "30s", "longest a query may run")
	fs.group("Live tail")
	fs.str(&f.tailMaxClients, "tail-max-clients", "ALIDADE_TAIL_MAX_CLIENTS", "32", "live tails (GET /api/v1/tail, alidade tail) open at once per project; past it 429")
	fs.str(&f.tailMaxRate, "tail-max-rate", "ALIDADE_TAIL_MAX_RATE", "1000", "records a second one tail is sent; past it the tail is sampled and told so")
	fs.group("Browser beacon")
	fs.str(&f.trustProxy, "trust-proxy", "ALIDADE_TRUST_PROXY", "off", "on: take the client's address from CF-Connecting-IP or X-Forwarded-For and its country from CF-IPCountry or X-Country (only behind a proxy that sets them)")
	fs.str(&f.geoip, "geoip", "ALIDADE_GEOIP", "", "MaxMind database file (GeoLite2 Country or City) to look up the country of a beacon's client")
	fs.group("Dashboard sign-in")
	fs.str(&f.sessionIdle, "session-idle", "ALIDADE_SESSION_IDLE", "12h", "a dashboard session unused this long ends (each use restarts the count)")
	fs.str(&f.sessionMax, "session-max", "ALIDADE_SESSION_MAX", "7d", "a dashboard session ends this long after its sign-in, however used")
	fs.group("Alerts")
	fs.str(&f.alertForbidPrivate, "alert-forbid-private", "ALIDADE_ALERT_FORBID_PRIVATE", "off", "on: never send alert notifications to loopback, private or link-local addresses (checked on each connection, after DNS); set it when untrusted users hold admin keys")
	fs.group("Checks")
	fs.str(&f.checksAllow, "checks-allow", "ALIDADE_CHECKS_ALLOW", "", "hosts (status.example.com, *.example.com) and networks (10.0.0.0/8, 192.0.2.7) checks may reach, comma-separated, checked on each connection after DNS; empty: any address the server can reach")
	fs.str(&f.checksPageConcurrency, "checks-page-concurrency", "ALIDADE_CHECKS_PAGE_CONCURRENCY", "1", "Lighthouse page runs at once on this node")
	fs.str(&f.checksPageQueue, "checks-page-queue", "ALIDADE_CHECKS_PAGE_QUEUE", "10", "page runs that may wait for one of those; past it a run asked for now gets 503")
	fs.group("AI cost")
	fs.str(&f.pricing, "pricing", "ALIDADE_PRICING", "", "JSON price catalog whose entries add to or override the default prices")
	fs.footer = "\nEnvironment only:\n  ALIDADE_ROOT_KEY           the instance root key (manages projects); generated and printed on first start when unset\n" +
		"  ALIDADE_PPROF              an address (e.g. 127.0.0.1:6060) to serve Go's /debug/pprof profiles on; off when unset\n" +
		"  GOGC, GOMEMLIMIT           Go's collector; unset GOGC means 100, or 50 once the live heap passes 128 MiB\n"
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade serve --help", fs.Arg(0))}
	}

	log, err := newLogger(f.logLevel, f.logFormat, os.Stderr)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	sopts := server.DefaultOptions()
	sopts.Listen = f.listen
	sopts.Version = version
	sopts.Logger = log
	sopts.ErrorJournal = filepath.Join(f.dataDir, "errors-wal")
	fp := os.Getenv("ALIDADE_FAILPOINT")
	switch fp {
	case "kill-after-commit":
		// For the crash tests only: die as kill -9 would, between the
		// commit of a write with an Idempotency-Key and its answer.
		sopts.AfterCommit = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	case "", "kill-after-load":
		// kill-after-load: die as kill -9 would once the write-ahead
		// log's loader has stored a group, before it notes that it did.
	default:
		return fmt.Errorf("unknown ALIDADE_FAILPOINT %q", fp)
	}
	if sopts.Retention, err = server.ParseDuration(f.retention); err != nil {
		return &usageError{msg: "--retention: " + err.Error()}
	}
	if sopts.QueryTimeout, err = server.ParseDuration(f.queryTimeout); err != nil {
		return &usageError{msg: "--query-timeout: " + err.Error()}
	}
	retentionEvery, err := server.ParseDuration(f.retentionEvery)
	if err != nil || retentionEvery <= 0 {
		return &usageError{msg: fmt.Sprintf("--retention-interval: invalid duration %q", f.retentionEvery)}
	}
	switch strings.ToLower(f.trustProxy) {
	case "on", "true", "1", "yes":
		sopts.TrustProxy = true
	case "off", "false", "0", "no":
	default:
		return &usageError{msg: fmt.Sprintf("--trust-proxy: %q: use on or off", f.trustProxy)}
	}
	sopts.GeoIP = f.geoip
	switch strings.ToLower(f.alertForbidPrivate) {
	case "on", "true", "1", "yes":
		sopts.AlertForbidPrivate = true
	case "off", "false", "0", "no":
	default:
		return &usageError{msg: fmt.Sprintf("--alert-forbid-private: %q: use on or off", f.alertForbidPrivate)}
	}
	if sopts.ChecksAllow, err = checks.ParseAllow(f.checksAllow); err != nil {
		return &usageError{msg: "--checks-allow: " + err.Error()}
	}
	if sopts.ChecksPageConcurrency, err = strconv.Atoi(f.checksPageConcurrency); err != nil || sopts.ChecksPageConcurrency < 1 || sopts.ChecksPageConcurrency > 64 {
		return &usageError{msg: fmt.Sprintf("--checks-page-concurrency: %q is not a number from 1 to 64", f.checksPageConcurrency)}
	}
	if sopts.ChecksPageQueue, err = strconv.Atoi(f.checksPageQueue); err != nil || sopts.ChecksPageQueue < 0 || sopts.ChecksPageQueue > 10_000 {
		return &usageError{msg: fmt.Sprintf("--checks-page-queue: %q is not a number from 0 to 10000", f.checksPageQueue)}
	}
	// Page checks run Lighthouse: Node, Lighthouse and Chromium where
	// lighthouse.Find looks (the data directory's tools, PATH,
	// ALIDADE_NODE, ALIDADE_LIGHTHOUSE, CHROME_PATH). Without them the
	// server starts all the same and page checks are "unavailable",
	// saying what to install.
	lopts := lighthouse.Find(f.dataDir)
	lopts.Concurrency, lopts.QueueMax, lopts.Logger = sopts.ChecksPageConcurrency, sopts.ChecksPageQueue, log
	lh, err := lighthouse.New(lopts)
	if err != nil {
		return err
	}
	defer lh.Close()
	if ok, why := lh.Available(); ok {
		log.Info("page checks available: Lighthouse runs", "node", lopts.Node, "lighthouse", lopts.Lighthouse, "chrome", lopts.Chrome,
			"concurrency", lopts.Concurrency, "queue", lopts.QueueMax)
	} else {
		log.Warn("page checks unavailable (http checks run)", "why", why)
	}
	sopts.PageRunner = pagerunner.New(lh)
	if f.publicURL != "" {
		if err := server.ValidatePublicURL(f.publicURL); err != nil {
			return &usageError{msg: "--public-url: " + err.Error()}
		}
		sopts.PublicURL = f.publicURL
	}
	if sopts.SessionIdle, err = server.ParseDuration(f.sessionIdle); err != nil || sopts.SessionIdle < time.Minute {
		return &usageError{msg: fmt.Sprintf("--session-idle: %q: use a duration of at least 1m such as 12h", f.sessionIdle)}
	}
	if sopts.SessionMax, err = server.ParseDuration(f.sessionMax); err != nil || sopts.SessionMax <= 0 {
		return &usageError{msg: fmt.Sprintf("--session-max: %q: use a duration such as 7d or 24h", f.sessionMax)}
	}
	if sopts.SessionMax < sopts.SessionIdle {
		return &usageError{msg: fmt.Sprintf("--session-max %s is shorter than --session-idle %s: a session cannot stay idle longer than it lives", f.sessionMax, f.sessionIdle)}
	}
	if sopts.MaxBodyBytes, err = parseBytes(f.maxBody); err != nil {
		return &usageError{msg: "--max-body: " + err.Error()}
	}
	if sopts.MaxPointsPerRequest, err = strconv.Atoi(f.maxPoints); err != nil || sopts.MaxPointsPerRequest < 1 {
		return &usageError{msg: fmt.Sprintf("--max-points-per-request: %q is not a positive number", f.maxPoints)}
	}
	if f.pricing != "" {
		file, err := pricing.LoadFile(f.pricing)
		if err != nil {
			return &usageError{msg: "--pricing: " + err.Error()}
		}
		sopts.Pricing = pricing.Default().With(pricing.SourceOperator, file)
		log.Info("operator prices loaded", "file", f.pricing, "entries", len(file.Entries))
	}
	topts := livetail.DefaultOptions()
	if topts.MaxClients, err = strconv.Atoi(f.tailMaxClients); err != nil || topts.MaxClients < 1 {
		return &usageError{msg: fmt.Sprintf("--tail-max-clients: %q is not a positive number", f.tailMaxClients)}
	}
	if topts.MaxRate, err = strconv.Atoi(f.tailMaxRate); err != nil || topts.MaxRate < 1 {
		return &usageError{msg: fmt.Sprintf("--tail-max-rate: %q is not a positive number of records a second", f.tailMaxRate)}
	}
	iopts := ingest.DefaultOptions()
	iopts.Logger = log
	if iopts.QueueBytes, err = parseBytes(f.queueSize); err != nil {
		return &usageError{msg: "--queue-size: " + err.Error()}
	}
	walMax, err := parseBytes(f.walMax)
	if err != nil {
		return &usageError{msg: "--wal-max: " + err.Error()}
	}
	walBacklog := int64(-1) // 0: writes never wait for the loader
	if strings.TrimSpace(f.walBacklog) != "0" {
		if walBacklog, err = parseBytes(f.walBacklog); err != nil {
			return &usageError{msg: "--wal-backlog: " + err.Error()}
		}
	}
	var walOn bool
	switch strings.ToLower(f.wal) {
	case "on", "true", "1", "yes":
		walOn = true
	case "off", "false", "0", "no":
	default:
		return &usageError{msg: fmt.Sprintf("--wal: %q: use on or off", f.wal)}
	}
	dopts := duckdb.DefaultOptions()
	dopts.Dir, dopts.MemoryLimit, dopts.Logger = f.dataDir, f.memoryLimit, log
	lanes, err := strconv.Atoi(f.writeLanes)
	if err != nil || lanes < 1 || lanes > 64 {
		return &usageError{msg: fmt.Sprintf("--write-lanes: %q is not a number from 1 to 64", f.writeLanes)}
	}
	dopts.WriteLanes, iopts.Committers = lanes, lanes

	popts := planner.Options{Dir: filepath.Join(f.dataDir, "rollups"), Retention: sopts.Retention, Logger: log}
	switch strings.ToLower(f.rollups) {
	case "on", "true", "1", "yes":
	case "off", "false", "0", "no":
		popts.Disabled = true
	default:
		return &usageError{msg: fmt.Sprintf("--rollups: %q: use on or off", f.rollups)}
	}
	if popts.KeepMinutes, err = server.ParseDuration(f.keepMinutes); err != nil || popts.KeepMinutes < time.Hour {
		return &usageError{msg: fmt.Sprintf("--rollup-minutes: %q: use a duration of at least 1h such as 48h", f.keepMinutes)}
	}
	knobs, err := testKnobsFromEnv()
	if err != nil {
		return err
	}
	upkeepEvery := time.Minute
	if d := knobs.upkeep; d > 0 {
		upkeepEvery, retentionEvery = d, d
		popts.CheckpointIdle, popts.SnapshotEvery = d, d
	}

	var st nodeStore
	var cs *clusterStore
	if f.storeURL != "" || f.metaURL != "" {
		if f.storeURL == "" || f.metaURL == "" {
			return &usageError{msg: "--store and --meta go together: points in ClickHouse (--store clickhouse://…), metadata in PostgreSQL (--meta postgres://…)"}
		}
		cs, err = openCluster(ctx, f.storeURL, f.metaURL, !popts.Disabled, log)
		if err != nil {
			return err
		}
		st = cs
		// The embedded rollups live in a node's memory and would see only
		// its own writes: a cluster's are ClickHouse's rollup table, which
		// the store reads itself (--rollups on) when it covers a query.
		rollups := "ClickHouse's rollup tables"
		if !cs.Rollups() {
			rollups = "off: " + cs.RollupsOff()
		}
		popts.Disabled = true
		sopts.ErrorJournal = ""
		log.Info("cluster store", "points", cs.PointsURL(), "meta", cs.MetaURL(), "rollups", rollups)
	} else {
		d, err := duckdb.Open(ctx, dopts)
		if err != nil {
			return err
		}
		st = d
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	// The per-page report's lab runs: the page checks' latest runs.
	if cs, ok := st.(checks.Store); ok {
		sopts.Lab = checks.NewLab(cs)
	}
	popts.Spec = planner.SchemaSpec(st.Schema)
	smp := sampling.New(st.Sampling, sampling.DefaultOptions())
	popts.Sample, popts.Flush = smp.Sample, smp.Flush
	// The log of a node in a cluster: its own directory (an embedded
	// store's log in wal/ is never loaded into ClickHouse, nor this one
	// into DuckDB), with the loader's ranges file in it.
	walDir := filepath.Join(f.dataDir, "wal")
	ldopts := loader.Options{Logger: log, MaxBacklog: walBacklog}
	if cs != nil {
		walDir = filepath.Join(f.dataDir, "cluster-wal")
		ldopts.Ranges = filepath.Join(walDir, "ranges")
		if walOn {
			// Sampled before the log, so that a group loaded again is the
			// same rows (the sampler picks by arrival): see sampledLog.
			popts.Sample, popts.Flush = nil, nil
		}
	}
	pl, err := planner.Open(ctx, st, popts)
	if err != nil {
		return err
	}
	sopts.Rollups = pl
	// What the loader loads into: the planner (rollups, sampling), or on a
	// cluster the store itself (no rollups; the log's records are sampled
	// already, and must not be again).
	var base loader.Target = pl
	if cs != nil {
		base = cs
	}

	// With --wal on, writes are acknowledged once in the write-ahead log
	// and the loader moves them into the store; what a crash left
	// unloaded loads first. Otherwise each group commit goes to the store.
	var app ingest.Appender = pl
	var ld *loader.Loader
	var sl *sampledLog
	if walOn {
		lg, err := wal.Open(wal.Options{Dir: walDir, MaxBytes: walMax, Logger: log})
		if err != nil {
			return err
		}
		defer func() {
			if err := lg.Close(); err != nil {
				log.Error("close the write-ahead log", "err", err)
			}
		}()
		tg := base
		if knobs.loadDelay > 0 || fp == "kill-after-load" {
			tg = slowTarget{base, knobs.loadDelay, fp == "kill-after-load"}
		}
		if cs != nil && !cs.Deduplicates() {
			log.Warn("write-ahead log: ClickHouse's points table does not drop repeated inserts, so a group of the log loaded again "+
				"after an outage or a crash may be stored twice: AT LEAST ONCE, not exactly once. Exactly once needs ReplicatedMergeTree "+
				"(the servers' {shard} and {replica} macros and a ZooKeeper) in a database this Alidade created; see the README",
				"engine", cs.Engine())
		}
		ld = loader.New(lg, tg, ldopts)
		start := time.Now()
		if n := lg.Size(); n > 0 {
			// A large log takes a while: say why the server is not ready yet.
			log.Info("write-ahead log: reading it to load what the store lacks", "bytes", n)
		}
		if cs != nil {
			name, err := nodeName(walDir)
			if err != nil {
				return err
			}
			cs.SetIdemNode(postgres.IdemClaimer{Node: name, Durable: true})
		}
		records, points, err := ld.Replay(ctx)
		if err != nil {
			return fmt.Errorf("load the write-ahead log: %w", err)
		}
		if cs != nil {
			// Every write the log held is loaded, its key recorded: the
			// node's keys still pending are writes it never logged.
			n, err := cs.IdemSettle(ctx)
			if err != nil {
				return fmt.Errorf("settle the idempotency keys of the writes the log never held: %w", err)
			}
			if n > 0 {
				log.Info("idempotency keys of writes never logged released", "keys", n)
			}
		}
		log.Info("write-ahead log on", "dir", walDir, "replayed_records", records, "points_loaded", points,
			"elapsed", time.Since(start).Round(time.Millisecond))
		ld.Start()
		app = ld
		sopts.Fresh = func(ctx context.Context) { ld.Wait(ctx, time.Second) }
		if cs == nil {
			sopts.Dedupe = pl.Dedupe
		} else {
			sl = &sampledLog{ld: ld, smp: smp}
			app = sl
		}
	} else if _, err := os.Stat(walDir); err == nil {
		// The log of an earlier --wal on: load what it holds, then go on
		// without it.
		lg, err := wal.Open(wal.Options{Dir: walDir, MaxBytes: walMax, Logger: log})
		if err != nil {
			return err
		}
		records, points, err := loader.New(lg, base, ldopts).Replay(ctx)
		lg.Close()
		if err != nil {
			return fmt.Errorf("load the write-ahead log left by --wal on: %w", err)
		}
		if records > 0 {
			log.Info("write-ahead log of an earlier --wal on loaded", "records", records, "points_loaded", points)
		}
	}
	if _, ok := st.(sharedMeta); ok {
		if err := checkSharedRootKey(ctx, st, os.Getenv("ALIDADE_ROOT_KEY"), os.Getenv("ALIDADE_ROOT_KEY_ROTATE") == "1"); err != nil {
			return err
		}
	}
	boot, err := server.Prepare(ctx, st, os.Getenv("ALIDADE_ROOT_KEY"))
	if err != nil {
		return err
	}
	au, err := auth.New(ctx, st, boot.RootHash)
	if err != nil {
		return err
	}
	if sh, ok := st.(sharedMeta); ok {
		followSharedMeta(ctx, sh, au, log)
	}
	var pipe *ingest.Pipeline
	metrics := server.NewMetrics(func() int64 { return pipe.QueuedBytes() }, st.SizeBytes)
	iopts.OnCommit = metrics.ObserveCommit
	sopts.Live = live.NewHub()
	topts.Schema = st.Schema
	if sopts.Tail, err = livetail.New(topts); err != nil {
		return err
	}
	var bus *postgres.Bus
	if cs, ok := st.(*clusterStore); ok {
		if bus, err = startTailBus(cs, sopts.Live, sopts.Tail, metrics, log); err != nil {
			return err
		}
		defer bus.Close()
	}
	iopts.OnAppended = func(bs []store.Batch) {
		// After the commit (the acknowledgement): the dashboard's live
		// updates and the live tails, here and, on a cluster, on the
		// nodes whose subscribers watch the project.
		sopts.Live.PublishBatches(bs)
		sopts.Tail.Publish(bs)
		if bus != nil {
			bus.Publish(bs)
		}
	}
	if pipe, err = ingest.New(app, iopts); err != nil {
		return err
	}
	srv, err := server.New(sopts, st, au, pipe, pl, metrics)
	if err != nil {
		return err
	}
	if sh, ok := st.(sharedMeta); ok {
		sh.Watch(srv.ApplyMetaChange)
	}
	pipe.Start()
	if err := srv.Start(); err != nil {
		_ = pipe.Close(context.Background())
		return err
	}
	if addr := os.Getenv("ALIDADE_PPROF"); addr != "" {
		go func() {
			// http.DefaultServeMux holds net/http/pprof's handlers only.
			log.Info("serving Go profiles", "addr", addr)
			if err := http.ListenAndServe(addr, nil); err != nil {
				log.Error("pprof server", "err", err)
			}
		}()
	}
	dsn := ""
	if boot.FirstStart {
		dsn, _ = srv.DSN(boot.Project.ID, boot.Keys[meta.KindPublic])
	}
	printBanner(os.Stdout, "http://"+srv.Addr(), dsn, boot)
	log.Info("alidade serving", "addr", srv.Addr(), "data_dir", f.dataDir, "version", version)

	if ld, ok := st.(leaderStore); ok {
		// On a cluster the planner's upkeep is retention alone (rollups
		// are off): one node at a time expires the points, not every
		// node the same partitions at once.
		go ld.Lead(ctx, retentionLock, func(ctx context.Context) { pl.Run(ctx, upkeepEvery, retentionEvery) })
	} else {
		go pl.Run(ctx, upkeepEvery, retentionEvery)
	}
	go tuneGC(ctx, 2*time.Second)

	<-ctx.Done()
	log.Info("shutting down: refusing new writes, committing accepted ones")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(stopCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	// After the server (a page run asked for over HTTP ends first, up to
	// the shutdown's wait): stops queued Lighthouse runs, kills running ones.
	lh.Close()
	if err := pipe.Close(stopCtx); err != nil {
		return err
	}
	if sl != nil {
		if err := sl.flush(stopCtx); err != nil {
			log.Error("log the sampler's last points", "err", err)
		}
	}
	if ld != nil {
		if err := ld.Close(stopCtx); err != nil {
			log.Warn("stopping with writes still in the write-ahead log; they load at the next start", "err", err)
		}
		st := ld.Stats()
		avg := int64(0)
		if st.Loads > 0 {
			avg = st.Points / st.Loads
		}
		rate := 0.0
		if st.Busy > 0 {
			rate = float64(st.Points) / st.Busy.Seconds()
		}
		log.Info("write-ahead log loads", "loads", st.Loads, "points", st.Points, "points_per_load", avg,
			"busy", st.Busy.Round(time.Millisecond), "points_per_busy_second", int64(rate))
	}
	if err := pl.Close(stopCtx); err != nil {
		log.Error("rollup snapshots", "err", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// testKnobs are settings for the crash tests (cmd/alidade/wal_e2e_test.go)
// only, read from the environment and left out of --help:
//
//	ALIDADE_TEST_UPKEEP=<duration>      the planner's upkeep runs that often
//	                                    instead of every minute: it checkpoints
//	                                    day files idle that long, rewrites stale
//	                                    rollup snapshots and enforces retention
//	                                    (overriding --retention-interval)
//	ALIDADE_TEST_LOAD_DELAY=<duration>  every load of the write-ahead log into
//	                                    the store (the start's replay too) waits
//	                                    that long first, so writers outpace it
type testKnobs struct {
	upkeep, loadDelay time.Duration
}

func testKnobsFromEnv() (testKnobs, error) {
	var k testKnobs
	for _, x := range []struct {
		env string
		d   *time.Duration
	}{{"ALIDADE_TEST_UPKEEP", &k.upkeep}, {"ALIDADE_TEST_LOAD_DELAY", &k.loadDelay}} {
		v := os.Getenv(x.env)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return k, fmt.Errorf("%s=%q: use a positive duration such as 100ms", x.env, v)
		}
		*x.d = d
	}
	return k, nil
}

// slowTarget holds every load of the write-ahead log for delay
// (ALIDADE_TEST_LOAD_DELAY), and with kill dies as kill -9 would after
// the first load that stored points (ALIDADE_FAILPOINT=kill-after-load).
type slowTarget struct {
	loader.Target
	delay time.Duration
	kill  bool
}

func (s slowTarget) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	time.Sleep(s.delay)
	err := s.Target.AppendAt(ctx, batches, pos)
	if err == nil && s.kill && len(batches) > 0 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return err
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// parseBytes parses 10MB, 512KB, 1GB or a plain number of bytes.
func parseBytes(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(u, x.suffix); ok {
			u, mult = strings.TrimSpace(n), x.m
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q: use e.g. 10MB, 512KB or 1GB", s)
	}
	return n * mult, nil
}

func printBanner(w io.Writer, url, dsn string, b *server.Bootstrap) {
	if !b.FirstStart {
		fmt.Fprintf(w, "Alidade is listening on %s (keys were shown on first start; create more with 'alidade keys create').\n", url)
		return
	}
	line := strings.Repeat("=", 78)
	fmt.Fprintf(w, "%s\n Alidade is running at %s\n\n First start: project %q (id %d) was created with these keys.\n They are shown only now; store them safely.\n\n", line, url, b.Project.Name, b.Project.ID)
	for _, k := range meta.Kinds {
		fmt.Fprintf(w, "   %-7s key  %s\n", k, b.Keys[k])
	}
	if b.RootKey != "" {
		fmt.Fprintf(w, "   root    key  %s   (manages projects; set ALIDADE_ROOT_KEY to choose your own)\n", b.RootKey)
	} else {
		fmt.Fprintf(w, "   root    key  taken from ALIDADE_ROOT_KEY\n")
	}
	if dsn != "" {
		fmt.Fprintf(w, "\n Sentry DSN (any Sentry SDK sends errors here; 'alidade projects dsn %s' prints it again):\n   %s\n", b.Project.Name, dsn)
	}
	fmt.Fprintf(w, `
 Write a point:
   curl -X POST %[1]s/api/v1/datasets/requests/points \
     -H 'Authorization: Bearer %[2]s' \
     -d '{"index":"/api/chat","blobs":["/api/chat","GET"],"doubles":[12.5,200]}'

 Query it:
   curl -X POST %[1]s/api/v1/query \
     -H 'Authorization: Bearer %[3]s' \
     -d '{"dataset":"requests","range":"1h","groupBy":["index1"],"aggregations":{"n":{"type":"count"},"avg":{"type":"avg","field":"double1"}}}'
%[4]s
`, url, b.Keys[meta.KindWrite], b.Keys[meta.KindRead], line)
}
