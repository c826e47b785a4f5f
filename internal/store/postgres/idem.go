package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/alidade/alidade/internal/store"
	"github.com/jackc/pgx/v5"
)

// The idempotency keys of a cluster's writes (table idempotency_keys,
// migration 3). A node claims a key before it stores a write (state
// pending, with the node's name), and marks it done with the write's
// answer once the write is durable: in ClickHouse, or in the node's
// write-ahead log. Every node sees the same records, so a retry sent to
// another node is recognised. Times are Unix ms of the caller's clock.

// IdemClaimer names the node that claims keys.
type IdemClaimer struct {
	// Node is the node's name; a node with a write-ahead log keeps it
	// across restarts (its pending claims are settled at its restart).
	Node string
	// Durable says that the node's writes are acknowledged once in its
	// write-ahead log: its pending claims are never taken over by other
	// nodes, since its log may hold the write and load it later.
	Durable bool
}

// IdemInProgressError is a claim refused because a write of the key is in
// progress on a node (or that node stopped before finishing it).
type IdemInProgressError struct {
	Node    string
	Durable bool
}

// Unwrap makes the error store.ErrIdemInProgress.
func (e *IdemInProgressError) Unwrap() error { return store.ErrIdemInProgress }

func (e *IdemInProgressError) Error() string {
	if e.Durable {
		return fmt.Sprintf("a write with this Idempotency-Key is in progress on node %s (if that node stopped, the key is settled when it restarts)", e.Node)
	}
	return fmt.Sprintf("a write with this Idempotency-Key is in progress on node %s", e.Node)
}

// IdemClaim claims project's key for rec (Key, Hash, At) by c. It returns
// nil when c now holds the key; the key's finished record (Status and Body
// set) when a write of it is done and was received at or after since; or
// an *IdemInProgressError when another claim holds it. A finished record,
// or a claim of another request (another Hash), are returned as they are
// for the caller to answer. A claim is taken over when its record is
// older than since, or when it is pending, not durable, and was claimed
// before stale (its node presumably stopped mid-write: the write may then
// be stored twice).
func (s *Store) IdemClaim(ctx context.Context, c IdemClaimer, project int64, rec store.Idem, since, stale int64) (*store.Idem, error) {
	for range 3 {
		var one int
		err := s.pool.QueryRow(ctx, `
INSERT INTO idempotency_keys (project, idem_key, hash, state, node, durable, received, claimed)
VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6)
ON CONFLICT (project, idem_key) DO UPDATE SET hash = EXCLUDED.hash, state = 'pending', node = EXCLUDED.node,
	durable = EXCLUDED.durable, status = 0, body = NULL, received = EXCLUDED.received, claimed = EXCLUDED.claimed
WHERE idempotency_keys.received < $7
	OR (idempotency_keys.state = 'pending' AND NOT idempotency_keys.durable AND idempotency_keys.claimed < $8)
RETURNING 1`, project, rec.Key, rec.Hash, c.Node, c.Durable, rec.At, since, stale).Scan(&one)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, s.fail("claim idempotency key", err)
		}
		var got store.Idem
		var state, node string
		var durable bool
		err = s.pool.QueryRow(ctx, `SELECT hash, state, node, durable, status, body, received FROM idempotency_keys
WHERE project = $1 AND idem_key = $2`, project, rec.Key).Scan(&got.Hash, &state, &node, &durable, &got.Status, &got.Body, &got.At)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // removed meanwhile: claim again
		}
		if err != nil {
			return nil, s.fail("look up idempotency key", err)
		}
		got.Key = rec.Key
		if state == "pending" && got.Hash == rec.Hash {
			return nil, &IdemInProgressError{Node: node, Durable: durable}
		}
		return &got, nil
	}
	return nil, fmt.Errorf("claim idempotency key: the record kept changing; retry")
}

// IdemDone records the answers of the writes of recs (Key, Hash, Status,
// Body, At), which are durable, as their keys' finished records. It is
// idempotent: a write loaded again records the same.
func (s *Store) IdemDone(ctx context.Context, c IdemClaimer, project []int64, recs []*store.Idem) error {
	if len(recs) == 0 {
		return nil
	}
	var b pgx.Batch
	for i, r := range recs {
		b.Queue(`
INSERT INTO idempotency_keys (project, idem_key, hash, state, node, durable, status, body, received, claimed)
VALUES ($1, $2, $3, 'done', $4, $5, $6, $7, $8, $8)
ON CONFLICT (project, idem_key) DO UPDATE SET state = 'done', status = EXCLUDED.status, body = EXCLUDED.body
WHERE idempotency_keys.hash = EXCLUDED.hash AND idempotency_keys.received = EXCLUDED.received`,
			project[i], r.Key, r.Hash, c.Node, c.Durable, r.Status, r.Body, r.At)
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return s.fail("record idempotency keys", err)
	}
	return nil
}

// IdemRelease drops c's pending claim of project's key, whose write stored
// nothing: the next write of the key runs.
func (s *Store) IdemRelease(ctx context.Context, c IdemClaimer, project int64, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE project = $1 AND idem_key = $2 AND state = 'pending' AND node = $3`,
		project, key, c.Node)
	if err != nil {
		return s.fail("release idempotency key", err)
	}
	return nil
}

// IdemSettle drops the pending claims c holds: called by a node with a
// write-ahead log after it loaded its log at its start, when every write
// the log held is done, so its pending claims are writes never logged.
// It returns how many it dropped.
func (s *Store) IdemSettle(ctx context.Context, c IdemClaimer) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE state = 'pending' AND node = $1`, c.Node)
	if err != nil {
		return 0, s.fail("settle idempotency keys", err)
	}
	return tag.RowsAffected(), nil
}

// IdemFinished returns the finished record of project's key received at or
// after since, or nil.
func (s *Store) IdemFinished(ctx context.Context, project int64, key string, since int64) (*store.Idem, error) {
	r := store.Idem{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT hash, status, body, received FROM idempotency_keys
WHERE project = $1 AND idem_key = $2 AND state = 'done' AND received >= $3`, project, key, since).Scan(&r.Hash, &r.Status, &r.Body, &r.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("look up idempotency key", err)
	}
	return &r, nil
}

// IdemExpire removes the records received before before.
func (s *Store) IdemExpire(ctx context.Context, before int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE received < $1`, before)
	if err != nil {
		return 0, s.fail("expire idempotency keys", err)
	}
	return tag.RowsAffected(), nil
}
