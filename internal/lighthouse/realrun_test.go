//go:build lighthouse

package lighthouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real runs are behind the build tag `lighthouse` so that `go test ./...`
// stays fast; `make test-lighthouse` (part of `make test`) runs them:
//
//	go test -tags lighthouse -count=1 -v ./internal/lighthouse/
//
// -fixtures rewrites testdata/*.json from these runs (trimmed to what
// ParseReport reads); ALIDADE_LIGHTHOUSE_ARTIFACTS=DIR keeps the full reports.
var (
	writeFixtures = flag.Bool("fixtures", false, "rewrite testdata/{fast,slow,error}.json from the real runs")
	retrim        = flag.String("retrim", "", "rewrite testdata/{fast,slow,error}.json from the full reports kept in this directory by ALIDADE_LIGHTHOUSE_ARTIFACTS, without running Lighthouse")
)

// realRunner returns a Runner with real tools: ALIDADE_LIGHTHOUSE and
// CHROME_PATH, else what .ci/ensure-lighthouse and .ci/ensure-chromium print
// (they install them when they can). Without them the test skips loudly, or
// fails with CI=true.
func realRunner(t *testing.T) *Runner {
	t.Helper()
	opts := Find("")
	if os.Getenv("ALIDADE_LIGHTHOUSE") == "" {
		opts.Lighthouse = ensure(t, "ensure-lighthouse")
	}
	if os.Getenv("CHROME_PATH") == "" {
		opts.Chrome = ensure(t, "ensure-chromium")
	}
	opts.Timeout = 150 * time.Second
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if ok, why := r.Available(); !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s", why)
		}
		fmt.Fprintf(os.Stderr, "WARNING: %s: the Lighthouse tests are SKIPPED\n", why)
		t.Skip(why)
	}
	return r
}

func ensure(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join("..", "..", ".ci", script))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf(".ci/%s: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

// site is the test site: a fast page, a slow page (a large hero image,
// served late and unsized, that becomes the LCP element and shifts the text
// below it) and a page answering 500.
func site(t *testing.T) string {
	t.Helper()
	hero := heroJPEG(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fast</title>
<style>body{font:16px/1.5 sans-serif;margin:2em}</style></head>
<body><h1>Lesson 7</h1><p class="intro">A short, quick page with text only.</p></body></html>`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Slow</title>
<style>body{font:16px/1.5 sans-serif;margin:0}img.hero{display:block;width:100%}</style></head>
<body><h1>Lesson 8</h1><img class="hero" src="/hero.jpg" alt="hero">
<p class="below">This text moves down when the hero image arrives.</p></body></html>`)
	})
	mux.HandleFunc("/hero.jpg", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(hero)
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// heroJPEG is a ~1 MB photo-like JPEG of noise (noise does not compress).
func heroJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1400, 900))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRealRun(t *testing.T) {
	r := realRunner(t)
	base := site(t)
	ctx := context.Background()
	run := func(path, device string) (*Result, error) {
		t.Helper()
		start := time.Now()
		res, err := r.Run(ctx, base+path, device)
		t.Logf("run %s %s: %.1f s", path, device, time.Since(start).Seconds())
		if res != nil {
			keep(t, strings.TrimPrefix(path, "/")+"-"+device, res)
		}
		return res, err
	}

	fast, err := run("/fast", "mobile")
	if err != nil {
		t.Fatalf("Run(fast, mobile): %v", err)
	}
	slow, err := run("/slow", "mobile")
	if err != nil {
		t.Fatalf("Run(slow, mobile): %v", err)
	}
	for _, x := range []struct {
		name string
		res  *Result
	}{{"fast", fast}, {"slow", slow}} {
		t.Logf("%s: score %d, metrics %+v, LCP element %q %q, warnings %q", x.name, x.res.Score, x.res.Metrics, x.res.LCPElement, x.res.LCPSnippet, x.res.Warnings)
		for _, rec := range x.res.Recommendations {
			t.Logf("  %s %q: %.0f ms, %.0f bytes", rec.Audit, rec.Title, rec.SavingsMs, rec.SavingsBytes)
		}
		if len(x.res.ReportHTML) == 0 || !bytes.Contains(x.res.ReportHTML, []byte("<html")) {
			t.Errorf("%s: no HTML report", x.name)
		}
	}
	if !(slow.Score < fast.Score) {
		t.Errorf("scores: slow %d, fast %d; want slow < fast", slow.Score, fast.Score)
	}
	if !(slow.Metrics.LCP > fast.Metrics.LCP) {
		t.Errorf("LCP: slow %.0f ms, fast %.0f ms; want slow > fast", slow.Metrics.LCP, fast.Metrics.LCP)
	}
	if !strings.Contains(slow.LCPElement, "img.hero") || !strings.Contains(slow.LCPSnippet, "hero.jpg") {
		t.Errorf("slow LCP element = %q %q; want img.hero, hero.jpg", slow.LCPElement, slow.LCPSnippet)
	}
	if slow.Metrics.CLS <= fast.Metrics.CLS {
		t.Errorf("CLS: slow %.3f, fast %.3f; want the hero's shift to count", slow.Metrics.CLS, fast.Metrics.CLS)
	}
	imageRec := false
	for _, rec := range slow.Recommendations {
		switch rec.Audit {
		case "largest-contentful-paint-element", "unsized-images", "uses-optimized-images",
			"modern-image-formats", "uses-responsive-images", "prioritize-lcp-image", "total-byte-weight":
			imageRec = true
		}
	}
	if !imageRec {
		t.Errorf("slow page's recommendations name no image audit: %+v", slow.Recommendations)
	}

	desk, err := run("/fast", "desktop")
	if err != nil {
		t.Fatalf("Run(fast, desktop): %v", err)
	}
	var settings struct {
		ConfigSettings struct{ FormFactor string } `json:"configSettings"`
	}
	if err := json.Unmarshal(desk.ReportJSON, &settings); err != nil || settings.ConfigSettings.FormFactor != "desktop" {
		t.Errorf("desktop run: formFactor %q (%v); want desktop", settings.ConfigSettings.FormFactor, err)
	}

	broken, err := run("/broken", "mobile")
	var rt *RuntimeError
	if !errors.As(err, &rt) || rt.Code != "ERRORED_DOCUMENT_REQUEST" {
		t.Fatalf("Run(broken) = %v; want a *RuntimeError ERRORED_DOCUMENT_REQUEST", err)
	}
	if broken == nil || len(broken.ReportJSON) == 0 {
		t.Errorf("Run(broken) kept no report")
	}
	t.Logf("broken: %v", err)

	if *writeFixtures {
		for name, res := range map[string]*Result{"fast": fast, "slow": slow, "error": broken} {
			writeFixture(t, name, res.ReportJSON)
		}
	}
}

