package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxPrincipal
	ctxSession // the dashboard session of a page (handleApp)
)

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxRequestID).(string)
	return id
}

// observe assigns a request id, logs the request and records its latency.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxRequestID, id))
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if s.metrics != nil {
			s.metrics.Requests.AddWith(fmt.Sprintf("%d", sw.status), 1)
			s.metrics.RequestSeconds.ObserveWith(route, d.Seconds())
		}
		// Never log headers or bodies: they carry keys and user data.
		s.log.LogAttrs(r.Context(), levelFor(sw.status), "request",
			slog.String("id", id), slog.String("method", r.Method), slog.String("route", route),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Int64("bytes_in", r.ContentLength), slog.Int64("bytes_out", sw.bytes),
			slog.Duration("duration", d))
	})
}

// recoverPanics turns a handler panic into a 500 naming the request id.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "id", requestID(r), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if s.metrics != nil {
					s.metrics.Panics.Add(1)
				}
				writeError(w, r, http.StatusInternalServerError, "internal",
					"internal error; quote request id "+requestID(r)+" when reporting it")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// principal returns the authenticated caller of a request.
func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(ctxPrincipal).(auth.Principal)
	return p
}

// authenticate resolves the caller of a request: its key, or without one
// its dashboard session (see caller).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, _, ok := s.caller(w, r)
	return p, ok
}

// caller resolves the caller of a request and, when a dashboard session
// cookie rather than a key authenticated it, the session. A request with
// an Authorization header is a key's, cookie or not; one without is its
// session's, and must pass the CSRF check (checkCSRF) when it changes
// something. It writes the error and returns false when neither works.
func (s *Server) caller(w http.ResponseWriter, r *http.Request) (auth.Principal, *session.Session, bool) {
	if r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(sessionCookie); err == nil && s.sessions != nil {
			sess, err := s.sessions.Get(r.Context(), c.Value)
			if err != nil {
				if writeUnavailable(w, r, err) { // the cookie may be good
					return auth.Principal{}, nil, false
				}
				s.clearSessionCookie(w, r)
				writeError(w, r, http.StatusUnauthorized, "unauthorized", sessionEndedMessage(err))
				return auth.Principal{}, nil, false
			}
			if err := s.checkCSRF(r, sess); err != nil {
				writeError(w, r, http.StatusForbidden, "csrf", err.Error())
				return auth.Principal{}, nil, false
			}
			return sessionPrincipal(sess), &sess, true
		}
	}
	p, err := s.auth.Authenticate(auth.BearerToken(r.Header.Get("Authorization")))
	if err != nil {
		if writeUnavailable(w, r, err) {
			return p, nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="alidade"`)
		writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
		return p, nil, false
	}
	return p, nil, true
}

// withKey requires a project key of one of kinds and scopes the request to
// its project. A root dashboard session acts as the admin key of the
// project the request names (sessionProject).
func (s *Server) withKey(h http.HandlerFunc, kinds ...meta.KeyKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, sess, ok := s.caller(w, r)
		if !ok {
			return
		}
		if sess != nil && sess.Root {
			pr, ok := s.sessionProject(w, r, true)
			if !ok {
				return
			}
			p = auth.Principal{Project: pr.ID, Kind: meta.KindAdmin}
		}
		if err := p.Allow(kinds...); err != nil {
			writeError(w, r, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxPrincipal, p)))
	}
}

// withRoot requires the instance root key (or a dashboard session opened
// with it).
func (s *Server) withRoot(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if err := p.AllowRoot(); err != nil {
			writeError(w, r, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxPrincipal, p)))
	}
}

// errorBody is the shape of every error response.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	var b errorBody
	b.Error.Code = code
	b.Error.Message = msg
	b.Error.RequestID = requestID(r)
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// readJSON decodes a small JSON request body, refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body is over the %d-byte limit", limit))
			return false
		}
		writeError(w, r, http.StatusBadRequest, "bad_json", "request body: "+strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	return true
}

func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
