package point

// The built-in datasets: what Alidade's SDKs write. Their schemas are fixed
// here and documented in the README; the positions the seed's own
// writeDataPoint calls use come first (requests: url, method, duration,
// status; ai_usage: model, tokens, latency; vector_search: result count,
// latency), and every later field comes after them. Positions never move:
// fields are only ever appended.
var builtin = map[string]Schema{
	"requests": {Index: "endpoint",
		Blobs:   []string{"url", "method", "service"},
		Doubles: []string{"duration", "status", "response_bytes", "request_bytes"}},
	"ai_usage": {Index: "model_name",
		Blobs:   []string{"model", "feature", "provider"},
		Doubles: []string{"tokens", "latency", "input_tokens", "output_tokens", "ttft", "cost", "cached_input_tokens", "neurons", "priced"}},
	"embeddings": {Index: "model_name",
		Blobs:   []string{"model", "feature"},
		Doubles: []string{"latency", "tokens", "vectors", "dimensions", "cost", "priced"}},
	"vector_search": {Index: "index_name",
		Blobs:   []string{"kind", "query"},
		Doubles: []string{"results", "latency", "top_score", "mean_score"}},
	"db_queries": {Index: "query_name",
		Blobs:   []string{"query", "database", "operation"},
		Doubles: []string{"latency", "rows_read", "rows_written"}},
	"websocket": {Index: "event_kind",
		Blobs:   []string{"event", "channel", "error"},
		Doubles: []string{"duration", "code", "messages_in", "messages_out"}},
	"grade_passback": {Index: "platform_name",
		Blobs:   []string{"platform", "error_class", "course"},
		Doubles: []string{"success", "latency", "attempt", "score"}},
	"intent": {Index: "model_name",
		Blobs:   []string{"model", "intent", "prediction_id", "kind", "actual"},
		Doubles: []string{"confidence", "correct"}},
	"pageviews": {Index: "page",
		Blobs:   []string{"path", "referrer", "country", "device", "browser", "utm_source"},
		Doubles: []string{"load_time"}},
	"events": {Index: "event_name",
		Blobs:   []string{"name", "path", "props"},
		Doubles: []string{"value"}},
	"web_vitals": {Index: "metric",
		Blobs:   []string{"name", "rating", "path", "navigation_type"},
		Doubles: []string{"value", "delta"}},
	"api_calls": {Index: "endpoint",
		Blobs:   []string{"url", "method", "path"},
		Doubles: []string{"duration", "status", "success"}},
	"client_errors": {Index: "error_type",
		Blobs:   []string{"type", "message", "path", "fingerprint"},
		Doubles: []string{"count"}},
	"ui_actions": {Index: "action_type",
		Blobs:   []string{"action", "component", "path"},
		Doubles: []string{"duration"}},
}

// Builtin returns the fixed schema of a built-in dataset, or nil.
func Builtin(dataset string) *Schema {
	s, ok := builtin[dataset]
	if !ok {
		return nil
	}
	c := Schema{Index: s.Index, Blobs: append([]string(nil), s.Blobs...), Doubles: append([]string(nil), s.Doubles...)}
	return &c
}

// BuiltinNames lists the built-in datasets.
func BuiltinNames() []string {
	return []string{"requests", "ai_usage", "embeddings", "vector_search", "db_queries", "websocket",
		"grade_passback", "intent", "pageviews", "events", "web_vitals", "api_calls", "client_errors", "ui_actions"}
}
