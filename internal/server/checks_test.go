package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
)

type checkRun struct {
	ID                int64
	Type              string
	At                time.Time
	OK                bool
	Status            int
	Error             string
	SizeBytes         int64
	Unavailable       bool
	Timings           map[string]float64
	CertExpiresInDays *float64
}

type checkItem struct {
	ID                  int64
	Name, Type, URL     string
	Every, State        string
	Unavailable         string
	ConsecutiveFailures int
	LastRun             *checkRun
}

// checkSite is a small site on loopback: a fast health endpoint, a slow
// one, and one that fails while fail is set.
func checkSite(t *testing.T, fail *atomic.Bool) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprint(w, `{"status":"ok"}`)
		case "/slow":
			time.Sleep(120 * time.Millisecond)
			fmt.Fprint(w, "ok")
		case "/flaky":
			if fail.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "maintenance")
				return
			}
			fmt.Fprint(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (e *env) check(key string, id int64) checkItem {
	e.t.Helper()
	var c checkItem
	if code := e.call("GET", fmt.Sprintf("/api/v1/checks/%d", id), key, nil, nil, &c); code != 200 {
		e.t.Fatalf("GET check %d = %d", id, code)
	}
	return c
}

func (e *env) runCheck(id int64) checkRun {
	e.t.Helper()
	var out struct{ Run checkRun }
	if code := e.call("POST", fmt.Sprintf("/api/v1/checks/%d/run", id), e.keys[meta.KindAdmin], nil, nil, &out); code != 200 {
		e.t.Fatalf("POST run of check %d = %d", id, code)
	}
	return out.Run
}

// An http check on a fake clock against a loopback site: pending, up,
// down with the broken expectation named, twice — and the alert rule
// "failed twice in a row" fires through the real alert manager — then
// recovery, which resolves it; every run a point of the checks dataset.
func TestHTTPCheckUpDownRecovery(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	var now atomic.Int64
	now.Store(base.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()).UTC() }
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = clock }})
	admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	var fail atomic.Bool
	site := checkSite(t, &fail)

	body := fmt.Sprintf(`{"name":"api health","type":"http","url":%q,"every":"10s","timeout":"5s","method":"GET","expect":{"status":[200],"contains":"ok","maxMs":5000}}`, site.URL+"/flaky")
	if code := e.call("POST", "/api/v1/checks", read, body, nil, nil); code != 403 {
		t.Fatalf("read key POST = %d; want 403", code)
	}
	var raw map[string]json.RawMessage
	if code := e.call("POST", "/api/v1/checks", admin, body, nil, &raw); code != 201 || string(raw["state"]) != `"pending"` || string(raw["lastRun"]) != "null" ||
		string(raw["every"]) != `"10s"` || string(raw["expect"]) != `{"status":[200],"contains":"ok","maxMs":5000}` || string(raw["method"]) != `"GET"` {
		t.Fatalf("POST = %d %s", code, raw)
	}
	rule := `{"name":"api health failed twice in a row","query":{"dataset":"checks","range":"10s",
		"filter":[{"field":"check","op":"=","value":"api health"}],"aggregations":{"f":{"type":"max","field":"consecutive_failures"}}},
		"condition":{"op":">=","value":2},"for":"0s","every":"10s","noData":"keep"}`
	// The rule is made (and so evaluated) a second after each run: its
	// window [now − 10s, now) then holds that run and not the one before,
	// whether the server's loops or the test's ticks get there first.
	var a alertRule
	now.Add(1000)
	if code := e.call("POST", "/api/v1/alerts", admin, rule, nil, &a); code != 201 {
		t.Fatalf("POST alert = %d", code)
	}
	now.Add(-1000)
	step := func(d time.Duration) (checkItem, alertRule) {
		t.Helper()
		now.Add(d.Milliseconds())
		e.srv.TickChecks(context.Background(), clock())
		c := e.check(read, 1)
		now.Add(1000)
		e.srv.TickAlerts(context.Background(), clock())
		now.Add(-1000)
		return c, e.alert(read, a.ID)
	}
	c, al := step(0)
	if c.State != "up" || c.LastRun == nil || !c.LastRun.OK || c.LastRun.Status != 200 || c.LastRun.Error != "" || c.LastRun.SizeBytes != 2 ||
		c.LastRun.Timings["total"] <= 0 || c.LastRun.CertExpiresInDays != nil || al.State != "ok" {
		t.Fatalf("up: %+v %+v; alert %+v", c, c.LastRun, al)
	}
	if _, ok := c.LastRun.Timings["tls"]; ok {
		t.Errorf("a plain http run has tls timing: %v", c.LastRun.Timings)
	}
	fail.Store(true)
	c, al = step(10 * time.Second)
	if c.State != "down" || c.LastRun.Error != "status 503, expected 200" || c.ConsecutiveFailures != 1 || al.State != "ok" {
		t.Fatalf("down once: %+v %+v; alert %+v", c, c.LastRun, al)
	}
	c, al = step(10 * time.Second)
	if c.State != "down" || c.ConsecutiveFailures != 2 || al.State != "firing" || al.Value == nil || *al.Value != 2 {
		t.Fatalf("down twice: %+v; alert %+v", c, al)
	}
	fail.Store(false)
	c, al = step(10 * time.Second)
	if c.State != "up" || c.ConsecutiveFailures != 0 || !c.LastRun.OK || al.State != "resolved" {
		t.Fatalf("recovered: %+v; alert %+v", c, al)
	}
	// Not due a millisecond early.
	now.Add(10*time.Second.Milliseconds() - 1)
	e.srv.TickChecks(context.Background(), clock())
	var runs struct{ Runs []checkRun }
	if code := e.call("GET", "/api/v1/checks/1/runs?limit=3", read, nil, nil, &runs); code != 200 || len(runs.Runs) != 3 {
		t.Fatalf("GET runs = %d %+v", code, runs)
	}
	if r := runs.Runs; r[0].ID != 4 || !r[0].OK || r[1].Error != "status 503, expected 200" || r[2].ID != 2 || !r[0].At.Equal(base.Add(30*time.Second)) {
		t.Fatalf("runs newest first: %+v", r)
	}
	rows := e.sql(read, "SELECT check, type, ok, failed, status, consecutive_failures, error FROM checks ORDER BY timestamp")
	if len(rows) != 4 {
		t.Fatalf("checks dataset: %v", rows)
	}
	checkRow(t, "run 3", rows[2], map[string]any{"check": "api health", "type": "http", "ok": 0, "failed": 1, "status": 503, "consecutive_failures": 2,
		"error": "status 503, expected 200"})
	checkRow(t, "run 4", rows[3], map[string]any{"ok": 1, "status": 200, "consecutive_failures": 0})
	// The README's uptime query.
	row := e.one("SELECT check, 100 * avg(ok) AS uptime, quantile(0.95)(duration) AS p95 FROM checks WHERE timestamp > NOW() - INTERVAL '7' DAY GROUP BY check")
	checkRow(t, "uptime", row, map[string]any{"check": "api health", "uptime": 50})
}

