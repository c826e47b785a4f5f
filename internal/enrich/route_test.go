package enrich_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/point"
)

var routeCases = []struct{ path, want string }{
	{"/", "/"},
	{"", ""},
	{"/lessons/7", "/lessons/:id"},
	{"/lessons/8", "/lessons/:id"},
	{"/lessons/7/", "/lessons/:id/"},
	{"/courses/3/lessons/12345", "/courses/:id/lessons/:id"},
	{"/u/2b1f0c7e-4a1d-4c33-9e5b-0f6a7d8e9c10/edit", "/u/:id/edit"},
	{"/u/2B1F0C7E-4A1D-4C33-9E5B-0F6A7D8E9C10", "/u/:id"},
	{"/o/507f1f77bcf86cd799439011", "/o/:id"},                 // a MongoDB ObjectId
	{"/c/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/c/:id"}, // a SHA-1
	{"/deadbeefcafe", "/:id"},                                 // 12 hex digits
	{"/v/abc123", "/v/abc123"},                                // short: kept
	{"/t/tok_9Zq7YpLmN3xWvB2k", "/t/:id"},                     // a token with a digit
	{"/blog/how-we-grew-2024", "/blog/:id"},                   // a long slug with a number, as the SDK folds it
	{"/blog/how-we-grow", "/blog/how-we-grow"},                // no digit
	{"/blog/all-about-the-new-dashboard", "/blog/all-about-the-new-dashboard"},
	{"/h2o/2024-05", "/h2o/2024-05"},
	{"/app#/lessons/7", "/app#/lessons/:id"},
	{"/lessons/7#notes", "/lessons/:id#notes"},
	{"/lessons/7…", "/lessons/7…"},
	{"//7//", "//:id//"},
}

func TestRoute(t *testing.T) {
	for _, c := range routeCases {
		if got := enrich.Route(c.path); got != c.want {
			t.Errorf("Route(%q) = %q; want %q", c.path, got, c.want)
		}
	}
}

var elementCases = []struct{ sel, want string }{
	{"img.hero", "img.hero"},
	{"", ""},
	{"#busy", "#busy"},
	{"#msg-1234", "#msg-:id"},
	{"#msg-7", "#msg-:id"},
	{"#1234", "#:id"},
	{"div.col-6>p", "div.col-6>p"},
	{"li.item-123>span", "li.item-:id>span"},
	{"li.row_2b1f0c7e-4a1d-4c33-9e5b-0f6a7d8e9c10", "li.row_:id"},
	{"div.card.c-507f1f77bcf86cd799439011>h2", "div.card.c-:id>h2"},
	{"h1", "h1"},
	{"#:r1:", "#:r1:"},
	{"https://cdn.example.com/img/77/hero.png?v=3#x", "https://cdn.example.com/img/:id/hero.png"},
}

func TestElement(t *testing.T) {
	for _, c := range elementCases {
		if got := enrich.Element(c.sel); got != c.want {
			t.Errorf("Element(%q) = %q; want %q", c.sel, got, c.want)
		}
	}
}

func TestRoutes(t *testing.T) {
	mk := func(ds, metric, path, attribution string) point.Point {
		p := point.Point{Dataset: ds, Index: metric}
		s := point.Builtin(ds)
		s.Set(&p, "path", path)
		if attribution != "" {
			s.Set(&p, "attribution", attribution)
		}
		return p
	}
	pts := []point.Point{
		mk("web_vitals", "LCP", "/lessons/7", "img.hero"),
		mk("web_vitals", "CLS", "/lessons/8", "p.lede"),
		mk("web_vitals", "INP", "/chat/99", "#msg-99"),
		mk("api_calls", "GET /api/x", "/lessons/9", ""),
		mk("client_errors", "TypeError", "/lessons/10", ""),
		mk("pageviews", "/lessons/11", "/lessons/11", ""),
	}
	enrich.Routes(pts)
	get := func(p point.Point, name string) string {
		f, err := point.Builtin(p.Dataset).Resolve(name)
		if err != nil {
			return "(none)"
		}
		return p.Blob(f.Pos)
	}
	for i, want := range []struct{ route, element string }{
		{"/lessons/:id", "img.hero"}, {"/lessons/:id", ""}, {"/chat/:id", "#msg-:id"},
		{"/lessons/:id", "(none)"}, {"/lessons/:id", "(none)"}, {"(none)", "(none)"},
	} {
		if r, e := get(pts[i], "route"), get(pts[i], "element"); r != want.route || e != want.element {
			t.Errorf("point %d (%s %s): route %q, element %q; want %q, %q", i, pts[i].Dataset, pts[i].Index, r, e, want.route, want.element)
		}
	}
}

// FuzzRoute folds any path: never a panic; valid UTF-8 stays valid; the
// slashes stay where they were; folding is idempotent; a path without a
// digit is kept.
func FuzzRoute(f *testing.F) {
	for _, c := range routeCases {
		f.Add(c.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := enrich.Route(path)
		if utf8.ValidString(path) && !utf8.ValidString(r) {
			t.Fatalf("Route(%q) = %q: not UTF-8", path, r)
		}
		if strings.Count(r, "/") != strings.Count(path, "/") || strings.Count(r, "#") != strings.Count(path, "#") {
			t.Fatalf("Route(%q) = %q: the separators moved", path, r)
		}
		if again := enrich.Route(r); again != r {
			t.Fatalf("Route(Route(%q)) = %q; want %q", path, again, r)
		}
		if !strings.ContainsAny(path, "0123456789abcdefABCDEF") && r != path {
			t.Fatalf("Route(%q) = %q; want it unchanged", path, r)
		}
	})
}

// FuzzElement folds any selector: never a panic, at most 200 bytes, valid
// UTF-8 stays valid, idempotent (unless the answer was cut).
func FuzzElement(f *testing.F) {
	for _, c := range elementCases {
		f.Add(c.sel)
	}
	f.Fuzz(func(t *testing.T, sel string) {
		e := enrich.Element(sel)
		if len(e) > 200 {
			t.Fatalf("Element(%q) has %d bytes", sel, len(e))
		}
		if utf8.ValidString(sel) && !utf8.ValidString(e) {
			t.Fatalf("Element(%q) = %q: not UTF-8", sel, e)
		}
		if again := enrich.Element(e); len(e) < 190 && again != e {
			t.Fatalf("Element(Element(%q)) = %q; want %q", sel, again, e)
		}
	})
}
