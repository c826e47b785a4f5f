package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
)

// Checks, per project (package checks runs them): GET /api/v1/checks, GET
// /api/v1/checks/{id}, GET …/{id}/runs and GET …/{id}/runs/{run}/report
// (read or admin key), and POST, PUT /{id}, DELETE /{id} and POST
// /{id}/run (admin key: a check makes the server send requests). Every
// call is scoped to the key's project: another project's check is "not
// found".

// maxCheckBody bounds the JSON body of a check.
const maxCheckBody = 64 << 10

// Limits of GET …/runs?limit=N.
const (
	defaultRunsLimit = 50
	maxRunsLimit     = 1000
)

// initChecks loads the checks when the store keeps them.
func (s *Server) initChecks(st Store) error {
	cs, ok := st.(checks.Store)
	if !ok {
		return nil
	}
	o := checks.DefaultOptions()
	o.Store, o.Write, o.Now, o.Logger = cs, s.writeCheckPoints, s.clock, s.log
	o.Pages, o.Allow = s.opts.PageRunner, s.opts.ChecksAllow
	if s.opts.ChecksPageConcurrency > 0 {
		o.PageConcurrency = s.opts.ChecksPageConcurrency
	}
	if s.opts.ChecksPageQueue >= 0 {
		o.PageQueue = s.opts.ChecksPageQueue
	}
	m, err := checks.New(context.Background(), o)
	if err != nil {
		return err
	}
	s.checks = m
	if s.opts.PageRunner == nil {
		// With a runner, its owner (alidade serve) says whether it can run.
		s.log.Info("page checks unavailable (http checks run)", "why", checks.NoRunnerWhy)
	}
	return nil
}

// writeCheckPoints writes the runs' points through the ingest pipeline.
func (s *Server) writeCheckPoints(ctx context.Context, project int64, pts []point.Point) error {
	if err := s.ingest.Submit(ctx, project, pts, 0); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.PointsAccepted.Add(uint64(len(pts)))
	}
	return nil
}

// runChecks runs the checks on their schedules until ctx ends.
func (s *Server) runChecks(ctx context.Context) {
	if s.checks != nil {
		s.loopsDone = make(chan struct{})
		go func() {
			defer close(s.loopsDone)
			s.checks.Run(ctx)
		}()
	}
}

// waitChecks waits (up to ctx) for the checks loop, once stopped, to end
// its runs in progress: they write to the store and the pipeline. On a
// cluster's leader, it waits for the leader's loops (leader.go).
func (s *Server) waitChecks(ctx context.Context) {
	if s.loopsDone == nil {
		return
	}
	select {
	case <-s.loopsDone:
	case <-ctx.Done():
	}
}

// TickChecks runs the checks due at now and returns when they are done
// (the server's loop does it on its own); tests drive a fake clock with
// it.
func (s *Server) TickChecks(ctx context.Context, now time.Time) {
	if s.checks != nil {
		s.checks.Tick(ctx, now)
	}
}

