//go:build !linux

package bench

import (
	"os"
	"os/exec"
)

func childAttrs(cmd *exec.Cmd) {}

// exitedPeakRSS is unknown off Linux.
func exitedPeakRSS(ps *os.ProcessState) int64 { return 0 }
