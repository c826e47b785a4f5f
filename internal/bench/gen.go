package bench

import (
	"encoding/json"
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"
	"strconv"
)

// Dataset is the dataset the bench writes and queries.
const Dataset = "requests"

// Endpoint is one route of the simulated web application. Points of an
// endpoint carry its path as index1 and blob1, its method as blob2, a region
// as blob3, and the doubles latency in ms (double1), HTTP status (double2) and
// response bytes (double3).
type Endpoint struct {
	Path   string
	Method string
	// Weight is the endpoint's share of all requests; the weights sum to 1
	// and fall with the endpoint's rank (Zipf-like, s = 1.1).
	Weight float64
	// MedianMs and Sigma describe the lognormal latency of successful
	// requests: exp(ln(MedianMs) + Sigma·N(0,1)).
	MedianMs, Sigma float64
	// ErrorRate is the share of requests answered 4xx or 5xx, in [0.01, 0.05];
	// half of those are 5xx.
	ErrorRate float64
	// MedianBytes is the median response size of successful requests.
	MedianBytes float64

	class   byte   // 's' static asset, 'a' API, 'l' model call
	jsonPre []byte // `"index":"P","blobs":["P","M","`
	peerPre []byte // `"msg":"req","route":"P","method":"M","region":"`
}

// Format is how a body writes its points.
type Format int

const (
	// FormatAlidade is Alidade's write body: Workers Analytics Engine
	// data points, one JSON object a line.
	FormatAlidade Format = iota
	// FormatVictoriaLogs is the same events as VictoriaLogs' JSON lines
	// (POST /insert/jsonline?_time_field=ts&_msg_field=msg):
	// {"ts":MS,"msg":"req","route":"/p","method":"GET","region":"us-east","latency_ms":12.5,"status":200,"bytes":1024}.
	FormatVictoriaLogs
)

// routes are the simulated application's endpoints, most popular first.
// Paths are distinct, so grouping by index1 groups by endpoint.
var routes = []struct {
	method, path string
	class        byte
}{
	{"POST", "/api/v1/events", 'a'},
	{"GET", "/static/app.js", 's'},
	{"GET", "/api/v1/session", 'a'},
	{"POST", "/api/v1/chat/messages", 'l'},
	{"GET", "/", 's'},
	{"GET", "/api/v1/conversations", 'a'},
	{"GET", "/static/app.css", 's'},
	{"GET", "/api/v1/users/me", 'a'},
	{"POST", "/api/v1/chat/stream", 'l'},
	{"GET", "/api/v1/notifications", 'a'},
	{"GET", "/api/v1/conversations/:id", 'a'},
	{"GET", "/healthz", 'a'},
	{"GET", "/api/v1/search", 'a'},
	{"POST", "/api/v1/completions", 'l'},
	{"GET", "/favicon.ico", 's'},
	{"GET", "/api/v1/feed", 'a'},
	{"POST", "/api/v1/auth/refresh", 'a'},
	{"POST", "/api/v1/embeddings", 'l'},
	{"GET", "/api/v1/models", 'a'},
	{"GET", "/api/v1/documents", 'a'},
	{"GET", "/api/v1/documents/:id", 'a'},
	{"GET", "/login", 's'},
	{"POST", "/api/v1/auth/login", 'a'},
	{"GET", "/api/v1/settings", 'a'},
	{"POST", "/api/v1/feedback", 'a'},
	{"GET", "/api/v1/projects", 'a'},
	{"GET", "/api/v1/projects/:id", 'a'},
	{"POST", "/api/v1/documents/:id/summarize", 'l'},
	{"POST", "/api/v1/agents/run", 'l'},
	{"POST", "/api/v1/tools/call", 'a'},
	{"GET", "/pricing", 's'},
	{"GET", "/api/v1/billing/usage", 'a'},
	{"POST", "/api/v1/files/upload", 'a'},
	{"GET", "/api/v1/files/:id", 'a'},
	{"POST", "/api/v1/images/generate", 'l'},
	{"GET", "/api/v1/teams", 'a'},
	{"GET", "/api/v1/teams/:id/members", 'a'},
	{"PUT", "/api/v1/settings/preferences", 'a'},
	{"POST", "/api/v1/auth/logout", 'a'},
	{"POST", "/api/v1/audio/transcribe", 'l'},
	{"POST", "/api/v1/translate", 'l'},
	{"GET", "/api/v1/billing/invoices", 'a'},
	{"POST", "/api/v1/billing/checkout", 'a'},
	{"POST", "/api/v1/invites", 'a'},
	{"PATCH", "/api/v1/projects/:id/settings", 'a'},
	{"POST", "/api/v1/export", 'a'},
	{"POST", "/api/v1/webhooks/stripe", 'a'},
	{"GET", "/api/v1/admin/users", 'a'},
	{"GET", "/api/v1/admin/audit-log", 'a'},
	{"GET", "/robots.txt", 's'},
}

// regions are where requests are served, with their shares.
var regions = []struct {
	name  string
	share float64
}{
	{"us-east", 0.35}, {"eu-west", 0.25}, {"us-west", 0.15}, {"eu-central", 0.10},
	{"ap-northeast", 0.08}, {"ap-south", 0.05}, {"sa-east", 0.02},
}

