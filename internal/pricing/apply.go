package pricing

import (
	"math"

	"github.com/alidade/alidade/internal/point"
)

// Positions of the priced fields in the built-in datasets (1-based, as in
// point.Builtin): ai_usage doubles are tokens, latency, input_tokens,
// output_tokens, ttft, cost, cached_input_tokens, neurons, priced; embeddings
// doubles are latency, tokens, vectors, dimensions, cost, priced.
const (
	aiTokens  = 1
	aiInput   = 3
	aiOutput  = 4
	aiCost    = 6
	aiCached  = 7
	aiNeurons = 8
	aiPriced  = 9

	embTokens = 2
	embCost   = 5
	embPriced = 6
)

// The values of a point's priced field.
const (
	// Unpriced: no price was known at ingest; the cost field is 0.
	Unpriced = 0
	// PricedByCatalog: the server priced the point at ingest.
	PricedByCatalog = 1
	// PricedByWriter: the writer supplied the cost, which is kept.
	PricedByWriter = 2
)

// Datasets priced at ingest.
const (
	DatasetAIUsage    = "ai_usage"
	DatasetEmbeddings = "embeddings"
)

// Usage is what one model call consumed.
type Usage struct {
	// Tokens is the total (the seed's trackAIUsage sends only this).
	Tokens float64
	// Input and Output split the tokens; Input counts every input token,
	// cached ones included.
	Input, Output float64
	// Cached is the part of Input read from a prompt cache.
	Cached float64
	// Neurons is what a Workers AI call consumed.
	Neurons float64
}

// CostAI prices a model call:
//   - with neurons and a neuron rate: neurons / 1,000 × NeuronsPer1k;
//   - for an entry with every rate zero: 0 (the model is declared free);
//   - with an input/output split: (Input − Cached) × Input rate + Cached ×
//     CachedInput rate (the Input rate when that is 0) + Output × Output
//     rate, per 1M tokens; when Cached exceeds Input the writer counted
//     cached tokens apart, and Input is taken as all uncached;
//   - with only a total (the seed's form): Tokens × Input rate per 1M.
//
// ok is false when the entry has no rate for what the call carries.
func (e *Entry) CostAI(u Usage) (cost float64, ok bool) {
	tokens, in, out, cached, neurons := nonNeg(u.Tokens), nonNeg(u.Input), nonNeg(u.Output), nonNeg(u.Cached), nonNeg(u.Neurons)
	switch {
	case neurons > 0 && e.NeuronsPer1k > 0:
		return neurons / 1000 * e.NeuronsPer1k, true
	case e.Free():
		return 0, true
	case in > 0 || out > 0 || cached > 0:
		if e.Input == 0 && e.Output == 0 {
			return 0, false
		}
		cachedRate := e.CachedInput
		if cachedRate == 0 {
			cachedRate = e.Input
		}
		uncached := in - cached
		if cached > in {
			uncached = in
		}
		return (uncached*e.Input + cached*cachedRate + out*e.Output) / 1e6, true
	case e.Input > 0:
		return tokens * e.Input / 1e6, true
	case tokens == 0 && (e.Output > 0 || e.CachedInput > 0):
		return 0, true
	}
	return 0, false
}

// CostEmbedding prices an embedding call of tokens: tokens × the Embedding
// rate (the Input rate when that is 0) per 1M; ok is false when the entry has
// neither (and is not free).
func (e *Entry) CostEmbedding(tokens float64) (cost float64, ok bool) {
	tokens = nonNeg(tokens)
	r := e.Embedding
	if r == 0 {
		r = e.Input
	}
	if r == 0 {
		return 0, e.Free()
	}
	return tokens * r / 1e6, true
}

func nonNeg(v float64) float64 {
	if v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return 0
}

// Stats counts what Price did with a batch.
type Stats struct {
	// Priced points got their cost from the catalog.
	Priced int
	// Unpriced points name a model the catalog has no price for.
	Unpriced int
	// Kept points carried their own cost or priced flag.
	Kept int
}

// Price sets the cost of the ai_usage and embeddings points of pts that
// carry none, and leaves every other point alone. For such a point whose
// priced field is 0 (or absent):
//   - a non-zero cost field is the writer's: priced becomes 2 and the cost
//     is kept;
//   - otherwise the model (blob1, or index1 when blob1 is empty) is looked up;
//     when the catalog prices it, cost and priced (1) are set; when not, the
//     point is left unpriced (priced 0), which is how the metrics count and
//     list unpriced models.
//
// A point whose priced field is already non-zero is kept as written. The
// cost of a point without a price is never set to 0 as if it were free.
func (c *Catalog) Price(pts []point.Point) Stats {
	var st Stats
	var arena []float64
	for i := range pts {
		p := &pts[i]
		var costPos, pricedPos int
		switch p.Dataset {
		case DatasetAIUsage:
			costPos, pricedPos = aiCost, aiPriced
		case DatasetEmbeddings:
			costPos, pricedPos = embCost, embPriced
		default:
			continue
		}
		if p.Double(pricedPos) != Unpriced {
			st.Kept++
			continue
		}
		if p.Double(costPos) != 0 {
			arena = setDouble(p, pricedPos, PricedByWriter, arena)
			st.Kept++
			continue
		}
		model := p.Blob(1)
		if model == "" {
			model = p.Index
		}
		e, ok := c.Lookup(model)
		if !ok {
			st.Unpriced++
			continue
		}
		var cost float64
		if costPos == aiCost {
			cost, ok = e.CostAI(Usage{Tokens: p.Double(aiTokens), Input: p.Double(aiInput), Output: p.Double(aiOutput),
				Cached: p.Double(aiCached), Neurons: p.Double(aiNeurons)})
		} else {
			cost, ok = e.CostEmbedding(p.Double(embTokens))
		}
		if !ok {
			st.Unpriced++
			continue
		}
		arena = setDouble(p, costPos, cost, arena)
		arena = setDouble(p, pricedPos, PricedByCatalog, arena)
		st.Priced++
	}
	return st
}

// setDouble sets double n (1-based) of p, first widening its doubles to n
// with memory from arena when they are shorter. A point's doubles may share
// an array with its batch's other points, so they are never appended to in
// place.
func setDouble(p *point.Point, n int, v float64, arena []float64) []float64 {
	if len(p.Doubles) < n {
		if len(arena) < n {
			arena = make([]float64, 64*point.MaxDoubles)
		}
		d := arena[:n:n]
		arena = arena[n:]
		copy(d, p.Doubles)
		p.Doubles = d
	}
	p.Doubles[n-1] = v
	return arena
}
