package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/store"
)

// Idempotency headers of the write endpoints.
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	// MaxIdempotencyKey is the longest Idempotency-Key, in bytes.
	MaxIdempotencyKey = 128
	// idemCacheMax bounds the finished writes the server remembers in
	// memory; older ones are found in the store.
	idemCacheMax = 100_000
)

// idempotencyKey returns the request's Idempotency-Key ("" when it has
// none), or an error naming the rule it breaks.
func idempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values(headerIdempotencyKey)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", fmt.Errorf("%s is given %d times; send one", headerIdempotencyKey, len(vals))
	}
	k := vals[0]
	if len(k) < 1 || len(k) > MaxIdempotencyKey {
		return "", fmt.Errorf("%s must be 1 to %d printable ASCII characters, got %d bytes", headerIdempotencyKey, MaxIdempotencyKey, len(k))
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%s must be 1 to %d printable ASCII characters; byte %d is 0x%02x", headerIdempotencyKey, MaxIdempotencyKey, i, c)
		}
	}
	return k, nil
}

// requestHash identifies a write for its idempotency key: the dataset of
// its path, the body's format and the body after decompression.
func requestHash(dataset, format string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(dataset))
	h.Write([]byte{0})
	h.Write([]byte(format))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type idemKey struct {
	project int64
	key     string
}

// idemEntry is a write of one key: in flight while wait is open, then
// finished with the answer to give again.
type idemEntry struct {
	wait   chan struct{}
	hash   string
	status int
	body   []byte
	at     time.Time
}

// idempotency remembers the writes of each key: it lets one write of a key
// run at a time, and answers a finished one again from memory for
// IdemWindow. It is a cache: the records committed with the points are
// the truth (the planner looks them up when a key is not here, after a
// restart or once evicted).
type idempotency struct {
	mu    sync.Mutex
	m     map[idemKey]*idemEntry
	order []idemKey // finished keys, oldest first
	max   int
}

func newIdempotency() *idempotency {
	return &idempotency{m: map[idemKey]*idemEntry{}, max: idemCacheMax}
}

// claim waits while another write of k runs, then returns its finished
// entry (to answer again, or to refuse when the hash differs), or nil
// after claiming k for the caller, who must call finish.
func (c *idempotency) claim(ctx context.Context, k idemKey, now time.Time) (*idemEntry, error) {
	for {
		c.mu.Lock()
		e := c.m[k]
		if e == nil || e.body != nil && now.Sub(e.at) >= store.IdemWindow*time.Millisecond {
			c.m[k] = &idemEntry{wait: make(chan struct{})}
			c.mu.Unlock()
			return nil, nil
		}
		if e.body != nil {
			c.mu.Unlock()
			return e, nil
		}
		w := e.wait
		c.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// finish ends the caller's claim of k: with the answer to give again
// (body non-nil), or with none when the write stored nothing, so that
// the next write of k runs.
func (c *idempotency) finish(k idemKey, hash string, status int, body []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil || e.body != nil {
		panic("BUG: finish of an idempotency key not claimed")
	}
	if body == nil {
		delete(c.m, k)
	} else {
		e.hash, e.status, e.body, e.at = hash, status, body, at
		c.order = append(c.order, k)
	}
	close(e.wait)
	// Forget the oldest finished writes past the window or the cap.
	for len(c.order) > 0 {
		old := c.order[0]
		oe := c.m[old]
		finished := oe != nil && oe.body != nil
		if finished && len(c.order) <= c.max && at.Sub(oe.at) < store.IdemWindow*time.Millisecond {
			break
		}
		if finished {
			delete(c.m, old)
		}
		c.order = c.order[1:]
	}
	if len(c.order) == 0 {
		c.order = nil
	}
}

// replay writes a finished write's answer again.
func replay(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(headerReplayed, "true")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// reusedKey answers a key sent again with another request.
func reusedKey(w http.ResponseWriter, r *http.Request, key string) {
	writeError(w, r, http.StatusUnprocessableEntity, "idempotency_key_reused", fmt.Sprintf(
		"%s %q was used in the last 24 hours for a different request (another body, dataset or format); nothing was stored: send a new key with a new request",
		headerIdempotencyKey, key))
}

// answerBody is the JSON of v as writeJSON writes it.
func answerBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.Bytes()
}
