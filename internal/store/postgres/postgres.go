// Package postgres is Alidade's shared metadata store for a cluster of
// stateless nodes: projects, keys, datasets (schemas, retention,
// sampling), settings, dashboard sessions, saved queries, alert rules,
// checks, cron monitors, and error tracking's groups and event ids
// (errors.go), in one PostgreSQL database that every node
// uses. Its methods have the signatures and the answers of the embedded
// DuckDB store's of the same names, so that the rest of Alidade takes
// either.
//
// Every change of keys, projects, datasets, settings, alert rules,
// checks and cron monitors, and every session deletion, is announced
// with pg_notify in the transaction that makes it; each Store listens on
// a connection of its own, keeps its dataset cache current from what it
// hears and passes each change to the callbacks given to Watch. What
// must run on one node at a time runs under Lead, an advisory lock held
// on a connection of its own (leader.go). The tables are created at the
// first Open and migrated in place by later binaries (migrate.go).
//
// It owns the metadata tables and their SQL; it holds no points and knows
// nothing of HTTP or of keys in clear.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alidade/alidade/internal/meta"
)

// Options configure the store.
type Options struct {
	// URL is the database's, postgres://user@host:port/db?sslmode=disable
	// (every parameter libpq takes; see pgx's ParseConfig).
	URL string
	// Logger reports what fails in the background (the listener); nil
	// means discard.
	Logger *slog.Logger
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.URL == "" {
		return errors.New("metadata database URL is empty: give postgres://user@host:port/db")
	}
	if !strings.HasPrefix(o.URL, "postgres://") && !strings.HasPrefix(o.URL, "postgresql://") {
		return fmt.Errorf("metadata database URL %q must start with postgres://", redactURL(o.URL))
	}
	return nil
}

// defaultConnectTimeout bounds a connection attempt when the URL sets
// none (connect_timeout): a server that drops packets must make calls
// fail with meta.ErrUnavailable, not hang until their caller gives up.
const defaultConnectTimeout = 5 * time.Second

// Store is the PostgreSQL metadata store. It is safe for concurrent use.
type Store struct {
	opts Options
	log  *slog.Logger
	pool *pgxpool.Pool
	// listenConfig connects the listener's connection (notify.go);
	// listenPID is its server process (for the tests); the durations
	// are those of the package's variables at Open.
	listenConfig                           *pgx.ConnConfig
	listenPID                              atomic.Uint32
	listenIdle, reconnectMin, reconnectMax time.Duration
	// The leadership timing (leader.go), from the package's variables
	// at Open.
	leadRetry, leadPing, leadGrace time.Duration

	// mu guards datasets, the cache the non-ctx getters answer from.
	mu       sync.Mutex
	datasets map[dsKey]*cached

	// watchMu guards watchers, the callbacks of Watch.
	watchMu  sync.Mutex
	watchers []func(meta.Change)

	// busHook, when set, takes the notifications of the tail bus's
	// channels (tailbus.go) from the listener's goroutine.
	busHook atomic.Pointer[func(channel, payload string)]

	stop context.CancelFunc
	done chan struct{}
}

type dsKey struct {
	project int64
	name    string
}

// cached is a dataset as the cache keeps it, with the version of its row:
// the cache takes a row only when it is not older than what it has, so
// that a slow reload never undoes a newer change (see datasets.version).
type cached struct {
	d       meta.Dataset
	version int64
}

// Open connects to the database, creates or migrates its tables, starts
// listening for the changes of other nodes and loads the dataset cache.
// A server that cannot be reached gives an error wrapping
// meta.ErrUnavailable.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("metadata database URL %q: %s", redactURL(opts.URL), redactURL(err.Error()))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}
	s := &Store{
		opts:         opts,
		log:          log,
		pool:         pool,
		listenConfig: cfg.ConnConfig.Copy(),
		listenIdle:   listenIdle,
		reconnectMin: reconnectMin,
		reconnectMax: reconnectMax,
		leadRetry:    leadRetry,
		leadPing:     leadPing,
		leadGrace:    leadGrace,
		datasets:     map[dsKey]*cached{},
		done:         make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	// Listen before loading: a change committed between the two is then
	// heard (and reloaded twice) rather than missed.
	conn, err := s.connectListener(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.loadDatasets(ctx); err != nil {
		conn.Close(context.Background())
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.listen(lctx, conn)
	return s, nil
}

// Close stops the listener and closes the connections.
func (s *Store) Close() error {
	s.stop()
	<-s.done
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.fail("ping metadata database", err)
	}
	return nil
}

// fail wraps err with what failed, and with meta.ErrUnavailable when err
// says the server could not be reached (rather than that it refused the
// statement). The store's own not-found and exists errors, made inside a
// transaction, come back as they are.
func (s *Store) fail(what string, err error) error {
	if errors.Is(err, meta.ErrNotFound) || errors.Is(err, meta.ErrExists) {
		return err
	}
	if unreachable(err) {
		return fmt.Errorf("%s: %w: %w", what, meta.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unreachable reports whether err is a failure to reach the server or a
// connection lost (refused, reset, closed, shut down by its
// administrator), as opposed to an error the server answered to a
// statement, or the caller's own cancellation.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08 is connection exceptions; 57P01–57P03 a server
		// shutting down, crashed or starting; 53300 too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

// isUniqueViolation reports whether err is a unique constraint's.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// redactURL hides the password of a postgres:// URL in s.
func redactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 {
		return s
	}
	return s[:i+3] + rest[:colon] + ":xxxxx" + rest[at:]
}

// tx runs fn in a transaction and sends the changes it returns with
// pg_notify before the commit, so that other nodes hear of a change if and
// only if it is committed.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) ([]meta.Change, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		changes, err := fn(tx)
		if err != nil {
			return err
		}
		return notify(ctx, tx, changes...)
	})
}
