package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/alidade/alidade/internal/bench"
)

// runBenchErrors is `alidade bench errors`: error tracking's ingest over
// HTTP, as Sentry SDKs send it, against a server it starts.
func runBenchErrors(ctx context.Context, args []string) error {
	d := bench.DefaultErrorsOptions()
	var events, concurrency, groups, seed, dataDir string
	var keep, jsonOnly bool
	fs := newFlagSet("bench errors", "bench errors [flags]")
	fs.group("Workload")
	fs.str(&events, "events", "ALIDADE_BENCH_ERRORS_EVENTS", strconv.Itoa(d.Events), "error events to send, one ~5 KB Sentry envelope each")
	fs.str(&concurrency, "concurrency", "ALIDADE_BENCH_ERRORS_CONCURRENCY", strconv.Itoa(d.Concurrency), "concurrent clients (SDKs), each waiting for its answer")
	fs.str(&groups, "groups", "ALIDADE_BENCH_ERRORS_GROUPS", strconv.Itoa(d.Groups), "distinct fingerprints (error groups) the events fall into")
	fs.str(&seed, "seed", "ALIDADE_BENCH_SEED", "1", "seed of the event ids")
	fs.group("Server (started on a temporary data directory)")
	fs.str(&dataDir, "data-dir", "ALIDADE_BENCH_DATA_DIR", "", "the started server's data directory (default: a temporary one)")
	boolFlag(fs, &keep, "keep", "ALIDADE_BENCH_KEEP", "keep the temporary data directory")
	fs.group("Output")
	boolFlag(fs, &jsonOnly, "json", "ALIDADE_BENCH_JSON", "print only the JSON line (progress still goes to stderr)")
	fs.footer = fmt.Sprintf(`
Sends Sentry envelopes of one error event each (an exception with 20 frames, 12
breadcrumbs, tags, a user; about 5 KB) to POST /api/{project}/envelope/ of a server
it starts, each acknowledged once its group, event and errors point are durable.
Budgets on a 2-core machine: >= %d events/s acknowledged, server RSS <= %d MB.
The started server takes its other settings from the environment.
`, bench.BudgetErrorEventsPerS, bench.BudgetErrorsRSSBytes>>20)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade bench errors --help", fs.Arg(0))}
	}
	o := d
	for _, x := range []struct {
		name, val string
		dst       *int
	}{{"events", events, &o.Events}, {"concurrency", concurrency, &o.Concurrency}, {"groups", groups, &o.Groups}} {
		n, err := bench.ParseCount(x.val)
		if err != nil || n < 1 || n > 1<<30 {
			return &usageError{msg: fmt.Sprintf("--%s: %q is not a positive number\nTry: alidade bench errors --help", x.name, x.val)}
		}
		*x.dst = int(n)
	}
	var err error
	if o.Seed, err = strconv.ParseUint(seed, 10, 64); err != nil {
		return &usageError{msg: fmt.Sprintf("--seed: %q is not a whole number", seed)}
	}
	o.DataDir, o.Keep, o.Progress = dataDir, keep, os.Stderr
	if o.ServerExe, err = os.Executable(); err != nil {
		return fmt.Errorf("find the alidade binary to start: %w", err)
	}
	rep, err := bench.RunErrors(ctx, o)
	if err != nil {
		return err
	}
	if !jsonOnly {
		fmt.Println()
		if err := rep.WriteTable(os.Stdout); err != nil {
			return err
		}
		fmt.Println()
	}
	_, err = fmt.Printf("%s\n", rep.JSON())
	return err
}
