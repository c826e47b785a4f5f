package pricing

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when a project has no entry of a given model.
var ErrNotFound = errors.New("no such price entry")

// ErrTooManyEntries is returned when a project would hold more than
// MaxEntries entries.
var ErrTooManyEntries = fmt.Errorf("a project holds at most %d price entries", MaxEntries)
