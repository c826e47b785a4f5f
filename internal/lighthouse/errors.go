package lighthouse

import (
	"errors"
	"strings"
)

// ErrQueueFull is a run refused because Options.QueueMax runs already wait
// for a free slot.
var ErrQueueFull = errors.New("lighthouse: too many page runs queued")

// ErrTimeout is a run that took longer than Options.Timeout: its processes
// were killed.
var ErrTimeout = errors.New("lighthouse: run timed out")

// ErrClosed is a run asked of, or interrupted by, a closed Runner.
var ErrClosed = errors.New("lighthouse: runner closed")

// ErrBadReport is a Lighthouse result that cannot be read.
var ErrBadReport = errors.New("lighthouse: unreadable result")

// RuntimeError is Lighthouse's own verdict that the page could not be tested
// (its result's runtimeError, e.g. a refused connection, a 404/500 document,
// a page that never painted), or a result without a performance score.
// Warnings are the run's runWarnings.
type RuntimeError struct {
	Code     string // e.g. ERRORED_DOCUMENT_REQUEST, NO_FCP, CHROME_INTERSTITIAL_ERROR
	Message  string
	Warnings []string
}

// Error returns "lighthouse: CODE: message".
func (e *RuntimeError) Error() string {
	var b strings.Builder
	b.WriteString("lighthouse")
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Code == "" && e.Message == "" && len(e.Warnings) > 0 {
		b.WriteString(": " + strings.Join(e.Warnings, "; "))
	}
	return b.String()
}
