// Package server owns Alidade's HTTP surface: routing, authentication and
// scoping of every request to its key's project, body limits, error shapes,
// request logs and self-metrics. It decodes requests with package point and
// query, hands writes to the ingest pipeline and reads to the query engine;
// it never prints SQL and never sees a stored secret.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/dashboard"
	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/insights"
	"github.com/alidade/alidade/internal/live"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/pricing"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/session"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/tail"
	"github.com/alidade/alidade/internal/ui"
	"github.com/alidade/alidade/internal/wal"
)

// Options configure the server.
type Options struct {
	Listen string
	// MaxBodyBytes bounds a request body after decompression.
	MaxBodyBytes int64
	// MaxQueryBytes bounds a query request body.
	MaxQueryBytes int64
	// Retention is the default retention: timestamps older are refused.
	Retention time.Duration
	// FutureSkew is how far ahead of the server's clock a timestamp may be.
	FutureSkew time.Duration
	// QueryTimeout bounds one query.
	QueryTimeout time.Duration
	// MaxPointsPerRequest bounds the points in one body.
	MaxPointsPerRequest int
	// MaxSQLRows bounds the rows of one SQL API result (0: 100,000).
	MaxSQLRows int64
	Version    string
	Logger     *slog.Logger
	// Pricing is the price catalog ingest prices AI points with (the
	// operator's file over the default catalog); nil means the default
	// catalog. Each project's own entries go over it.
	Pricing *pricing.Catalog
	// Rollups, when set, serves the rollup endpoints and rebuilds a
	// dataset's rollup when its schema changes its rollup spec.
	Rollups *planner.Planner
	// Fresh, when set, waits (briefly) until the writes acknowledged
	// before the call are loaded into the store: queries, SQL, the
	// metrics and dataset answers call it first, so that a client reads
	// its own acknowledged writes.
	Fresh func(ctx context.Context)
	// Live, when set, is told of every commit (ingest.Options.OnAppended)
	// and feeds the dashboard's live updates (GET /api/v1/live).
	Live *live.Hub
	// Tail, when set, is published every commit as Live is and serves
	// GET /api/v1/tail; nil answers 503 there.
	Tail *tail.Hub
	// TailHeartbeat is how often an idle tail gets a heartbeat; 0 means
	// 15 s.
	TailHeartbeat time.Duration
	// Dedupe, when set, drops from a write what an earlier write of its
	// Idempotency-Key stored, setting Idem.Found (see planner.Dedupe):
	// writes are acknowledged once logged, before the store sees them.
	Dedupe func(ctx context.Context, batches []store.Batch) ([]store.Batch, error)
	// TrustProxy takes the beacon's client address from CF-Connecting-IP
	// or X-Forwarded-For and its country from CF-IPCountry or X-Country
	// (--trust-proxy): only behind a proxy that sets them.
	TrustProxy bool
	// GeoIP is a MaxMind database file the beacon's country is looked up
	// in (--geoip); "" means none.
	GeoIP string
	// Lab gives the per-page report (GET /api/v1/insights) each page's
	// latest lab run; nil leaves lab null.
	Lab insights.LabSource
	// Clock is the server's clock: the beacon's points' receive time, the
	// UTC day of the visitor salt, and dashboard sessions' expiry. nil
	// means time.Now.
	Clock func() time.Time
	// AfterCommit, when set, runs after a write with an Idempotency-Key
	// is committed and before it is answered: the crash tests kill the
	// process there (ALIDADE_FAILPOINT=kill-after-commit).
	AfterCommit func()
	// PublicURL is the URL browsers and SDKs reach the server at
	// (--public-url): the host of the projects' Sentry DSNs. "" means
	// http:// and the listen address.
	PublicURL string
	// SessionIdle ends a dashboard session unused this long
	// (--session-idle); SessionMax ends it this long after its sign-in,
	// however used (--session-max).
	SessionIdle, SessionMax time.Duration
	// SentryLimits, when set, replaces Relay's default size limits of the
	// Sentry endpoints (errtrack.DefaultLimits).
	SentryLimits *errtrack.Limits
	// ErrorJournal is the directory of error tracking's journal (the data
	// directory's errors-wal): error events are acknowledged once in it
	// and loaded into the store behind. Empty: each batch of events
	// commits to the store before its answer.
	ErrorJournal string
	// AlertForbidPrivate refuses to send alert notifications to loopback,
	// private and link-local addresses (--alert-forbid-private).
	AlertForbidPrivate bool
	// PageRunner runs page checks (Lighthouse); nil makes them
	// unavailable (http checks run all the same).
	PageRunner checks.PageRunner
	// ChecksPageConcurrency and ChecksPageQueue bound the page runs
	// handed to PageRunner at once (--checks-page-concurrency,
	// --checks-page-queue): the runner runs the first and queues the
	// rest; past both, a run asked for now is refused.
	ChecksPageConcurrency, ChecksPageQueue int
	// ChecksAllow restricts the checks' targets to its hosts and
	// networks (--checks-allow), checked on each connection after DNS;
	// nil allows every address the server can reach.
	ChecksAllow *checks.Allow
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Listen:              "127.0.0.1:8080",
		MaxBodyBytes:        10 << 20,
		MaxQueryBytes:       1 << 20,
		Retention:           90 * 24 * time.Hour,
		FutureSkew:          5 * time.Minute,
		QueryTimeout:        30 * time.Second,
		MaxPointsPerRequest: 1_000_000,
		SessionIdle:         12 * time.Hour,
		SessionMax:          7 * 24 * time.Hour,

		ChecksPageConcurrency: 1,
		ChecksPageQueue:       10,
	}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Listen == "" {
		return errors.New("listen address is empty")
	}
	if o.MaxBodyBytes <= 0 || o.MaxQueryBytes <= 0 {
		return errors.New("body limits must be positive")
	}
	if o.Retention <= 0 {
		return fmt.Errorf("retention must be positive, got %v", o.Retention)
	}
	if o.QueryTimeout <= 0 {
		return fmt.Errorf("query timeout must be positive, got %v", o.QueryTimeout)
	}
	if o.SessionIdle <= 0 || o.SessionMax <= 0 {
		return fmt.Errorf("session idle time and lifetime must be positive, got %v and %v", o.SessionIdle, o.SessionMax)
	}
	if o.ChecksPageConcurrency < 0 || o.ChecksPageQueue < 0 {
		return fmt.Errorf("checks page concurrency and queue must not be negative, got %d and %d", o.ChecksPageConcurrency, o.ChecksPageQueue)
	}
	if o.SessionIdle > o.SessionMax {
		return fmt.Errorf("session idle time %v is longer than the session lifetime %v", o.SessionIdle, o.SessionMax)
	}
	return nil
}

