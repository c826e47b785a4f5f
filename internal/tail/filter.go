package tail

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
)

// Filter is what a tail asks for: the query parameters of GET
// /api/v1/tail. The zero Filter passes everything.
type Filter struct {
	// Datasets, when not empty, keeps only these datasets.
	Datasets []string
	// Status is "", "ok" or "error" (see IsError).
	Status string
	// Methods, when not empty, keeps records whose method field is one
	// of them (case-insensitive); a dataset without one is left out.
	Methods []string
	// Search keeps records with this text (ASCII case-insensitive) in
	// the index or any blob.
	Search string
	// Fields are conditions on named fields, all of which must hold.
	Fields []Cond
	// Sampling is the share of matching records to send, in (0, 1]; 0
	// means 1.
	Sampling float64
}

// Cond is one field=name:op:value condition.
type Cond struct {
	Name, Op, Value string
	num             float64 // Value as a number
	isNum           bool
}

// The operators of a field condition.
var ops = []string{"=", "!=", ">", "<", ">=", "<=", "contains", "!contains"}

// Limits of a filter.
const (
	maxDatasets = 64
	maxMethods  = 16
	maxConds    = 16
	maxText     = 1024 // bytes of a search text or condition value
)

// params are the query parameters a tail takes; "project" names the
// project of a root dashboard session (the server reads it).
var params = []string{"dataset", "status", "method", "search", "field", "sampling", "project"}

// ParseFilter reads a filter from a tail's query parameters. Parameters
// may repeat (dataset, method, field) or hold comma-separated lists
// (dataset, method). An error is a *ParamError.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(params, k) {
			return f, paramErr(k, "unknown parameter; a tail takes %s", strings.Join(params[:len(params)-1], ", "))
		}
	}
	for _, v := range q["dataset"] {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			if err := point.ValidateDatasetName(d); err != nil {
				return f, paramErr("dataset", "%v", err)
			}
			if !slices.Contains(f.Datasets, d) {
				f.Datasets = append(f.Datasets, d)
			}
		}
	}
	if len(f.Datasets) > maxDatasets {
		return f, paramErr("dataset", "%d datasets; the limit is %d", len(f.Datasets), maxDatasets)
	}
	switch v := q["status"]; {
	case len(v) > 1:
		return f, paramErr("status", "given %d times; give it once", len(v))
	case len(v) == 1:
		f.Status = strings.ToLower(strings.TrimSpace(v[0]))
		if f.Status != "ok" && f.Status != "error" {
			return f, paramErr("status", "%q: use ok or error", truncate(v[0]))
		}
	}
	for _, v := range q["method"] {
		for m := range strings.SplitSeq(v, ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" || len(m) > 32 || strings.IndexFunc(m, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
				return f, paramErr("method", "%q is not an HTTP method such as GET or POST", truncate(m))
			}
			if !slices.Contains(f.Methods, m) {
				f.Methods = append(f.Methods, m)
			}
		}
	}
	if len(f.Methods) > maxMethods {
		return f, paramErr("method", "%d methods; the limit is %d", len(f.Methods), maxMethods)
	}
	switch v := q["search"]; {
	case len(v) > 1:
		return f, paramErr("search", "given %d times; give it once", len(v))
	case len(v) == 1:
		if err := checkText(v[0]); err != nil {
			return f, paramErr("search", "%v", err)
		}
		f.Search = v[0]
	}
	for _, v := range q["field"] {
		c, err := ParseCond(v)
		if err != nil {
			return f, paramErr("field", "%v", err)
		}
		f.Fields = append(f.Fields, c)
	}
	if len(f.Fields) > maxConds {
		return f, paramErr("field", "%d conditions; the limit is %d", len(f.Fields), maxConds)
	}
	switch v := q["sampling"]; {
	case len(v) > 1:
		return f, paramErr("sampling", "given %d times; give it once", len(v))
	case len(v) == 1:
		x, err := strconv.ParseFloat(strings.TrimSpace(v[0]), 64)
		if err != nil || !(x > 0 && x <= 1) {
			return f, paramErr("sampling", "%q: use a share of records above 0 and at most 1, such as 0.1", truncate(v[0]))
		}
		f.Sampling = x
	}
	return f, nil
}

