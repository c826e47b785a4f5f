package aesql_test

// Script-driven conformance suite for the SQL API dialect, in the style of
// Prometheus's promqltest.
//
// TestScripts starts one real Alidade server in-process on loopback over a
// real DuckDB data directory (the SQL API's row limit set to 1000, the query
// timeout to 5 s), and runs
// every testdata/*.test script against it over HTTP. Each script gets fresh
// projects of its own (created with the root key through POST
// /api/v1/projects), so scripts never see each other's data. Every query is
// sent to both SQL endpoints, POST /api/v1/sql and POST
// /client/v4/accounts/{account}/analytics_engine/sql, and both answers must
// match the expectation.
//
// # Script language
//
// A script is a sequence of commands. A command starts in column 0; the
// lines after it that are indented (start with a space or a tab) are its
// block, and their indentation (two spaces or one tab; any further spaces
// are kept) is removed. Blank lines and lines starting with '#' in column 0
// are comments (and end a block).
//
//	project <name>
//	    Switch to project <name> of this script, creating it on first use.
//	    Every script starts in project "main".
//
//	key <read|admin|write|public|none|root>
//	    Use this kind of key for the queries that follow (default read).
//
//	schema <dataset> <schema JSON>
//	    PUT the dataset's schema (admin key), e.g.
//	    schema reqs {"index":"endpoint","blobs":["url","method"],"doubles":["duration","status"]}
//
//	load <dataset> [xN]
//	    Write the points of the block, one JSON point object a line, as AE's
//	    writeDataPoint takes them ({"indexes":[..],"blobs":[..],"doubles":[..]},
//	    or the named form {"index":..,"fields":{..}}), with an optional
//	    "timestamp" (RFC 3339 or Unix ms; the server accepts the last 90 days
//	    and 5 minutes ahead, so use the ${T0...} macros below). A point may
//	    carry "_sample_interval": n; such a block is decoded by the driver and
//	    appended to the store directly (the HTTP API cannot set the sample
//	    interval), all other blocks go through POST
//	    /api/v1/datasets/<dataset>/points with the project's write key. With
//	    xN the block is written N times and ${i} is replaced by 0..N-1.
//
//	eval <SQL>                 rows must match in order (eval_ordered is the same)
//	eval_unordered <SQL>       rows must match as a multiset
//	    The SQL is the rest of the line; it may continue on the block's
//	    lines up to a line "----" (SQL on the following lines alone, with
//	    "eval" on a line of its own, is fine too). The rest of the block is
//	    the expectation: an optional first line "columns: name Type, name Type"
//	    (the result's meta, ClickHouse types; a name may contain spaces, the
//	    type is the last word), then the expected rows as ClickHouse's
//	    TabSeparated prints them: values separated by tabs, strings escaped
//	    (\t \n \\), floats in shortest form (3.5, 0.1, 1e21), 64-bit integers
//	    in decimal, DateTime as 2025-10-27 16:55:00, arrays as [1,2] or
//	    ['a','b'], NULL and non-finite floats of FORMAT JSON as \N. No row
//	    lines means the result must have no rows. Float columns compare with
//	    a relative tolerance of 1e-9, so expected floats may be written
//	    rounded to 10 significant digits.
//	    The driver asks for FORMAT JSON (the default), checks meta and "rows",
//	    and renders every value in TabSeparated style itself.
//
//	eval_formats <SQL>
//	    Like eval, and also runs the SQL with FORMAT JSONEachRow and FORMAT
//	    TabSeparated appended, and checks that both give the same rows (the
//	    TabSeparated body byte for byte as the driver renders, JSONEachRow
//	    values equal to FORMAT JSON's).
//
//	eval_error <SQL>
//	    The query must fail. Block lines: an optional "status: <code>" (400
//	    when absent) and substrings the error message must contain
//	    (case-insensitive). The error body must be {"error":{"code","message"}}.
//
//	eval_json <SQL>
//	    The 200 response body, in whatever FORMAT the SQL asks for (trailing
//	    newline trimmed), must equal the block's lines joined by newlines.
//
//	eval_contains <SQL>
//	    Every line of the block must be a substring of the 200 response body.
//
// Every request must also answer within 2 s: the scripts' queries read a
// handful of rows.
//
// # The ClickHouse backend
//
// TestClickHouseScripts (clickhouse_scripts_test.go, build tag clickhouse)
// runs the same scripts with every statement compiled by CompileClickHouse
// and run on a real clickhouse-server holding the same points. A statement
// whose answer on ClickHouse cannot be the expected one says so, with the
// reason, in a block line of its eval (anywhere in the block; TestScripts
// ignores it):
//
//	-- clickhouse: differs: <reason>
//
// TestClickHouseScripts fails on a statement that differs without the
// line, and on one with the line that no longer differs.
// TestClickHouseScriptsCurrent (clickhouse_current_test.go) does the same
// on a current ClickHouse (chDB), with its own lines:
//
//	-- clickhouse-current: differs: <reason>
//
// Macros, expanded in SQL, load lines and expectations:
//
//	${T0}            a fixed hour in the recent past: yesterday 10:00:00 UTC
//	${H0}            the start of the current hour (UTC); for queries with NOW()
//	${T0+90m}        offsets: any number of [+-]<n><unit>, unit ms s m h d
//	${T0-1d+2h:unix} formats: unix (seconds), ms, rfc3339, or a Go layout
//	                 (${T0:2006-01-02}); default "2006-01-02 15:04:05", except
//	                 in load lines, where it is RFC 3339
//	${T0@Asia/Tokyo} the time in a zone (Go's tz database), e.g. the wall
//	                 clock time a DateTime('Asia/Tokyo') shows;
//	                 ${T0@Asia/Tokyo~d:unix} the start of its day there
//	${repeat:N:TEXT} TEXT repeated N times (TEXT up to the closing brace)
//	${i}             in load xN blocks, the repetition number
//
// ${H0} moves with the clock: a run that straddles midnight UTC may fail the
// few checks of today().
//
// Failures name file:line, the query and the endpoint, with expected and got
// rows side by side (✗ marks the rows that differ; tabs show as ⇥).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the macros' zones, wherever the tests run

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

