package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// client talks to the server under test.
type client struct {
	url  string
	http *http.Client
}

func newClient(url string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil, // the server under test is never behind a proxy
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{url: strings.TrimRight(url, "/"), http: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// apiError is a non-2xx answer.
type apiError struct {
	Status    int
	Code, Msg string
	// RetryAfter is the Retry-After header's delay, or -1 without one.
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	if e.Msg != "" {
		code := e.Code
		if code == "" {
			code = http.StatusText(e.Status)
		}
		return fmt.Sprintf("server said %d %s: %s", e.Status, code, e.Msg)
	}
	return fmt.Sprintf("server said %d %s", e.Status, http.StatusText(e.Status))
}

// do sends body (nil for none) with headers and decodes a JSON answer into
// out (when not nil; a *[]byte receives the answer as it is). A non-2xx
// answer is an *apiError.
func (c *client) do(ctx context.Context, method, path, key string, body []byte, hdr map[string]string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
		var m struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &m) == nil {
			e.Code, e.Msg = m.Error.Code, m.Error.Message
		} else if text := strings.TrimSpace(string(data)); text != "" {
			// A plain-text answer (a peer's, a proxy's): its first line.
			text, _, _ = strings.Cut(text, "\n")
			if len(text) > 300 {
				text = text[:300] + "…"
			}
			e.Msg = text
		}
		return e
	}
	switch out := out.(type) {
	case nil:
	case *[]byte:
		*out = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// parseRetryAfter reads delay-seconds or an HTTP date; -1 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

// Keys are a project's write and read keys.
type Keys struct {
	Write, Read string
	// Public is the project's Sentry DSN key and Project its id, when the
	// bench created the project (CreateProject).
	Public  string
	Project int64
}

// CreateProject creates a project named name (or, when that name is taken,
// name-YYYYMMDD-HHMMSS) with the root key and returns its keys.
func CreateProject(ctx context.Context, url, rootKey, name string) (Keys, error) {
	c := newClient(url, 1)
	defer c.close()
	var p struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
	}
	post := func(n string) error {
		body, _ := json.Marshal(map[string]string{"name": n})
		return c.do(ctx, "POST", "/api/v1/projects", rootKey, body, nil, &p)
	}
	err := post(name)
	if ae, ok := err.(*apiError); ok && ae.Status == http.StatusConflict {
		err = post(name + "-" + time.Now().UTC().Format("20060102-150405.000"))
	}
	if err != nil {
		return Keys{}, fmt.Errorf("create project %q: %w", name, err)
	}
	k := Keys{Write: p.Keys["write"], Read: p.Keys["read"], Public: p.Keys["public"], Project: p.ID}
	if k.Write == "" || k.Read == "" {
		return Keys{}, fmt.Errorf("create project %q: the answer holds no write or read key", name)
	}
	return k, nil
}

// commitMetrics is the server's group commit histogram total.
type commitMetrics struct {
	count   int64
	seconds float64
	ok      bool
}

// scrapeCommits reads alidade_commit_duration_seconds_{sum,count} from
// GET /metrics; ok is false when the server does not expose them.
func (c *client) scrapeCommits(ctx context.Context) commitMetrics {
	req, err := http.NewRequestWithContext(ctx, "GET", c.url+"/metrics", nil)
	if err != nil {
		return commitMetrics{}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return commitMetrics{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return commitMetrics{}
	}
	return parseCommitMetrics(string(data))
}

func parseCommitMetrics(text string) commitMetrics {
	var m commitMetrics
	found := 0
	for line := range strings.Lines(text) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch name {
		case "alidade_commit_duration_seconds_sum":
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				m.seconds = f
				found++
			}
		case "alidade_commit_duration_seconds_count":
			if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil {
				m.count = n
				found++
			}
		}
	}
	m.ok = found == 2
	return m
}

// scrapeGauge reads the value of an unlabelled metric from GET /metrics;
// ok is false when the server does not expose it.
func (c *client) scrapeGauge(ctx context.Context, name string) (float64, bool) {
	var data []byte
	if err := c.do(ctx, "GET", "/metrics", "", nil, nil, &data); err != nil {
		return 0, false
	}
	return parseGauge(string(data), name)
}

// parseGauge finds the sample of the unlabelled metric name in text, the
// Prometheus text format; ok is false when it is absent or not a number.
func parseGauge(text, name string) (float64, bool) {
	for line := range strings.Lines(text) {
		n, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || n != name {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		return f, err == nil
	}
	return 0, false
}
