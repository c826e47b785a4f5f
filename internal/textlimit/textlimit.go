// Package textlimit holds the small helpers the decoders share to keep
// text and JSON within limits: cutting a string at a character boundary
// and measuring how deep a JSON document nests.
package textlimit

import (
	"bytes"
	"unicode/utf8"
)

// Cut returns s cut to at most n bytes at a character boundary, with "…"
// (3 bytes, counted in n) marking the cut.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	end := max(n-len(mark), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}

// JSONDepth returns the deepest nesting of objects and arrays in valid
// compact JSON.
func JSONDepth(b []byte) int {
	depth, most := 0, 0
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			most = max(most, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

// JSONKind names the JSON type of a raw value, for an error message ("an
// object", "a string", …; "nothing" for no value).
func JSONKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
