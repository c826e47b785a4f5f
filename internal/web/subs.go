package web

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/beacon"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// field resolves a field of a built-in dataset by its schema name, so that
// the questions follow the schemas of package point.
func field(dataset, name string) point.Field {
	f, err := point.Builtin(dataset).Resolve(name)
	if err != nil {
		panic("BUG: built-in dataset " + dataset + ": " + err.Error())
	}
	return f
}

var index1 = point.Field{Kind: point.KindIndex, Pos: 1}

// The fields the answers read.
var (
	pvVisitor       = field("pageviews", "visitor")
	pvEntry         = field("pageviews", "entry")
	pvBounce        = field("pageviews", "bounce")
	pvSincePrevious = field("pageviews", "since_previous")
	pvReferrerHost  = field("pageviews", "referrer_host")
	pvUTMSource     = field("pageviews", "utm_source")
	pvUTMMedium     = field("pageviews", "utm_medium")
	pvUTMCampaign   = field("pageviews", "utm_campaign")
	pvDevice        = field("pageviews", "device")
	pvBrowser       = field("pageviews", "browser")
	pvOS            = field("pageviews", "os")
	pvCountry       = field("pageviews", "country")

	wvRating = field("web_vitals", "rating")
	wvPath   = field("web_vitals", "path")
	wvValue  = field("web_vitals", "value")

	cePath = field("client_errors", "path")

	acDuration = field("api_calls", "duration")
	acSuccess  = field("api_calls", "success")

	uaDuration = field("ui_actions", "duration")

	wsSide    = field("websocket", "side")
	wsCode    = field("websocket", "code")
	wsAttempt = field("websocket", "attempt")
)

func where(f point.Field, op query.Op, v any) query.Filter {
	return query.Filter{Field: f, Op: op, Value: v}
}

func count(fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggCount, Filter: fs}
}

func sum(f point.Field, fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggSum, Field: f, Filter: fs}
}

func uniq(f point.Field, fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggUniq, Field: f, Filter: fs}
}

func quantiles(f point.Field, qs ...float64) query.Agg {
	return query.Agg{Type: query.AggQuantiles, Field: f, Qs: qs}
}

func quantile(f point.Field, q float64) query.Agg {
	return query.Agg{Type: query.AggQuantile, Field: f, Q: q}
}

// row returns the only row of an ungrouped answer, or a row of nulls (and
// zero counts) when the executor returned none.
func row(res *query.SubResult, n int) query.SubRow { return res.FirstRow(n) }

// num reads a count or sum: 0 for null.
func num(r query.SubRow, i int) float64 { return r.Num(i) }

// opt reads a figure that is null over no points.
func opt(r query.SubRow, i int) *float64 { return r.Opt(i) }

// quant reads the j-th value of a quantiles aggregation.
func quant(r query.SubRow, i, j int) *float64 {
	v, ok := r.Values[i].([]float64)
	if !ok || j >= len(v) || !finite(v[j]) {
		return nil
	}
	x := v[j]
	return &x
}

func group(r query.SubRow, i int) string {
	s, _ := r.Groups[i].(string)
	return s
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ratio returns 100·a/b, or nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := 100 * a / b
	return &v
}

// div returns a/b, or nil when b is 0.
func div(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := a / b
	return &v
}

// byDesc orders by keys descending, then by name.
func byDesc[T any](list []T, name func(T) string, keys ...func(T) float64) {
	slices.SortStableFunc(list, func(a, b T) int {
		for _, k := range keys {
			if c := cmp.Compare(k(b), k(a)); c != 0 {
				return c
			}
		}
		return cmp.Compare(name(a), name(b))
	})
}

func capList[T any](list []T, n int) []T {
	if len(list) > n {
		return list[:n]
	}
	return list
}

// cutMark ends a path the beacon cut into the pageviews index.
const cutMark = "…"

// pageKey is the pageviews index of a path: the path, or when it is longer
// than an index may be, its first bytes and cutMark, as the beacon cuts it
// (package beacon, Event.point: textlimit.Cut(path, point.MaxIndexBytes)).
func pageKey(path string) string {
	n := point.MaxIndexBytes
	if len(path) <= n {
		return path
	}
	end := max(n-len(cutMark), 0)
	for end > 0 && !utf8.RuneStart(path[end]) {
		end--
	}
	return path[:end] + cutMark
}

