package dashboard

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/query"
)

// Limits of a request.
const (
	// DefaultRange is the period of a request that names none.
	DefaultRange = 24 * time.Hour
	// DefaultTop is how many endpoints and queries the top-N lists hold.
	DefaultTop = 10
	// MaxTop bounds top.
	MaxTop = 100
	// MaxBuckets bounds the buckets of a series.
	MaxBuckets = query.MaxBuckets
)

// Request is what to measure.
type Request struct {
	Project int64
	// From and To bound the period [From, To) in Unix ms.
	From, To int64
	// Interval is the series bucket width in ms; 0 means no series.
	Interval int64
	// Top bounds the top-N lists (endpoints by errors, queries by p95).
	Top int
	// Source is query.SourceAuto, SourceRaw or SourceRollup: where the
	// figures must come from (see query.Sub.Source).
	Source string
}

// ParamError is a fault in the request's parameters: a handler answers it
// with 400.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return "metrics: " + e.Param + ": " + e.Msg }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

var params = []string{"range", "from", "to", "interval", "top", "source"}

// ParseRequest reads the query parameters of GET /api/v1/metrics:
// range (a duration back from now: 15m, 24h, 7d, 2w; default 24h) or from
// and to (RFC 3339 or Unix ms; to defaults to now), interval (a duration:
// series buckets), top (1–100, default 10). Every error is a *ParamError.
func ParseRequest(q url.Values, now time.Time) (Request, error) {
	for k := range q {
		if !slices.Contains(params, k) {
			return Request{}, paramErr(k, "unknown parameter; use %s", strings.Join(params, ", "))
		}
	}
	for _, k := range params {
		if len(q[k]) > 1 {
			return Request{}, paramErr(k, "is given %d times", len(q[k]))
		}
	}
	r := Request{Top: DefaultTop}
	nowMs := now.UnixMilli()
	_, hasFrom := q["from"]
	_, hasTo := q["to"]
	switch {
	case q.Has("range") && (hasFrom || hasTo):
		return Request{}, paramErr("range", "give either range or from/to, not both")
	case hasFrom:
		var err error
		if r.From, err = parseTime("from", q.Get("from")); err != nil {
			return Request{}, err
		}
		r.To = nowMs
		if hasTo {
			if r.To, err = parseTime("to", q.Get("to")); err != nil {
				return Request{}, err
			}
		}
		if r.From >= r.To {
			return Request{}, paramErr("from", "must be before to")
		}
	case hasTo:
		return Request{}, paramErr("to", "needs from")
	default:
		d := DefaultRange.Milliseconds()
		if q.Has("range") {
			var err error
			if d, err = parseDuration("range", q.Get("range")); err != nil {
				return Request{}, err
			}
		}
		r.From, r.To = query.RelativeRange(nowMs, d)
	}
	if r.To-r.From > query.MaxRange.Milliseconds() {
		return Request{}, paramErr("range", "is longer than %d days", int(query.MaxRange.Hours()/24))
	}
	if r.From-(r.To-r.From) < 0 {
		return Request{}, paramErr("from", "the period and the one before it must start after 1970")
	}
	if q.Has("interval") {
		iv, err := parseDuration("interval", q.Get("interval"))
		if err != nil {
			return Request{}, err
		}
		if iv < query.MinInterval.Milliseconds() {
			return Request{}, paramErr("interval", "must be at least 1s")
		}
		if n := bucketCount(r.From, r.To, iv); n > MaxBuckets {
			return Request{}, paramErr("interval", "gives %d buckets over the period; the limit is %d: widen it", n, MaxBuckets)
		}
		r.Interval = iv
	}
	switch src := q.Get("source"); src {
	case "", "auto":
	case query.SourceRaw, query.SourceRollup:
		r.Source = src
	default:
		return Request{}, paramErr("source", "must be auto (the default: rollups where they cover the period), raw or rollup")
	}
	if q.Has("top") {
		n, err := strconv.Atoi(q.Get("top"))
		if err != nil || n < 1 || n > MaxTop {
			return Request{}, paramErr("top", "must be a whole number from 1 to %d", MaxTop)
		}
		r.Top = n
	}
	return r, nil
}