const scriptRootKey = "script-root-key-0123456789"

// scriptMaxRows is the SQL API row limit of the test server.
const scriptMaxRows = 1000

// scriptQueryTimeout is the test server's query timeout.
const scriptQueryTimeout = 5 * time.Second

// sqlEndpoints are the two paths of the SQL API; every query goes to both.
var sqlEndpoints = []string{"/api/v1/sql", "/client/v4/accounts/0123456789abcdef0123456789abcdef/analytics_engine/sql"}

// scriptEnv is one real server shared by all scripts.
type scriptEnv struct {
	url   string
	store *duckdb.Store
	t0    time.Time // yesterday 10:00 UTC
	h0    time.Time // the start of the current hour
}

func newScriptEnv(t *testing.T) *scriptEnv {
	t.Helper()
	se := servertest.Start(t, servertest.Options{RootKey: scriptRootKey, Server: func(o *server.Options) {
		o.MaxSQLRows = scriptMaxRows
		// Every script query takes milliseconds; a short timeout keeps a
		// runaway query from stalling the suite.
		o.QueryTimeout = scriptQueryTimeout
	}})
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	return &scriptEnv{
		url:   se.URL,
		store: se.Store,
		t0:    day.Add(-24*time.Hour + 10*time.Hour),
		h0:    now.Truncate(time.Hour),
	}
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.test scripts")
	}
	env := newScriptEnv(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".test")
		t.Run(name, func(t *testing.T) {
			s, err := parseScript(f)
			if err != nil {
				t.Fatal(err)
			}
			r := &scriptRun{t: t, env: env, file: f, name: name, projects: map[string]*scriptProject{}, keyKind: "read"}
			r.run(s)
		})
	}
}

// ---- parsing ----

type blockLine struct {
	line int
	text string
}

type command struct {
	line  int
	name  string
	arg   string      // the rest of the command line
	block []blockLine // the indented lines, indentation removed
	// differs holds, by backend name, the reason of a "-- clickhouse:
	// differs: ..." or "-- clickhouse-current: differs: ..." line (taken
	// out of block): the statement's answer on that ClickHouse backend is
	// not the expected one.
	differs map[string]string
}

