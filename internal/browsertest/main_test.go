//go:build browser

package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The suite shares one build of alidade, one bundle of the test site's JS
// and one running `alidade serve`; each test starts its own Chromium and
// its own test site, and writes to a project of its own.

const rootKey = "browsertest-root-key-0123456789abcdef"

var (
	setupOnce sync.Once
	suite     *env
	setupErr  error
	skipWhy   string
	tmpRoot   string
)

// env is what the tests share.
type env struct {
	chrome  string // the browser's path
	major   string // its major version, for the User-Agent
	js      string // directory of app.js and seed.js
	alidade *server
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite != nil && suite.alidade != nil {
		suite.alidade.stop()
	}
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// setup returns the shared environment, starting it on first use. Without
// Chromium (or Node for the bundle) the test is skipped loudly, or fails
// with CI=true; any other failure fails.
func setup(t *testing.T) *env {
	t.Helper()
	setupOnce.Do(func() { suite, skipWhy, setupErr = start() })
	if skipWhy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s", skipWhy)
		}
		fmt.Fprintf(os.Stderr, "WARNING: %s: the browser tests are SKIPPED\n", skipWhy)
		t.Skip(skipWhy)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return suite
}

func start() (*env, string, error) {
	chrome, err := findChrome()
	if err != nil {
		return nil, "", err
	}
	if chrome == "" {
		return nil, "no Chromium found (set CHROME_PATH, or run .ci/ensure-chromium as root to install Debian's chromium)", nil
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, tool + " is not installed (the test site is bundled with esbuild from sdk/js/node_modules)", nil
		}
	}
	if tmpRoot, err = os.MkdirTemp("", "alidade-browsertest-"); err != nil {
		return nil, "", err
	}
	e := &env{chrome: chrome, major: chromeMajor(chrome), js: filepath.Join(tmpRoot, "js")}
	bin := filepath.Join(tmpRoot, "alidade")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/alidade").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("build alidade: %v\n%s", err, out)
	}
	if err := bundle(e.js); err != nil {
		return nil, "", err
	}
	if e.alidade, err = startServer(bin, filepath.Join(tmpRoot, "data")); err != nil {
		return nil, "", err
	}
	return e, "", nil
}

// findChrome returns CHROME_PATH, else what .ci/ensure-chromium prints
// (it installs Debian's chromium when it can); "" when there is none.
func findChrome() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROME_PATH=%s: %w", p, err)
		}
		return p, nil
	}
	cmd := exec.Command("../../.ci/ensure-chromium")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			return "", fmt.Errorf(".ci/ensure-chromium: %w", err)
		}
		return "", nil
	}
	return strings.TrimSpace(string(out)), nil
}

// chromeMajor returns the browser's major version ("156"), so that the
// User-Agent the tests give it is the one it would send without
// "Headless".
func chromeMajor(path string) string {
	out, _ := exec.Command(path, "--version").Output()
	if m := regexp.MustCompile(`\b(\d+)\.\d+\.\d+`).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "156"
}

// bundle builds the test site's scripts with sdk/js's esbuild (running
// `npm ci` there when node_modules is missing or older than the lock file).
func bundle(dir string) error {
	sdk, err := filepath.Abs("../../sdk/js")
	if err != nil {
		return err
	}
	lock, err := os.Stat(filepath.Join(sdk, "package-lock.json"))
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join(sdk, "node_modules", ".package-lock.json")); err != nil || st.ModTime().Before(lock.ModTime()) {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = sdk
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm ci in sdk/js: %v\n%s", err, out)
		}
	}
	for _, name := range []string{"app", "seed_main"} {
		out := name
		if name == "seed_main" {
			out = "seed"
		}
		cmd := exec.Command(filepath.Join(sdk, "node_modules", ".bin", "esbuild"),
			filepath.Join("testdata", "site", name+".ts"),
			"--bundle", "--format=iife", "--target=es2022", "--log-level=warning",
			`--define:process.env.NODE_ENV="production"`,
			"--outfile="+filepath.Join(dir, out+".js"))
		// The site's imports of @reduxjs/toolkit resolve in sdk/js.
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(sdk, "node_modules"))
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("esbuild %s.ts: %v\n%s", name, err, b)
		}
	}
	return nil
}

