package dashboard

import (
	"cmp"
	"slices"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Fields of the built-in datasets (point.Builtin), by position.
var index1 = point.Field{Kind: point.KindIndex, Pos: 1}

func dbl(n int) point.Field  { return point.Field{Kind: point.KindDouble, Pos: n} }
func blob(n int) point.Field { return point.Field{Kind: point.KindBlob, Pos: n} }

func where(f point.Field, op query.Op, v any) query.Filter {
	return query.Filter{Field: f, Op: op, Value: v}
}

func count(fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggCount, Filter: fs}
}

func sum(f point.Field, fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggSum, Field: f, Filter: fs}
}

func avg(f point.Field, fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggAvg, Field: f, Filter: fs}
}

func pct(fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggPercentage, Filter: fs}
}

var qs = []float64{0.5, 0.95, 0.99}

func quantiles(f point.Field, fs ...query.Filter) query.Agg {
	return query.Agg{Type: query.AggQuantiles, Field: f, Qs: qs, Filter: fs}
}

// The conditions the figures share.
var (
	httpError   = where(dbl(2), query.OpGe, 400.0)                       // requests: status >= 400
	aiUnpriced  = where(dbl(9), query.OpEq, 0.0)                         // ai_usage: priced = 0
	embUnpriced = where(dbl(6), query.OpEq, 0.0)                         // embeddings: priced = 0
	hasTTFT     = where(dbl(5), query.OpGt, 0.0)                         // ai_usage: ttft > 0
	hasMean     = where(dbl(4), query.OpNe, 0.0)                         // vector_search: mean_score set
	hasTop      = where(dbl(3), query.OpNe, 0.0)                         // vector_search: top_score set
	wsOpen      = where(index1, query.OpEq, "open")                      // websocket kinds
	wsClose     = where(index1, query.OpEq, "close")                     //
	wsError     = where(index1, query.OpEq, "error")                     //
	wsServer    = where(blob(4), query.OpNe, "browser")                  // websocket: the server's side (the beacon's are "browser")
	wsAbnormal  = where(dbl(2), query.OpNotIn, []float64{0, 1000, 1001}) // close codes
)

// row returns the only row of an ungrouped answer, or a row of nulls (and
// zero counts) when the executor returned none.
func row(res *query.SubResult, n int) query.SubRow { return res.FirstRow(n) }

// num reads a count or sum: 0 for null.
func num(r query.SubRow, i int) float64 { return r.Num(i) }

// opt reads a figure that is null over no points.
func opt(r query.SubRow, i int) *float64 { return r.Opt(i) }

// quant reads a quantiles aggregation of qs.
func quant(r query.SubRow, i int) Quantiles {
	v, ok := r.Values[i].([]float64)
	if !ok || len(v) != len(qs) {
		return Quantiles{}
	}
	out := Quantiles{}
	for j, dst := range []**float64{&out.P50, &out.P95, &out.P99} {
		if finite(v[j]) {
			x := v[j]
			*dst = &x
		}
	}
	return out
}

func group(r query.SubRow, i int) string {
	s, _ := r.Groups[i].(string)
	return s
}

