package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// generate runs the generator over days ending at now.
func generate(seed uint64, days, scale int) []Point {
	end := now.UnixMilli()
	start := end - int64(days)*24*3600*1000
	var out []Point
	g := newGenerator(seed, start, end, scale, func(r *Point) {
		if r.Timestamp >= start && r.Timestamp < end {
			out = append(out, *r)
		}
	})
	g.run(nil)
	return out
}

func TestGeneratorIsDeterministicAndComplete(t *testing.T) {
	hash := func(recs []Point) [32]byte {
		var b bytes.Buffer
		for i := range recs {
			appendRecord(&b, &recs[i])
		}
		return sha256.Sum256(b.Bytes())
	}
	a, b, c := generate(7, 2, 30), generate(7, 2, 30), generate(8, 2, 30)
	if hash(a) != hash(b) {
		t.Error("the same seed made different traffic")
	}
	if hash(a) == hash(c) {
		t.Error("different seeds made the same traffic")
	}

	recs := generate(1, 4, 40)
	by := map[string]int{}
	models := map[string]int{}
	// Labels come up to 36 hours after their prediction: measure the
	// labelled share over older predictions.
	cutoff := now.UnixMilli() - 37*3600*1000
	var oldPreds, oldLabelled, labels, correct int
	type pred struct {
		intent string
		ts     int64
	}
	predOf := map[string]pred{}
	for _, r := range recs {
		by[r.Dataset]++
		switch r.Dataset {
		case "ai_usage":
			models[r.Index]++
		case "intent":
			if r.Blobs[3] == "prediction" {
				predOf[r.Blobs[2]] = pred{r.Blobs[1], r.Timestamp}
				if r.Timestamp < cutoff {
					oldPreds++
				}
				continue
			}
			p := predOf[r.Blobs[2]]
			if p.ts == 0 || r.Timestamp <= p.ts {
				t.Fatalf("label %v comes before its prediction %v", r, p)
			}
			labels++
			if p.intent == r.Blobs[4] {
				correct++
			}
			if p.ts < cutoff {
				oldLabelled++
			}
		}
	}
	for _, ds := range []string{"requests", "ai_usage", "embeddings", "vector_search", "db_queries", "websocket", "grade_passback", "intent"} {
		if by[ds] == 0 {
			t.Errorf("no %s points", ds)
		}
	}
	for _, m := range []string{modelLlama, modelMini, modelHaiku, modelTutor} {
		if models[m] == 0 {
			t.Errorf("no calls of %s", m)
		}
	}
	if share := float64(oldLabelled) / float64(oldPreds); share < 0.82 || share > 0.88 {
		t.Errorf("labelled share = %.3f; want about 0.85", share)
	}
	if acc := float64(correct) / float64(labels); acc < 0.87 || acc > 0.93 {
		t.Errorf("label accuracy = %.2f; want about 0.9", acc)
	}
	t.Logf("four days at scale 40: %d points %v", len(recs), by)
}

