// Package auth owns API keys in clear for the instant they exist: it makes
// new secrets, hashes them for storage, and answers "whose key is this?"
// from an in-memory table of hashes. It never stores or logs a secret, and it
// knows nothing of HTTP routes: callers say which kinds an action allows.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/alidade/alidade/internal/meta"
)

// Errors callers map to 401 and 403.
var (
	ErrNoKey        = errors.New("missing API key: send Authorization: Bearer <key>")
	ErrUnknownKey   = errors.New("unknown or revoked API key")
	ErrWrongKind    = errors.New("this key's kind may not do that")
	ErrRootRequired = errors.New("this needs the instance root key")
)

// Principal is who a request acts as.
type Principal struct {
	Root    bool
	Project int64
	Kind    meta.KeyKind
	KeyID   int64
}

// Allow checks that the principal is a project key of one of kinds.
func (p Principal) Allow(kinds ...meta.KeyKind) error {
	if p.Root {
		return fmt.Errorf("%w: the root key manages projects; use one of the project's %s keys", ErrWrongKind, kindList(kinds))
	}
	for _, k := range kinds {
		if p.Kind == k {
			return nil
		}
	}
	return fmt.Errorf("%w: a %s key cannot; use a %s key", ErrWrongKind, p.Kind, kindList(kinds))
}

// AllowRoot checks that the principal is the root key.
func (p Principal) AllowRoot() error {
	if !p.Root {
		return ErrRootRequired
	}
	return nil
}

func kindList(kinds []meta.KeyKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, " or ")
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSecret makes a random key secret of the form ald_<kind>_<32 chars>
// (160 bits of entropy) and returns it with its storage hash and display prefix.
func NewSecret(kind string) (secret, prefix string, hash []byte) {
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	secret = "ald_" + kind + "_" + b32.EncodeToString(raw[:])
	return secret, Prefix(secret), Hash(secret)
}

// Hash is the storage form of a secret. Secrets carry 160 random bits, so
// an unsalted SHA-256 is not open to guessing.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Prefix is the part of a secret shown in listings.
func Prefix(secret string) string {
	i := strings.LastIndexByte(secret, '_')
	if i < 0 || len(secret) < i+5 {
		return ""
	}
	return secret[:i+5] + "…"
}

// KeyLister loads key records; project 0 means every project.
type KeyLister interface {
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
}

// Authenticator resolves secrets against an in-memory table of hashes.
type Authenticator struct {
	mu     sync.RWMutex
	byHash map[[sha256.Size]byte]Principal
	byID   map[int64]Principal
	root   []byte // hash of the root key; nil disables root access
	// shared, when set (Share), looks up what the table misses in the
	// metadata store several nodes share.
	shared *shared
}

// New loads every live key.
func New(ctx context.Context, keys KeyLister, rootHash []byte) (*Authenticator, error) {
	all, err := keys.Keys(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	a := &Authenticator{byHash: make(map[[sha256.Size]byte]Principal, len(all)), byID: make(map[int64]Principal, len(all)), root: rootHash}
	for _, k := range all {
		a.Add(k)
	}
	return a, nil
}

// Add makes a stored key usable.
func (a *Authenticator) Add(k meta.Key) {
	var h [sha256.Size]byte
	copy(h[:], k.Hash)
	p := Principal{Project: k.ProjectID, Kind: k.Kind, KeyID: k.ID}
	a.mu.Lock()
	a.byHash[h] = p
	a.byID[k.ID] = p
	a.mu.Unlock()
}

// Revoke makes a key unusable at once.
func (a *Authenticator) Revoke(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, p := range a.byHash {
		if p.KeyID == id {
			delete(a.byHash, h)
		}
	}
	delete(a.byID, id)
}

// Key returns the principal of a live project key by its id, and false
// once the key is revoked: what was opened with a key (a dashboard
// session) checks through it that the key still opens it.
func (a *Authenticator) Key(id int64) (Principal, bool) {
	a.mu.RLock()
	p, ok := a.byID[id]
	a.mu.RUnlock()
	return p, ok
}

// RootTag names the root key in force without revealing it or its hash
// (a hash of its hash), and is "" when root access is off. What was opened
// with the root key keeps the tag, and ends when the root key changes.
func (a *Authenticator) RootTag() string {
	if a.root == nil {
		return ""
	}
	h := sha256.Sum256(append([]byte("alidade root tag\x00"), a.root...))
	return hex.EncodeToString(h[:16])
}

// Authenticate resolves a secret. The secret is hashed first, so the table
// lookup never sees it; the root hash is compared in constant time.
func (a *Authenticator) Authenticate(secret string) (Principal, error) {
	if secret == "" {
		return Principal{}, ErrNoKey
	}
	h := sha256.Sum256([]byte(secret))
	if a.root != nil && subtle.ConstantTimeCompare(h[:], a.root) == 1 {
		return Principal{Root: true}, nil
	}
	a.mu.RLock()
	p, ok := a.byHash[h]
	a.mu.RUnlock()
	if !ok {
		if a.shared != nil {
			return a.lookup(h)
		}
		return Principal{}, ErrUnknownKey
	}
	return p, nil
}

// BearerToken extracts the key from an Authorization header value.
func BearerToken(header string) string {
	const prefix = "bearer "
	if len(header) > len(prefix) && strings.EqualFold(header[:len(prefix)], prefix) {
		return strings.TrimSpace(header[len(prefix):])
	}
	return ""
}
