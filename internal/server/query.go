package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/query"
)

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	buf, ok := s.readSmallBody(w, r, s.opts.MaxQueryBytes)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	resp, err := s.queries.Run(ctx, principal(r).Project, buf)
	if s.metrics != nil {
		s.metrics.QuerySeconds.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		var qe *query.Error
		switch {
		case writeUnavailable(w, r, err):
		case errors.As(err, &qe):
			writeError(w, r, http.StatusBadRequest, "bad_query", err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			writeError(w, r, http.StatusGatewayTimeout, "query_timeout", fmt.Sprintf("the query ran past the %v limit; narrow its range or groups", s.opts.QueryTimeout))
		default:
			s.log.Error("query failed", "id", requestID(r), "err", err)
			writeError(w, r, http.StatusInternalServerError, "query_failed", "the query failed; request id "+requestID(r))
		}
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// readSmallBody reads a whole body of at most limit bytes.
func (s *Server) readSmallBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var buf bytes.Buffer
	if err := readBody(r, &buf, limit); err != nil {
		var tooLarge *errBodyTooLarge
		if errors.As(err, &tooLarge) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "body_too_large", err.Error())
			return nil, false
		}
		writeError(w, r, http.StatusBadRequest, "bad_body", err.Error())
		return nil, false
	}
	return buf.Bytes(), true
}
