package beacon

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/textlimit"
)

// MaxUTMBytes bounds each UTM value taken from a page URL; longer ones are
// cut.
const MaxUTMBytes = 256

// Page is what a page URL says.
type Page struct {
	// Host is the URL's host, lowercased, with its port when it has one.
	Host string
	// Path is the URL's path ("/" when it has none), followed by its hash
	// route when the fragment is one ("#/lessons/7", "#!/lessons/7").
	// Query strings and plain anchors are not kept.
	Path string
	UTM  UTM
}

// UTM holds a page URL's campaign tags. Source falls back on the ref and
// source parameters, as other analytics tools do.
type UTM struct {
	Source, Medium, Campaign, Term, Content string
}

// ParsePage parses a page URL: absolute (https://site/lessons/7?utm_source=x)
// or a path (/lessons/7).
func ParsePage(raw string) (Page, error) {
	var p Page
	u, err := url.Parse(raw)
	if err != nil {
		return p, fmt.Errorf("url %q is not a URL", textlimit.Cut(raw, 80))
	}
	p.Host = strings.ToLower(u.Host)
	p.Path = pathOf(u)
	if route := hashRoute(u.Fragment); route != "" {
		p.Path += "#" + route
	}
	q := u.Query()
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(q.Get(n)); v != "" {
				return textlimit.Cut(strings.ToValidUTF8(v, "\uFFFD"), MaxUTMBytes)
			}
		}
		return ""
	}
	p.UTM = UTM{
		Source:   get("utm_source", "ref", "source"),
		Medium:   get("utm_medium"),
		Campaign: get("utm_campaign"),
		Term:     get("utm_term"),
		Content:  get("utm_content"),
	}
	return p, nil
}

// pathOf returns a URL's decoded path when it is valid UTF-8 (its escaped
// form otherwise), "/" for an absolute URL without one.
func pathOf(u *url.URL) string {
	p := u.Path
	if !utf8.ValidString(p) {
		p = u.EscapedPath()
	}
	if p == "" && (u.Host != "" || u.Scheme != "") {
		p = "/"
	}
	return p
}

// hashRoute returns a fragment that is a single-page app's route ("/…" or
// "!/…"), without its query, or "".
func hashRoute(frag string) string {
	if !strings.HasPrefix(frag, "/") && !strings.HasPrefix(frag, "!/") {
		return ""
	}
	frag, _, _ = strings.Cut(frag, "?")
	return strings.ToValidUTF8(frag, "\uFFFD")
}

// ReferrerHost returns the host name of a referrer, lowercased and without
// "www.", or "" when there is none, it cannot be parsed, or it is the page's
// own host (a navigation within the site is no referral).
func ReferrerHost(ref, pageHost string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	h := bareHost(u.Hostname())
	if h == "" || h == bareHost(hostname(pageHost)) {
		return ""
	}
	return strings.ToValidUTF8(h, "\uFFFD")
}

// hostname drops the port of host[:port].
func hostname(host string) string {
	if host == "" {
		return ""
	}
	return (&url.URL{Host: host}).Hostname()
}

func bareHost(h string) string {
	return strings.TrimPrefix(strings.ToLower(h), "www.")
}

// StripURL returns a URL without its user info, query and fragment
// (scheme://host/path), so that tokens in query strings are not stored,
// cut to MaxURLBytes; a string that is not a URL is returned as "".
func StripURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}).String()
	return textlimit.Cut(strings.ToValidUTF8(s, "\uFFFD"), MaxURLBytes)
}
