package bench

import (
	"os"
	"os/exec"
	"syscall"
)

// childAttrs makes the kernel stop the server child should the bench die
// without stopping it.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// exitedPeakRSS returns the peak resident set of an exited process from its
// rusage (ru_maxrss is in kB on Linux), or 0.
func exitedPeakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return ru.Maxrss * 1024
	}
	return 0
}
