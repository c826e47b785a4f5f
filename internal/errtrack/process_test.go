package errtrack

import (
	"fmt"
	"testing"
	"time"
)

func TestClockDrift(t *testing.T) {
	recv := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).UnixMilli()
	min := MinClockDrift.Milliseconds()
	for _, c := range []struct {
		sent, want int64
	}{
		{0, 0},                            // not said
		{recv, 0},                         // in time
		{recv - 30_000, 0},                // transit, offline batching
		{recv - min + 1, 0},               // 1 ms short of the threshold
		{recv - min, min},                 // at it: the clock is slow
		{recv - min - 1, min + 1},         // past it
		{recv + min - 1, 0},               // fast by 1 ms short
		{recv + min, -min},                // fast by the threshold
		{recv - 3*3600_000, 3 * 3600_000}, // three hours slow
	} {
		if got := ClockDrift(c.sent, recv); got != c.want {
			t.Errorf("ClockDrift(recv%+d ms) = %d, want %d", c.sent-recv, got, c.want)
		}
	}
}

// An SDK whose clock is two hours slow says so by sent_at: its event and
// transaction are stored at the times it meant, on the server's clock.
func TestProcessCorrectsClockDrift(t *testing.T) {
	recv := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	skew := 2 * time.Hour
	clientNow := recv.Add(-skew)
	evTime := clientNow.Add(-10 * time.Second) // 10 s before sending, by the client's clock
	for _, c := range []struct {
		name   string
		sentAt string
		want   int64
	}{
		{"slow clock", fmt.Sprintf(`,"sent_at":%q`, clientNow.Format(time.RFC3339Nano)), recv.Add(-10 * time.Second).UnixMilli()},
		// Without sent_at the event's own time is kept (within retention).
		{"no sent_at", "", evTime.UnixMilli()},
	} {
		body := fmt.Sprintf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"%s}
{"type":"event"}
{"message":"boom","timestamp":%.3f}
{"type":"transaction"}
{"type":"transaction","transaction":"GET /","start_timestamp":%.3f,"timestamp":%.3f,"contexts":{"trace":{"op":"http.server","trace_id":"4c79f60c11214eb38604f4ae0781bfb2","span_id":"fa90fdead5f74052"}}}
`, c.sentAt, float64(evTime.UnixMilli())/1000, float64(evTime.UnixMilli()-500)/1000, float64(evTime.UnixMilli())/1000)
		env, err := ParseEnvelope([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Process(env, ProcessOptions{Project: 1, Received: recv.UnixMilli(), MaxAge: 30 * 24 * time.Hour, Limits: DefaultLimits()})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Events) != 1 || b.Events[0].Timestamp != c.want {
			t.Errorf("%s: event stored at %v, want %v", c.name, time.UnixMilli(b.Events[0].Timestamp).UTC(), time.UnixMilli(c.want).UTC())
		}
		if len(b.Points) == 0 {
			t.Fatalf("%s: no transaction point: %v", c.name, b.Invalid)
		}
		if got := b.Points[0].Timestamp; got != c.want {
			t.Errorf("%s: transaction stored at %v, want %v", c.name, time.UnixMilli(got).UTC(), time.UnixMilli(c.want).UTC())
		}
	}
}