func TestRetrimFixtures(t *testing.T) {
	if *retrim == "" {
		t.Skip("no -retrim DIR")
	}
	for name, file := range map[string]string{"fast": "fast-mobile", "slow": "slow-mobile", "error": "broken-mobile"} {
		data, err := os.ReadFile(filepath.Join(*retrim, file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		writeFixture(t, name, data)
	}
}

func writeFixture(t *testing.T, name string, report []byte) {
	t.Helper()
	b, err := trimReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// keep writes a run's reports to $ALIDADE_LIGHTHOUSE_ARTIFACTS, when set.
func keep(t *testing.T, name string, res *Result) {
	dir := os.Getenv("ALIDADE_LIGHTHOUSE_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, name+".json"), res.ReportJSON, 0o644)
	os.WriteFile(filepath.Join(dir, name+".html"), res.ReportHTML, 0o644)
}

// trimReport keeps what ParseReport reads of a result, and of the audits
// only the metrics, the LCP element and the failed ones (of a run that
// failed, the metrics alone), so that a fixture is a few KB.
func trimReport(data []byte) ([]byte, error) {
	var full map[string]json.RawMessage
	if err := json.Unmarshal(data, &full); err != nil {
		return nil, err
	}
	var audits map[string]map[string]json.RawMessage
	if err := json.Unmarshal(full["audits"], &audits); err != nil {
		return nil, err
	}
	var cats struct {
		Performance struct {
			Score     *float64 `json:"score"`
			AuditRefs []struct {
				ID    string `json:"id"`
				Group string `json:"group,omitempty"`
			} `json:"auditRefs"`
		} `json:"performance"`
	}
	if err := json.Unmarshal(full["categories"], &cats); err != nil {
		return nil, err
	}
	_, failed := full["runtimeError"]
	keepAudit := func(id string, a map[string]json.RawMessage) bool {
		if failed {
			return id == "largest-contentful-paint" || id == "cumulative-layout-shift"
		}
		if metricAudits[id] || id == "server-response-time" || id == "largest-contentful-paint-element" {
			return true
		}
		var score *float64
		json.Unmarshal(a["score"], &score)
		return score == nil || *score < 0.9
	}
	outAudits := map[string]any{}
	refs := cats.Performance.AuditRefs[:0]
	for _, ref := range cats.Performance.AuditRefs {
		a, ok := audits[ref.ID]
		if !ok || !keepAudit(ref.ID, a) {
			continue
		}
		refs = append(refs, ref)
		o := map[string]json.RawMessage{}
		for _, k := range []string{"title", "score", "scoreDisplayMode", "numericValue", "errorMessage", "metricSavings"} {
			if v, ok := a[k]; ok {
				o[k] = v
			}
		}
		if ref.ID == "largest-contentful-paint-element" {
			o["details"] = a["details"]
		} else if d, ok := a["details"]; ok && string(d) != "null" {
			var det map[string]json.RawMessage
			if json.Unmarshal(d, &det) == nil {
				sub := map[string]json.RawMessage{}
				for _, k := range []string{"type", "overallSavingsMs", "overallSavingsBytes"} {
					if v, ok := det[k]; ok {
						sub[k] = v
					}
				}
				b, _ := json.Marshal(sub)
				o["details"] = b
			}
		}
		outAudits[ref.ID] = o
	}
	cats.Performance.AuditRefs = refs
	out := map[string]any{"categories": cats, "audits": outAudits}
	for _, k := range []string{"lighthouseVersion", "requestedUrl", "finalDisplayedUrl", "runtimeError", "runWarnings"} {
		if v, ok := full[k]; ok {
			out[k] = v
		}
	}
	return json.MarshalIndent(out, "", " ")
}
