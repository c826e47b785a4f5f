package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/sampling"
)

// keyCreator is what minting a key needs.
type keyCreator interface {
	CreateKey(ctx context.Context, k *meta.Key) error
}

// MintKey makes a key of kind for a project, stores its hash, makes it usable
// at once when au is not nil, and returns the record and the secret.
func MintKey(ctx context.Context, st keyCreator, au *auth.Authenticator, project int64, kind meta.KeyKind, name string) (meta.Key, string, error) {
	secret, prefix, hash := auth.NewSecret(string(kind))
	k := meta.Key{ProjectID: project, Kind: kind, Name: name, Prefix: prefix, Hash: hash}
	if kind == meta.KindPublic {
		k.Public = secret // kept in clear for the DSN (see meta.Key.Public)
	}
	if err := st.CreateKey(ctx, &k); err != nil {
		return k, "", err
	}
	if au != nil {
		au.Add(k)
	}
	return k, secret, nil
}

// CreateProjectWithKeys creates a project and one key of each kind.
func CreateProjectWithKeys(ctx context.Context, st Store, au *auth.Authenticator, name string) (*meta.Project, map[meta.KeyKind]string, error) {
	p, err := st.CreateProject(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	keys := map[meta.KeyKind]string{}
	for _, kind := range meta.Kinds {
		_, secret, err := MintKey(ctx, st, au, p.ID, kind, "default "+string(kind))
		if err != nil {
			return nil, nil, err
		}
		keys[kind] = secret
	}
	return p, keys, nil
}

type projectResponse struct {
	ID      int64             `json:"id"`
	Name    string            `json:"name"`
	Created time.Time         `json:"created"`
	Keys    map[string]string `json:"keys,omitempty"`
	// AllowedOrigins are the browser origins the project's keys may be
	// used from on the beacon; [] means any.
	AllowedOrigins []string `json:"allowedOrigins"`
	// DSN is the project's Sentry DSN (its first public key); null when
	// it has no public key whose secret is kept.
	DSN *string `json:"dsn"`
	// ErrorRateLimit limits the error events each key may send; null
	// means none.
	ErrorRateLimit *errorRateLimit `json:"errorRateLimit"`
}

func (s *Server) handleCreateProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, 64<<10, &req) {
		return
	}
	if err := meta.ValidateProjectName(req.Name); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_name", err.Error())
		return
	}
	p, keys, err := CreateProjectWithKeys(r.Context(), s.store, s.auth, req.Name)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	resp := projectResponse{ID: p.ID, Name: p.Name, Created: p.Created, Keys: map[string]string{}, AllowedOrigins: []string{}}
	for k, v := range keys {
		resp.Keys[string(k)] = v
	}
	if dsn, err := s.DSN(p.ID, keys[meta.KindPublic]); err == nil {
		resp.DSN = &dsn
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) handleListProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.Projects(r.Context())
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	out := make([]projectResponse, len(ps))
	for i, p := range ps {
		if out[i], err = s.projectInfo(r.Context(), p); err != nil {
			s.writeStoreError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
}

type keyResponse struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
	Key     string    `json:"key,omitempty"`
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	}
	if !readJSON(w, r, 64<<10, &req) {
		return
	}
	kind, err := meta.ParseKind(req.Kind)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_kind", err.Error())
		return
	}
	if len(req.Name) > 128 {
		writeError(w, r, http.StatusBadRequest, "bad_name", fmt.Sprintf("key name is %d bytes; the limit is 128", len(req.Name)))
		return
	}
	if req.Name == "" {
		req.Name = string(kind)
	}
	k, secret, err := MintKey(r.Context(), s.store, s.auth, principal(r).Project, kind, req.Name)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, keyResponse{ID: k.ID, Kind: string(k.Kind), Name: k.Name, Prefix: k.Prefix, Created: k.Created, Key: secret})
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.store.Keys(r.Context(), principal(r).Project)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	out := make([]keyResponse, len(keys))
	for i, k := range keys {
		out[i] = keyResponse{ID: k.ID, Kind: string(k.Kind), Name: k.Name, Prefix: k.Prefix, Created: k.Created}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("key id %q is not a number", r.PathValue("id")))
		return
	}
	// Revoking is scoped: a key id of another project is "not found".
	if err := s.store.RevokeKey(r.Context(), principal(r).Project, id); err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	s.auth.Revoke(id)
	w.WriteHeader(http.StatusNoContent)
}

type datasetResponse struct {
	Name      string        `json:"name"`
	Points    int64         `json:"points"`
	First     *time.Time    `json:"first"`
	Last      *time.Time    `json:"last"`
	Schema    *point.Schema `json:"schema"`
	Retention string        `json:"retention,omitempty"`
	// Sampling is null when off: every point is stored.
	Sampling *samplingSetting `json:"sampling"`
	Created  time.Time        `json:"created"`
}

// samplingSetting is a dataset's equitable sampling in the API: at most
// about PointsPerSecond points per second are stored for each index1 value,
// each standing for the points dropped beside it (_sample_interval).
type samplingSetting struct {
	PointsPerSecond float64 `json:"pointsPerSecond"`
}

