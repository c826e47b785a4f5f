package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/duration"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Limits of a rule, named in the errors.
const (
	MaxNameChars  = 100
	MaxQueryBytes = 64 << 10
	MaxTargets    = 10
	MaxURLBytes   = 2048
	MinEvery      = time.Second
	MaxEvery      = 24 * time.Hour
	MaxFor        = 30 * 24 * time.Hour
	// RangeToday is the query range that starts at the rule's midnight (in
	// its timezone) and ends now.
	RangeToday = "today"
)

// What a rule does when its query has no value (an average, a quantile
// or a percentage over no points).
const (
	NoDataOK     = "ok"     // no breach (the default)
	NoDataFiring = "firing" // a breach: pending, then firing after for
	NoDataKeep   = "keep"   // the state stays as it is
)

// Condition compares the query's value with Value.
type Condition struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// Holds reports whether v satisfies the condition.
func (c Condition) Holds(v float64) bool {
	switch c.Op {
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value
	}
	return false
}

// Target is where a rule's notifications go: Type "webhook" (Alidade's
// JSON body) or "slack" (a Slack incoming webhook's {"text", "blocks"}).
type Target struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Spec is a rule as written by its owner, validated and normalized: For
// and Every as written, NoData and Timezone filled in, Condition.Op one of
// > >= < <= == !=.
type Spec struct {
	Name      string          `json:"name"`
	Query     json.RawMessage `json:"query"`
	Condition Condition       `json:"condition"`
	For       string          `json:"for"`
	Every     string          `json:"every"`
	NoData    string          `json:"noData"`
	Timezone  string          `json:"timezone"`
	Notify    []Target        `json:"notify"`
}

var specKeys = []string{"name", "query", "condition", "for", "every", "noData", "timezone", "notify"}

// Decode reads and validates a rule body. schemas resolves the query's
// field names in the rule's project; every error is a *FieldError. now
// anchors the query's range for validation only.
func Decode(body []byte, now time.Time, schemas func(dataset string) *point.Schema) (*Spec, error) {
	sp, err := decodeSpec(body)
	if err != nil {
		return nil, err
	}
	if _, err := sp.Parse(now, schemas); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fieldErr("query", "%v", err)
	}
	return sp, nil
}

