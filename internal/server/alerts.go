package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/query"
)

// Alert rules, per project (package alert evaluates them): GET
// /api/v1/alerts, GET /api/v1/alerts/{id} and GET …/{id}/history (read or
// admin key; a read key sees the targets' URLs cut to their host, since a
// Slack webhook URL is a secret), and POST, PUT /{id}, DELETE /{id} and
// POST /{id}/test (admin key). Every call is scoped to the key's project:
// another project's rule is "not found".

// maxAlertBody bounds the JSON body of a rule.
const maxAlertBody = 1 << 20

// initAlerts loads the alert rules when the store keeps them.
func (s *Server) initAlerts(st Store, exec query.Executor) error {
	as, ok := st.(alert.Store)
	if !ok || exec == nil {
		return nil
	}
	o := alert.DefaultOptions()
	o.Store, o.Exec, o.Schemas, o.Now, o.Logger = as, exec, st.Schema, s.clock, s.log
	o.EvalTimeout = s.opts.QueryTimeout
	o.ForbidPrivate = s.opts.AlertForbidPrivate
	o.RuleURL = func(project, id int64) string {
		return fmt.Sprintf("%s/alerts/%d?project=%d", s.PublicURL(), id, project)
	}
	m, err := alert.New(context.Background(), o)
	if err != nil {
		return err
	}
	s.alerts = m
	return nil
}

// runAlerts evaluates the rules on their schedules until ctx ends.
func (s *Server) runAlerts(ctx context.Context) {
	if s.alerts != nil {
		go s.alerts.Run(ctx)
	}
}

// TickAlerts evaluates the rules due at now and sends the notifications
// due (the server's loop does it on its own); tests drive a fake clock
// with it.
func (s *Server) TickAlerts(ctx context.Context, now time.Time) {
	if s.alerts != nil {
		s.alerts.Tick(ctx, now)
	}
}

// alertJSON is a rule and its state as the API shows them.
type alertJSON struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Query     json.RawMessage `json:"query"`
	Condition alert.Condition `json:"condition"`
	For       string          `json:"for"`
	Every     string          `json:"every"`
	NoData    string          `json:"noData"`
	Timezone  string          `json:"timezone"`
	Notify    []alert.Target  `json:"notify"`
	Created   time.Time       `json:"created"`
	Updated   time.Time       `json:"updated"`

	State                string         `json:"state"`
	Since                time.Time      `json:"since"`
	Value                *float64       `json:"value"`
	Group                map[string]any `json:"group,omitempty"`
	LastEvaluation       *time.Time     `json:"lastEvaluation"`
	NextEvaluation       time.Time      `json:"nextEvaluation"`
	Source               string         `json:"source,omitempty"`
	SourceNote           string         `json:"sourceNote,omitempty"`
	Error                string         `json:"error,omitempty"`
	PendingNotifications int            `json:"pendingNotifications"`
	URL                  string         `json:"url,omitempty"`
}

func toAlertJSON(v alert.View, admin bool) alertJSON {
	j := alertJSON{ID: v.ID, Name: v.Spec.Name, Query: v.Spec.Query, Condition: v.Spec.Condition, For: v.Spec.For, Every: v.Spec.Every,
		NoData: v.Spec.NoData, Timezone: v.Spec.Timezone, Notify: make([]alert.Target, len(v.Spec.Notify)), Created: v.Created, Updated: v.Updated,
		State: v.State.State, Since: v.State.Since, Value: v.State.Value, Group: v.State.Group, NextEvaluation: v.NextEvaluation,
		Source: v.State.Source, SourceNote: v.State.SourceNote, Error: v.State.Error, PendingNotifications: v.Pending, URL: v.URL}
	for i, t := range v.Spec.Notify {
		if !admin {
			t.URL = redactURL(t.URL)
		}
		j.Notify[i] = t
	}
	if !v.State.LastEvaluation.IsZero() {
		t := v.State.LastEvaluation
		j.LastEvaluation = &t
	}
	return j
}

// redactURL keeps a URL's scheme and host: its path and query may hold a
// secret (a Slack webhook's does).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// alertsOf returns the alert manager, or writes 501 and returns nil when
// the store keeps no rules.
func (s *Server) alertsOf(w http.ResponseWriter, r *http.Request) *alert.Manager {
	if s.alerts == nil {
		writeError(w, r, http.StatusNotImplemented, "not_implemented", "alerts need a store that keeps them")
	}
	return s.alerts
}

// alertID reads the {id} path value; it writes the error and returns
// false when it is not a positive number.
func alertID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("alert rule id %q is not a positive number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// writeAlertError answers an error of package alert or of the store.
func (s *Server) writeAlertError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *alert.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, r, http.StatusBadRequest, "bad_rule", "alert rule: "+fe.Error())
	case errors.Is(err, alert.ErrNotFound), errors.Is(err, meta.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, alert.ErrTooMany):
		writeError(w, r, http.StatusConflict, "too_many_alert_rules", err.Error())
	default:
		s.writeStoreError(w, r, err)
	}
}

// readAlert reads and validates a rule body for the caller's project.
func (s *Server) readAlert(w http.ResponseWriter, r *http.Request, m *alert.Manager) (*alert.Spec, bool) {
	buf, ok := s.readSmallBody(w, r, maxAlertBody)
	if !ok {
		return nil, false
	}
	sp, err := m.Decode(principal(r).Project, buf)
	if err != nil {
		s.writeAlertError(w, r, err)
		return nil, false
	}
	return sp, true
}

func isAdmin(r *http.Request) bool { return principal(r).Kind == meta.KindAdmin }

// handleListAlerts is GET /api/v1/alerts.
func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	out := []alertJSON{}
	for _, v := range m.List(principal(r).Project) {
		out = append(out, toAlertJSON(v, isAdmin(r)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

// handleCreateAlert is POST /api/v1/alerts.
func (s *Server) handleCreateAlert(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	sp, ok := s.readAlert(w, r, m)
	if !ok {
		return
	}
	v, err := m.Create(r.Context(), principal(r).Project, sp)
	if err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAlertJSON(v, true))
}

// handleGetAlert is GET /api/v1/alerts/{id}.
func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	v, err := m.Get(principal(r).Project, id)
	if err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlertJSON(v, isAdmin(r)))
}

// handleUpdateAlert is PUT /api/v1/alerts/{id}: the whole rule, as POST
// takes it.
func (s *Server) handleUpdateAlert(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	if _, err := m.Get(principal(r).Project, id); err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	sp, ok := s.readAlert(w, r, m)
	if !ok {
		return
	}
	v, err := m.Update(r.Context(), principal(r).Project, id, sp)
	if err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlertJSON(v, true))
}

// handleDeleteAlert is DELETE /api/v1/alerts/{id}.
func (s *Server) handleDeleteAlert(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	if err := m.Delete(r.Context(), principal(r).Project, id); err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAlertHistory is GET /api/v1/alerts/{id}/history: newest first.
func (s *Server) handleAlertHistory(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	h, err := m.History(principal(r).Project, id)
	if err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	if h == nil {
		h = []alert.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": h})
}

// handleTestAlert is POST /api/v1/alerts/{id}/test: a test notification to
// each target, and what each answered.
func (s *Server) handleTestAlert(w http.ResponseWriter, r *http.Request) {
	m := s.alertsOf(w, r)
	if m == nil {
		return
	}
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	res, err := m.Test(r.Context(), principal(r).Project, id)
	if err != nil {
		s.writeAlertError(w, r, err)
		return
	}
	if res == nil {
		res = []alert.TestResult{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}
