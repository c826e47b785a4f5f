// Package insights owns the per-page performance report of GET
// /api/v1/insights: for each page of a site (its path with ids folded, the
// route package enrich writes), how many views it had, its Core Web Vitals
// at p75 with their ratings, shares and change on the period before, the
// elements that made its LCP and the targets of its slow interactions, its
// JavaScript error rate, the API calls it waits on, the latest lab run
// (Lighthouse) of the page when a LabSource knows one, and
// recommendations that each carry the numbers behind them.
//
// It asks its questions as query.Subs through an Executor (the rollup
// planner) in forms the built-in rollups answer: route, element, rating
// and index1 are dimensions of web_vitals, route of api_calls and
// client_errors, index1 of pageviews. It never sees HTTP, never reads the
// store directly and never writes.
package insights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Executor answers one dataset's Sub: the store, or a planner over rollups.
type Executor interface {
	Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error)
}

// Options configure an Insights.
type Options struct {
	// Exec answers the Subs; required.
	Exec Executor
	// Lab gives a page's latest lab run; nil means none (lab is null).
	Lab LabSource
	// Parallel bounds the questions asked at once (default 4).
	Parallel int
}

// Insights computes reports.
type Insights struct {
	exec     Executor
	lab      LabSource
	parallel int
}

// New returns an Insights.
func New(opts Options) (*Insights, error) {
	if opts.Exec == nil {
		return nil, errors.New("insights: no executor")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	return &Insights{exec: opts.Exec, lab: opts.Lab, parallel: opts.Parallel}, nil
}

// Report is the answer of GET /api/v1/insights.
type Report struct {
	Pages []Page `json:"pages"`
	Meta  Meta   `json:"meta"`
}

// Page is one page's report.
type Page struct {
	// Page is the route: the path with its ids folded (/lessons/:id).
	Page string `json:"page"`
	// Views counts the page views of the period.
	Views float64 `json:"views"`
	// Vitals holds LCP, INP, CLS, FCP and TTFB; a metric without samples
	// on the page is null.
	Vitals Vitals `json:"vitals"`
	// LCPElements are the elements that were the page's LCP, with their
	// share of its LCP samples; the largest first.
	LCPElements []Element `json:"lcpElements"`
	// INPTargets are the elements whose interactions were the page's INP,
	// with their share of its INP samples and their own p75.
	INPTargets []Element `json:"inpTargets"`
	// Errors counts the page's client errors; ErrorRate is errors per
	// view (null without views).
	Errors    float64  `json:"errors"`
	ErrorRate *float64 `json:"errorRate"`
	// SlowestAPICalls are the API endpoints browsers called from the page,
	// slowest p75 first.
	SlowestAPICalls []APICall `json:"slowestApiCalls"`
	// Lab is the page's latest lab run, or null.
	Lab *Lab `json:"lab"`
	// Recommendations come from the figures above, each with its evidence.
	Recommendations []Recommendation `json:"recommendations"`
	// Impact orders the pages: Views × Excess.
	Impact float64 `json:"impact"`
	// Excess is how far the worst p75 is past its "good" threshold, in
	// units of the metric's needs-improvement band (see ImpactFormula).
	Excess float64 `json:"excess"`
}

// Vitals are a page's Core Web Vitals.
type Vitals struct {
	LCP  *Vital `json:"LCP"`
	INP  *Vital `json:"INP"`
	CLS  *Vital `json:"CLS"`
	FCP  *Vital `json:"FCP"`
	TTFB *Vital `json:"TTFB"`
}

func (v *Vitals) at(i int) **Vital {
	return [...]**Vital{&v.LCP, &v.INP, &v.CLS, &v.FCP, &v.TTFB}[i]
}

// Vital is one metric on one page.
type Vital struct {
	// P75 is the 75th percentile of the samples (ms; CLS unitless).
	P75 *float64 `json:"p75"`
	// Rating rates P75 with Google's thresholds.
	Rating string `json:"rating"`
	// Good, NeedsImprovement and Poor are the shares (0–1) of the samples
	// rated so (by the rating each was sent with); null without any.
	Good             *float64 `json:"good"`
	NeedsImprovement *float64 `json:"needsImprovement"`
	Poor             *float64 `json:"poor"`
	// Change is (P75 − previous P75) / previous P75 over the period of
	// equal length before: +0.2 is 20 % higher, which for every one of
	// these metrics is worse. Null without samples in either period.
	Change *float64 `json:"change"`
	// Samples counts the samples.
	Samples float64 `json:"samples"`
}

// Element is an LCP element or an INP target.
type Element struct {
	Element string  `json:"element"`
	Share   float64 `json:"share"`
	// P75 is the p75 of the metric's samples blamed on the element (INP
	// targets only).
	P75     *float64 `json:"p75,omitempty"`
	Samples float64  `json:"samples"`
}

// APICall is an endpoint as browsers on the page saw it.
type APICall struct {
	Endpoint string   `json:"endpoint"`
	P75      *float64 `json:"p75"`
	Calls    float64  `json:"calls"`
}

// Lab is a page's latest lab run.
type Lab struct {
	Check string    `json:"check"`
	RunID string    `json:"runId"`
	At    time.Time `json:"at"`
	Score int       `json:"score"`
}

// Meta describes the answer.
type Meta struct {
	// From and To bound the period; PreviousFrom and PreviousTo the one
	// before it, which Vital.Change compares with (RFC 3339, UTC).
	From         string `json:"from"`
	To           string `json:"to"`
	PreviousFrom string `json:"previousFrom"`
	PreviousTo   string `json:"previousTo"`
	// Top bounds the pages listed.
	Top int `json:"top"`
	// Source and Sources say where the figures came from ("rollup", "raw"
	// or "mixed": rollups for whole minutes and hours, raw points for the
	// edges of the range), overall and per figure.
	Source  string            `json:"source"`
	Sources map[string]string `json:"sources"`
	// Impact says how pages are ordered; APICalls what slowestApiCalls are.
	Impact   string `json:"impact"`
	APICalls string `json:"apiCalls"`
	// ElapsedMs is the time the report took on the server.
	ElapsedMs float64 `json:"elapsedMs"`
	// Warnings say what was left out and why.
	Warnings []string `json:"warnings,omitempty"`
}

// ImpactFormula is Meta.Impact.
const ImpactFormula = "views × excess, where excess = max over LCP, INP, CLS, FCP, TTFB of max(0, (p75 − good) / (poor − good)) with Google's thresholds: 0 when every p75 is good, 1 when the worst sits at its poor threshold"

// apiCallsNote is Meta.APICalls.
const apiCallsNote = "the endpoints browsers called while on the page (api_calls by route), slowest p75 first"

// metric is a vital and Google's thresholds: good up to good, poor above
// poor.
type metric struct {
	name       string
	good, poor float64
}

var metrics = [...]metric{
	{"LCP", 2500, 4000},
	{"INP", 200, 500},
	{"CLS", 0.1, 0.25},
	{"FCP", 1800, 3000},
	{"TTFB", 800, 1800},
}

const (
	iLCP = 0
	iINP = 1
)

func metricIndex(name string) int {
	for i, m := range metrics {
		if m.name == name {
			return i
		}
	}
	return -1
}

// Ratings of web-vitals.
const (
	RatingGood             = "good"
	RatingNeedsImprovement = "needs-improvement"
	RatingPoor             = "poor"
)

var ratings = [...]string{RatingGood, RatingNeedsImprovement, RatingPoor}

func (m metric) rate(v float64) string {
	switch {
	case v <= m.good:
		return RatingGood
	case v <= m.poor:
		return RatingNeedsImprovement
	}
	return RatingPoor
}

// excess is how far v is past the good threshold, in needs-improvement
// bands.
func (m metric) excess(v float64) float64 {
	return max(0, (v-m.good)/(m.poor-m.good))
}

// Limits.
const (
	// maxGroups bounds each grouped question.
	maxGroups = 100_000
	// maxElements bounds lcpElements and inpTargets; maxAPICalls
	// slowestApiCalls.
	maxElements = 5
	maxAPICalls = 5
)

func field(dataset, name string) point.Field {
	f, err := point.Builtin(dataset).Resolve(name)
	if err != nil {
		panic("BUG: built-in dataset " + dataset + ": " + err.Error())
	}
	return f
}

var (
	index1    = point.Field{Kind: point.KindIndex, Pos: 1}
	wvRating  = field("web_vitals", "rating")
	wvRoute   = field("web_vitals", "route")
	wvElement = field("web_vitals", "element")
	wvValue   = field("web_vitals", "value")
	ceRoute   = field("client_errors", "route")
	acRoute   = field("api_calls", "route")
	acDur     = field("api_calls", "duration")
)

// tally is what the questions say of one page.
type tally struct {
	views, errors float64
	samples       [len(metrics)]float64
	p75, prevP75  [len(metrics)]*float64
	prevSamples   [len(metrics)]float64
	rated         [len(metrics)][3]float64
	elements      [2][]Element // LCP, INP
	calls         []APICall
}

// Report computes the report of req's period.
func (in *Insights) Report(ctx context.Context, req Request) (*Report, error) {
	start := time.Now()
	if req.Top == 0 {
		req.Top = DefaultTop
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	length := req.To - req.From
	a := &asker{in: in, req: req, pages: map[string]*tally{}, sources: map[string]string{}}
	a.ask(ctx, req.From, req.To, req.From-length)
	if a.err != nil {
		return nil, a.err
	}
	pages := a.build()
	slices.SortFunc(pages, func(x, y Page) int {
		if c := cmp.Compare(y.Impact, x.Impact); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Excess, x.Excess); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Views, x.Views); c != 0 {
			return c
		}
		return cmp.Compare(x.Page, y.Page)
	})
	if len(pages) > req.Top {
		pages = pages[:req.Top]
	}
	for i := range pages {
		p := &pages[i]
		if in.lab != nil {
			run, err := in.lab.LatestPageRun(ctx, req.Project, p.Page)
			if err != nil {
				a.warn(fmt.Sprintf("lab run of %s: %v", p.Page, err))
			} else if run != nil {
				p.Lab = &Lab{Check: run.Check, RunID: run.RunID, At: run.At.UTC(), Score: run.Score}
			}
			p.Recommendations = recommend(p, run)
			continue
		}
		p.Recommendations = recommend(p, nil)
	}
	return &Report{Pages: pages, Meta: Meta{
		From: formatMs(req.From), To: formatMs(req.To),
		PreviousFrom: formatMs(req.From - length), PreviousTo: formatMs(req.From),
		Top: req.Top, Source: a.source, Sources: a.sources,
		Impact: ImpactFormula, APICalls: apiCallsNote,
		ElapsedMs: float64(time.Since(start).Microseconds()) / 1000,
		Warnings:  a.warnings,
	}}, nil
}

