package meta

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits of a project's allowed origins.
const (
	MaxOrigins     = 100
	MaxOriginBytes = 256
)

// ParseOrigin checks that s is a web origin, scheme://host[:port] with no
// path, query, fragment or user info, and returns it as browsers send it
// in the Origin header: scheme and host in lower case, without the
// scheme's default port.
func ParseOrigin(s string) (string, error) {
	const form = "an origin is scheme://host[:port], e.g. https://app.example.com"
	if s == "" {
		return "", fmt.Errorf("origin is empty; %s", form)
	}
	if len(s) > MaxOriginBytes {
		return "", fmt.Errorf("origin is %d bytes; the limit is %d bytes", len(s), MaxOriginBytes)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "", fmt.Errorf("origin %q is not scheme://host[:port]; %s", s, form)
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("origin %q has no host; %s", s, form)
	case u.User != nil:
		return "", fmt.Errorf("origin %q has user info; %s", s, form)
	case u.Path != "" || u.RawPath != "":
		return "", fmt.Errorf("origin %q has a path (%q); %s", s, u.Path, form)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("origin %q has a query; %s", s, form)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Errorf("origin %q has a fragment; %s", s, form)
	case strings.Contains(u.Host, "*"):
		return "", fmt.Errorf("origin %q has a wildcard; list each origin", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is6() {
			host = "[" + a.String() + "]"
		}
	} else if strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789-._") != "" || strings.Contains(u.Host, "[") {
		return "", fmt.Errorf("origin %q has an invalid host %q (browsers send names in punycode); %s", s, u.Hostname(), form)
	}
	if p, err := strconv.Atoi(port); port != "" && (err != nil || p < 1 || p > 65535) {
		return "", fmt.Errorf("origin %q has an invalid port %q; %s", s, port, form)
	}
	if port != "" && (scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// ParseOrigins checks a list of origins and returns them normalized,
// sorted and without repeats.
func ParseOrigins(list []string) ([]string, error) {
	if len(list) > MaxOrigins {
		return nil, fmt.Errorf("%d origins; the limit is %d origins per project", len(list), MaxOrigins)
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		o, err := ParseOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("allowedOrigins[%d]: %w", i, err)
		}
		out = append(out, o)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
