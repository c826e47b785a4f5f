package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/beacon"
	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// beaconResponse is the answer to POST /api/v1/events.
type beaconResponse struct {
	Accepted int               `json:"accepted"`
	Rejected []point.Rejection `json:"rejected"`
	// Dropped counts the well-formed events not stored, by reason: bot
	// (the client is a bot or a crawler).
	Dropped map[string]int `json:"dropped"`
}

// beaconKinds are the key kinds that may post events: the public key a
// page carries, and the write and admin keys a server-side relay may use.
var beaconKinds = []meta.KeyKind{meta.KindPublic, meta.KindWrite, meta.KindAdmin}

// handleEvents is the browser beacon, POST /api/v1/events. The key is in
// the Authorization header or, for navigator.sendBeacon (which sets no
// header), in the body: the body is read and decoded (at most
// beacon.MaxBodyBytes) before the key is known, then the key's project and
// its allowed origins are checked before anything is stored. The events
// become points of the built-in browser datasets, enriched from the client
// (package enrich), and are acknowledged (202) once durable.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	now := s.clock()
	origin := r.Header.Get("Origin")
	if origin != "" {
		// Every answer may be read by the page, refusals included, so that
		// a client sees why and does not retry: the origin check below
		// decides what is stored, not what a page may read.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	switch ct := mediaType(r.Header.Get("Content-Type")); ct {
	case "", "text/plain", "application/json":
	default:
		writeError(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send the events as application/json, text/plain (navigator.sendBeacon) or without a Content-Type", ct))
		return
	}
	// Decoded events copy what they keep: the buffer goes back to the pool.
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4*beacon.MaxBodyBytes {
			bodyPool.Put(buf)
		}
	}()
	if !readBodyOrAnswer(w, r, buf, beacon.MaxBodyBytes) {
		return
	}
	req, decodeErr := beacon.Decode(buf.Bytes())

	// Who is it: the header's key or the body's.
	key := auth.BearerToken(r.Header.Get("Authorization"))
	if req != nil && req.Key != "" {
		if key != "" && key != req.Key {
			writeError(w, r, http.StatusBadRequest, "two_keys", "the Authorization header and the body's \"key\" name different keys; send one")
			return
		}
		key = req.Key
	}
	if key == "" && decodeErr != nil {
		writeDecodeError(w, r, decodeErr)
		return
	}
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="alidade"`)
		writeError(w, r, http.StatusUnauthorized, "unauthorized",
			`missing key: send the project's public key as "key" in the body or as Authorization: Bearer <key>`)
		return
	}
	p, err := s.auth.Authenticate(key)
	if err != nil {
		if writeUnavailable(w, r, err) {
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="alidade"`)
		writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	if err := p.Allow(beaconKinds...); err != nil {
		writeError(w, r, http.StatusForbidden, "forbidden", err.Error())
		return
	}
	ok, err := s.origins.allows(r.Context(), p.Project, origin)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	if !ok {
		s.countBeacon("origin_not_allowed", beaconCount(req))
		writeError(w, r, http.StatusForbidden, "origin_not_allowed",
			fmt.Sprintf("origin %q is not among the allowed origins of project %d; its admin can add it with PATCH /api/v1/projects/%d {\"allowedOrigins\":[…]}",
				cutString(origin, 300), p.Project, p.Project))
		return
	}
	if decodeErr != nil {
		writeDecodeError(w, r, decodeErr)
		return
	}
	if req.Count == 0 {
		writeError(w, r, http.StatusBadRequest, "no_events", `the body's "events" array is empty`)
		return
	}

	// Events to points, enriched from the client.
	pts, positions, rejected := req.Points(now.UnixMilli(), now.Add(-s.opts.Retention).UnixMilli())
	rejected = append(rejected, req.Rejected...)
	dropped := map[string]int{"bot": 0}
	if len(pts) > 0 {
		err = s.enrich.Apply(r.Context(), p.Project, s.beaconClient(r), pts)
	}
	switch {
	case errors.Is(err, enrich.ErrBot):
		dropped["bot"] = len(pts)
		s.countBeacon("bot", len(pts))
		pts = nil
	case err != nil:
		s.log.Error("enrich beacon events", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "the events could not be enriched; retry (request id "+requestID(r)+")")
		return
	}
	kept, keptPos := pts[:0], positions[:0]
	for i := range pts {
		if err := pts[i].Validate(); err != nil {
			rejected = append(rejected, point.Rejection{Position: positions[i], Error: err.Error()})
			continue
		}
		kept, keptPos = append(kept, pts[i]), append(keptPos, positions[i])
	}
	pts, positions = kept, keptPos
	slices.SortFunc(rejected, func(a, b point.Rejection) int { return a.Position - b.Position })
	if rejected == nil {
		rejected = []point.Rejection{}
	}
	s.countBeacon("rejected", len(rejected))
	if len(pts) == 0 && dropped["bot"] == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error": map[string]string{"code": "no_valid_events", "request_id": requestID(r),
				"message": fmt.Sprintf("the batch has no valid event; the first error: position %d: %s", rejected[0].Position, rejected[0].Error)},
			"accepted": 0,
			"rejected": rejected,
			"dropped":  dropped,
		})
		return
	}
	// Errors are also error-tracking events: built (and their client_errors
	// points given their group's fingerprint) before the points are
	// written, recorded once the points are durable.
	tracked := s.beaconErrors(r, p.Project, req, pts, positions, now)
	if len(pts) > 0 {
		if err := s.ingest.SubmitBatch(r.Context(), store.Batch{Project: p.Project, Points: pts}, buf.Len()); err != nil {
			s.writeSubmitError(w, r, err, len(pts))
			return
		}
		if s.metrics != nil {
			s.metrics.PointsAccepted.Add(uint64(len(pts)))
		}
		s.countBeacon("accepted", len(pts))
	}
	if len(tracked) > 0 {
		s.trackBeaconErrors(r, p.Project, p.KeyID, tracked, now)
	}
	writeJSON(w, http.StatusAccepted, beaconResponse{Accepted: len(pts), Rejected: rejected, Dropped: dropped})
}

