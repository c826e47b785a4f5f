package session

import "errors"

// Errors Get returns; every one means "sign in again" (401).
var (
	// ErrMalformed is an id that is not 43 characters of base64url
	// encoding 32 bytes.
	ErrMalformed = errors.New("malformed session id")
	// ErrNotFound is an id of no session: never issued, signed out, or
	// swept after it expired.
	ErrNotFound = errors.New("no such session")
	// ErrExpired is a session idle too long or past its lifetime.
	ErrExpired = errors.New("session expired")
	// ErrKeyGone is a session whose key was revoked (or, for the root
	// key, replaced) since it opened.
	ErrKeyGone = errors.New("the key this session was opened with is no longer valid")
)
