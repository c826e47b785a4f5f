// Command alidade is Alidade's single binary: the server and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	// Time zones (alert rules' "today", cron monitors' schedules) work on
	// a host without a zoneinfo database too.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

var commands = []command{
	{"serve", "run the server", runServe},
	{"projects", "create and list projects (root key)", runProjects},
	{"keys", "create, list and revoke a project's keys (admin key)", runKeys},
	{"sql", "run a query of the SQL API (Analytics Engine's dialect)", runSQL},
	{"tail", "stream a project's records live as they are written (read key)", runTail},
	{"rollups", "rebuild rollups from raw points, or show their specs (admin key)", runRollups},
	{"migrate", "copy an embedded data directory into a cluster (ClickHouse and PostgreSQL)", runMigrate},
	{"bench", "measure ingest and query speed end to end", runBench},
	{"demo", "fill a project with a realistic week of traffic", runDemo},
	{"version", "print the version", runVersion},
}

// usageError is a mistake on the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usage() {
	fmt.Fprintln(os.Stderr, "Alidade: self-hosted observability and analytics for web apps with AI features.")
	fmt.Fprintln(os.Stderr, "\nUsage: alidade <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'alidade <command> --help' for a command's flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name != os.Args[1] {
			continue
		}
		err := c.run(ctx, os.Args[2:])
		var ue *usageError
		switch {
		case err == nil:
		case errors.Is(err, flag.ErrHelp):
		case errors.As(err, &ue):
			fmt.Fprintf(os.Stderr, "alidade %s: %v\n", c.name, err)
			os.Exit(2)
		default:
			fmt.Fprintf(os.Stderr, "alidade %s: %v\n", c.name, err)
			os.Exit(1)
		}
		return
	}
	fmt.Fprintf(os.Stderr, "alidade: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

func runVersion(ctx context.Context, args []string) error {
	fmt.Println("alidade", version)
	return nil
}
