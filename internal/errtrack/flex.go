package errtrack

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes real Sentry SDKs send differ by SDK and by age: values
// as strings or numbers, lists bare or wrapped in {"values": […]}, tags as
// an object or a list of pairs, timestamps as RFC 3339 or epoch seconds.
// The types below read every shape into one; none of them fails on a shape
// it does not know (it reads as empty), so that one odd field never loses
// an event.

// flexString reads a JSON string, number or boolean as a string; null,
// objects and arrays read as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return nil
		}
		*s = flexString(v)
	case 't', 'f':
		*s = flexString(b)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		*s = flexString(b)
	default:
		*s = ""
	}
	return nil
}

// flexTime reads an RFC 3339 string (with or without a zone: none means
// UTC), or a number or numeric string of seconds since the epoch, into
// Unix milliseconds; anything else reads as 0.
type flexTime int64

func (t *flexTime) UnmarshalJSON(b []byte) error {
	*t = flexTime(parseTime(b))
	return nil
}

func parseTime(b []byte) int64 {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return 0
		}
		return parseTimeString(s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0
	}
	return secondsToMs(f)
}

func parseTimeString(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return secondsToMs(f)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.UnixMilli()
		}
	}
	return 0
}

func secondsToMs(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e11 {
		return 0
	}
	return int64(math.Round(f * 1000))
}

// flexNumber reads a JSON number or numeric string; anything else is 0.
type flexNumber float64

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = []byte(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		*n = 0
		return nil
	}
	*n = flexNumber(f)
	return nil
}

// flexBool reads true, false, "true", "false", 1, 0; anything else is
// unset (nil).
type flexBool struct{ v *bool }

func (x *flexBool) UnmarshalJSON(b []byte) error {
	var v bool
	switch strings.Trim(string(bytes.TrimSpace(b)), `"`) {
	case "true", "1", "yes":
		v = true
	case "false", "0", "no":
	default:
		x.v = nil
		return nil
	}
	x.v = &v
	return nil
}

// valuesOf reads a list either bare ([…]) or wrapped ({"values": […]});
// anything else reads as an empty list. Items that do not decode are
// skipped, not fatal.
type valuesOf[T any] []T

func (l *valuesOf[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	if b[0] == '{' {
		var w struct {
			Values json.RawMessage `json:"values"`
		}
		if json.Unmarshal(b, &w) != nil || len(w.Values) == 0 {
			*l = nil
			return nil
		}
		b = bytes.TrimSpace(w.Values)
	}
	if len(b) == 0 || b[0] != '[' {
		*l = nil
		return nil
	}
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		*l = nil
		return nil
	}
	out := make([]T, 0, len(raw))
	for _, r := range raw {
		var v T
		if json.Unmarshal(r, &v) == nil {
			out = append(out, v)
		}
	}
	*l = out
	return nil
}

// Pair is a key and its value, as tags and headers are kept (in the order
// sent).
type Pair [2]string

// pairs reads an object {"k": v} or a list of pairs [["k", v], …] (tags,
// headers, query strings); values are read as flexString. An object's
// pairs are sorted by key, since JSON objects have no order.
type pairs []Pair

func (p *pairs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*p = nil
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '{':
		var m map[string]flexString
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		out := make(pairs, 0, len(m))
		for k, v := range m {
			out = append(out, Pair{k, string(v)})
		}
		sortPairs(out)
		*p = out
	case '[':
		var raw []json.RawMessage
		if json.Unmarshal(b, &raw) != nil {
			return nil
		}
		out := make(pairs, 0, len(raw))
		for _, r := range raw {
			var kv []flexString
			if json.Unmarshal(r, &kv) != nil || len(kv) != 2 {
				continue
			}
			out = append(out, Pair{string(kv[0]), string(kv[1])})
		}
		*p = out
	}
	return nil
}

func sortPairs(p pairs) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j][0] < p[j-1][0]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// get returns the value of the first pair named k (case-insensitively).
func (p pairs) get(k string) string {
	for _, kv := range p {
		if strings.EqualFold(kv[0], k) {
			return kv[1]
		}
	}
	return ""
}

// rawObject keeps a JSON object as it was sent; anything that is not an
// object reads as absent.
type rawObject json.RawMessage

func (r *rawObject) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

func (r rawObject) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// rawValue keeps any JSON value as it was sent.
type rawValue json.RawMessage

func (r *rawValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

func (r rawValue) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// obj reads a JSON object into a T; anything else, or an object that does
// not decode, reads as absent (nil).
type obj[T any] struct{ v *T }

func (o *obj[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	o.v = nil
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var v T
	if json.Unmarshal(b, &v) == nil {
		o.v = &v
	}
	return nil
}
