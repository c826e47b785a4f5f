package ui

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// budget is the dashboard's page weight, gzipped (issue 14).
const budget = 150 * 1024

func TestPageWeight(t *testing.T) {
	raw, gz := Weight()
	gz += len(Shell("x", `{"kind":"read"}`))
	t.Logf("dashboard: %d bytes, %d gzipped (budget %d)", raw, gz, budget)
	if gz > budget {
		t.Errorf("the dashboard weighs %d bytes gzipped; the budget is %d", gz, budget)
	}
}

// TestBundleIsFresh builds the dashboard from ui/src into a temporary
// directory and compares it with the committed dist/, byte for byte. It
// installs ui/node_modules (npm ci) when missing; without node it skips,
// loudly, unless CI=true.
func TestBundleIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dashboard with esbuild")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm is not installed: the dashboard bundle cannot be checked")
		}
		t.Skip("WARNING: npm is not installed: the dashboard bundle's freshness is NOT checked")
	}
	dir := filepath.Join("..", "..", "ui")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "esbuild")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, b)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("node", "build.mjs", "--outdir", out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	for _, f := range []string{"app.js", "app.css"} {
		fresh, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		committed, _ := dist.ReadFile("dist/" + f)
		if !bytes.Equal(fresh, committed) {
			t.Errorf("internal/ui/dist/%s is stale (%d bytes committed, %d built from ui/src): run `cd ui && npm run build` and commit internal/ui/dist", f, len(committed), len(fresh))
		}
	}
}

func TestAssets(t *testing.T) {
	for _, c := range []struct {
		path, ae string
		code     int
		gzip     bool
	}{
		{Script, "gzip, deflate, br", 200, true},
		{Style, "", 200, false},
		{Script, "gzip;q=0", 200, false},
		{Script, "br, *;q=0.5", 200, true},
		{"/assets/app.000000000000.js", "gzip", 404, false},
	} {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /assets/{name}", Assets)
		r := httptest.NewRequest("GET", c.path, nil)
		r.Header.Set("Accept-Encoding", c.ae)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != c.code || (w.Header().Get("Content-Encoding") == "gzip") != c.gzip {
			t.Errorf("GET %s (Accept-Encoding %q) = %d, encoding %q; want %d, gzip %v", c.path, c.ae, w.Code, w.Header().Get("Content-Encoding"), c.code, c.gzip)
		}
		if c.code == 200 && !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: Cache-Control %q", c.path, w.Header().Get("Cache-Control"))
		}
	}
	if s := string(Shell(`"><script>`, `{"a":"\"><script>"}`)); strings.Contains(s, `"><script>`) || !strings.Contains(s, Script) {
		t.Errorf("shell does not escape its token or names no script:\n%s", s)
	}
}
