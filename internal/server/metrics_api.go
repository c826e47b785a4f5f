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
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	m, err := s.dashboard.Metrics(ctx, req)
	if s.metrics != nil {
		s.metrics.QuerySeconds.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		var pe *dashboard.ParamError
		switch {
		case errors.As(err, &pe):
			writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			writeError(w, r, http.StatusGatewayTimeout, "query_timeout",
				fmt.Sprintf("the metrics took longer than the %v limit; shorten the range or widen the interval", s.opts.QueryTimeout))
		default:
			s.log.Error("metrics failed", "id", requestID(r), "err", err)
			writeError(w, r, http.StatusInternalServerError, "query_failed", "the metrics could not be computed; request id "+requestID(r))
		}
		return
	}
	writeJSON(w, http.StatusOK, m)
}
