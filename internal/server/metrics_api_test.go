package server_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/dashboard"
	"github.com/alidade/alidade/internal/meta"
)

func TestPlatformMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]
	now := time.Now()
	to := now.Truncate(time.Hour).Add(-time.Hour).UnixMilli()
	from := to - 24*3600*1000
	prevFrom := from - 24*3600*1000
	rng := rand.New(rand.NewPCG(1, 2))
	fx := &fixture{cost: map[int]float64{}}
	ids := 0
	genPeriod(rng, fx, from, to, 10, &ids)
	genPeriod(rng, fx, prevFrom, from, 5, &ids)
	// Before both periods: only open connections count.
	for range 7 {
		fx.pts = append(fx.pts, aePoint{Dataset: "websocket", Timestamp: prevFrom - 3600*1000, Indexes: []string{"open"}, Blobs: []string{"open"}})
	}
	fx.pts = append(fx.pts, aePoint{Dataset: "websocket", Timestamp: prevFrom - 1800*1000, Indexes: []string{"close"}, Blobs: []string{"close"}, Doubles: []float64{1, 1000}})
	// After the current period (labels may land there too): nothing of it
	// counts but the labels.
	for range 5 {
		fx.pts = append(fx.pts, aePoint{Dataset: "websocket", Timestamp: to + 60*1000, Indexes: []string{"open"}, Blobs: []string{"open"}})
		fx.pts = append(fx.pts, aePoint{Dataset: "requests", Timestamp: to + 60*1000, Indexes: []string{"GET /late"}, Doubles: []float64{1, 500}})
	}
	// Labels must not be in the future beyond the server's skew.
	for i := range fx.pts {
		if fx.pts[i].Timestamp > now.UnixMilli() {
			fx.pts[i].Timestamp = now.UnixMilli() - 1000
		}
	}

	// The project prices gpt-4o-mini itself for the first half of the
	// writes, then goes back to the default price: each point keeps the
	// price of the moment it was written.
	half := len(fx.pts) / 2
	if code := e.call("PUT", "/api/v1/pricing/"+mini, A, fmt.Sprintf(`{"input":%v,"output":%v}`, projMiniInput, projMiniOutput), nil, nil); code != 200 {
		t.Fatalf("PUT price = %d", code)
	}
	for i, p := range fx.pts {
		if fx.cost[i] != -1 || p.Dataset != "ai_usage" {
			continue
		}
		in, out, cached := p.dbl(3), p.dbl(4), p.dbl(7)
		if i < half {
			fx.cost[i] = (in*projMiniInput + out*projMiniOutput) / 1e6 // no cached rate: input rate
		} else {
			fx.cost[i] = ((in-cached)*miniInput + cached*miniCached + out*miniOutput) / 1e6
		}
	}
	e.write(W, fx.pts[:half])
	if code := e.call("DELETE", "/api/v1/pricing/"+mini, A, nil, nil, nil); code != 200 {
		t.Fatalf("DELETE price = %d", code)
	}
	e.write(W, fx.pts[half:])

	// Asked of raw points, quantiles are exact (within a rank). Asked of
	// rollups, they answer every figure but the intent accuracy (a join of
	// predictions and labels by id, always on raw points: so "mixed"),
	// with quantiles within their sketches' 1% relative error; a figure
	// they could not answer would fail the request.
	for _, src := range []string{"raw", "rollup"} {
		q := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {time.UnixMilli(to).UTC().Format(time.RFC3339)}, "interval": {"3h"}, "top": {"3"}, "source": {src}}
		var got dashboard.Metrics
		if code := e.call("GET", "/api/v1/metrics?"+q.Encode(), R, nil, nil, &got); code != 200 {
			t.Fatalf("GET metrics (source %s) = %d", src, code)
		}
		if got.Previous == nil || got.Series == nil || got.Meta == nil {
			t.Fatalf("metrics lack previous, series or meta: %+v", got)
		}
		if got.Meta.From != formatMs(from) || got.Meta.To != formatMs(to) || got.Meta.PreviousFrom != formatMs(prevFrom) || got.Meta.Interval != "3h" {
			t.Errorf("meta = %+v", got.Meta)
		}
		c := checker{t: t, fx: fx}
		if want := map[string]string{"raw": "raw", "rollup": "mixed"}[src]; got.Meta.Source != want {
			t.Errorf("source %s: meta.source = %q; want %q", src, got.Meta.Source, want)
		}
		if src == "rollup" {
			c.relErr = 0.01
		}
		c.period("current", &got, from, to, 3)
		c.period("previous", got.Previous, prevFrom, from, 3)
		c.series(got.Series, from, to, 3*3600*1000)
	}

	// The seed's four keys are at the top level, exactly.
	var raw map[string]any
	e.call("GET", "/api/v1/metrics?range=7d", R, nil, nil, &raw)
	for _, k := range []string{"requests", "latency", "errorRate"} {
		if _, ok := raw[k].(float64); !ok {
			t.Errorf("top-level %q = %v; want a number", k, raw[k])
		}
	}
	if ai, _ := raw["aiUsage"].(map[string]any); len(ai) != 2 || ai["tokens"] == nil || ai["cost"] == nil {
		t.Errorf("aiUsage = %v; want tokens and cost", raw["aiUsage"])
	}
	if _, ok := raw["series"]; ok {
		t.Error("series present without interval")
	}
}