// ratio returns 100·a/b, or nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := 100 * a / b
	return &v
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// byDesc orders by key descending, then by name.
func byDesc[T any](list []T, key func(T) float64, name func(T) string) {
	slices.SortStableFunc(list, func(a, b T) int {
		if c := cmp.Compare(key(b), key(a)); c != 0 {
			return c
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

// period asks for every figure of [from, to) into m.
func (p *plan) period(m *Metrics, from, to int64, top int) {
	in := func(ds string, groupBy ...point.Field) query.Sub {
		return query.Sub{Dataset: ds, From: from, To: to, GroupBy: groupBy}
	}
	m.ErrorRateByEndpoint = []EndpointErrors{}
	m.AI.ByModel, m.AI.UnpricedModels = []ModelUsage{}, []UnpricedModel{}
	m.Embeddings.ByModel = []EmbeddingsModel{}
	m.VectorSearch.ByIndex = []SearchIndex{}
	m.DBQueries.ByQuery = []QueryStat{}
	m.GradePassback.ByPlatform = []LMSStat{}
	m.Intent.ByIntent = []IntentStat{}

	// requests: the seed's figures and the latency percentiles.
	s := in("requests")
	s.Aggs = []query.Agg{count(), avg(dbl(1)), pct(httpError), quantiles(dbl(1))}
	p.sub("requests", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		m.Requests, m.Latency, m.ErrorRate = num(r, 0), num(r, 1), num(r, 2)
		m.LatencyPercentiles = quant(r, 3)
	})
	s = in("requests", index1)
	s.Aggs = []query.Agg{count(), count(httpError), avg(dbl(1)), quantiles(dbl(1))}
	p.sub("errorRateByEndpoint", s, func(res *query.SubResult) {
		list := make([]EndpointErrors, 0, len(res.Rows))
		for _, r := range res.Rows {
			n, e := num(r, 0), num(r, 1)
			list = append(list, EndpointErrors{Endpoint: group(r, 0), Requests: n, Errors: e,
				ErrorRate: orZero(ratio(e, n)), Latency: opt(r, 2), Latencies: quant(r, 3)})
		}
		slices.SortStableFunc(list, func(a, b EndpointErrors) int {
			if c := cmp.Compare(b.Errors, a.Errors); c != 0 {
				return c
			}
			if c := cmp.Compare(b.ErrorRate, a.ErrorRate); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Requests, a.Requests); c != 0 {
				return c
			}
			return cmp.Compare(a.Endpoint, b.Endpoint)
		})
		m.ErrorRateByEndpoint = capList(list, top)
	})

	p.periodAI(m, in)

	// vector_search
	s = in("vector_search")
	s.Aggs = []query.Agg{count(), avg(dbl(1)), quantiles(dbl(2)), avg(dbl(4), hasMean), avg(dbl(3), hasTop)}
	p.sub("vectorSearch", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		v := &m.VectorSearch
		v.Searches, v.MeanResults, v.Latency, v.MeanRelevance, v.TopRelevance = num(r, 0), opt(r, 1), quant(r, 2), opt(r, 3), opt(r, 4)
	})
	s = in("vector_search", index1)
	s.Aggs = []query.Agg{count(), quantiles(dbl(2)), avg(dbl(4), hasMean)}
	p.sub("vectorSearch.byIndex", s, func(res *query.SubResult) {
		list := make([]SearchIndex, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, SearchIndex{Index: group(r, 0), Searches: num(r, 0), Latency: quant(r, 1), MeanRelevance: opt(r, 2)})
		}
		byDesc(list, func(x SearchIndex) float64 { return x.Searches }, func(x SearchIndex) string { return x.Index })
		m.VectorSearch.ByIndex = capList(list, maxList)
	})

	// db_queries
	s = in("db_queries")
	s.Aggs = []query.Agg{count(), sum(dbl(2)), sum(dbl(3)), quantiles(dbl(1))}
	p.sub("dbQueries", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		q := &m.DBQueries
		q.Queries, q.RowsRead, q.RowsWritten, q.Latency = num(r, 0), num(r, 1), num(r, 2), quant(r, 3)
	})
	s = in("db_queries", index1)
	s.Aggs = []query.Agg{count(), avg(dbl(1)), quantiles(dbl(1)), sum(dbl(2)), sum(dbl(3))}
	p.sub("dbQueries.byQuery", s, func(res *query.SubResult) {
		list := make([]QueryStat, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, QueryStat{Query: group(r, 0), Count: num(r, 0), MeanLatency: opt(r, 1), Latency: quant(r, 2),
				RowsRead: num(r, 3), RowsWritten: num(r, 4)})
		}
		byDesc(list, func(x QueryStat) float64 { return orZero(x.Latency.P95) }, func(x QueryStat) string { return x.Query })
		m.DBQueries.ByQuery = capList(list, top)
	})

	// websocket: the period's events, and open connections at its end.
	s = in("websocket")
	s.Aggs = []query.Agg{count(wsOpen, wsServer), count(wsClose, wsServer), count(wsError, wsServer), count(wsClose, wsAbnormal, wsServer)}
	p.sub("websocket", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		w := &m.WebSocket
		w.Opens, w.Closes, w.Errors, w.AbnormalCloses = num(r, 0), num(r, 1), num(r, 2), num(r, 3)
		w.DisconnectRate = ratio(w.AbnormalCloses, w.Closes)
		w.ErrorRate = ratio(w.Errors, w.Opens)
	})
	s = query.Sub{Dataset: "websocket", From: 0, To: to, Aggs: []query.Agg{count(wsOpen, wsServer), count(wsClose, wsServer)}}
	p.sub("websocket.openConnections", s, func(res *query.SubResult) {
		r := row(res, 2)
		m.WebSocket.OpenConnections = max(num(r, 0)-num(r, 1), 0)
	})

	// grade_passback
	s = in("grade_passback")
	s.Aggs = []query.Agg{count(), sum(dbl(1)), quantiles(dbl(2))}
	p.sub("gradePassback", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		g := &m.GradePassback
		g.Attempts, g.Successes, g.Latency = num(r, 0), num(r, 1), quant(r, 2)
		g.Failures = g.Attempts - g.Successes
		g.SuccessRate = ratio(g.Successes, g.Attempts)
	})
	s = in("grade_passback", index1)
	s.Aggs = []query.Agg{count(), sum(dbl(1))}
	p.sub("gradePassback.byPlatform", s, func(res *query.SubResult) {
		list := make([]LMSStat, 0, len(res.Rows))
		for _, r := range res.Rows {
			n, ok := num(r, 0), num(r, 1)
			list = append(list, LMSStat{Platform: group(r, 0), Attempts: n, Failures: n - ok, SuccessRate: ratio(ok, n)})
		}
		slices.SortStableFunc(list, func(a, b LMSStat) int {
			if c := cmp.Compare(b.Failures, a.Failures); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Attempts, a.Attempts); c != 0 {
				return c
			}
			return cmp.Compare(a.Platform, b.Platform)
		})
		m.GradePassback.ByPlatform = capList(list, maxList)
	})

	p.intent(&m.Intent, from, to)
}

