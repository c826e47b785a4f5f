package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// sentryKinds are the key kinds a Sentry SDK may send with: the public
// key of the DSN, and the write and admin keys (a server relaying events).
var sentryKinds = []meta.KeyKind{meta.KindPublic, meta.KindWrite, meta.KindAdmin}

// Relay's CORS answer on its ingest endpoints (relay-server's
// middlewares/cors.rs): any origin, POST, the SDKs' headers, and the
// answer's Sentry headers readable by the page.
const (
	sentryAllowHeaders  = "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, authentication, authorization, content-encoding, transfer-encoding"
	sentryExposeHeaders = "x-sentry-error, x-sentry-rate-limits, retry-after"
)

// handleSentryPreflight answers a browser's CORS preflight of the Sentry
// ingest endpoints as Relay does.
func (s *Server) handleSentryPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", sentryAllowHeaders)
	h.Set("Access-Control-Max-Age", "3600")
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Allow", "POST, OPTIONS")
	w.WriteHeader(http.StatusOK)
}

// writeSentryError answers a Sentry SDK: Relay's body ({"detail": …}),
// Alidade's ({"error": {…}}), and the message in X-Sentry-Error, which
// SDKs log.
func writeSentryError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("X-Sentry-Error", strings.ReplaceAll(cutString(msg, 400), "\n", " "))
	writeJSON(w, status, map[string]any{
		"detail": msg,
		"error":  map[string]string{"code": code, "message": msg, "request_id": requestID(r)},
	})
}

// sentryKey is the key of a Sentry request: X-Sentry-Auth, then
// Authorization (Sentry's scheme or Bearer), then the sentry_key query
// parameter; "" when none (the envelope's dsn may still name one).
func sentryKey(r *http.Request) string {
	if k := errtrack.AuthKey(r.Header.Get("X-Sentry-Auth")); k != "" {
		return k
	}
	a := r.Header.Get("Authorization")
	if k := errtrack.AuthKey(a); k != "" {
		return k
	}
	if k := auth.BearerToken(a); k != "" {
		return k
	}
	return r.URL.Query().Get("sentry_key")
}