func TestGeneratorIncidents(t *testing.T) {
	end := now.UnixMilli()
	start := end - 3*24*3600*1000
	var g *generator
	type tally struct{ n, bad int }
	var submitIn, submitOut, moodleIn, moodleOut tally
	var slowIn, slowOut []float64
	g = newGenerator(3, start, end, 80, func(r *Point) {
		switch {
		case r.Dataset == "requests" && r.Index == "POST /api/assessments/{id}/submit":
			t := &submitOut
			if g.submitSpike.covers(r.Timestamp) {
				t = &submitIn
			}
			t.n++
			if r.Doubles[1] >= 500 {
				t.bad++
			}
		case r.Dataset == "grade_passback" && r.Index == lmsMoodle:
			t := &moodleOut
			if g.lmsDown.covers(r.Timestamp) {
				t = &moodleIn
			}
			t.n++
			if r.Doubles[0] == 0 {
				t.bad++
			}
		case r.Dataset == "ai_usage" && r.Index == modelMini:
			if g.aiSlow.covers(r.Timestamp) {
				slowIn = append(slowIn, r.Doubles[1])
			} else {
				slowOut = append(slowOut, r.Doubles[1])
			}
		}
	})
	g.run(nil)
	if submitIn.n == 0 || float64(submitIn.bad)/float64(submitIn.n) < 0.2 || float64(submitOut.bad)/float64(submitOut.n) > 0.02 {
		t.Errorf("submit 5xx: %+v during the spike, %+v outside; want a burst", submitIn, submitOut)
	}
	if moodleIn.n == 0 || moodleIn.bad != moodleIn.n || float64(moodleOut.bad)/float64(moodleOut.n) > 0.06 {
		t.Errorf("moodle failures: %+v while down, %+v otherwise; want all failing for the hour, about 3%% otherwise", moodleIn, moodleOut)
	}
	if len(slowIn) == 0 || mean(slowIn) < 3*mean(slowOut) {
		t.Errorf("gpt-4o-mini latency %.0f ms during the slowdown, %.0f ms otherwise; want several times slower", mean(slowIn), mean(slowOut))
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

func TestAppendRecordIsJSON(t *testing.T) {
	r := &Point{Dataset: "requests", Timestamp: 1795773600000, Index: "GET /a\"b\\c",
		Blobs: []string{"tab\there", "é ✓", "\x00\x1f", string([]byte{0xff, 'x'})}, Doubles: []float64{12.5, 200, 1e-7, 123456789012}}
	var b bytes.Buffer
	appendRecord(&b, r)
	appendRecord(&b, &Point{Dataset: "intent", Timestamp: 1})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), b.String())
	}
	var got struct {
		Dataset   string    `json:"dataset"`
		Timestamp int64     `json:"timestamp"`
		Indexes   []string  `json:"indexes"`
		Blobs     []string  `json:"blobs"`
		Doubles   []float64 `json:"doubles"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	want := []string{"tab\there", "é ✓", "\x00\x1f", "\ufffdx"}
	if got.Dataset != r.Dataset || got.Timestamp != r.Timestamp || got.Indexes[0] != r.Index || strings.Join(got.Blobs, "|") != strings.Join(want, "|") {
		t.Errorf("decoded %+v; want %+v", got, r)
	}
	for i, v := range r.Doubles {
		if got.Doubles[i] != v {
			t.Errorf("double %d = %v; want %v", i, got.Doubles[i], v)
		}
	}
	if !json.Valid([]byte(lines[1])) {
		t.Errorf("line %q is not JSON", lines[1])
	}
}

// fakeServer counts the points and envelopes it is sent; answer decides
// each reply to a points request, and calls counts those.
type fakeServer struct {
	points, calls, envelopes, envelopeCalls, events atomic.Int64
	answer                                          func(call int64, w http.ResponseWriter) bool // true: handled
	// groupsStatus answers GET /api/v1/error-groups (403: a write key).
	groupsStatus int
	// refuseKey refuses the key from the first request.
	refuseKey bool
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/v1/session":
		if f.refuseKey || r.Header.Get("Authorization") != "Bearer w" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"code":"unauthorized","message":"unknown key"}}`)
			return
		}
		io.WriteString(w, `{"project":{"id":3,"name":"demo"},"kind":"write"}`)
		return
	case r.URL.Path == "/api/3/envelope/":
		if r.Header.Get("X-Sentry-Auth") != "Sentry sentry_version=7, sentry_client="+sdkGo+"/"+sdkGoVer+", sentry_key=w" &&
			r.Header.Get("X-Sentry-Auth") != "Sentry sentry_version=7, sentry_client="+sdkJS+"/"+sdkJSVer+", sentry_key=w" {
			w.WriteHeader(401)
			return
		}
		if f.envelopeCalls.Add(1)%7 == 1 { // busy now and then
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.envelopes.Add(1)
		f.events.Add(int64(bytes.Count(body, []byte(`"type":"event"}`))))
		io.WriteString(w, `{"id":"x"}`)
		return
	case r.URL.Path == "/api/v1/error-groups":
		w.WriteHeader(f.groupsStatus)
		io.WriteString(w, `{"error":{"code":"forbidden","message":"a write key"}}`)
		return
	}
	call := f.calls.Add(1)
	if r.URL.Path != "/api/v1/points" || r.Header.Get("Authorization") != "Bearer w" || r.Header.Get("Content-Encoding") != "gzip" {
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":"bad","message":"unexpected request"}}`)
		return
	}
	if f.answer != nil && f.answer(call, w) {
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	data, _ := io.ReadAll(zr)
	n := int64(bytes.Count(data, []byte("\n")))
	f.points.Add(n)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"accepted": n, "rejected": []any{}})
}

