package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/alidade/alidade/internal/dashboard"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/pricing"
)

// initPlatform builds the price registry (the operator's catalog, or the
// default one, under each project's own entries) and the dashboard. A store
// that keeps settings keeps the projects' entries; a store that answers SQL
// answers the intent join.
func (s *Server) initPlatform(st Store, exec dashboard.Executor) error {
	base := s.opts.Pricing
	if base == nil {
		base = pricing.Default()
	}
	settings, _ := st.(pricing.Settings)
	s.pricing = pricing.NewRegistry(base, settings)
	runner, _ := st.(dashboard.SQLRunner)
	ch, _ := st.(dashboard.ClickHouseRunner)
	d, err := dashboard.New(dashboard.Options{Exec: exec, SQL: runner, ClickHouse: ch})
	if err != nil {
		return err
	}
	s.dashboard = d
	return nil
}

// priceAI is the ingest cost hook: it prices the batch's ai_usage and
// embeddings points that carry no cost, with the project's catalog, before
// they are queued. A batch without such points costs a scan of the dataset
// names.
func (s *Server) priceAI(ctx context.Context, project int64, pts []point.Point) {
	if s.pricing == nil {
		return
	}
	i := 0
	for i < len(pts) && pts[i].Dataset != pricing.DatasetAIUsage && pts[i].Dataset != pricing.DatasetEmbeddings {
		i++
	}
	if i == len(pts) {
		return
	}
	cat, err := s.pricing.Catalog(ctx, project)
	if err != nil {
		// The base catalog still prices the batch; never refuse a write
		// for want of the project's own prices.
		s.log.Warn("project prices unavailable; using the base catalog", "project", project, "err", err)
	}
	cat.Price(pts[i:])
}

// priceEntry is an entry as the pricing API shows it.
type priceEntry struct {
	Model   string `json:"model"`
	Pattern bool   `json:"pattern"`
	pricing.Price
	Source pricing.Source `json:"source"`
}

// pricingBody is the body of PUT /api/v1/pricing/{model}.
type pricingBody struct {
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CachedInput  float64 `json:"cached_input"`
	Embedding    float64 `json:"embedding"`
	NeuronsPer1k float64 `json:"neurons_per_1k"`
	Pattern      bool    `json:"pattern"`
}

func (s *Server) handleGetPricing(w http.ResponseWriter, r *http.Request) {
	cat, err := s.pricing.Catalog(r.Context(), principal(r).Project)
	if err != nil {
		s.log.Error("read prices", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "the project's prices could not be read; request id "+requestID(r))
		return
	}
	eff := cat.Effective()
	models := make([]priceEntry, len(eff))
	for i, e := range eff {
		models[i] = priceEntry{Model: e.Model, Pattern: e.Pattern, Price: e.Price, Source: e.Source}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"prices_as_of": cat.AsOf(),
		"sources":      cat.Sources(),
		"units":        "USD per 1M tokens (input, output, cached_input, embedding) and per 1,000 Workers AI neurons (neurons_per_1k)",
		"models":       models,
	})
}

func (s *Server) handlePutPricing(w http.ResponseWriter, r *http.Request) {
	var b pricingBody
	if !readJSON(w, r, 64<<10, &b) {
		return
	}
	e := pricing.Entry{Model: r.PathValue("model"), Pattern: b.Pattern, Price: pricing.Price{
		Input: b.Input, Output: b.Output, CachedInput: b.CachedInput, Embedding: b.Embedding, NeuronsPer1k: b.NeuronsPer1k}}
	if err := e.Validate(); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_price", err.Error())
		return
	}
	stored, err := s.pricing.Put(r.Context(), principal(r).Project, e)
	if err != nil {
		if errors.Is(err, pricing.ErrTooManyEntries) {
			writeError(w, r, http.StatusBadRequest, "too_many_prices", err.Error())
			return
		}
		s.log.Error("store price", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "the price could not be stored; request id "+requestID(r))
		return
	}
	writeJSON(w, http.StatusOK, priceEntry{Model: stored.Model, Pattern: stored.Pattern, Price: stored.Price, Source: stored.Source})
}

func (s *Server) handleDeletePricing(w http.ResponseWriter, r *http.Request) {
	model := r.PathValue("model")
	err := s.pricing.Delete(r.Context(), principal(r).Project, model)
	switch {
	case errors.Is(err, pricing.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found",
			"the project has no price of its own for "+quoteClip(model)+" (default and operator prices can be overridden, not deleted)")
	case err != nil:
		s.log.Error("delete price", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "the price could not be deleted; request id "+requestID(r))
	default:
		writeJSON(w, http.StatusOK, map[string]string{"deleted": model})
	}
}

func quoteClip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}
