package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Point is one generated point, in the AE positional form.
type Point struct {
	Dataset   string
	Timestamp int64 // Unix ms
	Index     string
	Blobs     []string
	Doubles   []float64
}

// Generate makes the traffic of [from, to) (Unix ms) at scale requests per
// minute at the daily peak, and hands each point to emit in the order it is
// made (by request, so roughly in time order; a label or a session's close
// comes with what caused it). emit must not keep p. The same seed makes the
// same points.
func Generate(seed uint64, from, to int64, scale int, emit func(p *Point)) {
	newGenerator(seed, from, to, scale, func(p *Point) {
		if p.Timestamp >= from && p.Timestamp < to {
			emit(p)
		}
	}).run(nil)
}

// endpoint is one route of the tutoring platform's API.
type endpoint struct {
	route, method, path string
	weight              float64
	median              float64 // ms
	kind                int
}

// What a request does besides answering.
const (
	kindPlain = iota
	kindChat
	kindSearch
	kindSubmit
	kindLogin
	kindWithID // may 404
)

var endpoints = []endpoint{
	{"POST /api/chat/messages", "POST", "/api/chat/messages", 24, 650, kindChat},
	{"GET /api/courses", "GET", "/api/courses", 14, 35, kindPlain},
	{"GET /api/lessons/{id}", "GET", "/api/lessons/", 15, 55, kindWithID},
	{"GET /api/assessments/{id}", "GET", "/api/assessments/", 8, 70, kindWithID},
	{"POST /api/assessments/{id}/submit", "POST", "/api/assessments/", 7, 220, kindSubmit},
	{"GET /api/search", "GET", "/api/search", 10, 110, kindSearch},
	{"GET /api/users/me", "GET", "/api/users/me", 13, 12, kindPlain},
	{"POST /api/auth/login", "POST", "/api/auth/login", 4, 180, kindLogin},
	{"GET /api/progress", "GET", "/api/progress", 5, 85, kindPlain},
}

var intents = []struct {
	name   string
	weight float64
}{{"ask_question", 40}, {"get_hint", 20}, {"explain_concept", 15}, {"submit_answer", 10}, {"small_talk", 10}, {"off_topic", 5}}

// The models the platform calls. tutor-ft-v3 is a fine-tune with no price
// in any catalog, so that the metrics list an unpriced model.
const (
	modelLlama    = "@cf/meta/llama-3.1-8b-instruct"
	modelMini     = "gpt-4o-mini"
	modelHaiku    = "claude-haiku-4-5"
	modelTutor    = "tutor-ft-v3"
	modelEmbed    = "@cf/baai/bge-base-en-v1.5"
	modelIntent   = "intent-distilbert-v2"
	lmsCanvas     = "canvas"
	lmsMoodle     = "moodle"
	lmsBlackboard = "blackboard"
)

// incident is a window of trouble.
type incident struct{ from, to int64 }

func (i incident) covers(ts int64) bool { return ts >= i.from && ts < i.to }

// generator makes the platform's traffic minute by minute.
type generator struct {
	rng        *rand.Rand
	start, end int64 // [start, end) in Unix ms
	scale      float64
	emit       func(*Point)

	// The incidents: a latency spike and 5xx burst on one endpoint, an AI
	// provider slowdown, an LMS that fails for an hour, and a short burst
	// of chat errors.
	submitSpike, aiSlow, lmsDown, chatBurst incident

	seq int64 // prediction ids

	// obs, when set, sees each request and grade passback as it is made
	// (the error tracking traffic follows them); it must not use rng.
	obs observer
	// browser, when set, makes the browsers' traffic of each minute after
	// the servers'.
	browser *browserGen
}

// observer sees what the servers do.
type observer interface {
	request(ts int64, e *endpoint, path string, dur, status float64)
	passback(ts int64, lms, class, course string, attempt int, lat float64)
}

func newGenerator(seed uint64, start, end int64, scale int, emit func(*Point)) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: start, end: end, scale: float64(scale), emit: emit}
	span := end - start
	at := func(frac float64, d time.Duration) incident {
		from := start + int64(float64(span)*frac)
		from -= from % 60000
		return incident{from, from + d.Milliseconds()}
	}
	g.submitSpike = at(0.58, 45*time.Minute)
	g.aiSlow = at(0.31, 2*time.Hour)
	g.lmsDown = at(0.77, time.Hour)
	g.chatBurst = at(0.31+0.02, 10*time.Minute)
	return g
}

