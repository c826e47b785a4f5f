package errtrack

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// The fuzzers check that no input panics, that every error is one the
// server maps to a status, and that every point a decoder makes passes
// the point rules (AE's limits), whatever the payload.

const fuzzNow = int64(1_800_000_000_000)

func fuzzClock(ts int64) int64 { return ClampTimestamp(ts, fuzzNow, 90*24*time.Hour) }

func checkPoints(t *testing.T, pts []point.Point) {
	t.Helper()
	for _, p := range pts {
		if err := p.Validate(); err != nil {
			t.Fatalf("point %+v: %v", p, err)
		}
		if p.Timestamp < fuzzNow-90*86_400_000 || p.Timestamp > fuzzNow+5*60_000 {
			t.Fatalf("point time %d out of the window", p.Timestamp)
		}
	}
}

var eventSeeds = []string{
	`{"event_id":"fb3d5a4e0e284f4b9e637a1f2c3d4e5f","timestamp":1796119200.5,"level":"error","platform":"javascript",
	  "exception":{"values":[{"type":"TypeError","value":"x","mechanism":{"handled":false},"stacktrace":{"frames":[{"filename":"https://a/app.js","function":"f","lineno":1,"colno":2,"in_app":true}]}}]},
	  "breadcrumbs":[{"timestamp":"2026-01-01T00:00:00Z","message":"m"}],"tags":[["a","b"]],"user":{"id":1},"request":{"url":"https://a/b?c#/d","headers":{"x":"y"}},
	  "sdk":{"name":"sentry.javascript.browser","version":"8"},"fingerprint":["{{ default }}",1]}`,
	`{"logentry":{"message":"user %s","params":["x"]},"threads":{"values":[{"current":true,"stacktrace":{"frames":[{"function":"g"}]}}]}}`,
	`{"message":{"message":"m"},"exception":[{"type":"E"}],"contexts":{"os":{"name":"Linux"}},"extra":{"k":[1,2]}}`,
	`{"sentry.interfaces.Exception":{"values":[]},"sentry.interfaces.User":{"id":null},"tags":"nope"}`,
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v is not ErrBadPayload", err)
			}
			return
		}
		g := GroupOf(e)
		if len(g.Fingerprint) != 16 || g.Method == "" {
			t.Fatalf("grouping %+v", g)
		}
		if len(Title(e)) > maxTitle || len(Culprit(e)) > maxTitle {
			t.Fatalf("title %q culprit %q too long", Title(e), Culprit(e))
		}
		if e.EventID == "" {
			e.EventID = NewEventID()
		}
		checkPoints(t, EventPoints(e, g, Outcome{GroupID: 1, New: true}, fuzzClock(e.Timestamp)))
		// The stored form reads back the same.
		v, err := View(&StoredEvent{Payload: Compress(b), Size: len(b)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("view does not marshal: %v", err)
		}
		if v.Grouping.Fingerprint != g.Fingerprint {
			t.Fatalf("view groups as %s, ingest as %s", v.Grouping.Fingerprint, g.Fingerprint)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte("{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":14}\n{\"message\":\"m\"}\n{\"type\":\"attachment\",\"length\":3,\"filename\":\"a\"}\nabc\n"))
	f.Add([]byte("{}\n{\"type\":\"session\"}\n{\"sid\":\"s\",\"init\":true,\"status\":\"crashed\"}\n{\"type\":\"client_report\"}\n{\"discarded_events\":[{\"reason\":\"r\",\"category\":\"error\",\"quantity\":2}]}\n"))
	f.Add([]byte("{}\n{\"type\":\"transaction\"}\n{\"transaction\":\"t\",\"start_timestamp\":1,\"timestamp\":2,\"spans\":[{\"op\":\"o\"}]}\n{\"type\":\"log\"}\n{\"items\":[{\"body\":\"b\"}]}\n{\"type\":\"check_in\"}\n{\"monitor_slug\":\"m\",\"status\":\"ok\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v is not ErrBadPayload", err)
			}
			return
		}
		total := 0
		for _, it := range env.Items {
			total += len(it.Payload)
			if it.Type == "" {
				t.Fatal("item without a type")
			}
		}
		if total > len(b) {
			t.Fatalf("payloads (%d bytes) larger than the body (%d)", total, len(b))
		}
		batch, err := Process(env, ProcessOptions{Project: 1, Received: fuzzNow, MaxAge: 90 * 24 * time.Hour, Limits: DefaultLimits()})
		if err != nil {
			var tl *TooLargeError
			if !errors.Is(err, ErrBadPayload) && !errors.As(err, &tl) {
				t.Fatalf("Process error %v is neither ErrBadPayload nor TooLargeError", err)
			}
			return
		}
		if NormalizeEventID(batch.EventID) != batch.EventID {
			t.Fatalf("answer id %q is not an event id", batch.EventID)
		}
		checkPoints(t, batch.Points)
	})
}

