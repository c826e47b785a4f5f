package lighthouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnavailable is a run asked of a Runner whose tools are missing; the
// error says which and how to install them (as Available does).
var ErrUnavailable = errors.New("lighthouse: page runs are unavailable")

//go:embed compat/*.mjs
var compatFS embed.FS

// Runner runs Lighthouse, at most Options.Concurrency runs at a time.
type Runner struct {
	opts    Options
	sem     chan struct{}
	waiting atomic.Int64
	base    context.Context
	stop    context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	nodeOK map[string]string // node path → "" when fit, else why not
}

// New returns a Runner; it starts nothing until Run.
func New(opts Options) (*Runner, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	r := &Runner{opts: opts, sem: make(chan struct{}, opts.Concurrency), nodeOK: map[string]string{}}
	r.base, r.stop = context.WithCancel(context.Background())
	return r, nil
}

// Options returns the runner's options, defaults filled in.
func (r *Runner) Options() Options { return r.opts }

// Close stops queued runs, kills running ones and waits for them.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
	return nil
}

// Available says whether page runs can run here, and if not why (what to
// install and how). It looks at the files each time, so tools installed
// while the server runs count at once (at their configured paths).
func (r *Runner) Available() (ok bool, why string) {
	var missing []string
	if w := r.checkNode(); w != "" {
		missing = append(missing, w)
	}
	tools := r.opts.ToolsDir
	if tools == "" {
		tools = "DATA_DIR/tools"
	}
	install := fmt.Sprintf("install it with `npm i -E --prefix %s lighthouse@%s` (or set ALIDADE_LIGHTHOUSE to its cli/index.js)", tools, Version)
	switch lh := r.opts.Lighthouse; {
	case lh == "":
		missing = append(missing, "Lighthouse is not installed: "+install)
	case !isFile(lh):
		missing = append(missing, fmt.Sprintf("Lighthouse is not at %s: %s", lh, install))
	}
	chromeHint := "install Debian's chromium with `apt-get install chromium` (or set CHROME_PATH to a Chromium or Chrome)"
	switch c := r.opts.Chrome; {
	case c == "":
		missing = append(missing, "Chromium is not installed: "+chromeHint)
	case !isFile(c):
		missing = append(missing, fmt.Sprintf("Chromium is not at %s: %s", c, chromeHint))
	}
	if len(missing) == 0 {
		return true, ""
	}
	return false, "page checks need Node.js, Lighthouse and Chromium: " + strings.Join(missing, "; ")
}

// checkNode returns "" when Node is there and new enough, else why not.
func (r *Runner) checkNode() string {
	const hint = "install Node.js 18.20 or later, e.g. `apt-get install nodejs npm` (or set ALIDADE_NODE)"
	node := r.opts.Node
	if node == "" {
		return "Node.js is not installed: " + hint
	}
	if !isFile(node) {
		return fmt.Sprintf("Node.js is not at %s: %s", node, hint)
	}
	r.mu.Lock()
	why, done := r.nodeOK[node]
	r.mu.Unlock()
	if done {
		return why
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	v := strings.TrimSpace(string(out))
	switch {
	case err != nil:
		why = fmt.Sprintf("%s --version failed (%v): %s", node, err, hint)
	case !nodeFit(v):
		why = fmt.Sprintf("Node.js %s at %s is too old for Lighthouse %s: %s", v, node, Version, hint)
	}
	if err == nil || ctx.Err() == nil {
		r.mu.Lock()
		r.nodeOK[node] = why
		r.mu.Unlock()
	}
	return why
}

// nodeFit reports whether `node --version` output v is 18.20 or later.
func nodeFit(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (major > 18 || major == 18 && minor >= 20)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// Args returns the Lighthouse command-line flags for a run of device
// ("mobile", the default, or "desktop"), the output path excepted.
func Args(device string, root bool) ([]string, error) {
	chromeFlags := "--headless=new --disable-dev-shm-usage"
	if root {
		chromeFlags += " --no-sandbox" // Chromium refuses to run as root with its sandbox
	}
	args := []string{
		"--output=json", "--output=html",
		"--only-categories=performance",
		"--quiet",
		"--chrome-flags=" + chromeFlags,
	}
	switch device {
	case "", "mobile": // Lighthouse's default: a mobile form factor, throttled
	case "desktop":
		args = append(args, "--preset=desktop")
	default:
		return nil, fmt.Errorf("lighthouse: device %q: want mobile or desktop", device)
	}
	return args, nil
}

// checkURL accepts absolute http and https URLs only (which also keeps a
// URL from reading as a flag).
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("lighthouse: url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("lighthouse: url %q: want an absolute http or https URL", raw)
	}
	return nil
}

// Run runs the page test; at most Concurrency at a time per node, further
// runs queue (bounded: ErrQueueFull past it). Options.Timeout bounds the run
// itself, ctx the whole call. When Lighthouse says the page could not be
// tested, the error is a *RuntimeError and the Result, not nil, carries only
// the reports (ReportJSON, ReportHTML), which are worth keeping.
func (r *Runner) Run(ctx context.Context, pageURL, device string) (*Result, error) {
	if err := checkURL(pageURL); err != nil {
		return nil, err
	}
	args, err := Args(device, os.Geteuid() == 0)
	if err != nil {
		return nil, err
	}
	if ok, why := r.Available(); !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, why)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()

	select {
	case r.sem <- struct{}{}:
	default:
		if r.waiting.Add(1) > int64(r.opts.QueueMax) {
			r.waiting.Add(-1)
			return nil, ErrQueueFull
		}
		select {
		case r.sem <- struct{}{}:
			r.waiting.Add(-1)
		case <-ctx.Done():
			r.waiting.Add(-1)
			return nil, ctx.Err()
		case <-r.base.Done():
			r.waiting.Add(-1)
			return nil, ErrClosed
		}
	}
	defer func() { <-r.sem }()
	return r.run(ctx, pageURL, device, args)
}