// writeDecodeError answers a body the beacon could not read as a whole.
func writeDecodeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooMany *beacon.TooManyEventsError
	if errors.As(err, &tooMany) {
		writeError(w, r, http.StatusBadRequest, "too_many_events", err.Error())
		return
	}
	writeError(w, r, http.StatusBadRequest, "bad_body", err.Error())
}

// handleEventsPreflight answers a browser's CORS preflight of POST
// /api/v1/events. A preflight carries neither the key nor the body, so it
// cannot know the project: it approves the request's shape for any origin,
// and the POST that follows is checked against the key's allowed origins.
func (s *Server) handleEventsPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "POST, OPTIONS")
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
		h.Set("Access-Control-Max-Age", "86400")
		h.Add("Vary", "Origin")
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	w.WriteHeader(http.StatusNoContent)
}

// beaconClient is what the request says of its client. The address is the
// connection's, or with TrustProxy the one a proxy put in CF-Connecting-IP
// or X-Forwarded-For (its first address: the client as the first proxy saw
// it); the country is a trusted proxy's CF-IPCountry or X-Country.
func (s *Server) beaconClient(r *http.Request) enrich.Client {
	c := enrich.Client{UserAgent: r.UserAgent()}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP, _ = netip.ParseAddr(host)
	}
	if !s.opts.TrustProxy {
		return c
	}
	if ip := forwardedIP(r.Header); ip.IsValid() {
		c.IP = ip
	}
	for _, h := range []string{"CF-IPCountry", "X-Country"} {
		if v := r.Header.Get(h); v != "" {
			c.Country = v
			break
		}
	}
	return c
}

// forwardedIP returns the client address a proxy forwarded, or the zero Addr.
func forwardedIP(h http.Header) netip.Addr {
	if ip, err := netip.ParseAddr(strings.TrimSpace(h.Get("CF-Connecting-IP"))); err == nil {
		return ip
	}
	for _, v := range h.Values("X-Forwarded-For") {
		first, _, _ := strings.Cut(v, ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return ip
		}
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(h.Get("X-Real-IP"))); err == nil {
		return ip
	}
	return netip.Addr{}
}

// countBeacon counts beacon events by result.
func (s *Server) countBeacon(result string, n int) {
	if s.metrics != nil && n > 0 {
		s.metrics.BeaconEvents.AddWith(result, uint64(n))
	}
}

func beaconCount(req *beacon.Request) int {
	if req == nil {
		return 0
	}
	return req.Count
}

