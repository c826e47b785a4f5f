package query

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// Limits and defaults of a query request.
const (
	// DefaultRange is the range of a request that names none.
	DefaultRange = 24 * time.Hour
	// MaxRange is the longest range.
	MaxRange = 400 * 24 * time.Hour
	// MinInterval is the narrowest time bucket.
	MinInterval = time.Second
	// MaxBuckets bounds range / interval.
	MaxBuckets = 10000
	// MaxGroupBy bounds the groupBy fields.
	MaxGroupBy = 8
	// MaxAggregations bounds the aggregations of a request.
	MaxAggregations = 64
	// MaxQuantiles bounds the qs of one quantiles aggregation.
	MaxQuantiles = 16
	// MaxConditions bounds the conditions of one filter.
	MaxConditions = 64
	// MaxInValues bounds the values of one in or not_in condition.
	MaxInValues = 1000
	// DefaultLimit is the row limit of a request that names none.
	DefaultLimit = 1000
	// MaxLimit is the largest row limit.
	MaxLimit = 100000
	// MaxGroups bounds the rows a backend may return for one Sub.
	MaxGroups = 100000

	maxNameLen = 64              // aggregation names
	maxTimeMs  = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// Query is a parsed, validated and resolved request. Parse builds it; Engine
// executes it.
type Query struct {
	// Dataset is the request's top-level dataset: "" when every aggregation
	// names its own.
	Dataset string
	// From and To bound the time range [From, To) in Unix ms.
	From, To int64
	// Interval is the time bucket width in ms; 0 means no buckets.
	Interval int64
	// GroupBy holds the groupBy names as written; they are the output names.
	GroupBy []string
	// Subs holds one Sub per dataset read, the top-level dataset's first. The
	// top-level filter is Subs[0].Filter when Subs[0].Dataset == Dataset.
	// Project is left 0 for the engine to set.
	Subs []Sub
	// Columns lists the aggregations in request order.
	Columns []Column
	// OrderBy holds the requested order; empty means the default order.
	OrderBy []Order
	// Limit is the most rows the answer holds.
	Limit int
}

// Column is one named aggregation: Subs[Sub].Aggs[Agg] of its Query.
type Column struct {
	Name string
	Sub  int
	Agg  int
}

// Order is one sort key.
type Order struct {
	// Key is "t", a groupBy name, an aggregation name, or, for a quantiles
	// aggregation, "name.key" such as "latency.p95".
	Key  string
	Desc bool
}

// topKeys are the keys a request may hold.
var topKeys = []string{"dataset", "range", "timeRange", "filter", "groupBy", "interval", "aggregations", "orderBy", "limit", "source"}

// Parse parses and validates a request body and resolves its field names
// through schemas, which returns a dataset's schema or nil. now anchors
// relative ranges. Every error it returns is an *Error.
func Parse(body []byte, now time.Time, schemas func(dataset string) *point.Schema) (*Query, error) {
	root, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	if root.kind != jObj {
		return nil, errorf("", "the body must be a JSON object, got %s", root.describe())
	}
	top, err := members(root, "", topKeys...)
	if err != nil {
		return nil, err
	}
	q := &Query{}
	if err := parseHeader(q, top, now); err != nil {
		return nil, err
	}
	aggs, err := parseAggregations(top, q.GroupBy)
	if err != nil {
		return nil, err
	}
	var filter *jval
	if f, ok := top["filter"]; ok {
		filter = &f
	}
	r := resolver{schemas: schemas, q: q}
	if err := r.resolve(aggs, filter); err != nil {
		return nil, err
	}
	if q.OrderBy, err = parseOrderBy(top, q); err != nil {
		return nil, err
	}
	if q.Limit, err = parseLimit(top); err != nil {
		return nil, err
	}
	if v, ok := top["source"]; ok {
		src := SourceAuto
		switch {
		case v.kind == jStr && v.s == "auto":
		case v.kind == jStr && (v.s == SourceRaw || v.s == SourceRollup):
			src = v.s
		default:
			return nil, errorf("source", "must be \"auto\" (the default: rollups when they cover the query), \"raw\" or \"rollup\", got %s", v.describe())
		}
		for i := range q.Subs {
			q.Subs[i].Source = src
		}
	}
	return q, nil
}

// parseHeader parses dataset, range, interval and groupBy.
func parseHeader(q *Query, top map[string]jval, now time.Time) error {
	if v, ok := top["dataset"]; ok {
		if v.kind != jStr {
			return errorf("dataset", "must be a string, got %s", v.describe())
		}
		if err := point.ValidateDatasetName(v.s); err != nil {
			return errorf("dataset", "%v", err)
		}
		q.Dataset = v.s
	}
	var err error
	if q.From, q.To, err = parseRange(top, now); err != nil {
		return err
	}
	if q.Interval, err = parseInterval(top, q.From, q.To); err != nil {
		return err
	}
	q.GroupBy, err = parseGroupBy(top)
	return err
}

// parseRange parses range (or its synonym timeRange) into [from, to) in ms.
func parseRange(top map[string]jval, now time.Time) (from, to int64, err error) {
	part := "range"
	v, ok := top["range"]
	if tv, tok := top["timeRange"]; tok {
		if ok {
			return 0, 0, errorf("timeRange", "is a synonym of range; send only one of them")
		}
		part, v, ok = "timeRange", tv, true
	}
	nowMs := now.UnixMilli()
	if !ok {
		from, to := RelativeRange(nowMs, DefaultRange.Milliseconds())
		return from, to, nil
	}
	switch v.kind {
	case jStr:
		d, err := parseDuration(v.s, part)
		if err != nil {
			return 0, 0, err
		}
		if d > MaxRange.Milliseconds() {
			return 0, 0, errorf(part, "%s is longer than the longest range, %s", v.s, formatDuration(MaxRange.Milliseconds()))
		}
		from, to := RelativeRange(nowMs, d)
		return from, to, nil
	case jObj:
		return parseAbsRange(v, part, nowMs)
	}
	return 0, 0, errorf(part, "must be a duration such as \"24h\" or an object {\"from\": ..., \"to\": ...}, got %s", v.describe())
}

// RelativeRange returns the range of length d (ms) that ends now:
// exactly [now − d, now). Rollups answer its whole buckets and raw points
// its edges.
func RelativeRange(nowMs, d int64) (from, to int64) {
	return nowMs - d, nowMs
}

func parseAbsRange(v jval, part string, nowMs int64) (from, to int64, err error) {
	m, err := members(v, part, "from", "to")
	if err != nil {
		return 0, 0, err
	}
	fv, ok := m["from"]
	if !ok {
		return 0, 0, errorf(join(part, "from"), "is required")
	}
	if from, err = parseTime(fv, join(part, "from")); err != nil {
		return 0, 0, err
	}
	to = nowMs
	if tv, ok := m["to"]; ok {
		if to, err = parseTime(tv, join(part, "to")); err != nil {
			return 0, 0, err
		}
	}
	if from >= to {
		return 0, 0, errorf(part, "from (%s) must be before to (%s)", formatMs(from), formatMs(to))
	}
	if to-from > MaxRange.Milliseconds() {
		return 0, 0, errorf(part, "spans %s; the longest range is %s", formatDuration(to-from), formatDuration(MaxRange.Milliseconds()))
	}
	return from, to, nil
}

// parseTime reads an RFC 3339 string or a number of Unix ms.
func parseTime(v jval, part string) (int64, error) {
	var ms float64
	switch v.kind {
	case jStr:
		t, err := time.Parse(time.RFC3339Nano, v.s)
		if err != nil {
			return 0, errorf(part, "%q is not an RFC 3339 time such as 2024-05-01T00:00:00Z", clip(v.s, 64))
		}
		ms = float64(t.UnixMilli())
	case jNum:
		f, ok := v.number()
		if !ok {
			return 0, errorf(part, "%s is not a finite number", clip(v.s, 64))
		}
		ms = math.Floor(f)
	default:
		return 0, errorf(part, "must be an RFC 3339 string or Unix milliseconds, got %s", v.describe())
	}
	if ms < 0 || ms > maxTimeMs {
		return 0, errorf(part, "must be between 1970-01-01 and 9999-12-31")
	}
	return int64(ms), nil
}

// parseInterval parses the bucket width and checks the bucket count.
func parseInterval(top map[string]jval, from, to int64) (int64, error) {
	v, ok := top["interval"]
	if !ok {
		return 0, nil
	}
	if v.kind != jStr {
		return 0, errorf("interval", "must be a duration string such as \"5m\", got %s", v.describe())
	}
	iv, err := parseDuration(v.s, "interval")
	if err != nil {
		return 0, err
	}
	if iv < MinInterval.Milliseconds() {
		return 0, errorf("interval", "%s is shorter than the shortest interval, 1s", v.s)
	}
	if iv > MaxRange.Milliseconds() {
		return 0, errorf("interval", "%s is longer than the longest range, %s", v.s, formatDuration(MaxRange.Milliseconds()))
	}
	if n := buckets(from, to, iv); n > MaxBuckets {
		return 0, errorf("interval", "interval %s over range %s gives %d buckets; the limit is %d: widen the interval or shorten the range",
			v.s, formatDuration(to-from), n, MaxBuckets)
	}
	return iv, nil
}

// buckets returns ceil((to-from)/interval).
func buckets(from, to, interval int64) int64 {
	return (to - from + interval - 1) / interval
}

// parseGroupBy parses an array of names (or one name).
func parseGroupBy(top map[string]jval) ([]string, error) {
	v, ok := top["groupBy"]
	if !ok {
		return nil, nil
	}
	items := []jval{v}
	if v.kind == jArr {
		items = v.arr
	}
	if len(items) > MaxGroupBy {
		return nil, errorf("groupBy", "has %d fields; the limit is %d", len(items), MaxGroupBy)
	}
	var names []string
	for i, it := range items {
		part := index("groupBy", i)
		if v.kind != jArr {
			part = "groupBy"
		}
		if it.kind != jStr || it.s == "" {
			return nil, errorf(part, "must be a field name, got %s", describeValue(it))
		}
		if it.s == "t" {
			return nil, errorf(part, "\"t\" is reserved for the time bucket; use interval to group by time")
		}
		if contains(names, it.s) {
			return nil, errorf(part, "%q repeats", clip(it.s, 64))
		}
		names = append(names, it.s)
	}
	return names, nil
}

// parseOrderBy parses an array of {"by", "desc"} objects or "name"/"-name"
// strings, or one of them alone.
func parseOrderBy(top map[string]jval, q *Query) ([]Order, error) {
	v, ok := top["orderBy"]
	if !ok {
		return nil, nil
	}
	items, single := []jval{v}, true
	if v.kind == jArr {
		items, single = v.arr, false
	}
	var out []Order
	for i, it := range items {
		part := "orderBy"
		if !single {
			part = index(part, i)
		}
		o, err := parseOrder(it, part)
		if err != nil {
			return nil, err
		}
		if _, err := q.target(o.Key); err != nil {
			return nil, errorf(part, "%v", err)
		}
		for _, prev := range out {
			if prev.Key == o.Key {
				return nil, errorf(part, "%q repeats", o.Key)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func parseOrder(v jval, part string) (Order, error) {
	switch v.kind {
	case jStr:
		key, desc := v.s, false
		if rest, ok := strings.CutPrefix(key, "-"); ok {
			key, desc = rest, true
		} else if rest, ok := strings.CutPrefix(key, "+"); ok {
			key = rest
		}
		return Order{Key: key, Desc: desc}, nil
	case jObj:
		m, err := members(v, part, "by", "desc")
		if err != nil {
			return Order{}, err
		}
		by, ok := m["by"]
		if !ok || by.kind != jStr {
			return Order{}, errorf(join(part, "by"), "must be the name of an aggregation, a groupBy field or \"t\"")
		}
		o := Order{Key: by.s}
		if d, ok := m["desc"]; ok {
			if d.kind != jBool {
				return Order{}, errorf(join(part, "desc"), "must be true or false, got %s", d.describe())
			}
			o.Desc = d.b
		}
		return o, nil
	}
	return Order{}, errorf(part, "must be a name such as \"-requestCount\" or an object {\"by\": ..., \"desc\": ...}, got %s", v.describe())
}

func parseLimit(top map[string]jval) (int, error) {
	v, ok := top["limit"]
	if !ok {
		return DefaultLimit, nil
	}
	f, isNum := v.number()
	if !isNum || f != math.Trunc(f) {
		return 0, errorf("limit", "must be a whole number, got %s", describeValue(v))
	}
	if f < 1 || f > MaxLimit {
		return 0, errorf("limit", "must be between 1 and %d, got %s", MaxLimit, v.s)
	}
	return int(f), nil
}

// describeValue shows a scalar's text or names a value's kind.
func describeValue(v jval) string {
	if v.kind == jNum {
		return clip(v.s, 64)
	}
	if v.kind == jStr {
		return strconv.Quote(clip(v.s, 64))
	}
	return v.describe()
}

// parseDuration reads durations such as 30s, 15m, 24h, 7d, 2w or 1h30m into ms.
func parseDuration(s, part string) (int64, error) {
	bad := func() error {
		return errorf(part, "%q is not a duration: write a whole number and a unit (ms, s, m, h, d, w), e.g. 15m, 24h, 7d", clip(s, 64))
	}
	if s == "" {
		return 0, bad()
	}
	var total int64
	for rest := s; rest != ""; {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > 9 {
			return 0, bad()
		}
		num, _ := strconv.ParseInt(rest[:n], 10, 64)
		unit, size := durationUnit(rest[n:])
		if size == 0 {
			return 0, bad()
		}
		total += num * unit
		if total > 100*MaxRange.Milliseconds() {
			return 0, errorf(part, "%q is too long", clip(s, 64))
		}
		rest = rest[n+size:]
	}
	if total == 0 {
		return 0, errorf(part, "must be longer than zero")
	}
	return total, nil
}

// durationUnit returns the ms in the unit that starts s and its length.
func durationUnit(s string) (ms int64, size int) {
	if strings.HasPrefix(s, "ms") {
		return 1, 2
	}
	if s == "" {
		return 0, 0
	}
	switch s[0] {
	case 's':
		return 1000, 1
	case 'm':
		return 60 * 1000, 1
	case 'h':
		return 3600 * 1000, 1
	case 'd':
		return 24 * 3600 * 1000, 1
	case 'w':
		return 7 * 24 * 3600 * 1000, 1
	}
	return 0, 0
}

// formatDuration writes ms in the largest unit that divides it, using days
// and weeks only from two of them on (24h, not 1d).
func formatDuration(ms int64) string {
	for _, u := range []struct {
		name string
		ms   int64
	}{{"w", 7 * 24 * 3600 * 1000}, {"d", 24 * 3600 * 1000}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}} {
		if ms%u.ms == 0 && (ms >= 2*u.ms || u.ms <= 3600*1000) {
			return strconv.FormatInt(ms/u.ms, 10) + u.name
		}
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// formatMs writes Unix ms as RFC 3339 in UTC.
func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
