package clickhouse

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/alidade/alidade/internal/store"
)

// Ping asks the server for one row.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.query(ctx, "SELECT 1", nil)
	return Classify(err)
}

// ClickHouse's codes of a server or shard that cannot be reached or is
// going away: the data is there, the answer is not.
var unavailableCodes = map[int]bool{
	32:  true, // ATTEMPT_TO_READ_AFTER_EOF (a shard's connection cut)
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	279: true, // ALL_CONNECTION_TRIES_FAILED (a shard down)
	159: true, // TIMEOUT_EXCEEDED
	394: true, // QUERY_WAS_CANCELLED (a server shutting down)
	236: true, // ABORTED
}

// Classify wraps err in store.ErrUnavailable when it says that ClickHouse
// or one of its shards could not be reached (a network error, a 5xx
// answer of an unreachable shard), so that callers answer 503 rather than
// a wrong or partial figure; other errors are returned as they are.
func Classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var ce *Error
	if errors.As(err, &ce) {
		if unavailableCodes[ce.Code()] {
			return &store.UnavailableError{What: "ClickHouse", Err: err}
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return &store.UnavailableError{What: "ClickHouse", Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &store.UnavailableError{What: "ClickHouse", Err: err}
	}
	return err
}