// decodeSpec reads and checks everything but the query's names.
func decodeSpec(body []byte) (*Spec, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, fieldErr("", "the body must be a JSON object: {\"name\", \"query\", \"condition\", \"for\", \"every\", \"notify\"}")
	}
	if dec.More() {
		return nil, fieldErr("", "the body holds more than one JSON value")
	}
	for k := range top {
		if !contains(specKeys, k) {
			return nil, fieldErr(k, "is not a rule field; use %s", strings.Join(specKeys, ", "))
		}
	}
	sp := &Spec{}
	if err := sp.decodeName(top); err != nil {
		return nil, err
	}
	if err := sp.decodeQuery(top); err != nil {
		return nil, err
	}
	if err := sp.decodeCondition(top); err != nil {
		return nil, err
	}
	var err error
	if sp.For, _, err = decodeDuration(top, "for", "0s", 0, MaxFor); err != nil {
		return nil, err
	}
	if sp.Every, _, err = decodeDuration(top, "every", "1m", MinEvery, MaxEvery); err != nil {
		return nil, err
	}
	if err := sp.decodeOptions(top); err != nil {
		return nil, err
	}
	if err := sp.decodeNotify(top); err != nil {
		return nil, err
	}
	return sp, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (sp *Spec) decodeName(top map[string]json.RawMessage) error {
	raw, ok := top["name"]
	var name string
	if !ok || json.Unmarshal(raw, &name) != nil {
		return fieldErr("name", "is required: a string of 1 to %d characters", MaxNameChars)
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameChars || !utf8.ValidString(name) {
		return fieldErr("name", "has %d characters; it must have 1 to %d", n, MaxNameChars)
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		return fieldErr("name", "has a control character at byte %d; use one line of text", i)
	}
	sp.Name = name
	return nil
}

func (sp *Spec) decodeQuery(top map[string]json.RawMessage) error {
	raw, ok := top["query"]
	if !ok {
		return fieldErr("query", "is required: a structured query with one aggregation, e.g. {\"dataset\":\"requests\",\"range\":\"5m\",\"aggregations\":{\"n\":{\"type\":\"count\"}}}")
	}
	if len(raw) > MaxQueryBytes {
		return fieldErr("query", "is %d bytes; the limit is %d", len(raw), MaxQueryBytes)
	}
	var q map[string]json.RawMessage
	if err := json.Unmarshal(raw, &q); err != nil || q == nil {
		return fieldErr("query", "must be a structured query object, as POST /api/v1/query takes")
	}
	rng, hasRange := q["range"]
	if tr, ok := q["timeRange"]; ok {
		if hasRange {
			return fieldErr("query.timeRange", "is a synonym of range; send only one of them")
		}
		rng, hasRange = tr, true
		delete(q, "timeRange")
		q["range"] = tr
	}
	var s string
	if !hasRange || json.Unmarshal(rng, &s) != nil {
		return fieldErr("query.range", "is required and must be a duration such as \"5m\" (each evaluation reads [now − 5m, now)) or %q (since midnight in the rule's timezone)", RangeToday)
	}
	if _, ok := q["interval"]; ok {
		return fieldErr("query.interval", "an alert rule's query has no time buckets: its range is the window each evaluation reads")
	}
	b, err := json.Marshal(q)
	if err != nil {
		return fieldErr("query", "%v", err)
	}
	sp.Query = b
	return nil
}

func (sp *Spec) decodeCondition(top map[string]json.RawMessage) error {
	raw, ok := top["condition"]
	if !ok {
		return fieldErr("condition", "is required, e.g. {\"op\": \">\", \"value\": 5}")
	}
	var c struct {
		Op    *string          `json:"op"`
		Value *json.RawMessage `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return fieldErr("condition", "must be an object {\"op\": \">\", \"value\": 5}: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if c.Op == nil {
		return fieldErr("condition.op", "is required: one of > >= < <= == !=")
	}
	op := strings.TrimSpace(*c.Op)
	if op == "=" {
		op = "=="
	}
	if !contains([]string{">", ">=", "<", "<=", "==", "!="}, op) {
		return fieldErr("condition.op", "%q is not an operator: use one of > >= < <= == !=", clip(*c.Op))
	}
	if c.Value == nil {
		return fieldErr("condition.value", "is required: a number")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(*c.Value)), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return fieldErr("condition.value", "must be a finite number, got %s", clip(string(*c.Value)))
	}
	sp.Condition = Condition{Op: op, Value: v}
	return nil
}

// decodeDuration reads a duration string (Go's syntax, plus d for days)
// between lo and hi, or def when absent.
func decodeDuration(top map[string]json.RawMessage, key, def string, lo, hi time.Duration) (string, time.Duration, error) {
	raw, ok := top[key]
	s := def
	if ok {
		if json.Unmarshal(raw, &s) != nil {
			return "", 0, fieldErr(key, "must be a duration string such as \"30s\", \"2m\" or \"1h\", got %s", clip(string(raw)))
		}
		s = strings.TrimSpace(s)
	}
	d, err := duration.Parse(s)
	if err != nil {
		return "", 0, fieldErr(key, "%q is not a duration: write e.g. \"30s\", \"2m\", \"1h30m\" or \"1d\"", clip(s))
	}
	if d < lo || d > hi {
		return "", 0, fieldErr(key, "is %s; it must be from %s to %s", s, duration.Format(lo), duration.Format(hi))
	}
	return s, d, nil
}

func (sp *Spec) decodeOptions(top map[string]json.RawMessage) error {
	sp.NoData = NoDataOK
	if raw, ok := top["noData"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || !contains([]string{NoDataOK, NoDataFiring, NoDataKeep}, s) {
			return fieldErr("noData", "must be %q (no value is no breach, the default), %q (no value is a breach) or %q (the state stays), got %s",
				NoDataOK, NoDataFiring, NoDataKeep, clip(string(raw)))
		}
		sp.NoData = s
	}
	sp.Timezone = "UTC"
	if raw, ok := top["timezone"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return fieldErr("timezone", "must be an IANA time zone name such as \"Europe/Paris\", got %s", clip(string(raw)))
		}
		if _, err := time.LoadLocation(s); err != nil || strings.EqualFold(s, "local") {
			return fieldErr("timezone", "%q is not an IANA time zone name such as \"Europe/Paris\" or \"UTC\"", clip(s))
		}
		sp.Timezone = s
	}
	return nil
}

func (sp *Spec) decodeNotify(top map[string]json.RawMessage) error {
	sp.Notify = []Target{}
	raw, ok := top["notify"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return fieldErr("notify", "must be an array of {\"type\": \"webhook\"|\"slack\", \"url\": \"https://…\"}")
	}
	if len(items) > MaxTargets {
		return fieldErr("notify", "has %d targets; the limit is %d", len(items), MaxTargets)
	}
	for i, it := range items {
		part := "notify[" + strconv.Itoa(i) + "]"
		var t struct {
			Type *string `json:"type"`
			URL  *string `json:"url"`
		}
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return fieldErr(part, "must be {\"type\": \"webhook\"|\"slack\", \"url\": \"https://…\"}: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		if t.Type == nil || (*t.Type != "webhook" && *t.Type != "slack") {
			got := "nothing"
			if t.Type != nil {
				got = strconv.Quote(clip(*t.Type))
			}
			return fieldErr(part+".type", "must be \"webhook\" or \"slack\", got %s", got)
		}
		if t.URL == nil {
			return fieldErr(part+".url", "is required")
		}
		if err := CheckURL(*t.URL); err != nil {
			return fieldErr(part+".url", "%v", err)
		}
		sp.Notify = append(sp.Notify, Target{Type: *t.Type, URL: *t.URL})
	}
	return nil
}

// CheckURL accepts an absolute http or https URL with a host.
func CheckURL(s string) error {
	if len(s) > MaxURLBytes {
		return errors.New("is longer than 2048 bytes")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("has no host")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}

// Plan is a rule's query ready to run at one instant.
type Plan struct {
	Query *query.Query
	// Agg is the aggregation's type (count, sum and uniq are 0 over no
	// points; the others have no value).
	Agg query.AggType
	// Column is the aggregation's name.
	Column string
}

// Parse builds the rule's query for an evaluation at now: its range
// becomes [now − D, now), or [midnight in the rule's timezone, now) for
// "today". schemas may be nil (positions only). A fault in the query is a
// *FieldError under "query".
func (sp *Spec) Parse(now time.Time, schemas func(dataset string) *point.Schema) (*Plan, error) {
	body, err := sp.queryAt(now)
	if err != nil {
		return nil, err
	}
	q, err := query.Parse(body, now, schemas)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			f := "query"
			if qe.Part != "" {
				f += "." + qe.Part
			}
			return nil, &FieldError{Field: f, Msg: qe.Msg}
		}
		return nil, fieldErr("query", "%v", err)
	}
	if len(q.Columns) != 1 {
		return nil, fieldErr("query.aggregations", "an alert rule's query has exactly one aggregation, this one has %d", len(q.Columns))
	}
	c := q.Columns[0]
	agg := q.Subs[c.Sub].Aggs[c.Agg].Type
	if agg == query.AggQuantiles {
		return nil, fieldErr("query.aggregations."+c.Name+".type", "quantiles gives several values: use \"quantile\" with one q")
	}
	return &Plan{Query: q, Agg: agg, Column: c.Name}, nil
}

// queryAt returns the query with "today" replaced by the day's range.
func (sp *Spec) queryAt(now time.Time) ([]byte, error) {
	var q map[string]json.RawMessage
	if err := json.Unmarshal(sp.Query, &q); err != nil {
		return nil, fieldErr("query", "must be a structured query object")
	}
	var rng string
	if json.Unmarshal(q["range"], &rng) != nil || rng != RangeToday {
		return sp.Query, nil
	}
	from, to := TodayRange(now, sp.location())
	b, _ := json.Marshal(map[string]int64{"from": from, "to": to})
	q["range"] = b
	return json.Marshal(q)
}

func (sp *Spec) location() *time.Location {
	loc, err := time.LoadLocation(sp.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// TodayRange returns [midnight of now's day in loc, now) in Unix ms; at
// midnight itself, the range is its first millisecond. On a day when
// clocks change, midnight is the day's first instant, which may be 23 or
// 25 hours before the next one.
func TodayRange(now time.Time, loc *time.Location) (from, to int64) {
	t := now.In(loc)
	y, m, d := t.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	// A zone whose clocks skip midnight starts the day at the first
	// instant after it: time.Date normalizes it forward or back; keep it
	// on the same day and not after now.
	if start.After(now) {
		start = now
	}
	from, to = start.UnixMilli(), now.UnixMilli()
	if to <= from {
		to = from + 1
	}
	return from, to
}

// Durations returns the parsed for and every.
func (sp *Spec) Durations() (forD, every time.Duration) {
	forD, _ = duration.Parse(sp.For)
	every, _ = duration.Parse(sp.Every)
	if every < MinEvery {
		every = MinEvery
	}
	return forD, every
}
