package enrich_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/point"
)

// FuzzApply enriches the points of any client: never a panic; either the
// bot verdict, or every browser point filled with a 16-digit visitor id,
// a valid country code and valid UTF-8, never holding the IP address or
// the User-Agent itself.
func FuzzApply(f *testing.F) {
	for _, s := range []struct{ ua, ip, country, msg string }{
		{firefox, "198.51.100.7", "FR", "x is undefined"},
		{iphone, "2001:db8::1", "", ""},
		{googlebot, "203.0.113.1", "XX", ""},
		{"", "", "", ""},
		{"Mozilla/5.0 (\xff\xfe", "::ffff:1.2.3.4", "t1", "\x00"},
		{headless, "not an ip", "zz", strings.Repeat("9", 100)},
	} {
		f.Add(s.ua, s.ip, s.country, s.msg)
	}
	e, _, c := newEnricher(f, func(o *enrich.Options) { o.MaxVisits = 1000 })
	f.Fuzz(func(t *testing.T, ua, ip, country, msg string) {
		cl := enrich.Client{UserAgent: ua, Country: country}
		cl.IP, _ = netip.ParseAddr(ip)
		now := c.now().UnixMilli()
		pts := []point.Point{
			{Dataset: "pageviews", Timestamp: now, Index: "/"},
			{Dataset: "client_errors", Timestamp: now, Index: "Error", Blobs: []string{"Error", msg, "/", "", msg}},
			{Dataset: "websocket", Timestamp: now, Index: "open"},
		}
		err := e.Apply(context.Background(), 1, cl, pts)
		if errors.Is(err, enrich.ErrBot) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			s := point.Builtin(p.Dataset)
			get := func(name string) string {
				f, _ := s.Resolve(name)
				return p.Blob(f.Pos)
			}
			if v := get("visitor"); len(v) != 16 || strings.Trim(v, "0123456789abcdef") != "" {
				t.Fatalf("%s visitor = %q", p.Dataset, v)
			}
			if cc := get("country"); cc != "" && cc != enrich.CountryCode(cc) {
				t.Fatalf("%s country = %q", p.Dataset, cc)
			}
			for i, b := range p.Blobs {
				if !utf8.ValidString(b) && b != msg {
					t.Fatalf("%s blob%d = %q is not valid UTF-8", p.Dataset, i+1, b)
				}
				if b != msg && (len(ua) > 20 && b == ua || cl.IP.IsValid() && b == cl.IP.String()) {
					t.Fatalf("%s blob%d holds the client's User-Agent or address: %q", p.Dataset, i+1, b)
				}
			}
			if err := p.Validate(); err != nil && utf8.ValidString(msg) {
				t.Fatalf("%s: %v", p.Dataset, err)
			}
		}
	})
}
