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
	// From side on: the browser beacon's fields (side is "browser" on its
	// points and "" on a server's).
	"websocket": {Index: "event_kind",
		Blobs: []string{"event", "channel", "error",
			"side", "path", "visitor", "session", "country", "device", "browser", "os", "host", "user"},
		Doubles: []string{"duration", "code", "messages_in", "messages_out",
			"attempt"}},
	"grade_passback": {Index: "platform_name",
		Blobs:   []string{"platform", "error_class", "course"},
		Doubles: []string{"success", "latency", "attempt", "score"}},
	"intent": {Index: "model_name",
		Blobs:   []string{"model", "intent", "prediction_id", "kind", "actual"},
		Doubles: []string{"confidence", "correct"}},
	// The browser's datasets, written by the beacon (package beacon maps
	// its events here; package enrich fills visitor, session, country,
	// device, browser and os, the pageviews' visit fields, and route and
	// element, the path and the attribution with their ids folded).
	"pageviews": {Index: "page",
		Blobs: []string{"path", "referrer", "country", "device", "browser", "utm_source",
			"os", "visitor", "session", "host", "referrer_host", "utm_medium", "utm_campaign", "utm_term", "utm_content", "user"},
		Doubles: []string{"load_time",
			"entry", "visit_page", "bounce", "since_previous"}},
	"events": {Index: "event_name",
		Blobs: []string{"name", "path", "props",
			"visitor", "session", "country", "device", "browser", "os", "host", "user"},
		Doubles: []string{"value"}},
	"web_vitals": {Index: "metric",
		Blobs: []string{"name", "rating", "path", "navigation_type",
			"attribution", "metric_id", "visitor", "session", "country", "device", "browser", "os", "host", "user",
			"route", "element"},
		Doubles: []string{"value", "delta"}},
	"api_calls": {Index: "endpoint",
		Blobs: []string{"url", "method", "path",
			"visitor", "session", "country", "device", "browser", "os", "host", "user",
			"route"},
		Doubles: []string{"duration", "status", "success"}},
	"client_errors": {Index: "error_type",
		Blobs: []string{"type", "message", "path", "fingerprint",
			"stack", "source", "visitor", "session", "country", "device", "browser", "os", "host", "user",
			"route"},
		Doubles: []string{"count",
			"line", "column"}},
	"ui_actions": {Index: "action_type",
		Blobs: []string{"action", "component", "path",
			"visitor", "session", "country", "device", "browser", "os", "host", "user"},
		Doubles: []string{"duration"}},
	// Error tracking's datasets, written by the Sentry endpoints (package
	// errtrack maps each item here): one point per error event, per
	// transaction, per span, per session update, per cron check-in and
	// per log record.
	"errors": {Index: "error_type",
		Blobs: []string{"type", "message", "fingerprint", "level", "environment", "release", "platform", "culprit",
			"transaction", "user", "event_id", "handled", "sdk", "server_name", "mechanism"},
		Doubles: []string{"count", "group_id", "new_group", "regressed"}},
	"transactions": {Index: "transaction",
		Blobs:   []string{"name", "op", "status", "environment", "release", "platform", "method", "trace_id", "user", "sdk", "server_name"},
		Doubles: []string{"duration", "http_status", "spans", "failed"}},
	"spans": {Index: "span_op",
		Blobs:   []string{"op", "description", "status", "transaction", "trace_id", "span_id", "parent_span_id", "environment", "release", "origin"},
		Doubles: []string{"duration", "failed"}},
	"sessions": {Index: "release",
		Blobs:   []string{"environment", "status", "user", "session", "kind", "sdk"},
		Doubles: []string{"started", "exited", "errored", "abnormal", "crashed", "duration", "errors"}},
	"check_ins": {Index: "monitor",
		Blobs:   []string{"slug", "status", "environment", "release", "check_in_id", "schedule"},
		Doubles: []string{"duration", "ok", "failed", "in_progress", "margin", "max_runtime"}},
	"logs": {Index: "service_name",
		Blobs:   []string{"level", "message", "attributes", "trace_id", "span_id", "service", "origin", "environment", "release", "sdk"},
		Doubles: []string{"severity"}},
	// The checks' runs (package checks): one point per run of an uptime
	// (http) or Lighthouse (page) check; the fields a type does not
	// measure stay unset (0, "").
	"checks": {Index: "check",
		Blobs: []string{"name", "type", "url", "error", "device", "check_id", "method", "run_id"},
		Doubles: []string{"ok", "failed", "consecutive_failures", "status", "duration", "dns", "connect", "tls", "ttfb", "size_bytes",
			"cert", "cert_days", "score", "lcp", "cls", "fcp", "tbt", "si"}},
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
		"grade_passback", "intent", "pageviews", "events", "web_vitals", "api_calls", "client_errors", "ui_actions",
		"errors", "transactions", "spans", "sessions", "check_ins", "logs", "checks"}
}
