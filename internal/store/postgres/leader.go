package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leadership timing: a node that does not hold a leadership lock tries to
// take it every leadRetry; the holder pings the lock's connection every
// leadPing, each ping given leadPing to answer, and gives up at the first
// that fails. A node that takes the lock waits leadGrace before it leads:
// a former holder whose connection the server dropped while the node
// itself lived (an administrator's pg_terminate_backend, a network cut)
// has noticed by then, so that two nodes never lead at once. Variables
// for the tests.
var (
	leadRetry = time.Second
	leadPing  = time.Second
	leadGrace = 2 * time.Second
)

// lockKey is the advisory lock of a name: Exclusive's and Lead's share
// the space, so that one name is one lock.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("alidade lock\x00" + name))
	return int64(h.Sum64())
}

// Lead makes this node the cluster's leader for name while it can, and
// returns when ctx ends. While it holds the session-level advisory lock
// name, on a connection of its own, it runs fn with a context that ends as
// soon as the lock may be lost: ctx ends, or a ping of the connection
// fails (PostgreSQL stopped or unreachable, the connection killed). fn
// must return once its context ends; Lead then closes the connection
// (PostgreSQL releases the lock with it) and, unless ctx ended, tries
// again. While another node holds the lock, Lead tries to take it every
// second; when the holder stops or dies (the server closes its
// connection, which releases its lock), another node leads within about
// three seconds: a second to try, two of grace (see leadGrace). When fn
// returns on its own, the lock is released and taken again (by this node
// or another) as above.
//
// What the cluster must do once at a time, never twice — evaluating the
// alert rules, running the checks, sweeping the cron monitors, expiring
// points — runs in fn.
func (s *Store) Lead(ctx context.Context, name string, fn func(ctx context.Context)) {
	key := lockKey(name)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	waiting := false // logged once per wait, not once a second
	for ctx.Err() == nil {
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, s.listenConfig)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Debug("leadership: connect failed", "lock", name, "err", err)
				}
				sleep(ctx, s.leadRetry)
				continue
			}
			conn = c
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			if ctx.Err() == nil {
				s.log.Debug("leadership: lock attempt failed", "lock", name, "err", err)
			}
			conn.Close(context.Background())
			conn = nil
			sleep(ctx, s.leadRetry)
			continue
		}
		if !got {
			if !waiting {
				s.log.Info("leadership: another node leads; waiting", "lock", name)
				waiting = true
			}
			sleep(ctx, s.leadRetry)
			continue
		}
		waiting = false
		err := s.lead(ctx, conn, name, fn)
		// Closing the connection releases the lock, whatever happened.
		conn.Close(context.Background())
		conn = nil
		if ctx.Err() != nil {
			s.log.Info("leadership: stopped leading", "lock", name)
			return
		}
		if err != nil {
			s.log.Warn("leadership lost", "lock", name, "err", err)
		}
		sleep(ctx, s.leadRetry)
	}
}

// errFnReturned is lead's error when fn returned before its context ended.
var errFnReturned = errors.New("the leader's work returned")

// lead runs fn while conn, which holds the lock, answers its pings; it
// returns once fn has returned, with why fn's context ended.
func (s *Store) lead(ctx context.Context, conn *pgx.Conn, name string, fn func(ctx context.Context)) error {
	t := time.NewTicker(s.leadPing)
	defer t.Stop()
	// The grace: hold the lock, pinging, before leading.
	for grace := time.Now().Add(s.leadGrace); time.Now().Before(grace); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := s.pingLock(ctx, conn); err != nil {
			return err
		}
	}
	s.log.Info("leadership: leading", "lock", name)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fctx)
	}()
	for {
		select {
		case <-done:
			return errFnReturned
		case <-ctx.Done():
			cancel()
			<-done
			return ctx.Err()
		case <-t.C:
		}
		if err := s.pingLock(ctx, conn); err != nil {
			cancel()
			<-done
			return err
		}
	}
}

// pingLock checks that the lock's connection still answers (and so that
// its session, which holds the lock, lives).
func (s *Store) pingLock(ctx context.Context, conn *pgx.Conn) error {
	pctx, cancel := context.WithTimeout(ctx, s.leadPing)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ping the lock's connection: %w", err)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