// handleSentry is POST /api/{project_id}/envelope/ (envelope true) and the
// legacy POST /api/{project_id}/store/ (one event as JSON). It
// authenticates the key against the path's project, bounds and decodes the
// body, records error events into their groups (durably), writes every
// item's points through the ingest pipeline (durably), and answers
// 200 {"id": event id}.
func (s *Server) handleSentry(envelope bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", sentryExposeHeaders)
		if s.errors == nil {
			writeSentryError(w, r, http.StatusNotImplemented, "not_implemented", "error tracking needs a store that keeps error groups")
			return
		}
		now := s.clock()
		pid, err := strconv.ParseInt(r.PathValue("project_id"), 10, 64)
		if err != nil || pid < 1 {
			writeSentryError(w, r, http.StatusNotFound, "bad_project", fmt.Sprintf("project id %q in the path is not a positive number; the DSN ends with it", cutString(r.PathValue("project_id"), 40)))
			return
		}
		key := sentryKey(r)

		limits := s.sentryLimits
		limit := limits.Envelope
		if !envelope {
			limit = limits.Event
		}
		buf := bodyPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf.Cap() <= 4<<20 {
				bodyPool.Put(buf)
			}
		}()
		if err := errtrack.ReadBody(r.Body, r.Header.Get("Content-Encoding"), buf, limits.Envelope, limit); err != nil {
			var tl *errtrack.TooLargeError
			if errors.As(err, &tl) {
				if !envelope {
					tl.What = "the event"
				}
				writeSentryError(w, r, http.StatusRequestEntityTooLarge, "too_large", tl.Error())
				return
			}
			writeSentryError(w, r, http.StatusBadRequest, "bad_body", err.Error())
			return
		}
		var env *errtrack.Envelope
		if envelope {
			env, err = errtrack.ParseEnvelope(buf.Bytes())
			if err != nil {
				writeSentryError(w, r, http.StatusBadRequest, "bad_envelope", err.Error())
				return
			}
		} else {
			env = &errtrack.Envelope{Items: []errtrack.Item{{Type: storeItemType(buf.Bytes()), Payload: buf.Bytes()}}}
		}
		if env.Header.DSN != "" {
			dsn, err := errtrack.ParseDSN(env.Header.DSN)
			switch {
			case err != nil:
				writeSentryError(w, r, http.StatusBadRequest, "bad_dsn", "the envelope header's "+err.Error())
				return
			case dsn.ProjectID != pid:
				writeSentryError(w, r, http.StatusForbidden, "project_mismatch",
					fmt.Sprintf("the envelope's DSN names project %d but it was sent to project %d's endpoint", dsn.ProjectID, pid))
				return
			case key == "":
				key = dsn.PublicKey
			}
		}
		if key == "" {
			writeSentryError(w, r, http.StatusUnauthorized, "unauthorized",
				"missing authentication: send the DSN's public key in X-Sentry-Auth (sentry_key=…), the sentry_key query parameter or the envelope header's dsn")
			return
		}
		p, err := s.auth.Authenticate(key)
		if err != nil || p.Root {
			writeSentryError(w, r, http.StatusUnauthorized, "unauthorized", "unknown or revoked key: check the DSN (alidade projects dsn NAME)")
			return
		}
		if err := p.Allow(sentryKinds...); err != nil {
			writeSentryError(w, r, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		if p.Project != pid {
			writeSentryError(w, r, http.StatusForbidden, "project_mismatch",
				fmt.Sprintf("this key belongs to project %d, not %d: use the project's own DSN", p.Project, pid))
			return
		}
		origin := r.Header.Get("Origin")
		if ok, err := s.origins.allows(r.Context(), pid, origin); err != nil {
			s.writeStoreError(w, r, err)
			return
		} else if !ok {
			writeSentryError(w, r, http.StatusForbidden, "origin_not_allowed",
				fmt.Sprintf("origin %q is not among the allowed origins of project %d", cutString(origin, 300), pid))
			return
		}

		batch, err := errtrack.Process(env, errtrack.ProcessOptions{Project: pid, Received: now.UnixMilli(), MaxAge: s.opts.Retention, Limits: limits})
		if err != nil {
			var tl *errtrack.TooLargeError
			if errors.As(err, &tl) {
				writeSentryError(w, r, http.StatusRequestEntityTooLarge, "too_large", tl.Error())
				return
			}
			writeSentryError(w, r, http.StatusBadRequest, "bad_payload", err.Error())
			return
		}
		for _, msg := range batch.Invalid {
			s.log.Debug("sentry item skipped", "id", requestID(r), "project", pid, "reason", msg)
		}
		s.countSentry(batch)

		// A key's error events over its project's rate limit are dropped
		// (with their attachments); the other items are kept.
		var retryAfter int
		if len(batch.Events) > 0 {
			if ra, ok := s.errLimits.take(r.Context(), pid, p.KeyID, now); !ok {
				retryAfter = ra
				s.countSentryItems("event", "rate_limited", len(batch.Events))
				batch.Events = nil
			}
		}
		// The events' points name their groups: they are made as soon as
		// the tracker has grouped the events and written with those of the
		// other requests of its batch, while it commits them.
		ctx := context.WithoutCancel(r.Context()) // what is stored is answered for
		otherPoints := 0
		prepare := func(outcomes []errtrack.Outcome) errtrack.PointWrite {
			pts := batch.Points
			for i, in := range batch.Events {
				if outcomes[i].Duplicate {
					s.countSentryItems("event", "duplicate", 1)
					continue
				}
				pts = append(pts, errtrack.EventPoints(in.Event, in.Grouping, outcomes[i], in.Timestamp)...)
			}
			pts = s.enrichSentry(r, pid, pts)
			for i := range pts {
				if pts[i].Dataset != "errors" && pts[i].Dataset != "client_errors" {
					otherPoints++
				}
			}
			return errtrack.PointWrite{Project: pid, Points: pts, Size: buf.Len()}
		}
		if _, err := s.errors.RecordThen(ctx, batch.Events, prepare); err != nil {
			var pe *errtrack.PointsError
			switch {
			case !errors.As(err, &pe):
				s.writeErrtrackError(w, r, err)
				return
			case otherPoints > 0:
				s.writeSentrySubmitError(w, r, pe.Err, len(batch.Points))
				return
			default:
				// The events are stored; only their points are lost (counted).
				s.log.Warn("points of a stored error event not written", "id", requestID(r), "err", pe.Err)
				s.countRejected("overloaded", uint64(len(batch.Events)))
			}
		}
		if err := s.errors.Attach(ctx, batch.Attachments); err != nil {
			s.writeErrtrackError(w, r, err)
			return
		}
		s.followCheckIns(r, pid, batch.CheckIns, now.UnixMilli())
		if retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(retryAfter))
			h.Set("X-Sentry-Rate-Limits", fmt.Sprintf("%d:default;error;security:key", retryAfter))
			writeSentryError(w, r, http.StatusTooManyRequests, "rate_limited",
				fmt.Sprintf("this key is over its project's error rate limit; retry after %d seconds (the error events of this request were dropped)", retryAfter))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": batch.EventID})
	}
}

