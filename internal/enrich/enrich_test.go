package enrich_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/enrich/geotest"
	"github.com/alidade/alidade/internal/point"
)

const (
	firefox   = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
	iphone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	ipad      = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	chromeWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	headless  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)

// settings is an in-memory settings table.
type settings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *settings) Setting(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name], nil
}

func (s *settings) SetSetting(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = value
	return nil
}

// salts returns the days whose salts are stored.
func (s *settings) salts(t *testing.T) []string {
	t.Helper()
	v, _ := s.Setting(context.Background(), enrich.SaltSetting)
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		t.Fatalf("stored salts %q: %v", v, err)
	}
	var days []string
	for d, h := range m {
		if len(h) != 64 {
			t.Errorf("salt of %s is %d hex digits; want 64", d, len(h))
		}
		days = append(days, d)
	}
	return days
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newEnricher(t testing.TB, o func(*enrich.Options)) (*enrich.Enricher, *settings, *clock) {
	t.Helper()
	st := &settings{m: map[string]string{}}
	c := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	opts := enrich.DefaultOptions()
	opts.Settings, opts.Now = st, c.now
	if o != nil {
		o(&opts)
	}
	e, err := enrich.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, st, c
}

func pv(at time.Time) point.Point {
	return point.Point{Dataset: "pageviews", Timestamp: at.UnixMilli(), Index: "/"}
}

// field reads a point's field by its built-in schema name.
func field(t *testing.T, p point.Point, name string) any {
	t.Helper()
	f, err := point.Builtin(p.Dataset).Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	switch f.Kind {
	case point.KindBlob:
		return p.Blob(f.Pos)
	case point.KindDouble:
		return p.Double(f.Pos)
	}
	return p.Index
}

func TestParseAgent(t *testing.T) {
	e, _, _ := newEnricher(t, nil)
	for _, c := range []struct {
		ua   string
		want enrich.Agent
	}{
		{firefox, enrich.Agent{Browser: "Firefox", OS: "Linux", Device: "desktop"}},
		{iphone, enrich.Agent{Browser: "Safari", OS: "iOS", Device: "mobile"}},
		{ipad, enrich.Agent{Browser: "Safari", OS: "iOS", Device: "tablet"}},
		{chromeWin, enrich.Agent{Browser: "Chrome", OS: "Windows", Device: "desktop"}},
		{googlebot, enrich.Agent{Bot: true}},
		{headless, enrich.Agent{Bot: true}},
		{"curl/8.5.0", enrich.Agent{Bot: true}},
		{"python-requests/2.31.0", enrich.Agent{Bot: true}},
		{"", enrich.Agent{Bot: true}},
		{"   ", enrich.Agent{Bot: true}},
	} {
		if got := e.ParseAgent(c.ua); got != c.want {
			t.Errorf("ParseAgent(%q) = %+v; want %+v", c.ua, got, c.want)
		}
	}
}

