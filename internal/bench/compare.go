package bench

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxMismatches bounds the disagreements a comparison keeps.
const maxMismatches = 20

// comparison compares answers from rollups with the same answers from raw
// points: counts, sums, averages and rates must agree (to a relative 1e-9:
// sums of doubles depend on their order), quantiles within the sketch's
// error, which it measures.
type comparison struct {
	quantiles  []quantileDiff
	mismatches []string
	dropped    int // mismatches past maxMismatches

	// left and right name the two answers in mismatches; "" means "raw"
	// and "rollup".
	left, right string
	// exact compares quantiles like every other figure (to a relative
	// 1e-9): two exact answers, such as the embedded store's and a
	// cluster's from raw points, have no sketch error to measure.
	exact bool
}

// names returns the names of the two answers in messages.
func (c *comparison) names() (string, string) {
	if c.left == "" {
		return "raw", "rollup"
	}
	return c.left, c.right
}

// quantileDiff is one quantile from rollups against the exact one.
type quantileDiff struct {
	Where       string
	Raw, Rollup float64
	Rel         float64 // |Rollup - Raw| / |Raw|
}

// quantileKey matches the names of quantile figures: p50, p95, p99, ...
var quantileKey = regexp.MustCompile(`^p[0-9]{1,2}(\.[0-9]+)?$`)

// rowKeys are the fields that name a row in a list of rows, tried in order:
// query groups and buckets, and the metrics' per-endpoint, per-model, ...
// lists.
var rowKeys = []string{"index1", "t", "endpoint", "model", "index", "query", "name", "dataset"}

func (c *comparison) mismatch(format string, args ...any) {
	if len(c.mismatches) >= maxMismatches {
		c.dropped++
		return
	}
	c.mismatches = append(c.mismatches, fmt.Sprintf(format, args...))
}

// compare walks two decoded JSON answers side by side; "meta" objects are
// skipped.
func (c *comparison) compare(where string, raw, rollup any) {
	ln, rn := c.names()
	switch r := raw.(type) {
	case map[string]any:
		o, ok := rollup.(map[string]any)
		if !ok {
			c.mismatch("%s: %s has an object, %s %s", where, ln, rn, describe(rollup))
			return
		}
		keys := make([]string, 0, len(r)+len(o))
		for k := range r {
			keys = append(keys, k)
		}
		for k := range o {
			if _, dup := r[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "meta" {
				continue
			}
			c.compare(where+"."+k, r[k], o[k])
		}
	case []any:
		o, ok := rollup.([]any)
		if !ok {
			c.mismatch("%s: %s has a list, %s %s", where, ln, rn, describe(rollup))
			return
		}
		c.compareLists(where, r, o)
	case float64:
		o, ok := rollup.(float64)
		switch {
		case !ok:
			c.mismatch("%s: %s has %v, %s %s", where, ln, r, rn, describe(rollup))
		case !c.exact && quantileKey.MatchString(where[strings.LastIndexByte(where, '.')+1:]):
			c.quantiles = append(c.quantiles, quantileDiff{Where: where, Raw: r, Rollup: o, Rel: relErr(o, r)})
		case !near(r, o):
			c.mismatch("%s: %s has %v, %s %v", where, ln, r, rn, o)
		}
	default: // strings, booleans, null
		if raw != rollup {
			c.mismatch("%s: %s has %s, %s %s", where, ln, describe(raw), rn, describe(rollup))
		}
	}
}

// compareLists matches rows by their naming field when they have one, else
// by position.
func (c *comparison) compareLists(where string, raw, rollup []any) {
	ln, rn := c.names()
	key := listKey(raw, rollup)
	if key == "" {
		if len(raw) != len(rollup) {
			c.mismatch("%s: %s has %d entries, %s %d", where, ln, len(raw), rn, len(rollup))
		}
		for i := range min(len(raw), len(rollup)) {
			c.compare(where+"["+strconv.Itoa(i)+"]", raw[i], rollup[i])
		}
		return
	}
	byName := map[string]any{}
	for _, e := range rollup {
		byName[fmt.Sprint(e.(map[string]any)[key])] = e
	}
	seen := map[string]bool{}
	for _, e := range raw {
		name := fmt.Sprint(e.(map[string]any)[key])
		seen[name] = true
		o, ok := byName[name]
		if !ok {
			c.mismatch("%s[%s]: only in the %s answer", where, name, ln)
			continue
		}
		c.compare(where+"["+name+"]", e, o)
	}
	var extra []string
	for name := range byName {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		c.mismatch("%s[%s]: only in the %s answer", where, name, rn)
	}
}

// listKey returns the naming field every row of both lists has, or "".
func listKey(lists ...[]any) string {
	for _, k := range rowKeys {
		all := true
		for _, l := range lists {
			for _, e := range l {
				m, ok := e.(map[string]any)
				if !ok {
					return ""
				}
				if _, ok := m[k]; !ok {
					all = false
				}
			}
		}
		if all && (len(lists[0]) > 0 || len(lists[1]) > 0) {
			return k
		}
	}
	return ""
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

// relErr is |got - want| / |want|, 0 when both are 0.
func relErr(got, want float64) float64 {
	d := math.Abs(got - want)
	if d == 0 {
		return 0
	}
	return d / math.Abs(want)
}

// QuantileError sums up how far quantiles from rollups are from the exact
// ones.
type QuantileError struct {
	// Compared counts the quantiles compared.
	Compared int `json:"compared"`
	// MaxRel and MedianRel are relative errors (0.01 is 1 %).
	MaxRel    float64 `json:"max_rel"`
	MedianRel float64 `json:"median_rel"`
	P99Rel    float64 `json:"p99_rel"`
	// MaxAt names the quantile with the largest error and its values.
	MaxAt string `json:"max_at"`
}

// quantileError sums up diffs; nil when there are none.
func quantileError(diffs []quantileDiff) *QuantileError {
	if len(diffs) == 0 {
		return nil
	}
	rels := make([]float64, len(diffs))
	worst := 0
	for i, d := range diffs {
		rels[i] = d.Rel
		if d.Rel > diffs[worst].Rel {
			worst = i
		}
	}
	w := diffs[worst]
	return &QuantileError{
		Compared:  len(diffs),
		MaxRel:    round(w.Rel, 6),
		MedianRel: round(Median(rels), 6),
		P99Rel:    round(Percentile(rels, 0.99), 6),
		MaxAt:     fmt.Sprintf("%s: rollup %v, raw %v", w.Where, w.Rollup, w.Raw),
	}
}
