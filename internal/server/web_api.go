package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/web"
)

// handleWeb answers GET /api/v1/web: the web analytics of the key's project
// (package web). A relative range ends at the server's clock
// (Options.Clock, which the beacon stamps its points with).
func (s *Server) handleWeb(w http.ResponseWriter, r *http.Request) {
	req, err := web.ParseRequest(r.URL.Query(), s.clock())
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		return
	}
	req.Project = principal(r).Project
	runner, _ := s.store.(web.SQLRunner)
	wa, err := web.New(web.Options{Exec: s.queries.Exec, SQL: runner})
	if err != nil {
		s.log.Error("web analytics unavailable", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "query_failed", "web analytics are unavailable; request id "+requestID(r))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	rep, err := wa.Report(ctx, req)
	if s.metrics != nil {
		s.metrics.QuerySeconds.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		var pe *web.ParamError
		var qe *query.Error
		switch {
		case errors.As(err, &pe):
			writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		case errors.As(err, &qe):
			// source=rollup where the rollups cannot answer.
			writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			writeError(w, r, http.StatusGatewayTimeout, "query_timeout",
				fmt.Sprintf("the web analytics took longer than the %v limit; shorten the range", s.opts.QueryTimeout))
		default:
			s.log.Error("web analytics failed", "id", requestID(r), "err", err)
			writeError(w, r, http.StatusInternalServerError, "query_failed", "the web analytics could not be computed; request id "+requestID(r))
		}
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
