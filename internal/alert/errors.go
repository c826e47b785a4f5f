package alert

import (
	"errors"
	"fmt"
)

// FieldError is a fault in a rule as written: an HTTP handler answers it
// with 400. Field names the bad part as a path, such as "condition.op",
// "notify[1].url" or "query.aggregations.p95.q".
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

// fieldErr returns a *FieldError as an error, so that a nil *FieldError can
// never hide inside a non-nil error.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is a rule the project does not have (another project's
// included).
var ErrNotFound = errors.New("no such alert rule")

// ErrTooMany is a create past the per-project limit of rules.
var ErrTooMany = errors.New("too many alert rules")

// ErrForbiddenAddress is a notification target that resolves to a
// private, loopback or link-local address while Options.ForbidPrivate is
// set.
var ErrForbiddenAddress = errors.New("address not allowed for alert notifications")
