package errtrack

import (
	"errors"
	"fmt"
)

// Errors the server maps to status codes.
var (
	// ErrBadPayload is a body or item Alidade cannot read (400).
	ErrBadPayload = errors.New("invalid payload")
	// ErrNotFound is an error group or event the project does not have (404).
	ErrNotFound = errors.New("not found")
	// ErrClosed is a tracker that is shutting down (503).
	ErrClosed = errors.New("error tracking is shutting down")
	// ErrOverloaded is a commit queue that is full (429).
	ErrOverloaded = errors.New("error tracking's commit queue is full")
)

// TooLargeError is a body or item over a size limit (413).
type TooLargeError struct {
	What  string // "envelope", "event", "attachment", …
	Size  int64  // bytes seen (at least)
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is over the %s limit (%d bytes; limits apply after decompression, as Sentry's: https://develop.sentry.dev/sdk/data-model/envelopes/#size-limits)",
		e.What, humanSize(e.Limit), e.Limit)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
