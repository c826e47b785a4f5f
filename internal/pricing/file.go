package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a catalog file and of its entries.
const (
	// MaxFileBytes bounds a catalog file.
	MaxFileBytes = 4 << 20
	// MaxEntries bounds the entries of one file or project.
	MaxEntries = 10000
	// MaxModelBytes bounds a model name.
	MaxModelBytes = 256
	// MaxPatternBytes bounds a pattern.
	MaxPatternBytes = 512
	// MaxRate bounds a rate, in USD per 1M tokens or per 1,000 neurons.
	MaxRate = 1e6
)

//go:embed default_prices.json
var defaultJSON []byte

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the catalog embedded in the binary: the prices of the
// Workers AI models the seed's platform uses and of the common OpenAI,
// Anthropic and Google models, taken on the date AsOf returns.
func Default() *Catalog {
	defaultOnce.Do(func() {
		f, err := ParseCatalog(defaultJSON)
		if err != nil {
			panic("BUG: the embedded default price catalog is invalid: " + err.Error())
		}
		defaultCat = newCatalog("", nil, [3][]Entry{}).With(SourceDefault, f)
	})
	return defaultCat
}

// fileJSON is the catalog file format.
type fileJSON struct {
	AsOf    string      `json:"prices_as_of,omitempty"`
	Note    string      `json:"note,omitempty"`
	Sources []string    `json:"sources,omitempty"`
	Models  []entryJSON `json:"models"`
}

// entryJSON is one entry as written in a file. Rates are pointers so that a
// null or a missing rate reads as "no price for that unit".
type entryJSON struct {
	Model        string   `json:"model"`
	Pattern      bool     `json:"pattern,omitempty"`
	Input        *float64 `json:"input,omitempty"`
	Output       *float64 `json:"output,omitempty"`
	CachedInput  *float64 `json:"cached_input,omitempty"`
	Embedding    *float64 `json:"embedding,omitempty"`
	NeuronsPer1k *float64 `json:"neurons_per_1k,omitempty"`
}

// ParseCatalog decodes a catalog file:
//
//	{"prices_as_of": "2026-11-27",
//	 "sources": ["where the prices come from"],
//	 "models": [
//	   {"model": "gpt-4o", "input": 2.5, "output": 10, "cached_input": 1.25},
//	   {"model": "text-embedding-3-small", "embedding": 0.02},
//	   {"model": "@cf/.+", "pattern": true, "neurons_per_1k": 0.011}]}
//
// Token rates are USD per 1M tokens; neurons_per_1k is USD per 1,000 Workers
// AI neurons. A pattern is a Go regular expression matched against the whole
// model name. Unknown keys, repeated models, negative or non-finite rates and
// invalid patterns are errors naming the entry.
func ParseCatalog(data []byte) (*File, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("catalog is %d bytes; the limit is %d", len(data), MaxFileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw fileJSON
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("catalog: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, errors.New("catalog: unexpected data after the JSON object")
	}
	if raw.AsOf != "" {
		if _, err := time.Parse(time.DateOnly, raw.AsOf); err != nil {
			return nil, fmt.Errorf("catalog: prices_as_of %q is not a date such as 2026-11-27", clip(raw.AsOf))
		}
	}
	if len(raw.Models) > MaxEntries {
		return nil, fmt.Errorf("catalog: %d models; the limit is %d", len(raw.Models), MaxEntries)
	}
	f := &File{AsOf: raw.AsOf, Sources: raw.Sources, Entries: make([]Entry, 0, len(raw.Models))}
	seen := map[string]int{}
	for i, m := range raw.Models {
		e, err := m.entry()
		if err != nil {
			return nil, fmt.Errorf("catalog: models[%d]: %w", i, err)
		}
		if j, dup := seen[e.key()]; dup {
			return nil, fmt.Errorf("catalog: models[%d]: %q repeats models[%d]", i, clip(e.Model), j)
		}
		seen[e.key()] = i
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

func (m entryJSON) entry() (Entry, error) {
	e := Entry{Model: m.Model, Pattern: m.Pattern}
	for _, r := range []struct {
		name string
		src  *float64
		dst  *float64
	}{
		{"input", m.Input, &e.Input},
		{"output", m.Output, &e.Output},
		{"cached_input", m.CachedInput, &e.CachedInput},
		{"embedding", m.Embedding, &e.Embedding},
		{"neurons_per_1k", m.NeuronsPer1k, &e.NeuronsPer1k},
	} {
		if r.src != nil {
			*r.dst = *r.src
		}
		if err := checkRate(r.name, *r.dst); err != nil {
			return Entry{}, err
		}
	}
	if err := e.compile(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func checkRate(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > MaxRate {
		return fmt.Errorf("%s must be a number from 0 to %g, got %v", name, float64(MaxRate), v)
	}
	return nil
}

// Validate checks an entry's name or pattern and rates, and compiles its
// pattern. Every entry a Catalog holds has passed it.
func (e *Entry) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"input", e.Input}, {"output", e.Output}, {"cached_input", e.CachedInput}, {"embedding", e.Embedding}, {"neurons_per_1k", e.NeuronsPer1k}} {
		if err := checkRate(r.name, r.v); err != nil {
			return err
		}
	}
	return e.compile()
}

// compile checks the model name or pattern and compiles the pattern,
// anchored to the whole name.
func (e *Entry) compile() error {
	if e.Model == "" {
		return errors.New("model is empty")
	}
	if !utf8.ValidString(e.Model) {
		return errors.New("model is not valid UTF-8")
	}
	if strings.IndexFunc(e.Model, unicode.IsControl) >= 0 {
		return fmt.Errorf("model %q holds a control character", clip(e.Model))
	}
	if !e.Pattern {
		if len(e.Model) > MaxModelBytes {
			return fmt.Errorf("model name is %d bytes; the limit is %d", len(e.Model), MaxModelBytes)
		}
		e.re = nil
		return nil
	}
	if len(e.Model) > MaxPatternBytes {
		return fmt.Errorf("pattern is %d bytes; the limit is %d", len(e.Model), MaxPatternBytes)
	}
	// The pattern must stand alone, so that text such as "a)|(b" cannot
	// escape the anchoring group.
	if _, err := regexp.Compile(e.Model); err != nil {
		return fmt.Errorf("pattern %q: %s", clip(e.Model), strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	re, err := regexp.Compile(`^(?:` + e.Model + `)$`)
	if err != nil {
		return fmt.Errorf("pattern %q: %s", clip(e.Model), strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	e.re = re
	return nil
}

// MarshalFile encodes entries in the catalog file format.
func MarshalFile(f *File) ([]byte, error) {
	raw := fileJSON{AsOf: f.AsOf, Sources: f.Sources, Models: make([]entryJSON, len(f.Entries))}
	for i, e := range f.Entries {
		raw.Models[i] = entryJSON{Model: e.Model, Pattern: e.Pattern,
			Input: rate(e.Input), Output: rate(e.Output), CachedInput: rate(e.CachedInput),
			Embedding: rate(e.Embedding), NeuronsPer1k: rate(e.NeuronsPer1k)}
	}
	return json.Marshal(raw)
}

func rate(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}

// LoadFile reads and parses a catalog file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read price catalog: %w", err)
	}
	f, err := ParseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:80] + "…"
}
