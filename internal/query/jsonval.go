package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply a request body may nest arrays and objects.
const maxDepth = 32

// jkind is the kind of a decoded JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// jval is a decoded JSON value that keeps the key order of objects and the
// text of numbers.
type jval struct {
	kind jkind
	b    bool
	s    string // a string's value or a number's text
	arr  []jval
	obj  []jmember
}

// jmember is one key of a JSON object.
type jmember struct {
	key string
	val jval
}

// describe names the kind of v for error messages.
func (v jval) describe() string {
	switch v.kind {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNum:
		return "a number"
	case jStr:
		return "a string"
	case jArr:
		return "an array"
	}
	return "an object"
}

// number returns v as a finite float64.
func (v jval) number() (float64, bool) {
	if v.kind != jNum {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// decodeBody decodes a request body into a jval, bounding its nesting.
func decodeBody(body []byte) (jval, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return jval{}, errorf("", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return jval{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jval{}, errorf("", "invalid JSON: unexpected data after the top-level value")
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (jval, error) {
	if depth > maxDepth {
		return jval{}, errorf("", "the body nests deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return jval{}, syntaxError(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return readObject(dec, depth)
		}
		if t == '[' {
			return readArray(dec, depth)
		}
		return jval{}, errorf("", "invalid JSON: unexpected %q", rune(t))
	case string:
		return jval{kind: jStr, s: t}, nil
	case json.Number:
		return jval{kind: jNum, s: string(t)}, nil
	case bool:
		return jval{kind: jBool, b: t}, nil
	case nil:
		return jval{kind: jNull}, nil
	}
	return jval{}, errorf("", "invalid JSON: unexpected token %v", tok)
}

func readObject(dec *json.Decoder, depth int) (jval, error) {
	v := jval{kind: jObj}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jval{}, syntaxError(err)
		}
		key, ok := tok.(string)
		if !ok {
			return jval{}, errorf("", "invalid JSON: object key is not a string")
		}
		val, err := readValue(dec, depth+1)
		if err != nil {
			return jval{}, err
		}
		v.obj = append(v.obj, jmember{key: key, val: val})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return jval{}, syntaxError(err)
	}
	return v, nil
}

func readArray(dec *json.Decoder, depth int) (jval, error) {
	v := jval{kind: jArr, arr: []jval{}}
	for dec.More() {
		val, err := readValue(dec, depth+1)
		if err != nil {
			return jval{}, err
		}
		v.arr = append(v.arr, val)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return jval{}, syntaxError(err)
	}
	return v, nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf("", "invalid JSON: the body ends early")
	}
	return errorf("", "invalid JSON: %v", err)
}

// members checks that v is an object whose keys are all in known and appear
// once, and returns its non-null members by key.
func members(v jval, part string, known ...string) (map[string]jval, error) {
	if v.kind != jObj {
		return nil, errorf(part, "must be an object, got %s", v.describe())
	}
	out := make(map[string]jval, len(v.obj))
	seen := make(map[string]bool, len(v.obj))
	for _, m := range v.obj {
		if !contains(known, m.key) {
			return nil, errorf(join(part, m.key), "unknown key; use %s", strings.Join(sorted(known), ", "))
		}
		if seen[m.key] {
			return nil, errorf(join(part, m.key), "key repeats")
		}
		seen[m.key] = true
		if m.val.kind != jNull {
			out[m.key] = m.val
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// join appends key to the path part, quoting keys that are not plain names.
func join(part, key string) string {
	if !plainKey(key) {
		key = strconv.Quote(clip(key, 64))
	}
	if part == "" {
		return key
	}
	return part + "." + key
}

// index appends an array index to the path part.
func index(part string, i int) string {
	return part + "[" + strconv.Itoa(i) + "]"
}

func plainKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// quote quotes s for an error message.
func quote(s string) string {
	return strconv.Quote(clip(s, 64))
}
