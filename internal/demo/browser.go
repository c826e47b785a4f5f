package demo

import (
	"math"
	"strings"
	"time"
)

// The browsers' side of the tutoring platform: students and visitors on
// its web app, written as the beacon and the enrichment step would have
// written them (the built-in browser datasets, every field the web
// analytics read: visitor and visit ids, entry, bounce and visit time).
// The beacon itself only takes events of the last 24 hours and derives
// visitors from the sender's address, so a week of many browsers is
// written through the points API instead. The JavaScript errors go
// through error tracking (sentry.go), which writes their client_errors
// points.

const (
	siteHost = "tutor.example.com"
	siteURL  = "https://" + siteHost
)

// JavaScript engines: their error messages differ.
const (
	engineV8 = iota
	engineJSC
	engineGecko
)

// profile is a browser on a device, as its User-Agent says and as the
// enrichment step names it (medama-io/go-useragent).
type profile struct {
	ua, browser, os, device string
	engine                  int
	weight                  float64
}

var profiles = []profile{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "Windows", "desktop", engineV8, 30},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "MacOS", "desktop", engineV8, 8},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "ChromeOS", "desktop", engineV8, 7},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge", "Windows", "desktop", engineV8, 7},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari", "MacOS", "desktop", engineJSC, 5},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Windows", "desktop", engineGecko, 3},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Linux", "desktop", engineGecko, 1},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari", "iOS", "mobile", engineJSC, 20},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome", "Android", "mobile", engineV8, 12},
	{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Browser", "Android", "mobile", engineV8, 3},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome", "iOS", "mobile", engineJSC, 2},
	{"Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari", "iOS", "tablet", engineJSC, 3},
}

var countries = []struct {
	code   string
	weight float64
}{{"US", 48}, {"GB", 8}, {"IN", 8}, {"CA", 7}, {"AU", 4}, {"DE", 3}, {"BR", 3}, {"PH", 3}, {"MX", 2}, {"NG", 2},
	{"FR", 2}, {"ES", 2}, {"NL", 1.5}, {"IE", 1}, {"ZA", 1}, {"PL", 1}, {"SG", 1}, {"NZ", 1}, {"", 1.5}}

// Page kinds of the web app.
const (
	pgHome = iota
	pgLogin
	pgDashboard
	pgCourse
	pgLesson
	pgChat
	pgAssessment
	numPages
)

// pageKind is one kind of page: where visitors go next, how long they
// stay, and its Core Web Vitals (desktop medians; phones are slower).
type pageKind struct {
	name     string
	exit     float64           // chance the visit ends here
	next     [numPages]float64 // weights of the next page
	dwell    float64           // median ms on the page
	ttfb     float64           // ms
	fcp, lcp float64           // ms
	inp      float64           // ms
	cls      float64           // median of the pages that shift
	shift    float64           // share of views with a layout shift
	interact float64           // share of views with an interaction (INP, FID)
	el       [3]string         // the LCP, INP and CLS elements
	actions  []string          // Redux actions of a view, besides navigation
}

