package planner

import (
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/rollup"
)

// SchemaSpec returns the rollup spec function of a server: a dataset's
// schema's rollup when it declares one, else rollup.DefaultSpec (the
// built-in datasets' specs, or index1 alone).
func SchemaSpec(schema func(project int64, dataset string) *point.Schema) func(int64, string) *rollup.Spec {
	return func(project int64, dataset string) *rollup.Spec {
		if dims, dists, ok, err := schema(project, dataset).RollupFields(); ok && err == nil {
			return &rollup.Spec{Dimensions: dims, Distributions: dists}
		}
		return rollup.DefaultSpec(project, dataset)
	}
}

// SpecOf returns the spec a dataset's rollup is built with now, or nil
// when rollups are off.
func (p *Planner) SpecOf(project int64, dataset string) *rollup.Spec {
	if p.r == nil {
		return nil
	}
	return p.r.Spec(project, dataset)
}

// WantSpec returns the spec a dataset's rollup should have.
func (p *Planner) WantSpec(project int64, dataset string) *rollup.Spec {
	return p.spec(project, dataset)
}

// Rebuilding reports whether a rebuild of the dataset's rollup is running
// (its history is then answered from raw points).
func (p *Planner) Rebuilding(project int64, dataset string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.captures {
		if c.project == project && c.dataset == dataset {
			return true
		}
	}
	return false
}
