package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/alidade/alidade/internal/bench"
	"github.com/alidade/alidade/internal/store/clickhouse"
)

type benchFlags struct {
	points, days, concurrency, batch, repeat, seed string
	baselinePoints, baselinePairs                  string
	url, writeKey, readKey, rootKey, dataDir       string
	vsVictoriaLogs, vsRounds, errorEvents          string
	store, meta                                    string
	gzip, keep, json, noSettle                     bool
}

func runBench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "errors" {
		return runBenchErrors(ctx, args[1:])
	}
	var f benchFlags
	fs := newFlagSet("bench", "bench [flags]")
	fs.group("Workload")
	fs.str(&f.points, "points", "ALIDADE_BENCH_POINTS", "1000000", "points to write (20000, 1e6, 1.5M, 10M and 100M work)")
	fs.str(&f.days, "days", "ALIDADE_BENCH_DAYS", "1", "spread the points over the last N days, oldest first")
	fs.str(&f.concurrency, "concurrency", "ALIDADE_BENCH_CONCURRENCY", "4", "concurrent writing clients")
	fs.str(&f.batch, "batch", "ALIDADE_BENCH_BATCH", "10000", "points per write request")
	boolFlag(fs, &f.gzip, "gzip", "ALIDADE_BENCH_GZIP", "gzip the write bodies (before timing up to 1M points; beyond, as they are sent)")
	fs.str(&f.repeat, "repeat", "ALIDADE_BENCH_REPEAT", "5", "runs of each query; the median is reported")
	fs.str(&f.seed, "seed", "ALIDADE_BENCH_SEED", "1", "seed of the generated points")
	boolFlag(fs, &f.noSettle, "no-settle", "ALIDADE_BENCH_NO_SETTLE", "query right after ingest, without waiting up to 65 s for the server's minute tick (rollup upkeep)")
	fs.group("Ingest overhead of rollups (fresh servers with --rollups off, then on)")
	fs.str(&f.baselinePairs, "baseline-pairs", "ALIDADE_BENCH_BASELINE_PAIRS", "auto", fmt.Sprintf("off/on pairs of runs; 0 skips them (auto: %d from %s points, else 0)", bench.DefaultBaselinePairs, "10M"))
	fs.str(&f.baselinePoints, "baseline-points", "ALIDADE_BENCH_BASELINE_POINTS", "auto", "points each of those runs writes (auto: the smaller of --points and 5M)")
	fs.group("Target (default: start a server on a temporary data directory)")
	fs.str(&f.url, "url", "ALIDADE_BENCH_URL", "", "bench the running server at this URL instead")
	fs.str(&f.writeKey, "write-key", "ALIDADE_WRITE_KEY", "", "with --url: a project's write key")
	fs.str(&f.readKey, "read-key", "ALIDADE_READ_KEY", "", "with --url: the same project's read key")
	fs.str(&f.rootKey, "root-key", "ALIDADE_ROOT_KEY", "", "with --url: the root key, to create a project for the bench instead; with --store: the metadata store's root key, when it was set up before")
	fs.str(&f.dataDir, "data-dir", "ALIDADE_BENCH_DATA_DIR", "", "the started server's data directory (default: a temporary one); with --url, the server's, to measure its size")
	boolFlag(fs, &f.keep, "keep", "ALIDADE_BENCH_KEEP", "keep the temporary data directory")
	fs.group("Comparison with a peer on the same events in the same run (binaries in ../shared/peers/)")
	fs.str(&f.vsVictoriaLogs, "vs-victorialogs", "ALIDADE_BENCH_VS_VICTORIALOGS", "", "start this VictoriaLogs binary next to Alidade on loopback, send both the same events in alternating rounds, ask both the grouped query, and print both figures and the ratios")
	fs.str(&f.vsRounds, "vs-rounds", "ALIDADE_BENCH_VS_ROUNDS", strconv.Itoa(bench.DefaultVsRounds), "with --vs-victorialogs or --store: alternating ingest rounds, each sending the next share of --points to both; the medians are compared")
	fs.group("Comparison with a cluster node (points in ClickHouse, metadata in PostgreSQL) in the same run")
	fs.str(&f.store, "store", "ALIDADE_BENCH_STORE", "", "clickhouse://HOST:8123/DB[?cluster=NAME&user=...&password=...]: start a cluster node over it next to the embedded store, on a fresh database DB_bench_XXXXXXXX (dropped at the end unless --keep); send both the same points in alternating rounds, run the same queries from raw points on both, and print both figures and the ratios")
	fs.str(&f.meta, "meta", "ALIDADE_BENCH_META", "", "with --store: postgres://USER@HOST:5432/DB?sslmode=...: the metadata store, where the bench creates a project bench-XXXXXXXX (its keys revoked at the end unless --keep)")
	fs.str(&f.errorEvents, "error-events", "ALIDADE_BENCH_ERROR_EVENTS", strconv.Itoa(bench.DefaultClusterErrorEvents), "with --store: Sentry envelopes (one ~5 KB error event each) sent to both after the points, in the same number of alternating rounds, through POST /api/{project}/envelope/")
	fs.group("Output")
	boolFlag(fs, &f.json, "json", "ALIDADE_BENCH_JSON", "print only the JSON line (progress still goes to stderr)")
	fs.footer = fmt.Sprintf(`
The started server takes its other settings from the environment (ALIDADE_MEMORY_LIMIT,
ALIDADE_QUEUE_SIZE, ...). Points go over HTTP, as clients send them. Each query runs
with source=raw and as the server chooses (rollups where they cover); quantiles from
rollups are compared with the exact ones. Budgets on a 2-core machine: ingest >= %d
points/s acknowledged, the 8-group query <= %d ms at 10M points, the dashboard overview
(GET /api/v1/metrics?range=30d) <= %d ms at 100M points over 30 days, rollup quantiles
within %g%% of exact, ingest with rollups >= %g%% of the rate without, <= %d bytes per
point on disk, RSS <= 1 GiB; with --vs-victorialogs, ingest >= %gx VictoriaLogs' events/s.
The issue's run: alidade bench --points 100M --days 30
Against the peer: alidade bench --points 2M --vs-victorialogs ../shared/peers/victoria-logs
Against a cluster: alidade bench --points 1M --store clickhouse://ch1:8123/alidade?cluster=analytics --meta postgres://alidade@pg:5432/alidade
Error tracking (Sentry envelopes): alidade bench errors --help
`, bench.BudgetIngestPointsPerS, bench.BudgetQuery8Ms, bench.BudgetOverviewMs, 100*bench.BudgetQuantileRelErr,
		100*bench.BudgetRollupIngestRatio, bench.BudgetDiskBytesPerPoint, bench.BudgetPeerIngestRatio)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade bench --help", fs.Arg(0))}
	}
	o, err := f.options(fs)
	if err != nil {
		return err
	}
	if o.URL == "" {
		if o.ServerExe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the alidade binary to start: %w", err)
		}
	}
	o.Progress = os.Stderr
	rep, err := bench.Run(ctx, o)
	if rep == nil {
		return err
	}
	// A report with an error (rollups disagreeing with raw points) is
	// printed, then the error decides the exit code.
	if err := printBenchReport(rep, f.json); err != nil {
		return err
	}
	return err
}

