//go:build cluster

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// migratePoints is n requests points (named fields) spread over the day
// that ends at end, the same for every call with the same seed.
func migratePoints(end time.Time, n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 3))
	eps := []string{"/api/chat", "/api/grade", "/api/search", "/login"}
	var b strings.Builder
	for range n {
		ts := end.Add(-time.Duration(r.IntN(23*3600*1000)) * time.Millisecond).UnixMilli()
		ep := eps[r.IntN(len(eps))]
		status := 200
		if r.IntN(8) == 0 {
			status = 500
		}
		fmt.Fprintf(&b, `{"timestamp":%d,"index":%q,"fields":{"url":%q,"method":"GET","duration":%g,"status":%d}}`+"\n",
			ts, ep, ep, float64(r.IntN(20000))/8, status)
	}
	return b.String()
}

// runMigrateCmd runs alidade migrate with args and env and returns its
// exit code, stdout and stderr.
func runMigrateCmd(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"migrate"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run alidade migrate: %v", err)
		}
		code = ee.ExitCode() // -1 when killed by a signal
	}
	return code, stdout.String(), stderr.String()
}

// TestClusterMigrate: an embedded server's data directory — points over
// four days in two projects, keys, a schema, a saved query, an alert
// rule, a dashboard session, an error event — copied by alidade migrate
// into a 2-shard ClickHouse cluster and a PostgreSQL, killed once in the
// middle (after a day's points went in, before the day was marked done)
// and run again to the end. A cluster node then answers as the embedded
// server did, to the same keys and session.
func TestClusterMigrate(t *testing.T) {
	dir := t.TempDir()
	emb := start(t, dir)
	keys := bannerKeys(t, emb)
	now := time.Now().UTC()
	const days, perDay = 4, 1500
	for d := range days {
		body := migratePoints(now.Add(-time.Duration(d)*24*time.Hour), perDay, uint64(d))
		if code, resp := do(t, "POST", emb.url+"/api/v1/datasets/requests/points", keys["write"], body); code != 200 || !strings.Contains(resp, fmt.Sprintf(`"accepted":%d`, perDay)) {
			t.Fatalf("write day %d = %d %s", d, code, resp)
		}
	}
	// A second project with a dataset of its own schema and a saved query.
	web := createProject(t, emb.url, "web")
	if code, resp := do(t, "PUT", emb.url+"/api/v1/datasets/clicks/schema", web.Keys["admin"], `{"index":"page","blobs":["button"],"doubles":["ms"]}`); code != 200 {
		t.Fatalf("PUT schema = %d %s", code, resp)
	}
	var clicks strings.Builder
	for i := range 300 {
		ts := now.Add(-time.Duration(i%3)*24*time.Hour - time.Duration(i)*time.Minute).UnixMilli()
		fmt.Fprintf(&clicks, `{"timestamp":%d,"index":"/p%d","fields":{"button":"b%d","ms":%d}}`+"\n", ts, i%5, i%7, i)
	}
	if code, resp := do(t, "POST", emb.url+"/api/v1/datasets/clicks/points", web.Keys["write"], clicks.String()); code != 200 || !strings.Contains(resp, `"accepted":300`) {
		t.Fatalf("write clicks = %d %s", code, resp)
	}
	if code, resp := do(t, "POST", emb.url+"/api/v1/saved-queries", web.Keys["admin"], `{"name":"Clicks per page","sql":"SELECT page, count() AS n FROM clicks GROUP BY page ORDER BY page"}`); code != 201 {
		t.Fatalf("save query = %d %s", code, resp)
	}
	// A key revoked before the migration: copied revoked, so that it is
	// refused and no key made on the cluster takes its id.
	code, resp := do(t, "POST", emb.url+"/api/v1/keys", web.Keys["admin"], `{"kind":"write","name":"gone"}`)
	var gone struct {
		ID     int64  `json:"id"`
		Secret string `json:"key"`
	}
	if code != 201 || json.Unmarshal([]byte(resp), &gone) != nil || gone.ID == 0 || gone.Secret == "" {
		t.Fatalf("create the key to revoke = %d %s", code, resp)
	}
	if code, resp := do(t, "DELETE", fmt.Sprintf("%s/api/v1/keys/%d", emb.url, gone.ID), web.Keys["admin"], ""); code != 204 {
		t.Fatalf("revoke key %d = %d %s", gone.ID, code, resp)
	}
	alert := `{"name":"chat errors","query":{"dataset":"requests","range":"5m","filter":[{"field":"endpoint","op":"=","value":"/api/chat"}],
		"aggregations":{"errorRate":{"type":"percentage","filter":{"field":"status","op":">=","value":500}}}},
		"condition":{"op":">","value":1000},"for":"1m","every":"30s","notify":[{"type":"webhook","url":"http://127.0.0.1:9/hook"}]}`
	if code, resp := do(t, "POST", emb.url+"/api/v1/alerts", keys["admin"], alert); code != 201 {
		t.Fatalf("create alert rule = %d %s", code, resp)
	}
	// An error event: its group (with its id), the event and its point
	// go along.
	ev := `{"event_id":"0123456789abcdef0123456789abcdef"}` + "\n" + `{"type":"event"}` + "\n" +
		`{"event_id":"0123456789abcdef0123456789abcdef","level":"error","platform":"go","exception":{"values":[{"type":"MigrateError","value":"left behind"}]}}` + "\n"
	if code, resp := do(t, "POST", fmt.Sprintf("%s/api/1/envelope/?sentry_key=%s", emb.url, keys["public"]), "", ev); code != 200 {
		t.Fatalf("send error event = %d %s", code, resp)
	}
	// A dashboard session.
	cookie := signIn(t, emb.url, keys["read"])

	// The answers to compare.
	structured := `{"dataset":"requests","range":"7d","source":"raw","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"},` +
		`"avg":{"type":"avg","field":"duration"},"p95":{"type":"quantile","field":"duration","q":0.95},` +
		`"err":{"type":"percentage","filter":{"field":"status","operator":">=","value":500}}},"orderBy":[{"by":"endpoint"}]}`
	type sqlCheck struct{ key, sql string }
	sqls := []sqlCheck{
		{keys["read"], "SELECT toStartOfDay(timestamp) AS day, count() AS n, sum(double1) AS total FROM requests GROUP BY day ORDER BY day FORMAT TabSeparated"},
		{keys["read"], "SELECT index1, count() AS n, round(avg(duration), 3) AS avg FROM requests GROUP BY index1 ORDER BY index1"},
		{web.Keys["read"], "SELECT toStartOfDay(timestamp) AS day, page, count() AS n, sum(ms) AS ms FROM clicks GROUP BY day, page ORDER BY day, page FORMAT TabSeparated"},
	}
	answers := func(p *proc) (string, []string) {
		t.Helper()
		code, resp := do(t, "POST", p.url+"/api/v1/query", keys["read"], structured)
		if code != 200 {
			t.Fatalf("structured query on %s = %d %s", p.url, code, resp)
		}
		var r struct {
			Rows json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal([]byte(resp), &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range sqls {
			code, resp := do(t, "POST", p.url+"/api/v1/sql", c.key, c.sql)
			if code != 200 {
				t.Fatalf("%s on %s = %d %s", c.sql, p.url, code, resp)
			}
			out = append(out, stripStats(resp))
		}
		return string(r.Rows), out
	}
	wantRows, wantSQL := answers(emb)
	_, wantGroups := do(t, "GET", emb.url+"/api/v1/error-groups", keys["read"], "")
	if n := strings.Count(wantSQL[0], "\n"); n < days {
		t.Fatalf("the embedded server counts points on %d days; want %d:\n%s", n, days, wantSQL[0])
	}

	e := startClusterEnv(t)
	migrateArgs := []string{"--data-dir", dir, "--to", e.flags[1], "--meta", e.flags[3]}

	// The server holds the data directory: a clear refusal.
	code, _, stderr := runMigrateCmd(t, nil, migrateArgs...)
	if code != 1 || !strings.Contains(stderr, "stop the server") {
		t.Fatalf("migrate while the server runs = exit %d\n%s; want 1 and an error saying to stop the server", code, stderr)
	}
	if err := emb.term(); err != nil {
		t.Fatalf("stop the embedded server: %v\n%s", err, emb.stderr.String())
	}

	// Killed after the second day's points went in, before it was marked
	// done: the check finds the counts short.
	code, stdout, stderr := runMigrateCmd(t, []string{"ALIDADE_TEST_MIGRATE_CRASH_AFTER_DAYS=2"}, migrateArgs...)
	if code != -1 || !strings.Contains(stderr, "killed after copying") || !strings.Contains(stdout, "Metadata copied: 2 projects, 8 keys (and 1 revoked)") {
		t.Fatalf("migrate with a crash after 2 days = exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = runMigrateCmd(t, nil, append(migrateArgs, "--verify-only")...)
	if code != 1 || !strings.Contains(stderr, "counts differ") || !strings.Contains(stderr, "0 in ClickHouse") {
		t.Fatalf("migrate --verify-only after the crash = exit %d\n%s; want the days not copied named", code, stderr)
	}

	// Run again: the day half done is dropped and copied again, the rest
	// copied, the counts equal.
	code, stdout, stderr = runMigrateCmd(t, nil, migrateArgs...)
	if code != 0 {
		t.Fatalf("migrate resumed = exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Resuming the migration", "Counts checked", "the same in ClickHouse", "Error tracking copied: 1 groups, 1 events, 0 attachments"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("migrate resumed: stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "dropping it from ClickHouse to copy it again") || !regexp.MustCompile(`days \d/\d.*points/s, ETA`).MatchString(stderr) {
		t.Errorf("migrate resumed: stderr lacks the drop of the day half done or the progress:\n%s", stderr)
	}
	t.Logf("migrate resumed:\n%s%s", stdout, stderr)
	if code, stdout, stderr := runMigrateCmd(t, nil, append(migrateArgs, "--verify-only")...); code != 0 || !strings.Contains(stdout, "Counts checked") {
		t.Fatalf("migrate --verify-only = exit %d\n%s%s", code, stdout, stderr)
	}

	// A cluster node answers as the embedded server did, to its keys.
	node := e.launch(t)
	node.waitReady()
	if strings.Contains(stdoutOf(node), "ald_write_") {
		t.Errorf("the node made a default project and keys; the migrated metadata says initialized:\n%s", stdoutOf(node))
	}
	gotRows, gotSQL := answers(node)
	if gotRows != wantRows {
		t.Errorf("structured query on the node:\n%s\nembedded:\n%s", gotRows, wantRows)
	}
	for i := range sqls {
		if gotSQL[i] != wantSQL[i] {
			t.Errorf("%s\nnode:\n%s\nembedded:\n%s", sqls[i].sql, gotSQL[i], wantSQL[i])
		}
	}
	code, resp = do(t, "GET", node.url+"/api/v1/saved-queries", web.Keys["read"], "")
	if code != 200 || !strings.Contains(resp, `"Clicks per page"`) {
		t.Errorf("saved queries on the node = %d %s", code, resp)
	}
	code, resp = do(t, "GET", node.url+"/api/v1/alerts", keys["read"], "")
	if code != 200 || !strings.Contains(resp, `"chat errors"`) {
		t.Errorf("alert rules on the node = %d %s", code, resp)
	}
	code, resp = do(t, "GET", node.url+"/api/v1/datasets/clicks/schema", web.Keys["read"], "")
	if code != 200 || !strings.Contains(resp, `"button"`) {
		t.Errorf("the clicks schema on the node = %d %s", code, resp)
	}
	if code, resp := sessionOn(t, node.url, cookie); code != 200 || !strings.Contains(resp, `"read"`) {
		t.Errorf("the embedded server's dashboard session on the node = %d %s", code, resp)
	}
	// The error group as the embedded server had it, its event readable;
	// the same event sent again is a duplicate; a new error's group takes
	// the next id.
	if code, resp := do(t, "GET", node.url+"/api/v1/error-groups", keys["read"], ""); code != 200 || resp != wantGroups || !strings.Contains(resp, `"id":1,`) {
		t.Errorf("error groups on the node = %d %s\nembedded: %s", code, resp, wantGroups)
	}
	if code, resp := do(t, "GET", node.url+"/api/v1/events/0123456789abcdef0123456789abcdef", keys["read"], ""); code != 200 || !strings.Contains(resp, "left behind") {
		t.Errorf("the migrated event on the node = %d %s", code, resp)
	}
	envelope := fmt.Sprintf("%s/api/1/envelope/?sentry_key=%s", node.url, keys["public"])
	if code, resp := do(t, "POST", envelope, "", ev); code != 200 {
		t.Errorf("the migrated event sent again = %d %s", code, resp)
	}
	ev2 := strings.ReplaceAll(strings.ReplaceAll(ev, "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"), "MigrateError", "NodeError")
	if code, resp := do(t, "POST", envelope, "", ev2); code != 200 {
		t.Errorf("a new error event on the node = %d %s", code, resp)
	}
	if code, resp := do(t, "GET", node.url+"/api/v1/error-groups?sort=first_seen", keys["read"], ""); code != 200 ||
		!strings.Contains(resp, `"id":2,`) || !strings.Contains(resp, `"count":1,`) || strings.Contains(resp, `"count":2`) {
		t.Errorf("error groups after the duplicate and a new error = %d %s; want the migrated group still of 1 event, the new one id 2", code, resp)
	}

	// New ids follow the migrated ones: a project, a key.
	code, resp = do(t, "POST", node.url+"/api/v1/projects", e2eRoot, `{"name":"after"}`)
	if code != 201 || !strings.Contains(resp, `"id":3`) {
		t.Errorf("a project made after the migration = %d %s; want id 3", code, resp)
	}
	code, resp = do(t, "POST", node.url+"/api/v1/keys", web.Keys["admin"], `{"kind":"read","name":"new"}`)
	var made struct {
		ID int64 `json:"id"`
	}
	if code != 201 || json.Unmarshal([]byte(resp), &made) != nil || made.ID <= gone.ID {
		t.Errorf("a key made after the migration = %d %s; want an id after the revoked key's %d", code, resp, gone.ID)
	}
	var revoked bool
	var name string
	if err := pgQueryRow(t, e.pg.DSN, `SELECT revoked IS NOT NULL, name FROM api_keys WHERE id = $1`, gone.ID).Scan(&revoked, &name); err != nil || !revoked || name != "gone" {
		t.Errorf("the key revoked before the migration in PostgreSQL: revoked=%v name=%q err=%v; want revoked, named gone", revoked, name, err)
	}
	if code, resp := do(t, "POST", node.url+"/api/v1/datasets/requests/points", gone.Secret, `{"index":"/gone","fields":{"duration":1}}`); code != 401 {
		t.Errorf("a write with the key revoked before the migration = %d %s; want 401", code, resp)
	}
	if code, resp := do(t, "POST", node.url+"/api/v1/datasets/requests/points", keys["write"], `{"index":"/after","fields":{"duration":1,"status":200}}`); code != 200 {
		t.Errorf("a write with the old write key = %d %s", code, resp)
	}

	// Once done, a run into a target with points and projects of its own
	// (the node's write) is refused from another data directory.
	other := t.TempDir()
	start(t, other).term()
	code, _, stderr = runMigrateCmd(t, nil, "--data-dir", other, "--to", e.flags[1], "--meta", e.flags[3])
	if code != 1 || !strings.Contains(stderr, "holds a migration from "+dir) {
		t.Errorf("migrate of another data directory = exit %d\n%s; want a refusal naming the first", code, stderr)
	}
}

// signIn opens a dashboard session with key and returns its cookie.
func signIn(t *testing.T, base, key string) *http.Cookie {
	t.Helper()
	form := url.Values{"key": {key}}.Encode()
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "alidade_session" {
			return c
		}
	}
	t.Fatalf("sign-in = %d without a session cookie", resp.StatusCode)
	return nil
}

// sessionOn asks base for the session of cookie.
func sessionOn(t *testing.T, base string, cookie *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/session", nil)
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// pgQueryRow runs a query of one row on the database at dsn.
func pgQueryRow(t *testing.T, dsn, q string, args ...any) pgx.Row {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), q, args...)
}
