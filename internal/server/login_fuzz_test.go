package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLocalPath(t *testing.T) {
	for next, ok := range map[string]bool{
		"/": true, "/app/x?y=1#z": true, "/a//b": true, "/%2F%2Fevil": true,
		"": false, "x": false, "//evil.example": false, `/\evil.example`: false, `/a\b`: false,
		"https://evil.example/": false, "/\t/evil": false, "/a\nb": false, "javascript:alert(1)": false,
		"/" + strings.Repeat("a", 2048): false,
	} {
		if got, gotOK := localPath(next); gotOK != ok || (ok && got != next) || (!ok && got != "") {
			t.Errorf("localPath(%q) = %q, %v; want ok %v", next, got, gotOK, ok)
		}
	}
}

// FuzzLocalPath: an accepted next is a path on this server however a
// browser resolves it, and stays one through http.Redirect's cleaning.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/app", "//evil", `/\evil`, "/.//evil", "/%5C/evil", "http://x/", "/a?b=//c", "/\x00", "/ /x", "/#//evil", "/..//evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://alidade.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got, ok := localPath(next)
		if !ok {
			return
		}
		if got != next || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
			t.Fatalf("localPath(%q) accepted it", next)
		}
		u, err := base.Parse(next)
		if err != nil || u.Host != "alidade.example" || u.Scheme != "https" {
			t.Fatalf("localPath(%q) accepted what resolves to %v (%v)", next, u, err)
		}
		// http.Redirect cleans the path: the Location must stay local.
		rec := httptest.NewRecorder()
		http303(rec, next)
		loc := rec.Header().Get("Location")
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) {
			t.Fatalf("localPath(%q) accepted it, and the redirect goes to %q", next, loc)
		}
		if v, err := base.Parse(loc); err != nil || v.Host != "alidade.example" {
			t.Fatalf("redirect to %q leaves the server (%v, %v)", loc, v, err)
		}
	})
}

// http303 redirects as handleLogin does.
func http303(rec *httptest.ResponseRecorder, to string) {
	r := httptest.NewRequest("POST", "/login", nil)
	http.Redirect(rec, r, to, http.StatusSeeOther)
}

func TestSameOrigin(t *testing.T) {
	s := &Server{}
	req := func(host string, hdr ...string) *http.Request {
		r := httptest.NewRequest("POST", "/login", nil)
		r.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	for _, c := range []struct {
		publicURL string
		trust     bool
		r         *http.Request
		origin    string
		want      bool
	}{
		{"", false, req("127.0.0.1:8080"), "http://127.0.0.1:8080", true},
		{"", false, req("127.0.0.1:8080"), "HTTP://127.0.0.1:8080", true},
		{"", false, req("127.0.0.1:8080"), "http://127.0.0.1:8081", false},
		{"", false, req("127.0.0.1:8080"), "https://127.0.0.1:8080", false},
		{"", false, req("example.com"), "http://example.com:80", true},
		{"", false, req("example.com:80"), "http://example.com", true},
		{"", false, req("example.com"), "http://example.com/", false},
		{"", false, req("example.com"), "http://user@example.com", false},
		{"", false, req("example.com"), "null", false},
		{"", false, req("example.com"), "example.com", false},
		{"", false, req("example.com", "X-Forwarded-Proto", "https"), "https://example.com", false},
		{"", true, req("example.com", "X-Forwarded-Proto", "https"), "https://example.com", true},
		{"", true, req("example.com", "X-Forwarded-Proto", "https, http"), "https://example.com:443", true},
		{"", true, req("example.com", "X-Forwarded-Proto", "https"), "http://example.com", false},
		{"https://dash.example.com/alidade", false, req("10.0.0.5:8080"), "https://dash.example.com", true},
		{"https://dash.example.com/alidade", false, req("10.0.0.5:8080"), "http://10.0.0.5:8080", false},
		{"https://dash.example.com", false, req("dash.example.com"), "http://dash.example.com", false},
	} {
		s.opts.PublicURL, s.opts.TrustProxy = c.publicURL, c.trust
		if got := s.sameOrigin(c.r, c.origin); got != c.want {
			t.Errorf("sameOrigin(Host %s %v, public URL %q, trust %v, Origin %q) = %v; want %v", c.r.Host, c.r.Header, c.publicURL, c.trust, c.origin, got, c.want)
		}
	}
}

func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter(3, time.Minute)
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if _, ok := l.allow(a, t0); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		l.fail(a, t0.Add(time.Duration(i)*time.Second))
	}
	if wait, ok := l.allow(a, t0.Add(10*time.Second)); ok || wait != 50*time.Second {
		t.Errorf("after 3 failures: allow = %v, %v; want refused for 50s", wait, ok)
	}
	if _, ok := l.allow(b, t0); !ok {
		t.Errorf("another address refused")
	}
	if _, ok := l.allow(a, t0.Add(time.Minute)); !ok {
		t.Errorf("a minute later: refused")
	}
	l.prune(t0.Add(time.Minute))
	if len(l.addrs) != 0 {
		t.Errorf("prune left %d windows", len(l.addrs))
	}
	// IPv6 addresses count by /64.
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "[2001:db8:1:2:3::4]:5555"
	r2 := httptest.NewRequest("POST", "/login", nil)
	r2.RemoteAddr = "[2001:db8:1:2:ffff::9]:5555"
	if clientAddr(r, false) != clientAddr(r2, false) || clientAddr(r, false).Bits() != 64 {
		t.Errorf("clientAddr of one /64 = %v and %v; want the same /64", clientAddr(r, false), clientAddr(r2, false))
	}
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	if got := clientAddr(r, true); got != netip.MustParsePrefix("198.51.100.7/32") {
		t.Errorf("clientAddr behind a trusted proxy = %v", got)
	}
	if got := clientAddr(r, false); got.Addr().Is4() {
		t.Errorf("clientAddr believed X-Forwarded-For without --trust-proxy: %v", got)
	}
}