// diurnal is the share of peak traffic at ts: a day curve over US Eastern
// time (UTC−5), lower at weekends.
func diurnal(ts int64) float64 {
	t := time.UnixMilli(ts).UTC().Add(-5 * time.Hour)
	h := float64(t.Hour()) + float64(t.Minute())/60
	f := 0.08
	if h > 7 && h < 23.5 {
		f += 0.92 * math.Pow(math.Sin(math.Pi*(h-7)/16.5), 1.4)
	}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= 0.55
	}
	return f
}

// run generates every minute of [start, end).
func (g *generator) run(stop func() bool) {
	for m := g.start - g.start%60000; m < g.end; m += 60000 {
		if stop != nil && stop() {
			return
		}
		g.minute(m)
		if g.browser != nil {
			g.browser.minute(m)
		}
	}
}

// minute makes the requests and sessions that start in minute m.
func (g *generator) minute(m int64) {
	mean := g.scale * diurnal(m)
	n := int(math.Round(mean + g.rng.NormFloat64()*math.Sqrt(mean)))
	for range max(n, 0) {
		ts := m + g.rng.Int64N(60000)
		if ts < g.start || ts >= g.end {
			continue
		}
		g.request(ts)
	}
	// New chat sessions over WebSocket: about one per 12 requests.
	for range g.poisson(mean / 12) {
		ts := m + g.rng.Int64N(60000)
		if ts >= g.start && ts < g.end {
			g.session(ts)
		}
	}
}

