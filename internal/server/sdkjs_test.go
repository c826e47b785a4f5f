package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/server"
	sdkjs "github.com/alidade/alidade/sdk/js"
)

// getSDK fetches path with the given request headers, without Go's
// transparent gzip, and returns the answer with its raw body.
func getSDK(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestSDKServed(t *testing.T) {
	e := newEnv(t, envOptions{})
	versioned := server.SDKPath()
	if !strings.HasPrefix(versioned, "/sdk/") || !strings.HasSuffix(versioned, ".js") || len(versioned) != len("/sdk/0123456789abcdef.js") {
		t.Fatalf("SDKPath() = %q; want /sdk/<16 hex digits>.js", versioned)
	}

	resp, body := getSDK(t, "GET", e.url+"/sdk.js", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, sdkjs.Bundle) {
		t.Fatalf("GET /sdk.js = %d, %d bytes; want 200 and the %d-byte bundle", resp.StatusCode, len(body), len(sdkjs.Bundle))
	}
	for k, want := range map[string]string{
		"Content-Type":                "application/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=300",
		"Content-Location":            versioned,
		"Vary":                        "Accept-Encoding",
		"X-Content-Type-Options":      "nosniff",
		"Access-Control-Allow-Origin": "*",
		"Content-Encoding":            "",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("GET /sdk.js: %s = %q; want %q", k, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if etag != `"`+strings.TrimSuffix(strings.TrimPrefix(versioned, "/sdk/"), ".js")+`"` {
		t.Errorf("ETag = %q; want the content hash of %s", etag, versioned)
	}

	resp, body = getSDK(t, "GET", e.url+versioned, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, sdkjs.Bundle) {
		t.Fatalf("GET %s = %d, %d bytes; want 200 and the bundle", versioned, resp.StatusCode, len(body))
	}
	if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
		t.Errorf("GET %s: Cache-Control = %q; want %q", versioned, got, want)
	}
	if resp.Header.Get("ETag") != etag {
		t.Errorf("GET %s: ETag = %q; want %q", versioned, resp.Header.Get("ETag"), etag)
	}

	resp, body = getSDK(t, "HEAD", e.url+"/sdk.js", nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(sdkjs.Bundle)) {
		t.Errorf("HEAD /sdk.js = %d, %d bytes, Content-Length %d; want 200, no body, %d", resp.StatusCode, len(body), resp.ContentLength, len(sdkjs.Bundle))
	}
}

func TestSDKGzip(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"*", true},
		{"gzip;q=0", false},
		{"identity", false},
		{"", false},
		{"br", false},
	} {
		for _, path := range []string{"/sdk.js", server.SDKPath()} {
			resp, body := getSDK(t, "GET", e.url+path, map[string]string{"Accept-Encoding": tc.accept})
			gz := resp.Header.Get("Content-Encoding") == "gzip"
			if gz != tc.gzip {
				t.Errorf("GET %s with Accept-Encoding %q: Content-Encoding %q; want gzip %v", path, tc.accept, resp.Header.Get("Content-Encoding"), tc.gzip)
				continue
			}
			if gz {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, sdkjs.Bundle) {
				t.Errorf("GET %s with Accept-Encoding %q: the body is not the bundle", path, tc.accept)
			}
			if gz && resp.ContentLength >= int64(len(sdkjs.Bundle)) {
				t.Errorf("GET %s gzipped: Content-Length %d; want less than %d", path, resp.ContentLength, len(sdkjs.Bundle))
			}
		}
	}
}

func TestSDKRevalidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, _ := getSDK(t, "GET", e.url+"/sdk.js", nil)
	etag := resp.Header.Get("ETag")
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp, body := getSDK(t, "GET", e.url+"/sdk.js", map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q; want 304, no body, %q", inm, resp.StatusCode, len(body), resp.Header.Get("ETag"), etag)
		}
	}
	if resp, _ := getSDK(t, "GET", e.url+"/sdk.js", map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != 200 {
		t.Errorf("If-None-Match of another version: %d; want 200", resp.StatusCode)
	}
}

func TestSDKOtherVersions(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A page pinned to an older bundle still gets the SDK, uncached.
	resp, _ := getSDK(t, "GET", e.url+"/sdk/00000000deadbeef.js", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/sdk.js" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET an old version: %d, Location %q, Cache-Control %q; want 302 to /sdk.js, no-store", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	for _, path := range []string{"/sdk/evil.js", "/sdk/0123456789abcdef.css", "/sdk/ABCDEF0123456789.js"} {
		resp, body := getSDK(t, "GET", e.url+path, nil)
		if resp.StatusCode != 404 || !strings.Contains(string(body), "/sdk.js") {
			t.Errorf("GET %s = %d %s; want 404 naming /sdk.js", path, resp.StatusCode, body)
		}
	}
	if resp, _ := getSDK(t, "POST", e.url+"/sdk.js", nil); resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != 404 {
		t.Errorf("POST /sdk.js = %d; want 405 or 404", resp.StatusCode)
	}
}
