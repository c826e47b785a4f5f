//go:build browser

package browsertest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test site, served on its own loopback port (so the SDK's beacon to
// Alidade is cross-origin): the pages of testdata/site with the SDK's tag
// filled in, the bundled scripts, a hero image served slowly, a small JSON
// API with delays, and a WebSocket echo server at /ws.

// heroDelay is how long the hero image takes: LCP comes after it.
const heroDelay = 600 * time.Millisecond

type site struct {
	url string // http://127.0.0.1:PORT
	srv *http.Server

	mu       sync.Mutex
	requests []string // "GET /path", in order
}

// startSite serves the test site with the SDK's tag pointing at alidadeURL
// with key.
func startSite(t *testing.T, e *env, alidadeURL, key string) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{url: "http://" + ln.Addr().String()}
	page := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "site", name))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(strings.NewReplacer("{{ALIDADE}}", alidadeURL, "{{KEY}}", key).Replace(string(b)))
	}
	index, seed := page("index.html"), page("seed.html")
	script := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(e.js, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	app, seedJS := script("app.js"), script("seed.js")
	hero := heroPNG()

	mux := http.NewServeMux()
	html := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(b)
		}
	}
	js := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(b)
		}
	}
	// The SPA's routes all answer with its page.
	mux.HandleFunc("GET /{$}", html(index))
	mux.HandleFunc("GET /lessons/{id}", html(index))
	mux.HandleFunc("GET /chat", html(index))
	mux.HandleFunc("GET /seed", html(seed))
	mux.HandleFunc("GET /app.js", js(app))
	mux.HandleFunc("GET /seed.js", js(seedJS))
	mux.HandleFunc("GET /hero.png", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(heroDelay)
		w.Header().Set("Content-Type", "image/png")
		w.Write(hero)
	})
	mux.HandleFunc("GET /api/lessons/7", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(80 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":7,"title":"Mitosis"}`)
	})
	mux.HandleFunc("GET /api/courses/3", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(120 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":3,"title":"Cell biology"}`)
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":1}`)
	})
	mux.HandleFunc("GET /ws", serveWebSocket)
	// Everything else (/api/lessons/8/notes, /api/courses/404) is a 404.

	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// heroPNG is an 800x300 image: the page's largest element, so its LCP.
func heroPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 800, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 800; x++ {
			img.Set(x, y, color.RGBA{uint8(40 + x/8), uint8(120 + y/4), 180, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// serveWebSocket is a minimal RFC 6455 echo server: it answers text
// messages with the same text, a close frame with a close frame, and the
// message "drop" by closing the TCP connection without a close frame, which
// the browser reports as code 1006.
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "a WebSocket handshake is expected", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	for {
		op, payload, err := readFrame(rw.Reader)
		if err != nil {
			return
		}
		switch op {
		case 0x1: // text
			if string(payload) == "drop" {
				return // no close frame: an abnormal closure
			}
			writeFrame(rw.Writer, 0x1, payload)
		case 0x8: // close: echo its code
			writeFrame(rw.Writer, 0x8, payload)
			rw.Flush()
			return
		case 0x9: // ping
			writeFrame(rw.Writer, 0xA, payload)
		}
		if rw.Flush() != nil {
			return
		}
	}
}

// readFrame reads one client frame (masked, not fragmented: the browser
// sends small messages whole).
func readFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op = h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("frame too large")
	}
	var mask [4]byte
	if h[1]&0x80 != 0 {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return op, payload, nil
}

// writeFrame writes one unmasked server frame.
func writeFrame(w *bufio.Writer, op byte, payload []byte) {
	w.WriteByte(0x80 | op)
	switch n := len(payload); {
	case n < 126:
		w.WriteByte(byte(n))
	case n < 1<<16:
		w.WriteByte(126)
		binary.Write(w, binary.BigEndian, uint16(n))
	default:
		w.WriteByte(127)
		binary.Write(w, binary.BigEndian, uint64(n))
	}
	w.Write(payload)
}
