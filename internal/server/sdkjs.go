package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"

	sdkjs "github.com/alidade/alidade/sdk/js"
)

// The browser SDK (sdk/js), embedded in the binary:
//   - GET /sdk.js: the current bundle, cached briefly (5 minutes) and
//     revalidated by ETag; Content-Location names its versioned path.
//   - GET /sdk/<hash>.js: the same bytes under their content hash, cached
//     for a year as immutable. A hash this server does not have (a page
//     pinned to the bundle of an older version) is redirected to /sdk.js.
// Both are gzipped when the client accepts it.

// sdkAsset is the bundle as served.
type sdkAsset struct {
	body []byte
	gz   []byte
	hash string // hex SHA-256 of body, first 16 digits
	etag string
}

func newSDKAsset(body []byte) *sdkAsset {
	sum := sha256.Sum256(body)
	a := &sdkAsset{body: body, hash: hex.EncodeToString(sum[:8])}
	a.etag = `"` + a.hash + `"`
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	a.gz = b.Bytes()
	return a
}

var sdkBundle = sync.OnceValue(func() *sdkAsset { return newSDKAsset(sdkjs.Bundle) })

// SDKPath is the versioned path of the embedded browser SDK, "/sdk/<hash>.js".
func SDKPath() string { return "/sdk/" + sdkBundle().hash + ".js" }

const (
	sdkShortCache = "public, max-age=300"
	sdkImmutable  = "public, max-age=31536000, immutable"
)

func (s *Server) handleSDK(w http.ResponseWriter, r *http.Request) {
	a := sdkBundle()
	w.Header().Set("Content-Location", "/sdk/"+a.hash+".js")
	serveSDK(w, r, a, sdkShortCache)
}

func (s *Server) handleSDKVersioned(w http.ResponseWriter, r *http.Request) {
	a := sdkBundle()
	file := r.PathValue("file")
	hash, ok := strings.CutSuffix(file, ".js")
	switch {
	case ok && hash == a.hash:
		serveSDK(w, r, a, sdkImmutable)
	case ok && isHex(hash) && len(hash) >= 8 && len(hash) <= 64:
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/sdk.js", http.StatusFound)
	default:
		writeError(w, r, http.StatusNotFound, "not_found", "no SDK file "+strconv.Quote(file)+"; the SDK is /sdk.js (and "+SDKPath()+" for this version)")
	}
}

func serveSDK(w http.ResponseWriter, r *http.Request, a *sdkAsset, cache string) {
	h := w.Header()
	h.Set("Content-Type", "application/javascript; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	// Any site may load it, also with <script crossorigin> (full error
	// details) or from a page with Cross-Origin-Embedder-Policy.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison: a gzipped and a plain body share the tag).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (and
// does not give it q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
