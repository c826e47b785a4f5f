package dashboard

// Metrics is the answer of GET /api/v1/metrics. Its first four keys are
// exactly the seed's DashboardMetrics (requests, latency, errorRate, aiUsage
// {tokens, cost}), always numbers (0 over no data); the other figures are
// null where they are undefined (a quantile or a rate over no points) and 0
// where they count or sum nothing. Rates are percentages (0–100); latencies
// are milliseconds; costs are USD.
type Metrics struct {
	// Requests counts the requests points in range.
	Requests float64 `json:"requests"`
	// Latency is their mean duration (double1), in ms.
	Latency float64 `json:"latency"`
	// ErrorRate is the share of requests with status (double2) >= 400.
	ErrorRate float64 `json:"errorRate"`
	// AIUsage sums the ai_usage tokens (double1) and cost (double6).
	AIUsage AIUsage `json:"aiUsage"`

	LatencyPercentiles  Quantiles        `json:"latencyPercentiles"`
	ErrorRateByEndpoint []EndpointErrors `json:"errorRateByEndpoint"`
	AI                  AI               `json:"ai"`
	Embeddings          Embeddings       `json:"embeddings"`
	VectorSearch        VectorSearch     `json:"vectorSearch"`
	DBQueries           DBQueries        `json:"dbQueries"`
	WebSocket           WebSocket        `json:"websocket"`
	GradePassback       GradePassback    `json:"gradePassback"`
	Intent              Intent           `json:"intent"`

	// Previous holds the same figures over the period of equal length just
	// before this one (without its own previous, series or meta).
	Previous *Metrics `json:"previous,omitempty"`
	// Series holds figures per time bucket, when an interval was asked.
	Series *Series `json:"series,omitempty"`
	Meta   *Meta   `json:"meta,omitempty"`
}

// AIUsage is the seed's aiUsage.
type AIUsage struct {
	Tokens float64 `json:"tokens"`
	Cost   float64 `json:"cost"`
}

// Quantiles are exact quantiles (linear interpolation), in ms; null over no
// points.
type Quantiles struct {
	P50 *float64 `json:"p50"`
	P95 *float64 `json:"p95"`
	P99 *float64 `json:"p99"`
}

// EndpointErrors is one endpoint (index1) of the requests dataset.
type EndpointErrors struct {
	Endpoint  string    `json:"endpoint"`
	Requests  float64   `json:"requests"`
	Errors    float64   `json:"errors"`
	ErrorRate float64   `json:"errorRate"`
	Latency   *float64  `json:"latency"`
	Latencies Quantiles `json:"latencyPercentiles"`
}

// AI sums the ai_usage dataset.
type AI struct {
	Calls             float64 `json:"calls"`
	Tokens            float64 `json:"tokens"`
	InputTokens       float64 `json:"inputTokens"`
	OutputTokens      float64 `json:"outputTokens"`
	CachedInputTokens float64 `json:"cachedInputTokens"`
	Neurons           float64 `json:"neurons"`
	Cost              float64 `json:"cost"`
	// UnpricedCalls counts calls of models with no price at ingest.
	UnpricedCalls float64 `json:"unpricedCalls"`
	// Latency is the inference latency (double2).
	Latency Quantiles `json:"latency"`
	// TimeToFirstToken (double5) counts only calls that report one (> 0).
	TimeToFirstToken Quantiles    `json:"timeToFirstToken"`
	ByModel          []ModelUsage `json:"byModel"`
	// UnpricedModels lists the models (of ai_usage and embeddings) whose
	// points in range have no price: never silently free.
	UnpricedModels []UnpricedModel `json:"unpricedModels"`
}