// periodAI asks for the ai_usage and embeddings figures.
func (p *plan) periodAI(m *Metrics, in func(string, ...point.Field) query.Sub) {
	s := in("ai_usage")
	s.Aggs = []query.Agg{count(), sum(dbl(1)), sum(dbl(3)), sum(dbl(4)), sum(dbl(7)), sum(dbl(8)), sum(dbl(6)),
		count(aiUnpriced), quantiles(dbl(2)), quantiles(dbl(5), hasTTFT)}
	p.sub("ai", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		a := &m.AI
		a.Calls, a.Tokens, a.InputTokens, a.OutputTokens = num(r, 0), num(r, 1), num(r, 2), num(r, 3)
		a.CachedInputTokens, a.Neurons, a.Cost, a.UnpricedCalls = num(r, 4), num(r, 5), num(r, 6), num(r, 7)
		a.Latency, a.TimeToFirstToken = quant(r, 8), quant(r, 9)
		m.AIUsage = AIUsage{Tokens: a.Tokens, Cost: a.Cost}
	})
	s = in("ai_usage", blob(1))
	s.Aggs = []query.Agg{count(), sum(dbl(1)), sum(dbl(3)), sum(dbl(4)), sum(dbl(6)), count(aiUnpriced),
		quantiles(dbl(2)), quantiles(dbl(5), hasTTFT)}
	p.sub("ai.byModel", s, func(res *query.SubResult) {
		list := make([]ModelUsage, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, ModelUsage{Model: group(r, 0), Calls: num(r, 0), Tokens: num(r, 1), InputTokens: num(r, 2),
				OutputTokens: num(r, 3), Cost: num(r, 4), UnpricedCalls: num(r, 5), Latency: quant(r, 6), TimeToFirstToken: quant(r, 7)})
		}
		slices.SortStableFunc(list, func(a, b ModelUsage) int {
			if c := cmp.Compare(b.Cost, a.Cost); c != 0 {
				return c
			}
			if c := cmp.Compare(b.Tokens, a.Tokens); c != 0 {
				return c
			}
			return cmp.Compare(a.Model, b.Model)
		})
		m.AI.ByModel = capList(list, maxList)
	})

	// Unpriced models, by model name: blob1, or index1 when blob1 is
	// empty (as the ingest hook looks them up).
	var aiU, embU []UnpricedModel
	s = in("ai_usage", blob(1), index1)
	s.Filter = []query.Filter{aiUnpriced}
	s.Aggs = []query.Agg{count(), sum(dbl(1))}
	p.sub("ai.unpricedModels", s, func(res *query.SubResult) { aiU = unpriced(res, "ai_usage") })

	s = in("embeddings")
	s.Aggs = []query.Agg{count(), sum(dbl(2)), sum(dbl(3)), sum(dbl(5)), count(embUnpriced), quantiles(dbl(1))}
	p.sub("embeddings", s, func(res *query.SubResult) {
		r := row(res, len(s.Aggs))
		e := &m.Embeddings
		e.Calls, e.Tokens, e.Vectors, e.Cost, e.UnpricedCalls, e.Latency = num(r, 0), num(r, 1), num(r, 2), num(r, 3), num(r, 4), quant(r, 5)
	})
	s = in("embeddings", blob(1))
	s.Aggs = []query.Agg{count(), sum(dbl(2)), sum(dbl(3)), sum(dbl(5)), quantiles(dbl(1))}
	p.sub("embeddings.byModel", s, func(res *query.SubResult) {
		list := make([]EmbeddingsModel, 0, len(res.Rows))
		for _, r := range res.Rows {
			list = append(list, EmbeddingsModel{Model: group(r, 0), Calls: num(r, 0), Tokens: num(r, 1), Vectors: num(r, 2),
				Cost: num(r, 3), Latency: quant(r, 4)})
		}
		byDesc(list, func(x EmbeddingsModel) float64 { return x.Calls }, func(x EmbeddingsModel) string { return x.Model })
		m.Embeddings.ByModel = capList(list, maxList)
	})
	s = in("embeddings", blob(1), index1)
	s.Filter = []query.Filter{embUnpriced}
	s.Aggs = []query.Agg{count(), sum(dbl(2))}
	p.sub("embeddings.unpricedModels", s, func(res *query.SubResult) { embU = unpriced(res, "embeddings") })

	p.finish = append(p.finish, func() {
		list := append(aiU, embU...)
		slices.SortStableFunc(list, func(a, b UnpricedModel) int {
			if c := cmp.Compare(b.Points, a.Points); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Model, b.Model); c != 0 {
				return c
			}
			return cmp.Compare(a.Dataset, b.Dataset)
		})
		if list == nil {
			list = []UnpricedModel{}
		}
		m.AI.UnpricedModels = capList(list, maxList)
	})
}

