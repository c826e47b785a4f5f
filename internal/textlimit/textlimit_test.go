package textlimit

import (
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijkl", 10, "abcdefg…"},
		{"ééééé", 7, "éé…"}, // 10 bytes; 4 left for text: two é
		{"éééé", 6, "é…"},   // 3 left: one é, not half of the second
		{"abcdef", 2, "…"},  // no room for text
	} {
		got := Cut(c.s, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q; want %q", c.s, c.n, got, c.want)
		}
		if len(c.s) > c.n && c.n >= 3 && len(got) > c.n {
			t.Errorf("Cut(%q, %d) = %d bytes", c.s, c.n, len(got))
		}
	}
}

func TestJSONDepth(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{
		{`1`, 0},
		{`{}`, 1},
		{`{"a":[1,{"b":2}]}`, 3},
		{`{"a":"[[[{{{"}`, 1},
		{`["\"[",[[]]]`, 3},
	} {
		if got := JSONDepth([]byte(c.s)); got != c.want {
			t.Errorf("JSONDepth(%s) = %d; want %d", c.s, got, c.want)
		}
	}
}

func TestJSONKind(t *testing.T) {
	for raw, want := range map[string]string{"": "nothing", " {}": "an object", "[1]": "an array", `"x"`: "a string",
		"true": "a boolean", "false": "a boolean", "null": "null", "-1.5": "a number"} {
		if got := JSONKind([]byte(raw)); got != want {
			t.Errorf("JSONKind(%q) = %q; want %q", raw, got, want)
		}
	}
}