// printBenchReport prints the table (unless jsonOnly) and the JSON line.
func printBenchReport(rep *bench.Report, jsonOnly bool) error {
	if !jsonOnly {
		fmt.Println()
		if err := rep.WriteTable(os.Stdout); err != nil {
			return err
		}
		fmt.Println()
	}
	_, err := fmt.Printf("%s\n", rep.JSON())
	return err
}

// options turns the flags into bench options.
func (f *benchFlags) options(fs *flagSet) (bench.Options, error) {
	o := bench.DefaultOptions()
	bad := func(name string, err error) error {
		return &usageError{msg: fmt.Sprintf("--%s: %v\nTry: alidade bench --help", name, err)}
	}
	var err error
	if o.Points, err = bench.ParseCount(f.points); err != nil {
		return o, bad("points", err)
	}
	if f.baselinePoints != "auto" {
		if o.BaselinePoints, err = bench.ParseCount(f.baselinePoints); err != nil {
			return o, bad("baseline-points", err)
		}
	}
	if f.baselinePairs != "auto" {
		n, err := strconv.Atoi(f.baselinePairs)
		if err != nil || n < 0 || n > 100 {
			return o, bad("baseline-pairs", fmt.Errorf("%q is not auto or a whole number from 0 to 100", f.baselinePairs))
		}
		o.BaselinePairs = n
	}
	days, err := strconv.Atoi(f.days)
	if err != nil || days < 1 || days > bench.MaxDays {
		return o, bad("days", fmt.Errorf("%q is not a whole number of days from 1 to %d", f.days, bench.MaxDays))
	}
	o.Days = days
	for _, x := range []struct {
		name, val string
		dst       *int
	}{{"concurrency", f.concurrency, &o.Concurrency}, {"batch", f.batch, &o.Batch}, {"repeat", f.repeat, &o.Repeat}} {
		n, err := bench.ParseCount(x.val)
		if err != nil || n > 1<<30 {
			return o, bad(x.name, fmt.Errorf("%q is not a positive number", x.val))
		}
		*x.dst = int(n)
	}
	if o.Seed, err = strconv.ParseUint(f.seed, 10, 64); err != nil {
		return o, bad("seed", fmt.Errorf("%q is not a whole number", f.seed))
	}
	o.Gzip, o.Keep, o.Settle = f.gzip, f.keep, !f.noSettle
	o.URL, o.DataDir = f.url, f.dataDir
	if f.vsVictoriaLogs != "" {
		if _, err := bench.CheckPeerExe(f.vsVictoriaLogs); err != nil {
			return o, &usageError{msg: fmt.Sprintf("--vs-victorialogs: %v\nTry: alidade bench --vs-victorialogs ../shared/peers/victoria-logs (the peer binary, see ../shared/peers/README.md)", err)}
		}
		o.VictoriaLogs = f.vsVictoriaLogs
	}
	rounds, err := strconv.Atoi(f.vsRounds)
	if err != nil || rounds < 1 || rounds > 100 {
		return o, bad("vs-rounds", fmt.Errorf("%q is not a whole number from 1 to 100", f.vsRounds))
	}
	if o.Cluster, err = f.cluster(); err != nil {
		return o, err
	}
	switch {
	case o.VictoriaLogs != "" && o.Cluster != nil:
		return o, &usageError{msg: "--vs-victorialogs and --store: one comparison at a time\nTry: alidade bench --store URL --meta URL, then alidade bench --vs-victorialogs ..."}
	case o.Cluster != nil && o.URL != "":
		return o, &usageError{msg: "--store starts a cluster node next to an embedded server of its own: it takes no --url\nTry: alidade bench --store URL --meta URL"}
	case o.VictoriaLogs != "" || o.Cluster != nil:
		o.VsRounds = rounds
	case flagGiven(fs, "error-events"):
		return o, &usageError{msg: "--error-events needs --store\nTry: alidade bench --store URL --meta URL --error-events " + f.errorEvents}
	case flagGiven(fs, "vs-rounds"):
		return o, &usageError{msg: "--vs-rounds needs --vs-victorialogs or --store\nTry: alidade bench --vs-victorialogs ../shared/peers/victoria-logs --vs-rounds " + f.vsRounds}
	}
	if o.Cluster != nil {
		n, err := bench.ParseCount(f.errorEvents)
		if err != nil || n < 1 || n > 1<<24 {
			return o, bad("error-events", fmt.Errorf("%q is not a number from 1 to %d", f.errorEvents, 1<<24))
		}
		o.ErrorEvents = int(n)
		// The root key, from the command line or the environment, is the
		// metadata store's: the node never gets it (see ClusterTarget).
		o.Cluster.RootKey = f.rootKey
		for _, name := range []string{"write-key", "read-key"} {
			if flagGiven(fs, name) {
				return o, &usageError{msg: fmt.Sprintf("--%s needs --url: with --store the bench creates its own project\nTry: alidade bench --store URL --meta URL [--root-key ROOT]", name)}
			}
		}
		return o, nil
	}
	if o.URL == "" {
		// Keys name a project of another server; on the command line
		// without --url they are a mistake (from the environment, ignored).
		for _, name := range []string{"write-key", "read-key", "root-key"} {
			if flagGiven(fs, name) {
				return o, &usageError{msg: fmt.Sprintf("--%s needs --url: without it the bench starts its own server\nTry: alidade bench --url http://127.0.0.1:8080 --root-key ...", name)}
			}
		}
		return o, nil
	}
	o.WriteKey, o.ReadKey, o.RootKey = f.writeKey, f.readKey, f.rootKey
	if (o.WriteKey == "") != (o.ReadKey == "") {
		return o, &usageError{msg: "--write-key and --read-key go together (keys of one project)\nTry: alidade bench --url URL --write-key W --read-key R, or --root-key ROOT"}
	}
	if o.WriteKey == "" && o.RootKey == "" {
		return o, &usageError{msg: "--url needs --write-key and --read-key, or --root-key to create a bench project\nTry: alidade bench --url " + o.URL + " --root-key $ALIDADE_ROOT_KEY"}
	}
	return o, nil
}