// ModelUsage is one model (blob1) of ai_usage.
type ModelUsage struct {
	Model            string    `json:"model"`
	Calls            float64   `json:"calls"`
	Tokens           float64   `json:"tokens"`
	InputTokens      float64   `json:"inputTokens"`
	OutputTokens     float64   `json:"outputTokens"`
	Cost             float64   `json:"cost"`
	UnpricedCalls    float64   `json:"unpricedCalls"`
	Latency          Quantiles `json:"latency"`
	TimeToFirstToken Quantiles `json:"timeToFirstToken"`
}

// UnpricedModel is a model with points that carry no price.
type UnpricedModel struct {
	Model   string  `json:"model"`
	Dataset string  `json:"dataset"`
	Points  float64 `json:"points"`
	Tokens  float64 `json:"tokens"`
}

// Embeddings sums the embeddings dataset.
type Embeddings struct {
	Calls         float64           `json:"calls"`
	Tokens        float64           `json:"tokens"`
	Vectors       float64           `json:"vectors"`
	Cost          float64           `json:"cost"`
	UnpricedCalls float64           `json:"unpricedCalls"`
	Latency       Quantiles         `json:"latency"`
	ByModel       []EmbeddingsModel `json:"byModel"`
}

// EmbeddingsModel is one model (blob1) of embeddings.
type EmbeddingsModel struct {
	Model   string    `json:"model"`
	Calls   float64   `json:"calls"`
	Tokens  float64   `json:"tokens"`
	Vectors float64   `json:"vectors"`
	Cost    float64   `json:"cost"`
	Latency Quantiles `json:"latency"`
}

// VectorSearch sums the vector_search dataset. Relevance means average the
// points that carry a score (non-zero); the seed's trackVectorSearch sends
// none.
type VectorSearch struct {
	Searches      float64       `json:"searches"`
	MeanResults   *float64      `json:"meanResults"`
	Latency       Quantiles     `json:"latency"`
	MeanRelevance *float64      `json:"meanRelevance"`
	TopRelevance  *float64      `json:"topRelevance"`
	ByIndex       []SearchIndex `json:"byIndex"`
}

// SearchIndex is one index (index1) of vector_search.
type SearchIndex struct {
	Index         string    `json:"index"`
	Searches      float64   `json:"searches"`
	Latency       Quantiles `json:"latency"`
	MeanRelevance *float64  `json:"meanRelevance"`
}

// DBQueries sums the db_queries dataset.
type DBQueries struct {
	Queries     float64     `json:"queries"`
	RowsRead    float64     `json:"rowsRead"`
	RowsWritten float64     `json:"rowsWritten"`
	Latency     Quantiles   `json:"latency"`
	ByQuery     []QueryStat `json:"byQuery"`
}

// QueryStat is one query name (index1) of db_queries; the list is the top N
// by p95 latency.
type QueryStat struct {
	Query       string    `json:"query"`
	Count       float64   `json:"count"`
	MeanLatency *float64  `json:"meanLatency"`
	Latency     Quantiles `json:"latency"`
	RowsRead    float64   `json:"rowsRead"`
	RowsWritten float64   `json:"rowsWritten"`
}

// WebSocket sums the server side of the websocket dataset (index1 is the
// event kind: open, close, error, message); the browser beacon's events
// (side "browser") are the web analytics' own.
type WebSocket struct {
	// OpenConnections is opens − closes over every stored point up to the
	// end of the period (not just the period), at least 0.
	OpenConnections float64 `json:"openConnections"`
	Opens           float64 `json:"opens"`
	Closes          float64 `json:"closes"`
	Errors          float64 `json:"errors"`
	// AbnormalCloses are closes whose code (double2) is neither 1000
	// (normal) nor 1001 (going away), nor 0 (none recorded).
	AbnormalCloses float64 `json:"abnormalCloses"`
	// DisconnectRate is the share of closes that were abnormal.
	DisconnectRate *float64 `json:"disconnectRate"`
	// ErrorRate is errors per 100 connections opened in the period.
	ErrorRate *float64 `json:"errorRate"`
}

