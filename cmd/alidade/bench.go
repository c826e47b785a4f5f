package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/alidade/alidade/internal/bench"
)

type benchFlags struct {
	points, concurrency, batch, repeat, seed string
	url, writeKey, readKey, rootKey, dataDir string
	gzip, keep, json                         bool
}

func runBench(ctx context.Context, args []string) error {
	var f benchFlags
	fs := newFlagSet("bench", "bench [flags]")
	fs.group("Workload")
	fs.str(&f.points, "points", "ALIDADE_BENCH_POINTS", "1000000", "points to write (20000, 1e6, 1.5M and 10M work)")
	fs.str(&f.concurrency, "concurrency", "ALIDADE_BENCH_CONCURRENCY", "4", "concurrent writing clients")
	fs.str(&f.batch, "batch", "ALIDADE_BENCH_BATCH", "10000", "points per write request")
	boolFlag(fs, &f.gzip, "gzip", "ALIDADE_BENCH_GZIP", "gzip the write bodies (compressed before timing)")
	fs.str(&f.repeat, "repeat", "ALIDADE_BENCH_REPEAT", "5", "runs of each query; the median is reported")
	fs.str(&f.seed, "seed", "ALIDADE_BENCH_SEED", "1", "seed of the generated points")
	fs.group("Target (default: start a server on a temporary data directory)")
	fs.str(&f.url, "url", "ALIDADE_BENCH_URL", "", "bench the running server at this URL instead")
	fs.str(&f.writeKey, "write-key", "ALIDADE_WRITE_KEY", "", "with --url: a project's write key")
	fs.str(&f.readKey, "read-key", "ALIDADE_READ_KEY", "", "with --url: the same project's read key")
	fs.str(&f.rootKey, "root-key", "ALIDADE_ROOT_KEY", "", "with --url: the root key, to create a project for the bench instead")
	fs.str(&f.dataDir, "data-dir", "ALIDADE_BENCH_DATA_DIR", "", "the started server's data directory (default: a temporary one); with --url, the server's, to measure its size")
	boolFlag(fs, &f.keep, "keep", "ALIDADE_BENCH_KEEP", "keep the temporary data directory")
	fs.group("Output")
	boolFlag(fs, &f.json, "json", "ALIDADE_BENCH_JSON", "print only the JSON line (progress still goes to stderr)")
	fs.footer = fmt.Sprintf(`
The started server takes its other settings from the environment (ALIDADE_MEMORY_LIMIT,
ALIDADE_QUEUE_SIZE, ...). Budgets on a 2-core machine: ingest >= %d points/s acknowledged,
the 8-group query <= %d ms at 10M points, <= %d bytes per point on disk, peak RSS <= 1 GiB.
`, bench.BudgetIngestPointsPerS, bench.BudgetQuery8Ms, bench.BudgetDiskBytesPerPoint)
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
	if err != nil {
		return err
	}
	if !f.json {
		fmt.Println()
		if err := rep.WriteTable(os.Stdout); err != nil {
			return err
		}
		fmt.Println()
	}
	_, err = fmt.Printf("%s\n", rep.JSON())
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
	o.Gzip, o.Keep = f.gzip, f.keep
	o.URL, o.DataDir = f.url, f.dataDir
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
