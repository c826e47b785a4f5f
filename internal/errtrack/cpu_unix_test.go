//go:build unix

package errtrack

import (
	"syscall"
	"testing"
)

// loopCPU runs f b.N times (b.Loop) and reports the process's CPU time
// (user and system, every thread's) per run as cpu-ns/op.
func loopCPU(b *testing.B, f func()) {
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	for b.Loop() {
		f()
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}