// unpriced merges (blob1, index1) groups by model name.
func unpriced(res *query.SubResult, dataset string) []UnpricedModel {
	var out []UnpricedModel
	at := map[string]int{}
	for _, r := range res.Rows {
		name := group(r, 0)
		if name == "" {
			name = group(r, 1)
		}
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			out = append(out, UnpricedModel{Model: name, Dataset: dataset})
		}
		out[i].Points += num(r, 0)
		out[i].Tokens += num(r, 1)
	}
	return out
}

// series asks for the figures of each bucket of width iv in [from, to).
func (p *plan) series(from, to, iv int64) *Series {
	first := floorDiv(from, iv) * iv
	n := int((to - first + iv - 1) / iv)
	ser := &Series{Interval: formatInterval(iv), Buckets: make([]Bucket, n)}
	for i := range ser.Buckets {
		ser.Buckets[i].T = formatMs(first + int64(i)*iv)
	}
	at := func(bucket int64) *Bucket {
		i := (bucket - first) / iv
		if bucket < first || i >= int64(n) {
			return nil
		}
		return &ser.Buckets[i]
	}
	each := func(name, ds string, aggs []query.Agg, fill func(b *Bucket, r query.SubRow)) {
		s := query.Sub{Dataset: ds, From: from, To: to, Interval: iv, Aggs: aggs, MaxGroups: n + 1}
		p.sub(name, s, func(res *query.SubResult) {
			for _, r := range res.Rows {
				if b := at(r.Bucket); b != nil {
					fill(b, r)
				}
			}
		})
	}
	each("series.requests", "requests", []query.Agg{count(), avg(dbl(1)), pct(httpError), quantiles(dbl(1))}, func(b *Bucket, r query.SubRow) {
		b.Requests, b.Latency, b.ErrorRate, b.LatencyPercentiles = num(r, 0), opt(r, 1), opt(r, 2), quant(r, 3)
	})
	each("series.ai", "ai_usage", []query.Agg{count(), sum(dbl(1)), sum(dbl(6)), quantiles(dbl(2))}, func(b *Bucket, r query.SubRow) {
		b.AICalls, b.AITokens, b.AICost, b.AILatency = num(r, 0), num(r, 1), num(r, 2), quant(r, 3)
	})
	each("series.embeddings", "embeddings", []query.Agg{quantiles(dbl(1))}, func(b *Bucket, r query.SubRow) {
		b.EmbeddingLatency = quant(r, 0)
	})
	each("series.vectorSearch", "vector_search", []query.Agg{quantiles(dbl(2)), avg(dbl(4), hasMean)}, func(b *Bucket, r query.SubRow) {
		b.VectorSearchLatency, b.MeanRelevance = quant(r, 0), opt(r, 1)
	})
	each("series.dbQueries", "db_queries", []query.Agg{quantiles(dbl(1))}, func(b *Bucket, r query.SubRow) {
		b.DBQueryLatency = quant(r, 0)
	})
	each("series.websocket", "websocket", []query.Agg{count(wsOpen, wsServer), count(wsClose, wsServer), count(wsError, wsServer)}, func(b *Bucket, r query.SubRow) {
		b.WSOpens, b.WSCloses, b.WSErrors = num(r, 0), num(r, 1), num(r, 2)
	})
	each("series.gradePassback", "grade_passback", []query.Agg{count(), sum(dbl(1))}, func(b *Bucket, r query.SubRow) {
		b.GradePassbacks = num(r, 0)
		b.GradePassbackSuccessRate = ratio(num(r, 1), b.GradePassbacks)
	})
	p.intentSeries(from, to, iv, at)
	return ser
}