// Queued returns how many runs wait for a slot.
func (r *Runner) Queued() int { return int(r.waiting.Load()) }

func (r *Runner) run(ctx context.Context, pageURL, device string, args []string) (*Result, error) {
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	defer context.AfterFunc(r.base, cancel)()

	dir, err := os.MkdirTemp(r.opts.TempDir, "alidade-lighthouse-")
	if err != nil {
		return nil, fmt.Errorf("lighthouse: %w", err)
	}
	defer os.RemoveAll(dir)
	register, err := writeCompat(dir)
	if err != nil {
		return nil, fmt.Errorf("lighthouse: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		return nil, fmt.Errorf("lighthouse: %w", err)
	}
	defer logf.Close()

	out := filepath.Join(dir, "report")
	argv := append([]string{"--import", register, r.opts.Lighthouse, pageURL}, args...)
	argv = append(argv, "--output-path="+out)
	cmd := exec.Command(r.opts.Node, argv...)
	cmd.Dir = dir
	// TMPDIR puts Chromium's profile (chrome-launcher makes it in the temp
	// directory) inside dir: removed with it, and the mark by which Chromium's
	// processes are found if Lighthouse dies without closing them.
	cmd.Env = append(environ("CHROME_PATH", "TMPDIR"), "CHROME_PATH="+r.opts.Chrome, "TMPDIR="+dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lighthouse: start %s: %w", r.opts.Node, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-waited:
	case <-runCtx.Done():
		// SIGINT first: chrome-launcher then closes its Chromium; then the kill.
		signalGroup(cmd.Process.Pid, false)
		select {
		case exitErr = <-waited:
		case <-time.After(3 * time.Second):
			signalGroup(cmd.Process.Pid, true)
			exitErr = <-waited
		}
	}
	signalGroup(cmd.Process.Pid, true)           // whatever Lighthouse left behind
	killMarked(dir + string(filepath.Separator)) // Chromium, in a process group of its own
	took := time.Since(start)

	if runCtx.Err() != nil {
		switch {
		case r.base.Err() != nil:
			err = ErrClosed
		case ctx.Err() != nil:
			err = ctx.Err()
		default:
			err = fmt.Errorf("%w after %s (%s, %s)", ErrTimeout, r.opts.Timeout, pageURL, device)
		}
		r.opts.Logger.Debug("lighthouse run stopped", "url", pageURL, "device", device, "ms", took.Milliseconds(), "err", err)
		return nil, err
	}
	jsonData, jerr := os.ReadFile(out + ".report.json")
	htmlData, _ := os.ReadFile(out + ".report.html")
	if jerr != nil {
		err := fmt.Errorf("lighthouse: no report (%v): %s", exitErr, tail(logf, 2048))
		r.opts.Logger.Debug("lighthouse run failed", "url", pageURL, "device", device, "ms", took.Milliseconds(), "err", err)
		return nil, err
	}
	res, err := ParseReport(jsonData)
	if err != nil {
		var rt *RuntimeError
		if errors.As(err, &rt) {
			r.opts.Logger.Debug("lighthouse run: page not tested", "url", pageURL, "device", device, "ms", took.Milliseconds(), "err", err)
			return &Result{ReportJSON: jsonData, ReportHTML: htmlData}, err
		}
		return nil, err
	}
	res.ReportHTML = htmlData
	r.opts.Logger.Info("lighthouse run", "url", pageURL, "device", device, "ms", took.Milliseconds(),
		"score", res.Score, "lcp", res.Metrics.LCP)
	return res, nil
}

// writeCompat writes the compatibility hooks into dir and returns the
// file: URL of the module that registers them.
func writeCompat(dir string) (string, error) {
	cdir := filepath.Join(dir, "compat")
	if err := os.Mkdir(cdir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"register.mjs", "hooks.mjs"} {
		b, err := compatFS.ReadFile("compat/" + name)
		if err != nil {
			panic("BUG: compat file missing: " + name)
		}
		if err := os.WriteFile(filepath.Join(cdir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(filepath.Join(cdir, "register.mjs"))
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// environ returns the process environment without the named variables.
func environ(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, d := range drop {
			if name == d {
				keep = false
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// tail returns the last n bytes of f, trimmed.
func tail(f *os.File, n int64) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