var pages = [numPages]pageKind{
	pgHome: {name: "home", exit: 0.5, next: [numPages]float64{pgCourse: 45, pgLogin: 35, pgLesson: 12, pgChat: 8},
		dwell: 35000, ttfb: 180, fcp: 900, lcp: 1500, inp: 90, cls: 0.05, shift: 0.5, interact: 0.5,
		el: [3]string{"img.hero", "a.cta", "section.testimonials"}, actions: []string{"ui/toggleMenu"}},
	pgLogin: {name: "login", exit: 0.08, next: [numPages]float64{pgDashboard: 1},
		dwell: 20000, ttfb: 150, fcp: 700, lcp: 1100, inp: 70, cls: 0.02, shift: 0.1, interact: 0.95,
		el: [3]string{"form#login>h1", "button#submit", "div.toast"}, actions: []string{"auth/loginSucceeded"}},
	pgDashboard: {name: "dashboard", exit: 0.12, next: [numPages]float64{pgCourse: 25, pgLesson: 35, pgChat: 20, pgAssessment: 20},
		dwell: 40000, ttfb: 300, fcp: 950, lcp: 1500, inp: 90, cls: 0.04, shift: 0.3, interact: 0.8,
		el: [3]string{"div.progress-grid", "div.course-card", "div.streak-banner"}, actions: []string{"ui/toggleSidebar"}},
	pgCourse: {name: "course", exit: 0.35, next: [numPages]float64{pgLesson: 70, pgLogin: 15, pgAssessment: 15},
		dwell: 60000, ttfb: 220, fcp: 900, lcp: 1600, inp: 90, cls: 0.05, shift: 0.3, interact: 0.6,
		el: [3]string{"img.course-cover", "button.enroll", "div.syllabus"}, actions: []string{"course/enroll"}},
	// The slow page: a lesson's hero image and embedded video make its
	// LCP poor on phones and middling on desktops.
	pgLesson: {name: "lesson", exit: 0.3, next: [numPages]float64{pgLesson: 35, pgChat: 35, pgAssessment: 20, pgDashboard: 10},
		dwell: 240000, ttfb: 300, fcp: 1250, lcp: 2900, inp: 140, cls: 0.12, shift: 0.6, interact: 0.75,
		el: [3]string{"img.lesson-hero", "button.next-lesson", "img.lesson-figure"}, actions: []string{"lesson/open", "video/play", "lesson/markComplete"}},
	pgChat: {name: "chat", exit: 0.45, next: [numPages]float64{pgLesson: 50, pgDashboard: 30, pgAssessment: 20},
		dwell: 300000, ttfb: 200, fcp: 900, lcp: 1400, inp: 210, cls: 0.02, shift: 0.15, interact: 0.97,
		el: [3]string{"main>p", "button#send", "div.chat-log"}},
	pgAssessment: {name: "assessment", exit: 0.4, next: [numPages]float64{pgDashboard: 40, pgLesson: 40, pgChat: 20},
		dwell: 420000, ttfb: 250, fcp: 1000, lcp: 1600, inp: 120, cls: 0.03, shift: 0.2, interact: 0.95,
		el: [3]string{"h1.question", "button.answer-option", "div.timer"}},
}

var courseSlugs = []string{"algebra-1", "biology", "chemistry", "us-history", "python-101", "spanish-2", "geometry", "physics", "statistics", "world-literature"}

// source is where a visit comes from.
type source struct {
	referrer                                   string // the entry's referrer
	utmSource, utmMedium, utmCampaign, utmTerm string
	weight                                     float64
	students                                   float64 // share of visits by signed-in students
	entries                                    [numPages]float64
}

var sources = []source{
	{referrer: "", weight: 30, students: 0.85, entries: [numPages]float64{pgDashboard: 60, pgChat: 18, pgHome: 12, pgLogin: 10}},
	{referrer: "https://www.google.com/", weight: 26, students: 0.2, entries: [numPages]float64{pgHome: 35, pgCourse: 45, pgLesson: 20}},
	{referrer: "https://www.google.com/", utmSource: "google", utmMedium: "cpc", utmCampaign: "exam-prep", utmTerm: "algebra tutor",
		weight: 4, students: 0.05, entries: [numPages]float64{pgHome: 30, pgCourse: 70}},
	{referrer: "https://canvas.instructure.com/courses/4821/assignments", weight: 14, students: 1, entries: [numPages]float64{pgAssessment: 50, pgLesson: 40, pgChat: 10}},
	{referrer: "https://moodle.lakeside.edu/mod/lti/launch.php", weight: 6, students: 1, entries: [numPages]float64{pgAssessment: 55, pgLesson: 45}},
	{referrer: "", utmSource: "newsletter", utmMedium: "email", utmCampaign: "study-tips-weekly",
		weight: 8, students: 0.8, entries: [numPages]float64{pgLesson: 60, pgCourse: 40}},
	{referrer: "https://www.bing.com/", weight: 3, students: 0.2, entries: [numPages]float64{pgHome: 40, pgCourse: 60}},
	{referrer: "https://chatgpt.com/", weight: 3, students: 0.1, entries: [numPages]float64{pgHome: 50, pgCourse: 30, pgLesson: 20}},
	{referrer: "https://www.youtube.com/", weight: 3, students: 0.3, entries: [numPages]float64{pgLesson: 70, pgHome: 30}},
	{referrer: "https://duckduckgo.com/", weight: 2, students: 0.2, entries: [numPages]float64{pgHome: 40, pgCourse: 60}},
	{referrer: "https://www.reddit.com/r/GetStudying/", weight: 2, students: 0.1, entries: [numPages]float64{pgHome: 60, pgCourse: 40}},
}

