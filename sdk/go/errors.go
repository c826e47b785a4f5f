package alidade

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrClosed is returned by Write after Close; the point is counted as
	// dropped.
	ErrClosed = errors.New("alidade: client is closed; the point was dropped")
	// ErrBufferFull is returned by Write when the buffer is full and the
	// Overflow policy is DropNewest; the point is counted as dropped.
	ErrBufferFull = errors.New("alidade: buffer is full; the point was dropped")
	// ErrInvalidPoint is wrapped by the error Write returns for a point that
	// breaks Analytics Engine's limits; the point is counted as rejected.
	ErrInvalidPoint = errors.New("invalid point")
)

// DeliveryError is returned by Flush and Close when points were lost since
// the previous Flush or Close returned (or since New).
type DeliveryError struct {
	// Op is "flush" or "close".
	Op string
	// Dropped counts points dropped: by the Overflow policy, written after
	// Close, given up after the retries or refused by the server for
	// another reason than bad data, or (Close) still buffered when its
	// context ended. A point dropped while its request was in flight may
	// have been stored all the same.
	Dropped uint64
	// Rejected counts invalid points, refused by Write or by the server.
	Rejected uint64
	// Pending counts points still buffered when Flush's context ended; they
	// are still being sent.
	Pending uint64
	// Err is the context's error when the context ended first, else nil.
	Err error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "alidade: %s: not every point was delivered:", e.Op)
	sep := " "
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{e.Dropped, "dropped"},
		{e.Rejected, "rejected as invalid"},
		{e.Pending, "still buffered"},
	} {
		if c.n > 0 {
			fmt.Fprintf(&b, "%s%d %s", sep, c.n, c.what)
			sep = ", "
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

// Unwrap returns the context's error, if any.
func (e *DeliveryError) Unwrap() error { return e.Err }