// checker compares the answer with figures computed here from the points.
type checker struct {
	t  *testing.T
	fx *fixture
	// relErr widens quantile checks by a relative error (rollup sketches).
	relErr float64
}

func (c checker) in(ds string, from, to int64) []int {
	var out []int
	for i, p := range c.fx.pts {
		if p.Dataset == ds && p.Timestamp >= from && p.Timestamp < to {
			out = append(out, i)
		}
	}
	return out
}

func (c checker) num(name string, got, want float64) {
	c.t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		c.t.Errorf("%s = %v; want %v", name, got, want)
	}
}

func (c checker) opt(name string, got *float64, want float64, defined bool) {
	c.t.Helper()
	switch {
	case !defined && got != nil:
		c.t.Errorf("%s = %v; want null", name, *got)
	case defined && got == nil:
		c.t.Errorf("%s = null; want %v", name, want)
	case defined:
		c.num(name, *got, want)
	}
}

// quantiles checks p50/p95/p99 against xs within one rank of the exact
// order statistic.
func (c checker) quantiles(name string, got dashboard.Quantiles, xs []float64) {
	c.t.Helper()
	xs = slices.Clone(xs)
	sort.Float64s(xs)
	for _, q := range []struct {
		key string
		q   float64
		got *float64
	}{{"p50", 0.5, got.P50}, {"p95", 0.95, got.P95}, {"p99", 0.99, got.P99}} {
		if len(xs) == 0 {
			if q.got != nil {
				c.t.Errorf("%s.%s = %v; want null over no points", name, q.key, *q.got)
			}
			continue
		}
		if q.got == nil {
			c.t.Errorf("%s.%s = null; want a value over %d points", name, q.key, len(xs))
			continue
		}
		pos := q.q * float64(len(xs)-1)
		lo, hi := xs[max(int(math.Floor(pos))-1, 0)], xs[min(int(math.Ceil(pos))+1, len(xs)-1)]
		lo, hi = lo-math.Abs(lo)*c.relErr, hi+math.Abs(hi)*c.relErr
		if *q.got < lo-1e-9 || *q.got > hi+1e-9 {
			c.t.Errorf("%s.%s = %v; want within [%v, %v] (rank %.1f of %d)", name, q.key, *q.got, lo, hi, pos, len(xs))
		}
	}
}

func pctOf(a, b float64) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return 100 * a / b, true
}

