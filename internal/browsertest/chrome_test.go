//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// desktopUA is the User-Agent of a desktop Chrome on Linux: headless
// Chromium's own says HeadlessChrome, which the beacon drops as a bot.
const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s.0.0.0 Safari/537.36"

// actionTimeout bounds one browser action.
const actionTimeout = 20 * time.Second

// browser is a headless Chromium with one tab, and what the tab saw: its
// console, the beacon's answers and any Set-Cookie header.
type browser struct {
	t       testing.TB
	ctx     context.Context
	alidade string

	mu         sync.Mutex
	console    []string
	beacons    []beaconAnswer
	tails      []beaconAnswer // the answers to GET /api/v1/tail (their headers)
	setCookies []string
}

type beaconAnswer struct {
	url    string
	status int64
	kind   network.ResourceType // Fetch, or Ping for sendBeacon
}

// newBrowser starts Chromium (its own profile, closed at the end of the
// test) with a desktop Chrome User-Agent, and opens a tab.
func newBrowser(t testing.TB, e *env) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(e.chrome),
		chromedp.UserAgent(fmt.Sprintf(desktopUA, e.major)),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, alidade: e.alidade.url}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			b.mu.Lock()
			t.Logf("the page's console:\n  %s", strings.Join(b.console, "\n  "))
			b.mu.Unlock()
			t.Logf("alidade's stderr:\n%s", e.alidade.stderr)
		}
	})
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start %s: %v", e.chrome, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("Network.enable: %v", err)
	}
	return b
}

// listen runs in the tab's message loop: it only records.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if strings.HasPrefix(ev.Response.URL, b.alidade+"/api/v1/events") {
			b.beacons = append(b.beacons, beaconAnswer{url: ev.Response.URL, status: ev.Response.Status, kind: ev.Type})
		}
		if strings.HasPrefix(ev.Response.URL, b.alidade+"/api/v1/tail") {
			b.tails = append(b.tails, beaconAnswer{url: ev.Response.URL, status: ev.Response.Status, kind: ev.Type})
		}
		for k, v := range ev.Response.Headers {
			if strings.EqualFold(k, "set-cookie") {
				b.setCookies = append(b.setCookies, fmt.Sprintf("%s: %v", ev.Response.URL, v))
			}
		}
	case *network.EventResponseReceivedExtraInfo:
		for k, v := range ev.Headers {
			if strings.EqualFold(k, "set-cookie") {
				b.setCookies = append(b.setCookies, fmt.Sprintf("request %s: %v", ev.RequestID, v))
			}
		}
	}
}

// beaconStatuses returns the statuses of the beacon's answers seen so far.
func (b *browser) beaconStatuses() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []int64
	for _, a := range b.beacons {
		s = append(s, a.status)
	}
	return s
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is truthy in the page.
func (b *browser) waitFor(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(actionTimeout)
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		// A navigation while polling (a redirect, a page that replaces
		// itself) ends the poll's context: poll the new document.
		if err == nil || time.Now().After(deadline) || !(strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "navigated or closed")) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.site || {})`))
		b.t.Fatalf("waiting for %s: %v (window.site = %s)", expr, err, state)
	}
}

// open navigates the tab with a referrer, as a click on a link elsewhere
// would, and waits for the page's load event.
func (b *browser) open(url, referrer string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: url, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = fmt.Errorf("%s", res.ErrorText)
		}
		return err
	})))
	if err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

// click clicks an element with real mouse events (the browser's input
// pipeline, so Event Timing and INP see it).
func (b *browser) click(css string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css)))
}

// back is the browser's Back button: the previous history entry.
func (b *browser) back() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		h, err := cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		if h.CurrentIndex < 1 {
			return fmt.Errorf("no history entry before %d", h.CurrentIndex)
		}
		_, err = cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
		return err
	}))
}

// leave navigates to about:blank: the page is hidden (visibilitychange,
// pagehide), which is when the SDK sends what it holds with sendBeacon and
// web-vitals reports LCP, CLS and INP.
func (b *browser) leave() {
	b.t.Helper()
	b.do(chromedp.Navigate("about:blank"))
}

// cookies returns every cookie the browser holds, for any site.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("Storage.getCookies: %v", err)
	}
	return res.Cookies
}

// screenshot saves a PNG of the page into the test's temp dir, or into
// $ALIDADE_BROWSER_ARTIFACTS when set (which is kept), and returns its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("ALIDADE_BROWSER_ARTIFACTS")
	if dir == "" {
		dir = b.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// waitBeacon waits until the page has seen an answer of the beacon with
// status.
func (b *browser) waitBeacon(status int64) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for !slices.Contains(b.beaconStatuses(), status) {
		if time.Now().After(deadline) {
			b.t.Fatalf("no beacon answer %d within %v; answers seen: %v", status, actionTimeout, b.beaconStatuses())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