func TestRunRetriesAndCounts(t *testing.T) {
	f := &fakeServer{answer: func(call int64, w http.ResponseWriter) bool {
		if call%3 == 1 { // every third request is refused once: busy
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"code":"overloaded","message":"full"}}`)
			return true
		}
		return false
	}, groupsStatus: 403}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var progress bytes.Buffer
	o := DefaultOptions()
	o.URL, o.Key, o.Days, o.Scale, o.BatchSize, o.Now, o.Progress = srv.URL, "w", 1, 20, 500, now, &progress
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, n := range rep.Datasets {
		total += n
	}
	if rep.Points != total || f.points.Load() != total || total == 0 {
		t.Errorf("report %d points, server got %d, generated %d; want all equal", rep.Points, f.points.Load(), total)
	}
	if rep.Retries == 0 || rep.Requests+rep.Retries != f.calls.Load() {
		t.Errorf("report %d requests and %d retries; the server saw %d calls", rep.Requests, rep.Retries, f.calls.Load())
	}
	if !rep.From.Equal(now.Add(-24*time.Hour+time.Minute)) || !rep.To.Equal(now.Add(-time.Second)) {
		t.Errorf("period %v – %v", rep.From, rep.To)
	}
	// Error tracking: every envelope to the key's project, retried when
	// busy; a write key may not resolve groups, and the report says so.
	e := rep.Errors
	if e.Project != 3 || e.Envelopes == 0 || e.Envelopes != f.envelopes.Load() || e.Events != f.events.Load() || e.Retries == 0 ||
		e.Envelopes+e.Retries != f.envelopeCalls.Load() {
		t.Errorf("report %+v; the server took %d envelopes with %d events in %d calls", e, f.envelopes.Load(), f.events.Load(), f.envelopeCalls.Load())
	}
	if e.Bugs != numGoBugs+numJSBugs || len(e.Statuses) != 0 || !strings.Contains(e.StatusNote, "admin key") {
		t.Errorf("bugs %d, statuses %v, note %q", e.Bugs, e.Statuses, e.StatusNote)
	}
	if !strings.Contains(rep.String(), "error tracking") || !strings.Contains(progress.String(), "error tracking") {
		t.Errorf("report %q, progress %q", rep, progress.String())
	}
}

func TestRunStopsOnRefusal(t *testing.T) {
	f := &fakeServer{answer: func(call int64, w http.ResponseWriter) bool {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"unknown key"}}`)
		return true
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	o := DefaultOptions()
	o.URL, o.Key, o.Days, o.Scale, o.BatchSize, o.Now = srv.URL, "w", 2, 50, 100, now
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("Run against a refusing server = %v; want the server's reason", err)
	}
	if f.calls.Load() > int64(o.Senders)*2 {
		t.Errorf("the server was called %d times after refusing; want the run to stop", f.calls.Load())
	}
	// A key refused from the start stops the run before any point.
	f = &fakeServer{refuseKey: true}
	srv2 := httptest.NewServer(f)
	defer srv2.Close()
	o.URL = srv2.URL
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "unknown key") || f.calls.Load() != 0 {
		t.Errorf("Run with a refused key = %v after %d calls; want the server's reason at once", err, f.calls.Load())
	}
	for _, bad := range []func(*Options){
		func(o *Options) { o.Key = "" }, func(o *Options) { o.Days = 0 }, func(o *Options) { o.Scale = 0 },
		func(o *Options) { o.Senders = 0 }, func(o *Options) { o.URL = "" }, func(o *Options) { o.Envelopes = 0 },
	} {
		o := DefaultOptions()
		o.Key = "w"
		bad(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil; want an error", o)
		}
	}
}