func (c checker) period(label string, m *dashboard.Metrics, from, to int64, top int) {
	t := c.t
	t.Helper()
	pts := c.fx.pts
	name := func(s string) string { return label + "." + s }

	// requests
	req := c.in("requests", from, to)
	var durs []float64
	var errs float64
	type epAgg struct {
		n, errs float64
		durs    []float64
	}
	eps := map[string]*epAgg{}
	for _, i := range req {
		p := pts[i]
		durs = append(durs, p.dbl(1))
		a := eps[p.index()]
		if a == nil {
			a = &epAgg{}
			eps[p.index()] = a
		}
		a.n++
		a.durs = append(a.durs, p.dbl(1))
		if p.dbl(2) >= 400 {
			errs++
			a.errs++
		}
	}
	c.num(name("requests"), m.Requests, float64(len(req)))
	c.num(name("latency"), m.Latency, mean(durs))
	rate, _ := pctOf(errs, float64(len(req)))
	c.num(name("errorRate"), m.ErrorRate, rate)
	c.quantiles(name("latencyPercentiles"), m.LatencyPercentiles, durs)
	// Top endpoints by errors.
	type epRow struct {
		ep        string
		n, e, pct float64
	}
	var rows []epRow
	for ep, a := range eps {
		r, _ := pctOf(a.errs, a.n)
		rows = append(rows, epRow{ep, a.n, a.errs, r})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].e != rows[j].e {
			return rows[i].e > rows[j].e
		}
		if rows[i].pct != rows[j].pct {
			return rows[i].pct > rows[j].pct
		}
		if rows[i].n != rows[j].n {
			return rows[i].n > rows[j].n
		}
		return rows[i].ep < rows[j].ep
	})
	rows = rows[:min(top, len(rows))]
	if len(m.ErrorRateByEndpoint) != len(rows) {
		t.Errorf("%s has %d rows; want %d", name("errorRateByEndpoint"), len(m.ErrorRateByEndpoint), len(rows))
	} else {
		for i, r := range rows {
			g := m.ErrorRateByEndpoint[i]
			n := fmt.Sprintf("%s[%d]", name("errorRateByEndpoint"), i)
			if g.Endpoint != r.ep {
				t.Errorf("%s.endpoint = %q; want %q", n, g.Endpoint, r.ep)
				continue
			}
			c.num(n+".requests", g.Requests, r.n)
			c.num(n+".errors", g.Errors, r.e)
			c.num(n+".errorRate", g.ErrorRate, r.pct)
			c.opt(n+".latency", g.Latency, mean(eps[r.ep].durs), true)
			c.quantiles(n+".latencyPercentiles", g.Latencies, eps[r.ep].durs)
		}
	}

	c.periodAI(label, m, from, to)
	c.periodOthers(label, m, from, to, top)
	c.periodIntent(label, m, from, to)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func (c checker) periodAI(label string, m *dashboard.Metrics, from, to int64) {
	t := c.t
	t.Helper()
	pts := c.fx.pts
	name := func(s string) string { return label + "." + s }
	type modelAgg struct {
		calls, tokens, in, out, cost, unpriced float64
		lat, ttft                              []float64
	}
	var all modelAgg
	var cached, neurons float64
	models := map[string]*modelAgg{}
	unpriced := map[string][2]float64{} // "dataset/model" -> points, tokens
	for _, i := range c.in("ai_usage", from, to) {
		p := pts[i]
		a := models[p.blob(1)]
		if a == nil {
			a = &modelAgg{}
			models[p.blob(1)] = a
		}
		cost := c.fx.cost[i]
		isUnpriced := p.blob(1) == unpricedBlob || p.index() == unpricedIndex
		for _, x := range []*modelAgg{&all, a} {
			x.calls++
			x.tokens += p.dbl(1)
			x.in += p.dbl(3)
			x.out += p.dbl(4)
			x.cost += cost
			x.lat = append(x.lat, p.dbl(2))
			if p.dbl(5) > 0 {
				x.ttft = append(x.ttft, p.dbl(5))
			}
			if isUnpriced {
				x.unpriced++
			}
		}
		cached += p.dbl(7)
		neurons += p.dbl(8)
		if isUnpriced {
			model := p.blob(1)
			if model == "" {
				model = p.index()
			}
			u := unpriced["ai_usage/"+model]
			unpriced["ai_usage/"+model] = [2]float64{u[0] + 1, u[1] + p.dbl(1)}
		}
	}
	c.num(name("aiUsage.tokens"), m.AIUsage.Tokens, all.tokens)
	c.num(name("aiUsage.cost"), m.AIUsage.Cost, all.cost)
	a := m.AI
	c.num(name("ai.calls"), a.Calls, all.calls)
	c.num(name("ai.tokens"), a.Tokens, all.tokens)
	c.num(name("ai.inputTokens"), a.InputTokens, all.in)
	c.num(name("ai.outputTokens"), a.OutputTokens, all.out)
	c.num(name("ai.cachedInputTokens"), a.CachedInputTokens, cached)
	c.num(name("ai.neurons"), a.Neurons, neurons)
	c.num(name("ai.cost"), a.Cost, all.cost)
	c.num(name("ai.unpricedCalls"), a.UnpricedCalls, all.unpriced)
	c.quantiles(name("ai.latency"), a.Latency, all.lat)
	c.quantiles(name("ai.timeToFirstToken"), a.TimeToFirstToken, all.ttft)
	if len(a.ByModel) != len(models) {
		t.Errorf("%s has %d models; want %d", name("ai.byModel"), len(a.ByModel), len(models))
	}
	for i, g := range a.ByModel {
		w := models[g.Model]
		n := fmt.Sprintf("%s[%s]", name("ai.byModel"), g.Model)
		if w == nil {
			t.Errorf("%s: unexpected model", n)
			continue
		}
		if i > 0 && a.ByModel[i-1].Cost < g.Cost {
			t.Errorf("%s: not ordered by cost", n)
		}
		c.num(n+".calls", g.Calls, w.calls)
		c.num(n+".tokens", g.Tokens, w.tokens)
		c.num(n+".inputTokens", g.InputTokens, w.in)
		c.num(n+".outputTokens", g.OutputTokens, w.out)
		c.num(n+".cost", g.Cost, w.cost)
		c.num(n+".unpricedCalls", g.UnpricedCalls, w.unpriced)
		c.quantiles(n+".latency", g.Latency, w.lat)
		c.quantiles(n+".timeToFirstToken", g.TimeToFirstToken, w.ttft)
	}

	// embeddings
	type embAgg struct {
		calls, tokens, vectors, cost float64
		lat                          []float64
	}
	var eAll embAgg
	var eUnpriced float64
	eModels := map[string]*embAgg{}
	for _, i := range c.in("embeddings", from, to) {
		p := pts[i]
		x := eModels[p.blob(1)]
		if x == nil {
			x = &embAgg{}
			eModels[p.blob(1)] = x
		}
		for _, y := range []*embAgg{&eAll, x} {
			y.calls++
			y.tokens += p.dbl(2)
			y.vectors += p.dbl(3)
			y.cost += c.fx.cost[i]
			y.lat = append(y.lat, p.dbl(1))
		}
		if p.blob(1) == unpricedEmbeder {
			eUnpriced++
			u := unpriced["embeddings/"+unpricedEmbeder]
			unpriced["embeddings/"+unpricedEmbeder] = [2]float64{u[0] + 1, u[1] + p.dbl(2)}
		}
	}
	em := m.Embeddings
	c.num(name("embeddings.calls"), em.Calls, eAll.calls)
	c.num(name("embeddings.tokens"), em.Tokens, eAll.tokens)
	c.num(name("embeddings.vectors"), em.Vectors, eAll.vectors)
	c.num(name("embeddings.cost"), em.Cost, eAll.cost)
	c.num(name("embeddings.unpricedCalls"), em.UnpricedCalls, eUnpriced)
	c.quantiles(name("embeddings.latency"), em.Latency, eAll.lat)
	if len(em.ByModel) != len(eModels) {
		t.Errorf("%s has %d models; want %d", name("embeddings.byModel"), len(em.ByModel), len(eModels))
	}
	for _, g := range em.ByModel {
		w := eModels[g.Model]
		n := name("embeddings.byModel[" + g.Model + "]")
		if w == nil {
			t.Errorf("%s: unexpected", n)
			continue
		}
		c.num(n+".calls", g.Calls, w.calls)
		c.num(n+".tokens", g.Tokens, w.tokens)
		c.num(n+".vectors", g.Vectors, w.vectors)
		c.num(n+".cost", g.Cost, w.cost)
		c.quantiles(n+".latency", g.Latency, w.lat)
	}

	// Unpriced models: listed by name, never free and silent.
	if len(a.UnpricedModels) != len(unpriced) {
		t.Errorf("%s = %+v; want %v", name("ai.unpricedModels"), a.UnpricedModels, unpriced)
	}
	for _, u := range a.UnpricedModels {
		w, ok := unpriced[u.Dataset+"/"+u.Model]
		if !ok {
			t.Errorf("%s lists %s/%s", name("ai.unpricedModels"), u.Dataset, u.Model)
			continue
		}
		c.num(name("ai.unpricedModels["+u.Model+"].points"), u.Points, w[0])
		c.num(name("ai.unpricedModels["+u.Model+"].tokens"), u.Tokens, w[1])
	}
}

