package server

import (
	"errors"
	"net/http"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/store"
)

// unavailableRetry is the Retry-After (seconds) of a 503 for a backend
// that cannot be reached.
const unavailableRetry = "5"

// writeUnavailable answers 503 when err says that a backend holding the
// data — a ClickHouse server or shard, the metadata's PostgreSQL — cannot
// be reached, and reports whether it did: a partial answer would be a
// wrong one (a smaller sum), so there is none.
func writeUnavailable(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, meta.ErrUnavailable) {
		return false
	}
	w.Header().Set("Retry-After", unavailableRetry)
	writeError(w, r, http.StatusServiceUnavailable, "store_unavailable",
		"a store this answer needs cannot be reached; nothing partial is answered, retry later: "+cleanBackendError(err))
	return true
}
