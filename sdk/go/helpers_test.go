package alidade

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestHelpersWriteTheBuiltinPositions checks every typed helper against the
// positions of internal/point/builtin.go, as the server receives them.
func TestHelpersWriteTheBuiltinPositions(t *testing.T) {
	ts := time.UnixMilli(1795760000000)
	cost := 0.0042
	long := strings.Repeat("é", 60) // 120 bytes
	for _, tc := range []struct {
		name  string
		write func(c *Client) error
		want  fakePoint
	}{
		{"LogRequest", func(c *Client) error {
			return c.LogRequest(RequestEvent{Endpoint: "POST /api/chat", URL: "/api/chat", Method: "POST", Service: "web",
				Status: 201, Duration: 12500 * time.Microsecond, ResponseBytes: 5120, RequestBytes: 300, Timestamp: ts})
		}, fakePoint{"requests", 0, []string{"POST /api/chat"}, []string{"/api/chat", "POST", "web"}, []float64{12.5, 201, 5120, 300}}},

		{"TrackAIUsage priced by the server", func(c *Client) error {
			return c.TrackAIUsage(AIUsage{Model: "gpt-4o", Feature: "chat", Provider: "openai", InputTokens: 800, OutputTokens: 95,
				CachedInputTokens: 512, Latency: 1200 * time.Millisecond, TimeToFirstToken: 250 * time.Millisecond, Neurons: 3.5, Timestamp: ts})
		}, fakePoint{"ai_usage", 0, []string{"gpt-4o"}, []string{"gpt-4o", "chat", "openai"}, []float64{895, 1200, 800, 95, 250, 0, 512, 3.5, 0}}},

		{"TrackAIUsage with a cost", func(c *Client) error {
			return c.TrackAIUsage(AIUsage{Model: "llama", Feature: "summary", Provider: "workers-ai", InputTokens: 10, OutputTokens: 5,
				Latency: time.Second, Cost: &cost, Timestamp: ts})
		}, fakePoint{"ai_usage", 0, []string{"llama"}, []string{"llama", "summary", "workers-ai"}, []float64{15, 1000, 10, 5, 0, 0.0042, 0, 0, 2}}},

		{"TrackEmbedding", func(c *Client) error {
			return c.TrackEmbedding(Embedding{Model: "bge-small", Feature: "search", Tokens: 1000, Vectors: 8, Dimensions: 384,
				Latency: 45 * time.Millisecond, Timestamp: ts})
		}, fakePoint{"embeddings", 0, []string{"bge-small"}, []string{"bge-small", "search"}, []float64{45, 1000, 8, 384, 0, 0}}},

		{"TrackVectorSearch without the query", func(c *Client) error {
			return c.TrackVectorSearch(VectorSearch{Index: "docs", Query: "secret question", Results: 10, Latency: 8 * time.Millisecond,
				TopScore: 0.92, MeanScore: 0.71, Timestamp: ts})
		}, fakePoint{"vector_search", 0, []string{"docs"}, []string{"vector_search", ""}, []float64{10, 8, 0.92, 0.71}}},

		{"TrackVectorSearch with the query", func(c *Client) error {
			return c.TrackVectorSearch(VectorSearch{Index: "docs", Query: "how to grade", IncludeQuery: true, Results: 3,
				Latency: time.Millisecond, TopScore: 0.5, MeanScore: 0.25, Timestamp: ts})
		}, fakePoint{"vector_search", 0, []string{"docs"}, []string{"vector_search", "how to grade"}, []float64{3, 1, 0.5, 0.25}}},

		{"TrackDBQuery by name", func(c *Client) error {
			return c.TrackDBQuery(DBQuery{Name: "users.by_id", Database: "main", Operation: "select", Latency: 2 * time.Millisecond,
				RowsRead: 1, RowsWritten: 0, Timestamp: ts})
		}, fakePoint{"db_queries", 0, []string{"users.by_id"}, []string{"users.by_id", "main", "select"}, []float64{2, 1, 0}}},

		{"TrackDBQuery with a statement kind", func(c *Client) error {
			return c.TrackDBQuery(DBQuery{Name: "grades.save", Query: "INSERT", Database: "d1", Operation: "insert",
				Latency: 3 * time.Millisecond, RowsWritten: 4, Timestamp: ts})
		}, fakePoint{"db_queries", 0, []string{"grades.save"}, []string{"INSERT", "d1", "insert"}, []float64{3, 0, 4}}},

		{"TrackWebSocket close", func(c *Client) error {
			return c.TrackWebSocket(WebSocketEvent{Kind: WSClose, Channel: "room:1", Code: 1000, SessionLength: 90 * time.Second,
				MessagesIn: 12, MessagesOut: 30, Timestamp: ts})
		}, fakePoint{"websocket", 0, []string{"close"}, []string{"close", "room:1", ""}, []float64{90000, 1000, 12, 30}}},

		{"TrackWebSocket error", func(c *Client) error {
			return c.TrackWebSocket(WebSocketEvent{Kind: WSError, Channel: "room:1", Error: "read: EOF", Timestamp: ts})
		}, fakePoint{"websocket", 0, []string{"error"}, []string{"error", "room:1", "read: EOF"}, []float64{0, 0, 0, 0}}},

		{"TrackGradePassback", func(c *Client) error {
			return c.TrackGradePassback(GradePassback{Platform: "canvas", ErrorClass: "", Course: "bio101", Success: true,
				Latency: 300 * time.Millisecond, Attempt: 2, Score: 0.85, Timestamp: ts})
		}, fakePoint{"grade_passback", 0, []string{"canvas"}, []string{"canvas", "", "bio101"}, []float64{1, 300, 2, 0.85}}},

		{"TrackGradePassback failed", func(c *Client) error {
			return c.TrackGradePassback(GradePassback{Platform: "moodle", ErrorClass: "timeout", Course: "c", Attempt: 3, Timestamp: ts})
		}, fakePoint{"grade_passback", 0, []string{"moodle"}, []string{"moodle", "timeout", "c"}, []float64{0, 0, 3, 0}}},

		{"TrackIntent", func(c *Client) error {
			return c.TrackIntent(Intent{Model: "intent-v2", Intent: "refund", ID: "p-123", Confidence: 0.87, Timestamp: ts})
		}, fakePoint{"intent", 0, []string{"intent-v2"}, []string{"intent-v2", "refund", "p-123", "prediction", ""}, []float64{0.87, 0}}},

		{"LabelIntent", func(c *Client) error {
			return c.LabelIntent("p-123", "cancel")
		}, fakePoint{"intent", -1, nil, []string{"", "cancel", "p-123", "label", "cancel"}, []float64{0, 0}}},

		{"long index is clipped", func(c *Client) error {
			return c.TrackAIUsage(AIUsage{Model: long, Timestamp: ts})
		}, fakePoint{"ai_usage", 0, []string{strings.Repeat("é", 48)}, []string{long, "", ""}, []float64{0, 0, 0, 0, 0, 0, 0, 0, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			c := New(testConfig(t, f.URL()))
			if err := tc.write(c); err != nil {
				t.Fatalf("write = %v", err)
			}
			closeOK(t, c)
			got := f.got()
			if len(got) != 1 {
				t.Fatalf("server got %d points; want 1", len(got))
			}
			want := tc.want
			switch want.Timestamp {
			case 0:
				want.Timestamp = ts.UnixMilli()
			case -1: // now
				want.Timestamp = got[0].Timestamp
				if d := time.Since(time.UnixMilli(got[0].Timestamp)); d < 0 || d > time.Minute {
					t.Errorf("timestamp %d is not now", got[0].Timestamp)
				}
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("point =\n%+v\nwant\n%+v", got[0], want)
			}
		})
	}
}
