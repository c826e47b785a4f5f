package alidade

import "time"

// The built-in datasets the typed helpers write. Their positions are fixed by
// the server (internal/point/builtin.go) and never move.
const (
	DatasetRequests      = "requests"
	DatasetAIUsage       = "ai_usage"
	DatasetEmbeddings    = "embeddings"
	DatasetVectorSearch  = "vector_search"
	DatasetDBQueries     = "db_queries"
	DatasetWebSocket     = "websocket"
	DatasetGradePassback = "grade_passback"
	DatasetIntent        = "intent"
)

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// index clips a helper's index to the 96-byte limit rather than have the
// point rejected.
func index(s string) string { return clip(s, MaxIndexBytes) }

// RequestEvent is one HTTP request served (dataset requests).
type RequestEvent struct {
	// Endpoint is the route, e.g. "GET /users/{id}": index1. Keep it of low
	// cardinality — a pattern, never a path with ids.
	Endpoint string
	URL      string // blob1: the path, without the query string
	Method   string // blob2
	Service  string // blob3: the service that served it
	Status   int    // double2
	// Duration is double1, in milliseconds.
	Duration      time.Duration
	ResponseBytes int64     // double3
	RequestBytes  int64     // double4
	Timestamp     time.Time // zero: now
}

// LogRequest records an HTTP request in the requests dataset: index1
// endpoint; blobs url, method, service; doubles duration (ms), status,
// response_bytes, request_bytes.
func (c *Client) LogRequest(e RequestEvent) error {
	if c == nil {
		return nil
	}
	blobs := [...]string{e.URL, e.Method, e.Service}
	dbls := [...]float64{ms(e.Duration), float64(e.Status), float64(e.ResponseBytes), float64(e.RequestBytes)}
	return c.Write(DatasetRequests, Point{Index: index(e.Endpoint), Blobs: blobs[:], Doubles: dbls[:], Timestamp: e.Timestamp})
}

// AIUsage is one call of a language model (dataset ai_usage).
type AIUsage struct {
	Model    string // index1 and blob1
	Feature  string // blob2: the product feature that made the call
	Provider string // blob3
	// InputTokens (double3) and OutputTokens (double4); their sum is
	// double1, tokens.
	InputTokens, OutputTokens int
	// CachedInputTokens is double7.
	CachedInputTokens int
	// Latency (double2) and TimeToFirstToken (double5), in milliseconds.
	Latency, TimeToFirstToken time.Duration
	// Cost is the call's cost in USD (double6), when the caller knows it.
	// When nil the server prices the call at ingest from its price table.
	Cost *float64
	// Neurons is double8 (Workers AI's unit).
	Neurons   float64
	Timestamp time.Time // zero: now
}

// TrackAIUsage records a model call in the ai_usage dataset: index1 model;
// blobs model, feature, provider; doubles tokens (input+output), latency
// (ms), input_tokens, output_tokens, ttft (ms), cost, cached_input_tokens,
// neurons, priced (2 when Cost was given, else 0 and the server prices it).
func (c *Client) TrackAIUsage(u AIUsage) error {
	if c == nil {
		return nil
	}
	cost, priced := 0.0, 0.0
	if u.Cost != nil {
		cost, priced = *u.Cost, 2
	}
	blobs := [...]string{u.Model, u.Feature, u.Provider}
	dbls := [...]float64{
		float64(u.InputTokens + u.OutputTokens), ms(u.Latency), float64(u.InputTokens), float64(u.OutputTokens),
		ms(u.TimeToFirstToken), cost, float64(u.CachedInputTokens), u.Neurons, priced,
	}
	return c.Write(DatasetAIUsage, Point{Index: index(u.Model), Blobs: blobs[:], Doubles: dbls[:], Timestamp: u.Timestamp})
}

// Embedding is one call of an embedding model (dataset embeddings).
type Embedding struct {
	Model      string        // index1 and blob1
	Feature    string        // blob2
	Tokens     int           // double2
	Vectors    int           // double3
	Dimensions int           // double4
	Latency    time.Duration // double1, in milliseconds
	Timestamp  time.Time     // zero: now
}

// TrackEmbedding records an embedding call in the embeddings dataset: index1
// model; blobs model, feature; doubles latency (ms), tokens, vectors,
// dimensions, cost (0) and priced (0: the server prices it at ingest).
func (c *Client) TrackEmbedding(e Embedding) error {
	if c == nil {
		return nil
	}
	blobs := [...]string{e.Model, e.Feature}
	dbls := [...]float64{ms(e.Latency), float64(e.Tokens), float64(e.Vectors), float64(e.Dimensions), 0, 0}
	return c.Write(DatasetEmbeddings, Point{Index: index(e.Model), Blobs: blobs[:], Doubles: dbls[:], Timestamp: e.Timestamp})
}

// VectorSearch is one query of a vector index (dataset vector_search).
type VectorSearch struct {
	Index string // index1: the vector index's name
	// Query is the query text. It is sent (blob2) only when IncludeQuery
	// is true: queries may hold personal data.
	Query        string
	IncludeQuery bool
	Results      int           // double1
	Latency      time.Duration // double2, in milliseconds
	TopScore     float64       // double3
	MeanScore    float64       // double4
	Timestamp    time.Time     // zero: now
}

// TrackVectorSearch records a vector search in the vector_search dataset:
// index1 the index name; blobs "vector_search", the query text (only with
// IncludeQuery, else ""); doubles results, latency (ms), top_score,
// mean_score.
func (c *Client) TrackVectorSearch(s VectorSearch) error {
	if c == nil {
		return nil
	}
	q := ""
	if s.IncludeQuery {
		q = clip(s.Query, MaxBlobBytes-len(DatasetVectorSearch))
	}
	blobs := [...]string{DatasetVectorSearch, q}
	dbls := [...]float64{float64(s.Results), ms(s.Latency), s.TopScore, s.MeanScore}
	return c.Write(DatasetVectorSearch, Point{Index: index(s.Index), Blobs: blobs[:], Doubles: dbls[:], Timestamp: s.Timestamp})
}

