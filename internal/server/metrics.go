package server

import (
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/telemetry"
)

// Metrics are the server's self-measurements, exposed at GET /metrics.
type Metrics struct {
	Registry       *telemetry.Registry
	Requests       *telemetry.Counter
	RequestSeconds *telemetry.Histogram
	PointsAccepted *telemetry.Counter
	PointsRejected *telemetry.Counter
	Commits        *telemetry.Counter
	CommitSeconds  *telemetry.Histogram
	QuerySeconds   *telemetry.Histogram
	Panics         *telemetry.Counter
	// BeaconEvents counts the beacon's events by result: accepted,
	// rejected, bot (dropped), origin_not_allowed.
	BeaconEvents *telemetry.Counter
	// SentryItems counts the Sentry endpoints' items by type and result
	// ("event/accepted", "transaction/invalid", "profile/skipped", …).
	SentryItems *telemetry.Counter
	// SentryDiscarded counts what SDKs report they dropped (client
	// reports), by category and reason.
	SentryDiscarded *telemetry.Counter
}

// NewMetrics registers the server's metrics. queueBytes and storeBytes are
// read at scrape time.
func NewMetrics(queueBytes func() int64, storeBytes func() int64) *Metrics {
	r := &telemetry.Registry{}
	m := &Metrics{
		Registry:        r,
		Requests:        r.NewCounter("alidade_http_requests_total", "HTTP requests by status code.", "code"),
		RequestSeconds:  r.NewHistogram("alidade_http_request_duration_seconds", "HTTP request latency by route.", "route", telemetry.DefaultSecondsBuckets),
		PointsAccepted:  r.NewCounter("alidade_points_accepted_total", "Points acknowledged durable.", ""),
		PointsRejected:  r.NewCounter("alidade_points_rejected_total", "Points refused, by reason.", "reason"),
		Commits:         r.NewCounter("alidade_commits_total", "Group commits, by result.", "result"),
		CommitSeconds:   r.NewHistogram("alidade_commit_duration_seconds", "Group commit latency.", "", telemetry.DefaultSecondsBuckets),
		QuerySeconds:    r.NewHistogram("alidade_query_duration_seconds", "Structured query latency.", "", telemetry.DefaultSecondsBuckets),
		Panics:          r.NewCounter("alidade_handler_panics_total", "Handler panics recovered.", ""),
		BeaconEvents:    r.NewCounter("alidade_beacon_events_total", "Browser beacon events by result (accepted, rejected, bot: dropped, origin_not_allowed).", "result"),
		SentryItems:     r.NewCounter("alidade_sentry_items_total", "Sentry envelope items by type/result (accepted, invalid, skipped, duplicate, rate_limited).", "item"),
		SentryDiscarded: r.NewCounter("alidade_sentry_client_discarded_total", "Events Sentry SDKs report they dropped (client reports), by category/reason.", "what"),
	}
	r.NewGaugeFunc("alidade_ingest_queue_bytes", "Bytes waiting in the ingest queue.", func() float64 { return float64(queueBytes()) })
	r.NewGaugeFunc("alidade_store_bytes", "Bytes the store's files take on disk.", func() float64 { return float64(storeBytes()) })
	return m
}

// ObserveCommit records one group commit; it fits ingest.Options.OnCommit.
func (m *Metrics) ObserveCommit(points int, d time.Duration, err error) {
	if err != nil {
		m.Commits.AddWith("error", 1)
		return
	}
	m.Commits.AddWith("ok", 1)
	m.CommitSeconds.Observe(d.Seconds())
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		writeError(w, r, http.StatusServiceUnavailable, "store_unavailable", "store: "+err.Error())
		return
	}
	if s.ingest.Full() {
		writeError(w, r, http.StatusServiceUnavailable, "queue_full", "the ingest queue is over 90% full")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if s.metrics != nil {
		s.metrics.Registry.Write(w)
	}
}