func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{"FR": "FR", "fr": "FR", " de ": "DE", "XX": "", "T1": "", "": "", "FRA": "", "F1": "", "é!": ""} {
		if got := enrich.CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestBotsDropped(t *testing.T) {
	e, _, c := newEnricher(t, nil)
	pts := []point.Point{pv(c.now())}
	if err := e.Apply(context.Background(), 1, enrich.Client{UserAgent: googlebot}, pts); !errors.Is(err, enrich.ErrBot) {
		t.Fatalf("Apply(Googlebot) = %v; want ErrBot", err)
	}
	if len(pts[0].Blobs) != 0 {
		t.Errorf("a bot's point was filled: %v", pts[0].Blobs)
	}
}

func TestApplyFields(t *testing.T) {
	e, _, c := newEnricher(t, nil)
	ip := netip.MustParseAddr("198.51.100.7")
	now := c.now()
	pts := []point.Point{
		pv(now),
		{Dataset: "web_vitals", Timestamp: now.UnixMilli(), Index: "LCP"},
		{Dataset: "client_errors", Timestamp: now.UnixMilli(), Index: "TypeError", Blobs: []string{"TypeError", "x is undefined 42", "/", ""}},
		{Dataset: "requests", Timestamp: now.UnixMilli(), Index: "/api"},
	}
	if err := e.Apply(context.Background(), 7, enrich.Client{UserAgent: iphone, IP: ip, Country: "fr"}, pts); err != nil {
		t.Fatal(err)
	}
	visitor := field(t, pts[0], "visitor").(string)
	if len(visitor) != 16 || strings.Trim(visitor, "0123456789abcdef") != "" {
		t.Errorf("visitor = %q; want 16 hex digits", visitor)
	}
	for _, p := range pts[:3] {
		for name, want := range map[string]any{"visitor": visitor, "country": "FR", "device": "mobile", "browser": "Safari", "os": "iOS"} {
			if got := field(t, p, name); got != want {
				t.Errorf("%s %s = %v; want %v", p.Dataset, name, got, want)
			}
		}
		if s := field(t, p, "session").(string); len(s) != 16 {
			t.Errorf("%s session = %q; want 16 hex digits", p.Dataset, s)
		}
	}
	if got, want := field(t, pts[2], "fingerprint"), enrich.Fingerprint("TypeError", "x is undefined 7", ""); got != want {
		t.Errorf("fingerprint = %v; want %v (digits do not split a group)", got, want)
	}
	if len(pts[3].Blobs) != 0 {
		t.Errorf("a requests point was filled: %v", pts[3].Blobs)
	}
	for _, s := range append(pts[0].Blobs, pts[2].Blobs...) {
		if strings.Contains(s, "198.51.100.7") || strings.Contains(s, "iPhone") {
			t.Errorf("a field holds the IP address or the User-Agent: %q", s)
		}
	}
}

// visitorOf enriches one page view of a client at the clock's time.
func visitorOf(t *testing.T, e *enrich.Enricher, c *clock, project int64, cl enrich.Client) point.Point {
	t.Helper()
	pts := []point.Point{pv(c.now())}
	if err := e.Apply(context.Background(), project, cl, pts); err != nil {
		t.Fatal(err)
	}
	return pts[0]
}

func TestVisitorIDs(t *testing.T) {
	e, st, c := newEnricher(t, nil)
	a := enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr("198.51.100.7")}
	v := func(project int64, cl enrich.Client) string {
		return field(t, visitorOf(t, e, c, project, cl), "visitor").(string)
	}
	day1 := v(1, a)
	c.set(c.now().Add(5 * time.Hour))
	if got := v(1, a); got != day1 {
		t.Errorf("visitor later the same day = %s; want %s", got, day1)
	}
	b := a
	b.IP = netip.MustParseAddr("198.51.100.8")
	if v(1, b) == day1 {
		t.Error("another IP address has the same visitor id")
	}
	b = a
	b.UserAgent = chromeWin
	if v(1, b) == day1 {
		t.Error("another User-Agent has the same visitor id")
	}
	if v(2, a) == day1 {
		t.Error("another project has the same visitor id")
	}
	c.set(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	if v(1, a) == day1 {
		t.Error("the next day has the same visitor id")
	}
	if days := st.salts(t); len(days) != 1 || days[0] != "2026-12-06" {
		t.Errorf("stored salts are of %v; want only 2026-12-06's", days)
	}

	// A restart the same day reads the day's salt back: same ids.
	day2 := v(1, a)
	opts := enrich.DefaultOptions()
	opts.Settings, opts.Now = st, c.now
	e2, err := enrich.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, visitorOf(t, e2, c, 1, a), "visitor"); got != day2 {
		t.Errorf("visitor after a restart = %v; want %s", got, day2)
	}
}

func TestVisits(t *testing.T) {
	e, _, c := newEnricher(t, nil)
	cl := enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr("198.51.100.7")}
	step := func(d time.Duration) point.Point {
		t.Helper()
		c.set(c.now().Add(d))
		return visitorOf(t, e, c, 1, cl)
	}
	type want struct {
		entry, page, bounce, since float64
	}
	check := func(p point.Point, w want) {
		t.Helper()
		got := want{field(t, p, "entry").(float64), field(t, p, "visit_page").(float64), field(t, p, "bounce").(float64), field(t, p, "since_previous").(float64)}
		if got != w {
			t.Errorf("visit fields = %+v; want %+v", got, w)
		}
	}
	p1 := step(0)
	check(p1, want{1, 1, 1, 0})
	p2 := step(10 * time.Second)
	check(p2, want{0, 2, -1, 10_000})
	p3 := step(29 * time.Minute)
	check(p3, want{0, 3, 0, 29 * 60_000})
	if field(t, p1, "session") != field(t, p3, "session") {
		t.Error("one visit has two session ids")
	}
	// A vital does not count as a page view but keeps the visit alive.
	c.set(c.now().Add(20 * time.Minute))
	vit := []point.Point{{Dataset: "web_vitals", Timestamp: c.now().UnixMilli(), Index: "CLS"}}
	if err := e.Apply(context.Background(), 1, cl, vit); err != nil {
		t.Fatal(err)
	}
	p4 := step(20 * time.Minute)
	check(p4, want{0, 4, 0, 40 * 60_000})
	if field(t, vit[0], "session") != field(t, p1, "session") {
		t.Error("the vital is not in the visit")
	}
	p5 := step(31 * time.Minute)
	check(p5, want{1, 1, 1, 0})
	if field(t, p5, "session") == field(t, p1, "session") {
		t.Error("a visit after 31 idle minutes has the old session id")
	}
	if field(t, p5, "visitor") != field(t, p1, "visitor") {
		t.Error("the visitor changed within the day")
	}
}