func parseScript(path string) ([]command, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var cmds []command
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if strings.TrimSpace(l) == "" {
				continue
			}
			return nil, fmt.Errorf("%s:%d: indented line outside a command block: %q", path, i+1, l)
		}
		name, arg, _ := strings.Cut(l, " ")
		c := command{line: i + 1, name: name, arg: strings.TrimSpace(arg)}
		for i+1 < len(lines) && lines[i+1] != "" && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			bl := lines[i]
			// The indentation is two spaces or one tab; what follows it
			// (even more spaces) is the line's text.
			text, ok := strings.CutPrefix(bl, "  ")
			if !ok {
				text, ok = strings.CutPrefix(bl, "\t")
			}
			if !ok {
				text = strings.TrimLeft(bl, " \t")
			}
			if backend, a, ok := chAnnotated(text); ok {
				reason, ok := strings.CutPrefix(a, "differs:")
				if !ok || strings.TrimSpace(reason) == "" || c.differs[backend] != "" {
					return nil, fmt.Errorf("%s:%d: want one %q line with a reason", path, i+1, "-- "+backend+": differs: <reason>")
				}
				if c.differs == nil {
					c.differs = map[string]string{}
				}
				c.differs[backend] = strings.TrimSpace(reason)
				continue
			}
			c.block = append(c.block, blockLine{i + 1, text})
		}
		switch c.name {
		case "project", "key", "schema", "load", "eval", "eval_ordered", "eval_unordered", "eval_formats",
			"eval_error", "eval_json", "eval_contains":
		default:
			return nil, fmt.Errorf("%s:%d: unknown command %q", path, c.line, c.name)
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// chBackends are the ClickHouse backends a block line may be about:
// "-- clickhouse: " (18.16, TestClickHouseScripts) and "--
// clickhouse-current: " (current ClickHouse, TestClickHouseScriptsCurrent).
var chBackends = []string{"clickhouse", "clickhouse-current"}

// chAnnotated reads a block line about a ClickHouse backend: the
// backend's name and the rest of the line.
func chAnnotated(text string) (backend, rest string, ok bool) {
	for _, b := range chBackends {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(text), "-- "+b+": "); ok {
			return b, rest, true
		}
	}
	return "", "", false
}

// splitQuery separates an eval's SQL (the command line plus block lines up
// to "----") from its expectation.
func (c *command) splitQuery() (string, []blockLine) {
	for i, bl := range c.block {
		if strings.TrimSpace(bl.text) == "----" {
			parts := []string{}
			if c.arg != "" {
				parts = append(parts, c.arg)
			}
			for _, q := range c.block[:i] {
				parts = append(parts, q.text)
			}
			return strings.Join(parts, "\n"), c.block[i+1:]
		}
	}
	return c.arg, c.block
}

// ---- running ----

type scriptProject struct {
	id   int64
	keys map[string]string
}

type scriptRun struct {
	t        *testing.T
	env      *scriptEnv
	file     string
	name     string
	projects map[string]*scriptProject
	cur      *scriptProject
	keyKind  string

	// backend, when set, answers the SQL statements instead of the
	// server's two endpoints (the ClickHouse backend), and loaded is
	// told of every load.
	backend *scriptBackend
	// failures, when not nil, collects the failures of a statement
	// instead of reporting them (a statement expected to differ).
	failures *[]string
}

// scriptBackend is another backend of the SQL API for the scripts.
type scriptBackend struct {
	name   string                                   // shown as the endpoint
	query  func(r *scriptRun, sql string) sqlAnswer // one statement
	loaded func(r *scriptRun, dataset string)       // after a load
}

// errorf reports a failure of the statement being checked.
func (r *scriptRun) errorf(format string, args ...any) {
	r.t.Helper()
	if r.failures != nil {
		*r.failures = append(*r.failures, fmt.Sprintf(format, args...))
		return
	}
	r.t.Errorf(format, args...)
}

func (r *scriptRun) run(cmds []command) {
	r.useProject("main")
	for _, c := range cmds {
		start := time.Now()
		r.exec(c)
		if d := time.Since(start); d > 2*slowQuery {
			r.t.Logf("%s: %s took %v (both endpoints)", r.where(c.line), c.name, d.Round(time.Millisecond))
		}
	}
}

func (r *scriptRun) where(line int) string { return fmt.Sprintf("%s:%d", r.file, line) }

func (r *scriptRun) useProject(name string) {
	if p, ok := r.projects[name]; ok {
		r.cur = p
		return
	}
	full := fmt.Sprintf("%s.%s.%d", r.name, name, time.Now().UnixNano())
	var resp struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	code, body := r.do("POST", "/api/v1/projects", scriptRootKey, []byte(fmt.Sprintf(`{"name":%q}`, full)), nil)
	if code != 201 {
		r.t.Fatalf("create project %s = %d %s", full, code, body)
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		r.t.Fatalf("create project: %v", err)
	}
	p := &scriptProject{id: resp.ID, keys: resp.Keys}
	r.projects[name] = p
	r.cur = p
}

func (r *scriptRun) do(method, path, key string, body []byte, header map[string]string) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.env.url+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, data
}

func (r *scriptRun) queryKey() string {
	switch r.keyKind {
	case "none":
		return ""
	case "root":
		return scriptRootKey
	}
	return r.cur.keys[r.keyKind]
}

