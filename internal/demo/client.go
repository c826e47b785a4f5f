package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient talks to the server's error tracking: the Sentry ingest
// endpoint and the error groups API.
type apiClient struct {
	base, key string
	client    *http.Client

	envelopes, retries, dropped atomic.Int64
}

// errNotAllowed is the answer to a key that may not read or change
// error groups (a write key).
var errNotAllowed = errors.New("the key may not change error groups")

func (c *apiClient) do(ctx context.Context, method, path string, body []byte, header http.Header) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, &fatalError{err.Error()}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, data, resp.Header, nil
}

func (c *apiClient) bearer() http.Header {
	return http.Header{"Authorization": {"Bearer " + c.key}}
}

// errorMessage is the message of an error answer: Alidade's, or
// Relay's detail, or the body.
func errorMessage(data []byte) string {
	var ans struct {
		Detail string `json:"detail"`
		Error  struct {
			Code, Message string
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &ans)
	switch {
	case ans.Error.Message != "":
		return ans.Error.Message
	case ans.Detail != "":
		return ans.Detail
	}
	return strings.TrimSpace(string(data))
}

var reProject = regexp.MustCompile(`belongs to project (\d+)`)

// projectID finds the key's project: GET /api/v1/session says it; a
// server without it answers an envelope posted to project 1 with the
// key's project when it is another.
func (c *apiClient) projectID(ctx context.Context) (int64, error) {
	var st int
	var data []byte
	var err error
	for attempt := 1; ; attempt++ {
		st, data, _, err = c.do(ctx, http.MethodGet, "/api/v1/session", nil, c.bearer())
		if err == nil || attempt >= 5 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("find the key's project: %w", err)
	}
	switch st {
	case http.StatusOK:
		var ans struct {
			Project *struct {
				ID int64 `json:"id"`
			} `json:"project"`
		}
		if json.Unmarshal(data, &ans) == nil && ans.Project != nil && ans.Project.ID > 0 {
			return ans.Project.ID, nil
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		return 0, &fatalError{fmt.Sprintf("the server refused the key: %d %s", st, errorMessage(data))}
	}
	h := c.sentryAuth(sdkGo + "/" + sdkGoVer)
	h.Set("Content-Type", "application/x-sentry-envelope")
	st, data, _, err = c.do(ctx, http.MethodPost, "/api/1/envelope/", []byte("{}\n"), h)
	switch {
	case err != nil:
		return 0, fmt.Errorf("find the key's project: %w", err)
	case st == http.StatusOK:
		return 1, nil
	}
	if m := reProject.FindSubmatch(data); m != nil {
		return strconv.ParseInt(string(m[1]), 10, 64)
	}
	return 0, &fatalError{fmt.Sprintf("cannot find the key's project for error tracking: %d %s", st, errorMessage(data))}
}

func (c *apiClient) sentryAuth(client string) http.Header {
	return http.Header{"X-Sentry-Auth": {"Sentry sentry_version=7, sentry_client=" + client + ", sentry_key=" + c.key}}
}

// maxRateLimitWait is the longest the demo waits for the project's error
// rate limit; past it the events are left out (counted).
const maxRateLimitWait = 10 * time.Second

// post sends one envelope until the server takes it.
func (c *apiClient) post(ctx context.Context, pid int64, e *envelope) error {
	path := "/api/" + strconv.FormatInt(pid, 10) + "/envelope/"
	sdk := sdkGo + "/" + sdkGoVer
	if strings.HasPrefix(e.ua, "Mozilla/") {
		sdk = sdkJS + "/" + sdkJSVer
	}
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		h := c.sentryAuth(sdk)
		h.Set("Content-Type", "application/x-sentry-envelope")
		h.Set("User-Agent", e.ua)
		st, data, hdr, err := c.do(ctx, http.MethodPost, path, e.body(time.Now().UnixMilli()), h)
		var wait time.Duration
		switch {
		case err != nil:
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			err = fmt.Errorf("post an envelope: %w", err)
		case st == http.StatusOK:
			c.envelopes.Add(1)
			return nil
		case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable:
			wait = time.Second
			if v, perr := strconv.Atoi(hdr.Get("Retry-After")); perr == nil && v >= 0 {
				wait = time.Duration(v) * time.Second
			}
			if strings.Contains(hdr.Get("X-Sentry-Rate-Limits"), ":key") && wait > maxRateLimitWait {
				// Over the project's error rate limit for long: the
				// envelope's other items were kept, its events not.
				c.envelopes.Add(1)
				c.dropped.Add(int64(e.events))
				return nil
			}
			wait += time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
			err = fmt.Errorf("server busy (%d): %s", st, errorMessage(data))
		case st >= 500:
			err = fmt.Errorf("server error %d: %s", st, errorMessage(data))
		default:
			return &fatalError{fmt.Sprintf("the server refused an envelope (%s): %d %s", e.summary, st, errorMessage(data))}
		}
		if attempt >= maxAttempts || ctx.Err() != nil {
			return err
		}
		c.retries.Add(1)
		if wait <= 0 {
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)))
			backoff = min(backoff*2, 10*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// postAll sends envelopes from senders at once; it stops at the first
// that fails for good.
func (c *apiClient) postAll(ctx context.Context, pid int64, envs []*envelope, senders int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan *envelope)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for e := range next {
				if err := c.post(ctx, pid, e); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, e := range envs {
		select {
		case next <- e:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// setStatus finds the error group whose title contains query and sets
// its status; errNotAllowed when the key may not.
func (c *apiClient) setStatus(ctx context.Context, query, status string) (bool, error) {
	st, data, _, err := c.do(ctx, http.MethodGet, "/api/v1/error-groups?limit=20&query="+url.QueryEscape(query), nil, c.bearer())
	switch {
	case err != nil:
		return false, err
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return false, errNotAllowed
	case st != http.StatusOK:
		return false, fmt.Errorf("list error groups: %d %s", st, errorMessage(data))
	}
	var ans struct {
		Groups []struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return false, fmt.Errorf("list error groups: %w", err)
	}
	for _, g := range ans.Groups {
		if !strings.Contains(strings.ToLower(g.Title), strings.ToLower(query)) {
			continue
		}
		body, _ := json.Marshal(map[string]string{"status": status})
		h := c.bearer()
		h.Set("Content-Type", "application/json")
		st, data, _, err := c.do(ctx, http.MethodPatch, "/api/v1/error-groups/"+strconv.FormatInt(g.ID, 10), body, h)
		switch {
		case err != nil:
			return false, err
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			return false, errNotAllowed
		case st != http.StatusOK:
			return false, fmt.Errorf("set the status of error group %d: %d %s", g.ID, st, errorMessage(data))
		}
		return true, nil
	}
	return false, nil
}
