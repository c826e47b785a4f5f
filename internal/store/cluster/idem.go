package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/postgres"
)

// IdemStale is how long after its claim a pending idempotency key of a
// node without a write-ahead log may be taken over by a retry: its node
// presumably stopped between storing the write and recording the key (the
// write may then be stored twice). It is past the longest a live node's
// insert can take (a ClickHouse request's timeout, 5 minutes by default),
// so that a live write is never taken over. A node with a log settles its
// own pending keys at its restart instead.
const IdemStale = 6 * time.Minute

// SetIdemNode names the node in the idempotency keys it claims (before
// it serves); Open gives it a random name and no log.
func (s *Store) SetIdemNode(c postgres.IdemClaimer) { s.idem = c }

func (s *Store) claimer() postgres.IdemClaimer { return s.idem }

// randomNode is a node name for a node without a write-ahead log.
func randomNode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IdemClaim claims rec's key for this node before its write is stored:
// nil when the write is to run; the finished record of an earlier write
// of the key (or a claim of another request) to answer with; or an error
// wrapping store.ErrIdemInProgress while another node writes it.
func (s *Store) IdemClaim(ctx context.Context, project int64, rec store.Idem) (*store.Idem, error) {
	return s.Store.IdemClaim(ctx, s.claimer(), project, rec, rec.At-store.IdemWindow, rec.At-IdemStale.Milliseconds())
}

// IdemDone records rec, whose write is durable, as its key's answer.
func (s *Store) IdemDone(ctx context.Context, project int64, rec *store.Idem) error {
	return s.Store.IdemDone(ctx, s.claimer(), []int64{project}, []*store.Idem{rec})
}

// IdemRelease drops this node's claim of key, whose write stored nothing.
func (s *Store) IdemRelease(ctx context.Context, project int64, key string) error {
	return s.Store.IdemRelease(ctx, s.claimer(), project, key)
}

// IdemSettle drops this node's pending claims: call it once the node's
// write-ahead log is loaded at its start (see postgres.Store.IdemSettle).
func (s *Store) IdemSettle(ctx context.Context) (int64, error) {
	return s.Store.IdemSettle(ctx, s.claimer())
}

// idemDone records the keys of the batches Append stored, in the step
// that made them durable in ClickHouse: a write loaded from the log
// again records the same.
func (s *Store) idemDone(ctx context.Context, batches []store.Batch) error {
	var projects []int64
	var recs []*store.Idem
	for i := range batches {
		if r := batches[i].Idem; r != nil {
			projects = append(projects, batches[i].Project)
			recs = append(recs, r)
		}
	}
	return s.Store.IdemDone(ctx, s.claimer(), projects, recs)
}

// IdemLookup returns the finished record of key, received at or after
// since, for every day of days: a cluster records a write's key once
// for the whole write, after all its points are stored.
func (s *Store) IdemLookup(ctx context.Context, project int64, key string, days []int64, since int64) (map[int64]store.Idem, error) {
	r, err := s.Store.IdemFinished(ctx, project, key, since)
	if err != nil || r == nil {
		return nil, err
	}
	out := make(map[int64]store.Idem, len(days))
	for _, d := range days {
		out[d] = *r
	}
	return out, nil
}
