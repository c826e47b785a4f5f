// Package point owns Alidade's data point: the Workers-Analytics-Engine-compatible
// record (timestamp, one index, up to 20 blobs and 20 doubles, a sample interval),
// its limits and validation, dataset schemas, and the decoders that turn request
// bodies into points. It knows nothing of storage, HTTP or projects.
package point

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// The limits of Workers Analytics Engine, enforced exactly.
const (
	MaxBlobs         = 20
	MaxDoubles       = 20
	MaxIndexes       = 1
	MaxIndexBytes    = 96
	MaxBlobBytes     = 16 * 1024 // all blobs of one point together
	MaxDatasetLength = 64
)

// Point is one data point. Unused blobs are "" and unused doubles are 0, as in
// Analytics Engine; Blobs and Doubles hold only the positions up to the last one
// the writer used.
type Point struct {
	Dataset string
	// Timestamp is Unix milliseconds; 0 means "the server's receive time".
	Timestamp int64
	Index     string
	Blobs     []string
	Doubles   []float64
	// SampleInterval is how many original points this stored point stands for
	// (AE's _sample_interval). 0 is read as 1.
	SampleInterval uint32
}

// Weight returns the sample interval, reading 0 as 1.
func (p *Point) Weight() uint32 {
	if p.SampleInterval == 0 {
		return 1
	}
	return p.SampleInterval
}

// Blob returns blob n (1-based), "" when unset.
func (p *Point) Blob(n int) string {
	if n < 1 || n > len(p.Blobs) {
		return ""
	}
	return p.Blobs[n-1]
}

// Double returns double n (1-based), 0 when unset.
func (p *Point) Double(n int) float64 {
	if n < 1 || n > len(p.Doubles) {
		return 0
	}
	return p.Doubles[n-1]
}

// Validate checks the point against AE's limits. It does not check the
// timestamp window, which depends on the server's clock and retention.
func (p *Point) Validate() error {
	if err := ValidateDatasetName(p.Dataset); err != nil {
		return err
	}
	if len(p.Index) > MaxIndexBytes {
		return fmt.Errorf("index is %d bytes; the limit is %d bytes", len(p.Index), MaxIndexBytes)
	}
	if !utf8.ValidString(p.Index) {
		return fmt.Errorf("index is not valid UTF-8")
	}
	if len(p.Blobs) > MaxBlobs {
		return fmt.Errorf("%d blobs; the limit is %d blobs", len(p.Blobs), MaxBlobs)
	}
	if len(p.Doubles) > MaxDoubles {
		return fmt.Errorf("%d doubles; the limit is %d doubles", len(p.Doubles), MaxDoubles)
	}
	total := 0
	for i, b := range p.Blobs {
		total += len(b)
		if !utf8.ValidString(b) {
			return fmt.Errorf("blob%d is not valid UTF-8", i+1)
		}
	}
	if total > MaxBlobBytes {
		return fmt.Errorf("blobs total %d bytes; the limit is %d bytes (16 KB) for all blobs of a point together", total, MaxBlobBytes)
	}
	for i, d := range p.Doubles {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return fmt.Errorf("double%d is %v; doubles must be finite numbers", i+1, d)
		}
	}
	return nil
}

// ValidateDatasetName checks a dataset name against [a-z0-9_]{1,64}.
func ValidateDatasetName(name string) error {
	if name == "" {
		return fmt.Errorf("dataset name is empty; names match [a-z0-9_]{1,64}")
	}
	if len(name) > MaxDatasetLength {
		return fmt.Errorf("dataset name %q is %d bytes; names match [a-z0-9_]{1,64}", truncate(name, 80), len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("dataset name %q has %q at byte %d; names match [a-z0-9_]{1,64}", truncate(name, 80), rune(c), i)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SetBlob sets blob n (1-based), growing Blobs with "" as needed.
func (p *Point) SetBlob(n int, v string) {
	if n < 1 || n > MaxBlobs {
		panic(fmt.Sprintf("BUG: blob%d is out of range", n))
	}
	for len(p.Blobs) < n {
		p.Blobs = append(p.Blobs, "")
	}
	p.Blobs[n-1] = v
}

// SetDouble sets double n (1-based), growing Doubles with 0 as needed.
func (p *Point) SetDouble(n int, v float64) {
	if n < 1 || n > MaxDoubles {
		panic(fmt.Sprintf("BUG: double%d is out of range", n))
	}
	for len(p.Doubles) < n {
		p.Doubles = append(p.Doubles, 0)
	}
	p.Doubles[n-1] = v
}