// cutPrefix returns the start of the paths a cut page key stands for, and
// false for a key that is a whole path.
func cutPrefix(key string) (string, bool) {
	if len(key) < point.MaxIndexBytes-len(cutMark)-3 || !strings.HasSuffix(key, cutMark) {
		return "", false
	}
	return strings.TrimSuffix(key, cutMark), true
}

// summary asks for the headline figures of [from, to) into s; prefix names
// them in Meta.Sources ("" for the period's own, "previous" for the one
// before, whose figures share one key).
func (p *plan) summary(s *Summary, prefix string, from, to int64) {
	key := func(names ...string) []string {
		if prefix != "" {
			return []string{prefix}
		}
		return names
	}
	in := func(ds string) query.Sub { return query.Sub{Dataset: ds, From: from, To: to} }

	q := in("pageviews")
	q.Aggs = []query.Agg{count(), sum(pvEntry), sum(pvBounce), sum(pvSincePrevious)}
	p.sub(key("visits", "pageViews", "viewsPerVisit", "bounceRate", "visitDuration", "jsErrorRate"), q, false, func(res *query.SubResult) {
		r := row(res, len(q.Aggs))
		s.PageViews, s.Visits = num(r, 0), num(r, 1)
		s.ViewsPerVisit = div(s.PageViews, s.Visits)
		s.BounceRate = ratio(num(r, 2), s.Visits)
		s.VisitDuration = div(num(r, 3), s.Visits)
	})
	// The visitor id is no rollup dimension (it is an id): distinct ids
	// are counted over raw points.
	q = in("pageviews")
	q.Aggs = []query.Agg{uniq(pvVisitor, where(pvVisitor, query.OpNe, ""))}
	p.sub(key("visitors"), q, true, func(res *query.SubResult) {
		s.Visitors = num(row(res, 1), 0)
	})
	q = in("client_errors")
	q.Aggs = []query.Agg{count()}
	p.sub(key("jsErrors", "jsErrorRate"), q, false, func(res *query.SubResult) {
		s.JSErrors = num(row(res, 1), 0)
	})
	p.finish = append(p.finish, func() { s.JSErrorRate = ratio(s.JSErrors, s.PageViews) })
}

// change compares two summaries (see Change).
func change(cur, prev Summary) Change {
	rel := func(a, b float64) *float64 {
		if b == 0 {
			return nil
		}
		v := 100 * (a - b) / b
		return &v
	}
	relp := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		return rel(*a, *b)
	}
	diff := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		v := *a - *b
		return &v
	}
	return Change{
		Visitors:      rel(cur.Visitors, prev.Visitors),
		Visits:        rel(cur.Visits, prev.Visits),
		PageViews:     rel(cur.PageViews, prev.PageViews),
		ViewsPerVisit: relp(cur.ViewsPerVisit, prev.ViewsPerVisit),
		BounceRate:    diff(cur.BounceRate, prev.BounceRate),
		VisitDuration: relp(cur.VisitDuration, prev.VisitDuration),
		JSErrors:      rel(cur.JSErrors, prev.JSErrors),
		JSErrorRate:   diff(cur.JSErrorRate, prev.JSErrorRate),
	}
}

// periodPlan holds what the period's questions share.
type periodPlan struct {
	p        *plan
	rep      *Report
	from, to int64
	top      int

	pageViews map[string]float64 // by page (index1), every page
	unrated   bool               // some samples carry no known rating
	// The top pages' vitals: by page key for whole paths; each cut key's
	// from a question of its own.
	pageVitals map[string]*[6]tally
	cutVitals  map[string]*[6]tally
}

// in is a Sub of the period.
func (pp *periodPlan) in(ds string, groupBy ...point.Field) query.Sub {
	return query.Sub{Dataset: ds, From: pp.from, To: pp.to, GroupBy: groupBy}
}

