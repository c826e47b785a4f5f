package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/alidade/alidade/internal/meta"
)

// settingsStore is the small key/value store of the metadata store: the
// projects' allowed origins and the visitor salts are kept there.
type settingsStore interface {
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// originSetting is where a project's allowed origins are stored.
func originSetting(project int64) string {
	return "allowed_origins/" + strconv.FormatInt(project, 10)
}

// origins holds each project's allowed origins: the browser origins its
// keys may be used from on the beacon (none listed: any origin). A project's
// list is read from the settings on first use and kept in memory.
type origins struct {
	st settingsStore // nil: memory only

	mu      sync.RWMutex
	lists   map[int64][]string
	writeMu sync.Mutex
}

func newOrigins(st settingsStore) *origins {
	return &origins{st: st, lists: map[int64][]string{}}
}

// get returns a project's allowed origins ([] when none are set).
func (o *origins) get(ctx context.Context, project int64) ([]string, error) {
	o.mu.RLock()
	l, ok := o.lists[project]
	o.mu.RUnlock()
	if ok {
		return l, nil
	}
	l = []string{}
	if o.st != nil {
		v, err := o.st.Setting(ctx, originSetting(project))
		if err != nil {
			return nil, fmt.Errorf("read the allowed origins of project %d: %w", project, err)
		}
		if v != "" {
			if err := json.Unmarshal([]byte(v), &l); err != nil {
				return nil, fmt.Errorf("stored allowed origins of project %d: %w", project, err)
			}
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur, ok := o.lists[project]; ok {
		return cur, nil
	}
	o.lists[project] = l
	return l, nil
}

// set stores a project's allowed origins (already normalized), then makes
// them effective.
func (o *origins) set(ctx context.Context, project int64, list []string) error {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	if o.st != nil {
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		if err := o.st.SetSetting(ctx, originSetting(project), string(b)); err != nil {
			return fmt.Errorf("store the allowed origins of project %d: %w", project, err)
		}
	}
	o.mu.Lock()
	o.lists[project] = list
	o.mu.Unlock()
	return nil
}

// allows reports whether a request from origin (the Origin header; ""
// for a client that is not a browser) may use a key of project.
func (o *origins) allows(ctx context.Context, project int64, origin string) (bool, error) {
	if origin == "" {
		return true, nil
	}
	l, err := o.get(ctx, project)
	if err != nil {
		return false, err
	}
	return len(l) == 0 || slices.Contains(l, origin), nil
}

// withProject requires the root key, or the admin key of the project the
// path names ({id}), and passes the project on.
func (s *Server) withProject(h func(w http.ResponseWriter, r *http.Request, p meta.Project)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pr, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			writeError(w, r, http.StatusBadRequest, "bad_project", fmt.Sprintf("project id %q is not a positive number", r.PathValue("id")))
			return
		}
		if !pr.Root {
			if err := pr.Allow(meta.KindAdmin); err != nil {
				writeError(w, r, http.StatusForbidden, "forbidden", err.Error())
				return
			}
			if pr.Project != id {
				writeError(w, r, http.StatusForbidden, "forbidden", fmt.Sprintf("this admin key belongs to project %d, not %d", pr.Project, id))
				return
			}
		}
		ps, err := s.store.Projects(r.Context())
		if err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		i := slices.IndexFunc(ps, func(p meta.Project) bool { return p.ID == id })
		if i < 0 {
			writeError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("project %d does not exist", id))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxPrincipal, pr)), ps[i])
	}
}

// projectInfo is a project as GET and PATCH /api/v1/projects/{id} show it.
func (s *Server) projectInfo(ctx context.Context, p meta.Project) (projectResponse, error) {
	l, err := s.origins.get(ctx, p.ID)
	if err != nil {
		return projectResponse{}, err
	}
	resp := projectResponse{ID: p.ID, Name: p.Name, Created: p.Created, AllowedOrigins: l}
	if resp.DSN, err = s.projectDSN(ctx, p.ID); err != nil {
		return projectResponse{}, err
	}
	if resp.ErrorRateLimit, err = s.errLimits.get(ctx, p.ID); err != nil {
		return projectResponse{}, err
	}
	return resp, nil
}

func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request, p meta.Project) {
	resp, err := s.projectInfo(r.Context(), p)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handlePatchProject changes a project's settings: its allowed origins
// and its error rate limit.
func (s *Server) handlePatchProject(w http.ResponseWriter, r *http.Request, p meta.Project) {
	var req struct {
		AllowedOrigins json.RawMessage `json:"allowedOrigins"`
		ErrorRateLimit json.RawMessage `json:"errorRateLimit"`
	}
	if !readJSON(w, r, 64<<10, &req) {
		return
	}
	if req.AllowedOrigins == nil && req.ErrorRateLimit == nil {
		writeError(w, r, http.StatusBadRequest, "bad_project", `nothing to change; send {"allowedOrigins":["https://app.example.com"]} ([] or null: any origin) or {"errorRateLimit":{"events":600,"window":"1m"}} (null: none)`)
		return
	}
	// Everything is checked before anything changes.
	var limit *errorRateLimit
	if req.ErrorRateLimit != nil && string(req.ErrorRateLimit) != "null" {
		limit = &errorRateLimit{}
		dec := json.NewDecoder(bytes.NewReader(req.ErrorRateLimit))
		dec.DisallowUnknownFields()
		if err := dec.Decode(limit); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_rate_limit", `errorRateLimit must be {"events": N, "window": "1m"} or null`)
			return
		}
		if err := parseErrorRateLimit(limit); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_rate_limit", err.Error())
			return
		}
	}
	var norm []string
	if req.AllowedOrigins != nil {
		var list []string
		if string(req.AllowedOrigins) != "null" {
			if err := json.Unmarshal(req.AllowedOrigins, &list); err != nil {
				writeError(w, r, http.StatusBadRequest, "bad_origin", `allowedOrigins must be an array of origins such as ["https://app.example.com"]`)
				return
			}
		}
		var err error
		if norm, err = meta.ParseOrigins(list); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_origin", err.Error())
			return
		}
	}
	if req.AllowedOrigins != nil {
		if err := s.origins.set(r.Context(), p.ID, norm); err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		s.log.Info("allowed origins changed", "project", p.ID, "origins", len(norm), "by_root", principal(r).Root)
	}
	if req.ErrorRateLimit != nil {
		if err := s.errLimits.set(r.Context(), p.ID, limit); err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		s.log.Info("error rate limit changed", "project", p.ID, "by_root", principal(r).Root)
	}
	s.handleGetProject(w, r, p)
}

// forget drops what was read of project's list (every project's when
// project is 0): another node changed it.
func (o *origins) forget(project int64) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	forgetProject(o.lists, project)
}