func TestVisitAcrossMidnight(t *testing.T) {
	e, st, c := newEnricher(t, nil)
	cl := enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr("198.51.100.7")}
	other := enrich.Client{UserAgent: chromeWin, IP: netip.MustParseAddr("198.51.100.9")}
	c.set(time.Date(2026, 12, 5, 23, 50, 0, 0, time.UTC))
	before := visitorOf(t, e, c, 1, cl)
	c.set(time.Date(2026, 12, 6, 0, 10, 0, 0, time.UTC))
	after := visitorOf(t, e, c, 1, cl)
	if days := st.salts(t); len(days) != 2 {
		t.Errorf("at 00:10 the stored salts are of %v; want yesterday's and today's", days)
	}
	for _, f := range []string{"visitor", "session"} {
		if field(t, before, f) != field(t, after, f) {
			t.Errorf("%s changed at midnight within a visit", f)
		}
	}
	if got := field(t, after, "visit_page"); got != 2.0 {
		t.Errorf("visit_page after midnight = %v; want 2", got)
	}
	// The visit goes on under today's id too, after yesterday's salt is gone.
	c.set(time.Date(2026, 12, 6, 0, 35, 0, 0, time.UTC))
	if err := e.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if days := st.salts(t); len(days) != 1 || days[0] != "2026-12-06" {
		t.Errorf("at 00:35 the stored salts are of %v; want only today's", days)
	}
	later := visitorOf(t, e, c, 1, cl)
	if field(t, later, "session") != field(t, before, "session") || field(t, later, "visit_page") != 3.0 {
		t.Errorf("the visit did not go on after yesterday's salt was deleted: %v", later.Blobs)
	}
	// A new visitor after midnight gets today's id.
	if field(t, visitorOf(t, e, c, 1, other), "visitor") == field(t, before, "visitor") {
		t.Error("another client has the first one's id")
	}
}

func TestSaltsDeletedWithoutTraffic(t *testing.T) {
	e, st, c := newEnricher(t, nil)
	if err := e.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.m[enrich.SaltSetting] = `{"2026-11-01":"` + strings.Repeat("ab", 32) + `","2026-12-05":"` + strings.Repeat("cd", 32) + `","bad":"zz"}`
	e2, err := enrich.New(enrich.Options{Settings: st, Now: c.now, VisitTimeout: 30 * time.Minute, MaxVisits: 10})
	if err != nil {
		t.Fatal(err)
	}
	c.set(time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC))
	if err := e2.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if days := st.salts(t); len(days) != 1 || days[0] != "2026-12-08" {
		t.Errorf("stored salts are of %v; want only 2026-12-08's", days)
	}
	if strings.Contains(st.m[enrich.SaltSetting], strings.Repeat("cd", 32)) {
		t.Error("an old salt is still stored")
	}
}

func TestVisitsBounded(t *testing.T) {
	e, _, c := newEnricher(t, func(o *enrich.Options) { o.MaxVisits = 2 })
	ips := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}
	for _, ip := range ips {
		visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr(ip)})
	}
	// The third visitor was not remembered: each of its page views starts a visit.
	c.set(c.now().Add(time.Second))
	third := visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr(ips[2])})
	if field(t, third, "entry") != 1.0 {
		t.Errorf("the unremembered visitor's entry = %v; want 1", field(t, third, "entry"))
	}
	// Once the others' visits end, there is room again.
	c.set(c.now().Add(time.Hour))
	visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr(ips[2])})
	c.set(c.now().Add(time.Second))
	if p := visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr(ips[2])}); field(t, p, "visit_page") != 2.0 {
		t.Errorf("visit_page = %v; want 2 once there is room", field(t, p, "visit_page"))
	}
}

