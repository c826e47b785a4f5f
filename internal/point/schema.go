package point

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Schema names the positions of a dataset: its index and its blob and double
// positions. Blobs[0] names blob1, Doubles[0] names double1. An empty name
// leaves a position unnamed.
type Schema struct {
	Index   string   `json:"index,omitempty"`
	Blobs   []string `json:"blobs,omitempty"`
	Doubles []string `json:"doubles,omitempty"`
	// Rollup says how the dataset is rolled up; nil means index1 alone.
	Rollup *RollupSchema `json:"rollup,omitempty"`
}

// RollupSchema names, by schema or column name, the fields rollups key
// their cells by (dimensions: blobs and low-cardinality doubles, never
// URLs, messages or IDs) and the doubles that get a quantile sketch
// (distributions: durations, latencies, token counts, scores).
type RollupSchema struct {
	Dimensions    []string `json:"dimensions,omitempty"`
	Distributions []string `json:"distributions,omitempty"`
}

// Limits of a rollup schema.
const (
	MaxRollupDimensions    = 8
	MaxRollupDistributions = 8
)

// RollupFields resolves the rollup schema into fields; ok is false when
// the schema declares no rollup.
func (s *Schema) RollupFields() (dims, dists []Field, ok bool, err error) {
	if s == nil || s.Rollup == nil {
		return nil, nil, false, nil
	}
	r := s.Rollup
	if len(r.Dimensions) > MaxRollupDimensions {
		return nil, nil, true, fmt.Errorf("rollup names %d dimensions; the limit is %d (every combination of their values is kept, so keep them few)", len(r.Dimensions), MaxRollupDimensions)
	}
	if len(r.Distributions) > MaxRollupDistributions {
		return nil, nil, true, fmt.Errorf("rollup names %d distributions; the limit is %d", len(r.Distributions), MaxRollupDistributions)
	}
	for _, name := range r.Dimensions {
		f, err := s.Resolve(name)
		if err != nil {
			return nil, nil, true, fmt.Errorf("rollup dimension: %w", err)
		}
		switch {
		case f.Kind == KindIndex:
			continue // always a dimension
		case f.Kind != KindBlob && f.Kind != KindDouble:
			return nil, nil, true, fmt.Errorf("rollup dimension %q: a dimension is a blob or a double", name)
		case slices.Contains(dims, f):
			return nil, nil, true, fmt.Errorf("rollup dimension %q is named twice", name)
		}
		dims = append(dims, f)
	}
	for _, name := range r.Distributions {
		f, err := s.Resolve(name)
		if err != nil {
			return nil, nil, true, fmt.Errorf("rollup distribution: %w", err)
		}
		switch {
		case f.Kind != KindDouble:
			return nil, nil, true, fmt.Errorf("rollup distribution %q: a distribution is a double", name)
		case slices.Contains(dists, f):
			return nil, nil, true, fmt.Errorf("rollup distribution %q is named twice", name)
		}
		dists = append(dists, f)
	}
	return dims, dists, true, nil
}

// FieldKind says which column family a field is in.
type FieldKind uint8

const (
	KindIndex FieldKind = iota + 1
	KindBlob
	KindDouble
	KindTimestamp
	KindSampleInterval
)

// IsNumeric reports whether values of the kind are numbers.
func (k FieldKind) IsNumeric() bool {
	return k == KindDouble || k == KindTimestamp || k == KindSampleInterval
}

// Field is a resolved column: a kind and, for blobs and doubles, a 1-based position.
type Field struct {
	Kind FieldKind
	Pos  int
}

// Column returns the canonical AE column name: index1, blob3, double2, timestamp, _sample_interval.
func (f Field) Column() string {
	switch f.Kind {
	case KindIndex:
		return "index1"
	case KindBlob:
		return "blob" + strconv.Itoa(f.Pos)
	case KindDouble:
		return "double" + strconv.Itoa(f.Pos)
	case KindTimestamp:
		return "timestamp"
	case KindSampleInterval:
		return "_sample_interval"
	}
	panic("BUG: field of unknown kind")
}

