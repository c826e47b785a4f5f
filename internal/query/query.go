// Package query owns Alidade's structured query (the seed's
// MetricsAggregator.query): it parses and validates the JSON request, resolves
// field names through dataset schemas, splits a query into one Sub per dataset
// it reads, hands each Sub to a backend Executor, and merges, orders and limits
// the rows. It never prints backend SQL: backends do that from a Sub.
package query

import (
	"context"
	"math"

	"github.com/alidade/alidade/internal/point"
)

// Op is a filter operator.
type Op string

const (
	OpEq         Op = "="
	OpNe         Op = "!="
	OpLt         Op = "<"
	OpLe         Op = "<="
	OpGt         Op = ">"
	OpGe         Op = ">="
	OpIn         Op = "in"
	OpNotIn      Op = "not_in"
	OpContains   Op = "contains"
	OpStartsWith Op = "starts_with"
)

// Filter is one resolved condition. Value is a string for index and blob
// fields and a float64 for numeric fields (for timestamp: Unix ms); for in and
// not_in it is a []string or []float64 of at least one element.
type Filter struct {
	Field point.Field
	Op    Op
	Value any
}

// AggType is an aggregation function.
type AggType string

const (
	AggCount      AggType = "count"
	AggSum        AggType = "sum"
	AggAvg        AggType = "avg"
	AggMin        AggType = "min"
	AggMax        AggType = "max"
	AggPercentage AggType = "percentage"
	AggQuantile   AggType = "quantile"
	AggQuantiles  AggType = "quantiles"
	AggUniq       AggType = "uniq"
)

// Agg is one resolved aggregation inside a Sub.
//
// Semantics, all honouring the sample interval w of each point:
// count = Σw; sum = Σw·x; avg = Σw·x / Σw; min, max plain; percentage =
// 100·Σw[filter] / Σw over the Sub's rows (its Filter is the numerator's
// condition, not a restriction); quantile and quantiles are weighted
// quantiles of x; uniq counts distinct values of x. For every type but
// percentage, Filter restricts the rows the aggregation sees.
type Agg struct {
	Type   AggType
	Field  point.Field // unused by count and percentage
	Q      float64     // quantile
	Qs     []float64   // quantiles
	Filter []Filter
}

// Sub is the part of a query that one dataset answers: what a backend executes.
// Rows are the project's points of Dataset with From <= timestamp < To that
// pass every Filter.
type Sub struct {
	Project  int64
	Dataset  string
	From, To int64 // Unix ms
	Filter   []Filter
	GroupBy  []point.Field
	Interval int64 // bucket width in ms; 0 means no time buckets
	Aggs     []Agg
	// MaxGroups bounds the rows a backend may return; exceeding it is an error.
	MaxGroups int
	// Source says where the answer must come from: SourceAuto (the
	// default: rollups when they cover the Sub, raw points otherwise),
	// SourceRaw or SourceRollup. Backends without rollups ignore it.
	Source string
}

// Sources of an answer, in Sub.Source, SubResult.Source and Meta.Source.
const (
	SourceAuto   = ""
	SourceRaw    = "raw"
	SourceRollup = "rollup"
	// SourceMixed is Meta.Source when some Subs were answered from rollups
	// and others from raw points, and a SubResult's Source when rollups
	// answered the whole buckets of its range and raw points the edges.
	SourceMixed = "mixed"
)

// SubRow is one group of a Sub's answer.
type SubRow struct {
	// Groups holds one value per GroupBy field: string for index and blobs,
	// float64 for numeric fields.
	Groups []any
	// Bucket is the start of the time bucket in Unix ms (0 when Interval is 0).
	Bucket int64
	// Values holds one value per Agg: float64, or []float64 for quantiles
	// (in the order of Qs), or nil where the aggregation saw no rows.
	Values []any
}

// SubResult is a backend's answer to a Sub.
type SubResult struct {
	Rows        []SubRow
	RowsScanned int64 // points in range that passed the Sub's Filter
	// Source is SourceRollup when the answer came from rollups,
	// SourceMixed when from rollups and raw points; anything else means
	// raw points.
	Source string
}

// Executor answers Subs; each store backend implements it.
type Executor interface {
	Execute(ctx context.Context, s *Sub) (*SubResult, error)
}

// EmptyResult is a Sub's answer over no stored points: no groups, or for
// an ungrouped Sub one row of zero counts and sums (and nil for the rest).
func (s *Sub) EmptyResult() *SubResult {
	res := &SubResult{}
	if len(s.GroupBy) > 0 || s.Interval > 0 {
		return res
	}
	r := SubRow{Values: make([]any, len(s.Aggs))}
	for i, a := range s.Aggs {
		if a.Type == AggCount || a.Type == AggSum {
			r.Values[i] = 0.0
		}
	}
	res.Rows = []SubRow{r}
	return res
}

// FirstRow returns the first row of res, or a row of n nulls when it has
// none (an ungrouped question over no points).
func (res *SubResult) FirstRow(n int) SubRow {
	if len(res.Rows) > 0 {
		return res.Rows[0]
	}
	return SubRow{Values: make([]any, n)}
}

// Num reads value i as a count or a sum: 0 for null, NaN or an infinity.
func (r SubRow) Num(i int) float64 {
	f, _ := r.Values[i].(float64)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// Opt reads value i as a figure that has no value over no points (an
// average, a quantile): nil for null, NaN or an infinity.
func (r SubRow) Opt(i int) *float64 {
	f, ok := r.Values[i].(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}
