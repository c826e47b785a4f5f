// Package enrich is the ingest pipeline's enrichment step for points that
// come from a browser: from the client that sent them (its User-Agent, IP
// address and a trusted proxy's country header) it derives the browser, OS
// and device class, the bot verdict, the country, a cookieless visitor id
// and the visit (session) a point belongs to, and it fingerprints client
// errors. It writes them into the points' fields by the built-in schemas'
// names, before the points are logged, so that a replay never recomputes
// them.
//
// It owns the daily visitor salts (kept in the metadata store's settings,
// rotated every UTC day, old ones deleted) and the in-memory table of
// visits. It never stores or returns an IP address or a User-Agent; it
// knows nothing of HTTP (the server says which headers to trust).
package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	useragent "github.com/medama-io/go-useragent"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/alidade/alidade/internal/point"
)

// Settings is the small key/value store the day salts are kept in (the
// embedded store's settings table). Setting returns "" for a name never set.
type Settings interface {
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// Options configure an Enricher.
type Options struct {
	// GeoIP is the path of a MaxMind database (GeoLite2/GeoIP2 Country or
	// City, or any MMDB with country.iso_code); "" means none.
	GeoIP string
	// Settings keeps the day salts; nil keeps them in memory only (a
	// restart then changes the day's visitor ids).
	Settings Settings
	// Now is the clock (the UTC day picks the salt); nil means time.Now.
	Now func() time.Time
	// VisitTimeout ends a visit after that long without an event.
	VisitTimeout time.Duration
	// MaxVisits bounds the visits held in memory (about 150 bytes each).
	MaxVisits int
	Logger    *slog.Logger
}

// DefaultOptions returns a 30-minute visit timeout and room for 200,000
// visits.
func DefaultOptions() Options {
	return Options{VisitTimeout: 30 * time.Minute, MaxVisits: 200_000}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.VisitTimeout < time.Minute || o.VisitTimeout > 12*time.Hour {
		return fmt.Errorf("visit timeout must be from 1m to 12h, got %v", o.VisitTimeout)
	}
	if o.MaxVisits < 1 {
		return fmt.Errorf("max visits must be positive, got %d", o.MaxVisits)
	}
	return nil
}

// Client is what a request says of the client that sent it.
type Client struct {
	UserAgent string
	// IP is the client's address (hashed into the visitor id, never kept).
	IP netip.Addr
	// Country is an ISO 3166 alpha-2 code from a trusted proxy's header
	// (CF-IPCountry, X-Country); "" when there is none or it is not
	// trusted.
	Country string
}

// Enricher derives the fields of browser points from their client.
type Enricher struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	geo     *maxminddb.Reader
	salts   *salts
	visits  *visits
	timeout int64 // ms
	// ua is made on the first User-Agent parsed: its trie takes about
	// 8 MB of heap, which a server that only tracks errors sent by
	// server-side SDKs never needs.
	ua func() *useragent.Parser
}

// New makes an Enricher, opening the GeoIP database when one is named.
func New(opts Options) (*Enricher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e := &Enricher{opts: opts, log: opts.Logger, now: opts.Now, ua: sync.OnceValue(useragent.NewParser),
		salts: &salts{st: opts.Settings}, timeout: opts.VisitTimeout.Milliseconds()}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.visits = newVisits(opts.MaxVisits, e.timeout)
	if opts.GeoIP != "" {
		r, err := maxminddb.Open(opts.GeoIP)
		if err != nil {
			return nil, fmt.Errorf("open the GeoIP database %s: %w", opts.GeoIP, err)
		}
		e.geo = r
	}
	return e, nil
}

// Close releases the GeoIP database, once no Apply runs; a second Close
// does nothing.
func (e *Enricher) Close() error {
	if e.geo == nil {
		return nil
	}
	err := e.geo.Close()
	e.geo = nil
	return err
}

// Agent is what a User-Agent says.
type Agent struct {
	Bot     bool
	Browser string // "Chrome", "Safari", "Firefox", … ("" when unknown)
	Version string // the browser's version (Describe only)
	OS      string // "Windows", "MacOS", "iOS", "Android", … ("" when unknown)
	Device  string // "desktop", "mobile", "tablet", "tv" ("" when unknown)
}

// ParseAgent parses a User-Agent with medama-io/go-useragent. An empty
// User-Agent is a bot's: every browser sends one.
func (e *Enricher) ParseAgent(s string) Agent {
	if strings.TrimSpace(s) == "" {
		return Agent{Bot: true}
	}
	a := e.ua().Parse(s)
	if a.IsBot() {
		return Agent{Bot: true}
	}
	return Agent{Browser: string(a.Browser()), OS: string(a.OS()), Device: strings.ToLower(string(a.Device()))}
}

// Describe is what a User-Agent names, bot or not (a headless browser is
// still a browser): the browser and its version, the OS and the device.
func (e *Enricher) Describe(s string) Agent {
	if strings.TrimSpace(s) == "" {
		return Agent{Bot: true}
	}
	a := e.ua().Parse(s)
	return Agent{Bot: a.IsBot(), Browser: string(a.Browser()), Version: a.BrowserVersion(), OS: string(a.OS()),
		Device: strings.ToLower(string(a.Device()))}
}