// asker asks the questions of one report concurrently.
type asker struct {
	in  *Insights
	req Request

	mu       sync.Mutex
	err      error
	pages    map[string]*tally
	unrouted float64 // vitals samples without a route
	source   string
	answers  int
	sources  map[string]string
	warnings []string
}

func (a *asker) warn(msg string) {
	a.mu.Lock()
	a.warnings = append(a.warnings, msg)
	a.mu.Unlock()
}

// page returns the tally of a route; a.mu is held.
func (a *asker) page(route string) *tally {
	t := a.pages[route]
	if t == nil {
		t = &tally{}
		a.pages[route] = t
	}
	return t
}

type question struct {
	key  string
	sub  query.Sub
	fill func(res *query.SubResult) // called with a.mu held
}

// ask runs the questions of [from, to) (and the previous period's p75,
// from prevFrom) at most Parallel at once; the first failure cancels the
// others.
func (a *asker) ask(ctx context.Context, from, to, prevFrom int64) {
	in := func(ds string, groupBy ...point.Field) query.Sub {
		return query.Sub{Dataset: ds, From: from, To: to, GroupBy: groupBy}
	}
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = m.name
	}
	known := query.Filter{Field: index1, Op: query.OpIn, Value: names}
	count := query.Agg{Type: query.AggCount}
	p75 := func(f point.Field) query.Agg { return query.Agg{Type: query.AggQuantile, Field: f, Q: 0.75} }

	var qs []question
	// Views: page views by path (index1), folded here.
	q := in("pageviews", index1)
	q.Aggs = []query.Agg{count}
	qs = append(qs, question{"views", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			a.page(enrich.Route(group(r, 0))).views += r.Num(0)
		}
	}})
	// Samples and p75 by route and metric.
	q = in("web_vitals", wvRoute, index1)
	q.Filter = []query.Filter{known}
	q.Aggs = []query.Agg{count, p75(wvValue)}
	qs = append(qs, question{"vitals", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			route, m := group(r, 0), metricIndex(group(r, 1))
			if m < 0 {
				continue
			}
			if route == "" {
				a.unrouted += r.Num(0)
				continue
			}
			t := a.page(route)
			t.samples[m], t.p75[m] = r.Num(0), r.Opt(1)
		}
	}})
	// The previous period's.
	prev := q
	prev.From, prev.To = prevFrom, from
	qs = append(qs, question{"vitals.change", prev, func(res *query.SubResult) {
		for _, r := range res.Rows {
			route, m := group(r, 0), metricIndex(group(r, 1))
			if m < 0 || route == "" {
				continue
			}
			t := a.page(route)
			t.prevSamples[m], t.prevP75[m] = r.Num(0), r.Opt(1)
		}
	}})
	// Samples by rating.
	q = in("web_vitals", wvRoute, index1, wvRating)
	q.Filter = []query.Filter{known}
	q.Aggs = []query.Agg{count}
	qs = append(qs, question{"vitals", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			route, m, k := group(r, 0), metricIndex(group(r, 1)), slices.Index(ratings[:], group(r, 2))
			if m < 0 || k < 0 || route == "" {
				continue
			}
			a.page(route).rated[m][k] += r.Num(0)
		}
	}})
	// LCP elements and INP targets.
	q = in("web_vitals", wvRoute, index1, wvElement)
	q.Filter = []query.Filter{{Field: index1, Op: query.OpIn, Value: []string{"LCP", "INP"}}, {Field: wvElement, Op: query.OpNe, Value: ""}}
	q.Aggs = []query.Agg{count, p75(wvValue)}
	qs = append(qs, question{"elements", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			route, m, el := group(r, 0), metricIndex(group(r, 1)), group(r, 2)
			if route == "" || m != iLCP && m != iINP {
				continue
			}
			t := a.page(route)
			t.elements[m] = append(t.elements[m], Element{Element: el, Samples: r.Num(0), P75: r.Opt(1)})
		}
	}})
	// Client errors by route.
	q = in("client_errors", ceRoute)
	q.Aggs = []query.Agg{count}
	qs = append(qs, question{"errors", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			if route := group(r, 0); route != "" {
				a.page(route).errors += r.Num(0)
			}
		}
	}})
	// API calls by route and endpoint.
	q = in("api_calls", acRoute, index1)
	q.Aggs = []query.Agg{count, p75(acDur)}
	qs = append(qs, question{"slowestApiCalls", q, func(res *query.SubResult) {
		for _, r := range res.Rows {
			if route := group(r, 0); route != "" {
				t := a.page(route)
				t.calls = append(t.calls, APICall{Endpoint: group(r, 1), Calls: r.Num(0), P75: r.Opt(1)})
			}
		}
	}})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, a.in.parallel)
	var wg sync.WaitGroup
	for _, qu := range qs {
		qu.sub.Project, qu.sub.Source, qu.sub.MaxGroups = a.req.Project, a.req.Source, maxGroups
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			res, err := a.in.exec.Execute(ctx, &qu.sub)
			if err == nil && res == nil {
				err = query.ErrBadResult
			}
			if err == nil {
				for _, r := range res.Rows {
					if len(r.Values) != len(qu.sub.Aggs) || len(r.Groups) != len(qu.sub.GroupBy) {
						err = query.ErrBadResult
					}
				}
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if err != nil {
				if a.err == nil {
					a.err = fmt.Errorf("insights %s: %w", qu.key, err)
				}
				cancel()
				return
			}
			a.source = query.CombineSources(a.source, res.Source, a.answers == 0)
			a.answers++
			acc, ok := a.sources[qu.key]
			a.sources[qu.key] = query.CombineSources(acc, res.Source, !ok)
			qu.fill(res)
		}()
	}
	wg.Wait()
	if a.err == nil && ctx.Err() != nil {
		a.err = ctx.Err()
	}
	if a.unrouted > 0 {
		a.warnings = append(a.warnings, fmt.Sprintf("%s web vitals samples of the period have no route (written before Alidade filled it, or not through the beacon or the enrichment step) and are left out", formatCount(a.unrouted)))
	}
}

