package checks

import (
	"errors"
	"fmt"
)

// FieldError is a fault in a check as written: an HTTP handler answers
// it with 400. Field names the bad part as a path, such as "every" or
// "expect.status[1]".
type FieldError struct {
	Field string
	Msg   string
}

// Error returns "field: msg".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// fieldErr returns a *FieldError as an error, so that a nil *FieldError
// can never hide inside a non-nil error.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is a check or a run the project does not have (another
// project's included).
var ErrNotFound = errors.New("no such check")

// ErrNoReport is a run without a kept Lighthouse report: an http run, a
// page run that failed, or one older than the reports kept.
var ErrNoReport = errors.New("no report")

// ErrTooMany is a create past the per-project limit of checks.
var ErrTooMany = errors.New("too many checks")

// ErrNotAllowed is a target outside Options.Allow (--checks-allow):
// checked on the connection, after name resolution.
var ErrNotAllowed = errors.New("not allowed by --checks-allow")