// DBQuery is one database query (dataset db_queries).
type DBQuery struct {
	// Name names the query in the code, e.g. "users.by_id": index1, and
	// blob1 unless Query is set.
	Name string
	// Query, when set, is recorded in blob1 instead of Name: the statement's
	// kind or shape, e.g. "SELECT" or "SELECT users WHERE id = ?". Never
	// put SQL with literal values here.
	Query       string
	Database    string        // blob2
	Operation   string        // blob3, e.g. "select", "insert"
	Latency     time.Duration // double1, in milliseconds
	RowsRead    int64         // double2
	RowsWritten int64         // double3
	Timestamp   time.Time     // zero: now
}

// TrackDBQuery records a query in the db_queries dataset: index1 name; blobs
// query (Query, or Name when Query is ""), database, operation; doubles
// latency (ms), rows_read, rows_written.
func (c *Client) TrackDBQuery(q DBQuery) error {
	if c == nil {
		return nil
	}
	kind := q.Query
	if kind == "" {
		kind = q.Name
	}
	blobs := [...]string{kind, q.Database, q.Operation}
	dbls := [...]float64{ms(q.Latency), float64(q.RowsRead), float64(q.RowsWritten)}
	return c.Write(DatasetDBQueries, Point{Index: index(q.Name), Blobs: blobs[:], Doubles: dbls[:], Timestamp: q.Timestamp})
}

// WSKind is the kind of a WebSocket event.
type WSKind string

// The WebSocket event kinds.
const (
	WSOpen    WSKind = "open"
	WSClose   WSKind = "close"
	WSError   WSKind = "error"
	WSMessage WSKind = "message"
)

// WebSocketEvent is one WebSocket event (dataset websocket). The server
// derives the number of open connections from opens minus closes.
type WebSocketEvent struct {
	Kind    WSKind // index1 and blob1
	Channel string // blob2
	Code    int    // double2: the close code
	Error   string // blob3
	// SessionLength is double1, in milliseconds: the session's length, on
	// close.
	SessionLength time.Duration
	MessagesIn    int       // double3
	MessagesOut   int       // double4
	Timestamp     time.Time // zero: now
}

// TrackWebSocket records a WebSocket event in the websocket dataset: index1
// kind; blobs kind, channel, error; doubles duration (ms), code,
// messages_in, messages_out.
func (c *Client) TrackWebSocket(e WebSocketEvent) error {
	if c == nil {
		return nil
	}
	kind := index(string(e.Kind))
	blobs := [...]string{kind, e.Channel, e.Error}
	dbls := [...]float64{ms(e.SessionLength), float64(e.Code), float64(e.MessagesIn), float64(e.MessagesOut)}
	return c.Write(DatasetWebSocket, Point{Index: kind, Blobs: blobs[:], Doubles: dbls[:], Timestamp: e.Timestamp})
}

// GradePassback is one grade sent back to a learning platform (dataset
// grade_passback).
type GradePassback struct {
	Platform   string        // index1 and blob1, e.g. "canvas"
	ErrorClass string        // blob2: "" on success
	Course     string        // blob3
	Success    bool          // double1: 1 or 0
	Latency    time.Duration // double2, in milliseconds
	Attempt    int           // double3
	Score      float64       // double4
	Timestamp  time.Time     // zero: now
}

// TrackGradePassback records a grade passback in the grade_passback dataset:
// index1 platform; blobs platform, error_class, course; doubles success
// (1/0), latency (ms), attempt, score.
func (c *Client) TrackGradePassback(g GradePassback) error {
	if c == nil {
		return nil
	}
	blobs := [...]string{g.Platform, g.ErrorClass, g.Course}
	dbls := [...]float64{b2f(g.Success), ms(g.Latency), float64(g.Attempt), g.Score}
	return c.Write(DatasetGradePassback, Point{Index: index(g.Platform), Blobs: blobs[:], Doubles: dbls[:], Timestamp: g.Timestamp})
}

// Intent is one prediction of an intent classifier (dataset intent).
type Intent struct {
	Model  string // index1 and blob1
	Intent string // blob2: the predicted intent
	// ID identifies the prediction (blob3), so that LabelIntent can later
	// say what the intent really was.
	ID         string
	Confidence float64   // double1
	Timestamp  time.Time // zero: now
}

// TrackIntent records a prediction in the intent dataset: index1 model;
// blobs model, intent, id, "prediction", ""; doubles confidence, 0.
func (c *Client) TrackIntent(i Intent) error {
	if c == nil {
		return nil
	}
	blobs := [...]string{i.Model, i.Intent, i.ID, "prediction", ""}
	dbls := [...]float64{i.Confidence, 0}
	return c.Write(DatasetIntent, Point{Index: index(i.Model), Blobs: blobs[:], Doubles: dbls[:], Timestamp: i.Timestamp})
}

// LabelIntent records the true intent of the prediction id in the intent
// dataset: index1 ""; blobs "", actual, id, "label", actual; doubles 0, 0.
// The server joins labels to predictions by id to measure accuracy; a label
// may come long after its prediction.
func (c *Client) LabelIntent(id, actual string) error {
	if c == nil {
		return nil
	}
	blobs := [...]string{"", actual, id, "label", actual}
	dbls := [...]float64{0, 0}
	return c.Write(DatasetIntent, Point{Blobs: blobs[:], Doubles: dbls[:]})
}