func (g *generator) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(int(math.Round(mean+g.rng.NormFloat64()*math.Sqrt(mean))), 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// lognormal returns a value with the given median and spread (sigma).
func (g *generator) lognormal(median, sigma float64) float64 {
	return median * math.Exp(g.rng.NormFloat64()*sigma)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func (g *generator) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := g.rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

var endpointWeights = func() []float64 {
	w := make([]float64, len(endpoints))
	for i, e := range endpoints {
		w[i] = e.weight
	}
	return w
}()

var intentWeights = func() []float64 {
	w := make([]float64, len(intents))
	for i, x := range intents {
		w[i] = x.weight
	}
	return w
}()

// request makes one API request and what it causes.
func (g *generator) request(ts int64) {
	e := endpoints[g.pick(endpointWeights)]
	dur := g.lognormal(e.median, 0.45)
	status := 200.0
	if e.method == "POST" && e.kind != kindLogin && e.kind != kindChat {
		status = 201
	}
	path := e.path
	switch e.kind {
	case kindWithID, kindSubmit:
		path += strconv.Itoa(1 + g.rng.IntN(400))
		if e.kind == kindSubmit {
			path += "/submit"
		}
		if g.rng.Float64() < 0.006 {
			status = 404
		}
	case kindLogin:
		if g.rng.Float64() < 0.08 {
			status = 401
		}
	}
	if g.rng.Float64() < 0.002 {
		status = 500
	}
	if e.kind == kindSubmit && g.rng.Float64() < 0.005 {
		status = 400
	}
	if e.kind == kindSubmit && g.submitSpike.covers(ts) {
		dur *= 6 + 4*g.rng.Float64()
		if g.rng.Float64() < 0.35 {
			status = []float64{500, 502, 503, 504}[g.rng.IntN(4)]
		}
	}
	if e.kind == kindChat && g.chatBurst.covers(ts) && g.rng.Float64() < 0.25 {
		status = 502
	}
	switch e.kind {
	case kindChat:
		dur += g.chat(ts + int64(dur/4))
	case kindSearch:
		q := ts + int64(dur/5)
		g.embedding(q, 1)
		g.search(q+20, []string{"lesson-notes", "course-catalog"}[g.rng.IntN(2)])
		g.query(ts+2, "search_log.insert", "insert")
	case kindSubmit:
		g.query(ts+3, "submissions.insert", "insert")
		g.query(ts+8, "progress.update", "update")
		if status < 400 {
			if g.rng.Float64() < 0.6 {
				g.aiCall(ts+20, modelHaiku, "grading")
			}
			g.passback(ts + int64(dur) + 50)
		}
	case kindLogin:
		g.query(ts+2, "users.by_email", "select")
		g.query(ts+30, "sessions.insert", "insert")
	case kindWithID:
		if e.path == "/api/lessons/" {
			g.query(ts+2, "lessons.get", "select")
		} else {
			g.query(ts+2, "assessments.get", "select")
		}
	default:
		switch e.route {
		case "GET /api/courses":
			g.query(ts+2, "courses.list", "select")
		case "GET /api/users/me":
			g.query(ts+1, "users.by_id", "select")
		case "GET /api/progress":
			g.query(ts+2, "progress.summary", "select")
		}
	}
	if g.obs != nil {
		g.obs.request(ts, &e, path, dur, status)
	}
	g.emit(&Point{Dataset: "requests", Timestamp: ts, Index: e.route,
		Blobs:   []string{"https://tutor.example.com" + path, e.method, "api"},
		Doubles: []float64{round1(dur), status, float64(200 + g.rng.IntN(8000)), float64(g.rng.IntN(2000))}})
}

// chat handles a chat message: intent, retrieval, a model call. It returns
// the latency it added.
func (g *generator) chat(ts int64) float64 {
	g.intent(ts)
	g.query(ts+1, "conversations.append", "insert")
	g.embedding(ts+5, 1)
	g.search(ts+40, "course-content")
	return g.aiCall(ts+80, "", "chat")
}

// aiCall makes one model call; model "" picks the chat model. It returns
// the call's latency.
func (g *generator) aiCall(ts int64, model, feature string) float64 {
	legacy := false
	if model == "" {
		switch x := g.rng.Float64(); {
		case x < 0.45:
			model = modelLlama
		case x < 0.55:
			model, legacy = modelLlama, true // an older worker: the seed's trackAIUsage
		case x < 0.92:
			model = modelMini
		default:
			model = modelTutor
		}
	}
	in := float64(300 + g.rng.IntN(2200))
	out := float64(40 + g.rng.IntN(360))
	var perToken, base, ttft float64
	provider := "workers-ai"
	switch model {
	case modelLlama:
		base, perToken = 120, 3.5
	case modelMini:
		base, perToken, provider = 250, 4.5, "openai"
	case modelHaiku:
		base, perToken, provider = 300, 4, "anthropic"
		in, out = in+800, float64(60+g.rng.IntN(200))
	case modelTutor:
		base, perToken, provider = 200, 6, "self-hosted"
	}
	lat := g.lognormal(base, 0.3) + out*perToken*(0.8+0.4*g.rng.Float64())
	ttft = g.lognormal(base, 0.35)
	if model == modelMini && g.aiSlow.covers(ts) {
		lat *= 4 + 2*g.rng.Float64()
		ttft *= 6
	}
	lat, ttft = round1(lat), round1(ttft)
	if legacy {
		g.emit(&Point{Dataset: "ai_usage", Timestamp: ts, Index: model, Blobs: []string{model}, Doubles: []float64{in + out, lat}})
		return lat
	}
	cached := 0.0
	if model == modelMini && g.rng.Float64() < 0.5 {
		cached = math.Floor(in * (0.3 + 0.5*g.rng.Float64()))
	}
	neurons := 0.0
	if model == modelLlama {
		// Workers AI bills neurons: 25,608 per 1M input and 75,147 per
		// 1M output tokens for this model.
		neurons = math.Round((in*25608+out*75147)/1e6*100) / 100
	}
	g.emit(&Point{Dataset: "ai_usage", Timestamp: ts, Index: model, Blobs: []string{model, feature, provider},
		Doubles: []float64{in + out, lat, in, out, ttft, 0, cached, neurons, 0}})
	return lat
}

func (g *generator) embedding(ts int64, vectors int) {
	tokens := float64(8 + g.rng.IntN(60)*vectors)
	g.emit(&Point{Dataset: "embeddings", Timestamp: ts, Index: modelEmbed, Blobs: []string{modelEmbed, "query"},
		Doubles: []float64{round1(g.lognormal(22, 0.4)), tokens, float64(vectors), 768, 0, 0}})
}

func (g *generator) search(ts int64, index string) {
	results := float64(g.rng.IntN(11))
	top := 0.0
	mean := 0.0
	if results > 0 {
		top = math.Round((0.62+0.33*g.rng.Float64())*1000) / 1000
		mean = math.Round(top*(0.7+0.2*g.rng.Float64())*1000) / 1000
	}
	g.emit(&Point{Dataset: "vector_search", Timestamp: ts, Index: index, Blobs: []string{"vector_search", ""},
		Doubles: []float64{results, round1(g.lognormal(24, 0.5)), top, mean}})
}

var queryMedians = map[string]float64{
	"users.by_id": 1.2, "users.by_email": 1.5, "sessions.insert": 2.5, "courses.list": 6, "lessons.get": 2,
	"assessments.get": 3, "submissions.insert": 4, "progress.update": 3.5, "progress.summary": 14,
	"conversations.append": 2.2, "search_log.insert": 1.8,
}

func (g *generator) query(ts int64, name, op string) {
	lat := g.lognormal(queryMedians[name], 0.6)
	read, written := 0.0, 0.0
	if op == "select" {
		read = float64(1 + g.rng.IntN(60))
	} else {
		written = float64(1 + g.rng.IntN(2))
		read = float64(g.rng.IntN(3))
	}
	g.emit(&Point{Dataset: "db_queries", Timestamp: ts, Index: name, Blobs: []string{name, "tutor-d1", op},
		Doubles: []float64{math.Round(lat*100) / 100, read, written}})
}

// session opens a chat WebSocket and, when it ends before now, closes it.
func (g *generator) session(ts int64) {
	channel := "chat"
	g.emit(&Point{Dataset: "websocket", Timestamp: ts, Index: "open", Blobs: []string{"open", channel, ""}})
	length := g.lognormal(9*60000, 0.9)
	if g.rng.Float64() < 0.015 {
		e := ts + int64(length*g.rng.Float64())
		if e < g.end {
			g.emit(&Point{Dataset: "websocket", Timestamp: e, Index: "error", Blobs: []string{"error", channel, "ECONNRESET"}})
		}
	}
	end := ts + int64(length)
	if end >= g.end {
		return // still open
	}
	code := []float64{1000, 1001, 1006, 1011}[g.pick([]float64{70, 22, 6, 2})]
	g.emit(&Point{Dataset: "websocket", Timestamp: end, Index: "close", Blobs: []string{"close", channel, ""},
		Doubles: []float64{math.Round(length), code, float64(1 + g.rng.IntN(30)), float64(1 + g.rng.IntN(30))}})
}

// passback sends a grade to the course's LMS; a failure is retried once.
func (g *generator) passback(ts int64) {
	lms := []string{lmsCanvas, lmsMoodle, lmsBlackboard}[g.pick([]float64{50, 30, 20})]
	course := "course-" + strconv.Itoa(1+g.rng.IntN(40))
	score := float64(g.rng.IntN(101))
	for attempt := 1; attempt <= 2; attempt++ {
		ok := g.rng.Float64() < 0.97
		if attempt == 2 {
			ok = g.rng.Float64() < 0.6
		}
		class := ""
		lat := g.lognormal(350, 0.5)
		if lms == lmsMoodle && g.lmsDown.covers(ts) {
			ok, lat = false, 10000+g.rng.Float64()*2000
		}
		if !ok && class == "" {
			class = []string{"timeout", "http_5xx", "invalid_token"}[g.rng.IntN(3)]
			if lms == lmsMoodle && g.lmsDown.covers(ts) {
				class = "timeout"
			}
		}
		success := 0.0
		if ok {
			success = 1
		}
		if g.obs != nil && !ok {
			g.obs.passback(ts, lms, class, course, attempt, lat)
		}
		g.emit(&Point{Dataset: "grade_passback", Timestamp: ts, Index: lms, Blobs: []string{lms, class, course},
			Doubles: []float64{success, round1(lat), float64(attempt), score}})
		if ok {
			return
		}
		ts += 30000
		if ts >= g.end {
			return
		}
	}
}

// intent classifies a chat message; about 85% of predictions are labelled
// later, and about 90% of the labels agree.
func (g *generator) intent(ts int64) {
	g.seq++
	id := "m" + strconv.FormatInt(g.seq, 36)
	pred := intents[g.pick(intentWeights)].name
	conf := math.Round((0.55+0.44*g.rng.Float64())*1000) / 1000
	g.emit(&Point{Dataset: "intent", Timestamp: ts, Index: modelIntent, Blobs: []string{modelIntent, pred, id, "prediction", ""},
		Doubles: []float64{conf, 0}})
	if g.rng.Float64() >= 0.85 {
		return
	}
	lt := ts + 60000 + g.rng.Int64N(36*3600*1000)
	if lt >= g.end {
		return // not labelled yet
	}
	actual := pred
	if g.rng.Float64() >= 0.9 {
		for actual == pred {
			actual = intents[g.pick(intentWeights)].name
		}
	}
	g.emit(&Point{Dataset: "intent", Timestamp: lt, Blobs: []string{"", actual, id, "label", actual}, Doubles: []float64{0, 0}})
}