// storeItemType is "transaction" for a /store/ body whose type says so
// (old SDKs), else "event".
func storeItemType(b []byte) string {
	if i := bytes.Index(b, []byte(`"type"`)); i >= 0 {
		rest := bytes.TrimLeft(b[i+6:], " \t\r\n:")
		if bytes.HasPrefix(rest, []byte(`"transaction"`)) {
			return "transaction"
		}
	}
	return "event"
}

// enrichSentry fills the client_errors points of browser events as the
// beacon's are filled (browser, OS, device, country, visitor, visit), and
// drops points that break a rule (logged: the SDK cannot fix them).
func (s *Server) enrichSentry(r *http.Request, project int64, pts []point.Point) []point.Point {
	start := -1
	for i := range pts {
		if pts[i].Dataset == "client_errors" {
			start = i
			break
		}
	}
	if start >= 0 {
		// Events of a bot (a headless browser under test) are kept, but
		// without what its User-Agent would say.
		if err := s.enrich.Apply(r.Context(), project, s.beaconClient(r), pts[start:]); err != nil && !errors.Is(err, enrich.ErrBot) {
			s.log.Warn("enrich client error", "id", requestID(r), "err", err)
		}
	}
	kept := pts[:0]
	for i := range pts {
		if err := pts[i].Validate(); err != nil {
			s.log.Debug("sentry point dropped", "id", requestID(r), "dataset", pts[i].Dataset, "err", err)
			s.countRejected(rejectReason(err.Error()), 1)
			continue
		}
		kept = append(kept, pts[i])
	}
	return kept
}

// writeErrtrackError answers a failed Record.
func (s *Server) writeErrtrackError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errtrack.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Sentry-Rate-Limits", "1::organization")
		writeSentryError(w, r, http.StatusTooManyRequests, "overloaded", "error tracking's queue is full; retry after 1 second (nothing in this request was stored)")
	case errors.Is(err, errtrack.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeSentryError(w, r, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down (nothing in this request was stored)")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, meta.ErrUnavailable):
		// A cluster's ClickHouse or PostgreSQL: the transaction that
		// would have stored the events rolled back.
		s.log.Warn("record error events: a store is unavailable", "id", requestID(r), "err", err)
		w.Header().Set("Retry-After", unavailableRetry)
		writeSentryError(w, r, http.StatusServiceUnavailable, "store_unavailable", "a store error tracking needs cannot be reached; retry later (no error event of this request was stored): "+cleanBackendError(err))
	default:
		s.log.Error("record error events", "id", requestID(r), "err", err)
		writeSentryError(w, r, http.StatusInternalServerError, "commit_failed", "the events could not be stored; retry (request id "+requestID(r)+")")
	}
}