// parseSampling reads the "sampling" member of a PATCH: null or
// {"pointsPerSecond": 0} turns sampling off.
func parseSampling(raw json.RawMessage) (float64, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return 0, nil
	}
	usage := fmt.Sprintf(`use {"pointsPerSecond": N} with N from %d to %d, or null (or N = 0) to turn sampling off`, sampling.MinPointsPerSecond, sampling.MaxPointsPerSecond)
	var v struct {
		PointsPerSecond *float64 `json:"pointsPerSecond"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		shown := string(raw)
		if len(shown) > 60 {
			shown = shown[:60] + "…"
		}
		return 0, fmt.Errorf("sampling %s: %s", shown, usage)
	}
	if v.PointsPerSecond == nil {
		return 0, fmt.Errorf("sampling.pointsPerSecond is missing: %s", usage)
	}
	if err := sampling.ValidateBudget(*v.PointsPerSecond); err != nil {
		return 0, fmt.Errorf("sampling.pointsPerSecond: %w", err)
	}
	return *v.PointsPerSecond, nil
}

func (s *Server) datasetInfo(ctx context.Context, d meta.Dataset) (datasetResponse, error) {
	st, err := s.store.DatasetStats(ctx, d.ProjectID, d.Name)
	if err != nil {
		return datasetResponse{}, err
	}
	resp := datasetResponse{Name: d.Name, Points: st.Points, Schema: d.Schema, Created: d.Created}
	if st.Points > 0 {
		f, l := time.UnixMilli(st.First).UTC(), time.UnixMilli(st.Last).UTC()
		resp.First, resp.Last = &f, &l
	}
	if d.Retention > 0 {
		resp.Retention = formatDuration(d.Retention)
	}
	if d.Sampling > 0 {
		resp.Sampling = &samplingSetting{PointsPerSecond: d.Sampling}
	}
	return resp, nil
}

func (s *Server) handleListDatasets(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	out := []datasetResponse{}
	for _, d := range s.store.Datasets(p.Project) {
		info, err := s.datasetInfo(r.Context(), d)
		if err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		out = append(out, info)
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasets": out})
}

// dataset resolves the {dataset} path value of a scoped request; it writes
// the error and returns nil when the dataset does not exist.
func (s *Server) dataset(w http.ResponseWriter, r *http.Request) *meta.Dataset {
	name := r.PathValue("dataset")
	if err := point.ValidateDatasetName(name); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_dataset", err.Error())
		return nil
	}
	d := s.store.Dataset(principal(r).Project, name)
	if d == nil {
		writeError(w, r, http.StatusNotFound, "no_dataset", fmt.Sprintf("dataset %q does not exist in this project; it is created on its first write or schema", name))
	}
	return d
}

func (s *Server) handleGetDataset(w http.ResponseWriter, r *http.Request) {
	d := s.dataset(w, r)
	if d == nil {
		return
	}
	info, err := s.datasetInfo(r.Context(), *d)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleGetSchema(w http.ResponseWriter, r *http.Request) {
	d := s.dataset(w, r)
	if d == nil {
		return
	}
	schema := d.Schema
	if schema == nil {
		schema = &point.Schema{}
	}
	writeJSON(w, http.StatusOK, schema)
}

func (s *Server) handlePutSchema(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("dataset")
	if err := point.ValidateDatasetName(name); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_dataset", err.Error())
		return
	}
	if point.Builtin(name) != nil {
		writeError(w, r, http.StatusConflict, "builtin_schema", fmt.Sprintf("%q is a built-in dataset: its schema is fixed (see the README); write your own fields to a dataset of another name", name))
		return
	}
	var schema point.Schema
	if !readJSON(w, r, 64<<10, &schema) {
		return
	}
	if err := schema.Validate(); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_schema", err.Error())
		return
	}
	if err := s.store.SetSchema(r.Context(), principal(r).Project, name, &schema); err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	if s.rebuildAfterSchema(principal(r).Project, name) {
		w.Header().Set("Alidade-Rollup-Rebuild", "started")
	}
	writeJSON(w, http.StatusOK, &schema)
}

func (s *Server) handlePatchDataset(w http.ResponseWriter, r *http.Request) {
	// A built-in dataset may be set up before its first write (the
	// settings create its record).
	var d *meta.Dataset
	if name := r.PathValue("dataset"); point.Builtin(name) != nil && s.store.Dataset(principal(r).Project, name) == nil {
		d = &meta.Dataset{ProjectID: principal(r).Project, Name: name, Schema: point.Builtin(name), Created: time.Now().UTC().Truncate(time.Millisecond)}
	} else if d = s.dataset(w, r); d == nil {
		return
	}
	var req struct {
		Retention *string `json:"retention"`
		// Sampling is nil when absent and "null" when null.
		Sampling json.RawMessage `json:"sampling"`
	}
	if !readJSON(w, r, 64<<10, &req) {
		return
	}
	// Everything is checked before anything is changed.
	ret := time.Duration(0)
	if req.Retention != nil && *req.Retention != "" && *req.Retention != "default" {
		var err error
		if ret, err = ParseDuration(*req.Retention); err != nil || ret < time.Hour {
			writeError(w, r, http.StatusBadRequest, "bad_retention", fmt.Sprintf("retention %q: use a duration of at least 1h such as 7d or 720h, or \"default\"", *req.Retention))
			return
		}
	}
	var pps float64
	if req.Sampling != nil {
		var err error
		if pps, err = parseSampling(req.Sampling); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_sampling", err.Error())
			return
		}
	}
	if req.Retention != nil {
		if err := s.store.SetRetention(r.Context(), d.ProjectID, d.Name, ret); err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		d.Retention = ret
	}
	if req.Sampling != nil {
		if err := s.store.SetSampling(r.Context(), d.ProjectID, d.Name, pps); err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		d.Sampling = pps
	}
	info, err := s.datasetInfo(r.Context(), *d)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) writeStoreError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, meta.ErrExists):
		writeError(w, r, http.StatusConflict, "exists", err.Error())
	case writeUnavailable(w, r, err):
	default:
		s.log.Error("store error", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "store error; request id "+requestID(r))
	}
}

// ParseDuration parses Go durations and the day and week units: 90d, 2w, 36h.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(v * float64(24*time.Hour)), nil
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(v * float64(7*24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 90d, 2w, 36h or 15m", s)
	}
	return d, nil
}

func formatDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