// selfSignedCert is a certificate for 127.0.0.1 that expires at notAfter.
func selfSignedCert(t *testing.T, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "alidade checks test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// The API: fields named in 400s, runs asked for now (slow, refused, a
// self-signed certificate's expiry), page checks unavailable without
// Lighthouse, another project's 404s, delete.
func TestChecksAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	var fail atomic.Bool
	site := checkSite(t, &fail)
	for _, c := range []struct{ body, want string }{
		{`{"name":"x","type":"http","url":"https://a.example/","every":"5s"}`, "check: every: is 5s; for a http check it must be from 10s to 7d"},
		{`{"name":"x","type":"page","url":"https://a.example/","every":"10m"}`, "check: every: is 10m; for a page check it must be from 1h to 7d"},
		{`{"name":"x","type":"http","url":"file:///etc/passwd"}`, "check: url: must be an http or https URL"},
		{`{"name":"x","type":"http","url":"https://a.example/","expect":{"status":[200,999]}}`, "check: expect.status[1]:"},
		{`{"name":"x","type":"ping","url":"https://a.example/"}`, "check: type: is required"},
		{`{"name":"x","type":"page","url":"https://a.example/","device":"watch"}`, "check: device:"},
	} {
		var ae struct {
			Error struct{ Code, Message string }
		}
		if code := e.call("POST", "/api/v1/checks", admin, c.body, nil, &ae); code != 400 || ae.Error.Code != "bad_check" || !strings.HasPrefix(ae.Error.Message, c.want) {
			t.Errorf("POST %s = %d %+v; want 400 %q", c.body, code, ae.Error, c.want)
		}
	}
	create := func(body string) checkItem {
		t.Helper()
		var c checkItem
		if code := e.call("POST", "/api/v1/checks", admin, body, nil, &c); code != 201 {
			t.Fatalf("POST %s = %d", body, code)
		}
		return c
	}
	slow := create(fmt.Sprintf(`{"name":"slow","type":"http","url":%q,"every":"1m","expect":{"maxMs":50}}`, site.URL+"/slow"))
	if r := e.runCheck(slow.ID); r.OK || !strings.HasPrefix(r.Error, "took ") || !strings.HasSuffix(r.Error, " ms > 50") || r.Status != 200 {
		t.Errorf("slow run: %+v", r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	refused := create(fmt.Sprintf(`{"name":"refused","type":"http","url":"http://%s/"}`, closed))
	if r := e.runCheck(refused.ID); r.OK || r.Error != "connection refused by "+closed || r.Status != 0 {
		t.Errorf("refused run: %+v", r)
	}
	if c := e.check(read, refused.ID); c.State != "down" || c.LastRun == nil || c.LastRun.Error != "connection refused by "+closed {
		t.Errorf("refused check: %+v", c)
	}

	// A self-signed certificate that expires in 12 days and an hour.
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{selfSignedCert(t, time.Now().Add(12*24*time.Hour+time.Hour))}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	secure := create(fmt.Sprintf(`{"name":"tls strict","type":"http","url":%q}`, ts.URL))
	if r := e.runCheck(secure.ID); r.OK || !strings.Contains(r.Error, "certificate signed by unknown authority") || r.CertExpiresInDays != nil {
		t.Errorf("strict TLS run: %+v", r)
	}
	insecure := create(fmt.Sprintf(`{"name":"tls self-signed","type":"http","url":%q,"insecure":true}`, ts.URL))
	r := e.runCheck(insecure.ID)
	if _, ok := r.Timings["tls"]; !r.OK || r.CertExpiresInDays == nil || *r.CertExpiresInDays != 12 || !ok {
		t.Errorf("self-signed run: %+v (cert days %v)", r, r.CertExpiresInDays)
	}
	// A new check also runs at once from the server's loop: take the latest point.
	row := e.one(fmt.Sprintf("SELECT cert, cert_days, tls > 0 AS tls FROM checks WHERE check_id = '%d' ORDER BY timestamp DESC LIMIT 1", insecure.ID))
	checkRow(t, "cert point", row, map[string]any{"cert": 1, "cert_days": 12, "tls": 1})

	// No Lighthouse here: page checks are unavailable and say why.
	page := create(`{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h","device":"mobile"}`)
	if page.State != "unavailable" || !strings.Contains(page.Unavailable, "lighthouse") {
		t.Errorf("page check: %+v", page)
	}
	var pr struct{ Run map[string]any }
	if code := e.call("POST", fmt.Sprintf("/api/v1/checks/%d/run", page.ID), admin, nil, nil, &pr); code != 200 || pr.Run["ok"] != false ||
		pr.Run["error"] != checks.NoRunnerWhy || pr.Run["device"] != "mobile" || pr.Run["unavailable"] != true {
		t.Errorf("page run = %d %v", code, pr.Run)
	}
	if code := e.call("GET", fmt.Sprintf("/api/v1/checks/%d/runs/%d/report", insecure.ID, r.ID), read, nil, nil, nil); code != 404 {
		t.Errorf("an http run's report = %d; want 404", code)
	}
	var list struct{ Checks []checkItem }
	if code := e.call("GET", "/api/v1/checks", read, nil, nil, &list); code != 200 || len(list.Checks) != 5 || list.Checks[0].Name != "lesson page" {
		t.Fatalf("GET checks = %d %+v", code, list)
	}

	// Another project's keys neither see nor touch them.
	var p struct{ Keys map[string]string }
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	if code := e.call("GET", "/api/v1/checks", p.Keys["read"], nil, nil, &list); code != 200 || len(list.Checks) != 0 {
		t.Errorf("project 2 lists %+v", list)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/checks/1"}, {"PUT", "/api/v1/checks/1"}, {"DELETE", "/api/v1/checks/1"},
		{"POST", "/api/v1/checks/1/run"}, {"GET", "/api/v1/checks/1/runs"},
	} {
		if code := e.call(c.method, c.path, p.Keys["admin"], `{"name":"mine","type":"http","url":"http://a.example/"}`, nil, nil); code != 404 {
			t.Errorf("project 2 %s %s = %d; want 404", c.method, c.path, code)
		}
	}
	if code := e.call("GET", "/api/v1/checks/1/runs?limit=0", read, nil, nil, nil); code != 400 {
		t.Errorf("limit=0 = %d; want 400", code)
	}
	var u checkItem
	if code := e.call("PUT", fmt.Sprintf("/api/v1/checks/%d", slow.ID), admin, fmt.Sprintf(`{"name":"slow v2","type":"http","url":%q}`, site.URL+"/slow"), nil, &u); code != 200 ||
		u.Name != "slow v2" || u.State != "pending" || u.LastRun != nil {
		t.Errorf("PUT = %d %+v", code, u)
	}
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/checks/%d", slow.ID), admin, nil, nil, nil); code != 204 {
		t.Errorf("DELETE = %d", code)
	}
	if code := e.call("GET", fmt.Sprintf("/api/v1/checks/%d/runs", slow.ID), read, nil, nil, nil); code != 404 {
		t.Errorf("runs of a deleted check = %d", code)
	}
}

// fakePages is a page runner for the server's wiring: a fixed result.
type fakePages struct{}

func (fakePages) Available() (bool, string) { return true, "" }
func (fakePages) Run(_ context.Context, url, device string) (*checks.PageResult, error) {
	res := &checks.PageResult{Score: 64, ReportJSON: []byte(`{"requestedUrl":"` + url + `"}`), ReportHTML: []byte("<!doctype html><title>Lighthouse Report</title>")}
	res.Metrics.LCP, res.Metrics.CLS = 4100, 0.02
	res.Recommendations = []checks.Recommendation{{Audit: "uses-responsive-images", Title: "Properly size images", SavingsMs: 1200, SavingsBytes: 250000}}
	return res, nil
}

// A page check through a PageRunner wired into the server: its run, its
// report in HTML (sandboxed) and JSON, its point, and the alert rule
// "score < 80" firing on it.
func TestPageCheckReport(t *testing.T) {
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.PageRunner = fakePages{} }})
	admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	var c checkItem
	if code := e.call("POST", "/api/v1/checks", admin, `{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h"}`, nil, &c); code != 201 || c.State != "pending" {
		t.Fatalf("POST = %d %+v", code, c)
	}
	var out struct{ Run map[string]any }
	if code := e.call("POST", fmt.Sprintf("/api/v1/checks/%d/run", c.ID), admin, nil, nil, &out); code != 200 || out.Run["score"] != 64.0 || out.Run["ok"] != true {
		t.Fatalf("run = %d %v", code, out.Run)
	}
	b, _ := json.Marshal(out.Run["recommendations"])
	if string(b) != `[{"audit":"uses-responsive-images","savingsBytes":250000,"savingsMs":1200,"title":"Properly size images"}]` {
		t.Errorf("recommendations %s", b)
	}
	runID := int64(out.Run["id"].(float64))
	for _, f := range []struct{ q, ctype, body string }{
		{"", "text/html; charset=utf-8", "<title>Lighthouse Report</title>"},
		{"?format=json", "application/json", `"requestedUrl":"https://app.example.com/lessons/7"`},
	} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/checks/%d/runs/%d/report%s", e.url, c.ID, runID, f.q), nil)
		req.Header.Set("Authorization", "Bearer "+read)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != f.ctype || !strings.Contains(string(body), f.body) {
			t.Errorf("report%s = %d %s %q", f.q, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if f.q == "" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("the HTML report is not sandboxed")
		}
	}
	row := e.one("SELECT check, type, device, score, lcp, ok FROM checks ORDER BY timestamp DESC LIMIT 1")
	checkRow(t, "page point", row, map[string]any{"check": "lesson page", "type": "page", "device": "mobile", "score": 64, "lcp": 4100, "ok": 1})
	var a alertRule
	rule := `{"name":"lesson page score < 80","query":{"dataset":"checks","range":"1d","filter":[{"field":"type","op":"=","value":"page"},{"field":"ok","op":"=","value":1}],
		"aggregations":{"score":{"type":"min","field":"score"}}},"condition":{"op":"<","value":80},"for":"0s","every":"1h"}`
	if code := e.call("POST", "/api/v1/alerts", admin, rule, nil, &a); code != 201 {
		t.Fatalf("POST alert = %d", code)
	}
	e.srv.TickAlerts(context.Background(), time.Now().Add(time.Second))
	if got := e.alert(read, a.ID); got.State != "firing" || got.Value == nil || *got.Value != 64 {
		t.Errorf("score < 80: %+v", got)
	}
}
