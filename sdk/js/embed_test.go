package sdkjs

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// budget is the script tag's size budget, gzipped (DESIGN.md).
const budget = 6 * 1024

// TestBundleSize checks the embedded bundle against the budget with Go's
// gzip at its best compression (the server's; `gzip -9` is within bytes).
func TestBundleSize(t *testing.T) {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(Bundle)
	zw.Close()
	t.Logf("dist/alidade.min.js: %d bytes, %d gzipped (budget %d)", len(Bundle), b.Len(), budget)
	if b.Len() > budget {
		t.Errorf("bundle is %d bytes gzipped; the budget is %d", b.Len(), budget)
	}
}

// TestBundleIsFresh builds the bundle from the sources into a temporary
// directory and compares it with the committed one, byte for byte (esbuild's
// output is deterministic). It installs node_modules (npm ci) when they are
// missing. Without node and npm it skips, loudly, unless CI=true.
func TestBundleIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the SDK with esbuild")
	}
	requireNode(t)
	out := t.TempDir()
	cmd := exec.Command("node", "build.mjs", "--iife-only", "--outdir", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(filepath.Join(out, "alidade.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, Bundle) {
		t.Fatalf("sdk/js/dist/alidade.min.js is stale (%d bytes committed, %d built from src/): run `cd sdk/js && npm run build` and commit dist/alidade.min.js", len(Bundle), len(fresh))
	}
}
