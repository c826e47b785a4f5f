package server

import (
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/logs"
	"github.com/alidade/alidade/internal/point"
)

// handleWriteLogs is POST /api/v1/logs: log records (NDJSON, a JSON array
// or one object; package logs reads them) into the built-in logs dataset,
// through the same write path as the points (idempotency, limits, the
// ingest pipeline, the answer once durable).
func (s *Server) handleWriteLogs(w http.ResponseWriter, r *http.Request) {
	s.handleWrite(w, r, logs.Dataset, "logs", func(body []byte, now time.Time) ([]point.Point, []point.Rejection, error) {
		return logs.Decode(body, logs.Options{
			Now:          now.UnixMilli(),
			MinTimestamp: now.Add(-s.opts.Retention).UnixMilli(),
			MaxTimestamp: now.Add(s.opts.FutureSkew).UnixMilli(),
			MaxRecords:   min(logs.MaxRecords, s.opts.MaxPointsPerRequest),
		})
	})
}