// server is a running `alidade serve`.
type server struct {
	url     string
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	done    chan error
	project int64             // the default project's id
	keys    map[string]string // its keys, from the first-start banner
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var (
	keyRE     = regexp.MustCompile(`(?m)^\s+(public|write|read|admin)\s+key\s+(ald_\S+)`)
	projectRE = regexp.MustCompile(`\(id (\d+)\)`)
)

// startServer runs alidade serve on a free loopback port over dataDir,
// waits for /readyz and reads the default project's keys from the banner.
func startServer(bin, dataDir string, args ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startServerAt(bin, addr, dataDir, args...)
}

// startServerAt is startServer on addr (a restart: the address the
// browser knows).
func startServerAt(bin, addr, dataDir string, args ...string) (*server, error) {
	s := &server{url: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve", "--listen", addr, "--data-dir", dataDir, "--log-level", "warn"}, args...)...)
	s.cmd.Env = append(os.Environ(), "ALIDADE_ROOT_KEY="+rootKey)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("alidade serve exited (%v); stderr:\n%s", err, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("alidade serve was not ready within 60s; stderr:\n%s", s.stderr)
		}
	}
	// The banner is printed before the server is ready, but reaches
	// s.stdout through exec's copying goroutine: wait for its end (its
	// second rule of '=') or the line of a data directory used before.
	out := s.stdout.String()
	for rule := strings.Repeat("=", 78); strings.Count(out, rule) < 2 && !strings.Contains(out, "keys were shown on first start") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		out = s.stdout.String()
	}
	s.keys = map[string]string{}
	for _, m := range keyRE.FindAllStringSubmatch(out, -1) {
		s.keys[m[1]] = m[2]
	}
	if m := projectRE.FindStringSubmatch(out); m != nil {
		s.project, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if strings.Contains(out, "keys were shown on first start") {
		return s, nil // a data directory used before (the benchmarks'): no keys printed
	}
	if s.keys["admin"] == "" || s.keys["read"] == "" || s.project == 0 {
		s.stop()
		return nil, fmt.Errorf("no project id or admin and read keys in the first-start banner:\n%s", out)
	}
	if s.keys["public"] == "" {
		// The banner printed none: make one with the admin key.
		var k struct {
			Key string `json:"key"`
		}
		code, body, err := s.call("POST", "/api/v1/keys", s.keys["admin"], map[string]string{"kind": "public", "name": "browser tests"}, &k)
		if err != nil || code != http.StatusCreated || k.Key == "" {
			s.stop()
			return nil, fmt.Errorf("POST /api/v1/keys = %d %s %v", code, body, err)
		}
		s.keys["public"] = k.Key
	}
	return s, nil
}

func (s *server) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// call sends a JSON request (body nil: none; a string: as it is) with the
// key, and decodes a 2xx answer into out when out is not nil.
func (s *server) call(method, path, key string, body, out any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, data, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, data, nil
}

// project is a project the tests write to.
type project struct {
	id   int64
	keys map[string]string
}

// defaultProject is the project of the first-start banner.
func (s *server) defaultProject() project {
	return project{id: s.project, keys: s.keys}
}

// newProject creates a project with the root key.
func (s *server) newProject(t *testing.T, name string) project {
	t.Helper()
	var p struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	code, body, err := s.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": name}, &p)
	if err != nil || code != http.StatusCreated || p.Keys["public"] == "" || p.Keys["read"] == "" {
		t.Fatalf("POST /api/v1/projects %q = %d %s %v", name, code, body, err)
	}
	return project{id: p.ID, keys: p.Keys}
}

// row is one row of a SQL answer.
type row map[string]any

func (r row) str(col string) string {
	s, _ := r[col].(string)
	return s
}

func (r row) num(col string) float64 {
	switch v := r[col].(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

// sql runs a query of the SQL API with the project's read key.
func (s *server) sql(t *testing.T, p project, query string) []row {
	t.Helper()
	var a struct {
		Data []row `json:"data"`
	}
	code, body, err := s.call("POST", "/api/v1/sql", p.keys["read"], query, &a)
	if err != nil || code != http.StatusOK {
		t.Fatalf("SQL %s = %d %s %v", query, code, body, err)
	}
	return a.Data
}

// eventually calls check until it reports nothing missing, or fails the
// test with what is still missing at the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, check func() []string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := check()
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still missing after %v:\n  %s", what, timeout, strings.Join(missing, "\n  "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
