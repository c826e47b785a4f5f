package rollup

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// Spec says how a dataset is rolled up. index1 is always a dimension.
//
// Dimensions are the blobs, and the low-cardinality doubles (HTTP status,
// success flags), that cells are keyed by: filters and groups on them are
// answered exactly from cells, so `status >= 400` must name status here.
// Every distinct combination of index1 and dimension values is a series,
// so a dimension must have few values (never a URL, a message or an ID).
//
// Distributions are the doubles that get a quantile sketch per cell
// (durations, latencies, token counts, scores). Every double, dimension or
// not, gets a weighted sum, a min and a max per cell anyway.
type Spec struct {
	Dimensions    []point.Field
	Distributions []point.Field
}

// Validate checks kinds, positions and repeats.
func (s *Spec) Validate() error {
	for i, f := range s.Dimensions {
		switch f.Kind {
		case point.KindBlob:
			if f.Pos < 1 || f.Pos > point.MaxBlobs {
				return fmt.Errorf("rollup spec: dimension %d: blob position %d is outside 1..%d", i, f.Pos, point.MaxBlobs)
			}
		case point.KindDouble:
			if f.Pos < 1 || f.Pos > point.MaxDoubles {
				return fmt.Errorf("rollup spec: dimension %d: double position %d is outside 1..%d", i, f.Pos, point.MaxDoubles)
			}
		default:
			return fmt.Errorf("rollup spec: dimension %d: a dimension is a blob or a double (index1 always is one)", i)
		}
		if slices.Index(s.Dimensions, f) != i {
			return fmt.Errorf("rollup spec: dimension %s repeats", f.Column())
		}
	}
	for i, f := range s.Distributions {
		if f.Kind != point.KindDouble || f.Pos < 1 || f.Pos > point.MaxDoubles {
			return fmt.Errorf("rollup spec: distribution %d: a distribution is a double, double1..double%d", i, point.MaxDoubles)
		}
		if slices.Index(s.Distributions, f) != i {
			return fmt.Errorf("rollup spec: distribution %s repeats", f.Column())
		}
	}
	return nil
}

// Equal reports whether two specs describe the same cells (order matters:
// it is the order of values in series and sketches in cells).
func (s *Spec) Equal(o *Spec) bool {
	return slices.Equal(s.Dimensions, o.Dimensions) && slices.Equal(s.Distributions, o.Distributions)
}

// String describes the spec with column names, e.g.
// "dims index1,blob2,double2 dists double1".
func (s *Spec) String() string {
	var b strings.Builder
	b.WriteString("dims index1")
	for _, f := range s.Dimensions {
		b.WriteString("," + f.Column())
	}
	b.WriteString(" dists ")
	if len(s.Distributions) == 0 {
		b.WriteString("none")
	}
	for i, f := range s.Distributions {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(f.Column())
	}
	return b.String()
}

func blob(n int) point.Field   { return point.Field{Kind: point.KindBlob, Pos: n} }
func double(n int) point.Field { return point.Field{Kind: point.KindDouble, Pos: n} }

