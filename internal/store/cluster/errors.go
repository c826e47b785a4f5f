package cluster

import (
	"context"
	"errors"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
)

// Error tracking on a cluster: the groups and the ids of the events
// recorded in PostgreSQL, the events and attachments in ClickHouse. A
// batch (errtrack.SharedStore) finds or creates its groups' ids in
// PostgreSQL (ResolveErrorGroups, no lock kept), inserts its events into
// ClickHouse with them (CommitErrors, no lock held), then claims their
// ids and changes their groups in one short PostgreSQL transaction
// (CommitShared): a group never counts an event that cannot be read, and
// an insert that fails leaves the ids unclaimed and the groups as they
// were. Rows stored by a batch whose transaction then failed, or whose
// claim another node won, are duplicates of their event id, which every
// read keeps once (LIMIT 1 BY).

var _ errtrack.SharedStore = (*Store)(nil)

// ErrorPoints is what the node needs of the ClickHouse store for error
// tracking.
type ErrorPoints interface {
	AppendErrors(ctx context.Context, events []errtrack.StoredEvent, atts []errtrack.Attachment) error
	ErrorEvent(ctx context.Context, project int64, eventID string) (*errtrack.StoredEvent, error)
	ErrorEvents(ctx context.Context, project, group int64, limit int, before int64) ([]errtrack.StoredEvent, error)
	ErrorAttachments(ctx context.Context, project int64, eventID string) ([]errtrack.Attachment, error)
	RecentErrorEventIDs(ctx context.Context, limit int) ([]errtrack.EventKey, error)
	ExpireErrors(ctx context.Context, project, cutoff int64) (events, atts int64, err error)
}

var _ ErrorPoints = (*clickhouse.Store)(nil)

func (s *Store) errPoints() (ErrorPoints, error) {
	ep, ok := s.points.(ErrorPoints)
	if !ok {
		return nil, errors.New("the points store keeps no error events")
	}
	return ep, nil
}

// CommitShared runs the transaction of one commit of error tracking
// (errtrack.SharedStore): claims, locks and the groups written back. The
// commit's events were inserted before, by CommitErrors.
func (s *Store) CommitShared(ctx context.Context, fn func(tx errtrack.SharedTx) (errtrack.Commit, error)) error {
	return s.Store.ShareErrors(ctx, fn)
}

// CommitErrors stores a commit made elsewhere (attachments that came
// without their event; a migration's groups and events): events and
// attachments first, then the groups as they are, by id.
func (s *Store) CommitErrors(ctx context.Context, c errtrack.Commit) error {
	if c.Loaded != nil {
		return errors.New("a cluster node keeps no error journal")
	}
	ep, err := s.errPoints()
	if err != nil {
		return err
	}
	if len(c.Events)+len(c.Attachments) > 0 {
		if err := clickhouse.Classify(ep.AppendErrors(ctx, c.Events, c.Attachments)); err != nil {
			return err
		}
	}
	return s.PutErrorGroups(ctx, append(append([]*errtrack.Group{}, c.New...), c.Changed...))
}

// ErrorsLoaded is zero: a cluster node keeps no error journal.
func (s *Store) ErrorsLoaded(ctx context.Context) (store.LogPos, error) {
	return store.LogPos{}, nil
}

// ErrorEvent returns a project's event with its payload.
func (s *Store) ErrorEvent(ctx context.Context, project int64, eventID string) (*errtrack.StoredEvent, error) {
	ep, err := s.errPoints()
	if err != nil {
		return nil, err
	}
	e, err := ep.ErrorEvent(ctx, project, eventID)
	return e, clickhouse.Classify(err)
}

// ErrorEvents lists a group's events, newest first.
func (s *Store) ErrorEvents(ctx context.Context, project, group int64, limit int, before int64) ([]errtrack.StoredEvent, error) {
	ep, err := s.errPoints()
	if err != nil {
		return nil, err
	}
	es, err := ep.ErrorEvents(ctx, project, group, limit, before)
	return es, clickhouse.Classify(err)
}

// ErrorAttachments lists an event's attachments.
func (s *Store) ErrorAttachments(ctx context.Context, project int64, eventID string) ([]errtrack.Attachment, error) {
	ep, err := s.errPoints()
	if err != nil {
		return nil, err
	}
	as, err := ep.ErrorAttachments(ctx, project, eventID)
	return as, clickhouse.Classify(err)
}

// RecentErrorEventIDs returns the ids of the latest events received.
func (s *Store) RecentErrorEventIDs(ctx context.Context, limit int) ([]errtrack.EventKey, error) {
	ep, err := s.errPoints()
	if err != nil {
		return nil, err
	}
	ks, err := ep.RecentErrorEventIDs(ctx, limit)
	return ks, clickhouse.Classify(err)
}

// ExpireErrors deletes a project's events and attachments received before
// cutoff (ClickHouse), then its groups last seen before it and its event
// ids received before it (PostgreSQL).
func (s *Store) ExpireErrors(ctx context.Context, project int64, cutoff int64) (errtrack.ExpireReport, error) {
	var rep errtrack.ExpireReport
	ep, err := s.errPoints()
	if err != nil {
		return rep, err
	}
	if rep.Events, rep.Attachments, err = ep.ExpireErrors(ctx, project, cutoff); err != nil {
		return rep, clickhouse.Classify(err)
	}
	rep.Groups, err = s.ExpireErrorGroups(ctx, project, cutoff)
	return rep, err
}