// Store is what the server needs of the store beyond ingest and query.
type Store interface {
	Ping(ctx context.Context) error
	SizeBytes() int64

	CreateProject(ctx context.Context, name string) (*meta.Project, error)
	Projects(ctx context.Context) ([]meta.Project, error)
	CreateKey(ctx context.Context, k *meta.Key) error
	Keys(ctx context.Context, project int64) ([]meta.Key, error)
	RevokeKey(ctx context.Context, project, id int64) error

	Schema(project int64, dataset string) *point.Schema
	Dataset(project int64, dataset string) *meta.Dataset
	Datasets(project int64) []meta.Dataset
	DatasetStats(ctx context.Context, project int64, dataset string) (meta.DatasetStats, error)
	SetSchema(ctx context.Context, project int64, dataset string, s *point.Schema) error
	SetRetention(ctx context.Context, project int64, dataset string, d time.Duration) error
	SetSampling(ctx context.Context, project int64, dataset string, pps float64) error

	sqlStore
}

// Server is Alidade's HTTP server.
type Server struct {
	opts    Options
	log     *slog.Logger
	store   Store
	auth    *auth.Authenticator
	ingest  *ingest.Pipeline
	idem    *idempotency
	queries *query.Engine
	metrics *Metrics
	http    *http.Server
	ln      net.Listener

	pricing   *pricing.Registry
	dashboard *dashboard.Dashboard

	clock   func() time.Time
	enrich  *enrich.Enricher
	origins *origins
	stop    context.CancelFunc // ends the enrichment upkeep
	// stopping is closed when Close begins: long streams end then.
	stopping  chan struct{}
	closeOnce sync.Once

	errors     *errtrack.Tracker  // nil when the store keeps no error groups
	errJournal *wal.Log           // nil without Options.ErrorJournal
	monitors   *monitors.Registry // nil when the store keeps no cron monitors
	alerts     *alert.Manager     // nil when the store keeps no alert rules
	checks     *checks.Manager    // nil when the store keeps no checks
	// loopsDone is closed when the checks loop has ended (on a cluster,
	// the leadership: see leader.go).
	loopsDone chan struct{}
	// reloads asks for the reloads of what other servers changed (on a
	// cluster); leading is set while this server leads it.
	reloads      reloads
	leading      atomic.Bool
	errLimits    *errorRateLimits
	sentryLimits errtrack.Limits

	sessions *session.Manager // dashboard sign-ins
	logins   *loginLimiter    // failed sign-ins per client address
}