// Validate checks that names are unique and match [a-z_][a-z0-9_]*, and that
// no name shadows a positional column name.
func (s *Schema) Validate() error {
	if len(s.Blobs) > MaxBlobs {
		return fmt.Errorf("schema names %d blobs; the limit is %d", len(s.Blobs), MaxBlobs)
	}
	if len(s.Doubles) > MaxDoubles {
		return fmt.Errorf("schema names %d doubles; the limit is %d", len(s.Doubles), MaxDoubles)
	}
	seen := map[string]string{}
	check := func(name, where string) error {
		if name == "" {
			return nil
		}
		if !validFieldName(name) {
			return fmt.Errorf("schema %s name %q is invalid; names match [a-z_][a-z0-9_]* and are at most 64 bytes", where, name)
		}
		if _, ok := positional(name); ok {
			return fmt.Errorf("schema %s name %q is a column name; choose another name", where, name)
		}
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("schema name %q is used twice (%s and %s); names must be unique", name, prev, where)
		}
		seen[name] = where
		return nil
	}
	if err := check(s.Index, "index"); err != nil {
		return err
	}
	for i, n := range s.Blobs {
		if err := check(n, "blob"+strconv.Itoa(i+1)); err != nil {
			return err
		}
	}
	for i, n := range s.Doubles {
		if err := check(n, "double"+strconv.Itoa(i+1)); err != nil {
			return err
		}
	}
	_, _, _, err := s.RollupFields()
	return err
}

// IsZero reports whether the schema names nothing.
func (s *Schema) IsZero() bool {
	return s == nil || s.Index == "" && len(s.Blobs) == 0 && len(s.Doubles) == 0 && s.Rollup == nil
}

// Name returns the schema's name for f, or "" when f is unnamed.
func (s *Schema) Name(f Field) string {
	if s == nil {
		return ""
	}
	switch f.Kind {
	case KindIndex:
		return s.Index
	case KindBlob:
		if f.Pos >= 1 && f.Pos <= len(s.Blobs) {
			return s.Blobs[f.Pos-1]
		}
	case KindDouble:
		if f.Pos >= 1 && f.Pos <= len(s.Doubles) {
			return s.Doubles[f.Pos-1]
		}
	}
	return ""
}

// Resolve turns a field name into a Field: a positional name (index1, index,
// blob1..blob20, double1..double20, timestamp, _sample_interval) or one of the
// schema's names. s may be nil.
func (s *Schema) Resolve(name string) (Field, error) {
	if f, ok := positional(name); ok {
		return f, nil
	}
	if s != nil {
		if name != "" && name == s.Index {
			return Field{Kind: KindIndex, Pos: 1}, nil
		}
		for i, n := range s.Blobs {
			if n != "" && n == name {
				return Field{Kind: KindBlob, Pos: i + 1}, nil
			}
		}
		for i, n := range s.Doubles {
			if n != "" && n == name {
				return Field{Kind: KindDouble, Pos: i + 1}, nil
			}
		}
	}
	return Field{}, fmt.Errorf("unknown field %q: use index1, blob1..blob20, double1..double20, timestamp or a name from the dataset's schema", truncate(name, 80))
}

func positional(name string) (Field, bool) {
	switch name {
	case "index", "index1":
		return Field{Kind: KindIndex, Pos: 1}, true
	case "timestamp":
		return Field{Kind: KindTimestamp}, true
	case "_sample_interval":
		return Field{Kind: KindSampleInterval}, true
	}
	for _, fam := range []struct {
		prefix string
		kind   FieldKind
		max    int
	}{{"blob", KindBlob, MaxBlobs}, {"double", KindDouble, MaxDoubles}} {
		if rest, ok := strings.CutPrefix(name, fam.prefix); ok {
			n, err := strconv.Atoi(rest)
			if err == nil && n >= 1 && n <= fam.max && strconv.Itoa(n) == rest {
				return Field{Kind: fam.kind, Pos: n}, true
			}
		}
	}
	return Field{}, false
}

func validFieldName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Set sets the field of a schema named name to v (a string for the index
// and blobs, a float64 for doubles); it reports false when the schema has
// no such field or v is of the other kind.
func (s *Schema) Set(p *Point, name string, v any) bool {
	f, err := s.Resolve(name)
	if err != nil {
		return false
	}
	switch x := v.(type) {
	case string:
		switch f.Kind {
		case KindIndex:
			p.Index = x
		case KindBlob:
			p.SetBlob(f.Pos, x)
		default:
			return false
		}
	case float64:
		if f.Kind != KindDouble {
			return false
		}
		p.SetDouble(f.Pos, x)
	default:
		return false
	}
	return true
}
