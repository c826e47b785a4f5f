package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
)

// groupJSON is an error group in a list: the keys of the contract
// (id, title, culprit, level, status, count, users, firstSeen, lastSeen,
// fingerprint), and whether it regressed.
type groupJSON struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Culprit     string    `json:"culprit"`
	Level       string    `json:"level"`
	Status      string    `json:"status"`
	Count       int64     `json:"count"`
	Users       int64     `json:"users"`
	FirstSeen   time.Time `json:"firstSeen"`
	LastSeen    time.Time `json:"lastSeen"`
	Fingerprint string    `json:"fingerprint"`
	Regressed   bool      `json:"regressed"`
}

// groupDetailJSON is one error group with everything known of it.
type groupDetailJSON struct {
	groupJSON
	Type             string              `json:"type"`
	Platform         string              `json:"platform"`
	Grouping         string              `json:"grouping"`
	Releases         []string            `json:"releases"`
	Environments     []string            `json:"environments"`
	FirstRelease     string              `json:"firstRelease"`
	LastRelease      string              `json:"lastRelease"`
	ResolvedAt       *time.Time          `json:"resolvedAt"`
	ResolvedRelease  string              `json:"resolvedRelease"`
	RegressedAt      *time.Time          `json:"regressedAt"`
	RegressedRelease string              `json:"regressedRelease"`
	Regressions      int64               `json:"regressions"`
	StatusChanged    *time.Time          `json:"statusChanged"`
	LatestEventID    string              `json:"latestEventId"`
	LatestEvent      *errtrack.EventView `json:"latestEvent"`
}

