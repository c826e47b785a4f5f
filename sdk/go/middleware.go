package alidade

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Unmatched is the endpoint Middleware records for a request no route
// pattern matched (a 404 of a ServeMux, or a handler that is not one).
const Unmatched = "unmatched"

// Limits on what Middleware records of a request, so that one odd request
// cannot make a point the server rejects.
const (
	maxURLBytes    = 2048
	maxMethodBytes = 32
)

// Middleware returns a handler that serves each request with next and
// records it in the requests dataset, like LogRequest: index1 the route
// pattern that matched (r.Pattern, e.g. "GET /users/{id}", set by an
// http.ServeMux; Unmatched when none), blobs the path (without the query),
// the method and Config.Service, doubles the duration (ms), the status, the
// response body's bytes and the request body's bytes (Content-Length, or the
// bytes read when it is unknown).
//
// The pattern is read after next returns, so next should be (or end in) the
// ServeMux that routes the request it is given. A nil client returns next as
// it is; a nil next means http.DefaultServeMux. The ResponseWriter given to
// next unwraps to the original (http.ResponseController works through it,
// and it is an http.Flusher, http.Hijacker and io.ReaderFrom). A panic of
// next is recorded as a 500 and goes on up the stack.
func Middleware(client *Client, next http.Handler) http.Handler {
	if next == nil {
		next = http.DefaultServeMux
	}
	if client == nil {
		return next
	}
	return &middleware{c: client, next: next}
}

type middleware struct {
	c    *Client
	next http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := m.c.now()
	rw := &responseWriter{ResponseWriter: w}
	var body *countingBody
	if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		body = &countingBody{ReadCloser: r.Body}
		r.Body = body
	}
	returned := false
	defer func() {
		status := rw.status
		switch {
		case !returned && status == 0:
			status = http.StatusInternalServerError // next panicked
		case status == 0:
			status = http.StatusOK
		}
		reqBytes := r.ContentLength
		if body != nil {
			reqBytes = body.n
		}
		m.c.LogRequest(RequestEvent{
			Endpoint:      endpoint(r.Pattern),
			URL:           sanitize(r.URL.Path, maxURLBytes),
			Method:        sanitize(r.Method, maxMethodBytes),
			Service:       m.c.cfg.Service,
			Status:        status,
			Duration:      time.Duration(m.c.now() - start),
			ResponseBytes: rw.bytes,
			RequestBytes:  max(reqBytes, 0),
			Timestamp:     time.Unix(0, start),
		})
	}()
	m.next.ServeHTTP(rw, r)
	returned = true
}

func endpoint(pattern string) string {
	if pattern == "" {
		return Unmatched
	}
	return pattern
}

// sanitize makes s valid UTF-8 of at most n bytes.
func sanitize(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return clip(s, n)
}

// responseWriter records the status and the body's size of a response.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
	_ io.ReaderFrom = (*responseWriter)(nil)
)

// Unwrap returns the original ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the original's io.ReaderFrom (sendfile) fast path.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// Flush flushes the original when it can.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hijacks the original's connection when it can (else it returns an
// error wrapping http.ErrNotSupported). A hijacked request is recorded with
// status 101 unless a status was written.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// writerOnly hides a ReadFrom method, so io.Copy does not call back into it.
type writerOnly struct{ io.Writer }

// countingBody counts the bytes read of a request body of unknown length.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
