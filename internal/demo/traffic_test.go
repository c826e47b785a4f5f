package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/point"
)

// fullTraffic runs the whole traffic of days ending at now: the points
// of the period, and the error tracking envelopes.
func fullTraffic(seed uint64, days, scale int) ([]Point, []envelope, *traffic) {
	end := now.UnixMilli()
	start := end - int64(days)*24*3600*1000
	var pts []Point
	t := newTraffic(seed, start, end, scale, func(p *Point) {
		if p.Timestamp >= start && p.Timestamp < end {
			pts = append(pts, *p)
		}
	})
	t.run(nil)
	return pts, t.envelopes(end), t
}

func hashTraffic(pts []Point, envs []envelope) [32]byte {
	var b bytes.Buffer
	for i := range pts {
		appendRecord(&b, &pts[i])
	}
	for i := range envs {
		b.Write(envs[i].body(0))
		b.WriteString(envs[i].ua)
	}
	return sha256.Sum256(b.Bytes())
}

var browserDatasets = []string{"pageviews", "events", "web_vitals", "api_calls", "ui_actions"}

func TestTrafficIsDeterministic(t *testing.T) {
	a, ea, _ := fullTraffic(7, 2, 30)
	b, eb, _ := fullTraffic(7, 2, 30)
	c, ec, _ := fullTraffic(8, 2, 30)
	if hashTraffic(a, ea) != hashTraffic(b, eb) {
		t.Error("the same seed made different traffic")
	}
	if hashTraffic(a, ea) == hashTraffic(c, ec) {
		t.Error("different seeds made the same traffic")
	}
	// The servers' traffic is the same with or without the browsers and
	// error tracking: they draw from random sources of their own.
	var servers []Point
	for _, p := range a {
		if !slices.Contains(browserDatasets, p.Dataset) && p.Dataset != "check_ins" && !(p.Dataset == "websocket" && len(p.Blobs) > 3 && p.Blobs[3] == "browser") {
			servers = append(servers, p)
		}
	}
	if alone := generate(7, 2, 30); hashTraffic(alone, nil) != hashTraffic(servers, nil) {
		t.Errorf("the servers' traffic changed: %d points alone, %d with the browsers", len(alone), len(servers))
	}
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestBrowserTrafficIsWellFormed(t *testing.T) {
	pts, _, tr := fullTraffic(3, 3, 40)
	by := map[string]int{}
	type visitState struct {
		visitor string
		pages   int
		last    int64
	}
	visits := map[string]*visitState{}
	var pageviews []Point
	vitals := map[string][]float64{} // LCP by slow (lessons) or not
	opens, closes, reconnects := 0, 0, 0
	referrers, utm := map[string]int{}, map[string]int{}
	for _, p := range pts {
		by[p.Dataset]++
		s := point.Builtin(p.Dataset)
		pp := point.Point{Dataset: p.Dataset, Timestamp: p.Timestamp, Index: p.Index, Blobs: p.Blobs, Doubles: p.Doubles}
		if err := pp.Validate(); err != nil {
			t.Fatalf("%s point %+v: %v", p.Dataset, p, err)
		}
		field := func(name string) (string, float64) {
			f, err := s.Resolve(name)
			if err != nil {
				t.Fatalf("%s has no field %s", p.Dataset, name)
			}
			if f.Kind == point.KindBlob {
				if f.Pos > len(p.Blobs) {
					return "", 0 // unset: ""
				}
				return p.Blobs[f.Pos-1], 0
			}
			if f.Pos > len(p.Doubles) {
				return "", 0
			}
			return "", p.Doubles[f.Pos-1]
		}
		blob := func(name string) string { v, _ := field(name); return v }
		num := func(name string) float64 { _, v := field(name); return v }
		browser := slices.Contains(browserDatasets, p.Dataset) || p.Dataset == "websocket" && blob("side") == "browser"
		if !browser {
			continue
		}
		if len(p.Blobs) != len(s.Blobs) || len(p.Doubles) != len(s.Doubles) {
			t.Fatalf("%s point has %d blobs and %d doubles; its schema %d and %d", p.Dataset, len(p.Blobs), len(p.Doubles), len(s.Blobs), len(s.Doubles))
		}
		if !hex16.MatchString(blob("visitor")) || !hex16.MatchString(blob("session")) || blob("host") != siteHost ||
			blob("device") == "" || blob("browser") == "" || blob("os") == "" {
			t.Fatalf("%s point without its visitor's fields: %+v", p.Dataset, p)
		}
		if u := blob("user"); u != "" && len(u) != 32 {
			t.Fatalf("user %q is not a 32-hex-digit hash", u)
		}
		switch p.Dataset {
		case "pageviews":
			pageviews = append(pageviews, p)
			if p.Index != blob("path") || !strings.HasPrefix(p.Index, "/") {
				t.Fatalf("page view of %q at path %q", p.Index, blob("path"))
			}
			if num("entry") == 1 {
				referrers[blob("referrer_host")]++
				utm[blob("utm_source")]++
			}
		case "web_vitals":
			m, v := p.Index, num("value")
			if got := blob("rating"); got != rating(m, v) {
				t.Fatalf("%s %v rated %q", m, v, got)
			}
			if m == "LCP" {
				k := "other"
				if strings.HasPrefix(blob("path"), "/lessons/") {
					k = "lessons"
				}
				vitals[k] = append(vitals[k], v)
			}
		case "websocket":
			switch p.Index {
			case "open":
				opens++
				if num("attempt") >= 1 {
					reconnects++
				}
			case "close":
				closes++
				if num("code") == 0 {
					t.Fatalf("a close without its code: %+v", p)
				}
			}
		case "api_calls":
			st, ok := num("status"), num("success")
			if (ok == 1) != (st > 0 && st < 400) {
				t.Fatalf("API call of status %v with success %v", st, ok)
			}
		}
	}
	for _, ds := range browserDatasets {
		if by[ds] == 0 {
			t.Errorf("no %s points", ds)
		}
	}
	// Visits as the enrichment step numbers them: page views 1, 2, … in
	// time order, the first an entry (+1 bounce), the second −1, the time
	// since the previous one, one visitor a visit.
	sort.SliceStable(pageviews, func(i, j int) bool { return pageviews[i].Timestamp < pageviews[j].Timestamp })
	s := point.Builtin("pageviews")
	pos := func(name string) int { f, _ := s.Resolve(name); return f.Pos - 1 }
	entries, bounces := 0.0, 0.0
	days := map[int64]map[string]bool{}
	for _, p := range pageviews {
		sess, visitor := p.Blobs[pos("session")], p.Blobs[pos("visitor")]
		entry, rank, bounce, since := p.Doubles[pos("entry")], p.Doubles[pos("visit_page")], p.Doubles[pos("bounce")], p.Doubles[pos("since_previous")]
		v := visits[sess]
		if v == nil {
			v = &visitState{visitor: visitor}
			visits[sess] = v
		}
		v.pages++
		wantBounce := map[int]float64{1: 1, 2: -1}[v.pages]
		wantSince := 0.0
		if v.pages > 1 {
			wantSince = float64(p.Timestamp - v.last)
		}
		if rank != float64(v.pages) || entry != map[bool]float64{true: 1, false: 0}[v.pages == 1] || bounce != wantBounce || since != wantSince || visitor != v.visitor {
			t.Fatalf("page view %d of visit %s: rank %v entry %v bounce %v since %v visitor %s; want since %v, visitor %s",
				v.pages, sess, rank, entry, bounce, since, visitor, wantSince, v.visitor)
		}
		if since > 30*60000 {
			t.Fatalf("page views %v ms apart in one visit: the beacon would have started another", since)
		}
		v.last = p.Timestamp
		entries += entry
		bounces += bounce
		day := p.Timestamp / (24 * 3600 * 1000)
		if days[day] == nil {
			days[day] = map[string]bool{}
		}
		days[day][visitor] = true
	}
	if rate := bounces / entries; rate < 0.2 || rate > 0.5 {
		t.Errorf("bounce rate %.2f; want 0.2–0.5", rate)
	}
	if views := float64(len(pageviews)) / entries; views < 2 || views > 5 {
		t.Errorf("%.1f page views a visit; want 2–5", views)
	}
	for _, want := range []string{"", "google.com", "canvas.instructure.com", "moodle.lakeside.edu"} {
		if referrers[want] == 0 {
			t.Errorf("no visit from referrer %q: %v", want, referrers)
		}
	}
	if utm["newsletter"] == 0 {
		t.Errorf("no newsletter visits: %v", utm)
	}
	p75 := func(xs []float64) float64 { sort.Float64s(xs); return xs[len(xs)*3/4] }
	if slow, other := p75(vitals["lessons"]), p75(vitals["other"]); slow < 4000 || other > 3000 {
		t.Errorf("LCP p75 %.0f ms on lessons, %.0f ms elsewhere; want lessons the slow page (poor) and the others not", slow, other)
	}
	if opens < closes || opens > closes+10 || reconnects == 0 { // a few still open at the end
		t.Errorf("browser WebSockets: %d opens, %d closes, %d reconnects", opens, closes, reconnects)
	}
	for d, vs := range days {
		t.Logf("day %d: %d visitors", d, len(vs))
	}
	// The JavaScript errors happened on the pages of the visits, and the
	// sessions count every visit.
	started := 0
	for _, c := range tr.b.sessions {
		started += c.started
		if c.crashed+c.errored > c.started {
			t.Errorf("sessions %+v", c)
		}
	}
	if float64(started) != entries {
		t.Errorf("%d sessions, %v visits", started, entries)
	}
	t.Logf("three days at scale 40: %v; %d visits, %d JavaScript errors", by, len(visits), len(tr.b.jsErrors))
}

// Every browser's User-Agent is named by the enrichment step as the
// points name it.
func TestProfilesMatchTheirUserAgents(t *testing.T) {
	e, err := enrich.New(enrich.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles {
		a := e.ParseAgent(p.ua)
		if a.Bot || a.Browser != p.browser || a.OS != p.os || a.Device != p.device {
			t.Errorf("%s parses as %+v; the profile says %s on %s (%s)", p.ua, a, p.browser, p.os, p.device)
		}
	}
}

func TestErrorEnvelopesAreWellFormed(t *testing.T) {
	_, envs, tr := fullTraffic(5, 2, 30)
	end := now.UnixMilli()
	start := end - 2*24*3600*1000
	tl := tr.s.tl
	fingerprints := map[string]map[string]bool{} // bug → fingerprints
	releases := map[string]map[string]bool{}     // bug → releases
	users := map[string]bool{}
	var retriever []int64
	points := map[string]int{}
	monitors := map[string]bool{}
	events, browserEvents := 0, 0
	for i := range envs {
		e := &envs[i]
		env, err := errtrack.ParseEnvelope(e.body(end))
		if err != nil {
			t.Fatalf("envelope %d (%s): %v", i, e.summary, err)
		}
		b, err := errtrack.Process(env, errtrack.ProcessOptions{Project: 1, Received: end + 1000, MaxAge: 90 * 24 * time.Hour, Limits: errtrack.DefaultLimits()})
		if err != nil {
			t.Fatalf("envelope %d (%s): %v", i, e.summary, err)
		}
		if len(b.Invalid) > 0 {
			t.Fatalf("envelope %d (%s): %v", i, e.summary, b.Invalid)
		}
		for _, p := range b.Points {
			points[p.Dataset]++
			if p.Dataset != "check_ins" && (p.Timestamp < start || p.Timestamp >= end) {
				t.Fatalf("a %s point at %v, outside the period", p.Dataset, time.UnixMilli(p.Timestamp))
			}
		}
		for _, c := range b.CheckIns {
			if c.Config == nil {
				t.Errorf("check-in of %s without its monitor_config", c.Slug)
			}
			monitors[c.Slug] = true
		}
		if len(b.Events) != e.events {
			t.Fatalf("envelope %d holds %d events; it says %d", i, len(b.Events), e.events)
		}
		for _, in := range b.Events {
			events++
			ev := in.Event
			if in.Timestamp != e.ts || in.Timestamp < start || in.Timestamp >= end {
				t.Fatalf("%s event at %v (sent as %v): not its own time in the period", e.bug, time.UnixMilli(in.Timestamp), time.UnixMilli(e.ts))
			}
			if fingerprints[e.bug] == nil {
				fingerprints[e.bug], releases[e.bug] = map[string]bool{}, map[string]bool{}
			}
			fingerprints[e.bug][in.Grouping.Fingerprint] = true
			releases[e.bug][ev.Release] = true
			if id := ev.User.Key(); id != "" {
				users[id] = true
			}
			if errtrack.IsBrowser(ev) {
				browserEvents++
				if !strings.HasPrefix(e.ua, "Mozilla/5.0") {
					t.Errorf("a browser's event sent as %q", e.ua)
				}
				pts := errtrack.EventPoints(ev, in.Grouping, errtrack.Outcome{}, in.Timestamp)
				if len(pts) != 2 || pts[1].Dataset != "client_errors" {
					t.Fatalf("browser event's points: %+v", pts)
				}
			} else if ev.Platform != "go" || ev.SDK.Name != sdkGo || ev.Transaction == "" || ev.ServerName == "" {
				t.Errorf("API event: platform %q sdk %q transaction %q server %q", ev.Platform, ev.SDK.Name, ev.Transaction, ev.ServerName)
			}
			switch {
			case e.bug == goBugs[bugRetriever].key:
				retriever = append(retriever, in.Timestamp)
			case e.bug == goBugs[bugDBLocked].key && in.Timestamp >= tl.deploy:
				t.Errorf("the database lock fixed in %s happened after the deploy", releaseNew)
			}
		}
	}
	// Each bug is one error group, and each group one bug.
	if len(fingerprints) != numGoBugs+numJSBugs {
		t.Errorf("%d bugs sent; want %d", len(fingerprints), numGoBugs+numJSBugs)
	}
	seen := map[string]string{}
	for bug, fps := range fingerprints {
		if len(fps) != 1 {
			t.Errorf("bug %s has %d fingerprints; want one group", bug, len(fps))
		}
		for fp := range fps {
			if other, ok := seen[fp]; ok {
				t.Errorf("bugs %s and %s group together", bug, other)
			}
			seen[fp] = bug
		}
	}
	// The regression: before the deploy, none between it and the return,
	// then again in the new release.
	var before, between, after int
	for _, ts := range retriever {
		switch {
		case ts < tl.deploy:
			before++
		case ts < tl.regress:
			between++
		default:
			after++
		}
	}
	if before < minEvents || between != 0 || after < minEvents || !releases[goBugs[bugRetriever].key][releaseNew] {
		t.Errorf("retriever bug: %d events before the deploy, %d until it came back, %d after; releases %v", before, between, after, releases[goBugs[bugRetriever].key])
	}
	if !releases[jsBugs[bugChatMap].key][releaseOld] || !releases[jsBugs[bugChatMap].key][releaseNew] {
		t.Errorf("the chat log bug is in releases %v; want both", releases[jsBugs[bugChatMap].key])
	}
	if len(users) < 10 || browserEvents == 0 {
		t.Errorf("%d users, %d browser events", len(users), browserEvents)
	}
	for _, ds := range []string{"transactions", "spans", "sessions", "logs", "check_ins"} {
		if points[ds] == 0 {
			t.Errorf("no %s points from the envelopes", ds)
		}
	}
	if !monitors[monitorNightly] || !monitors[monitorRoster] {
		t.Errorf("check-ins of %v", monitors)
	}
	// The last envelopes are the check-ins of now, in order.
	last := envs[len(envs)-4:]
	for _, e := range last {
		if e.phase != 2 || e.summary != "check_in" {
			t.Errorf("the last envelopes are %s (phase %d); want the check-ins", e.summary, e.phase)
		}
	}
	t.Logf("two days at scale 30: %d envelopes, %d error events (%d from browsers), %d users; points %v", len(envs), events, browserEvents, len(users), points)
}

func TestCheckInHistory(t *testing.T) {
	pts, _, _ := fullTraffic(2, 3, 20)
	s := point.Builtin("check_ins")
	status, _ := s.Resolve("status")
	by := map[string]map[string]int{}
	for _, p := range pts {
		if p.Dataset != "check_ins" {
			continue
		}
		if by[p.Index] == nil {
			by[p.Index] = map[string]int{}
		}
		by[p.Index][p.Blobs[status.Pos-1]]++
	}
	n, r := by[monitorNightly], by[monitorRoster]
	if n["ok"] < 2 || n["ok"] != n["in_progress"] || len(n) != 2 {
		t.Errorf("%s: %v; want a run a day, each ok", monitorNightly, n)
	}
	if r["ok"] < 50 || r["missed"] == 0 || r["error"] == 0 {
		t.Errorf("%s: %v; want runs every hour, some failing and some missed", monitorRoster, r)
	}
}

func TestDefaultScaleMakesAWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a week")
	}
	o := DefaultOptions()
	end := now.UnixMilli()
	start := end - int64(o.Days)*24*3600*1000
	n := 0
	visitors := map[int64]map[string]bool{}
	vis := point.Builtin("pageviews")
	vf, _ := vis.Resolve("visitor")
	tr := newTraffic(o.Seed, start, end, o.Scale, func(p *Point) {
		if p.Timestamp < start || p.Timestamp >= end {
			return
		}
		n++
		if p.Dataset == "pageviews" {
			d := p.Timestamp / (24 * 3600 * 1000)
			if visitors[d] == nil {
				visitors[d] = map[string]bool{}
			}
			visitors[d][p.Blobs[vf.Pos-1]] = true
		}
	})
	tr.run(nil)
	envs := tr.envelopes(end)
	events := 0
	for _, e := range envs {
		events += e.events
	}
	if n < 1_500_000 || n > 3_500_000 {
		t.Errorf("a week at the default scale is %d points; want 1.5–3.5 million", n)
	}
	for d, v := range visitors {
		if len(v) < 300 || len(v) > 5000 {
			t.Errorf("day %d has %d visitors; want a few hundred to a few thousand", d, len(v))
		}
	}
	if events < 300 || events > 5000 || len(envs) > 2*events {
		t.Errorf("%d error events in %d envelopes; want hundreds to a few thousand, most envelopes an event", events, len(envs))
	}
	data, _ := json.Marshal(map[string]any{"points": n, "events": events, "envelopes": len(envs)})
	t.Logf("a week at scale %d: %s", o.Scale, data)
}
