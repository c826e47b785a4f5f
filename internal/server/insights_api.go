package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/alidade/alidade/internal/insights"
	"github.com/alidade/alidade/internal/query"
)

// handleInsights answers GET /api/v1/insights: the per-page performance
// report of the key's project (package insights). A relative range ends at
// the server's clock, as /api/v1/web's does.
func (s *Server) handleInsights(w http.ResponseWriter, r *http.Request) {
	req, err := insights.ParseRequest(r.URL.Query(), s.clock())
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_params", err.Error())
		return
	}
	req.Project = principal(r).Project
	in, err := insights.New(insights.Options{Exec: s.queries.Exec, Lab: s.opts.Lab})
	if err != nil {
		s.log.Error("insights unavailable", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "query_failed", "insights are unavailable; request id "+requestID(r))
		return
	}
	s.serveReport(w, r, "the performance insights", "shorten the range", func(ctx context.Context) (any, error) {
		return in.Report(ctx, req)
	}, func(err error) bool {
		var pe *insights.ParamError
		var qe *query.Error // source=rollup where the rollups cannot answer
		return errors.As(err, &pe) || errors.As(err, &qe)
	})
}
