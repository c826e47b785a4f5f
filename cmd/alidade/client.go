package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls an Alidade server's JSON API.
type apiClient struct {
	url, key string
	http     *http.Client
}

// keyHint says where the key comes from, e.g. "--key or ALIDADE_ADMIN_KEY".
func newAPIClient(url, key, keyHint string) (*apiClient, error) {
	if url == "" {
		return nil, &usageError{msg: "no server URL: pass --url or set ALIDADE_URL"}
	}
	if key == "" {
		return nil, &usageError{msg: "no API key: pass " + keyHint}
	}
	return &apiClient{url: strings.TrimRight(url, "/"), key: key, http: &http.Client{Timeout: time.Minute}}, nil
}

// do sends body (nil for none) as JSON and decodes a JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return serverError(resp, data)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// serverError turns a failed answer into an error naming the server's
// error code and message (its JSON error shape), or its status.
func serverError(resp *http.Response, body []byte) error {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return fmt.Errorf("server said %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return fmt.Errorf("server said %s", resp.Status)
}
