// Package pricing owns what AI models cost: the price catalog (a model name
// or an anchored regular expression → USD per 1M input, output, cached input
// and embedding tokens, or per 1,000 Workers AI neurons), its layers (the
// default catalog embedded in the binary, the operator's file, and each
// project's entries set through the admin API), and the cost of one
// ai_usage or embeddings point, which the server stores with the point at
// ingest. It knows the positions of those two built-in datasets and nothing
// else of points; it never talks HTTP and stores project entries only through
// the small Settings interface it declares.
package pricing

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Price is what a model costs, in USD. Token rates are per 1M tokens;
// NeuronsPer1k is per 1,000 Workers AI neurons. A zero rate is "no price for
// that unit", except in an entry whose rates are all zero, which prices every
// call at 0 (a model the operator declares free).
type Price struct {
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CachedInput  float64 `json:"cached_input"`
	Embedding    float64 `json:"embedding"`
	NeuronsPer1k float64 `json:"neurons_per_1k"`
}

// Free reports whether every rate is zero.
func (p Price) Free() bool {
	return p == Price{}
}

// Source says which layer an entry comes from. Later layers win:
// project over operator over default.
type Source string

const (
	SourceDefault  Source = "default"  // the catalog embedded in the binary
	SourceOperator Source = "operator" // the file given with --pricing
	SourceProject  Source = "project"  // the project's entries, set through the admin API
)

// rank orders sources by precedence: higher wins.
func (s Source) rank() int {
	switch s {
	case SourceProject:
		return 3
	case SourceOperator:
		return 2
	case SourceDefault:
		return 1
	}
	return 0
}

// Entry is one price: for the model named Model, or, when Pattern is true,
// for every model whose whole name matches the Go regular expression Model.
type Entry struct {
	Model   string `json:"model"`
	Pattern bool   `json:"pattern"`
	Price
	Source Source `json:"source,omitempty"`

	re *regexp.Regexp // compiled, anchored; set for patterns
}

// key identifies an entry within a layer: a name and a pattern of the same
// text are different entries.
func (e *Entry) key() string {
	if e.Pattern {
		return "re:" + e.Model
	}
	return "=" + e.Model
}

// matches reports whether the entry prices model.
func (e *Entry) matches(model string) bool {
	if e.Pattern {
		return e.re.MatchString(model)
	}
	return e.Model == model
}

// File is a parsed catalog: the default one, an operator's file, or a
// project's stored entries.
type File struct {
	// AsOf is the date the prices were taken (YYYY-MM-DD), when given.
	AsOf string
	// Sources says where the prices come from, when given.
	Sources []string
	// Entries in file order; patterns are tried in this order.
	Entries []Entry
}

// Catalog is an immutable, layered price catalog. Lookup tries, in order:
// exact names (a project's over the operator's over the default ones), then
// patterns (a project's, then the operator's, then the default ones, each in
// file order); the first match prices the model. So an exact name always
// wins over a pattern, and within each kind the higher layer wins.
type Catalog struct {
	asOf     string
	sources  []string
	layers   [3][]Entry // by rank-1: default, operator, project
	exact    map[string]*Entry
	patterns []*Entry

	// memo remembers pattern lookups (model → *Entry, nil for no match),
	// so that a model priced by a pattern costs a map lookup, not a regexp
	// match, per point. It is bounded by maxMemo entries.
	memo  sync.Map
	memoN atomic.Int64
}

// maxMemo bounds the remembered pattern lookups of one catalog.
const maxMemo = 4096

// noEntry marks a remembered miss.
var noEntry = &Entry{}

// newCatalog builds a catalog from its layers.
func newCatalog(asOf string, sources []string, layers [3][]Entry) *Catalog {
	c := &Catalog{asOf: asOf, sources: sources, layers: layers, exact: map[string]*Entry{}}
	shadowed := map[string]bool{} // pattern texts already taken by a higher layer
	for r := len(layers) - 1; r >= 0; r-- {
		for i := range layers[r] {
			e := &layers[r][i]
			if !e.Pattern {
				if _, ok := c.exact[e.Model]; !ok {
					c.exact[e.Model] = e
				}
				continue
			}
			if shadowed[e.Model] {
				continue
			}
			shadowed[e.Model] = true
			c.patterns = append(c.patterns, e)
		}
	}
	return c
}

// With returns a catalog with f's entries as the layer of source src on top
// of c's (replacing any layer of that source c already has). c is unchanged.
func (c *Catalog) With(src Source, f *File) *Catalog {
	r := src.rank()
	if r == 0 {
		panic("BUG: unknown pricing source " + string(src))
	}
	layers := c.layers
	var entries []Entry
	if f != nil {
		entries = make([]Entry, len(f.Entries))
		for i, e := range f.Entries {
			e.Source = src
			entries[i] = e
		}
	}
	layers[r-1] = entries
	asOf, sources := c.asOf, c.sources
	if src == SourceDefault && f != nil {
		asOf, sources = f.AsOf, f.Sources
	}
	return newCatalog(asOf, sources, layers)
}

// AsOf returns the date the default prices were taken.
func (c *Catalog) AsOf() string { return c.asOf }

// Sources returns where the default prices come from.
func (c *Catalog) Sources() []string { return append([]string(nil), c.sources...) }

// Layer returns the entries of one source, in order.
func (c *Catalog) Layer(src Source) []Entry {
	r := src.rank()
	if r == 0 {
		return nil
	}
	return append([]Entry(nil), c.layers[r-1]...)
}

// Lookup returns the entry that prices model.
func (c *Catalog) Lookup(model string) (*Entry, bool) {
	if e, ok := c.exact[model]; ok {
		return e, true
	}
	if len(c.patterns) == 0 || model == "" {
		return nil, false
	}
	if v, ok := c.memo.Load(model); ok {
		e := v.(*Entry)
		return e, e != noEntry
	}
	found := noEntry
	for _, e := range c.patterns {
		if e.matches(model) {
			found = e
			break
		}
	}
	if c.memoN.Load() < maxMemo {
		// The model name may share memory with a request body that is
		// reused after the request: keep a copy.
		if _, loaded := c.memo.LoadOrStore(strings.Clone(model), found); !loaded {
			c.memoN.Add(1)
		}
	}
	return found, found != noEntry
}

// Effective lists the entries that are in force: for each name or pattern the
// entry of the highest layer. Exact names come first, by name, then the
// patterns in the order they are tried.
func (c *Catalog) Effective() []Entry {
	out := make([]Entry, 0, len(c.exact)+len(c.patterns))
	for _, e := range c.exact {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	for _, e := range c.patterns {
		out = append(out, *e)
	}
	return out
}
