package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

func testOpts() Options {
	return Options{Now: testNow, MinTimestamp: testNow - 30*24*3600*1000, MaxTimestamp: testNow + 5*60*1000}
}

// field reads a field of a logs point by name.
func field(p point.Point, name string) any {
	f, err := schema.Resolve(name)
	if err != nil {
		panic(err)
	}
	if f.Kind == point.KindBlob {
		return p.Blob(f.Pos)
	}
	return p.Double(f.Pos)
}

func TestDecodeContract(t *testing.T) {
	body := `{"timestamp":"2026-03-01T11:59:00.250Z","level":"WARNING","message":"slow query","attributes":{"query":"q1","ms":812.5,"tags":["a","b"],"db":{"name":"main"}},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","service":"api","environment":"prod","release":"1.2.3"}
{"message":"plain"}`
	pts, rej, err := Decode([]byte(body), testOpts())
	if err != nil || len(rej) != 0 || len(pts) != 2 {
		t.Fatalf("Decode = %d points, %v, %v; want 2 points", len(pts), rej, err)
	}
	p := pts[0]
	if p.Dataset != "logs" || p.Index != "api" || p.Timestamp != testNow-59750 {
		t.Errorf("point = %s %q %d; want logs \"api\" %d", p.Dataset, p.Index, p.Timestamp, testNow-59750)
	}
	want := map[string]any{
		"level": "warn", "message": "slow query", "severity": 13.0, "service": "api", "origin": "api",
		"attributes": `{"db":{"name":"main"},"ms":812.5,"query":"q1","tags":["a","b"]}`,
		"trace_id":   "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "environment": "prod", "release": "1.2.3",
	}
	for k, v := range want {
		if got := field(p, k); got != v {
			t.Errorf("%s = %#v; want %#v", k, got, v)
		}
	}
	q := pts[1]
	if q.Timestamp != testNow || field(q, "level") != "info" || field(q, "severity") != 9.0 || field(q, "attributes") != "" {
		t.Errorf("defaults: ts %d level %v severity %v attributes %v; want now, info, 9, none", q.Timestamp, field(q, "level"), field(q, "severity"), field(q, "attributes"))
	}
}

func TestDecodeShapes(t *testing.T) {
	for _, c := range []struct {
		name, body string
		n          int
	}{
		{"array", `[{"message":"a"},{"message":"b"}]`, 2},
		{"one object over lines", "{\n \"message\": \"a\"\n}", 1},
		{"ndjson with blanks and CRLF", "{\"message\":\"a\"}\r\n\r\n{\"message\":\"b\"}\r\n", 2},
		{"bom", "\uFEFF[{\"message\":\"a\"}]", 1},
		{"empty array", `[]`, 0},
	} {
		pts, rej, err := Decode([]byte(c.body), testOpts())
		if err != nil || len(rej) != 0 || len(pts) != c.n {
			t.Errorf("%s: Decode = %d points, %v, %v; want %d", c.name, len(pts), rej, err, c.n)
		}
	}
}