// New builds a server; Start listens.
func New(opts Options, st Store, au *auth.Authenticator, pipe *ingest.Pipeline, exec query.Executor, m *Metrics) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = discardLogger()
	}
	s := &Server{opts: opts, log: log, store: st, auth: au, ingest: pipe, metrics: m, idem: newIdempotency(), stopping: make(chan struct{}),
		reloads: newReloads()}
	s.queries = &query.Engine{Exec: exec, Schemas: st.Schema, Now: time.Now}
	if err := s.initPlatform(st, exec); err != nil {
		return nil, err
	}
	if err := s.initBeacon(st); err != nil {
		return nil, err
	}
	if err := s.initErrors(st); err != nil {
		return nil, err
	}
	if err := s.initSessions(st); err != nil {
		return nil, err
	}
	if err := s.initAlerts(st, exec); err != nil {
		return nil, err
	}
	if err := s.initChecks(st); err != nil {
		return nil, err
	}
	if _, ok := st.(leaderStore); ok && m != nil {
		m.Registry.NewGaugeFunc("alidade_leader", "1 while this node leads the cluster (evaluates the alert rules, runs the checks, sweeps the cron monitors), else 0.",
			func() float64 {
				if s.leading.Load() {
					return 1
				}
				return 0
			})
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      opts.QueryTimeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	s.ln = ln
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.maintainEnrichment(ctx, time.Minute)
	go s.maintainSessions(ctx, time.Minute)
	if ld, ok := s.store.(leaderStore); ok {
		// A cluster's node: the rules, checks and sweeps run on its
		// leader only (leader.go).
		s.startShared(ctx, ld)
	} else {
		s.startErrors(ctx)
		s.runAlerts(ctx)
		s.runChecks(ctx)
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.opts.Listen
	}
	return s.ln.Addr().String()
}

// Close stops accepting requests and waits for those in flight.
func (s *Server) Close(ctx context.Context) error {
	if s.stop != nil {
		s.stop()
	}
	s.closeOnce.Do(func() { close(s.stopping) })
	if err := s.http.Shutdown(ctx); err != nil {
		// Requests may still run: the GeoIP database stays mapped.
		return err
	}
	s.waitChecks(ctx)
	if err := s.closeErrors(ctx); err != nil {
		return err
	}
	return s.enrich.Close()
}

