package lighthouse

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Version is the Lighthouse release Alidade is tested with and tells people
// to install: the last that runs on Node 20 (13 wants Node 22).
const Version = "12.2.3"

// Options configure a Runner. The zero value of a field means its default.
type Options struct {
	// Node is the node executable. Lighthouse 12 needs Node.js >= 18.20.
	Node string
	// Lighthouse is Lighthouse's CLI: the path of its cli/index.js, or of the
	// node_modules/.bin/lighthouse link to it. It is run as `Node Lighthouse …`.
	Lighthouse string
	// Chrome is the Chromium (or Chrome) executable, handed to Lighthouse as
	// CHROME_PATH.
	Chrome string
	// ToolsDir is where Available tells people to install Lighthouse
	// (`npm i -E --prefix ToolsDir lighthouse@12.2.3`); Find looks there.
	ToolsDir string
	// Concurrency is how many runs may go at once (default 1: a run wants
	// most of a small machine's CPU, and contention skews its timings).
	Concurrency int
	// QueueMax is how many runs may wait for a free slot (default 10);
	// past it Run returns ErrQueueFull.
	QueueMax int
	// Timeout bounds one run, queue time excluded (default 120 s).
	Timeout time.Duration
	// TempDir holds each run's working directory (its reports and
	// Chromium's profile), removed after the run; "" is os.TempDir().
	TempDir string
	// Logger gets an info line per finished run (and, at debug level, why a
	// run failed: Run returns that error); nil discards.
	Logger *slog.Logger
}

// DefaultOptions returns the defaults, with no tools located (see Find).
func DefaultOptions() Options {
	return Options{Concurrency: 1, QueueMax: 10, Timeout: 120 * time.Second}
}

// Validate checks the numbers; missing tools are Available's business, not
// an error (the server starts without them).
func (o Options) Validate() error {
	switch {
	case o.Concurrency < 0:
		return errors.New("lighthouse: concurrency must be at least 1")
	case o.QueueMax < 0:
		return errors.New("lighthouse: the queue bound must not be negative")
	case o.Timeout < 0:
		return errors.New("lighthouse: the timeout must be positive")
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Concurrency == 0 {
		o.Concurrency = d.Concurrency
	}
	if o.QueueMax == 0 {
		o.QueueMax = d.QueueMax
	}
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Find returns DefaultOptions with the tools located, and ToolsDir set to
// dataDir/tools. It looks for:
//   - Node: $ALIDADE_NODE, else `node` on PATH;
//   - Lighthouse: $ALIDADE_LIGHTHOUSE (its cli/index.js or bin), else
//     dataDir/tools/node_modules/lighthouse/cli/index.js (what
//     `npm i -E --prefix DATA_DIR/tools lighthouse@12.2.3` installs), else
//     `lighthouse` on PATH (e.g. `npm i -g lighthouse@12.2.3`);
//   - Chromium: $CHROME_PATH, else /usr/bin/chromium, else chromium,
//     chromium-browser, google-chrome or google-chrome-stable on PATH.
//
// A variable that is set wins even when its file is missing, so that
// Available names the mistake. A tool not found is left "", and Available
// says so.
func Find(dataDir string) Options {
	o := DefaultOptions()
	if dataDir != "" {
		o.ToolsDir = filepath.Join(dataDir, "tools")
	}
	o.Node = envOr("ALIDADE_NODE", lookPath("node"))
	var inTools string
	if o.ToolsDir != "" {
		inTools = filepath.Join(o.ToolsDir, "node_modules", "lighthouse", "cli", "index.js")
	}
	o.Lighthouse = envOr("ALIDADE_LIGHTHOUSE", firstExisting(inTools, lookPath("lighthouse")))
	o.Chrome = envOr("CHROME_PATH", firstExisting("/usr/bin/chromium", lookPath("chromium"),
		lookPath("chromium-browser"), lookPath("google-chrome"), lookPath("google-chrome-stable")))
	return o
}

// envOr returns the environment variable name when it is set, else fallback.
func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// firstExisting returns the first non-empty path that names a file.
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}