func (c checker) periodOthers(label string, m *dashboard.Metrics, from, to int64, top int) {
	t := c.t
	t.Helper()
	pts := c.fx.pts
	name := func(s string) string { return label + "." + s }

	// vector_search
	var lat, results, means, tops []float64
	byIndex := map[string][]int{}
	for _, i := range c.in("vector_search", from, to) {
		p := pts[i]
		lat = append(lat, p.dbl(2))
		results = append(results, p.dbl(1))
		if p.dbl(4) != 0 {
			means = append(means, p.dbl(4))
		}
		if p.dbl(3) != 0 {
			tops = append(tops, p.dbl(3))
		}
		byIndex[p.index()] = append(byIndex[p.index()], i)
	}
	v := m.VectorSearch
	c.num(name("vectorSearch.searches"), v.Searches, float64(len(lat)))
	c.opt(name("vectorSearch.meanResults"), v.MeanResults, mean(results), len(results) > 0)
	c.quantiles(name("vectorSearch.latency"), v.Latency, lat)
	c.opt(name("vectorSearch.meanRelevance"), v.MeanRelevance, mean(means), len(means) > 0)
	c.opt(name("vectorSearch.topRelevance"), v.TopRelevance, mean(tops), len(tops) > 0)
	if len(v.ByIndex) != len(byIndex) {
		t.Errorf("%s has %d rows; want %d", name("vectorSearch.byIndex"), len(v.ByIndex), len(byIndex))
	}
	for _, g := range v.ByIndex {
		var l, ms []float64
		for _, i := range byIndex[g.Index] {
			l = append(l, pts[i].dbl(2))
			if pts[i].dbl(4) != 0 {
				ms = append(ms, pts[i].dbl(4))
			}
		}
		n := name("vectorSearch.byIndex[" + g.Index + "]")
		c.num(n+".searches", g.Searches, float64(len(l)))
		c.quantiles(n+".latency", g.Latency, l)
		c.opt(n+".meanRelevance", g.MeanRelevance, mean(ms), len(ms) > 0)
	}

	// db_queries
	var dl []float64
	var read, written float64
	byQ := map[string][]int{}
	for _, i := range c.in("db_queries", from, to) {
		p := pts[i]
		dl = append(dl, p.dbl(1))
		read += p.dbl(2)
		written += p.dbl(3)
		byQ[p.index()] = append(byQ[p.index()], i)
	}
	d := m.DBQueries
	c.num(name("dbQueries.queries"), d.Queries, float64(len(dl)))
	c.num(name("dbQueries.rowsRead"), d.RowsRead, read)
	c.num(name("dbQueries.rowsWritten"), d.RowsWritten, written)
	c.quantiles(name("dbQueries.latency"), d.Latency, dl)
	if len(d.ByQuery) != min(top, len(byQ)) {
		t.Errorf("%s has %d rows; want %d", name("dbQueries.byQuery"), len(d.ByQuery), min(top, len(byQ)))
	}
	for i, g := range d.ByQuery {
		var l []float64
		var r, w float64
		for _, j := range byQ[g.Query] {
			l = append(l, pts[j].dbl(1))
			r += pts[j].dbl(2)
			w += pts[j].dbl(3)
		}
		n := name("dbQueries.byQuery[" + g.Query + "]")
		c.num(n+".count", g.Count, float64(len(l)))
		c.opt(n+".meanLatency", g.MeanLatency, mean(l), len(l) > 0)
		c.quantiles(n+".latency", g.Latency, l)
		c.num(n+".rowsRead", g.RowsRead, r)
		c.num(n+".rowsWritten", g.RowsWritten, w)
		if i > 0 && *d.ByQuery[i-1].Latency.P95 < *g.Latency.P95 {
			t.Errorf("%s: not ordered by p95", n)
		}
	}

	// websocket
	var opens, closes, errs, abnormal, allOpens, allCloses float64
	for _, p := range pts {
		if p.Dataset != "websocket" || p.Timestamp >= to {
			continue
		}
		switch p.index() {
		case "open":
			allOpens++
		case "close":
			allCloses++
		}
		if p.Timestamp < from {
			continue
		}
		switch p.index() {
		case "open":
			opens++
		case "close":
			closes++
			if code := p.dbl(2); code != 0 && code != 1000 && code != 1001 {
				abnormal++
			}
		case "error":
			errs++
		}
	}
	w := m.WebSocket
	c.num(name("websocket.openConnections"), w.OpenConnections, max(allOpens-allCloses, 0))
	c.num(name("websocket.opens"), w.Opens, opens)
	c.num(name("websocket.closes"), w.Closes, closes)
	c.num(name("websocket.errors"), w.Errors, errs)
	c.num(name("websocket.abnormalCloses"), w.AbnormalCloses, abnormal)
	r, ok := pctOf(abnormal, closes)
	c.opt(name("websocket.disconnectRate"), w.DisconnectRate, r, ok)
	r, ok = pctOf(errs, opens)
	c.opt(name("websocket.errorRate"), w.ErrorRate, r, ok)

	// grade_passback
	var gl []float64
	var succ float64
	type lms struct{ n, ok float64 }
	byP := map[string]*lms{}
	for _, i := range c.in("grade_passback", from, to) {
		p := pts[i]
		gl = append(gl, p.dbl(2))
		succ += p.dbl(1)
		x := byP[p.index()]
		if x == nil {
			x = &lms{}
			byP[p.index()] = x
		}
		x.n++
		x.ok += p.dbl(1)
	}
	g := m.GradePassback
	c.num(name("gradePassback.attempts"), g.Attempts, float64(len(gl)))
	c.num(name("gradePassback.successes"), g.Successes, succ)
	c.num(name("gradePassback.failures"), g.Failures, float64(len(gl))-succ)
	r, ok = pctOf(succ, float64(len(gl)))
	c.opt(name("gradePassback.successRate"), g.SuccessRate, r, ok)
	c.quantiles(name("gradePassback.latency"), g.Latency, gl)
	if len(g.ByPlatform) != len(byP) {
		t.Errorf("%s has %d rows; want %d", name("gradePassback.byPlatform"), len(g.ByPlatform), len(byP))
	}
	for _, row := range g.ByPlatform {
		x := byP[row.Platform]
		n := name("gradePassback.byPlatform[" + row.Platform + "]")
		c.num(n+".attempts", row.Attempts, x.n)
		c.num(n+".failures", row.Failures, x.n-x.ok)
		r, ok := pctOf(x.ok, x.n)
		c.opt(n+".successRate", row.SuccessRate, r, ok)
	}
}

