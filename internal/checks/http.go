package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alidade/alidade/internal/duration"
)

// prober runs http checks.
type prober struct {
	allow            *Allow
	secure, insecure *http.Client
}

func newProber(allow *Allow) *prober {
	p := &prober{allow: allow}
	p.secure = p.client(false)
	p.insecure = p.client(true)
	return p
}

func (p *prober) client(insecure bool) *http.Client {
	tr := &http.Transport{
		DialContext: p.dial,
		// Every run opens its own connections, so that connect and tls
		// are measured each time.
		DisableKeepAlives: true,
		// No proxy from the environment: a proxy would hide where a check
		// really goes, and measure the proxy.
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // only with "insecure": true
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}
}

var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// dial connects where --checks-allow lets it: to a listed host name, or
// to an address inside a listed network (checked after resolution).
func (p *prober) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if p.allow != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !p.allow.Host(host) {
			d.Control = func(network, address string, c syscall.RawConn) error { return p.allow.control(network, address, c) }
		}
	}
	return d.DialContext(ctx, network, addr)
}

// timer collects a request's phases from httptrace.
type timer struct {
	mu                                  sync.Mutex
	start                               time.Time
	dnsStart, connStart, tlsStart, byte time.Time
	dns, conn, tls                      time.Duration
	tlsSeen                             bool
}

func (t *timer) trace() *httptrace.ClientTrace {
	at := func(f func(now time.Time)) {
		now := time.Now()
		t.mu.Lock()
		f(now)
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		DNSStart:     func(httptrace.DNSStartInfo) { at(func(n time.Time) { t.dnsStart = n }) },
		DNSDone:      func(httptrace.DNSDoneInfo) { at(func(n time.Time) { t.dns += n.Sub(t.dnsStart) }) },
		ConnectStart: func(string, string) { at(func(n time.Time) { t.connStart = n }) },
		ConnectDone: func(_, _ string, err error) {
			at(func(n time.Time) {
				if err == nil {
					t.conn += n.Sub(t.connStart)
				}
			})
		},
		TLSHandshakeStart:    func() { at(func(n time.Time) { t.tlsStart, t.tlsSeen = n, true }) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { at(func(n time.Time) { t.tls += n.Sub(t.tlsStart) }) },
		GotFirstResponseByte: func() { at(func(n time.Time) { t.byte = n }) },
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// run makes one request of an http check and says whether it met its
// expectations; it never returns without a Run.
func (p *prober) run(ctx context.Context, sp *Spec) Run {
	_, timeout := sp.Durations()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &timer{}
	r := Run{Type: TypeHTTP}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.trace()), sp.Method, sp.URL, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	req.Header.Set("User-Agent", "Alidade-Checks/1")
	req.Header.Set("Accept", "*/*")
	client := p.secure
	if sp.Insecure {
		client = p.insecure
	}
	t.start = time.Now()
	resp, err := client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
		resp.Body.Close()
	}
	end := time.Now()
	t.mu.Lock()
	r.Timings = Timings{DNS: ms(t.dns), Connect: ms(t.conn), Total: ms(end.Sub(t.start))}
	if !t.byte.IsZero() {
		r.Timings.TTFB = ms(t.byte.Sub(t.start))
	}
	if t.tlsSeen {
		v := ms(t.tls)
		r.Timings.TLS = &v
	}
	t.mu.Unlock()
	if resp != nil {
		r.Status = resp.StatusCode
		if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			days := math.Floor(resp.TLS.PeerCertificates[0].NotAfter.Sub(end).Hours() / 24)
			r.CertExpiresInDays = &days
		}
	}
	r.SizeBytes = int64(len(body))
	if err != nil {
		r.Error = describe(ctx, err, timeout, sp)
		return r
	}
	r.Error = expectations(sp.Expect, r.Status, body, r.Timings.Total)
	r.OK = r.Error == ""
	return r
}

// describe names what went wrong with a request.
func describe(ctx context.Context, err error, timeout time.Duration, sp *Spec) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return "timed out after " + duration.Format(timeout)
	case errors.Is(err, errTooManyRedirects):
		return errTooManyRedirects.Error()
	case errors.Is(err, ErrNotAllowed):
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Err != nil {
			return ne.Err.Error()
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Addr != nil {
			return "connection refused by " + ne.Addr.String()
		}
		return "connection refused"
	}
	msg := err.Error()
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		msg = ue.Unwrap().Error()
	}
	if strings.Contains(msg, "x509:") && !sp.Insecure {
		msg += ` (a self-signed or private certificate: set "insecure": true to accept it and still read its expiry)`
	}
	return msg
}

// expectations returns the first expectation an answer breaks, or "".
func expectations(e *Expect, status int, body []byte, totalMs float64) string {
	if e == nil || len(e.Status) == 0 {
		if status >= 400 {
			return fmt.Sprintf("status %d, expected < 400", status)
		}
	} else if !containsInt(e.Status, status) {
		return fmt.Sprintf("status %d, expected %s", status, orList(e.Status))
	}
	if e == nil {
		return ""
	}
	if e.Contains != "" && !bytes.Contains(body, []byte(e.Contains)) {
		return fmt.Sprintf("body does not contain %q", e.Contains)
	}
	if e.MaxMs > 0 && totalMs > e.MaxMs {
		return fmt.Sprintf("took %s ms > %s", strconv.FormatFloat(math.Round(totalMs), 'f', -1, 64), strconv.FormatFloat(e.MaxMs, 'f', -1, 64))
	}
	return ""
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// orList writes 200, 201 or 204.
func orList(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = strconv.Itoa(v)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
