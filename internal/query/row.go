package query

import (
	"encoding/json"
	"math"
	"strconv"
)

// Object is a JSON object that keeps its key order: Keys[i] maps to Values[i].
// A value is nil (null), a string, a float64, or an Object.
type Object struct {
	Keys   []string
	Values []any
}

// Row is one row of an answer: the groupBy values under their names as
// written, then "t" (the bucket start, RFC 3339 in UTC) when the query has an
// interval, then the aggregations in request order. A quantiles aggregation's
// value is an Object keyed by QuantileKey.
type Row = Object

// Get returns the value under key.
func (o Object) Get(key string) (any, bool) {
	for i, k := range o.Keys {
		if k == key && i < len(o.Values) {
			return o.Values[i], true
		}
	}
	return nil, false
}

// MarshalJSON writes the object with its keys in order. Whole numbers below
// 1e21 print without exponent, so counts read as integers; NaN and
// infinities print as null.
func (o Object) MarshalJSON() ([]byte, error) {
	return o.appendJSON(make([]byte, 0, 32*len(o.Keys)+2))
}

func (o Object) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, k := range o.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var v any
		if i < len(o.Values) {
			v = o.Values[i]
		}
		var err error
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return append(b, formatNumber(x)...), nil
	case Object:
		return x.appendJSON(b)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

func appendString(b []byte, s string) []byte {
	j, err := json.Marshal(s)
	if err != nil {
		panic("BUG: marshaling a string failed: " + err.Error())
	}
	return append(b, j...)
}

// formatNumber writes a finite float64 as JSON the way encoding/json does:
// plain decimal for 1e-6 <= |v| < 1e21 (so whole numbers print as integers),
// exponent notation outside that range.
func formatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	abs := math.Abs(v)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64)
	// Turn e-07 into e-7, as encoding/json does.
	if n := len(s); n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
		s = s[:n-2] + s[n-1:]
	}
	return s
}