// ErrBot is returned by Apply for a client that is a bot or a crawler: its
// points are to be dropped (and counted).
var ErrBot = errors.New("the client is a bot or a crawler")

// Apply fills the client-derived fields of a project's points, in place and
// in order: visitor, session, country, device, browser and os on every
// point of a built-in browser dataset; on pageviews the visit fields
// (entry, visit_page, bounce, since_previous); on client_errors an empty
// fingerprint. On web_vitals, api_calls and client_errors it fills route,
// the path with its ids folded (Route), and on the LCP and INP points of
// web_vitals element, their attribution with its ids folded (Element);
// those two even for a bot, as they say nothing of the client. Points of
// other datasets are left as they are. It returns ErrBot, and fills
// nothing else, when the client is a bot.
func (e *Enricher) Apply(ctx context.Context, project int64, c Client, pts []point.Point) error {
	Routes(pts)
	ag := e.ParseAgent(c.UserAgent)
	if ag.Bot {
		return ErrBot
	}
	country := e.country(c)
	today, yesterday, err := e.salts.current(ctx, e.now(), e.opts.VisitTimeout)
	if err != nil {
		return err
	}
	ids := [2]string{visitorID(today, project, c.IP, c.UserAgent), ""}
	if yesterday != nil {
		ids[1] = visitorID(yesterday, project, c.IP, c.UserAgent)
	}
	e.visits.mu.Lock()
	defer e.visits.mu.Unlock()
	for i := range pts {
		p := &pts[i]
		s := schemas[p.Dataset]
		if s == nil {
			continue
		}
		v := e.visits.visit(ids, p.Timestamp)
		s.Set(p, "visitor", v.visitor)
		s.Set(p, "session", v.id)
		s.Set(p, "country", country)
		s.Set(p, "device", ag.Device)
		s.Set(p, "browser", ag.Browser)
		s.Set(p, "os", ag.OS)
		switch p.Dataset {
		case "pageviews":
			v.pages++
			since := 0.0
			if v.pages > 1 {
				since = float64(max(p.Timestamp-v.lastPage, 0))
			}
			bounce := 0.0
			switch v.pages {
			case 1:
				bounce = 1
			case 2:
				bounce = -1
			}
			s.Set(p, "entry", b2f(v.pages == 1))
			s.Set(p, "visit_page", float64(v.pages))
			s.Set(p, "bounce", bounce)
			s.Set(p, "since_previous", since)
			v.lastPage = max(v.lastPage, p.Timestamp)
		case "client_errors":
			if blob(s, p, "fingerprint") == "" {
				s.Set(p, "fingerprint", Fingerprint(p.Index, blob(s, p, "message"), blob(s, p, "stack")))
			}
		}
	}
	return nil
}

// Maintain rotates the day salts (deleting those no longer needed) and
// forgets ended visits; the server calls it every minute, so that an old
// salt is deleted on time even when no event arrives.
func (e *Enricher) Maintain(ctx context.Context) error {
	now := e.now()
	e.visits.mu.Lock()
	e.visits.sweep(now.UnixMilli())
	e.visits.mu.Unlock()
	_, _, err := e.salts.current(ctx, now, e.opts.VisitTimeout)
	return err
}

// country is the trusted proxy's country, else the GeoIP database's, else "".
func (e *Enricher) country(c Client) string {
	if cc := CountryCode(c.Country); cc != "" {
		return cc
	}
	if e.geo == nil || !c.IP.IsValid() {
		return ""
	}
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		RegisteredCountry struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"registered_country"`
	}
	if err := e.geo.Lookup(c.IP.Unmap()).Decode(&rec); err != nil {
		e.log.Debug("GeoIP lookup failed", "err", err)
		return ""
	}
	if cc := CountryCode(rec.Country.ISOCode); cc != "" {
		return cc
	}
	return CountryCode(rec.RegisteredCountry.ISOCode)
}

// CountryCode returns an ISO 3166 alpha-2 code in upper case, or "" for
// anything else, including Cloudflare's XX (unknown) and T1 (Tor).
func CountryCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 2 {
		return ""
	}
	b := []byte(strings.ToUpper(s))
	if b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' {
		return ""
	}
	if s := string(b); s != "XX" && s != "T1" {
		return s
	}
	return ""
}

// schemas are the built-in schemas of the browser datasets Apply fills.
var schemas = func() map[string]*point.Schema {
	m := map[string]*point.Schema{}
	for _, ds := range []string{"pageviews", "events", "web_vitals", "api_calls", "client_errors", "ui_actions", "websocket"} {
		m[ds] = point.Builtin(ds)
	}
	return m
}()

// blob reads a blob of p by its schema name.
func blob(s *point.Schema, p *point.Point, name string) string {
	f, err := s.Resolve(name)
	if err != nil || f.Kind != point.KindBlob {
		panic("BUG: no blob " + name)
	}
	return p.Blob(f.Pos)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