// apiCall is an API call a page makes: an endpoint of the servers
// (gen.go), as the browser SDK names it.
type apiCall struct {
	endpoint string // "GET /api/lessons/:id"
	route    int    // index in endpoints
	share    float64
}

func route(r string) int {
	for i, e := range endpoints {
		if e.route == r {
			return i
		}
	}
	panic("BUG: no endpoint " + r)
}

var (
	apiCourses  = apiCall{"GET /api/courses", route("GET /api/courses"), 1}
	apiMe       = apiCall{"GET /api/users/me", route("GET /api/users/me"), 1}
	apiProgress = apiCall{"GET /api/progress", route("GET /api/progress"), 1}
	apiLesson   = apiCall{"GET /api/lessons/:id", route("GET /api/lessons/{id}"), 1}
	apiAssess   = apiCall{"GET /api/assessments/:id", route("GET /api/assessments/{id}"), 1}
	apiSubmit   = apiCall{"POST /api/assessments/:id/submit", route("POST /api/assessments/{id}/submit"), 1}
	apiChat     = apiCall{"POST /api/chat/messages", route("POST /api/chat/messages"), 1}
	apiSearch   = apiCall{"GET /api/search", route("GET /api/search"), 1}
	apiLogin    = apiCall{"POST /api/auth/login", route("POST /api/auth/login"), 1}
)

// pageCalls are the calls a page makes when it loads (chat messages and
// submissions come later, from the student).
var pageCalls = [numPages][]apiCall{
	pgHome:       {{apiCourses.endpoint, apiCourses.route, 0.8}},
	pgLogin:      {},
	pgDashboard:  {apiMe, apiProgress, apiCourses},
	pgCourse:     {apiCourses, {apiMe.endpoint, apiMe.route, 0.6}},
	pgLesson:     {apiLesson, {apiProgress.endpoint, apiProgress.route, 0.5}, {apiSearch.endpoint, apiSearch.route, 0.1}},
	pgChat:       {apiMe, {apiSearch.endpoint, apiSearch.route, 0.2}},
	pgAssessment: {apiAssess},
}

// Redux actions: their median handling time (ms) and component.
var actionInfo = map[string]struct {
	median    float64
	component string
}{
	"router/locationChanged": {0.4, "Router"}, "ui/toggleMenu": {0.8, "NavBar"}, "ui/toggleSidebar": {0.9, "Sidebar"},
	"auth/loginSucceeded": {2.5, "LoginForm"}, "course/enroll": {3, "CourseHeader"}, "lesson/open": {6, "LessonView"},
	"video/play": {1.5, "LessonVideo"}, "lesson/markComplete": {2.2, "LessonView"}, "chat/sendMessage": {1.8, "ChatComposer"},
	"chat/messageReceived": {14, "ChatLog"}, "quiz/selectAnswer": {1.2, "QuizForm"}, "quiz/submit": {3.5, "QuizForm"},
}

// visit is one visit under way.
type visit struct {
	visitor, session, country, user string
	student                         int // -1: not signed in
	prof                            *profile
	release                         string
	stale                           bool // a tab of the old release, open across the deploy
	crashed, errored                bool
}