func (r *scriptRun) exec(c command) {
	switch c.name {
	case "project":
		if c.arg == "" {
			r.t.Fatalf("%s: project needs a name", r.where(c.line))
		}
		r.useProject(c.arg)
	case "key":
		switch c.arg {
		case "read", "admin", "write", "public", "none", "root":
			r.keyKind = c.arg
		default:
			r.t.Fatalf("%s: unknown key kind %q", r.where(c.line), c.arg)
		}
	case "schema":
		ds, js, ok := strings.Cut(c.arg, " ")
		if !ok {
			r.t.Fatalf("%s: schema <dataset> <json>", r.where(c.line))
		}
		code, body := r.do("PUT", "/api/v1/datasets/"+ds+"/schema", r.cur.keys["admin"], []byte(js), nil)
		if code != 200 {
			r.t.Fatalf("%s: PUT schema of %s = %d %s", r.where(c.line), ds, code, body)
		}
	case "load":
		r.load(c)
		if r.backend != nil {
			r.backend.loaded(r, strings.Fields(c.arg)[0])
		}
	default:
		r.eval(c)
	}
}

var loadRepeat = regexp.MustCompile(`^x(\d+)$`)

func (r *scriptRun) load(c command) {
	fields := strings.Fields(c.arg)
	if len(fields) == 0 || len(fields) > 2 {
		r.t.Fatalf("%s: load <dataset> [xN]", r.where(c.line))
	}
	ds, n := fields[0], 1
	if len(fields) == 2 {
		m := loadRepeat.FindStringSubmatch(fields[1])
		if m == nil {
			r.t.Fatalf("%s: load: bad repeat %q; want xN", r.where(c.line), fields[1])
		}
		n, _ = strconv.Atoi(m[1])
	}
	var lines []blockLine
	for i := 0; i < n; i++ {
		for _, bl := range c.block {
			text := strings.ReplaceAll(bl.text, "${i}", strconv.Itoa(i))
			text, err := r.expand(text, true)
			if err != nil {
				r.t.Fatalf("%s: %v", r.where(bl.line), err)
			}
			lines = append(lines, blockLine{bl.line, text})
		}
	}
	if len(lines) == 0 {
		r.t.Fatalf("%s: load without points", r.where(c.line))
	}
	// Points with a sample interval go to the store directly.
	var weights []uint32
	sampled := false
	for i, l := range lines {
		dec := json.NewDecoder(strings.NewReader(l.text))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			r.t.Fatalf("%s: load: %v in %s", r.where(l.line), err, l.text)
		}
		w := uint32(1)
		if v, ok := obj["_sample_interval"]; ok {
			sampled = true
			num, err := strconv.ParseUint(fmt.Sprint(v), 10, 32)
			if err != nil || num == 0 {
				r.t.Fatalf("%s: load: bad _sample_interval %v", r.where(l.line), v)
			}
			w = uint32(num)
			delete(obj, "_sample_interval")
			data, _ := json.Marshal(obj)
			lines[i].text = string(data)
		}
		weights = append(weights, w)
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.text
	}
	body := []byte("[" + strings.Join(texts, ",\n") + "]")
	if !sampled {
		code, resp := r.do("POST", "/api/v1/datasets/"+ds+"/points", r.cur.keys["write"], body, map[string]string{"Content-Type": "application/json"})
		var wa struct {
			Accepted int `json:"accepted"`
		}
		json.Unmarshal(resp, &wa)
		if code != 200 || wa.Accepted != len(lines) {
			r.t.Fatalf("%s: load %s = %d %s; want all %d points accepted", r.where(c.line), ds, code, resp, len(lines))
		}
		return
	}
	now := time.Now()
	pts, rej, err := point.Decode(body, point.FormatJSON, point.DecodeOptions{
		Dataset:      ds,
		Schema:       func(d string) *point.Schema { return r.env.store.Schema(r.cur.id, d) },
		Now:          now.UnixMilli(),
		MinTimestamp: now.Add(-90 * 24 * time.Hour).UnixMilli(),
		MaxTimestamp: now.Add(5 * time.Minute).UnixMilli(),
	})
	if err != nil || len(rej) > 0 || len(pts) != len(lines) {
		r.t.Fatalf("%s: load %s: decode: %v %+v", r.where(c.line), ds, err, rej)
	}
	for i := range pts {
		pts[i].Dataset = ds
		pts[i].SampleInterval = weights[i]
	}
	if err := r.env.store.Append(context.Background(), []store.Batch{{Project: r.cur.id, Points: pts}}); err != nil {
		r.t.Fatalf("%s: load %s: append: %v", r.where(c.line), ds, err)
	}
}

// ---- macros ----

