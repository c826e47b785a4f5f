package point

import (
	"errors"
	"fmt"
)

// ErrEmptyBody is returned by Decode for a body that holds nothing but
// whitespace (or a byte order mark).
var ErrEmptyBody = errors.New("body is empty; expected a JSON point object, a JSON array of point objects, or NDJSON (one point object per line)")

// SyntaxError is returned by Decode when a body as a whole cannot be read as
// JSON. Offset is the byte offset of the problem in the body; Line and Column
// (both 1-based, Column in bytes) locate the same byte for people.
type SyntaxError struct {
	Offset int
	Line   int
	Column int
	Msg    string
}

// Error returns the message with its location.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d (byte offset %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

// TooManyPointsError is returned by Decode when a body holds more points than
// DecodeOptions.MaxPoints.
type TooManyPointsError struct {
	Limit int
}

// Error names the limit.
func (e *TooManyPointsError) Error() string {
	return fmt.Sprintf("body has more than %d points; the limit is %d points per request: split the batch", e.Limit, e.Limit)
}
