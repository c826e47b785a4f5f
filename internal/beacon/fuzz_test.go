package beacon_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/beacon"
	"github.com/alidade/alidade/internal/point"
)

// FuzzDecode decodes any body: never a panic; an error for the body as a
// whole, or every event position in [0, Count) either mapped to exactly one
// valid point or rejected exactly once, with a message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		contract,
		`{"events":[{"type":"event","name":"page_view","props":{"path":"/x"}},{"type":"event","name":"api_call","props":{"endpoint":"/a","duration_ms":1}}]}`,
		`{"sentAt":100000000,"events":[{"type":"pageview","url":"/a","timestamp":99997000},{"type":"vital","name":"cls","value":0.1}]}`,
		`{"events":[5,null,"x",{},{"type":"x"},{"type":"error","stack":"` + strings.Repeat("a", 9000) + `"}]}`,
		`{"events":[{"type":"pageview","url":"https://h/#/r?x=1","referrer":"https://www.h/"}]}`,
		`{"key":"k","events":[{"type":"websocket","kind":"connect","code":1000.5}]}`,
		"\uFEFF{\"events\":[{\"type\":\"pageview\",\"path\":\"/\xff\"}]}",
		`{"events":[{"type":"log","level":"WARN+2","message":"m","props":{"a":[1,{"b":null}]}},{"type":"log","level":99,"message":""}]}`,
		`[]`, ``, `{`, `{"events":[}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := beacon.Decode(body)
		if err != nil {
			if req != nil && (req.Count != 0 || len(req.Events) != 0 || len(req.Rejected) != 0) {
				t.Fatalf("Decode returned events and %v", err)
			}
			return
		}
		if req.Count > beacon.MaxEvents {
			t.Fatalf("%d events decoded; the limit is %d", req.Count, beacon.MaxEvents)
		}
		const now = 1_800_000_000_000
		pts, pos, rej := req.Points(now, now-90*86400_000)
		seen := make([]int, req.Count)
		for _, r := range append(rej, req.Rejected...) {
			if r.Position < 0 || r.Position >= req.Count || r.Error == "" {
				t.Fatalf("rejection %+v of %d events", r, req.Count)
			}
			seen[r.Position]++
		}
		for i, p := range pts {
			if pos[i] < 0 || pos[i] >= req.Count {
				t.Fatalf("point at position %d of %d events", pos[i], req.Count)
			}
			seen[pos[i]]++
			if err := p.Validate(); err != nil {
				t.Fatalf("point %d (%s) is invalid: %v", i, p.Dataset, err)
			}
			if p.Timestamp > now || p.Timestamp < now-beacon.MaxAgeMillis {
				t.Fatalf("point %d is stamped %d; now is %d", i, p.Timestamp, now)
			}
			if len(p.Blobs) > point.MaxBlobs || !utf8.ValidString(p.Index) {
				t.Fatalf("point %d: %d blobs, index %q", i, len(p.Blobs), p.Index)
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("event %d is accounted for %d times", i, n)
			}
		}
	})
}

// FuzzParsePage parses any page URL and referrer: never a panic; valid
// UTF-8 out, bounded UTM values, and a referrer host that is never the
// page's own.
func FuzzParsePage(f *testing.F) {
	for _, s := range [][2]string{
		{"https://site.example/lessons/7?utm_source=news&utm_medium=email#/r", "https://www.google.com/"},
		{"/x/%FF?ref=%FF", "android-app://com.slack/"},
		{"http://[::1]:80/", "http://[::1]/"},
		{"https://site.example", "https://www.site.example/"},
		{"javascript:alert(1)", "not a url"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, ref string) {
		p, err := beacon.ParsePage(raw)
		if err != nil {
			return
		}
		for _, s := range []string{p.Path, p.UTM.Source, p.UTM.Medium, p.UTM.Campaign, p.UTM.Term, p.UTM.Content} {
			if !utf8.ValidString(s) {
				t.Fatalf("ParsePage(%q) gave invalid UTF-8 %q", raw, s)
			}
		}
		for _, s := range []string{p.UTM.Source, p.UTM.Medium, p.UTM.Campaign, p.UTM.Term, p.UTM.Content} {
			if len(s) > beacon.MaxUTMBytes {
				t.Fatalf("UTM value of %d bytes", len(s))
			}
		}
		h := beacon.ReferrerHost(ref, p.Host)
		if !utf8.ValidString(h) || h != "" && h == strings.TrimPrefix(strings.ToLower(p.Host), "www.") {
			t.Fatalf("ReferrerHost(%q, %q) = %q", ref, p.Host, h)
		}
		if s := beacon.StripURL(ref); len(s) > beacon.MaxURLBytes || !utf8.ValidString(s) || strings.Contains(s, "?") && !strings.Contains(ref, "?") {
			t.Fatalf("StripURL(%q) = %q", ref, s)
		}
	})
}