var macroRE = regexp.MustCompile(`\$\{([^}]*)\}`)
var timeMacroRE = regexp.MustCompile(`^(T0|H0)((?:[+-]\d+(?:ms|s|m|h|d))*)(?:@([A-Za-z0-9_/+-]+))?(~d)?(?::(.*))?$`)
var offsetRE = regexp.MustCompile(`([+-])(\d+)(ms|s|m|h|d)`)

func (r *scriptRun) expand(s string, inLoad bool) (string, error) {
	var err error
	out := macroRE.ReplaceAllStringFunc(s, func(m string) string {
		body := m[2 : len(m)-1]
		if rest, ok := strings.CutPrefix(body, "repeat:"); ok {
			ns, text, ok := strings.Cut(rest, ":")
			n, e := strconv.Atoi(ns)
			if !ok || e != nil || n < 0 {
				err = fmt.Errorf("bad macro %s; want ${repeat:N:TEXT}", m)
				return m
			}
			return strings.Repeat(text, n)
		}
		tm := timeMacroRE.FindStringSubmatch(body)
		if tm == nil {
			err = fmt.Errorf("unknown macro %s", m)
			return m
		}
		t := r.env.t0
		if tm[1] == "H0" {
			t = r.env.h0
		}
		for _, o := range offsetRE.FindAllStringSubmatch(tm[2], -1) {
			n, _ := strconv.ParseInt(o[2], 10, 64)
			unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[o[3]]
			d := time.Duration(n) * unit
			if o[1] == "-" {
				d = -d
			}
			t = t.Add(d)
		}
		if tm[3] != "" {
			loc, e := time.LoadLocation(tm[3])
			if e != nil {
				err = fmt.Errorf("macro %s: %v", m, e)
				return m
			}
			t = t.In(loc)
			if tm[4] != "" {
				t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
			}
		}
		switch layout := tm[5]; layout {
		case "":
			if inLoad {
				return t.Format(time.RFC3339Nano)
			}
			return t.Format("2006-01-02 15:04:05")
		case "unix":
			return strconv.FormatInt(t.Unix(), 10)
		case "ms":
			return strconv.FormatInt(t.UnixMilli(), 10)
		case "rfc3339":
			return t.Format(time.RFC3339Nano)
		default:
			return t.Format(layout)
		}
	})
	return out, err
}

// ---- evaluation ----

type sqlAnswer struct {
	status int
	body   []byte
	took   time.Duration
}

// slowQuery is how long one request of a script may take: every query of
// the scripts reads a handful of rows and answers in milliseconds.
const slowQuery = 2 * time.Second

func (r *scriptRun) query(path, sql string) sqlAnswer {
	start := time.Now()
	if r.backend != nil {
		a := r.backend.query(r, sql)
		a.took = time.Since(start)
		return a
	}
	code, body := r.do("POST", path, r.queryKey(), []byte(sql), nil)
	return sqlAnswer{code, body, time.Since(start)}
}

func (r *scriptRun) eval(c command) {
	r.t.Helper()
	rawSQL, expect := c.splitQuery()
	if strings.TrimSpace(rawSQL) == "" {
		r.t.Fatalf("%s: %s without SQL", r.where(c.line), c.name)
	}
	sql, err := r.expand(rawSQL, false)
	if err != nil {
		r.t.Fatalf("%s: %v", r.where(c.line), err)
	}
	for i := range expect {
		if expect[i].text, err = r.expand(expect[i].text, false); err != nil {
			r.t.Fatalf("%s: %v", r.where(expect[i].line), err)
		}
	}
	shown := sql
	if len(shown) > 300 {
		shown = shown[:300] + fmt.Sprintf("... (%d bytes)", len(sql))
	}
	endpoints := sqlEndpoints
	if r.backend != nil {
		endpoints = []string{r.backend.name}
		if reason := c.differs[r.backend.name]; reason != "" {
			var failures []string
			r.failures = &failures
			defer func() {
				r.failures = nil
				if len(failures) == 0 {
					r.t.Errorf("%s: %s\n  query: %s\n  answers as expected on %s, but a %q line says it differs (%s): remove the line", r.where(c.line), c.name, shown, r.backend.name, "-- "+r.backend.name+": differs:", reason)
				} else if testing.Verbose() {
					r.t.Logf("%s: differs on %s as its annotation says (%s): %s", r.where(c.line), r.backend.name, reason, failures[0])
				}
			}()
		}
	}
	for _, ep := range endpoints {
		a := r.query(ep, sql)
		where := fmt.Sprintf("%s: %s\n  query: %s\n  endpoint: %s", r.where(c.line), c.name, shown, ep)
		if a.took > slowQuery {
			r.errorf("%s\n  took %v, over the %v every script query should answer in", where, a.took.Round(time.Millisecond), slowQuery)
		}
		switch c.name {
		case "eval", "eval_ordered", "eval_unordered", "eval_formats":
			r.checkRows(where, c, sql, ep, a, expect)
		case "eval_error":
			r.checkError(where, a, expect)
		case "eval_json":
			want := make([]string, len(expect))
			for i, e := range expect {
				want[i] = e.text
			}
			got := strings.TrimSuffix(string(a.body), "\n")
			if a.status != 200 || got != strings.Join(want, "\n") {
				r.errorf("%s\n  status %d\n  want body: %s\n  got body:  %s", where, a.status, strings.Join(want, "\n"), got)
			}
		case "eval_contains":
			if a.status != 200 {
				r.errorf("%s\n  status %d, want 200: %s", where, a.status, a.body)
				continue
			}
			for _, e := range expect {
				if !strings.Contains(string(a.body), e.text) {
					r.errorf("%s (line %d)\n  body lacks %q\n  body: %s", where, e.line, e.text, a.body)
				}
			}
		}
	}
}