// mediaType is a Content-Type's media type in lower case, "" when absent.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maintainEnrichment rotates the visitor salts and forgets ended visits
// every minute until ctx ends.
func (s *Server) maintainEnrichment(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.enrich.Maintain(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("rotate the visitor salts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// initBeacon builds the beacon's enrichment step and the projects' allowed
// origins; a store that keeps settings keeps the salts and the origins.
func (s *Server) initBeacon(st Store) error {
	s.clock = s.opts.Clock
	if s.clock == nil {
		s.clock = time.Now
	}
	settings, _ := st.(settingsStore)
	eo := enrich.DefaultOptions()
	eo.GeoIP, eo.Now, eo.Logger = s.opts.GeoIP, s.clock, s.log
	if settings != nil {
		eo.Settings = settings
	}
	e, err := enrich.New(eo)
	if err != nil {
		return err
	}
	s.enrich = e
	s.origins = newOrigins(settings)
	return nil
}

// beaconErrors makes the error-tracking events of a batch's error events
// (their client_errors points, enriched and valid): the error type and
// message, the frames of the stack, the page as the request, the browser
// and OS of the enrichment, the user the page set (else the visitor), the
// point's time. Each point's fingerprint becomes its group's, as a Sentry
// browser event's is. None when the store keeps no error groups.
func (s *Server) beaconErrors(r *http.Request, project int64, req *beacon.Request, pts []point.Point, positions []int, now time.Time) []*errtrack.Incoming {
	if s.errors == nil {
		return nil
	}
	var events map[int]*beacon.Event
	var out []*errtrack.Incoming
	schema := point.Builtin("client_errors")
	blob := func(p *point.Point, name string) string {
		f, err := schema.Resolve(name)
		if err != nil || f.Kind != point.KindBlob {
			panic("BUG: client_errors has no blob " + name)
		}
		return p.Blob(f.Pos)
	}
	for i := range pts {
		if pts[i].Dataset != "client_errors" {
			continue
		}
		if events == nil {
			events = make(map[int]*beacon.Event, len(req.Events))
			for j := range req.Events {
				events[req.Events[j].Position] = &req.Events[j]
			}
		}
		ev := events[positions[i]]
		if ev == nil || ev.Type != beacon.TypeError {
			continue
		}
		user := blob(&pts[i], "user")
		if user == "" {
			user = blob(&pts[i], "visitor")
		}
		in := errtrack.ReadBrowserError(errtrack.BrowserError{
			Type: ev.ErrorType, Message: ev.Message, Stack: ev.Stack, Source: ev.Source, Line: int(ev.Line), Column: int(ev.Column),
			URL: ev.URL, Browser: blob(&pts[i], "browser"), OS: blob(&pts[i], "os"), UserAgent: r.UserAgent(), User: user,
			Timestamp: pts[i].Timestamp,
		}, project, now.UnixMilli(), s.opts.Retention)
		schema.Set(&pts[i], "fingerprint", in.Grouping.Fingerprint)
		out = append(out, in)
	}
	return out
}

// trackBeaconErrors records a beacon batch's errors into their error
// groups and writes their errors points (their client_errors points are
// the beacon's, already written). The beacon's points are stored whatever
// happens here: an error over the key's error rate limit, or one error
// tracking cannot take, is logged and counted, not answered.
func (s *Server) trackBeaconErrors(r *http.Request, project, keyID int64, events []*errtrack.Incoming, now time.Time) {
	// The key's error rate limit counts each error.
	allowed := events[:0]
	for _, in := range events {
		if _, ok := s.errLimits.take(r.Context(), project, keyID, now); ok {
			allowed = append(allowed, in)
		}
	}
	s.countSentryItems("beacon_error", "rate_limited", len(events)-len(allowed))
	if events = allowed; len(events) == 0 {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	prepare := func(outcomes []errtrack.Outcome) errtrack.PointWrite {
		var pts []point.Point
		for i, in := range events {
			if outcomes[i].Duplicate {
				continue
			}
			for _, p := range errtrack.EventPoints(in.Event, in.Grouping, outcomes[i], in.Timestamp) {
				if p.Dataset == "errors" { // client_errors: the beacon's own point
					pts = append(pts, p)
				}
			}
		}
		return errtrack.PointWrite{Project: project, Points: pts}
	}
	if _, err := s.errors.RecordThen(ctx, events, prepare); err != nil {
		var pe *errtrack.PointsError
		if errors.As(err, &pe) {
			s.log.Warn("errors points of beacon errors not written", "id", requestID(r), "project", project, "err", pe.Err)
			s.countRejected("overloaded", uint64(len(events)))
		} else {
			s.log.Warn("beacon errors not recorded in error tracking", "id", requestID(r), "project", project, "events", len(events), "err", err)
			s.countSentryItems("beacon_error", "failed", len(events))
			return
		}
	}
	s.countSentryItems("beacon_error", "accepted", len(events))
}
