//go:build !unix

package errtrack

import "testing"

func loopCPU(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}