// cluster reads --store and --meta: nil when neither is given.
func (f *benchFlags) cluster() (*bench.ClusterTarget, error) {
	switch {
	case f.store == "" && f.meta == "":
		return nil, nil
	case f.meta == "":
		return nil, &usageError{msg: "--store needs --meta: a cluster node keeps its metadata in PostgreSQL\nTry: alidade bench --store " + f.store + " --meta postgres://USER@HOST:5432/DB"}
	case f.store == "":
		return nil, &usageError{msg: "--meta needs --store: a cluster node keeps its points in ClickHouse\nTry: alidade bench --store clickhouse://HOST:8123/DB --meta URL"}
	}
	cfg, err := clickhouse.ParseURL(f.store)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--store: %v\nTry: alidade bench --store clickhouse://HOST:8123/DB[?cluster=NAME] --meta URL", err)}
	}
	if u, err := url.Parse(f.meta); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, &usageError{msg: fmt.Sprintf("--meta: %q is not a postgres://USER@HOST:5432/DB URL\nTry: alidade bench --store URL --meta postgres://USER@HOST:5432/DB?sslmode=disable", redactURL(f.meta))}
	}
	return &bench.ClusterTarget{HTTP: cfg.HTTP, Database: cfg.Database, Cluster: cfg.Cluster, User: cfg.User, Password: cfg.Password, Rollups: cfg.Rollups, Meta: f.meta}, nil
}

// flagGiven reports whether name was set on the command line.
func flagGiven(fs *flagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// boolFlag declares a bool flag in the last group with an environment
// fallback (1, true, yes or 0, false, no).
func boolFlag(fs *flagSet, p *bool, name, envVar, usage string) {
	def := false
	if v, ok := os.LookupEnv(envVar); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		} else {
			def = v == "yes"
		}
	}
	fs.BoolVar(p, name, def, usage)
	fs.env[name] = envVar
	g := &fs.groups[len(fs.groups)-1]
	g.names = append(g.names, name)
}