// period asks for every figure of [from, to) but the summary into rep.
// The questions that read raw points go first: they take longest.
func (p *plan) period(rep *Report, from, to int64, top int) {
	pp := &periodPlan{p: p, rep: rep, from: from, to: to, top: top}
	rep.Pages, rep.EntryPages, rep.ExitPages = []PageViews{}, []EntryPage{}, []ExitPage{}
	rep.Referrers, rep.Devices, rep.Browsers, rep.OS, rep.Countries = []Breakdown{}, []Breakdown{}, []Breakdown{}, []Breakdown{}, []Breakdown{}
	rep.UTM = UTM{Sources: []Breakdown{}, Mediums: []Breakdown{}, Campaigns: []Breakdown{}}
	rep.Vitals = Vitals{Metrics: []Vital{}, ByPage: []PageVitals{}}
	rep.Errors.ByPage, rep.Errors.ByType = []PageErrors{}, []TypeErrors{}
	rep.APICalls, rep.Actions = []APICall{}, []Action{}

	// The vitals of the top pages are asked once the pages and the
	// ratings are known.
	vitalsByPage := p.after(2, pp.vitalsByPage)

	var exits []exitCount
	p.exitPages("exitPages", from, to, top, func(rows []exitCount) { exits = rows })
	p.finish = append(p.finish, func() {
		for _, e := range exits {
			n := pp.pageViews[e.page]
			rep.ExitPages = append(rep.ExitPages, ExitPage{Page: e.page, Exits: e.exits, PageViews: n, ExitRate: ratio(e.exits, n)})
		}
	})
	var bounces map[string]float64
	p.entryBounces("entryPages", from, to, func(m map[string]float64) { bounces = m })
	p.finish = append(p.finish, func() {
		for i := range rep.EntryPages {
			e := &rep.EntryPages[i]
			e.Bounces = bounces[e.Page]
			e.BounceRate = ratio(e.Bounces, e.Entries)
		}
	})
	pp.sources()

	// Pages: page views and entries by page (index1), every
	// page, which exit pages and errors per page are joined with.
	var entries []EntryPage
	q := pp.in("pageviews", index1)
	q.Aggs = []query.Agg{count(), sum(pvEntry)}
	q.MaxGroups = maxPages
	p.sub([]string{"pages", "entryPages"}, q, false, func(res *query.SubResult) {
		pp.pageViews = make(map[string]float64, len(res.Rows))
		list := make([]PageViews, 0, len(res.Rows))
		for _, r := range res.Rows {
			page, n, e := group(r, 0), num(r, 0), num(r, 1)
			pp.pageViews[page] = n
			list = append(list, PageViews{Page: page, PageViews: n, Entries: e})
			if e > 0 {
				entries = append(entries, EntryPage{Page: page, Entries: e}) // bounces: entryBounces
			}
		}
		byDesc(list, func(x PageViews) string { return x.Page }, func(x PageViews) float64 { return x.PageViews })
		byDesc(entries, func(x EntryPage) string { return x.Page }, func(x EntryPage) float64 { return x.Entries })
		rep.Pages = capList(list, top)
		if entries != nil {
			rep.EntryPages = capList(entries, top)
		}
		vitalsByPage()
	})

	// Devices, browsers, OS and countries are rollup dimensions.
	breakdown := func(key string, f point.Field, dst *[]Breakdown) {
		q := pp.in("pageviews", f)
		q.Aggs = []query.Agg{count(), sum(pvEntry)}
		p.sub([]string{key}, q, false, func(res *query.SubResult) {
			list := make([]Breakdown, 0, len(res.Rows))
			for _, r := range res.Rows {
				list = append(list, Breakdown{Name: group(r, 0), PageViews: num(r, 0), Visits: num(r, 1)})
			}
			*dst = capList(sortBreakdown(list), top)
		})
	}
	breakdown("devices", pvDevice, &rep.Devices)
	breakdown("browsers", pvBrowser, &rep.Browsers)
	breakdown("os", pvOS, &rep.OS)
	breakdown("countries", pvCountry, &rep.Countries)

	pp.vitalsQuestions(vitalsByPage)
	pp.errorQuestions()

	// API calls as browsers saw them.
	q = pp.in("api_calls", index1)
	q.Aggs = []query.Agg{count(), count(where(acSuccess, query.OpEq, 0.0)), quantiles(acDuration, 0.5, 0.95)}
	p.sub([]string{"apiCalls"}, q, false, func(res *query.SubResult) {
		list := make([]APICall, 0, len(res.Rows))
		for _, r := range res.Rows {
			n, f := num(r, 0), num(r, 1)
			list = append(list, APICall{Endpoint: group(r, 0), Calls: n, Failures: f, FailureRate: ratio(f, n), P50: quant(r, 2, 0), P95: quant(r, 2, 1)})
		}
		byDesc(list, func(x APICall) string { return x.Endpoint }, func(x APICall) float64 { return x.Calls })
		rep.APICalls = capList(list, top)
	})

	// Redux actions.
	q = pp.in("ui_actions", index1)
	q.Aggs = []query.Agg{count(), quantiles(uaDuration, 0.5, 0.95)}
	p.sub([]string{"actions"}, q, false, func(res *query.SubResult) {
		list := make([]Action, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, Action{Action: group(r, 0), Count: num(r, 0), P50: quant(r, 1, 0), P95: quant(r, 1, 1)})
		}
		byDesc(list, func(x Action) string { return x.Action }, func(x Action) float64 { return x.Count })
		rep.Actions = capList(list, top)
	})

	pp.websocket()
}