// checkJSON is a check and its state as the API shows them.
type checkJSON struct {
	ID      int64       `json:"id"`
	Name    string      `json:"name"`
	Type    string      `json:"type"`
	URL     string      `json:"url"`
	Every   string      `json:"every"`
	State   string      `json:"state"`
	LastRun *checks.Run `json:"lastRun"`
	Timeout string      `json:"timeout"`
	// http
	Method   string         `json:"method,omitempty"`
	Expect   *checks.Expect `json:"expect,omitempty"`
	Insecure *bool          `json:"insecure,omitempty"`
	// page
	Device string `json:"device,omitempty"`
	// Unavailable says why a page check cannot run.
	Unavailable         string    `json:"unavailable,omitempty"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	NextRun             time.Time `json:"nextRun"`
	Created             time.Time `json:"created"`
	Updated             time.Time `json:"updated"`
}

func toCheckJSON(v checks.View) checkJSON {
	j := checkJSON{ID: v.ID, Name: v.Spec.Name, Type: v.Spec.Type, URL: v.Spec.URL, Every: v.Spec.Every, State: v.State, LastRun: v.LastRun,
		Timeout: v.Spec.Timeout, Device: v.Spec.Device, Unavailable: v.Why, ConsecutiveFailures: v.Failures, NextRun: v.NextRun.UTC(),
		Created: v.Created.UTC(), Updated: v.Updated.UTC()}
	if v.Spec.Type == checks.TypeHTTP {
		j.Method, j.Expect = v.Spec.Method, v.Spec.Expect
		if j.Expect == nil {
			j.Expect = &checks.Expect{}
		}
		insecure := v.Spec.Insecure
		j.Insecure = &insecure
	}
	return j
}

// checksOf returns the checks, or writes 501 and returns nil when the
// store keeps none.
func (s *Server) checksOf(w http.ResponseWriter, r *http.Request) *checks.Manager {
	if s.checks == nil {
		writeError(w, r, http.StatusNotImplemented, "not_implemented", "checks need a store that keeps them")
	}
	return s.checks
}

// pathID reads a positive number from the path; it writes the error and
// returns false when it is not one.
func pathID(w http.ResponseWriter, r *http.Request, name, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("%s id %q is not a positive number", what, r.PathValue(name)))
		return 0, false
	}
	return id, true
}

// writeCheckError answers an error of package checks or of the store.
func (s *Server) writeCheckError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *checks.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, r, http.StatusBadRequest, "bad_check", "check: "+fe.Error())
	case errors.Is(err, checks.ErrNotFound), errors.Is(err, meta.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, checks.ErrNoReport):
		writeError(w, r, http.StatusNotFound, "no_report", err.Error())
	case errors.Is(err, checks.ErrTooMany):
		writeError(w, r, http.StatusConflict, "too_many_checks", err.Error())
	case errors.Is(err, checks.ErrBusy):
		w.Header().Set("Retry-After", "30")
		writeError(w, r, http.StatusServiceUnavailable, "page_queue_full", err.Error())
	default:
		s.writeStoreError(w, r, err)
	}
}

// readCheck reads and validates a check body.
func (s *Server) readCheck(w http.ResponseWriter, r *http.Request, m *checks.Manager) (*checks.Spec, bool) {
	buf, ok := s.readSmallBody(w, r, maxCheckBody)
	if !ok {
		return nil, false
	}
	sp, err := m.Decode(buf)
	if err != nil {
		s.writeCheckError(w, r, err)
		return nil, false
	}
	return sp, true
}

// handleListChecks is GET /api/v1/checks.
func (s *Server) handleListChecks(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	out := []checkJSON{}
	for _, v := range m.List(principal(r).Project) {
		out = append(out, toCheckJSON(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"checks": out})
}

// handleCreateCheck is POST /api/v1/checks.
func (s *Server) handleCreateCheck(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	sp, ok := s.readCheck(w, r, m)
	if !ok {
		return
	}
	v, err := m.Create(r.Context(), principal(r).Project, sp)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toCheckJSON(v))
}

// handleGetCheck is GET /api/v1/checks/{id}.
func (s *Server) handleGetCheck(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	v, err := m.Get(principal(r).Project, id)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCheckJSON(v))
}

// handleUpdateCheck is PUT /api/v1/checks/{id}: the whole check, as POST
// takes it.
func (s *Server) handleUpdateCheck(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	if _, err := m.Get(principal(r).Project, id); err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	sp, ok := s.readCheck(w, r, m)
	if !ok {
		return
	}
	v, err := m.Update(r.Context(), principal(r).Project, id, sp)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCheckJSON(v))
}

// handleDeleteCheck is DELETE /api/v1/checks/{id}.
func (s *Server) handleDeleteCheck(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	if err := m.Delete(r.Context(), principal(r).Project, id); err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRunCheck is POST /api/v1/checks/{id}/run: the check runs now and
// the answer waits for its run (up to its timeout).
func (s *Server) handleRunCheck(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	v, err := m.Get(principal(r).Project, id)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	// A page run may outlast the server's write timeout.
	every, timeout := v.Spec.Durations()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(min(every, 2*timeout) + time.Minute))
	run, err := m.RunNow(r.Context(), principal(r).Project, id)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run})
}

// handleCheckRuns is GET /api/v1/checks/{id}/runs?limit=N: newest first.
func (s *Server) handleCheckRuns(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	limit := defaultRunsLimit
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxRunsLimit {
			writeError(w, r, http.StatusBadRequest, "bad_limit", fmt.Sprintf("limit %q: use a number from 1 to %d", q, maxRunsLimit))
			return
		}
		limit = n
	}
	runs, err := m.Runs(r.Context(), principal(r).Project, id, limit)
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// handleCheckReport is GET /api/v1/checks/{id}/runs/{run}/report: a page
// run's Lighthouse report, HTML (?format=json for its JSON).
func (s *Server) handleCheckReport(w http.ResponseWriter, r *http.Request) {
	m := s.checksOf(w, r)
	if m == nil {
		return
	}
	id, ok := pathID(w, r, "id", "check")
	if !ok {
		return
	}
	run, ok := pathID(w, r, "run", "run")
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "html" && format != "json" {
		writeError(w, r, http.StatusBadRequest, "bad_format", fmt.Sprintf("format %q: use html (the default) or json", format))
		return
	}
	b, err := m.Report(r.Context(), principal(r).Project, id, run, format != "json")
	if err != nil {
		s.writeCheckError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if format == "json" {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
		// The report's scripts run in an opaque origin: never with the
		// dashboard's cookies or its API.
		h.Set("Content-Security-Policy", "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox allow-downloads")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
