package alidade

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Point is one Workers Analytics Engine data point: index1, blob1..blob20
// (Blobs[0] is blob1) and double1..double20 (Doubles[0] is double1).
type Point struct {
	// Index is index1, the sampling key (≤ 96 bytes). "" is allowed.
	Index string
	// Blobs are strings, ≤ 20 of them, ≤ 16 KB together.
	Blobs []string
	// Doubles are finite numbers, ≤ 20 of them.
	Doubles []float64
	// Timestamp is when the event happened; the zero time means "now" (the
	// time of the Write call).
	Timestamp time.Time
}

// Analytics Engine's limits, which the server enforces and Write checks.
const (
	MaxBlobs         = 20
	MaxDoubles       = 20
	MaxIndexBytes    = 96
	MaxBlobBytes     = 16 * 1024 // all blobs of one point together
	MaxDatasetLength = 64
)

// recOverhead is the bookkeeping a buffered point costs on top of its data.
const recOverhead = 48

// check validates a point against the limits and returns the bytes it will
// take in the buffer. It does not allocate unless the point is invalid.
func check(dataset string, p *Point) (int, error) {
	if !validDataset(dataset) {
		return 0, invalid("dataset name %q must match [a-z0-9_]{1,64}", truncate(dataset, 80))
	}
	if len(p.Index) > MaxIndexBytes {
		return 0, invalid("index is %d bytes; the limit is %d bytes", len(p.Index), MaxIndexBytes)
	}
	if !utf8.ValidString(p.Index) {
		return 0, invalid("index is not valid UTF-8")
	}
	if len(p.Blobs) > MaxBlobs {
		return 0, invalid("%d blobs; the limit is %d blobs", len(p.Blobs), MaxBlobs)
	}
	if len(p.Doubles) > MaxDoubles {
		return 0, invalid("%d doubles; the limit is %d doubles", len(p.Doubles), MaxDoubles)
	}
	total := 0
	for i, b := range p.Blobs {
		total += len(b)
		if !utf8.ValidString(b) {
			return 0, invalid("blob%d is not valid UTF-8", i+1)
		}
	}
	if total > MaxBlobBytes {
		return 0, invalid("blobs total %d bytes; the limit is %d bytes for all blobs of a point together", total, MaxBlobBytes)
	}
	for i, d := range p.Doubles {
		if d != d || d > math.MaxFloat64 || d < -math.MaxFloat64 {
			return 0, invalid("double%d is %v; doubles must be finite numbers", i+1, d)
		}
	}
	return recOverhead + len(dataset) + len(p.Index) + total + 4*len(p.Blobs) + 8*len(p.Doubles), nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("alidade: %w: "+format, append([]any{ErrInvalidPoint}, args...)...)
}

func validDataset(name string) bool {
	if len(name) == 0 || len(name) > MaxDatasetLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// clip cuts s to at most n bytes at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