// intentTruth joins predictions in [from, to) to their latest labels.
func (c checker) intentTruth(from, to int64) (byIntent map[string]*[3]float64) {
	latest := map[string]aePoint{}
	for _, p := range c.fx.pts {
		if p.Dataset == "intent" && p.blob(4) == "label" && p.blob(3) != "" {
			if l, ok := latest[p.blob(3)]; !ok || p.Timestamp >= l.Timestamp {
				latest[p.blob(3)] = p
			}
		}
	}
	byIntent = map[string]*[3]float64{}
	for _, i := range c.in("intent", from, to) {
		p := c.fx.pts[i]
		if p.blob(4) == "label" {
			continue
		}
		x := byIntent[p.blob(2)]
		if x == nil {
			x = &[3]float64{}
			byIntent[p.blob(2)] = x
		}
		x[0]++
		if l, ok := latest[p.blob(3)]; ok && p.blob(3) != "" {
			x[1]++
			if l.blob(5) == p.blob(2) {
				x[2]++
			}
		}
	}
	return byIntent
}

func (c checker) periodIntent(label string, m *dashboard.Metrics, from, to int64) {
	t := c.t
	t.Helper()
	byIntent := c.intentTruth(from, to)
	var tot [3]float64
	for _, x := range byIntent {
		for k := range tot {
			tot[k] += x[k]
		}
	}
	in := m.Intent
	name := func(s string) string { return label + ".intent." + s }
	c.num(name("predictions"), in.Predictions, tot[0])
	c.num(name("labelled"), in.Labelled, tot[1])
	c.num(name("correct"), in.Correct, tot[2])
	r, ok := pctOf(tot[2], tot[1])
	c.opt(name("accuracy"), in.Accuracy, r, ok)
	r, ok = pctOf(tot[1], tot[0])
	c.opt(name("labelledShare"), in.LabelledShare, r, ok)
	if tot[0] == 0 || tot[1] == 0 || tot[1] == tot[0] || tot[2] == tot[1] {
		t.Errorf("%s: the fixture should have unlabelled and wrong predictions: %v", label, tot)
	}
	if len(in.ByIntent) != len(byIntent) {
		t.Errorf("%s has %d rows; want %d", name("byIntent"), len(in.ByIntent), len(byIntent))
	}
	for _, g := range in.ByIntent {
		x := byIntent[g.Intent]
		if x == nil {
			t.Errorf("%s lists %q", name("byIntent"), g.Intent)
			continue
		}
		n := name("byIntent[" + g.Intent + "]")
		c.num(n+".predictions", g.Predictions, x[0])
		c.num(n+".labelled", g.Labelled, x[1])
		c.num(n+".correct", g.Correct, x[2])
		r, ok := pctOf(x[2], x[1])
		c.opt(n+".accuracy", g.Accuracy, r, ok)
		r, ok = pctOf(x[1], x[0])
		c.opt(n+".labelledShare", g.LabelledShare, r, ok)
	}
}

