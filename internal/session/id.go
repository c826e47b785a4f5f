package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// IDBytes is the size of a session id's random part: 256 bits.
const IDBytes = 32

// idLen is the length of a session id as the cookie carries it.
var idLen = base64.RawURLEncoding.EncodedLen(IDBytes)

// Hash is the SHA-256 of a session id's 32 bytes: the only form of the id
// that is kept, in memory or on disk.
type Hash [sha256.Size]byte

// newRandom returns n bytes of crypto/rand, base64url without padding.
func newRandom(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return b
}

// newID makes a session id and its hash.
func newID() (string, Hash) {
	raw := newRandom(IDBytes)
	return base64.RawURLEncoding.EncodeToString(raw), sha256.Sum256(raw)
}

// newToken makes a CSRF token: 32 random bytes, base64url.
func newToken() string {
	return base64.RawURLEncoding.EncodeToString(newRandom(32))
}

// ParseID decodes a session id from a cookie value and returns its hash.
// An id is exactly 43 characters of unpadded base64url (RFC 4648 §5) in
// canonical form, so that every session has one spelling.
func ParseID(s string) (Hash, error) {
	if len(s) != idLen {
		return Hash{}, ErrMalformed
	}
	var raw [IDBytes]byte
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(s))
	if err != nil || n != IDBytes {
		return Hash{}, ErrMalformed
	}
	return sha256.Sum256(raw[:]), nil
}
