package errtrack

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// AuthKey returns the sentry_key of an X-Sentry-Auth header or of an
// Authorization header in Sentry's scheme ("Sentry sentry_key=…,
// sentry_version=7, …"); "" when the header has none.
func AuthKey(header string) string {
	h := strings.TrimSpace(header)
	if len(h) >= 7 && strings.EqualFold(h[:7], "sentry ") {
		h = h[7:]
	} else if !strings.Contains(h, "sentry_key") {
		return ""
	}
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "sentry_key") {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// DSN is a parsed Data Source Name: scheme://PUBLIC_KEY@HOST[:PORT][/PATH]/PROJECT_ID.
type DSN struct {
	PublicKey string
	ProjectID int64
}

// ParseDSN reads a DSN; the project id must be a positive number.
func ParseDSN(s string) (DSN, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return DSN{}, fmt.Errorf("dsn: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return DSN{}, fmt.Errorf("dsn %q: the scheme must be http or https", cut(s, 200))
	}
	if u.User == nil || u.User.Username() == "" {
		return DSN{}, fmt.Errorf("dsn %q has no public key", cut(s, 200))
	}
	path := strings.TrimRight(u.Path, "/")
	i := strings.LastIndexByte(path, '/')
	id, err := strconv.ParseInt(path[i+1:], 10, 64)
	if err != nil || id < 1 {
		return DSN{}, fmt.Errorf("dsn %q: the project id (the last path segment) is not a positive number", cut(s, 200))
	}
	return DSN{PublicKey: u.User.Username(), ProjectID: id}, nil
}

// FormatDSN builds the DSN of a project from the server's public URL
// (scheme://host[:port][/path]) and the project's public key.
func FormatDSN(publicURL, publicKey string, project int64) (string, error) {
	u, err := url.Parse(strings.TrimSpace(publicURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("public URL %q: use an absolute http(s) URL such as https://alidade.example.com", publicURL)
	}
	u.User = url.User(publicKey)
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strconv.FormatInt(project, 10)
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	return u.String(), nil
}