func (r *scriptRun) checkError(where string, a sqlAnswer, expect []blockLine) {
	wantStatus := 400
	var subs []blockLine
	for _, e := range expect {
		if s, ok := strings.CutPrefix(e.text, "status:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				r.t.Fatalf("%s: bad status line %q", r.where(e.line), e.text)
			}
			wantStatus = n
			continue
		}
		subs = append(subs, e)
	}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if a.status != wantStatus {
		r.errorf("%s\n  status %d, want %d\n  body: %s", where, a.status, wantStatus, a.body)
		return
	}
	if err := json.Unmarshal(a.body, &eb); err != nil || eb.Error.Message == "" || eb.Error.Code == "" {
		r.errorf("%s\n  error body is not {\"error\":{\"code\",\"message\"}}: %s", where, a.body)
		return
	}
	for _, s := range subs {
		if !strings.Contains(strings.ToLower(eb.Error.Message), strings.ToLower(s.text)) {
			r.errorf("%s (line %d)\n  error message lacks %q\n  message: %s", where, s.line, s.text, eb.Error.Message)
		}
	}
}

type column struct{ Name, Type string }

// parseColumns parses "name Type, name Type" (commas inside parentheses
// belong to the name or the type).
func parseColumns(s string) ([]column, error) {
	var items []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			inQuote = !inQuote
		case inQuote:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == ',' && depth == 0:
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	items = append(items, s[start:])
	var cols []column
	for _, it := range items {
		it = strings.TrimSpace(it)
		sp := strings.LastIndex(it, " ")
		if sp <= 0 {
			return nil, fmt.Errorf("column %q: want \"name Type\"", it)
		}
		cols = append(cols, column{strings.TrimSpace(it[:sp]), it[sp+1:]})
	}
	return cols, nil
}

func (r *scriptRun) checkRows(where string, c command, sql, ep string, a sqlAnswer, expect []blockLine) {
	if a.status != 200 {
		r.errorf("%s\n  status %d, want 200\n  body: %s", where, a.status, a.body)
		return
	}
	cols, rows, err := decodeJSONResult(a.body)
	if err != nil {
		r.errorf("%s\n  bad FORMAT JSON body: %v\n  body: %s", where, err, a.body)
		return
	}
	var wantCols []column
	var wantRows []string
	for i, e := range expect {
		if s, ok := strings.CutPrefix(e.text, "columns:"); ok && i == 0 {
			if wantCols, err = parseColumns(strings.TrimSpace(s)); err != nil {
				r.t.Fatalf("%s: %v", r.where(e.line), err)
			}
			continue
		}
		wantRows = append(wantRows, e.text)
	}
	if wantCols != nil && !slices.Equal(wantCols, cols) {
		r.errorf("%s\n  columns: want %s\n           got  %s", where, fmtCols(wantCols), fmtCols(cols))
	}
	gotRows := make([]string, len(rows))
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j], err = renderTSV(cols[j].Type, v, false)
			if err != nil {
				r.errorf("%s\n  row %d column %s: %v", where, i+1, cols[j].Name, err)
			}
		}
		gotRows[i] = strings.Join(cells, "\t")
	}
	w, g := wantRows, gotRows
	if c.name == "eval_unordered" {
		w, g = slices.Clone(wantRows), slices.Clone(gotRows)
		sort.Strings(w)
		sort.Strings(g)
	}
	if !rowsMatch(cols, w, g) {
		r.errorf("%s\n%s", where, diffRows(w, g))
	}
	if c.name == "eval_formats" {
		r.checkFormats(where, sql, ep, cols, rows, gotRows)
	}
}