// staleHours is how long after the deploy tabs of the old app are still
// open.
const staleHours = 3

// sessionKey is an hour of visits of one release: error tracking's
// session aggregates (crash-free rates).
type sessionKey struct {
	hour    int64
	release string
}

type sessionCounts struct{ started, errored, crashed int }

// browserGen makes the browsers' traffic minute by minute, alongside
// the servers' (the same incidents, the same releases).
type browserGen struct {
	r    rnd
	g    *generator
	tl   timeline
	seed uint64
	rate float64 // visits per minute at the daily peak

	students []uint16 // per student: profile<<8 | country

	// jsErrors are the JavaScript errors the visits raised, for error
	// tracking; sessions the visits by hour and release.
	jsErrors []jsError
	sessions map[sessionKey]*sessionCounts

	profileWeights, countryWeights, sourceWeights []float64
}

func newBrowserGen(seed uint64, g *generator, tl timeline) *browserGen {
	b := &browserGen{r: newRnd(seed, 0xb5ad4eceda1ce2a9), g: g, tl: tl, seed: seed, rate: g.scale / 40,
		sessions: map[sessionKey]*sessionCounts{}}
	for _, p := range profiles {
		b.profileWeights = append(b.profileWeights, p.weight)
	}
	for _, c := range countries {
		b.countryWeights = append(b.countryWeights, c.weight)
	}
	for _, s := range sources {
		b.sourceWeights = append(b.sourceWeights, s.weight)
	}
	// The students: each keeps a browser and a country.
	n := min(max(int(g.scale*25), 200), 200_000)
	b.students = make([]uint16, n)
	pr := newRnd(seed, 0x3c6ef372fe94f82b)
	for i := range b.students {
		b.students[i] = uint16(pr.pick(b.profileWeights))<<8 | uint16(pr.pick(b.countryWeights))
	}
	return b
}

// minute starts the visits of minute m.
func (b *browserGen) minute(m int64) {
	for range b.r.poisson(b.rate * diurnal(m)) {
		ts := m + b.r.Int64N(60000)
		if ts >= b.tl.start && ts < b.tl.end {
			b.visit(ts)
		}
	}
}

// visitorID is a student's visitor id on a UTC day: like the beacon's,
// the same all day and another the next day.
func (b *browserGen) visitorID(student int, ts int64) string {
	day := uint64(ts / (24 * 3600 * 1000))
	return hex64(splitmix(b.seed ^ splitmix(uint64(student)+1) ^ splitmix(day<<20)))
}

// userHash is what the browser SDK sends for a signed-in student
// (alidade.identify): 32 hex digits of a hash, never the id.
func (b *browserGen) userHash(student int) string {
	h := splitmix(uint64(student) ^ 0x6a09e667f3bcc909)
	return hex64(h) + hex64(splitmix(h))
}

// userID is the student's id in the platform, as error tracking's events
// carry it.
func userID(student int) string { return "u_" + itoa(10000+student) }