// sortBreakdown orders a breakdown by visits, then page views, then name.
func sortBreakdown(list []Breakdown) []Breakdown {
	byDesc(list, func(x Breakdown) string { return x.Name },
		func(x Breakdown) float64 { return x.Visits }, func(x Breakdown) float64 { return x.PageViews })
	return list
}

// maxSources bounds the (referrer, UTM tags) combinations of the sources
// question.
const maxSources = 100_000

// sources asks for the referrer hosts and UTM tags, which are open-ended
// (no rollup dimension): one question over raw points groups by all four,
// and each list sums its own.
func (pp *periodPlan) sources() {
	p, rep := pp.p, pp.rep
	q := pp.in("pageviews", pvReferrerHost, pvUTMSource, pvUTMMedium, pvUTMCampaign)
	q.Aggs = []query.Agg{count(), sum(pvEntry)}
	q.MaxGroups = maxSources
	p.sub([]string{"referrers", "utm.sources", "utm.mediums", "utm.campaigns"}, q, true, func(res *query.SubResult) {
		for i, dst := range []*[]Breakdown{&rep.Referrers, &rep.UTM.Sources, &rep.UTM.Mediums, &rep.UTM.Campaigns} {
			var list []Breakdown
			at := map[string]int{}
			for _, r := range res.Rows {
				name := group(r, i)
				j, ok := at[name]
				if !ok {
					j = len(list)
					at[name] = j
					list = append(list, Breakdown{Name: name})
				}
				list[j].PageViews += num(r, 0)
				list[j].Visits += num(r, 1)
			}
			if list != nil {
				*dst = capList(sortBreakdown(list), pp.top)
			}
		}
	})
}

// websocket asks for the browsers' WebSocket stability. The reconnect
// attempt is no rollup dimension: reconnects read raw points.
func (pp *periodPlan) websocket() {
	p, rep := pp.p, pp.rep
	browser := where(wsSide, query.OpEq, beacon.Side)
	q := pp.in("websocket")
	q.Filter = []query.Filter{browser}
	q.Aggs = []query.Agg{
		count(where(index1, query.OpEq, "open")),
		count(where(index1, query.OpEq, "close")),
		count(where(index1, query.OpEq, "close"), where(wsCode, query.OpNotIn, []float64{0, 1000, 1001})),
		count(where(index1, query.OpEq, "error")),
		count(where(index1, query.OpEq, "reconnect")),
	}
	var reconnectKinds float64
	p.sub([]string{"websocket", "websocket.reconnects"}, q, false, func(res *query.SubResult) {
		r := row(res, len(q.Aggs))
		ws := &rep.WebSocket
		ws.Opens, ws.Closes, ws.AbnormalCloses, ws.Errors = num(r, 0), num(r, 1), num(r, 2), num(r, 3)
		ws.DropRate = ratio(ws.AbnormalCloses, ws.Opens)
		reconnectKinds = num(r, 4)
	})
	q2 := pp.in("websocket")
	q2.Filter = []query.Filter{browser, where(index1, query.OpEq, "open"), where(wsAttempt, query.OpGe, 1.0)}
	q2.Aggs = []query.Agg{count()}
	var reopens float64
	p.sub([]string{"websocket.reconnects"}, q2, true, func(res *query.SubResult) {
		reopens = num(row(res, 1), 0)
	})
	p.finish = append(p.finish, func() { rep.WebSocket.Reconnects = reopens + reconnectKinds })
}