func fmtCols(cs []column) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

// rowsMatch compares rendered rows, floats with a relative tolerance.
func rowsMatch(cols []column, want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] == got[i] {
			continue
		}
		wc, gc := strings.Split(want[i], "\t"), strings.Split(got[i], "\t")
		if len(wc) != len(gc) || len(gc) != len(cols) {
			return false
		}
		for j := range wc {
			if wc[j] == gc[j] {
				continue
			}
			if !isFloatType(cols[j].Type) {
				return false
			}
			wf, err1 := strconv.ParseFloat(wc[j], 64)
			gf, err2 := strconv.ParseFloat(gc[j], 64)
			if err1 != nil || err2 != nil || math.Abs(wf-gf) > 1e-9*math.Max(1, math.Abs(wf)) {
				return false
			}
		}
	}
	return true
}

func isFloatType(t string) bool {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Nullable("), ")")
	return t == "Float64" || t == "Float32"
}

func diffRows(want, got []string) string {
	var b strings.Builder
	show := func(s string) string { return strings.ReplaceAll(s, "\t", " ⇥ ") }
	fmt.Fprintf(&b, "  want %d rows, got %d rows\n", len(want), len(got))
	n := max(len(want), len(got))
	for i := 0; i < n; i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := "  "
		if i >= len(want) || i >= len(got) || w != g {
			mark = "✗ "
		}
		switch {
		case i >= len(want):
			fmt.Fprintf(&b, "  %s%3d want: (none)\n       got:  %s\n", mark, i+1, show(g))
		case i >= len(got):
			fmt.Fprintf(&b, "  %s%3d want: %s\n       got:  (none)\n", mark, i+1, show(w))
		case w == g:
			fmt.Fprintf(&b, "  %s%3d       %s\n", mark, i+1, show(w))
		default:
			fmt.Fprintf(&b, "  %s%3d want: %s\n       got:  %s\n", mark, i+1, show(w), show(g))
		}
	}
	return b.String()
}

// checkFormats runs the query again in JSONEachRow and TabSeparated.
func (r *scriptRun) checkFormats(where, sql, ep string, cols []column, rows [][]json.RawMessage, tsvRows []string) {
	a := r.query(ep, sql+"\nFORMAT TabSeparated")
	wantTSV := ""
	for _, row := range tsvRows {
		wantTSV += row + "\n"
	}
	if a.status != 200 || string(a.body) != wantTSV {
		r.errorf("%s\n  FORMAT TabSeparated = %d\n%s", where, a.status, diffRows(strings.Split(wantTSV, "\n"), strings.Split(string(a.body), "\n")))
	}
	a = r.query(ep, sql+"\nFORMAT JSONEachRow")
	if a.status != 200 {
		r.errorf("%s\n  FORMAT JSONEachRow = %d %s", where, a.status, a.body)
		return
	}
	var got [][]json.RawMessage
	for _, l := range strings.Split(strings.TrimSuffix(string(a.body), "\n"), "\n") {
		if l == "" && len(rows) == 0 {
			break
		}
		names, vals, err := decodeOrderedObject(json.NewDecoder(strings.NewReader(l)))
		if err != nil {
			r.errorf("%s\n  FORMAT JSONEachRow line %q: %v", where, l, err)
			return
		}
		for i := range names {
			if i >= len(cols) || names[i] != cols[i].Name {
				r.errorf("%s\n  FORMAT JSONEachRow keys %v, want the columns %s", where, names, fmtCols(cols))
				return
			}
		}
		got = append(got, vals)
	}
	if len(got) != len(rows) {
		r.errorf("%s\n  FORMAT JSONEachRow has %d rows, FORMAT JSON %d", where, len(got), len(rows))
		return
	}
	for i := range rows {
		for j := range rows[i] {
			if !bytes.Equal(rows[i][j], got[i][j]) {
				r.errorf("%s\n  row %d column %s: FORMAT JSON %s, JSONEachRow %s", where, i+1, cols[j].Name, rows[i][j], got[i][j])
			}
		}
	}
}