func (b *browserGen) visit(ts int64) {
	src := &sources[b.r.pick(b.sourceWeights)]
	v := &visit{session: b.r.hex16(), student: -1, release: b.tl.release(ts)}
	if b.r.chance(src.students) {
		// Regular students come back often: a skewed pick.
		s := int(float64(len(b.students)) * math.Pow(b.r.Float64(), 1.6))
		v.student = s
		v.prof = &profiles[b.students[s]>>8]
		v.country = countries[b.students[s]&0xff].code
		v.visitor = b.visitorID(s, ts)
		v.user = b.userHash(s)
	} else {
		v.prof = &profiles[b.r.pick(b.profileWeights)]
		v.country = countries[b.r.pick(b.countryWeights)].code
		v.visitor = b.r.hex16()
	}
	if ts >= b.tl.deploy && ts < b.tl.deploy+staleHours*3600*1000 && b.r.chance(0.15) {
		// A tab opened before the deploy still runs the old app.
		v.release, v.stale = releaseOld, true
	}
	began := ts
	kind := b.r.pick(src.entries[:])
	prev, prevPath := ts, ""
	for n := 1; n <= 25 && ts < b.tl.end; n++ {
		path := b.pathOf(kind)
		pv := newRow("pageviews", ts, path).b("path", path)
		b.common(pv, v)
		if n == 1 {
			pv.b("referrer", src.referrer).b("referrer_host", refHost(src.referrer)).
				b("utm_source", src.utmSource).b("utm_medium", src.utmMedium).b("utm_campaign", src.utmCampaign).b("utm_term", src.utmTerm).
				d("entry", 1).d("bounce", 1)
		} else {
			pv.b("referrer", siteURL+prevPath).d("since_previous", float64(ts-prev))
			if n == 2 {
				pv.d("bounce", -1)
			}
		}
		pv.d("visit_page", float64(n))
		pk := &pages[kind]
		dwell := int64(min(b.r.lognormal(pk.dwell, 0.8), 25*60000))
		pv.d("load_time", b.vitals(ts, kind, path, v, dwell, n == 1))
		b.g.emit(&pv.p)
		b.pageActivity(ts, kind, path, v, dwell)
		if kind == pgLogin && v.student < 0 {
			// Signed in: a student the platform had not seen today.
			v.student = len(b.students) + b.r.IntN(1_000_000)
			v.user = b.userHash(v.student)
		}
		if b.r.chance(pk.exit) {
			break
		}
		prev, prevPath = ts, path
		ts += dwell + b.r.Int64N(3000)
		kind = b.r.pick(pk.next[:])
		if kind == pgLogin && v.student >= 0 {
			kind = pgDashboard
		}
	}
	k := sessionKey{began - began%int64(time.Hour/time.Millisecond), v.release}
	c := b.sessions[k]
	if c == nil {
		c = &sessionCounts{}
		b.sessions[k] = c
	}
	c.started++
	switch {
	case v.crashed:
		c.crashed++
	case v.errored:
		c.errored++
	}
}

// refHost is a referrer's host without www., as the beacon keeps it.
func refHost(ref string) string {
	if ref == "" {
		return ""
	}
	h := strings.TrimPrefix(ref, "https://")
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return strings.TrimPrefix(h, "www.")
}

// pathOf picks a page of a kind: a few courses, lessons and assessments
// are much more visited than the others.
func (b *browserGen) pathOf(kind int) string {
	skew := func(n int) int { return 1 + int(float64(n)*math.Pow(b.r.Float64(), 2.2)) }
	switch kind {
	case pgHome:
		return "/"
	case pgLogin:
		return "/login"
	case pgDashboard:
		return "/dashboard"
	case pgCourse:
		return "/courses/" + courseSlugs[skew(len(courseSlugs))-1]
	case pgLesson:
		return "/lessons/" + itoa(skew(120))
	case pgChat:
		return "/chat"
	default:
		return "/assessments/" + itoa(skew(40))
	}
}

// common sets the fields every browser point has.
func (b *browserGen) common(r *row, v *visit) {
	r.b("visitor", v.visitor).b("session", v.session).b("country", v.country).b("device", v.prof.device).
		b("browser", v.prof.browser).b("os", v.prof.os).b("host", siteHost).b("user", v.user)
}

// Google's Core Web Vitals thresholds: good up to the first, poor above
// the second.
var vitalThresholds = map[string][2]float64{
	"LCP": {2500, 4000}, "INP": {200, 500}, "CLS": {0.1, 0.25}, "FCP": {1800, 3000}, "TTFB": {800, 1800}, "FID": {100, 300},
}

func rating(metric string, v float64) string {
	t := vitalThresholds[metric]
	switch {
	case v <= t[0]:
		return "good"
	case v <= t[1]:
		return "needs-improvement"
	}
	return "poor"
}

