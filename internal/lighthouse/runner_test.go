package lighthouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeNode writes a shell script that stands in for `node --import … cli.js
// URL flags…`: it answers --version, records its arguments and environment,
// and acts by the URL's path: /ok writes slow.json's report, /error
// error.json's (and exits 1), /crash prints to stderr and exits 1, /wait
// sleeps 1 s first, /hang starts a process in a session of its own (as
// chrome-launcher starts Chromium) whose command line carries $TMPDIR, and
// waits.
func fakeNode(t *testing.T, version string) (node, record string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the fake node is a Linux shell script")
	}
	dir := t.TempDir()
	record = filepath.Join(dir, "record")
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = --version ]; then echo %s; exit 0; fi
out=; url=
for a in "$@"; do case $a in --output-path=*) out=${a#--output-path=};; http*) url=$a;; esac; done
echo "args: $*" >> %[2]s
echo "env: CHROME_PATH=$CHROME_PATH TMPDIR=$TMPDIR" >> %[2]s
case $url in
*/wait) sleep 1; cp %[3]s "$out.report.json"; echo '<html>ok</html>' > "$out.report.html";;
*/ok) cp %[3]s "$out.report.json"; echo '<html>ok</html>' > "$out.report.html";;
*/error) cp %[4]s "$out.report.json"; echo '<html>error</html>' > "$out.report.html"; echo "Runtime error encountered" >&2; exit 1;;
*/crash) echo "boom: Unable to connect to Chrome" >&2; exit 1;;
*/hang) setsid sh -c 'sleep 300; :' "$TMPDIR/chrome-profile" & echo "pid: $!" >> %[2]s; sleep 300; wait;;
esac
`, version, record, abs("slow.json"), abs("error.json"))
	node = filepath.Join(dir, "node")
	if err := os.WriteFile(node, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return node, record
}

// fakeRunner returns a Runner whose Node is the fake; Lighthouse and Chrome
// are files that exist (the fake never runs them).
func fakeRunner(t *testing.T, mod func(*Options)) (*Runner, string) {
	t.Helper()
	node, record := fakeNode(t, "v20.20.2")
	dir := t.TempDir()
	lh, chrome := filepath.Join(dir, "index.js"), filepath.Join(dir, "chromium")
	for _, f := range []string{lh, chrome} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Node: node, Lighthouse: lh, Chrome: chrome, TempDir: t.TempDir()}
	if mod != nil {
		mod(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, record
}

func TestRunReadsTheReport(t *testing.T) {
	r, record := fakeRunner(t, nil)
	res, err := r.Run(context.Background(), "http://127.0.0.1:1/ok", "desktop")
	if err != nil {
		t.Fatalf("Run(ok) = %v", err)
	}
	if res.Score != 79 || res.LCPElement != "body > img.hero" || string(res.ReportHTML) != "<html>ok</html>\n" {
		t.Errorf("Run(ok) = score %d, LCP element %q, HTML %q", res.Score, res.LCPElement, res.ReportHTML)
	}
	rec, _ := os.ReadFile(record)
	for _, want := range []string{
		"--import file:///", "/compat/register.mjs ", "index.js http://127.0.0.1:1/ok ",
		"--output=json --output=html --only-categories=performance --quiet --chrome-flags=--headless=new",
		"--preset=desktop --output-path=", "CHROME_PATH=" + r.opts.Chrome + " TMPDIR=" + r.opts.TempDir + "/alidade-lighthouse-",
	} {
		if !strings.Contains(string(rec), want) {
			t.Errorf("the fake node got\n%s\nwant it to contain %q", rec, want)
		}
	}
	if ents, _ := os.ReadDir(r.opts.TempDir); len(ents) != 0 {
		t.Errorf("run directory left behind: %v", ents)
	}
}

func TestArgs(t *testing.T) {
	mobile, _ := Args("mobile", true)
	desktop, _ := Args("desktop", false)
	if strings.Contains(strings.Join(mobile, " "), "--preset") || !strings.Contains(strings.Join(mobile, " "), "--no-sandbox") {
		t.Errorf("Args(mobile, root) = %q; want no preset, --no-sandbox", mobile)
	}
	if !strings.Contains(strings.Join(desktop, " "), "--preset=desktop") || strings.Contains(strings.Join(desktop, " "), "--no-sandbox") {
		t.Errorf("Args(desktop, not root) = %q; want --preset=desktop, no --no-sandbox", desktop)
	}
	if _, err := Args("tablet", false); err == nil {
		t.Errorf("Args(tablet) = nil error; want one")
	}
}

func TestRunRejects(t *testing.T) {
	r, _ := fakeRunner(t, nil)
	for _, c := range []struct{ url, device string }{
		{"ftp://example.com/", "mobile"}, {"--chrome-flags=--evil", "mobile"}, {"http://", "mobile"},
		{"/relative", "mobile"}, {"http://example.com/", "tablet"},
	} {
		if _, err := r.Run(context.Background(), c.url, c.device); err == nil {
			t.Errorf("Run(%q, %q) = nil error; want one", c.url, c.device)
		}
	}
}

func TestRunErrors(t *testing.T) {
	r, _ := fakeRunner(t, nil)
	res, err := r.Run(context.Background(), "http://127.0.0.1:1/error", "mobile")
	var rt *RuntimeError
	if !errors.As(err, &rt) || rt.Code != "ERRORED_DOCUMENT_REQUEST" {
		t.Errorf("Run(error) = %v; want a *RuntimeError ERRORED_DOCUMENT_REQUEST", err)
	}
	if res == nil || len(res.ReportJSON) == 0 || string(res.ReportHTML) != "<html>error</html>\n" {
		t.Errorf("Run(error) = %+v; want the reports kept", res)
	}
	_, err = r.Run(context.Background(), "http://127.0.0.1:1/crash", "mobile")
	if err == nil || !strings.Contains(err.Error(), "boom: Unable to connect to Chrome") || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("Run(crash) = %v; want the exit status and Lighthouse's output", err)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}

// hungPid returns the pid of the detached process the fake's /hang started.
func hungPid(t *testing.T, record string) int {
	t.Helper()
	rec, _ := os.ReadFile(record)
	_, after, ok := strings.Cut(string(rec), "pid: ")
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]))
	if !ok || err != nil {
		t.Fatalf("no pid in the record:\n%s", rec)
	}
	return pid
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d (Chromium's stand-in) still runs after the run ended", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunTimeoutKillsEverything(t *testing.T) {
	r, record := fakeRunner(t, func(o *Options) { o.Timeout = 1500 * time.Millisecond })
	start := time.Now()
	_, err := r.Run(context.Background(), "http://127.0.0.1:1/hang", "mobile")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run(hang) = %v; want ErrTimeout", err)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("Run(hang) took %v; want about the 1.5 s timeout", took)
	}
	waitDead(t, hungPid(t, record))
	if ents, _ := os.ReadDir(r.opts.TempDir); len(ents) != 0 {
		t.Errorf("run directory left behind: %v", ents)
	}
}

func TestRunCancel(t *testing.T) {
	r, record := fakeRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(800*time.Millisecond, cancel)
	_, err := r.Run(ctx, "http://127.0.0.1:1/hang", "mobile")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run(hang) cancelled = %v; want context.Canceled", err)
	}
	waitDead(t, hungPid(t, record))
}

func TestRunQueue(t *testing.T) {
	r, record := fakeRunner(t, func(o *Options) { o.Concurrency = 1; o.QueueMax = 1 })
	ctx := context.Background()
	errs := make(chan error, 2)
	go func() { _, err := r.Run(ctx, "http://127.0.0.1:1/wait", "mobile"); errs <- err }()
	waitFor(t, func() bool { b, _ := os.ReadFile(record); return strings.Contains(string(b), "/wait") })
	go func() { _, err := r.Run(ctx, "http://127.0.0.1:1/ok", "mobile"); errs <- err }()
	waitFor(t, func() bool { return r.Queued() == 1 })
	if _, err := r.Run(ctx, "http://127.0.0.1:1/ok", "mobile"); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third Run with one running and one queued = %v; want ErrQueueFull", err)
	}
	// A queued run gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	r2, _ := fakeRunner(t, func(o *Options) { o.QueueMax = 5 })
	r2.sem <- struct{}{} // the only slot, taken
	if _, err := r2.Run(short, "http://127.0.0.1:1/ok", "mobile"); !errors.Is(err, context.DeadlineExceeded) || r2.Queued() != 0 {
		t.Errorf("queued Run past its context = %v (queued %d); want DeadlineExceeded, 0", err, r2.Queued())
	}
	<-r2.sem
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
	rec, _ := os.ReadFile(record)
	if n := strings.Count(string(rec), "args: "); n != 2 {
		t.Errorf("the fake node ran %d times; want 2", n)
	}
}

func TestClose(t *testing.T) {
	r, record := fakeRunner(t, nil)
	errs := make(chan error, 1)
	go func() { _, err := r.Run(context.Background(), "http://127.0.0.1:1/hang", "mobile"); errs <- err }()
	waitFor(t, func() bool { b, _ := os.ReadFile(record); return strings.Contains(string(b), "pid: ") })
	r.Close()
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Errorf("Run during Close = %v; want ErrClosed", err)
	}
	waitDead(t, hungPid(t, record))
	if _, err := r.Run(context.Background(), "http://127.0.0.1:1/ok", "mobile"); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v; want ErrClosed", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAvailable(t *testing.T) {
	r, err := New(Options{ToolsDir: "/srv/alidade-data/tools"})
	if err != nil {
		t.Fatal(err)
	}
	ok, why := r.Available()
	for _, want := range []string{
		"Node.js is not installed", "apt-get install nodejs npm",
		"Lighthouse is not installed", "npm i -E --prefix /srv/alidade-data/tools lighthouse@12.2.3",
		"Chromium is not installed", "apt-get install chromium", "CHROME_PATH",
	} {
		if ok || !strings.Contains(why, want) {
			t.Errorf("Available() = %v, %q; want false, naming %q", ok, why, want)
		}
	}
	if _, err := r.Run(context.Background(), "http://example.com/", "mobile"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Run without tools = %v; want ErrUnavailable", err)
	}

	old, _ := fakeNode(t, "v16.20.0")
	r, _ = New(Options{Node: old, Lighthouse: old, Chrome: "/nonexistent/chromium"})
	ok, why = r.Available()
	if ok || !strings.Contains(why, "Node.js v16.20.0") || !strings.Contains(why, "too old") ||
		!strings.Contains(why, "Chromium is not at /nonexistent/chromium") || strings.Contains(why, "Lighthouse is not") {
		t.Errorf("Available() with an old Node and a wrong CHROME_PATH = %v, %q", ok, why)
	}

	good, _ := fakeRunner(t, nil)
	if ok, why := good.Available(); !ok {
		t.Errorf("Available() with every tool = false, %q", why)
	}
}

func TestNodeFit(t *testing.T) {
	for v, want := range map[string]bool{"v20.20.2": true, "v18.20.0": true, "v18.19.1": false, "v22.1.0": true, "v9.0.0": false, "": false, "vx.y": false} {
		if got := nodeFit(v); got != want {
			t.Errorf("nodeFit(%q) = %v; want %v", v, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	cli := filepath.Join(dir, "tools", "node_modules", "lighthouse", "cli", "index.js")
	if err := os.MkdirAll(filepath.Dir(cli), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cli, nil, 0o644)
	t.Setenv("ALIDADE_LIGHTHOUSE", "")
	t.Setenv("CHROME_PATH", "/opt/chrome/chrome")
	o := Find(dir)
	if o.Lighthouse != cli || o.ToolsDir != filepath.Join(dir, "tools") || o.Chrome != "/opt/chrome/chrome" {
		t.Errorf("Find(%q) = Lighthouse %q, ToolsDir %q, Chrome %q", dir, o.Lighthouse, o.ToolsDir, o.Chrome)
	}
	t.Setenv("ALIDADE_LIGHTHOUSE", "/somewhere/cli/index.js")
	if o := Find(dir); o.Lighthouse != "/somewhere/cli/index.js" {
		t.Errorf("Find with ALIDADE_LIGHTHOUSE = %q; want it as set", o.Lighthouse)
	}
	if o.Concurrency != 1 || o.QueueMax != 10 || o.Timeout != 120*time.Second {
		t.Errorf("Find defaults = %d, %d, %v", o.Concurrency, o.QueueMax, o.Timeout)
	}
}
