package sdkjs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	npmOnce sync.Once
	npmErr  error
)

// requireNode makes sure node, npm and this directory's node_modules are
// there (running `npm ci` when node_modules is missing or older than
// package-lock.json). Without node or npm the test is skipped, loudly, or
// fails when CI=true.
func requireNode(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is not installed: the browser SDK is NOT checked (install Node.js 20+)", tool)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			fmt.Fprintln(os.Stderr, "WARNING: "+msg)
			t.Skip(msg)
		}
	}
	npmOnce.Do(func() {
		lock, err := os.Stat("package-lock.json")
		if err != nil {
			npmErr = err
			return
		}
		if st, err := os.Stat(filepath.Join("node_modules", ".package-lock.json")); err == nil && !st.ModTime().Before(lock.ModTime()) {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		if b, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in sdk/js: %v\n%s", err, b)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
}