// build turns the tallies into pages.
func (a *asker) build() []Page {
	out := make([]Page, 0, len(a.pages))
	for route, t := range a.pages {
		p := Page{Page: route, Views: t.views, Errors: t.errors,
			LCPElements: []Element{}, INPTargets: []Element{}, SlowestAPICalls: []APICall{}, Recommendations: []Recommendation{}}
		if t.views > 0 {
			r := t.errors / t.views
			p.ErrorRate = &r
		}
		seen := t.views > 0 || t.errors > 0
		for i, m := range metrics {
			if t.samples[i] == 0 {
				continue
			}
			seen = true
			v := &Vital{Samples: t.samples[i], P75: t.p75[i]}
			if v.P75 != nil {
				v.Rating = m.rate(*v.P75)
				p.Excess = max(p.Excess, m.excess(*v.P75))
				if prev := t.prevP75[i]; prev != nil && *prev > 0 && t.prevSamples[i] > 0 {
					c := (*v.P75 - *prev) / *prev
					v.Change = &c
				}
			}
			n := t.rated[i][0] + t.rated[i][1] + t.rated[i][2]
			v.Good, v.NeedsImprovement, v.Poor = share(t.rated[i][0], n), share(t.rated[i][1], n), share(t.rated[i][2], n)
			*p.Vitals.at(i) = v
		}
		if !seen {
			continue // only a previous period's samples
		}
		p.Impact = p.Views * p.Excess
		for k, dst := range []*[]Element{&p.LCPElements, &p.INPTargets} {
			els := t.elements[k]
			for j := range els {
				if t.samples[k] > 0 {
					els[j].Share = els[j].Samples / t.samples[k]
				}
				if k == iLCP {
					els[j].P75 = nil
				}
			}
			slices.SortFunc(els, func(x, y Element) int {
				if c := cmp.Compare(y.Samples, x.Samples); c != 0 {
					return c
				}
				return cmp.Compare(x.Element, y.Element)
			})
			if els != nil {
				*dst = els[:min(len(els), maxElements)]
			}
		}
		slices.SortFunc(t.calls, func(x, y APICall) int {
			if c := cmp.Compare(orNegInf(y.P75), orNegInf(x.P75)); c != 0 {
				return c
			}
			return cmp.Compare(x.Endpoint, y.Endpoint)
		})
		if t.calls != nil {
			p.SlowestAPICalls = t.calls[:min(len(t.calls), maxAPICalls)]
		}
		out = append(out, p)
	}
	return out
}

func share(a, n float64) *float64 {
	if n == 0 {
		return nil
	}
	v := a / n
	return &v
}

func orNegInf(p *float64) float64 {
	if p == nil {
		return math.Inf(-1)
	}
	return *p
}

func group(r query.SubRow, i int) string {
	s, _ := r.Groups[i].(string)
	return s
}

func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
