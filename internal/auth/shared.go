package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// KeyFinder looks one live key up by the SHA-256 of its secret: the
// metadata store that several nodes share (PostgreSQL), which a node asks
// for a secret its table does not hold — a key made on another node a
// moment ago, before its notification arrived.
type KeyFinder interface {
	Key(ctx context.Context, hash []byte) (*meta.Key, error)
}

// Shared options of an Authenticator over a shared metadata store.
const (
	// lookupTimeout bounds one lookup on a miss.
	lookupTimeout = 2 * time.Second
	// missTTL is how long a secret found in no store stays refused
	// without asking again: a client retrying a wrong key in a loop costs
	// one lookup a second, not one a request. A key created meanwhile
	// clears it (see Apply).
	missTTL = time.Second
	// maxMisses bounds the remembered misses; past it they are forgotten
	// at once (the lookups are then not saved, never wrong).
	maxMisses = 10_000
)

// shared is the part of an Authenticator that follows a shared store.
type shared struct {
	finder KeyFinder
	mu     sync.Mutex
	misses map[[sha256.Size]byte]time.Time
	now    func() time.Time
}

// Share makes a miss in the table a lookup in f (the shared metadata
// store). Apply keeps the table current from f's change notifications.
func (a *Authenticator) Share(f KeyFinder) {
	a.shared = &shared{finder: f, misses: map[[sha256.Size]byte]time.Time{}, now: time.Now}
}

// lookup asks the shared store for a secret's hash missing from the table.
// It returns ErrUnknownKey when no live key has it, and the store's error
// (wrapping meta.ErrUnavailable when it cannot be reached) otherwise.
func (a *Authenticator) lookup(h [sha256.Size]byte) (Principal, error) {
	sh := a.shared
	now := sh.now()
	sh.mu.Lock()
	if until, ok := sh.misses[h]; ok && now.Before(until) {
		sh.mu.Unlock()
		return Principal{}, ErrUnknownKey
	}
	sh.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	k, err := sh.finder.Key(ctx, h[:])
	switch {
	case errors.Is(err, meta.ErrNotFound):
		sh.mu.Lock()
		if len(sh.misses) >= maxMisses {
			clear(sh.misses)
		}
		sh.misses[h] = now.Add(missTTL)
		sh.mu.Unlock()
		return Principal{}, ErrUnknownKey
	case err != nil:
		return Principal{}, err
	}
	a.Add(*k)
	return Principal{Project: k.ProjectID, Kind: k.Kind, KeyID: k.ID}, nil
}

// KeyLoader loads keys for Apply: every project's (0) or one's.
type KeyLoader interface {
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
}

// Apply follows a change another node (or this one) made to the shared
// metadata: a revoked key is refused at once; a new key of a project is
// loaded; after a resync (the notifications were cut, some may be lost)
// the whole table is reloaded from keys. It returns the error of a load;
// the table is then as before.
func (a *Authenticator) Apply(ctx context.Context, keys KeyLoader, c meta.Change) error {
	switch c.Kind {
	case meta.ChangeKeyRevoked:
		a.Revoke(c.ID)
	case meta.ChangeKeyCreated:
		ks, err := keys.Keys(ctx, c.Project)
		if err != nil {
			return err
		}
		for _, k := range ks {
			a.Add(k)
		}
		if a.shared != nil {
			a.shared.mu.Lock()
			clear(a.shared.misses)
			a.shared.mu.Unlock()
		}
	case meta.ChangeResync:
		all, err := keys.Keys(ctx, 0)
		if err != nil {
			return err
		}
		a.replace(all)
		if a.shared != nil {
			a.shared.mu.Lock()
			clear(a.shared.misses)
			a.shared.mu.Unlock()
		}
	}
	return nil
}

// replace makes all the table's keys.
func (a *Authenticator) replace(all []meta.Key) {
	byHash := make(map[[sha256.Size]byte]Principal, len(all))
	byID := make(map[int64]Principal, len(all))
	for _, k := range all {
		var h [sha256.Size]byte
		copy(h[:], k.Hash)
		p := Principal{Project: k.ProjectID, Kind: k.Kind, KeyID: k.ID}
		byHash[h], byID[k.ID] = p, p
	}
	a.mu.Lock()
	a.byHash, a.byID = byHash, byID
	a.mu.Unlock()
}