// vitalsQuestions asks for each metric's p75 and its samples by rating
// (index1 and rating are rollup dimensions, value a distribution), and the
// samples without a known rating, when there are any, by their values
// (raw points: a value threshold is no rollup filter). ratingsKnown is
// called once the ratings are.
func (pp *periodPlan) vitalsQuestions(ratingsKnown func()) {
	p, rep := pp.p, pp.rep
	known := where(index1, query.OpIn, metricNames())
	q := pp.in("web_vitals", index1)
	q.Filter = []query.Filter{known}
	q.Aggs = []query.Agg{count(), quantile(wvValue, 0.75)}
	var samples [6]float64
	var p75 [6]*float64
	p.sub([]string{"vitals"}, q, false, func(res *query.SubResult) {
		for _, r := range res.Rows {
			if i := metricIndex(group(r, 0)); i >= 0 {
				samples[i], p75[i] = num(r, 0), opt(r, 1)
			}
		}
	})
	q2 := pp.in("web_vitals", index1, wvRating)
	q2.Filter = []query.Filter{known}
	q2.Aggs = []query.Agg{count()}
	var byRating, unrated [6][3]float64
	p.sub([]string{"vitals"}, q2, false, func(res *query.SubResult) {
		for _, r := range res.Rows {
			i := metricIndex(group(r, 0))
			if i < 0 {
				continue
			}
			if k := slices.Index(ratings, group(r, 1)); k >= 0 {
				byRating[i][k] += num(r, 0)
			} else if num(r, 0) > 0 {
				pp.unrated = true
			}
		}
		if pp.unrated {
			q := pp.in("web_vitals")
			q.Filter = []query.Filter{known, where(wvRating, query.OpNotIn, ratings)}
			q.Aggs = unratedAggs()
			p.sub([]string{"vitals"}, q, true, func(res *query.SubResult) {
				r := row(res, len(q.Aggs))
				for i := range metrics {
					for k := range 3 {
						unrated[i][k] = num(r, 3*i+k)
					}
				}
			})
		}
		ratingsKnown()
	})
	p.finish = append(p.finish, func() {
		rep.Vitals.Metrics = make([]Vital, len(metrics))
		for i, m := range metrics {
			t := tally{samples: samples[i], p75: p75[i]}
			for k := range 3 {
				t.by[k] = byRating[i][k] + unrated[i][k]
			}
			rep.Vitals.Metrics[i] = t.vital(m)
		}
		// The top pages', in their order.
		for key, t := range pp.cutVitals {
			pp.pageVitals[key] = t
		}
		for _, pg := range rep.Pages {
			t := pp.pageVitals[pg.Page]
			if t == nil {
				continue
			}
			pv := PageVitals{Page: pg.Page, Metrics: []Vital{}}
			for i, m := range metrics {
				if t[i].samples > 0 {
					pv.Metrics = append(pv.Metrics, t[i].vital(m))
				}
			}
			if len(pv.Metrics) > 0 {
				rep.Vitals.ByPage = append(rep.Vitals.ByPage, pv)
			}
		}
	})
}

// errorQuestions asks for the errors by type (a rollup dimension) and by
// page (the page is no dimension of client_errors: raw points).
func (pp *periodPlan) errorQuestions() {
	p, rep, top := pp.p, pp.rep, pp.top
	q := pp.in("client_errors", index1)
	q.Aggs = []query.Agg{count()}
	p.sub([]string{"errors.byType"}, q, false, func(res *query.SubResult) {
		list := make([]TypeErrors, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, TypeErrors{Type: group(r, 0), Errors: num(r, 0)})
		}
		byDesc(list, func(x TypeErrors) string { return x.Type }, func(x TypeErrors) float64 { return x.Errors })
		rep.Errors.ByType = capList(list, top)
	})
	q = pp.in("client_errors", cePath)
	q.Aggs = []query.Agg{count()}
	var byPage []PageErrors
	p.sub([]string{"errors.byPage"}, q, true, func(res *query.SubResult) {
		for _, r := range res.Rows {
			byPage = append(byPage, PageErrors{Page: group(r, 0), Errors: num(r, 0)})
		}
	})
	p.finish = append(p.finish, func() {
		s := &rep.Summary
		rep.Errors.Errors, rep.Errors.PageViews, rep.Errors.ErrorRate = s.JSErrors, s.PageViews, ratio(s.JSErrors, s.PageViews)
		// Page views are counted by index1: the path cut as the beacon cuts it.
		for i := range byPage {
			e := &byPage[i]
			e.PageViews = pp.pageViews[pageKey(e.Page)]
			e.ErrorRate = ratio(e.Errors, e.PageViews)
		}
		byDesc(byPage, func(x PageErrors) string { return x.Page },
			func(x PageErrors) float64 { return x.Errors }, func(x PageErrors) float64 { return orZero(x.ErrorRate) })
		if byPage != nil {
			rep.Errors.ByPage = capList(byPage, top)
		}
	})
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func metricIndex(name string) int {
	for i, m := range metrics {
		if m.name == name {
			return i
		}
	}
	return -1
}