// eventSummaryJSON is an event in a group's list.
type eventSummaryJSON struct {
	ID          string    `json:"id"`
	Timestamp   time.Time `json:"timestamp"`
	Received    time.Time `json:"received"`
	Level       string    `json:"level"`
	Title       string    `json:"title"`
	Release     string    `json:"release"`
	Environment string    `json:"environment"`
	User        string    `json:"user"`
	Size        int       `json:"size"`
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func msTimePtr(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := msTime(ms)
	return &t
}

func toGroupJSON(g *errtrack.Group) groupJSON {
	return groupJSON{ID: g.ID, Title: g.Title, Culprit: g.Culprit, Level: g.Level, Status: g.Status, Count: g.Count,
		Users: g.Users.Count(), FirstSeen: msTime(g.FirstSeen), LastSeen: msTime(g.LastSeen), Fingerprint: g.Fingerprint, Regressed: g.Regressed}
}

func toGroupDetail(g *errtrack.Group) groupDetailJSON {
	return groupDetailJSON{groupJSON: toGroupJSON(g), Type: g.Type, Platform: g.Platform, Grouping: g.Grouping,
		Releases: nonNil(g.Releases), Environments: nonNil(g.Environments), FirstRelease: g.FirstRelease, LastRelease: g.LastRelease,
		ResolvedAt: msTimePtr(g.ResolvedAt), ResolvedRelease: g.ResolvedRelease, RegressedAt: msTimePtr(g.RegressedAt),
		RegressedRelease: g.RegressedRelease, Regressions: g.Regressions, StatusChanged: msTimePtr(g.StatusChanged), LatestEventID: g.LastEventID}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// errorsReady answers 501 when the store keeps no error groups.
func (s *Server) errorsReady(w http.ResponseWriter, r *http.Request) bool {
	if s.errors == nil {
		writeError(w, r, http.StatusNotImplemented, "not_implemented", "error tracking needs a store that keeps error groups")
		return false
	}
	return true
}

// handleListErrorGroups is GET /api/v1/error-groups?status=&level=&environment=&release=&query=&sort=&limit=.
func (s *Server) handleListErrorGroups(w http.ResponseWriter, r *http.Request) {
	if !s.errorsReady(w, r) {
		return
	}
	q := r.URL.Query()
	f := errtrack.GroupFilter{Status: q.Get("status"), Level: q.Get("level"), Environment: q.Get("environment"),
		Release: q.Get("release"), Query: q.Get("query"), Sort: q.Get("sort"), Limit: 100}
	if f.Status == "all" {
		f.Status = ""
	}
	if f.Status != "" {
		if _, err := errtrack.ParseStatus(f.Status); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_status", err.Error()+" (or all)")
			return
		}
	}
	if f.Level != "" && !slices.Contains([]string{"debug", "info", "warning", "error", "fatal"}, f.Level) {
		writeError(w, r, http.StatusBadRequest, "bad_level", fmt.Sprintf("level %q: use debug, info, warning, error or fatal", cutString(f.Level, 40)))
		return
	}
	if f.Sort == "" {
		f.Sort = "last_seen"
	}
	if !slices.Contains(errtrack.Sorts, f.Sort) {
		writeError(w, r, http.StatusBadRequest, "bad_sort", fmt.Sprintf("sort %q: use last_seen, first_seen, count or users", cutString(f.Sort, 40)))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, ok := parseListLimit(w, r, v)
		if !ok {
			return
		}
		f.Limit = n
	}
	gs, err := s.errors.Groups(r.Context(), principal(r).Project, f)
	if err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	out := make([]groupJSON, len(gs))
	for i := range gs {
		out[i] = toGroupJSON(&gs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

func groupID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("error group id %q is not a positive number", cutString(r.PathValue("id"), 40)))
		return 0, false
	}
	return id, true
}

// handleGetErrorGroup is GET /api/v1/error-groups/{id}, with its latest event.
func (s *Server) handleGetErrorGroup(w http.ResponseWriter, r *http.Request) {
	if !s.errorsReady(w, r) {
		return
	}
	id, ok := groupID(w, r)
	if !ok {
		return
	}
	p := principal(r).Project
	g, err := s.errors.GroupByID(r.Context(), p, id)
	if err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	d := toGroupDetail(g)
	if g.LastEventID != "" {
		if v, err := s.eventView(r, p, g.LastEventID); err == nil {
			d.LatestEvent = v
		} else if !errtrack.IsNotFound(err) {
			s.writeErrorsAPIError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// handleErrorGroupEvents is GET /api/v1/error-groups/{id}/events?limit=&before=.
func (s *Server) handleErrorGroupEvents(w http.ResponseWriter, r *http.Request) {
	if !s.errorsReady(w, r) {
		return
	}
	id, ok := groupID(w, r)
	if !ok {
		return
	}
	p := principal(r).Project
	if _, err := s.errors.GroupByID(r.Context(), p, id); err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	limit, before := 100, int64(0)
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, ok := parseListLimit(w, r, v)
		if !ok {
			return
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_before", fmt.Sprintf("before %q: use an RFC 3339 time (an event's received)", cutString(v, 60)))
			return
		}
		before = t.UnixMilli()
	}
	evs, err := s.errors.Events(r.Context(), p, id, limit, before)
	if err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	out := make([]eventSummaryJSON, len(evs))
	for i, e := range evs {
		out[i] = eventSummaryJSON{ID: e.EventID, Timestamp: msTime(e.Timestamp), Received: msTime(e.Received), Level: e.Level,
			Title: e.Title, Release: e.Release, Environment: e.Environment, User: e.User, Size: e.Size}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

// handleGetEvent is GET /api/v1/events/{event_id}: the event with its
// stack traces, breadcrumbs, tags and contexts.
func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request) {
	if !s.errorsReady(w, r) {
		return
	}
	v, err := s.eventView(r, principal(r).Project, r.PathValue("event_id"))
	if err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) eventView(r *http.Request, project int64, id string) (*errtrack.EventView, error) {
	se, err := s.errors.EventByID(r.Context(), project, id)
	if err != nil {
		return nil, err
	}
	atts, err := s.errors.Attachments(r.Context(), project, se.EventID)
	if err != nil {
		return nil, err
	}
	v, err := errtrack.View(se, atts)
	if err != nil {
		return nil, err
	}
	if v.Request != nil {
		v.Contexts = s.agentContexts(v.Contexts, errtrack.Header(v.Request.Headers, "User-Agent"))
	}
	return v, nil
}

// agentContexts adds to an event's contexts the browser and os contexts
// its request's User-Agent names, as Relay does for browser events; a
// context the SDK sent is kept as sent.
func (s *Server) agentContexts(contexts json.RawMessage, userAgent string) json.RawMessage {
	if s.enrich == nil || strings.TrimSpace(userAgent) == "" {
		return contexts
	}
	m := map[string]json.RawMessage{}
	if len(contexts) > 0 && json.Unmarshal(contexts, &m) != nil {
		return contexts
	}
	a := s.enrich.Describe(userAgent)
	changed := false
	add := func(key string, v map[string]string) {
		if _, ok := m[key]; ok || v["name"] == "" {
			return
		}
		b, _ := json.Marshal(v)
		m[key] = b
		changed = true
	}
	add("browser", map[string]string{"type": "browser", "name": a.Browser, "version": a.Version})
	add("os", map[string]string{"type": "os", "name": a.OS})
	if !changed {
		return contexts
	}
	b, err := json.Marshal(m)
	if err != nil {
		return contexts
	}
	return b
}

// handlePatchErrorGroup is PATCH /api/v1/error-groups/{id} {"status": "resolved"}.
func (s *Server) handlePatchErrorGroup(w http.ResponseWriter, r *http.Request) {
	if !s.errorsReady(w, r) {
		return
	}
	id, ok := groupID(w, r)
	if !ok {
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if !readJSON(w, r, 4<<10, &req) {
		return
	}
	if _, err := errtrack.ParseStatus(req.Status); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_status", err.Error())
		return
	}
	g, err := s.errors.SetStatus(r.Context(), principal(r).Project, id, req.Status)
	if err != nil {
		s.writeErrorsAPIError(w, r, err)
		return
	}
	s.log.Info("error group status changed", "project", g.Project, "group", g.ID, "status", g.Status)
	writeJSON(w, http.StatusOK, toGroupDetail(g))
}

func (s *Server) writeErrorsAPIError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errtrack.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, errtrack.ErrClosed):
		writeError(w, r, http.StatusServiceUnavailable, "shutting_down", err.Error())
	case errors.Is(err, errtrack.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusTooManyRequests, "overloaded", err.Error())
	case writeUnavailable(w, r, err):
	default:
		s.log.Error("error tracking", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "error tracking failed; request id "+requestID(r))
	}
}

// parseListLimit reads a listing's limit (1..errtrack.MaxListLimit),
// answering 400 when it is not one.
func parseListLimit(w http.ResponseWriter, r *http.Request, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > errtrack.MaxListLimit {
		writeError(w, r, http.StatusBadRequest, "bad_limit", fmt.Sprintf("limit %q: use 1 to %d", cutString(v, 40), errtrack.MaxListLimit))
		return 0, false
	}
	return n, true
}
