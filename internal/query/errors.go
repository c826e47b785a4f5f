package query

import (
	"errors"
	"fmt"
)

// Error is a fault in a query request: an HTTP handler answers it with 400.
// Every error Parse returns is an *Error; Engine.Run returns other errors only
// for backend failures.
type Error struct {
	// Part names the bad part of the request as a path, such as "range.from",
	// "filter[0].value" or "aggregations.p95.q"; it is empty when the fault
	// is in the body as a whole.
	Part string
	// Msg says what is wrong and, where it helps, what to write instead.
	Msg string
}

// Error returns "query: part: msg".
func (e *Error) Error() string {
	if e.Part == "" {
		return "query: " + e.Msg
	}
	return "query: " + e.Part + ": " + e.Msg
}

// errorf returns an *Error for part. It returns the error interface so that a
// nil *Error can never hide inside a non-nil error.
func errorf(part, format string, args ...any) error {
	return &Error{Part: part, Msg: fmt.Sprintf(format, args...)}
}

// ErrTooManyGroups is what a backend wraps when a Sub yields more than its
// MaxGroups rows. Engine turns it into an *Error, since the caller can fix it
// by grouping by fewer fields or filtering.
var ErrTooManyGroups = errors.New("too many groups")

// ErrBadResult reports a backend answer that breaks the SubResult contract
// (wrong number of group or aggregation values, values of the wrong type,
// repeated groups). It is a server fault, not the caller's.
var ErrBadResult = errors.New("backend returned a malformed result")
