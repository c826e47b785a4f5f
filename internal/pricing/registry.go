package pricing

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// Settings is the small key/value store project entries are kept in (the
// embedded store's settings table). Setting returns "" for a name never set.
type Settings interface {
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// settingName is where a project's entries are stored.
func settingName(project int64) string {
	return "pricing/" + strconv.FormatInt(project, 10)
}

// Registry holds each project's effective catalog: its own entries over a
// base catalog (the operator's file over the default one). It loads a
// project's entries from Settings on first use and keeps them in memory; Put
// and Delete store them before they take effect.
type Registry struct {
	base *Catalog
	st   Settings

	mu       sync.RWMutex
	projects map[int64]*Catalog
	writeMu  sync.Mutex // serializes Put and Delete
}

// NewRegistry returns a registry over base; st may be nil, in which case
// project entries live only in memory.
func NewRegistry(base *Catalog, st Settings) *Registry {
	if base == nil {
		base = Default()
	}
	return &Registry{base: base, st: st, projects: map[int64]*Catalog{}}
}

// Base returns the catalog every project starts from.
func (r *Registry) Base() *Catalog { return r.base }

// Catalog returns the effective catalog of project. On a failure to read the
// project's stored entries it returns the base catalog and the error.
func (r *Registry) Catalog(ctx context.Context, project int64) (*Catalog, error) {
	r.mu.RLock()
	c, ok := r.projects[project]
	r.mu.RUnlock()
	if ok {
		return c, nil
	}
	f, err := r.load(ctx, project)
	if err != nil {
		return r.base, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.projects[project]; ok {
		return c, nil
	}
	c = r.base.With(SourceProject, f)
	r.projects[project] = c
	return c, nil
}

// load reads a project's stored entries.
func (r *Registry) load(ctx context.Context, project int64) (*File, error) {
	if r.st == nil {
		return &File{}, nil
	}
	v, err := r.st.Setting(ctx, settingName(project))
	if err != nil {
		return nil, fmt.Errorf("read prices of project %d: %w", project, err)
	}
	if v == "" {
		return &File{}, nil
	}
	f, err := ParseCatalog([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("stored prices of project %d: %w", project, err)
	}
	return f, nil
}

// Put adds or replaces a project's entry for e.Model (as a name or, with
// e.Pattern, as a pattern) and returns the entry as stored.
func (r *Registry) Put(ctx context.Context, project int64, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	e.Source = SourceProject
	return e, r.update(ctx, project, func(entries []Entry) ([]Entry, error) {
		for i := range entries {
			if entries[i].Model == e.Model {
				// One entry per model text: a name and a pattern of the
				// same text would confuse DELETE.
				entries[i] = e
				return entries, nil
			}
		}
		if len(entries) >= MaxEntries {
			return nil, ErrTooManyEntries
		}
		return append(entries, e), nil
	})
}

// Delete removes a project's entry for model; it returns ErrNotFound when
// the project has none (entries of the base catalog cannot be deleted, only
// overridden).
func (r *Registry) Delete(ctx context.Context, project int64, model string) error {
	return r.update(ctx, project, func(entries []Entry) ([]Entry, error) {
		for i := range entries {
			if entries[i].Model == model {
				return append(entries[:i:i], entries[i+1:]...), nil
			}
		}
		return nil, ErrNotFound
	})
}

// update applies change to a project's entries, stores them, and then
// makes them effective.
func (r *Registry) update(ctx context.Context, project int64, change func([]Entry) ([]Entry, error)) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	cur, err := r.Catalog(ctx, project)
	if err != nil {
		return err
	}
	entries, err := change(cur.Layer(SourceProject))
	if err != nil {
		return err
	}
	f := &File{Entries: entries}
	if r.st != nil {
		data, err := MarshalFile(f)
		if err != nil {
			return err
		}
		if err := r.st.SetSetting(ctx, settingName(project), string(data)); err != nil {
			return fmt.Errorf("store prices of project %d: %w", project, err)
		}
	}
	c := r.base.With(SourceProject, f)
	r.mu.Lock()
	r.projects[project] = c
	r.mu.Unlock()
	return nil
}

// Forget drops what the registry read of project's entries (all projects'
// when project is 0): another node changed them, and the next use reads
// them again.
func (r *Registry) Forget(project int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if project == 0 {
		clear(r.projects)
		return
	}
	delete(r.projects, project)
}
