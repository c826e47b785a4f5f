package server

import (
	"context"
	"errors"
	"net/http"

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
	ch, _ := s.store.(web.ClickHouseRunner)
	wa, err := web.New(web.Options{Exec: s.queries.Exec, SQL: runner, ClickHouse: ch})
	if err != nil {
		s.log.Error("web analytics unavailable", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "query_failed", "web analytics are unavailable; request id "+requestID(r))
		return
	}
	s.serveReport(w, r, "the web analytics", "shorten the range", func(ctx context.Context) (any, error) {
		return wa.Report(ctx, req)
	}, func(err error) bool {
		var pe *web.ParamError
		var qe *query.Error // source=rollup where the rollups cannot answer
		return errors.As(err, &pe) || errors.As(err, &qe)
	})
}
