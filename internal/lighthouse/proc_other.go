//go:build !unix

package lighthouse

import (
	"os"
	"os/exec"
)

func newProcessGroup(cmd *exec.Cmd) {}

// signalGroup kills only the process itself here (no process groups).
func signalGroup(pid int, kill bool) {
	if p, err := os.FindProcess(pid); err == nil && kill {
		_ = p.Kill()
	}
}