// vitals writes a page view's Core Web Vitals, as web-vitals reports
// them: TTFB, FCP and LCP as the page loads, CLS and INP when it is
// hidden; it returns the page's load time.
func (b *browserGen) vitals(ts int64, kind int, path string, v *visit, dwell int64, entry bool) float64 {
	pk := &pages[kind]
	mul := [4]float64{1, 1, 1, 1} // TTFB, FCP/LCP, INP, CLS
	switch v.prof.device {
	case "mobile":
		mul = [4]float64{1.6, 1.45, 1.5, 1.3}
	case "tablet":
		mul = [4]float64{1.2, 1.2, 1.3, 1.1}
	}
	nav := "navigate"
	if entry {
		switch x := b.r.Float64(); {
		case x < 0.06:
			nav = "reload"
		case x < 0.09:
			nav = "back-forward"
		}
	}
	ttfb := round1(b.r.lognormal(pk.ttfb*mul[0], 0.5))
	fcp := round1(math.Max(b.r.lognormal(pk.fcp*mul[1], 0.4), ttfb+60))
	lcp := round1(math.Max(b.r.lognormal(pk.lcp*mul[1], 0.45), fcp))
	emit := func(at int64, metric string, value float64, el string) {
		r := newRow("web_vitals", at, metric).b("name", metric).b("rating", rating(metric, value)).b("path", path).
			b("navigation_type", nav).b("attribution", el).b("metric_id", "v4-"+itoa(int(ts))+"-"+itoa(int(1e12+b.r.Int64N(9e12)))).
			d("value", value).d("delta", value)
		b.common(r, v)
		b.g.emit(&r.p)
	}
	emit(ts+int64(ttfb), "TTFB", ttfb, "")
	emit(ts+int64(fcp), "FCP", fcp, "")
	emit(ts+int64(lcp), "LCP", lcp, pk.el[0])
	hide := ts + max(dwell, int64(lcp)+1)
	cls := 0.0
	if b.r.chance(pk.shift) {
		cls = math.Round(b.r.lognormal(pk.cls*mul[3], 0.8)*10000) / 10000
	}
	el := ""
	if cls > 0 {
		el = pk.el[2]
	}
	emit(hide, "CLS", cls, el)
	if b.r.chance(pk.interact) {
		emit(hide, "INP", round1(b.r.lognormal(pk.inp*mul[2], 0.55)), pk.el[1])
		if b.r.chance(0.3) {
			emit(ts+int64(lcp)+b.r.Int64N(5000), "FID", round1(b.r.lognormal(9*mul[2], 0.9)), pk.el[1])
		}
	}
	return round1(lcp * (1.05 + 0.3*b.r.Float64()))
}

// call writes one API call the page made at ts; it returns its status
// and duration.
func (b *browserGen) call(ts int64, c apiCall, path, id string, v *visit) (status, dur float64) {
	e := &endpoints[c.route]
	rtt := 40.0
	if v.prof.device != "desktop" {
		rtt = 120
	}
	dur = b.r.lognormal(e.median, 0.45) + b.r.lognormal(rtt, 0.5)
	status = 200
	if e.method == "POST" && e.kind != kindLogin && e.kind != kindChat {
		status = 201
	}
	switch {
	case e.kind == kindLogin && b.r.chance(0.08):
		status = 401
	case e.kind == kindChat:
		dur += b.r.lognormal(900, 0.4) // the model's answer
		if b.g.aiSlow.covers(ts) && b.r.chance(0.4) {
			dur *= 4 + 2*b.r.Float64()
		}
		if b.g.chatBurst.covers(ts) && b.r.chance(0.25) {
			status = 502
		}
	case e.kind == kindSubmit && b.g.submitSpike.covers(ts):
		dur *= 6 + 4*b.r.Float64()
		if b.r.chance(0.35) {
			status = []float64{500, 502, 503, 504}[b.r.IntN(4)]
		}
	}
	if b.r.chance(0.002) {
		status = 500
	}
	success := 1.0
	if b.r.chance(0.003) {
		status, dur = 0, b.r.lognormal(8000, 0.6) // the network gave up
	}
	if status == 0 || status >= 400 {
		success = 0
	}
	url := e.path
	if e.kind == kindWithID || e.kind == kindSubmit {
		url += id
		if e.kind == kindSubmit {
			url += "/submit"
		}
	}
	dur = round1(dur)
	r := newRow("api_calls", ts, c.endpoint).b("url", siteURL+url).b("method", e.method).b("path", path).
		d("duration", dur).d("status", status).d("success", success)
	b.common(r, v)
	b.g.emit(&r.p)
	return status, dur
}