var (
	status5xx = []int{500, 500, 500, 502, 503, 504}
	status4xx = []int{400, 401, 403, 404, 404, 409, 422, 429}
)

// Generator makes realistic points of the requests dataset. It is
// deterministic: the same seed, range and arguments give the same bytes. It
// is safe for concurrent use.
type Generator struct {
	// Endpoints are the simulated routes, most popular first.
	Endpoints []Endpoint
	// From and To bound the timestamps, [From, To) in Unix ms.
	From, To int64

	seed      uint64
	cumWeight []float64
	cumRegion []float64
	// tsWidth is the width of every timestamp field: the digits of the
	// longest timestamp in range (shorter ones are padded with spaces, so
	// that a body's timestamps can be rewritten in place).
	tsWidth int
}

// NewGenerator returns a generator of points with timestamps in [from, to)
// Unix ms. The seed fixes each endpoint's latency, size and error rate, and
// every body's points.
func NewGenerator(seed uint64, from, to int64) *Generator {
	if to <= from {
		to = from + 1
	}
	g := &Generator{From: from, To: to, seed: seed}
	g.tsWidth = max(len(strconv.FormatInt(from, 10)), len(strconv.FormatInt(to-1, 10)))
	r := rand.New(rand.NewPCG(seed, 0x656e64706f696e74)) // "endpoint"
	var total float64
	for i := range routes {
		total += 1 / math.Pow(float64(i+1), 1.1)
	}
	var cum float64
	for i, rt := range routes {
		e := Endpoint{Path: rt.path, Method: rt.method, class: rt.class,
			Weight: 1 / math.Pow(float64(i+1), 1.1) / total}
		switch rt.class {
		case 's':
			e.MedianMs, e.Sigma = logUniform(r, 1, 6), 0.5
			e.MedianBytes = logUniform(r, 2_000, 200_000)
		case 'l':
			e.MedianMs, e.Sigma = logUniform(r, 300, 2500), 0.5+0.3*r.Float64()
			e.MedianBytes = logUniform(r, 1_000, 30_000)
		default:
			e.MedianMs, e.Sigma = logUniform(r, 5, 80), 0.6+0.4*r.Float64()
			e.MedianBytes = logUniform(r, 200, 20_000)
		}
		e.ErrorRate = 0.01 + 0.04*r.Float64()
		pre, _ := json.Marshal(rt.path) // paths need no escaping, but be exact
		m, _ := json.Marshal(rt.method)
		var b []byte
		b = append(b, `"index":`...)
		b = append(b, pre...)
		b = append(b, `,"blobs":[`...)
		b = append(b, pre...)
		b = append(b, ',')
		b = append(b, m...)
		e.jsonPre = append(b, `,"`...)
		b = append([]byte(nil), `"msg":"req","route":`...)
		b = append(b, pre...)
		b = append(b, `,"method":`...)
		b = append(b, m...)
		e.peerPre = append(b, `,"region":"`...)
		g.Endpoints = append(g.Endpoints, e)
		cum += e.Weight
		g.cumWeight = append(g.cumWeight, cum)
	}
	g.cumWeight[len(g.cumWeight)-1] = 1
	cum = 0
	for _, rg := range regions {
		cum += rg.share
		g.cumRegion = append(g.cumRegion, cum)
	}
	g.cumRegion[len(g.cumRegion)-1] = 1
	return g
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// Top returns the paths of the n most popular endpoints.
func (g *Generator) Top(n int) []string {
	n = min(n, len(g.Endpoints))
	out := make([]string, n)
	for i := range out {
		out[i] = g.Endpoints[i].Path
	}
	return out
}

// BodyStats sums what a body holds, to check query answers against.
type BodyStats struct {
	Points int64
	// Errors5xx counts points with status >= 500.
	Errors5xx int64
	// LatencySum is the sum of double1 as written (rounded to 0.01 ms).
	LatencySum float64
}

// Add returns the sum of s and o.
func (s BodyStats) Add(o BodyStats) BodyStats {
	return BodyStats{s.Points + o.Points, s.Errors5xx + o.Errors5xx, s.LatencySum + o.LatencySum}
}

// Body returns an NDJSON body of n points for slot of slots: the slot's
// points have increasing timestamps within the slot-th of slots equal slices
// of [From, To), as if the day's traffic were replayed in order. Bodies of
// different slots or sizes differ.
func (g *Generator) Body(slot, slots, n int) ([]byte, BodyStats) {
	return g.body(FormatAlidade, slot, slots, n, nil)
}

// BodyAs is Body written in format f: the same events, whatever the format.
func (g *Generator) BodyAs(f Format, slot, slots, n int) ([]byte, BodyStats) {
	return g.body(f, slot, slots, n, nil)
}

// stamp is where a body holds a point's timestamp: the field at byte pos,
// Generator.tsWidth bytes long, and the point's place in its slice of time,
// in [0, 1).
type stamp struct {
	pos  int
	frac float64
}

// sliceOf returns the slot-th of slots equal slices of [from, to), from
// < to and 0 <= slot < slots.
func sliceOf(from, to int64, slot, slots int64) (lo, hi int64) {
	span := uint64(to - from)
	at := func(i int64) int64 {
		h, l := bits.Mul64(span, uint64(i))
		q, _ := bits.Div64(h, l, uint64(slots)) // h < slots: i <= slots
		return from + int64(q)
	}
	lo, hi = at(slot), at(slot+1)
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// body is BodyAs; when stamps is not nil, it also records where each
// point's timestamp is. The format changes the bytes, never the draws.
func (g *Generator) body(f Format, slot, slots, n int, stamps *[]stamp) ([]byte, BodyStats) {
	slots = max(slots, 1)
	slot = min(max(slot, 0), slots-1)
	lo, hi := sliceOf(g.From, g.To, int64(slot), int64(slots))
	r := rand.New(rand.NewPCG(g.seed, uint64(slot)*0x9e3779b97f4a7c15^uint64(n)))
	buf := make([]byte, 0, n*136)
	var st BodyStats
	width := float64(hi - lo)
	for j := range n {
		// Evenly spaced with jitter inside each step: increasing, in [lo, hi).
		u := r.Float64()
		ts := lo + int64((float64(j)+u)*width/float64(n))
		ts = min(ts, hi-1)
		e := &g.Endpoints[sort.SearchFloat64s(g.cumWeight, r.Float64())]
		region := regions[sort.SearchFloat64s(g.cumRegion, r.Float64())].name
		status, latency, size := g.outcome(r, e)
		latency = math.Round(latency*100) / 100
		if status >= 500 {
			st.Errors5xx++
		}
		st.LatencySum += latency
		if f == FormatVictoriaLogs {
			buf = append(buf, `{"ts":`...)
		} else {
			buf = append(buf, `{"timestamp":`...)
		}
		if stamps != nil {
			*stamps = append(*stamps, stamp{pos: len(buf), frac: (float64(j) + u) / float64(n)})
		}
		buf = appendStamp(buf, ts, g.tsWidth)
		buf = append(buf, ',')
		if f == FormatVictoriaLogs {
			buf = append(buf, e.peerPre...)
			buf = append(buf, region...)
			buf = append(buf, `","latency_ms":`...)
			buf = strconv.AppendFloat(buf, latency, 'f', -1, 64)
			buf = append(buf, `,"status":`...)
			buf = strconv.AppendInt(buf, int64(status), 10)
			buf = append(buf, `,"bytes":`...)
			buf = strconv.AppendInt(buf, size, 10)
			buf = append(buf, "}\n"...)
			continue
		}
		buf = append(buf, e.jsonPre...)
		buf = append(buf, region...)
		buf = append(buf, `"],"doubles":[`...)
		buf = strconv.AppendFloat(buf, latency, 'f', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(status), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, size, 10)
		buf = append(buf, "]}\n"...)
	}
	st.Points = int64(n)
	return buf, st
}

// appendStamp appends ts right-aligned in width bytes (JSON allows the
// spaces before a number).
func appendStamp(buf []byte, ts int64, width int) []byte {
	var tmp [24]byte
	d := strconv.AppendInt(tmp[:0], ts, 10)
	for range width - len(d) {
		buf = append(buf, ' ')
	}
	return append(buf, d...)
}

// restamp rewrites in place the timestamps of a body made by body, moving
// its points to the slice [lo, hi) while keeping their places in it.
func (g *Generator) restamp(buf []byte, stamps []stamp, lo, hi int64) {
	width := float64(hi - lo)
	var tmp [24]byte
	for _, s := range stamps {
		ts := min(lo+int64(s.frac*width), hi-1)
		field := buf[s.pos : s.pos+g.tsWidth]
		if len(appendStamp(tmp[:0], ts, g.tsWidth)) != g.tsWidth {
			panic("BUG: a timestamp outside the generator's range")
		}
		copy(field, tmp[:g.tsWidth])
	}
}

// outcome draws a request's status, latency in ms and response bytes.
func (g *Generator) outcome(r *rand.Rand, e *Endpoint) (status int, latencyMs float64, size int64) {
	lognormal := func(median, sigma float64) float64 {
		return math.Exp(math.Log(median) + sigma*r.NormFloat64())
	}
	latencyMs = lognormal(e.MedianMs, e.Sigma)
	u := r.Float64()
	switch {
	case u < e.ErrorRate/2:
		status = status5xx[r.IntN(len(status5xx))]
		latencyMs *= 1.5 // failures upstream tend to be slow
		size = int64(lognormal(180, 0.3))
	case u < e.ErrorRate:
		status = status4xx[r.IntN(len(status4xx))]
		latencyMs *= 0.3 // refused early
		size = int64(lognormal(120, 0.3))
	default:
		status = 200
		switch {
		case e.class == 's' && r.IntN(10) < 3:
			status, size = 304, 0
		case e.Method == "POST" && e.class == 'a' && r.IntN(10) == 0:
			status = 201
		}
		if status != 304 {
			size = int64(lognormal(e.MedianBytes, 0.8))
		}
	}
	return status, max(latencyMs, 0.01), size
}