func TestGeoIP(t *testing.T) {
	path := geotest.Write(t, map[string]string{"203.0.113.0/24": "NZ", "198.51.100.0/25": "DE"})
	e, _, c := newEnricher(t, func(o *enrich.Options) { o.GeoIP = path })
	for ip, want := range map[string]string{"203.0.113.77": "NZ", "198.51.100.7": "DE", "198.51.100.200": "", "192.0.2.1": "", "::ffff:203.0.113.1": "NZ", "2001:db8::1": ""} {
		p := visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr(ip)})
		if got := field(t, p, "country"); got != want {
			t.Errorf("country of %s = %q; want %q", ip, got, want)
		}
	}
	// A trusted proxy's header wins.
	p := visitorOf(t, e, c, 1, enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr("203.0.113.77"), Country: "JP"})
	if got := field(t, p, "country"); got != "JP" {
		t.Errorf("country with a proxy header = %q; want JP", got)
	}
	if _, err := enrich.New(enrich.Options{GeoIP: path + ".missing", VisitTimeout: time.Hour, MaxVisits: 1}); err == nil || !strings.Contains(err.Error(), "GeoIP") {
		t.Errorf("New with a missing database = %v; want an error naming the GeoIP database", err)
	}
}

func TestFingerprint(t *testing.T) {
	v8 := "TypeError: x is undefined\n    at render (https://app.example/main.3f2a.js:1:23456)\n    at go (https://app.example/main.3f2a.js:1:99)"
	if enrich.Fingerprint("TypeError", "x is undefined", v8) != enrich.Fingerprint("TypeError", "x is undefined", strings.ReplaceAll(v8, "23456", "777")) {
		t.Error("a moved column splits the group")
	}
	if enrich.Fingerprint("TypeError", "x is undefined", v8) == enrich.Fingerprint("RangeError", "x is undefined", v8) {
		t.Error("two error types share a fingerprint")
	}
	firefoxStack := "render@https://app.example/main.js:1:2\ngo@https://app.example/main.js:3:4"
	if enrich.Fingerprint("TypeError", "m", firefoxStack) == enrich.Fingerprint("TypeError", "m", "") {
		t.Error("a Firefox stack's first frame is ignored")
	}
}

// TestVisitorDayEdges: a visitor id holds through every minute and hour
// edge of a UTC day (1 ms either side), up to its last millisecond, and
// changes at midnight exactly.
func TestVisitorDayEdges(t *testing.T) {
	e, _, c := newEnricher(t, nil)
	a := enrich.Client{UserAgent: firefox, IP: netip.MustParseAddr("198.51.100.7")}
	v := func(at time.Time) string {
		c.set(at)
		return field(t, visitorOf(t, e, c, 1, a), "visitor").(string)
	}
	day := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	first := v(day)
	for _, at := range []time.Time{
		day.Add(time.Millisecond),
		day.Add(13*time.Minute - time.Millisecond), day.Add(13 * time.Minute), day.Add(13*time.Minute + time.Millisecond),
		day.Add(7*time.Hour - time.Millisecond), day.Add(7 * time.Hour), day.Add(7*time.Hour + time.Millisecond),
		day.Add(24*time.Hour - time.Millisecond),
	} {
		if got := v(at); got != first {
			t.Errorf("visitor at %s = %s; want the day's %s", at.Format(time.RFC3339Nano), got, first)
		}
	}
	// At midnight a visit under way keeps its visitor (yesterday's salt
	// lives on for it); a client not seen in the day before gets the new
	// day's id from midnight exactly: another enricher over the same salts.
	if got := v(day.Add(24 * time.Hour)); got != first {
		t.Errorf("visitor of a visit under way at midnight = %s; want %s", got, first)
	}
	opts := enrich.DefaultOptions()
	st2 := &settings{m: map[string]string{}}
	c2 := &clock{t: day.Add(24*time.Hour - time.Millisecond)}
	opts.Settings, opts.Now = st2, c2.now
	e2, err := enrich.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	before := field(t, visitorOf(t, e2, c2, 1, a), "visitor").(string)
	opts.Settings = st2
	e3, err := enrich.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e3.Close()
	for _, at := range []time.Time{day.Add(24 * time.Hour), day.Add(24*time.Hour + time.Millisecond)} {
		c2.set(at)
		if got := field(t, visitorOf(t, e3, c2, 1, a), "visitor").(string); got == before {
			t.Errorf("a new visit at %s has the previous day's visitor %s; want the new day's", at.Format(time.RFC3339Nano), got)
		}
	}
}
