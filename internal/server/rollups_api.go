package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
)

// rollupDataset is one dataset in GET /api/v1/rollups.
type rollupDataset struct {
	Dataset string `json:"dataset"`
	// Spec is the spec the rollup is built with; Want the one the schema
	// asks for (they differ until a rebuild finishes).
	Spec string `json:"spec"`
	Want string `json:"want,omitempty"`
	// Rebuilding is set while the history is rebuilt (queries over it
	// read raw points meanwhile).
	Rebuilding bool `json:"rebuilding,omitempty"`
}

// handleRollups lists the project's datasets with their rollup specs.
func (s *Server) handleRollups(w http.ResponseWriter, r *http.Request) {
	pl := s.opts.Rollups
	if pl == nil || !pl.Enabled() {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "datasets": []rollupDataset{}})
		return
	}
	project := principal(r).Project
	out := []rollupDataset{}
	for _, d := range s.store.Datasets(project) {
		have, want := pl.SpecOf(project, d.Name), pl.WantSpec(project, d.Name)
		rd := rollupDataset{Dataset: d.Name, Spec: have.String(), Rebuilding: pl.Rebuilding(project, d.Name)}
		if !have.Equal(want) {
			rd.Want = want.String()
		}
		out = append(out, rd)
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "datasets": out})
}

// handleRebuildRollups rebuilds the rollups of one dataset ({"dataset":
// "name"}) or of every dataset of the project (an empty body) from raw
// points, streaming one JSON line per day read and a last line with the
// reports.
func (s *Server) handleRebuildRollups(w http.ResponseWriter, r *http.Request) {
	pl := s.opts.Rollups
	if pl == nil || !pl.Enabled() {
		writeError(w, r, http.StatusConflict, "rollups_off", planner.ErrDisabled.Error())
		return
	}
	var req struct {
		Dataset string `json:"dataset"`
	}
	if r.ContentLength != 0 && !readJSON(w, r, 4<<10, &req) {
		return
	}
	project := principal(r).Project
	var names []string
	if req.Dataset != "" {
		if err := point.ValidateDatasetName(req.Dataset); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_dataset", err.Error())
			return
		}
		if s.store.Dataset(project, req.Dataset) == nil {
			writeError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("dataset %q does not exist in this project", req.Dataset))
			return
		}
		names = []string{req.Dataset}
	} else {
		for _, d := range s.store.Datasets(project) {
			names = append(names, d.Name)
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	line := func(v any) {
		// A rebuild may outlast the server's write timeout: each line
		// extends it.
		_ = rc.SetWriteDeadline(time.Now().Add(5 * time.Minute))
		_ = enc.Encode(v)
		_ = rc.Flush()
	}
	var reports []planner.RebuildReport
	for _, name := range names {
		rep, err := pl.Rebuild(r.Context(), project, name, func(p planner.RebuildProgress) {
			line(map[string]any{"dataset": name, "day": p.Day, "points": p.Points})
		})
		if err != nil {
			s.log.Error("rollup rebuild failed", "id", requestID(r), "dataset", name, "err", err)
			line(map[string]any{"error": err.Error(), "dataset": name})
			return
		}
		reports = append(reports, rep)
	}
	line(map[string]any{"done": true, "datasets": reports})
}

// rebuildAfterSchema rebuilds a dataset's rollup in the background when
// its schema changed its rollup spec.
func (s *Server) rebuildAfterSchema(project int64, dataset string) bool {
	pl := s.opts.Rollups
	if pl == nil || !pl.Enabled() || pl.SpecOf(project, dataset).Equal(pl.WantSpec(project, dataset)) {
		return false
	}
	go func() {
		if _, err := pl.Rebuild(context.Background(), project, dataset, nil); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("rollup rebuild after a schema change failed", "dataset", dataset, "err", err)
		}
	}()
	return true
}