// GradePassback sums the grade_passback dataset (double1 is 1 on success).
type GradePassback struct {
	Attempts    float64   `json:"attempts"`
	Successes   float64   `json:"successes"`
	Failures    float64   `json:"failures"`
	SuccessRate *float64  `json:"successRate"`
	Latency     Quantiles `json:"latency"`
	ByPlatform  []LMSStat `json:"byPlatform"`
}

// LMSStat is one platform (index1) of grade_passback.
type LMSStat struct {
	Platform    string   `json:"platform"`
	Attempts    float64  `json:"attempts"`
	Failures    float64  `json:"failures"`
	SuccessRate *float64 `json:"successRate"`
}

// Intent measures the intent classifier: predictions (blob4 "prediction")
// in the period, joined by id (blob3) to their labels (blob4 "label", the
// true intent in blob5) whenever those were written.
type Intent struct {
	Predictions float64 `json:"predictions"`
	// Labelled counts the predictions that have a label.
	Labelled float64 `json:"labelled"`
	// Correct counts the labelled predictions whose intent (blob2) is the
	// label's.
	Correct float64 `json:"correct"`
	// Accuracy is Correct / Labelled.
	Accuracy *float64 `json:"accuracy"`
	// LabelledShare is Labelled / Predictions.
	LabelledShare *float64     `json:"labelledShare"`
	ByIntent      []IntentStat `json:"byIntent"`
}

// IntentStat is one predicted intent.
type IntentStat struct {
	Intent        string   `json:"intent"`
	Predictions   float64  `json:"predictions"`
	Labelled      float64  `json:"labelled"`
	Correct       float64  `json:"correct"`
	Accuracy      *float64 `json:"accuracy"`
	LabelledShare *float64 `json:"labelledShare"`
}

// Series holds one Bucket per interval of the period, empty ones included.
type Series struct {
	Interval string   `json:"interval"`
	Buckets  []Bucket `json:"buckets"`
}

// Bucket holds the figures of one time bucket [T, T+interval).
type Bucket struct {
	T                        string    `json:"t"`
	Requests                 float64   `json:"requests"`
	Latency                  *float64  `json:"latency"`
	ErrorRate                *float64  `json:"errorRate"`
	LatencyPercentiles       Quantiles `json:"latencyPercentiles"`
	AICalls                  float64   `json:"aiCalls"`
	AITokens                 float64   `json:"aiTokens"`
	AICost                   float64   `json:"aiCost"`
	AILatency                Quantiles `json:"aiLatency"`
	EmbeddingLatency         Quantiles `json:"embeddingLatency"`
	VectorSearchLatency      Quantiles `json:"vectorSearchLatency"`
	MeanRelevance            *float64  `json:"meanRelevance"`
	DBQueryLatency           Quantiles `json:"dbQueryLatency"`
	WSOpens                  float64   `json:"wsOpens"`
	WSCloses                 float64   `json:"wsCloses"`
	WSErrors                 float64   `json:"wsErrors"`
	GradePassbacks           float64   `json:"gradePassbacks"`
	GradePassbackSuccessRate *float64  `json:"gradePassbackSuccessRate"`
	IntentPredictions        float64   `json:"intentPredictions"`
	IntentAccuracy           *float64  `json:"intentAccuracy"`
}

// Meta says what was measured and how long it took.
type Meta struct {
	From         string  `json:"from"` // RFC 3339, UTC
	To           string  `json:"to"`   // exclusive
	PreviousFrom string  `json:"previousFrom"`
	PreviousTo   string  `json:"previousTo"`
	Interval     string  `json:"interval,omitempty"`
	ElapsedMs    float64 `json:"elapsedMs"`
	// Source is "rollup" when every figure came from rollups, "raw" when
	// every one was read from raw points, "mixed" otherwise.
	Source string `json:"source"`
	// Warnings name figures left out, e.g. a list with too many groups.
	Warnings []string `json:"warnings,omitempty"`
}