// action writes one Redux action.
func (b *browserGen) action(ts int64, name, path string, v *visit) {
	info := actionInfo[name]
	r := newRow("ui_actions", ts, name).b("action", name).b("component", info.component).b("path", path).
		d("duration", math.Round(b.r.lognormal(info.median, 0.6)*100)/100)
	b.common(r, v)
	b.g.emit(&r.p)
}

// event writes one custom event (props as compact JSON).
func (b *browserGen) event(ts int64, name, path, props string, value float64, v *visit) {
	r := newRow("events", ts, name).b("name", name).b("path", path).b("props", props).d("value", value)
	b.common(r, v)
	b.g.emit(&r.p)
}

// ws writes one event of the chat's WebSocket, as the browser SDK's
// wrapWebSocket sends them.
func (b *browserGen) ws(ts int64, kind, path, errMsg string, v *visit, dur, code, in, out, attempt float64) {
	r := newRow("websocket", ts, kind).b("event", kind).b("channel", "chat").b("error", errMsg).b("side", "browser").b("path", path).
		d("duration", dur).d("code", code).d("messages_in", in).d("messages_out", out).d("attempt", attempt)
	b.common(r, v)
	b.g.emit(&r.p)
}

// pageActivity is what happens on a page after it loads: its API calls,
// Redux actions, chat messages over the WebSocket, quiz answers, custom
// events, and the JavaScript errors they raise.
func (b *browserGen) pageActivity(ts int64, kind int, path string, v *visit, dwell int64) {
	id := path[strings.LastIndexByte(path, '/')+1:]
	b.action(ts+5, "router/locationChanged", path, v)
	for _, c := range pageCalls[kind] {
		if b.r.chance(c.share) {
			b.call(ts+50+b.r.Int64N(400), c, path, id, v)
		}
	}
	for _, a := range pages[kind].actions {
		if b.r.chance(0.6) {
			b.action(ts+1000+b.r.Int64N(max(dwell, 2000)), a, path, v)
		}
	}
	end := ts + dwell
	switch kind {
	case pgLogin:
		at := ts + dwell - 1500
		if st, _ := b.call(at, apiLogin, path, "", v); st == 200 && v.student >= 0 && b.r.chance(0.04) {
			b.event(at+200, "signup", path, `{"plan":"free"}`, 0, v)
		}
	case pgLesson:
		if b.r.chance(0.45) {
			b.event(end-2000, "lesson_completed", path, `{"lesson":`+id+`}`, math.Round(float64(dwell)/60000*10)/10, v)
		}
	case pgChat:
		b.chat(ts, end, path, v)
	case pgAssessment:
		answers := 3 + b.r.IntN(8)
		for i := range answers {
			b.action(ts+int64(i+1)*dwell/int64(answers+2), "quiz/selectAnswer", path, v)
		}
		if b.r.chance(0.55) {
			at := end - 1000
			b.action(at, "quiz/submit", path, v)
			st, dur := b.call(at+3, apiSubmit, path, id, v)
			if st >= 200 && st < 300 {
				b.event(at+int64(dur), "quiz_submitted", path, `{"assessment":`+id+`}`, float64(40+b.r.IntN(61)), v)
			}
			if st >= 500 {
				// The error page is HTML: the app's JSON parse fails
				// (handled), and the autosave's retry rejects.
				if b.r.chance(0.6) {
					b.jsError(at+int64(dur)+5, bugSyntax, path, v)
				}
				if b.r.chance(0.3) {
					b.jsError(at+int64(dur)+2000, bugAutosave, path, v)
				}
			}
		}
		if b.r.chance(0.004) {
			b.jsError(ts+b.r.Int64N(dwell+1), bugAutosave, path, v)
		}
	}
	b.pageErrors(ts, kind, path, v, dwell)
}