// unratedAggs counts, per metric, the samples without a known rating by
// their value against the metric's thresholds: good, needs improvement,
// poor (three aggregations per metric, in metrics order).
func unratedAggs() []query.Agg {
	unrated := where(wvRating, query.OpNotIn, ratings)
	var aggs []query.Agg
	for _, m := range metrics {
		is := where(index1, query.OpEq, m.name)
		aggs = append(aggs,
			count(unrated, is, where(wvValue, query.OpLe, m.good)),
			count(unrated, is, where(wvValue, query.OpGt, m.good), where(wvValue, query.OpLe, m.poor)),
			count(unrated, is, where(wvValue, query.OpGt, m.poor)))
	}
	return aggs
}

// vitalsByPage asks for the vitals of the top pages by page views (raw
// points: the page is no rollup dimension of web_vitals), once the pages
// and whether some samples are unrated are known.
func (pp *periodPlan) vitalsByPage() {
	p, rep := pp.p, pp.rep
	pp.pageVitals, pp.cutVitals = map[string]*[6]tally{}, map[string]*[6]tally{}
	if len(rep.Pages) == 0 {
		return
	}
	known := where(index1, query.OpIn, metricNames())
	// Whole paths in one question; a page whose key the beacon cut
	// stands for the paths that start with it, one question each.
	var whole []string
	cut := map[string]string{} // key → the start of its paths
	for _, pg := range rep.Pages {
		if prefix, ok := cutPrefix(pg.Page); ok {
			cut[pg.Page] = prefix
		} else {
			whole = append(whole, pg.Page)
		}
	}
	aggs := []query.Agg{count(), quantile(wvValue, 0.75),
		count(where(wvRating, query.OpEq, RatingGood)),
		count(where(wvRating, query.OpEq, RatingNeedsImprovement)),
		count(where(wvRating, query.OpEq, RatingPoor))}
	unrated := pp.unrated
	if unrated {
		aggs = append(aggs, unratedAggs()...)
	}
	const first = 5 // the aggregations before unratedAggs
	// read reads a row's metric (group i) into t.
	read := func(t *[6]tally, r query.SubRow, i int) {
		m := metricIndex(group(r, i))
		if m < 0 {
			return
		}
		x := &t[m]
		x.samples, x.p75 = num(r, 0), opt(r, 1)
		for k := range 3 {
			x.by[k] = num(r, 2+k)
			if unrated {
				x.by[k] += num(r, first+3*m+k)
			}
		}
	}
	if len(whole) > 0 {
		q := pp.in("web_vitals", wvPath, index1)
		q.Filter = []query.Filter{known, where(wvPath, query.OpIn, whole)}
		q.Aggs = aggs
		p.sub([]string{"vitals.byPage"}, q, true, func(res *query.SubResult) {
			for _, r := range res.Rows {
				page := group(r, 0)
				if pp.pageVitals[page] == nil {
					pp.pageVitals[page] = &[6]tally{}
				}
				read(pp.pageVitals[page], r, 1)
			}
		})
	}
	for key, prefix := range cut {
		t := &[6]tally{}
		pp.cutVitals[key] = t
		q := pp.in("web_vitals", index1)
		q.Filter = []query.Filter{known, where(wvPath, query.OpStartsWith, prefix)}
		q.Aggs = aggs
		p.sub([]string{"vitals.byPage"}, q, true, func(res *query.SubResult) {
			for _, r := range res.Rows {
				read(t, r, 0)
			}
		})
	}
}