func (c checker) series(s *dashboard.Series, from, to, iv int64) {
	t := c.t
	t.Helper()
	first := from / iv * iv
	n := int((to - first + iv - 1) / iv)
	if s.Interval != "3h" || len(s.Buckets) != n {
		t.Fatalf("series = %s with %d buckets; want 3h with %d", s.Interval, len(s.Buckets), n)
	}
	for b := range s.Buckets {
		bf, bt := max(first+int64(b)*iv, from), min(first+int64(b+1)*iv, to)
		got := s.Buckets[b]
		name := fmt.Sprintf("series[%d]", b)
		if got.T != formatMs(first+int64(b)*iv) {
			t.Errorf("%s.t = %s; want %s", name, got.T, formatMs(first+int64(b)*iv))
		}
		var durs []float64
		var errs float64
		for _, i := range c.in("requests", bf, bt) {
			durs = append(durs, c.fx.pts[i].dbl(1))
			if c.fx.pts[i].dbl(2) >= 400 {
				errs++
			}
		}
		c.num(name+".requests", got.Requests, float64(len(durs)))
		c.opt(name+".latency", got.Latency, mean(durs), len(durs) > 0)
		r, ok := pctOf(errs, float64(len(durs)))
		c.opt(name+".errorRate", got.ErrorRate, r, ok)
		c.quantiles(name+".latencyPercentiles", got.LatencyPercentiles, durs)
		var calls, tokens, cost float64
		var al []float64
		for _, i := range c.in("ai_usage", bf, bt) {
			calls++
			tokens += c.fx.pts[i].dbl(1)
			cost += c.fx.cost[i]
			al = append(al, c.fx.pts[i].dbl(2))
		}
		c.num(name+".aiCalls", got.AICalls, calls)
		c.num(name+".aiTokens", got.AITokens, tokens)
		c.num(name+".aiCost", got.AICost, cost)
		c.quantiles(name+".aiLatency", got.AILatency, al)
		col := func(ds string, pos int) []float64 {
			var xs []float64
			for _, i := range c.in(ds, bf, bt) {
				xs = append(xs, c.fx.pts[i].dbl(pos))
			}
			return xs
		}
		c.quantiles(name+".embeddingLatency", got.EmbeddingLatency, col("embeddings", 1))
		c.quantiles(name+".vectorSearchLatency", got.VectorSearchLatency, col("vector_search", 2))
		c.quantiles(name+".dbQueryLatency", got.DBQueryLatency, col("db_queries", 1))
		var ms []float64
		for _, x := range col("vector_search", 4) {
			if x != 0 {
				ms = append(ms, x)
			}
		}
		c.opt(name+".meanRelevance", got.MeanRelevance, mean(ms), len(ms) > 0)
		var o, cl, e float64
		for _, i := range c.in("websocket", bf, bt) {
			switch c.fx.pts[i].index() {
			case "open":
				o++
			case "close":
				cl++
			case "error":
				e++
			}
		}
		c.num(name+".wsOpens", got.WSOpens, o)
		c.num(name+".wsCloses", got.WSCloses, cl)
		c.num(name+".wsErrors", got.WSErrors, e)
		gp := col("grade_passback", 1)
		c.num(name+".gradePassbacks", got.GradePassbacks, float64(len(gp)))
		var okN float64
		for _, x := range gp {
			okN += x
		}
		r, ok = pctOf(okN, float64(len(gp)))
		c.opt(name+".gradePassbackSuccessRate", got.GradePassbackSuccessRate, r, ok)
		byIntent := c.intentTruth(bf, bt)
		var tot [3]float64
		for _, x := range byIntent {
			for k := range tot {
				tot[k] += x[k]
			}
		}
		c.num(name+".intentPredictions", got.IntentPredictions, tot[0])
		r, ok = pctOf(tot[2], tot[1])
		c.opt(name+".intentAccuracy", got.IntentAccuracy, r, ok)
	}
}

func formatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func TestPlatformMetricsEmptyAndErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	R, W := e.keys[meta.KindRead], e.keys[meta.KindWrite]
	// Another project's data is invisible.
	var web struct {
		Keys map[string]string `json:"keys"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"web"}`, nil, &web); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	e.write(web.Keys["write"], []aePoint{
		{Dataset: "requests", Timestamp: time.Now().Add(-time.Hour).UnixMilli(), Indexes: []string{"/x"}, Doubles: []float64{5, 500}},
		{Dataset: "ai_usage", Timestamp: time.Now().Add(-time.Hour).UnixMilli(), Indexes: []string{"gpt-4o"}, Blobs: []string{"gpt-4o"}, Doubles: []float64{1000, 5}},
	})
	// Project 1 has points only in an unrelated dataset.
	e.write(W, []aePoint{{Dataset: "pageviews", Timestamp: time.Now().Add(-time.Hour).UnixMilli(), Indexes: []string{"/"}}})

	var raw map[string]any
	if code := e.call("GET", "/api/v1/metrics?range=24h&interval=1h", R, nil, nil, &raw); code != 200 {
		t.Fatalf("GET metrics over no data = %d %v", code, raw)
	}
	for _, k := range []string{"requests", "latency", "errorRate"} {
		if raw[k] != 0.0 {
			t.Errorf("%s = %v; want 0 over no data", k, raw[k])
		}
	}
	if ai := raw["aiUsage"].(map[string]any); ai["tokens"] != 0.0 || ai["cost"] != 0.0 {
		t.Errorf("aiUsage = %v; want zeros", ai)
	}
	lp := raw["latencyPercentiles"].(map[string]any)
	if len(lp) != 3 || lp["p50"] != nil || lp["p95"] != nil || lp["p99"] != nil {
		t.Errorf("latencyPercentiles = %v; want three nulls", lp)
	}
	if l, ok := raw["errorRateByEndpoint"].([]any); !ok || len(l) != 0 {
		t.Errorf("errorRateByEndpoint = %v; want []", raw["errorRateByEndpoint"])
	}
	if ws := raw["websocket"].(map[string]any); ws["openConnections"] != 0.0 || ws["disconnectRate"] != nil {
		t.Errorf("websocket = %v; want 0 open, null rate", ws)
	}
	if in := raw["intent"].(map[string]any); in["accuracy"] != nil || in["predictions"] != 0.0 {
		t.Errorf("intent = %v; want null accuracy, 0 predictions", in)
	}
	series := raw["series"].(map[string]any)
	if b := series["buckets"].([]any); len(b) < 24 || len(b) > 25 {
		t.Errorf("series has %d buckets; want 24 or 25 (partial first)", len(b))
	}
	if meta := raw["meta"].(map[string]any); meta["warnings"] != nil {
		t.Errorf("warnings = %v", meta["warnings"])
	}

	for _, tc := range []struct{ q, want string }{
		{"range=abc", "range"},
		{"range=24h&from=1", "either range or from/to"},
		{"to=1000", "needs from"},
		{"from=2000&to=1000", "before to"},
		{"interval=100ms", "at least 1s"},
		{"range=30d&interval=1m", "buckets"},
		{"top=0", "top"},
		{"range=500d", "longer"},
		{"colour=red", "unknown parameter"},
		{"range=1h&range=2h", "given 2 times"},
	} {
		var a struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if code := e.call("GET", "/api/v1/metrics?"+tc.q, R, nil, nil, &a); code != 400 || !strings.Contains(a.Error.Message, tc.want) {
			t.Errorf("GET metrics?%s = %d %+v; want 400 mentioning %q", tc.q, code, a.Error, tc.want)
		}
	}
	if code := e.call("GET", "/api/v1/metrics", W, nil, nil, nil); code != 403 {
		t.Errorf("GET metrics with a write key = %d; want 403", code)
	}
	if code := e.call("GET", "/api/v1/metrics", "", nil, nil, nil); code != 401 {
		t.Errorf("GET metrics without a key = %d; want 401", code)
	}
}
