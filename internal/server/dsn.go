package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/meta"
)

// PublicURL is the URL browsers and SDKs reach the server at
// (Options.PublicURL, --public-url), by default http:// and the listen
// address, an unspecified host (0.0.0.0, ::) read as 127.0.0.1.
func (s *Server) PublicURL() string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ValidatePublicURL checks a --public-url: an absolute http(s) URL with a
// host, no user info, query or fragment.
func ValidatePublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: use an absolute http or https URL without query or fragment, such as https://alidade.example.com", s)
	}
	return nil
}

// DSN is a project's Sentry DSN with a public key:
// scheme://PUBLIC_KEY@HOST[:PORT][/PATH]/PROJECT_ID.
func (s *Server) DSN(project int64, publicKey string) (string, error) {
	if publicKey == "" {
		return "", errors.New("no public key")
	}
	return errtrack.FormatDSN(s.PublicURL(), publicKey, project)
}

// projectDSN is the DSN of a project's first live public key whose
// secret is kept (keys minted before the DSN existed kept none), or nil.
func (s *Server) projectDSN(ctx context.Context, project int64) (*string, error) {
	keys, err := s.store.Keys(ctx, project)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Kind == meta.KindPublic && k.Public != "" {
			dsn, err := s.DSN(project, k.Public)
			if err != nil {
				return nil, err
			}
			return &dsn, nil
		}
	}
	return nil, nil
}
