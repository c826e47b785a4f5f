package lighthouse

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// killMarked kills every process whose command line contains mark (a run's
// directory with its trailing slash, so that no other run's directory
// matches: Chromium's --user-data-dir lies in it), with its process group
// when that is not ours. chrome-launcher starts Chromium detached, in a
// process group of its own, so killing Lighthouse's group does not reach it.
func killMarked(mark string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self, ourGroup := os.Getpid(), syscall.Getpgrp()
	m := []byte(mark)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, m) {
			continue
		}
		if pg, err := syscall.Getpgid(pid); err == nil && pg > 1 && pg != ourGroup {
			_ = syscall.Kill(-pg, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