// chat is a chat session: the page's WebSocket, the student's messages
// and the tutor's answers; a phone's connection drops now and then and
// reconnects.
func (b *browserGen) chat(ts, end int64, path string, v *visit) {
	open := ts + 300 + b.r.Int64N(400)
	b.ws(open, "open", path, "", v, 0, 0, 0, 0, 0)
	drop := 0.02
	if v.prof.device != "desktop" {
		drop = 0.05
	}
	if b.g.chatBurst.covers(ts) {
		drop = 0.3
	}
	msgs := 1 + b.r.poisson(2)
	out, in := 0.0, 0.0
	segStart := open
	dropped := false
	for i := range msgs {
		at := open + 2000 + int64(i+1)*(end-open)/int64(msgs+1)
		b.action(at, "chat/sendMessage", path, v)
		st, dur := b.call(at+2, apiChat, path, "", v)
		out++
		if st >= 200 && st < 400 {
			in += 2 // the answer and its sources
			b.action(at+int64(dur), "chat/messageReceived", path, v)
		} else if b.r.chance(0.5) {
			// The answer's messages are missing: the chat log breaks.
			b.jsError(at+int64(dur)+3, bugChatMap, path, v)
		}
		if !dropped && b.r.chance(drop) {
			dropped = true
			t := at + int64(dur) + b.r.Int64N(20000)
			if b.r.chance(0.3) {
				b.ws(t-1, "error", path, "connection lost", v, 0, 0, 0, 0, 0)
			}
			b.ws(t, "close", path, "", v, float64(t-segStart), 1006, in, out, 0)
			segStart = t + 1000 + b.r.Int64N(3000)
			b.ws(segStart, "open", path, "", v, 0, 0, 0, 0, 1)
			in, out = 0, 0
		}
	}
	if b.r.chance(0.3) {
		b.event(open+1000, "chat_started", path, `{"channel":"chat"}`, 0, v)
	}
	code := 1001.0 // the page went away
	if b.r.chance(0.2) {
		code = 1000
	}
	b.ws(end, "close", path, "", v, float64(end-segStart), code, in, out, 0)
	if b.r.chance(0.008) {
		b.jsError(open+b.r.Int64N(end-open+1), bugChatMap, path, v)
	}
}

// pageErrors are the errors any page view may raise.
func (b *browserGen) pageErrors(ts int64, kind int, path string, v *visit, dwell int64) {
	at := func() int64 { return ts + 200 + b.r.Int64N(dwell+1) }
	if v.prof.engine == engineV8 && b.r.chance(0.004) {
		b.jsError(at(), bugResize, path, v)
	}
	if kind == pgLesson && v.release == releaseNew && b.r.chance(0.012) {
		b.jsError(at(), bugTooltip, path, v)
	}
	if v.stale && kind != pgHome && b.r.chance(0.3) {
		// The old app asks for a chunk the deploy removed.
		b.jsError(ts+300, bugChunk, path, v)
	}
	if b.r.chance(0.0005) {
		b.jsError(at(), bugSyntax, path, v)
	}
}

// jsError records a JavaScript error for error tracking; an unhandled
// one crashes the visit's session, a handled one marks it errored.
func (b *browserGen) jsError(ts int64, bug int, path string, v *visit) {
	if ts >= b.tl.end {
		return
	}
	user := ""
	if v.student >= 0 {
		user = userID(v.student)
	}
	b.jsErrors = append(b.jsErrors, jsError{bug: bug, ts: ts, path: path, prof: v.prof, user: user, release: v.release,
		seq: b.r.Uint64()})
	if jsBugs[bug].handled {
		v.errored = true
	} else {
		v.crashed = true
	}
}