// Handler returns the routed handler with its middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /sdk.js", s.handleSDK)
	mux.HandleFunc("GET /sdk/{file}", s.handleSDKVersioned)

	mux.HandleFunc("POST /api/v1/points", s.withKey(s.handleWritePoints, meta.KindWrite, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/datasets/{dataset}/points", s.withKey(s.handleWritePoints, meta.KindWrite, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/logs", s.withKey(s.handleWriteLogs, meta.KindWrite, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/events", s.handleEvents)
	mux.HandleFunc("OPTIONS /api/v1/events", s.handleEventsPreflight)
	// Sentry's ingest endpoints (any Sentry SDK, by DSN) and error groups.
	mux.HandleFunc("POST /api/{project_id}/envelope/", s.handleSentry(true))
	mux.HandleFunc("POST /api/{project_id}/store/", s.handleSentry(false))
	mux.HandleFunc("OPTIONS /api/{project_id}/envelope/", s.handleSentryPreflight)
	mux.HandleFunc("OPTIONS /api/{project_id}/store/", s.handleSentryPreflight)
	mux.HandleFunc("GET /api/v1/error-groups", s.withKey(s.handleListErrorGroups, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/saved-queries", s.withKey(s.handleListSavedQueries, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/saved-queries", s.withKey(s.handleCreateSavedQuery, meta.KindAdmin))
	mux.HandleFunc("PUT /api/v1/saved-queries/{id}", s.withKey(s.handleUpdateSavedQuery, meta.KindAdmin))
	mux.HandleFunc("DELETE /api/v1/saved-queries/{id}", s.withKey(s.handleDeleteSavedQuery, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/alerts", s.withKey(s.handleListAlerts, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/alerts", s.withKey(s.handleCreateAlert, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/alerts/{id}", s.withKey(s.handleGetAlert, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("PUT /api/v1/alerts/{id}", s.withKey(s.handleUpdateAlert, meta.KindAdmin))
	mux.HandleFunc("DELETE /api/v1/alerts/{id}", s.withKey(s.handleDeleteAlert, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/alerts/{id}/history", s.withKey(s.handleAlertHistory, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/alerts/{id}/test", s.withKey(s.handleTestAlert, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/checks", s.withKey(s.handleListChecks, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/checks", s.withKey(s.handleCreateCheck, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/checks/{id}", s.withKey(s.handleGetCheck, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("PUT /api/v1/checks/{id}", s.withKey(s.handleUpdateCheck, meta.KindAdmin))
	mux.HandleFunc("DELETE /api/v1/checks/{id}", s.withKey(s.handleDeleteCheck, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/checks/{id}/run", s.withKey(s.handleRunCheck, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/checks/{id}/runs", s.withKey(s.handleCheckRuns, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/checks/{id}/runs/{run}/report", s.withKey(s.handleCheckReport, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/live", s.withKey(s.handleLive, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/tail", s.withKey(s.handleTail, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/monitors", s.withKey(s.handleListMonitors, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/error-groups/{id}", s.withKey(s.handleGetErrorGroup, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/error-groups/{id}/events", s.withKey(s.handleErrorGroupEvents, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("PATCH /api/v1/error-groups/{id}", s.withKey(s.handlePatchErrorGroup, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/events/{event_id}", s.withKey(s.handleGetEvent, meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/query", s.withKey(s.fresh(s.handleQuery), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/sql", s.withKey(s.fresh(s.handleSQL), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/sql", s.withKey(s.fresh(s.handleSQL), meta.KindRead, meta.KindAdmin))
	// Workers Analytics Engine's own path, so that AE clients and Grafana
	// data sources migrate by changing only their base URL and token.
	mux.HandleFunc("POST /client/v4/accounts/{account}/analytics_engine/sql", s.withKey(s.fresh(s.handleSQL), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /client/v4/accounts/{account}/analytics_engine/sql", s.withKey(s.fresh(s.handleSQL), meta.KindRead, meta.KindAdmin))

	mux.HandleFunc("GET /api/v1/metrics", s.withKey(s.fresh(s.handlePlatformMetrics), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/web", s.withKey(s.fresh(s.handleWeb), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/insights", s.withKey(s.fresh(s.handleInsights), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/pricing", s.withKey(s.handleGetPricing, meta.KindAdmin))
	mux.HandleFunc("PUT /api/v1/pricing/{model...}", s.withKey(s.handlePutPricing, meta.KindAdmin))
	mux.HandleFunc("DELETE /api/v1/pricing/{model...}", s.withKey(s.handleDeletePricing, meta.KindAdmin))

	// What reads or changes datasets waits, as queries do, for the writes
	// acknowledged before it to be loaded (with --wal on): a dataset that
	// was written to exists.
	mux.HandleFunc("GET /api/v1/rollups", s.withKey(s.fresh(s.handleRollups), meta.KindRead, meta.KindAdmin))
	mux.HandleFunc("POST /api/v1/rollups/rebuild", s.withKey(s.fresh(s.handleRebuildRollups), meta.KindAdmin))

	mux.HandleFunc("GET /api/v1/datasets", s.withKey(s.fresh(s.handleListDatasets), meta.KindRead, meta.KindAdmin, meta.KindWrite))
	mux.HandleFunc("GET /api/v1/datasets/{dataset}", s.withKey(s.fresh(s.handleGetDataset), meta.KindRead, meta.KindAdmin, meta.KindWrite))
	mux.HandleFunc("PATCH /api/v1/datasets/{dataset}", s.withKey(s.fresh(s.handlePatchDataset), meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/datasets/{dataset}/schema", s.withKey(s.fresh(s.handleGetSchema), meta.KindRead, meta.KindAdmin, meta.KindWrite))
	mux.HandleFunc("PUT /api/v1/datasets/{dataset}/schema", s.withKey(s.fresh(s.handlePutSchema), meta.KindAdmin))

	mux.HandleFunc("POST /api/v1/projects", s.withRoot(s.handleCreateProject))
	mux.HandleFunc("GET /api/v1/projects", s.withRoot(s.handleListProjects))
	mux.HandleFunc("GET /api/v1/projects/{id}", s.withProject(s.handleGetProject))
	mux.HandleFunc("PATCH /api/v1/projects/{id}", s.withProject(s.handlePatchProject))
	mux.HandleFunc("POST /api/v1/keys", s.withKey(s.handleCreateKey, meta.KindAdmin))
	mux.HandleFunc("GET /api/v1/keys", s.withKey(s.handleListKeys, meta.KindAdmin))
	mux.HandleFunc("DELETE /api/v1/keys/{id}", s.withKey(s.handleRevokeKey, meta.KindAdmin))

	// The dashboard: sign-in, sessions and its page (login.go, sessions.go).
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /api/v1/session", s.handleSession)
	mux.HandleFunc("GET /{$}", s.handleApp)
	for _, p := range dashboardPaths {
		mux.HandleFunc("GET "+p, s.handleApp)
	}
	mux.HandleFunc("GET /assets/{name}", ui.Assets)
	mux.HandleFunc("GET /favicon.ico", handleFavicon)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s; see the API reference in the README", r.Method, r.URL.Path))
	})
	return s.observe(s.recoverPanics(mux))
}

// fresh runs h once the writes acknowledged before the request are loaded
// into the store (Options.Fresh), so that a client reads its own writes.
func (s *Server) fresh(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Fresh != nil {
			s.opts.Fresh(r.Context())
		}
		s.waitErrors(r.Context())
		h(w, r)
	}
}
