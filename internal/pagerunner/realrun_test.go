//go:build lighthouse

package pagerunner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/lighthouse"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/pagerunner"
	"github.com/alidade/alidade/internal/server/servertest"
)

// The issue's proof "a real Lighthouse run against the fast and the slow
// page", through the product: a real server (servertest) whose page
// checks run the real Lighthouse (pagerunner over lighthouse.Runner), a
// loopback test site, two page checks made and run over the API. Behind
// the build tag `lighthouse`; `make test-lighthouse` runs it:
//
//	go test -tags lighthouse -count=1 -v -run TestPageChecksRealLighthouse ./internal/pagerunner/
//
// Without Node, Lighthouse or Chromium it skips loudly; with CI=true it
// fails.

// realRunner is a Lighthouse runner with real tools: ALIDADE_LIGHTHOUSE and
// CHROME_PATH, else what .ci/ensure-lighthouse and .ci/ensure-chromium
// print (as internal/lighthouse's real-run test finds them).
func realRunner(t *testing.T) *lighthouse.Runner {
	t.Helper()
	opts := lighthouse.Find("")
	if os.Getenv("ALIDADE_LIGHTHOUSE") == "" {
		opts.Lighthouse = ensure(t, "ensure-lighthouse")
	}
	if os.Getenv("CHROME_PATH") == "" {
		opts.Chrome = ensure(t, "ensure-chromium")
	}
	opts.Timeout = 150 * time.Second
	r, err := lighthouse.New(opts)
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

// onePerPage runs Lighthouse once per URL and device and hands that
// result to every later run of them. A new check is due at once, so the
// server's own loop runs it as well as the test's POST …/run: the test
// keeps to two real runs, and both of a check's runs go through the
// product with the same result.
type onePerPage struct {
	checks.PageRunner
	mu   sync.Mutex
	runs map[string]*onceRun
}

type onceRun struct {
	once sync.Once
	res  *checks.PageResult
	err  error
}

func (o *onePerPage) Run(ctx context.Context, url, device string) (*checks.PageResult, error) {
	o.mu.Lock()
	r := o.runs[url+" "+device]
	if r == nil {
		r = &onceRun{}
		o.runs[url+" "+device] = r
	}
	o.mu.Unlock()
	r.once.Do(func() { r.res, r.err = o.PageRunner.Run(context.WithoutCancel(ctx), url, device) })
	return r.res, r.err
}

// site serves a fast page (text only) and a slow one: a large hero image,
// served late and unsized, that becomes the LCP element and shifts the text
// below it.
func site(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1400, 900))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256)) | uint8(0xff*(i%4/3)) // noise, opaque
	}
	var hero bytes.Buffer
	if err := jpeg.Encode(&hero, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/lessons/7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fast</title>
<style>body{font:16px/1.5 sans-serif;margin:2em}</style></head>
<body><h1>Lesson 7</h1><p class="intro">A short, quick page with text only.</p></body></html>`)
	})
	mux.HandleFunc("/slow/8", func(w http.ResponseWriter, r *http.Request) {
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
		w.Write(hero.Bytes())
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

type pageRun struct {
	ID      int64    `json:"id"`
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	Score   *float64 `json:"score"`
	Metrics *struct {
		LCP float64 `json:"lcp"`
		CLS float64 `json:"cls"`
	} `json:"metrics"`
	Recommendations []struct {
		Audit     string  `json:"audit"`
		Title     string  `json:"title"`
		SavingsMs float64 `json:"savingsMs"`
	} `json:"recommendations"`
	LCPElement string `json:"lcpElement"`
	HasReport  bool   `json:"hasReport"`
}

func TestPageChecksRealLighthouse(t *testing.T) {
	lh := realRunner(t)
	pages := &onePerPage{PageRunner: pagerunner.New(lh), runs: map[string]*onceRun{}}
	e := servertest.Start(t, servertest.Options{RootKey: "root-key-for-the-lighthouse-test-0123", PageRunner: pages})
	A, R := e.Keys[meta.KindAdmin], e.Keys[meta.KindRead]
	base := site(t)

	call := func(method, path, key string, body any) (int, http.Header, []byte) {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case nil:
		case string:
			rd = strings.NewReader(b)
		default:
			data, _ := json.Marshal(b)
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequest(method, e.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, data
	}
	run := func(name, path string) (int64, pageRun) {
		t.Helper()
		code, _, data := call("POST", "/api/v1/checks", A, map[string]any{"name": name, "type": "page", "url": base + path, "every": "24h", "timeout": "5m"})
		var c struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		}
		if json.Unmarshal(data, &c); code != 201 || c.State != "pending" {
			t.Fatalf("POST /api/v1/checks %s = %d %s", name, code, data)
		}
		start := time.Now()
		code, _, data = call("POST", fmt.Sprintf("/api/v1/checks/%d/run", c.ID), A, nil)
		var out struct{ Run pageRun }
		if json.Unmarshal(data, &out); code != 200 || !out.Run.OK || out.Run.Score == nil || out.Run.Metrics == nil || !out.Run.HasReport {
			t.Fatalf("POST /api/v1/checks/%d/run (%s) = %d %s", c.ID, name, code, data)
		}
		r := out.Run
		t.Logf("%s: %.1f s: score %.0f, LCP %.0f ms, CLS %.3f, LCP element %q", name, time.Since(start).Seconds(), *r.Score, r.Metrics.LCP, r.Metrics.CLS, r.LCPElement)
		for _, rec := range r.Recommendations {
			t.Logf("  %s %q: %.0f ms", rec.Audit, rec.Title, rec.SavingsMs)
		}
		return c.ID, r
	}
	fastID, fast := run("fast page", "/lessons/7")
	slowID, slow := run("slow page", "/slow/8")

	if !(*slow.Score < *fast.Score) {
		t.Errorf("scores: slow %.0f, fast %.0f; want slow < fast", *slow.Score, *fast.Score)
	}
	if !(slow.Metrics.LCP > fast.Metrics.LCP) {
		t.Errorf("LCP: slow %.0f ms, fast %.0f ms; want slow > fast", slow.Metrics.LCP, fast.Metrics.LCP)
	}
	imageNamed := strings.Contains(slow.LCPElement, "img.hero")
	for _, rec := range slow.Recommendations {
		switch rec.Audit {
		case "largest-contentful-paint-element", "unsized-images", "uses-optimized-images",
			"modern-image-formats", "uses-responsive-images", "prioritize-lcp-image":
			imageNamed = true
		}
	}
	if !imageNamed {
		t.Errorf("the slow page's lcpElement %q and recommendations %+v name no image", slow.LCPElement, slow.Recommendations)
	}

	// The reports: HTML and JSON.
	for _, f := range []struct{ q, ctype, body string }{
		{"", "text/html", "<html"},
		{"?format=json", "application/json", `"lighthouseVersion"`},
	} {
		code, h, body := call("GET", fmt.Sprintf("/api/v1/checks/%d/runs/%d/report%s", slowID, slow.ID, f.q), R, nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), f.ctype) || !bytes.Contains(body, []byte(f.body)) {
			t.Errorf("report%s = %d %s (%d bytes); want %s with %s", f.q, code, h.Get("Content-Type"), len(body), f.ctype, f.body)
		}
		if f.q != "" {
			var lhr struct {
				LighthouseVersion string `json:"lighthouseVersion"`
				RequestedURL      string `json:"requestedUrl"`
			}
			if err := json.Unmarshal(body, &lhr); err != nil || lhr.LighthouseVersion != lighthouse.Version || lhr.RequestedURL != base+"/slow/8" {
				t.Errorf("JSON report: %+v (%v); want Lighthouse %s of %s/slow/8", lhr, err, lighthouse.Version, base)
			}
		}
	}

	// Each run is a point of the checks dataset, with its score.
	for _, x := range []struct {
		name string
		id   int64
		r    pageRun
	}{{"fast page", fastID, fast}, {"slow page", slowID, slow}} {
		q := fmt.Sprintf("SELECT score, lcp FROM checks WHERE check_id = '%d' AND run_id = '%d' AND type = 'page' AND ok = 1 FORMAT JSON", x.id, x.r.ID)
		var got string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			code, _, data := call("POST", "/api/v1/sql", R, q)
			var out struct {
				Data []struct {
					Score float64 `json:"score"`
					LCP   float64 `json:"lcp"`
				} `json:"data"`
			}
			json.Unmarshal(data, &out)
			got = fmt.Sprintf("%d %s", code, data)
			if code == 200 && len(out.Data) == 1 && out.Data[0].Score == *x.r.Score && out.Data[0].LCP == x.r.Metrics.LCP {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the checks dataset: %s; want a point scoring %.0f", x.name, got, *x.r.Score)
			}
		}
	}
}