func TestDecodeRejections(t *testing.T) {
	long := strings.Repeat("x", MaxMessageBytes+1)
	many := map[string]int{}
	for i := range MaxAttributes + 1 {
		many[fmt.Sprint("k", i)] = i
	}
	manyJSON, _ := json.Marshal(many)
	for _, c := range []struct {
		name, rec, want string
	}{
		{"not object", `"hello"`, "a log record is a JSON object, got a string"},
		{"unknown key", `{"msg":"x"}`, `unknown key "msg"; a log record has timestamp, level`},
		{"no message", `{"level":"info"}`, `needs a "message"`},
		{"message type", `{"message":5}`, "message must be a string, got JSON number"},
		{"long message", `{"message":"` + long + `"}`, "message is 8193 bytes; the limit is 8192 bytes"},
		{"bad level", `{"message":"x","level":"loud"}`, `level "loud" is not one of trace, debug, info, warn, error, fatal`},
		{"bad severity", `{"message":"x","level":25}`, "level 25 is not an OpenTelemetry severity number"},
		{"bad timestamp", `{"message":"x","timestamp":"yesterday"}`, `timestamp "yesterday" is neither RFC 3339`},
		{"old timestamp", `{"message":"x","timestamp":1000000000}`, "timestamp 2001-09-09T01:46:40.000Z is outside the accepted window"},
		{"attributes array", `{"message":"x","attributes":[1]}`, "attributes is a JSON object, got an array"},
		{"attributes count", `{"message":"x","attributes":` + string(manyJSON) + `}`, "attributes has 65 keys; the limit is 64 keys"},
		{"attributes size", `{"message":"x","attributes":{"a":"` + strings.Repeat("y", MaxAttributesBytes) + `"}}`, "the limit is 4096 bytes"},
		{"attributes depth", `{"message":"x","attributes":{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}}`, "attributes nest 9 levels deep; the limit is 8"},
		{"long service", `{"message":"x","service":"` + strings.Repeat("s", 97) + `"}`, "service is 97 bytes; the limit is 96 bytes"},
		{"control in trace", `{"message":"x","trace_id":"a\nb"}`, "trace_id \"a\\nb\" has a control character"},
		{"syntax", `{"message":"x"`, "invalid JSON"},
	} {
		// The bad record between two good ones, as NDJSON and in an array.
		nd := `{"message":"ok"}` + "\n\n" + c.rec + "\n" + `{"message":"ok"}`
		pts, rej, err := Decode([]byte(nd), testOpts())
		if err != nil || len(pts) != 2 || len(rej) != 1 || rej[0].Position != 1 ||
			!strings.HasPrefix(rej[0].Error, "line 3: ") || !strings.Contains(rej[0].Error, c.want) {
			t.Errorf("%s: NDJSON: Decode = %d points, %+v, %v; want 2 points and position 1 \"line 3: …%s…\"", c.name, len(pts), rej, err, c.want)
		}
		if c.name == "syntax" {
			continue
		}
		pts, rej, err = Decode([]byte(`[{"message":"ok"},`+c.rec+`,{"message":"ok"}]`), testOpts())
		if err != nil || len(pts) != 2 || len(rej) != 1 || rej[0].Position != 1 ||
			!strings.HasPrefix(rej[0].Error, "record 1: ") || !strings.Contains(rej[0].Error, c.want) {
			t.Errorf("%s: array: Decode = %d points, %+v, %v; want 2 points and position 1 \"record 1: …%s…\"", c.name, len(pts), rej, err, c.want)
		}
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	var tooMany *TooManyRecordsError
	var bodyErr *BodyError
	opts := testOpts()
	opts.MaxRecords = 2
	for _, c := range []struct {
		name, body string
		is         func(error) bool
	}{
		{"empty", " \n ", func(err error) bool { return errors.Is(err, ErrEmptyBody) }},
		{"too many ndjson", "{\"message\":\"a\"}\n{\"message\":\"a\"}\n{\"message\":\"a\"}", func(err error) bool { return errors.As(err, &tooMany) && tooMany.Limit == 2 }},
		{"too many array", `[{"message":"a"},{"message":"a"},{"message":"a"}]`, func(err error) bool { return errors.As(err, &tooMany) }},
		{"array syntax", `[{"message":"a"},{"message":}]`, func(err error) bool { return errors.As(err, &bodyErr) && strings.Contains(err.Error(), "record 1") }},
		{"array unterminated", `[{"message":"a"}`, func(err error) bool { return errors.As(err, &bodyErr) }},
		{"after array", `[{"message":"a"}] {}`, func(err error) bool { return errors.As(err, &bodyErr) }},
	} {
		_, _, err := Decode([]byte(c.body), opts)
		if !c.is(err) {
			t.Errorf("%s: Decode err = %v", c.name, err)
		}
	}
}

func TestTimestamp(t *testing.T) {
	const sec = 1772366400 // 2026-03-01T12:00:00Z
	for _, c := range []struct {
		raw  string
		want int64
	}{
		{``, testNow},
		{`null`, testNow},
		{`"2026-03-01T12:00:00Z"`, sec * 1000},
		{`"2026-03-01T13:00:00.5+01:00"`, sec*1000 + 500},
		{`1772366400`, sec * 1000},
		{`1772366400.25`, sec*1000 + 250},
		{`1772366400250`, sec*1000 + 250},
		{`"1772366400250"`, sec*1000 + 250},
		{`1772366400250000`, sec*1000 + 250},
		{`1772366400250000000`, sec*1000 + 250},
	} {
		got, err := Timestamp(json.RawMessage(c.raw), testNow)
		if err != nil || got != c.want {
			t.Errorf("Timestamp(%s) = %d, %v; want %d", c.raw, got, err, c.want)
		}
	}
	for _, raw := range []string{`0`, `-5`, `true`, `"soon"`, `""`, `{}`, `"NaN"`, `1e30`} {
		if got, err := Timestamp(json.RawMessage(raw), testNow); err == nil {
			t.Errorf("Timestamp(%s) = %d; want an error", raw, got)
		}
	}
}

func TestLevel(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want string
		sev  float64
	}{
		{``, "info", 9}, {`""`, "info", 9}, {`"INFO"`, "info", 9}, {`"Warning"`, "warn", 13}, {`"err"`, "error", 17},
		{`"critical"`, "fatal", 21}, {`"trace"`, "trace", 1}, {`"debug"`, "debug", 5}, {`"notice"`, "info", 9},
		{`"WARN2"`, "warn", 14}, {`"ERROR4"`, "error", 20}, {`"ERROR+2"`, "error", 19}, {`"DEBUG-4"`, "trace", 1},
		{`"INFO+4"`, "warn", 13}, {`"ERROR+8"`, "fatal", 24}, {`17`, "error", 17}, {`"21"`, "fatal", 21}, {`1`, "trace", 1}, {`24`, "fatal", 24},
	} {
		name, sev, err := LevelOf(json.RawMessage(c.raw))
		if err != nil || name != c.want || sev != c.sev {
			t.Errorf("LevelOf(%s) = %q, %v, %v; want %q, %v", c.raw, name, sev, err, c.want, c.sev)
		}
	}
	for _, raw := range []string{`0`, `25`, `9.5`, `"loud"`, `"warn9"`, `"warn+x"`, `true`, `["info"]`} {
		if name, _, err := LevelOf(json.RawMessage(raw)); err == nil {
			t.Errorf("LevelOf(%s) = %q; want an error", raw, name)
		}
	}
}