// decodeJSONResult reads a FORMAT JSON body keeping the columns' order.
func decodeJSONResult(body []byte) ([]column, [][]json.RawMessage, error) {
	var top struct {
		Meta []column          `json:"meta"`
		Data []json.RawMessage `json:"data"`
		Rows *int              `json:"rows"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, err
	}
	if top.Meta == nil || top.Rows == nil {
		return nil, nil, fmt.Errorf("no meta or rows")
	}
	if *top.Rows != len(top.Data) {
		return nil, nil, fmt.Errorf("\"rows\" is %d for %d data rows", *top.Rows, len(top.Data))
	}
	var out [][]json.RawMessage
	for i, d := range top.Data {
		names, vals, err := decodeOrderedObject(json.NewDecoder(bytes.NewReader(d)))
		if err != nil {
			return nil, nil, fmt.Errorf("data row %d: %v", i+1, err)
		}
		if len(names) != len(top.Meta) {
			return nil, nil, fmt.Errorf("data row %d has %d values for %d columns", i+1, len(names), len(top.Meta))
		}
		for j, n := range names {
			if n != top.Meta[j].Name {
				return nil, nil, fmt.Errorf("data row %d key %d is %q, meta says %q", i+1, j, n, top.Meta[j].Name)
			}
		}
		out = append(out, vals)
	}
	return top.Meta, out, nil
}

func decodeOrderedObject(dec *json.Decoder) ([]string, []json.RawMessage, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("want an object, got %v", tok)
	}
	var names []string
	var vals []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		vals = append(vals, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return names, vals, nil
}

// ---- ClickHouse TabSeparated rendering of FORMAT JSON values ----

func unwrapType(t string) string {
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(t, w) && strings.HasSuffix(t, ")") {
			t = t[len(w) : len(t)-1]
		}
	}
	return t
}

func renderTSV(typ string, raw json.RawMessage, inArray bool) (string, error) {
	if string(raw) == "null" {
		if inArray {
			return "NULL", nil
		}
		return `\N`, nil
	}
	t := unwrapType(typ)
	if elem, ok := strings.CutPrefix(t, "Array("); ok {
		elem = strings.TrimSuffix(elem, ")")
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return "", fmt.Errorf("%s value %s: %v", typ, raw, err)
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, err := renderTSV(elem, it, true)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	}
	switch {
	case t == "Float64" || t == "Float32":
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("%s value %s is not a JSON number", typ, raw)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return "", err
		}
		return chFloat(f), nil
	case t == "Bool":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", fmt.Errorf("%s value %s is not a JSON boolean", typ, raw)
		}
		return strconv.FormatBool(b), nil
	case strings.HasPrefix(t, "UInt") || strings.HasPrefix(t, "Int"):
		big := t == "UInt64" || t == "Int64" || strings.HasSuffix(t, "128") || strings.HasSuffix(t, "256")
		if big {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("%s value %s is not a JSON string (64-bit integers are quoted)", typ, raw)
			}
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				if _, err := strconv.ParseUint(s, 10, 64); err != nil {
					return "", fmt.Errorf("%s value %q is not an integer", typ, s)
				}
			}
			return s, nil
		}
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("%s value %s is not a JSON number", typ, raw)
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			return "", fmt.Errorf("%s value %s is not an integer", typ, n)
		}
		return string(n), nil
	default: // String, DateTime, Date, ...
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s value %s is not a JSON string", typ, raw)
		}
		if inArray {
			return "'" + tsvEscape(s, true) + "'", nil
		}
		return tsvEscape(s, false), nil
	}
}

func tsvEscape(s string, quoted bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == 0:
			b.WriteString(`\0`)
		case r == '\'' && quoted:
			b.WriteString(`\'`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// chFloat prints a float as ClickHouse does: the shortest digits that read
// back the same, in plain decimal from 1e-6 up to 1e21 and in exponent form
// (1e21, 1.5e-7) outside, like double-conversion's ToShortest with
// decimal_in_shortest_low -6 and high 21.
func chFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±xx
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	point := exp + 1 // position of the decimal point in digits
	var s string
	if point > -6 && point <= 21 {
		switch {
		case point <= 0:
			s = "0." + strings.Repeat("0", -point) + digits
		case point >= len(digits):
			s = digits + strings.Repeat("0", point-len(digits))
		default:
			s = digits[:point] + "." + digits[point:]
		}
	} else {
		s = digits[:1]
		if len(digits) > 1 {
			s += "." + digits[1:]
		}
		s += "e" + strconv.Itoa(exp)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// TestChFloat pins the driver's own float rendering.
func TestChFloat(t *testing.T) {
	for f, want := range map[float64]string{
		3.5: "3.5", 0.1: "0.1", 1234567: "1234567", 1e20: "100000000000000000000", 1e21: "1e21",
		0.000001: "0.000001", 1e-7: "1e-7", 1.5e-7: "1.5e-7", -2.25: "-2.25", 100: "100", 1.0 / 3: "0.3333333333333333",
	} {
		if got := chFloat(f); got != want {
			t.Errorf("chFloat(%v) = %q; want %q", f, got, want)
		}
	}
}
