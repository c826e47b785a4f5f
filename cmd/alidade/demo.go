package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/alidade/alidade/internal/demo"
)

// runDemo fills a project with a realistic stretch of a tutoring platform's
// traffic, so that every metric has something to show.
func runDemo(ctx context.Context, args []string) error {
	o := demo.DefaultOptions()
	var url, key, days, scale, seed, senders string
	fs := newFlagSet("demo", "demo [flags]")
	fs.group("Server")
	fs.str(&url, "url", "ALIDADE_URL", o.URL, "the server's base URL")
	fs.str(&key, "key", "ALIDADE_WRITE_KEY", os.Getenv("ALIDADE_KEY"), "a write (or admin) key of the project to fill; also $ALIDADE_KEY")
	fs.group("Traffic")
	fs.str(&days, "days", "", strconv.Itoa(o.Days), "days of traffic, ending now (within the server's retention)")
	fs.str(&scale, "scale", "", strconv.Itoa(o.Scale), "requests per minute at the daily peak (120: about 2.2 million points and 1,200 error events a week)")
	fs.str(&seed, "seed", "", strconv.FormatUint(o.Seed, 10), "seed of the generator: the same seed makes the same traffic")
	fs.str(&senders, "senders", "", strconv.Itoa(o.Senders), "write requests in flight at once")
	fs.footer = "\nThe traffic of an AI tutoring platform for every built-in dataset: chat with AI calls, assessments\n" +
		"and grade passbacks, searches, WebSocket sessions, intent predictions labelled later, an endpoint's\n" +
		"latency spike and 5xx burst, an AI provider slowdown, an LMS down for an hour, and a model with no price;\n" +
		"its web app's visitors (page views, Core Web Vitals, API calls, Redux actions, WebSocket events); and what\n" +
		"its Sentry SDKs send: errors of 13 bugs over two releases, transactions, sessions, logs, two cron monitors.\n" +
		"With an admin key the demo also resolves two bugs at the deploy (one comes back: a regression).\n"
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade demo --help", fs.Arg(0))}
	}
	o.URL, o.Key, o.Progress = url, key, os.Stderr
	for _, n := range []struct {
		name string
		s    string
		dst  *int
	}{{"days", days, &o.Days}, {"scale", scale, &o.Scale}, {"senders", senders, &o.Senders}} {
		v, err := strconv.Atoi(n.s)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("--%s: %q is not a whole number", n.name, n.s)}
		}
		*n.dst = v
	}
	var err error
	if o.Seed, err = strconv.ParseUint(seed, 10, 64); err != nil {
		return &usageError{msg: fmt.Sprintf("--seed: %q is not a whole number", seed)}
	}
	if key == "" {
		return &usageError{msg: "no write key: pass --key or set ALIDADE_WRITE_KEY (or ALIDADE_KEY)"}
	}
	if err := o.Validate(); err != nil {
		return &usageError{msg: err.Error() + "\nTry: alidade demo --help"}
	}
	fmt.Fprintf(os.Stderr, "demo: writing %d days of traffic (peak %d requests/min, seed %d) to %s\n", o.Days, o.Scale, o.Seed, o.URL)
	rep, err := demo.Run(ctx, o)
	if rep != nil {
		fmt.Fprintln(os.Stderr, "demo:", rep)
		if rep.FirstRejection != "" {
			fmt.Fprintln(os.Stderr, "demo: the first point refused:", rep.FirstRejection)
		}
	}
	if err != nil {
		return err
	}
	if rep.Errors.StatusNote != "" {
		fmt.Fprintln(os.Stderr, "demo: note:", rep.Errors.StatusNote)
	}
	fmt.Fprintf(os.Stderr, "demo: done; with a read key see %s/api/v1/metrics?range=%dd&interval=1h, /api/v1/web?range=%dd and /api/v1/error-groups\n",
		o.URL, o.Days, o.Days)
	return nil
}