// ParseCond parses name:op:value, e.g. status:>=:500 or
// path:contains:/api (the value may hold colons).
func ParseCond(s string) (Cond, error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Cond{}, fmtErr("%q: use name:op:value, e.g. status:>=:500 or path:contains:/api", truncate(s))
	}
	op, value, ok := strings.Cut(rest, ":")
	if !ok {
		return Cond{}, fmtErr("%q: use name:op:value, e.g. status:>=:500 (no value after the operator)", truncate(s))
	}
	if !validName(name) {
		return Cond{}, fmtErr("%q is not a field name: use index1, blob1..blob20, double1..double20, timestamp or a name of the dataset's schema", truncate(name))
	}
	if !slices.Contains(ops, op) {
		return Cond{}, fmtErr("unknown operator %q in %q: use one of %s", truncate(op), truncate(s), strings.Join(ops, " "))
	}
	if err := checkText(value); err != nil {
		return Cond{}, err
	}
	c := Cond{Name: name, Op: op, Value: value}
	if x, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil && !math.IsNaN(x) {
		c.num, c.isNum = x, true
	}
	switch op {
	case ">", "<", ">=", "<=":
		if !c.isNum {
			return Cond{}, fmtErr("%q: %s compares numbers and %q is not one", truncate(s), op, truncate(value))
		}
	}
	return c, nil
}

// String gives the condition back as name:op:value.
func (c Cond) String() string { return c.Name + ":" + c.Op + ":" + c.Value }

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

