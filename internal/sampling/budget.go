package sampling

import (
	"fmt"
	"strconv"
	"time"
)

// The limits of a dataset's sampling budget, in points per second per
// index1 value. 0 means off.
const (
	MinPointsPerSecond = 1
	MaxPointsPerSecond = 1_000_000
)

// Window is the span of arrival time over which a budget is counted and
// weight is conserved: a stored point never stands for a point that arrived
// in another window.
const Window = time.Second

// DefaultMaxKeysPerDataset is how many index1 values of one (project,
// dataset) the sampler tracks by default.
const DefaultMaxKeysPerDataset = 100_000

// ValidateBudget checks a points-per-second budget: 0 (off), or a finite
// number from MinPointsPerSecond to MaxPointsPerSecond.
func ValidateBudget(pps float64) error {
	if pps == 0 || (pps >= MinPointsPerSecond && pps <= MaxPointsPerSecond) {
		return nil
	}
	return fmt.Errorf("sampling budget %s is out of range: use 0 (off) or %d to %d points per second per index value (the limit)",
		strconv.FormatFloat(pps, 'f', -1, 64), MinPointsPerSecond, MaxPointsPerSecond)
}

// Options configure a Sampler.
type Options struct {
	// MaxKeysPerDataset caps the index1 values tracked per (project,
	// dataset). Past it, once the idle values are evicted, new values of
	// that dataset share one overflow budget and are sampled together.
	MaxKeysPerDataset int
	// Seed seeds the choice of the point that stands for each group: the
	// same seed, arrival sequence and clock give the same output.
	Seed uint64
}

// DefaultOptions returns a cap of 100,000 index values per dataset and seed 0.
func DefaultOptions() Options {
	return Options{MaxKeysPerDataset: DefaultMaxKeysPerDataset}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.MaxKeysPerDataset < 1 || o.MaxKeysPerDataset > 100_000_000 {
		return fmt.Errorf("max keys per dataset must be 1 to 100000000, got %d", o.MaxKeysPerDataset)
	}
	return nil
}
