package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/dashboard"
)

// handlePlatformMetrics answers GET /api/v1/metrics: the seed's
// DashboardMetrics and the other key metrics of the key's project.
func (s *Server) handlePlatformMetrics(w http.ResponseWriter, r *http.Request) {
	req, err := dashboard.ParseRequest(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		return
	}
	req.Project = principal(r).Project
	s.serveReport(w, r, "the metrics", "shorten the range or widen the interval", func(ctx context.Context) (any, error) {
		return s.dashboard.Metrics(ctx, req)
	}, func(err error) bool {
		var pe *dashboard.ParamError
		return errors.As(err, &pe)
	})
}

// serveReport computes a report of figures (the metrics, the web
// analytics) within the query timeout, observed as a query, and answers
// it: 400 bad_params when badParams says the error is the request's,
// 504 past the timeout (hint says what to ask instead), else 500.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request, what, hint string, run func(context.Context) (any, error), badParams func(error) bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	rep, err := run(ctx)
	if s.metrics != nil {
		s.metrics.QuerySeconds.Observe(time.Since(start).Seconds())
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, rep)
	case badParams(err):
		writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, r, http.StatusGatewayTimeout, "query_timeout",
			fmt.Sprintf("%s took longer than the %v limit; %s", what, s.opts.QueryTimeout, hint))
	default:
		s.log.Error(what+" failed", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "query_failed", what+" could not be computed; request id "+requestID(r))
	}
}