// fuzzDecoder fuzzes one item decoder.
func fuzzDecoder(f *testing.F, seeds []string, decode func([]byte) ([]point.Point, error)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := decode(b)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v is not ErrBadPayload", err)
			}
			return
		}
		checkPoints(t, pts)
	})
}

func FuzzTransactionPoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"type":"transaction","transaction":"GET /x","start_timestamp":1796119200.1,"timestamp":"2026-12-01T10:00:00.3Z","release":"r","environment":"e",
		  "contexts":{"trace":{"op":"http.server","status":"ok","trace_id":"t","data":{"http.response.status_code":"500"}},"response":{"status_code":502}},
		  "request":{"method":"get"},"tags":{"http.status_code":"404"},"user":{"id":3},"sdk":{"name":"s","version":"1"},
		  "spans":[{"op":"db","description":"SELECT","start_timestamp":1796119200.1,"timestamp":1796119200.2,"status":"internal_error"}]}`,
		`{"transaction":7,"contexts":"x","spans":{"values":[{}]}}`,
	}, func(b []byte) ([]point.Point, error) { return TransactionPoints(b, fuzzClock) })
}

func FuzzSpanPoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"span_id":"a","trace_id":"b","op":"db","description":"d","start_timestamp":1,"timestamp":2}`,
		`{"items":[{"name":"n","start_timestamp":1796119200,"end_timestamp":1796119201,"attributes":{"sentry.op":{"type":"string","value":"http"},"sentry.release":"r"}}]}`,
	}, func(b []byte) ([]point.Point, error) { return SpanPoints(b, fuzzClock) })
}

func FuzzSessionPoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"sid":"s","did":"u","init":true,"started":"2026-12-01T10:00:00Z","status":"exited","errors":2,"duration":1.5,"attrs":{"release":"r","environment":"e"}}`,
		`{"sid":1,"status":"crashed","release":"old"}`,
	}, func(b []byte) ([]point.Point, error) { return SessionPoints(b, fuzzClock, "sdk") })
}

func FuzzSessionAggregatePoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"aggregates":[{"started":"2026-12-01T10:00:00Z","did":"u","exited":5,"errored":1,"abnormal":0,"crashed":2}],"attrs":{"release":"r"}}`,
		`{"aggregates":[{"exited":-3,"crashed":"2"}]}`,
	}, func(b []byte) ([]point.Point, error) { return SessionAggregatePoints(b, fuzzClock, "sdk") })
}

func FuzzCheckInPoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"check_in_id":"c","monitor_slug":"nightly","status":"error","duration":3.5,"monitor_config":{"schedule":{"type":"interval","value":10,"unit":"minute"},"checkin_margin":5,"max_runtime":30}}`,
	}, func(b []byte) ([]point.Point, error) { return CheckInPoints(b, fuzzClock, fuzzNow) })
}

func FuzzLogPoints(f *testing.F) {
	fuzzDecoder(f, []string{
		`{"items":[{"timestamp":1796119200.5,"trace_id":"t","level":"warn","severity_number":13,"body":"b","attributes":{"service.name":{"type":"string","value":"api"},"n":{"type":"integer","value":3},"l":{"type":"string[]","value":["a"]}}}]}`,
	}, func(b []byte) ([]point.Point, error) { return LogPoints(b, fuzzClock) })
}

func FuzzClientReport(f *testing.F) {
	f.Add([]byte(`{"timestamp":1,"discarded_events":[{"reason":"queue_overflow","category":"error","quantity":3}],"rate_limited_events":[{"category":"transaction","quantity":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ClientReport(b)
		if err != nil && !errors.Is(err, ErrBadPayload) {
			t.Fatalf("error %v is not ErrBadPayload", err)
		}
		for _, d := range ds {
			if d.Quantity <= 0 || d.Reason == "" || d.Category == "" || bytes.ContainsAny([]byte(d.Reason+d.Category), "\"{}\n ") {
				t.Fatalf("discard %+v", d)
			}
		}
	})
}

func FuzzAuth(f *testing.F) {
	f.Add("Sentry sentry_key=abc, sentry_version=7", "https://k@h.example:9000/p/3")
	f.Fuzz(func(t *testing.T, header, dsn string) {
		_ = AuthKey(header)
		d, err := ParseDSN(dsn)
		if err == nil && (d.PublicKey == "" || d.ProjectID < 1) {
			t.Fatalf("ParseDSN(%q) = %+v", dsn, d)
		}
	})
}