func checkText(s string) error {
	if len(s) > maxText {
		return fmtErr("%d bytes; the limit is %d", len(s), maxText)
	}
	if !utf8.ValidString(s) {
		return fmtErr("not valid UTF-8")
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 64; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// matcher is a filter compiled against one dataset's schema.
type matcher struct {
	dataset string
	schema  *point.Schema
	none    bool // the dataset is filtered out, or a named field is missing
	status  errorRule
	method  int // blob position of the method field; 0 when none
	conds   []cond
	search  string
	f       *Filter
}

type cond struct {
	Cond
	field point.Field
}

// compile resolves the filter's names in a dataset's schema (nil: none).
func (f *Filter) compile(dataset string, s *point.Schema) *matcher {
	m := &matcher{schema: s, f: f, search: f.Search}
	if len(f.Datasets) > 0 && !slices.Contains(f.Datasets, dataset) {
		m.none = true
		return m
	}
	if f.Status != "" {
		m.status = ruleFor(dataset, s)
	}
	if len(f.Methods) > 0 {
		fl, err := s.Resolve("method")
		if err != nil || fl.Kind != point.KindBlob {
			m.none = true
			return m
		}
		m.method = fl.Pos
	}
	for _, c := range f.Fields {
		fl, err := s.Resolve(c.Name)
		if err != nil {
			m.none = true
			return m
		}
		m.conds = append(m.conds, cond{Cond: c, field: fl})
	}
	return m
}

// match reports whether a point passes the filter.
func (m *matcher) match(p *point.Point) bool {
	if m.none {
		return false
	}
	if m.f.Status != "" && m.status.isError(p) != (m.f.Status == "error") {
		return false
	}
	if m.method > 0 {
		v := p.Blob(m.method)
		if !slices.ContainsFunc(m.f.Methods, func(x string) bool { return strings.EqualFold(x, v) }) {
			return false
		}
	}
	for i := range m.conds {
		if !m.conds[i].holds(p) {
			return false
		}
	}
	if m.search != "" {
		if !containsFold(p.Index, m.search) && !slices.ContainsFunc(p.Blobs, func(b string) bool { return containsFold(b, m.search) }) {
			return false
		}
	}
	return true
}

func (c *cond) holds(p *point.Point) bool {
	var s string
	var x float64
	numeric := true
	switch c.field.Kind {
	case point.KindIndex:
		s, numeric = p.Index, false
	case point.KindBlob:
		s, numeric = p.Blob(c.field.Pos), false
	case point.KindDouble:
		x = p.Double(c.field.Pos)
	case point.KindTimestamp:
		x = float64(p.Timestamp)
	case point.KindSampleInterval:
		x = float64(p.Weight())
	}
	if numeric {
		s = strconv.FormatFloat(x, 'f', -1, 64)
	}
	switch c.Op {
	case "contains":
		return containsFold(s, c.Value)
	case "!contains":
		return !containsFold(s, c.Value)
	}
	if !numeric {
		if c.Op == "=" || c.Op == "!=" {
			return (s == c.Value) == (c.Op == "=")
		}
		// An ordering of a string field compares it as a number.
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return false
		}
		x = v
	} else if !c.isNum {
		// A number is never equal to a value that is not one.
		return c.Op == "!="
	}
	switch c.Op {
	case "=":
		return x == c.num
	case "!=":
		return x != c.num
	case ">":
		return x > c.num
	case "<":
		return x < c.num
	case ">=":
		return x >= c.num
	case "<=":
		return x <= c.num
	}
	return false
}

// containsFold reports whether sub is in s, ASCII letters compared
// case-insensitively, without allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) == lower(sub[0]) && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// errorRule says how a dataset's points are told to be errors.
type errorRule struct {
	always   bool // an error-event dataset
	status   int  // double position of an HTTP status
	level    int  // blob position of a log level
	severity int  // double position of an OpenTelemetry severity number
	failed   int  // double position of a "failed" flag
}

// errorDatasets hold one point per error event.
var errorDatasets = []string{"errors", "client_errors"}

func ruleFor(dataset string, s *point.Schema) errorRule {
	var r errorRule
	if slices.Contains(errorDatasets, dataset) {
		r.always = true
		return r
	}
	pos := func(name string, kind point.FieldKind) int {
		if s == nil {
			return 0
		}
		f, err := s.Resolve(name)
		if err != nil || f.Kind != kind {
			return 0
		}
		return f.Pos
	}
	r.status = pos("status", point.KindDouble)
	if r.status == 0 {
		r.status = pos("http_status", point.KindDouble)
	}
	r.level = pos("level", point.KindBlob)
	r.severity = pos("severity", point.KindDouble)
	r.failed = pos("failed", point.KindDouble)
	return r
}

// errorLevels are the log levels at or above error.
var errorLevels = []string{"error", "err", "fatal", "critical", "crit", "alert", "emergency", "emerg", "panic"}

// isError reports whether a point is an error: an HTTP status of 400 or
// more where the dataset has one, otherwise an error event, a log level of
// error or above (or an OpenTelemetry severity of 17 or more), or a
// failed flag.
func (r errorRule) isError(p *point.Point) bool {
	if r.always {
		return true
	}
	if r.status > 0 {
		if st := p.Double(r.status); st > 0 {
			return st >= 400
		}
	}
	if r.level > 0 {
		if lv := p.Blob(r.level); lv != "" {
			return slices.ContainsFunc(errorLevels, func(x string) bool { return strings.EqualFold(x, lv) })
		}
	}
	if r.severity > 0 && p.Double(r.severity) >= 17 {
		return true
	}
	return r.failed > 0 && p.Double(r.failed) > 0
}

// IsError reports whether a point of a dataset is an error, as the
// status=error filter tells (see errorRule.isError).
func IsError(dataset string, s *point.Schema, p *point.Point) bool {
	return ruleFor(dataset, s).isError(p)
}
