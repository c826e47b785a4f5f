package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
)

// TestLogsEndpoint posts log records (NDJSON gzipped, a JSON array) to a
// real server and reads them back through the query API and the SQL API,
// scoped to the key's project.
func TestLogsEndpoint(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R, A := e.keys[meta.KindWrite], e.keys[meta.KindRead], e.keys[meta.KindAdmin]
	now := time.Now().UTC()

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, `{"timestamp":%q,"level":"ERROR","message":"grade passback failed","attributes":{"lms":"canvas","attempt":2},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","service":"api"}`+"\n",
		now.Add(-time.Minute).Format(time.RFC3339Nano))
	fmt.Fprintf(zw, `{"timestamp":%d,"level":"warning","message":"slow query","attributes":{"ms":812},"service":"api"}`+"\n", now.Add(-2*time.Minute).Unix())
	fmt.Fprintln(zw, `{"level":"loud","message":"bad level"}`)
	zw.Close()
	var wa writeAnswer
	code := e.call("POST", "/api/v1/logs", W, gz.Bytes(), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, &wa)
	if code != 200 || wa.Accepted != 2 || len(wa.Rejected) != 1 || wa.Rejected[0].Position != 2 ||
		!strings.Contains(wa.Rejected[0].Error, `line 3: level "loud" is not one of`) {
		t.Fatalf("POST /api/v1/logs NDJSON = %d %+v; want 200, 2 accepted, line 3 rejected", code, wa)
	}
	code = e.call("POST", "/api/v1/logs", A, fmt.Sprintf(`[{"timestamp":%d,"level":17,"message":"worker crashed","service":"worker"},{"message":"started"}]`, now.UnixMilli()), nil, &wa)
	if code != 200 || wa.Accepted != 2 || len(wa.Rejected) != 0 {
		t.Fatalf("POST /api/v1/logs array (admin key) = %d %+v; want 200, 2 accepted", code, wa)
	}

	// The SQL API: fields by name, attributes searchable as JSON text.
	rows := e.sql(R, `SELECT service, level, message, attributes, trace_id, severity FROM logs WHERE attributes LIKE '%"lms":"canvas"%'`)
	if len(rows) != 1 {
		t.Fatalf("SQL by attribute: %v; want 1 row", rows)
	}
	checkRow(t, "SQL", rows[0], map[string]any{"service": "api", "level": "error", "message": "grade passback failed",
		"attributes": `{"attempt":2,"lms":"canvas"}`, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "severity": 17})
	if n := e.one("SELECT count() AS n FROM logs WHERE level = 'error'")["n"]; n != "2" {
		t.Errorf("SQL: %v error records; want 2", n)
	}
	if n := e.one("SELECT count() AS n FROM logs WHERE origin = 'api'")["n"]; n != "4" {
		t.Errorf("SQL: %v records from the API; want 4", n)
	}

	// The query API: by level and service.
	code, qa := e.query(R, `{"dataset":"logs","range":"1h","groupBy":["level"],"aggregations":{"n":{"type":"count"}},
		"filter":[{"field":"message","op":"contains","value":"e"}],"orderBy":[{"by":"level"}]}`)
	if code != 200 {
		t.Fatalf("query = %d %+v", code, qa)
	}
	got := map[string]any{}
	for _, r := range qa.Rows {
		got[fmt.Sprint(r["level"])] = r["n"]
	}
	if fmt.Sprint(got) != "map[error:2 info:1 warn:1]" {
		t.Errorf("query rows = %v; want error 2, info 1, warn 1", qa.Rows)
	}

	// Another project sees none of them, and its write key writes to it.
	var p struct {
		ID   int64
		Keys map[string]string
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	if n := e.sql(p.Keys["read"], "SELECT count() AS n FROM logs")[0]["n"]; n != "0" {
		t.Errorf("project %d sees %v log records of project 1", p.ID, n)
	}
	if code := e.call("POST", "/api/v1/logs", p.Keys["write"], `{"message":"theirs"}`, nil, &wa); code != 200 || wa.Accepted != 1 {
		t.Fatalf("other project's write = %d %+v", code, wa)
	}
	if n := e.one("SELECT count() AS n FROM logs")["n"]; n != "4" {
		t.Errorf("project 1 holds %v log records; want 4", n)
	}
}

func TestLogsEndpointRefusals(t *testing.T) {
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.MaxBodyBytes = 64 << 10 }})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	many := strings.Repeat(`{"message":"x"}`+"\n", 10_001)
	for _, c := range []struct {
		name, key, body string
		code            int
		errCode, msg    string
	}{
		{"read key", R, `{"message":"x"}`, 403, "", ""},
		{"no key", "", `{"message":"x"}`, 401, "", ""},
		{"empty", W, "  ", 400, "bad_body", "body is empty"},
		{"none valid", W, `[{"msg":"x"}]`, 400, "no_valid_points", `record 0: unknown key "msg"`},
		{"array syntax", W, `[{"message":"x"},{]`, 400, "bad_body", "record 1"},
		{"body size", W, `{"message":"` + strings.Repeat("x", 65<<10) + `"}`, 413, "body_too_large", "65536-byte limit"},
		{"record count", W, many[:len(many)-1], 413, "too_many_records", "the limit is 10000 records per request"},
	} {
		if c.name == "record count" {
			e2 := newEnv(t, envOptions{})
			e, W = e2, e2.keys[meta.KindWrite]
			c.key = W
		}
		var wa writeAnswer
		code := e.call("POST", "/api/v1/logs", c.key, c.body, nil, &wa)
		if code != c.code || c.errCode != "" && (wa.Error.Code != c.errCode || !strings.Contains(wa.Error.Message, c.msg)) {
			t.Errorf("%s: %d %+v; want %d %s %q", c.name, code, wa, c.code, c.errCode, c.msg)
		}
	}
}

// TestBeaconLogEvents posts the browser SDK's log events (forwarded
// console messages) with the public key and finds them in logs.
func TestBeaconLogEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := beaconBody(e.keys[meta.KindPublic], `[{"type":"log","level":"error","message":"console said no","url":"https://site.example/chat"},
		{"type":"log","level":"warn","message":"careful","url":"https://site.example/"}, {"type":"log","message":""}]`)
	code, a, _ := e.post("POST", "/api/v1/events", body, map[string]string{"User-Agent": uaChrome})
	if code != 202 || a.Accepted != 2 || len(a.Rejected) != 1 {
		t.Fatalf("POST /api/v1/events = %d %+v; want 202, 2 accepted, 1 rejected", code, a)
	}
	rows := e.sql(e.keys[meta.KindRead], "SELECT level, message, service, origin, attributes FROM logs ORDER BY severity DESC")
	if len(rows) != 2 {
		t.Fatalf("logs rows = %v; want 2", rows)
	}
	checkRow(t, "browser log", rows[0], map[string]any{"level": "error", "message": "console said no", "service": "browser", "origin": "browser",
		"attributes": `{"host":"site.example","path":"/chat"}`})
}
