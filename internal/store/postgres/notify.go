package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alidade/alidade/internal/meta"
)

// channel is the PostgreSQL notification channel of metadata changes.
const channel = "alidade_meta"

// maxPayload is the longest notification payload PostgreSQL takes (8000
// bytes, less one for its terminating zero).
const maxPayload = 7999

// Listener timing: the listener's connection is pinged after listenIdle
// without a notification (a server gone without closing the connection
// is noticed so), and a lost connection is retried after a wait that
// doubles from reconnectMin to reconnectMax. Variables for the tests: a
// Store takes their values at Open.
var (
	listenIdle   = 10 * time.Second
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 2 * time.Second
)

// encodeChange is a change's notification payload: its kind, project and
// id in decimal and its name, separated by single spaces. The name comes
// last and runs to the end, so that it may hold any character.
func encodeChange(c meta.Change) string {
	return string(c.Kind) + " " + strconv.FormatInt(c.Project, 10) + " " + strconv.FormatInt(c.ID, 10) + " " + c.Name
}

// decodeChange parses a payload of encodeChange; every payload it accepts
// is one encodeChange gives (numbers in their shortest form), so that a
// payload has one reading. ChangeResync is never sent: the listener
// makes it.
func decodeChange(p string) (meta.Change, error) {
	kind, rest, ok1 := strings.Cut(p, " ")
	project, rest, ok2 := strings.Cut(rest, " ")
	id, name, ok3 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 {
		return meta.Change{}, fmt.Errorf("change notification %.80q: want 4 fields, kind project id name", p)
	}
	c := meta.Change{Kind: meta.ChangeKind(kind), Name: name}
	if !slices.Contains(meta.ChangeKinds, c.Kind) || c.Kind == meta.ChangeResync {
		return meta.Change{}, fmt.Errorf("change notification %.80q: unknown kind %.40q", p, kind)
	}
	var err error
	if c.Project, err = decimal(project); err != nil {
		return meta.Change{}, fmt.Errorf("change notification %.80q: project: %w", p, err)
	}
	if c.ID, err = decimal(id); err != nil {
		return meta.Change{}, fmt.Errorf("change notification %.80q: id: %w", p, err)
	}
	return c, nil
}

// decimal parses an int64 written as strconv.FormatInt writes it.
func decimal(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a decimal number in its shortest form", s)
	}
	return n, nil
}

// notify announces changes in tx: PostgreSQL delivers them to every
// listener when tx commits, and never when it does not.
func notify(ctx context.Context, tx pgx.Tx, changes ...meta.Change) error {
	if len(changes) == 0 {
		return nil
	}
	ps := make([]string, len(changes))
	for i, c := range changes {
		ps[i] = encodeChange(c)
		if len(ps[i]) > maxPayload {
			return fmt.Errorf("change notification of %d bytes (%s %.40q): PostgreSQL takes at most %d", len(ps[i]), c.Kind, c.Name, maxPayload)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`, channel, ps); err != nil {
		return fmt.Errorf("announce the change: %w", err)
	}
	return nil
}

// Watch registers fn to be called with every change committed from now
// on, by any node (this one included), in the order PostgreSQL delivers
// them, from the listener's goroutine: fn must return quickly. After the
// listener lost its connection and got it back, fn gets a ChangeResync
// (the dataset cache is then reloaded already; what else changed
// meanwhile is unknown). The dataset cache has taken a ChangeDataset
// before fn sees it.
func (s *Store) Watch(fn func(meta.Change)) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.watchers = append(s.watchers, fn)
}

func (s *Store) deliver(c meta.Change) {
	s.watchMu.Lock()
	fns := slices.Clone(s.watchers)
	s.watchMu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// connectListener opens the listener's connection and listens on channel
// and on the tail bus's channels (which cost nothing while no node sends
// on them).
func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig)
	if err != nil {
		return nil, s.fail("connect the metadata listener", err)
	}
	for _, ch := range []string{channel, pointsChannel, interestChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			conn.Close(context.Background())
			return nil, s.fail("listen for metadata changes", err)
		}
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listen receives the changes on conn until ctx ends, reconnecting when
// the connection is lost. It closes s.done when it returns.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.done)
	for {
		err := s.receive(ctx, conn)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("metadata listener lost its connection; reconnecting", "err", err)
		if conn = s.reconnect(ctx); conn == nil {
			return
		}
		s.log.Info("metadata listener reconnected")
		s.deliver(meta.Change{Kind: meta.ChangeResync})
	}
}

// reconnect connects the listener again, waiting longer after each
// failure, and reloads the dataset cache; nil when ctx ends first.
func (s *Store) reconnect(ctx context.Context) *pgx.Conn {
	wait := s.reconnectMin
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, s.reconnectMax)
		conn, err := s.connectListener(ctx)
		if err == nil {
			// Listening already: what is committed from now on is heard.
			if err = s.loadDatasets(ctx); err == nil {
				return conn
			}
			conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Debug("metadata listener: reconnect failed", "err", err, "retry_in", wait)
	}
}

// receive handles the notifications on conn until it fails or ctx ends.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, s.listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return err
			}
			// Nothing for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, s.listenIdle)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping after %v without notifications: %w", s.listenIdle, err)
			}
			continue
		}
		if n.Channel != channel {
			if h := s.busHook.Load(); h != nil {
				(*h)(n.Channel, n.Payload)
			}
			continue
		}
		c, err := decodeChange(n.Payload)
		if err != nil {
			// Sent by a newer node, or by hand: reload all there is.
			s.log.Warn("metadata listener: unknown change; reloading", "err", err)
			if err := s.loadDatasets(ctx); err != nil {
				return err
			}
			c = meta.Change{Kind: meta.ChangeResync}
		}
		if c.Kind == meta.ChangeDataset {
			if err := s.reloadDataset(ctx, c.Project, c.Name); err != nil {
				return err
			}
		}
		s.deliver(c)
	}
}
