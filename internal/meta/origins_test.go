package meta_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/meta"
)

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com":       "https://app.example.com",
		"HTTPS://App.Example.COM":       "https://app.example.com",
		"https://app.example.com:443":   "https://app.example.com",
		"http://localhost:3000":         "http://localhost:3000",
		"http://app.example.com:80":     "http://app.example.com",
		"https://app.example.com:8443":  "https://app.example.com:8443",
		"http://[::1]:8080":             "http://[::1]:8080",
		"capacitor://localhost":         "capacitor://localhost",
		"chrome-extension://abcdefghij": "chrome-extension://abcdefghij",
	} {
		got, err := meta.ParseOrigin(in)
		if err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                                    "origin is empty",
		"app.example.com":                     "is not scheme://host[:port]",
		"https://app.example.com/":            `has a path ("/")`,
		"https://app.example.com/login":       "has a path",
		"https://app.example.com?x=1":         "has a query",
		"https://app.example.com#x":           "has a fragment",
		"https://user@app.example.com":        "has user info",
		"https://*.example.com":               "has a wildcard",
		"https://":                            "has no host",
		"mailto:me@example.com":               "is not scheme://host[:port]",
		"https://" + strings.Repeat("a", 300): "the limit is 256 bytes",
	} {
		if _, err := meta.ParseOrigin(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOrigin(%q) = %v; want an error with %q", in, err, want)
		}
	}
}

func TestParseOrigins(t *testing.T) {
	got, err := meta.ParseOrigins([]string{"https://b.example", "https://A.example", "https://b.example:443"})
	if err != nil || !slices.Equal(got, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("ParseOrigins = %v, %v", got, err)
	}
	if _, err := meta.ParseOrigins([]string{"https://a.example", "https://b.example/x"}); err == nil || !strings.Contains(err.Error(), "allowedOrigins[1]") {
		t.Errorf("ParseOrigins with a bad second origin = %v; want it named", err)
	}
	if _, err := meta.ParseOrigins(make([]string, 101)); err == nil || !strings.Contains(err.Error(), "the limit is 100 origins") {
		t.Errorf("ParseOrigins(101) = %v", err)
	}
	if got, err := meta.ParseOrigins(nil); err != nil || len(got) != 0 || got == nil {
		t.Errorf("ParseOrigins(nil) = %#v, %v; want an empty list", got, err)
	}
}

// FuzzParseOrigin checks any text: an error, or an origin that parses to
// itself and holds no path, query or fragment.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://app.example.com", "http://[::1]:80", "HTTPS://A:443", "https://a/b", "x://y?z#w", "capacitor://localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := meta.ParseOrigin(s)
		if err != nil {
			return
		}
		again, err := meta.ParseOrigin(o)
		if err != nil || again != o {
			t.Fatalf("ParseOrigin(%q) = %q, which parses to %q, %v", s, o, again, err)
		}
		if i := strings.Index(o, "://"); i < 0 || strings.ContainsAny(o[i+3:], "/?#@") {
			t.Fatalf("ParseOrigin(%q) = %q", s, o)
		}
	})
}
