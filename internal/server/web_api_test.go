package server_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/web"
)

// TestWebAnswers posts two days and more of a site's browser events through
// the beacon (with a fake clock: the points' times are exact), then checks
// every figure of GET /api/v1/web against references computed from the
// events: over a range on whole hours (from rollups, raw where they cannot
// answer), over one that is not (raw edges), with source=raw, with from/to,
// with a small top; page views at the edges of both periods count exactly
// in the one they belong to; another project's events and the server's own
// WebSocket points are not counted.
func TestWebAnswers(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	nowMs := now.UnixMilli()
	const hour, day = int64(3_600_000), int64(86_400_000)
	clk := &webClock{t: now.Add(-60 * time.Hour)}
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = clk.now; o.TrustProxy = true }})
	pub, R := e.keys[meta.KindPublic], e.keys[meta.KindRead]

	rng := rand.New(rand.NewPCG(12, 34))
	var clients []webClient
	countries := []string{"NZ", "DE", "US", "FR"}
	for i := range 12 {
		clients = append(clients, webClient{ip: fmt.Sprintf("198.51.100.%d", i+1), country: countries[i%len(countries)], agent: webAgents[i%len(webAgents)]})
	}
	m, posts := webGen(rng, clients, nowMs-50*hour, nowMs-2*60_000)
	// One page view each, by clients of their own, at the edges of the two
	// periods: a millisecond before each start, at it, and at the end.
	for i, at := range []int64{nowMs - 2*day - 1, nowMs - 2*day, nowMs - day - 1, nowMs - day, nowMs - 1, nowMs} {
		c := webClient{ip: fmt.Sprintf("192.0.2.%d", i+1), country: "JP", agent: webAgents[i%len(webAgents)]}
		path := fmt.Sprintf("/edge/%d", i)
		m.pvs = append(m.pvs, wPageView{ts: at, path: path, client: 100 + i, session: -(i + 1), rank: 1, entry: 1, bounce: 1,
			visitor: fmt.Sprintf("edge%d", i), country: c.country, device: c.agent.device, browser: c.agent.browser, osName: c.agent.os})
		posts = append(posts, webPost{at: at, client: c, events: []map[string]any{{"type": "pageview", "url": "https://site.example" + path, "timestamp": at}}})
	}
	if len(m.pvs) < 150 || len(m.vitals) < 300 || len(m.sockets) < 20 || len(m.errs) < 10 {
		t.Fatalf("the model is too small: %d page views, %d vitals, %d socket events, %d errors", len(m.pvs), len(m.vitals), len(m.sockets), len(m.errs))
	}
	webPostAll(t, e, clk, pub, posts)

	// The server's own WebSocket points (side "") are not the browsers'.
	W := e.keys[meta.KindWrite]
	e.write(W, []aePoint{
		{Dataset: "websocket", Timestamp: nowMs - hour, Indexes: []string{"open"}, Blobs: []string{"open"}},
		{Dataset: "websocket", Timestamp: nowMs - hour, Indexes: []string{"close"}, Blobs: []string{"close"}, Doubles: []float64{100, 1006}},
	})
	// Another project's page views, at the same times.
	var other struct {
		Keys map[string]string `json:"keys"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other-site"}, nil, &other); code != 201 {
		t.Fatalf("POST /api/v1/projects = %d", code)
	}
	clk.set(now.Add(-2 * time.Hour))
	otherPosts := []webPost{{at: nowMs - 2*hour, client: clients[0], events: []map[string]any{
		{"type": "pageview", "url": "https://other.example/", "timestamp": nowMs - 2*hour},
		{"type": "pageview", "url": "https://other.example/x", "timestamp": nowMs - 2*hour},
		{"type": "vital", "name": "LCP", "value": 99999, "url": "https://other.example/", "timestamp": nowMs - 2*hour}}}}
	webPostAll(t, e, clk, other.Keys["public"], otherPosts)

	// A range on whole hours: rollups answer what they can.
	clk.set(now)
	code, a := e.web(R, "range=24h&top=100")
	if code != 200 {
		t.Fatalf("GET /api/v1/web?range=24h = %d %v", code, a.raw)
	}
	webCheck(t, "range=24h", a, &m, nowMs-day, nowMs, 100, 0.01)
	wantSources := map[string]string{
		"visits": "rollup", "pageViews": "rollup", "viewsPerVisit": "rollup", "bounceRate": "rollup", "visitDuration": "rollup",
		"jsErrors": "rollup", "jsErrorRate": "rollup", "pages": "rollup", "entryPages": "mixed",
		"devices": "rollup", "browsers": "rollup", "os": "rollup", "countries": "rollup",
		"errors.byType": "rollup", "apiCalls": "rollup", "actions": "rollup", "websocket": "rollup",
		"visitors": "raw", "exitPages": "raw", "referrers": "raw", "utm.sources": "raw", "utm.mediums": "raw", "utm.campaigns": "raw",
		"errors.byPage": "raw", "vitals.byPage": "raw",
		// Kinds from rollups, attempts from raw points; rated samples from
		// rollups, unrated ones from raw points.
		"websocket.reconnects": "mixed", "vitals": "mixed",
		"previous": "mixed",
	}
	for k, want := range wantSources {
		if got := a.meta.Sources[k]; got != want {
			t.Errorf("meta.sources[%q] = %q; want %q", k, got, want)
		}
	}
	for k := range a.meta.Sources {
		if _, ok := wantSources[k]; !ok {
			t.Errorf("meta.sources has %q, which the test does not know", k)
		}
	}
	if a.meta.Source != "mixed" || a.meta.Top != 100 || len(a.meta.Warnings) != 0 {
		t.Errorf("meta = %+v; want source mixed, top 100, no warnings", a.meta)
	}

	// source=rollup: the same; what rollups cannot answer stays raw.
	code, g := e.web(R, "range=24h&top=100&source=rollup")
	if code != 200 {
		t.Fatalf("GET source=rollup = %d %v", code, g.raw)
	}
	webCheck(t, "source=rollup", g, &m, nowMs-day, nowMs, 100, 0.01)
	for k, want := range wantSources {
		if got := g.meta.Sources[k]; got != want {
			t.Errorf("source=rollup: meta.sources[%q] = %q; want %q", k, got, want)
		}
	}

	// from/to: the same period, the same answer.
	code, b := e.web(R, "from="+now.Add(-24*time.Hour).Format(time.RFC3339)+"&to="+strconv.FormatInt(nowMs, 10)+"&top=100")
	if code != 200 {
		t.Fatalf("GET from/to = %d %v", code, b.raw)
	}
	webCheck(t, "from/to", b, &m, nowMs-day, nowMs, 100, 0.01)

	// Raw points for everything: exact quantiles.
	code, c := e.web(R, "range=24h&top=100&source=raw")
	if code != 200 || c.meta.Source != "raw" {
		t.Fatalf("GET source=raw = %d, source %q", code, c.meta.Source)
	}
	webCheck(t, "source=raw", c, &m, nowMs-day, nowMs, 100, 1e-9)

	// A range off the minute: rollups for the whole minutes and hours,
	// raw points for the edges, exact all the same.
	off := now.Add(37*time.Second + 250*time.Millisecond)
	clk.set(off)
	code, d := e.web(R, "range=24h&top=100")
	if code != 200 {
		t.Fatalf("GET off the minute = %d", code)
	}
	webCheck(t, "off the minute", d, &m, off.UnixMilli()-day, off.UnixMilli(), 100, 0.01)
	if got := d.meta.Sources["visits"]; got != "mixed" {
		t.Errorf("off the minute: meta.sources.visits = %q; want mixed (raw edges)", got)
	}

	// A small top bounds every list.
	clk.set(now)
	code, f := e.web(R, "range=24h&top=2")
	if code != 200 {
		t.Fatalf("GET top=2 = %d", code)
	}
	webCheck(t, "top=2", f, &m, nowMs-day, nowMs, 2, 0.01)

	// The other project sees only its own.
	code, o := e.web(other.Keys["read"], "range=24h")
	if code != 200 {
		t.Fatalf("GET as the other project = %d", code)
	}
	om := webModel{pvs: []wPageView{{ts: nowMs - 2*hour, path: "/", visitor: "o", session: 1, rank: 1, entry: 1, bounce: 1,
		country: clients[0].country, device: clients[0].agent.device, browser: clients[0].agent.browser, osName: clients[0].agent.os},
		{ts: nowMs - 2*hour, path: "/x", visitor: "o", session: 1, rank: 2, bounce: -1,
			country: clients[0].country, device: clients[0].agent.device, browser: clients[0].agent.browser, osName: clients[0].agent.os}},
		vitals: []wVital{{ts: nowMs - 2*hour, name: "LCP", path: "/", value: 99999}}}
	webCheck(t, "other project", o, &om, nowMs-day, nowMs, web.DefaultTop, 0.01)
}

// TestWebParams checks the keys that may ask and the parameters' faults,
// each a 400 naming the parameter, on an empty store (every figure 0 or
// null, every list empty).
func TestWebParams(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, kind := range []meta.KeyKind{meta.KindPublic, meta.KindWrite} {
		if code, _ := e.web(e.keys[kind], "range=7d"); code != 403 {
			t.Errorf("GET /api/v1/web with a %s key = %d; want 403", kind, code)
		}
	}
	if code, _ := e.web("", "range=7d"); code != 401 {
		t.Errorf("GET /api/v1/web without a key = %d; want 401", code)
	}
	for _, kind := range []meta.KeyKind{meta.KindRead, meta.KindAdmin} {
		code, a := e.web(e.keys[kind], "range=7d")
		if code != 200 {
			t.Fatalf("GET /api/v1/web with a %s key = %d %v", kind, code, a.raw)
		}
		webCheck(t, "empty", a, &webModel{}, webParseRFC(t, a.meta.To)-7*86_400_000, webParseRFC(t, a.meta.To), web.DefaultTop, 0)
	}
	for _, c := range []struct{ params, want string }{
		{"range=7x", "range"},
		{"range=0d", "range"},
		{"range=500d", "range"},
		{"top=0", "top: must be a whole number from 1 to 100"},
		{"top=101", "top: must be a whole number from 1 to 100"},
		{"top=x", "top"},
		{"interval=1h", "interval: unknown parameter"},
		{"from=yesterday", "from"},
		{"to=1700000000000", "to: needs from"},
		{"range=7d&from=1700000000000", "range"},
		{"from=1700000000000&to=1600000000000", "from: must be before to"},
		{"source=cache", "source"},
		{"range=1d&range=2d", "range"},
	} {
		var body struct {
			Error struct{ Code, Message string }
		}
		code := e.call("GET", "/api/v1/web?"+c.params, e.keys[meta.KindRead], nil, nil, &body)
		if code != 400 || body.Error.Code != "bad_params" || !strings.Contains(body.Error.Message, "web: "+c.want) {
			t.Errorf("GET /api/v1/web?%s = %d %+v; want 400 bad_params naming %q", c.params, code, body.Error, c.want)
		}
	}
}

// TestWebSampledExits: with equitable sampling on page views, a stored
// page view stands for several; the exit pages weigh each visit's last
// page view by its sample interval, so they still count every visit.
func TestWebSampledExits(t *testing.T) {
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.TrustProxy = true }})
	A, R := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	if code := e.call("PATCH", "/api/v1/datasets/pageviews", A, `{"sampling":{"pointsPerSecond":1}}`, nil, nil); code != 200 {
		t.Fatalf("PATCH sampling = %d", code)
	}
	// One-page visits, by clients of their own, as fast as they go: past
	// the first second, most are sampled away.
	const visits = 120
	var posts []webPost
	for i := range visits {
		c := webClient{ip: fmt.Sprintf("198.18.%d.%d", i/200, i%200+1), country: "NZ", agent: webAgents[i%len(webAgents)]}
		posts = append(posts, webPost{client: c, events: []map[string]any{{"type": "pageview", "url": "https://site.example/"}}})
	}
	for _, p := range posts {
		p.at = time.Now().UnixMilli()
		webPostAll(t, e, &webClock{}, e.keys[meta.KindPublic], []webPost{p})
	}
	// The sampler holds the last group of a burst back (it is stored
	// later), and the rollups count every point: the exits are the weight
	// of the stored visits, the page views all of them.
	stored := e.one("SELECT count() AS n, sum(_sample_interval) AS w FROM pageviews")
	n, _ := strconv.ParseFloat(fmt.Sprint(stored["n"]), 64)
	w, _ := strconv.ParseFloat(fmt.Sprint(stored["w"]), 64)
	if n >= w || w > visits {
		t.Fatalf("stored page views %v; want points standing for several, %d at most", stored, visits)
	}
	code, a := e.web(R, "range=24h")
	if code != 200 {
		t.Fatalf("GET /api/v1/web = %d %v", code, a.raw)
	}
	want := []any{map[string]any{"page": "/", "exits": w, "pageViews": float64(visits), "exitRate": 100 * w / visits}}
	webCompareJSON(t, "exitPages", a.raw["exitPages"], want, 0)
	webCompareJSON(t, "summary", a.raw["summary"], map[string]any{"pageViews": float64(visits), "visits": float64(visits), "bounceRate": 100.0}, 0)
}

// TestWebRollupsOff: with rollups off every figure reads raw points, and
// source=rollup is a 400 that says why.
func TestWebRollupsOff(t *testing.T) {
	se := servertest.Start(t, servertest.Options{RootKey: rootKey, Planner: func(o *planner.Options) { o.Disabled = true }})
	e := &env{t: t, url: se.URL, keys: se.Keys, store: se.Store, srv: se.Server, pipe: se.Pipeline}
	webPostAll(t, e, &webClock{}, e.keys[meta.KindPublic], []webPost{{at: time.Now().UnixMilli(), client: webClient{ip: "192.0.2.1", agent: webAgents[0]},
		events: []map[string]any{{"type": "pageview", "url": "https://site.example/a"}, {"type": "pageview", "url": "https://site.example/b"}}}})
	code, a := e.web(e.keys[meta.KindRead], "range=1h")
	if code != 200 || a.meta.Source != "raw" {
		t.Fatalf("GET /api/v1/web with rollups off = %d, source %q; want 200 raw", code, a.meta.Source)
	}
	webCompareJSON(t, "summary", a.raw["summary"], map[string]any{"pageViews": 2.0, "visits": 1.0, "visitors": 1.0, "bounceRate": 0.0}, 0)
	webCompareJSON(t, "exitPages", a.raw["exitPages"], []any{map[string]any{"page": "/b", "exits": 1.0}}, 0)
	var body struct {
		Error struct{ Code, Message string }
	}
	if code := e.call("GET", "/api/v1/web?range=1h&source=rollup", e.keys[meta.KindRead], nil, nil, &body); code != 400 || !strings.Contains(body.Error.Message, "rollups are turned off") {
		t.Errorf("GET source=rollup with rollups off = %d %+v; want 400 saying rollups are off", code, body.Error)
	}
}