// bucketCount is the number of buckets of width iv, aligned to multiples of
// iv, that [from, to) touches.
func bucketCount(from, to, iv int64) int64 {
	first := floorDiv(from, iv) * iv
	return (to - first + iv - 1) / iv
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// parseTime reads RFC 3339 or Unix ms.
func parseTime(param, s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 253402300799999 {
			return 0, paramErr(param, "must be between 1970 and 9999")
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, paramErr(param, "%q is neither an RFC 3339 time nor Unix milliseconds", clip(s))
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return 0, paramErr(param, "must be between 1970 and 9999")
	}
	return t.UnixMilli(), nil
}

// parseDuration reads 90s, 15m, 24h, 7d, 2w or combinations (1h30m) into ms.
func parseDuration(param, s string) (int64, error) {
	bad := paramErr(param, "%q is not a duration: write a whole number and a unit (ms, s, m, h, d, w), e.g. 15m, 24h, 7d", clip(s))
	if s == "" {
		return 0, bad
	}
	var total int64
	for rest := s; rest != ""; {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > 9 {
			return 0, bad
		}
		num, _ := strconv.ParseInt(rest[:n], 10, 64)
		rest = rest[n:]
		var unit int64
		switch {
		case strings.HasPrefix(rest, "ms"):
			unit, rest = 1, rest[2:]
		case strings.HasPrefix(rest, "s"):
			unit, rest = 1000, rest[1:]
		case strings.HasPrefix(rest, "m"):
			unit, rest = 60_000, rest[1:]
		case strings.HasPrefix(rest, "h"):
			unit, rest = 3_600_000, rest[1:]
		case strings.HasPrefix(rest, "d"):
			unit, rest = 86_400_000, rest[1:]
		case strings.HasPrefix(rest, "w"):
			unit, rest = 7*86_400_000, rest[1:]
		default:
			return 0, bad
		}
		total += num * unit
		if total > query.MaxRange.Milliseconds() {
			return 0, paramErr(param, "%q is longer than %d days", clip(s), int(query.MaxRange.Hours()/24))
		}
	}
	if total <= 0 {
		return 0, paramErr(param, "must be longer than zero")
	}
	return total, nil
}

// formatInterval writes ms in the largest unit that divides it.
func formatInterval(ms int64) string {
	for _, u := range []struct {
		name string
		ms   int64
	}{{"w", 7 * 86_400_000}, {"d", 86_400_000}, {"h", 3_600_000}, {"m", 60_000}, {"s", 1000}} {
		if ms%u.ms == 0 {
			return strconv.FormatInt(ms/u.ms, 10) + u.name
		}
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// finite reports whether v is a finite number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// CheckPeriod checks the period, top and source of a request built by
// hand (GET /api/v1/web and /api/v1/insights): from before to, at most
// query.MaxRange long, the period before it after 1970, top within 0 to
// maxTop, a known source. nil: all good.
func CheckPeriod(from, to int64, top, maxTop int, source string) *ParamError {
	switch {
	case from >= to:
		return &ParamError{Param: "from", Msg: "must be before to"}
	case to-from > query.MaxRange.Milliseconds():
		return &ParamError{Param: "range", Msg: fmt.Sprintf("is longer than %d days", int(query.MaxRange.Hours()/24))}
	case from-(to-from) < 0:
		return &ParamError{Param: "from", Msg: "the period and the one before it must start after 1970"}
	case top < 0 || top > maxTop:
		return &ParamError{Param: "top", Msg: fmt.Sprintf("must be a whole number from 1 to %d", maxTop)}
	}
	switch source {
	case query.SourceAuto, query.SourceRaw, query.SourceRollup:
	default:
		return &ParamError{Param: "source", Msg: "must be auto (the default: rollups where they cover the period), raw or rollup"}
	}
	return nil
}