// builtinSpecs roll up the built-in datasets (point.Builtin names their
// positions). The rule: a blob or double is a dimension when it has a few
// dozen values at most in a typical project (method, status, model, country),
// never when it is free text or an identifier (url, query, message, path,
// prediction_id, fingerprint, channel, referrer, course); a double is a
// distribution when people ask for its percentiles (durations, latencies,
// token counts, scores, confidence), not when it is mostly summed (cost,
// bytes, counts) — its sum, min and max are kept either way.
var builtinSpecs = map[string]Spec{
	// url is free text; duration is the latency users chart.
	"requests": {Dimensions: []point.Field{blob(2), blob(3), double(2)}, // method, service, status
		Distributions: []point.Field{double(1)}}, // duration
	"ai_usage": {Dimensions: []point.Field{blob(1), blob(2), blob(3), double(9)}, // model, feature, provider, priced
		Distributions: []point.Field{double(1), double(2), double(3), double(4), double(5)}}, // tokens, latency, input_tokens, output_tokens, ttft
	"embeddings": {Dimensions: []point.Field{blob(1), blob(2), double(6)}, // model, feature, priced
		Distributions: []point.Field{double(1), double(2)}}, // latency, tokens
	// query is the query text.
	"vector_search": {Dimensions: []point.Field{blob(1)}, // kind
		Distributions: []point.Field{double(2), double(3), double(4)}}, // latency, top_score, mean_score
	// query is SQL text; query_name (index1) names it.
	"db_queries": {Dimensions: []point.Field{blob(2), blob(3)}, // database, operation
		Distributions: []point.Field{double(1), double(2)}}, // latency, rows_read
	// channel is often per room or per user; side tells the browser's
	// events from the server's.
	"websocket": {Dimensions: []point.Field{blob(1), blob(3), double(2), blob(4)}, // event, error, code, side
		Distributions: []point.Field{double(1)}}, // duration
	// course is per tenant.
	"grade_passback": {Dimensions: []point.Field{blob(1), blob(2), double(1), double(3)}, // platform, error_class, success, attempt
		Distributions: []point.Field{double(2), double(4)}}, // latency, score
	// prediction_id is unique per point.
	"intent": {Dimensions: []point.Field{blob(1), blob(2), blob(4), blob(5), double(2)}, // model, intent, kind, actual, correct
		Distributions: []point.Field{double(1)}}, // confidence
	// path repeats page (index1); referrer, referrer_host and the UTM tags
	// are open-ended, visitor and session are ids. entry, bounce and
	// since_previous are summed (visits, bounces, visit time).
	"pageviews": {Dimensions: []point.Field{blob(3), blob(4), blob(5), blob(7), blob(10)}, // country, device, browser, os, host
		Distributions: []point.Field{double(1)}}, // load_time
	// path and props are open-ended; name repeats event_name.
	"events": {Dimensions: []point.Field{blob(1)}, // name
		Distributions: []point.Field{double(1)}}, // value
	// attribution is a selector (CLS's varies with every shift), metric_id
	// an id, path has an id in it. route is the path with its ids folded
	// (one per page template) and element the LCP element or INP target
	// with its ids folded, empty on the other metrics (package enrich): the
	// per-page report (package insights) is answered from them.
	"web_vitals": {Dimensions: []point.Field{blob(1), blob(2), blob(4), blob(10), blob(15), blob(16)}, // name, rating, navigation_type, device, route, element
		Distributions: []point.Field{double(1)}}, // value
	// url and path are open-ended; route is the path with its ids folded.
	"api_calls": {Dimensions: []point.Field{blob(2), double(2), double(3), blob(12)}, // method, status, success, route
		Distributions: []point.Field{double(1)}}, // duration
	// message, path and fingerprint are open-ended: top-error queries read
	// raw points; route is the path with its ids folded.
	"client_errors": {Dimensions: []point.Field{blob(1), blob(11), blob(15)}}, // type, browser, route
	"ui_actions": {Dimensions: []point.Field{blob(1), blob(2)}, // action, component
		Distributions: []point.Field{double(1)}}, // duration
	// message, fingerprint, culprit, transaction, user and event_id are
	// open-ended; a release has a few values a day.
	"errors": {Dimensions: []point.Field{blob(4), blob(5), blob(6), blob(7), blob(12)}}, // level, environment, release, platform, handled
	// name is index1; trace_id and user are ids.
	"transactions": {Dimensions: []point.Field{blob(2), blob(3), blob(4), blob(7), double(2)}, // op, status, environment, method, http_status
		Distributions: []point.Field{double(1)}}, // duration
	// description is a query or a URL.
	"spans": {Dimensions: []point.Field{blob(3), blob(8)}, // status, environment
		Distributions: []point.Field{double(1)}}, // duration
	// user and session are ids.
	"sessions": {Dimensions: []point.Field{blob(1), blob(2), blob(5)}, // environment, status, kind
		Distributions: []point.Field{double(6)}}, // duration
	"check_ins": {Dimensions: []point.Field{blob(2), blob(3)}, // status, environment
		Distributions: []point.Field{double(1)}}, // duration
	// message and attributes are free text.
	"logs": {Dimensions: []point.Field{blob(1), blob(7), blob(8)}}, // level, origin, environment
	// url repeats the check (index1); error is free text; run_id is an id.
	"checks": {Dimensions: []point.Field{blob(2), blob(5), double(1), double(4)}, // type, device, ok, status
		Distributions: []point.Field{double(5), double(9), double(13)}}, // duration, ttfb, score
}

// BuiltinSpec returns the rollup spec of a built-in dataset, or nil.
func BuiltinSpec(dataset string) *Spec {
	s, ok := builtinSpecs[dataset]
	if !ok {
		return nil
	}
	return &Spec{Dimensions: slices.Clone(s.Dimensions), Distributions: slices.Clone(s.Distributions)}
}

// DefaultSpec is the spec of a dataset when Options.Spec is nil: the
// built-in spec, or for any other dataset index1 alone with no sketches
// (counts, sums, min, max and avg of every double by index1).
func DefaultSpec(_ int64, dataset string) *Spec {
	if s := BuiltinSpec(dataset); s != nil {
		return s
	}
	return &Spec{}
}

// layout is a Spec compiled for the hot paths.
type layout struct {
	spec Spec
	// blobDims and numDims are the positions of the blob and double
	// dimensions, in spec order; a series stores its values in that order.
	blobDims []int
	numDims  []int
	dists    []int // double positions with sketches
}

func newLayout(s *Spec) *layout {
	l := &layout{spec: Spec{Dimensions: slices.Clone(s.Dimensions), Distributions: slices.Clone(s.Distributions)}}
	l.blobDims, l.numDims, l.dists = s.Positions()
	return l
}

// Positions returns the positions of the spec's blob dimensions and of its
// double dimensions, each in spec order, and of its distributions.
func (s *Spec) Positions() (blobDims, numDims, dists []int) {
	for _, f := range s.Dimensions {
		if f.Kind == point.KindBlob {
			blobDims = append(blobDims, f.Pos)
		} else {
			numDims = append(numDims, f.Pos)
		}
	}
	for _, f := range s.Distributions {
		dists = append(dists, f.Pos)
	}
	return blobDims, numDims, dists
}

// dim locates a dimension field: kind 'i' (index1), 'b' (blobs[i]) or
// 'n' (nums[i]); ok is false when f is no dimension.
func (l *layout) dim(f point.Field) (kind byte, i int, ok bool) {
	switch f.Kind {
	case point.KindIndex:
		return 'i', 0, true
	case point.KindBlob:
		if i := slices.Index(l.blobDims, f.Pos); i >= 0 {
			return 'b', i, true
		}
	case point.KindDouble:
		if i := slices.Index(l.numDims, f.Pos); i >= 0 {
			return 'n', i, true
		}
	}
	return 0, 0, false
}

// dist returns the sketch slot of a distribution double, or -1.
func (l *layout) dist(f point.Field) int {
	if f.Kind != point.KindDouble {
		return -1
	}
	return slices.Index(l.dists, f.Pos)
}
