package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Saved queries are the dashboard's Explore queries, kept per project in
// the metadata store: GET /api/v1/saved-queries (read or admin key), and
// POST, PUT /{id} and DELETE /{id} (admin key). Every call is scoped to
// the key's project: another project's query is "not found".

// Limits of a saved query, named in the errors.
const (
	maxSavedQueryName  = 100       // characters
	maxSavedQuerySQL   = 100 << 10 // bytes
	maxSavedQueries    = 1000      // per project
	maxSavedQueryBody  = 1 << 20   // bytes of JSON request body
	savedQueryNameHelp = "1 to 100 characters"
)

// savedQueryStore is what the metadata store needs to keep saved queries
// (the DuckDB store has it).
type savedQueryStore interface {
	// SavedQueries calls each for every saved query of project, by name.
	SavedQueries(ctx context.Context, project int64, each func(id int64, name, sql string, created, updated time.Time)) error
	// CountSavedQueries returns how many saved queries project has.
	CountSavedQueries(ctx context.Context, project int64) (int, error)
	// CreateSavedQuery stores a saved query and returns its id;
	// meta.ErrExists when the project has one of that name.
	CreateSavedQuery(ctx context.Context, project int64, name, sql string, at time.Time) (int64, error)
	// UpdateSavedQuery replaces a saved query's name and SQL and returns
	// when it was created; meta.ErrNotFound when the project has no such
	// query, meta.ErrExists when another of its queries has the name.
	UpdateSavedQuery(ctx context.Context, project, id int64, name, sql string, at time.Time) (time.Time, error)
	// DeleteSavedQuery deletes a saved query; meta.ErrNotFound when the
	// project has no such query.
	DeleteSavedQuery(ctx context.Context, project, id int64) error
}

// savedQueriesMu makes counting a project's queries and adding one a
// single step, so that the per-project limit holds under concurrent
// creates.
var savedQueriesMu sync.Mutex

type savedQueryJSON struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	SQL     string    `json:"sql"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// savedQueries returns the store's saved queries, or writes 501 and
// returns nil when the store keeps none.
func (s *Server) savedQueries(w http.ResponseWriter, r *http.Request) savedQueryStore {
	st, ok := s.store.(savedQueryStore)
	if !ok {
		writeError(w, r, http.StatusNotImplemented, "not_implemented", "saved queries need a store that keeps them")
		return nil
	}
	return st
}

// readSavedQuery reads and checks the body of a POST or PUT: {"name","sql"},
// both required. It writes the error and returns false when they are bad.
func readSavedQuery(w http.ResponseWriter, r *http.Request) (name, sql string, ok bool) {
	var req struct {
		Name *string `json:"name"`
		SQL  *string `json:"sql"`
	}
	if !readJSON(w, r, maxSavedQueryBody, &req) {
		return "", "", false
	}
	if req.Name == nil || req.SQL == nil {
		writeError(w, r, http.StatusBadRequest, "bad_saved_query", `a saved query needs "name" (`+savedQueryNameHelp+`) and "sql" (at most 100 KB)`)
		return "", "", false
	}
	name, sql = strings.TrimSpace(*req.Name), *req.SQL
	if n := utf8.RuneCountInString(name); n < 1 || n > maxSavedQueryName {
		writeError(w, r, http.StatusBadRequest, "bad_name", fmt.Sprintf("saved query name has %d characters; it must have %s", n, savedQueryNameHelp))
		return "", "", false
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		writeError(w, r, http.StatusBadRequest, "bad_name", fmt.Sprintf("saved query name %q has a control character at byte %d; use one line of text", name, i))
		return "", "", false
	}
	if strings.TrimSpace(sql) == "" {
		writeError(w, r, http.StatusBadRequest, "bad_sql", "saved query sql is empty")
		return "", "", false
	}
	if len(sql) > maxSavedQuerySQL {
		writeError(w, r, http.StatusBadRequest, "sql_too_long", fmt.Sprintf("saved query sql is %d bytes; the limit is %d bytes (100 KB)", len(sql), maxSavedQuerySQL))
		return "", "", false
	}
	return name, sql, true
}

// savedQueryID reads the {id} path value; it writes the error and returns
// false when it is not a number.
func savedQueryID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("saved query id %q is not a positive number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func savedQueryNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// handleListSavedQueries is GET /api/v1/saved-queries.
func (s *Server) handleListSavedQueries(w http.ResponseWriter, r *http.Request) {
	st := s.savedQueries(w, r)
	if st == nil {
		return
	}
	out := []savedQueryJSON{}
	err := st.SavedQueries(r.Context(), principal(r).Project, func(id int64, name, sql string, created, updated time.Time) {
		out = append(out, savedQueryJSON{ID: id, Name: name, SQL: sql, Created: created, Updated: updated})
	})
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queries": out})
}

// handleCreateSavedQuery is POST /api/v1/saved-queries {"name","sql"}.
func (s *Server) handleCreateSavedQuery(w http.ResponseWriter, r *http.Request) {
	st := s.savedQueries(w, r)
	if st == nil {
		return
	}
	name, sql, ok := readSavedQuery(w, r)
	if !ok {
		return
	}
	project := principal(r).Project
	savedQueriesMu.Lock()
	defer savedQueriesMu.Unlock()
	n, err := st.CountSavedQueries(r.Context(), project)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	if n >= maxSavedQueries {
		writeError(w, r, http.StatusConflict, "too_many_saved_queries", fmt.Sprintf("the project has %d saved queries, the limit; delete one first", n))
		return
	}
	at := savedQueryNow()
	id, err := st.CreateSavedQuery(r.Context(), project, name, sql, at)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, savedQueryJSON{ID: id, Name: name, SQL: sql, Created: at, Updated: at})
}

// handleUpdateSavedQuery is PUT /api/v1/saved-queries/{id} {"name","sql"}.
func (s *Server) handleUpdateSavedQuery(w http.ResponseWriter, r *http.Request) {
	st := s.savedQueries(w, r)
	if st == nil {
		return
	}
	id, ok := savedQueryID(w, r)
	if !ok {
		return
	}
	name, sql, ok := readSavedQuery(w, r)
	if !ok {
		return
	}
	at := savedQueryNow()
	created, err := st.UpdateSavedQuery(r.Context(), principal(r).Project, id, name, sql, at)
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, savedQueryJSON{ID: id, Name: name, SQL: sql, Created: created, Updated: at})
}

// handleDeleteSavedQuery is DELETE /api/v1/saved-queries/{id}.
func (s *Server) handleDeleteSavedQuery(w http.ResponseWriter, r *http.Request) {
	st := s.savedQueries(w, r)
	if st == nil {
		return
	}
	id, ok := savedQueryID(w, r)
	if !ok {
		return
	}
	if err := st.DeleteSavedQuery(r.Context(), principal(r).Project, id); err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