// writeSentrySubmitError answers points the ingest pipeline did not take,
// with the rate-limit headers SDKs honour.
func (s *Server) writeSentrySubmitError(w http.ResponseWriter, r *http.Request, err error, points int) {
	var diskFull *wal.DiskFullError
	switch {
	case errors.Is(err, wal.ErrFull) && errors.Is(err, store.ErrUnavailable):
		s.countRejected("overloaded", uint64(points))
		w.Header().Set("Retry-After", unavailableRetry)
		writeSentryError(w, r, http.StatusServiceUnavailable, "store_unavailable", "the store cannot be reached and the write-ahead log is full; retry later")
	case errors.Is(err, ingest.ErrOverloaded), errors.Is(err, wal.ErrFull):
		s.countRejected("overloaded", uint64(points))
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Sentry-Rate-Limits", "1::organization")
		writeSentryError(w, r, http.StatusTooManyRequests, "overloaded", "the ingest queue is full; retry after 1 second")
	case errors.As(err, &diskFull):
		w.Header().Set("Retry-After", "10")
		writeSentryError(w, r, http.StatusInsufficientStorage, "disk_full", "the server's disk is full")
	case errors.Is(err, ingest.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeSentryError(w, r, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	default:
		s.log.Error("sentry points not committed", "id", requestID(r), "points", points, "err", err)
		writeSentryError(w, r, http.StatusInternalServerError, "commit_failed", "the items could not be committed; retry (request id "+requestID(r)+")")
	}
}

func (s *Server) countSentry(b *errtrack.Batch) {
	if s.metrics == nil {
		return
	}
	for k, n := range b.Items {
		s.metrics.SentryItems.AddWith(k, uint64(n))
	}
	for _, d := range b.Discards {
		s.metrics.SentryDiscarded.AddWith(d.Category+"/"+d.Reason, uint64(d.Quantity))
	}
}

func (s *Server) countSentryItems(typ, result string, n int) {
	if s.metrics != nil && n > 0 {
		s.metrics.SentryItems.AddWith(typ+"/"+result, uint64(n))
	}
}

// initErrors builds the error tracker when the store keeps error groups.
func (s *Server) initErrors(st Store) error {
	s.sentryLimits = errtrack.DefaultLimits()
	if s.opts.SentryLimits != nil {
		s.sentryLimits = *s.opts.SentryLimits
	}
	settings, _ := st.(settingsStore)
	s.errLimits = newErrorRateLimits(settings)
	es, ok := st.(errtrack.Store)
	if !ok {
		return nil
	}
	o := errtrack.DefaultOptions()
	o.Logger, o.Now, o.WritePoints = s.log, s.clock, s.writeErrorPoints
	if dir, pl := s.opts.ErrorJournal, s.opts.Rollups; dir != "" && pl != nil {
		lg, err := wal.Open(wal.Options{Dir: dir, Opaque: true, SegmentBytes: 16 << 20, Logger: s.log})
		if err != nil {
			return fmt.Errorf("open the error journal: %w", err)
		}
		s.errJournal, o.Journal = lg, lg
		o.PointsLoaded = func(ctx context.Context) (map[int64]store.LogPos, error) {
			return pl.LoadedPositionsOf(ctx, store.ErrorJournal)
		}
		o.LoadPoints = func(ctx context.Context, bs []store.Batch, pos store.LogPos) error {
			if err := pl.AppendAtLog(ctx, bs, store.ErrorJournal, pos); err != nil {
				return err
			}
			// Loaded: the dashboard's live updates and the live tails.
			s.opts.Live.PublishBatches(bs)
			s.opts.Tail.Publish(bs)
			return nil
		}
	}
	t, err := errtrack.New(context.Background(), es, o)
	if err != nil {
		if s.errJournal != nil {
			s.errJournal.Close()
		}
		return err
	}
	s.errors = t
	return s.initMonitors(st)
}

// waitErrors waits (a moment at most) for error tracking's loader to
// store the error events acknowledged before, and their points.
func (s *Server) waitErrors(ctx context.Context) {
	if s.errors != nil {
		s.errors.WaitLoaded(ctx)
	}
}

// writeErrorPoints writes the points of the requests whose error events
// the tracker grouped in one batch, in one commit of the ingest pipeline.
func (s *Server) writeErrorPoints(ctx context.Context, writes []errtrack.PointWrite) error {
	bs := make([]store.Batch, len(writes))
	size, n := 0, 0
	for i, w := range writes {
		bs[i] = store.Batch{Project: w.Project, Points: w.Points}
		size += w.Size
		n += len(w.Points)
	}
	if err := s.ingest.SubmitMany(ctx, bs, size); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.PointsAccepted.Add(uint64(n))
	}
	return nil
}

// ExpireErrors enforces retention on error events: each project's events
// older than its errors dataset's retention (else the default) are
// deleted, with their attachments and the groups last seen before.
func (s *Server) ExpireErrors(ctx context.Context, now time.Time) (errtrack.ExpireReport, error) {
	var total errtrack.ExpireReport
	if s.errors == nil {
		return total, nil
	}
	ps, err := s.store.Projects(ctx)
	if err != nil {
		return total, err
	}
	for _, p := range ps {
		ret := s.opts.Retention
		if d := s.store.Dataset(p.ID, "errors"); d != nil && d.Retention > 0 {
			ret = d.Retention
		}
		rep, err := s.errors.Expire(ctx, p.ID, now.Add(-ret).UnixMilli())
		if err != nil {
			return total, err
		}
		total.Events += rep.Events
		total.Attachments += rep.Attachments
		total.Groups += rep.Groups
	}
	if total.Events+total.Groups > 0 {
		s.log.Info("expired error events", "events", total.Events, "attachments", total.Attachments, "groups", total.Groups)
	}
	return total, nil
}

// startErrors runs the error tracker's committer and its retention.
func (s *Server) startErrors(ctx context.Context) {
	if s.errors == nil {
		return
	}
	s.errors.Start()
	go s.maintainErrors(ctx, 10*time.Minute)
	s.runMonitors(ctx)
}

// closeErrors commits the error events queued and stops the committer.
func (s *Server) closeErrors(ctx context.Context) error {
	if s.errors == nil {
		return nil
	}
	err := s.errors.Close(ctx)
	if s.errJournal != nil {
		err = errors.Join(err, s.errJournal.Close())
	}
	return err
}

// maintainErrors runs ExpireErrors every interval until ctx ends.
func (s *Server) maintainErrors(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ExpireErrors(ctx, s.clock()); err != nil && ctx.Err() == nil {
			s.log.Warn("expire error events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
