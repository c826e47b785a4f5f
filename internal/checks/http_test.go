package checks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testSite is a small site on loopback: a fast page, a failing one, a
// slow one, one that never answers, redirect chains and a large body.
func testSite(t *testing.T) *httptest.Server {
	return site(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fast":
			fmt.Fprint(w, "all ok")
		case r.URL.Path == "/fail":
			w.WriteHeader(503)
			fmt.Fprint(w, "down for maintenance")
		case r.URL.Path == "/slow":
			time.Sleep(150 * time.Millisecond)
			fmt.Fprint(w, "ok, slowly")
		case r.URL.Path == "/hang":
			<-r.Context().Done()
		case strings.HasPrefix(r.URL.Path, "/redirect/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/redirect/"))
			if n == 0 {
				fmt.Fprint(w, "arrived ok")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/redirect/%d", n-1), http.StatusFound)
		case r.URL.Path == "/big":
			w.Write([]byte(strings.Repeat("x", 2<<20)))
		default:
			http.NotFound(w, r)
		}
	})
}

func spec(t *testing.T, body string, allow *Allow) *Spec {
	t.Helper()
	sp, err := Decode([]byte(body), allow)
	if err != nil {
		t.Fatalf("Decode(%s) = %v", body, err)
	}
	return sp
}

func TestHTTPRun(t *testing.T) {
	s := testSite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	p := newProber(nil)
	for _, c := range []struct {
		url, extra string
		ok         bool
		status     int
		err        string
	}{
		{s.URL + "/fast", `"expect":{"status":[200],"contains":"ok","maxMs":60000}`, true, 200, ""},
		{s.URL + "/fast", ``, true, 200, ""},
		{s.URL + "/fail", `"expect":{"status":[200]}`, false, 503, "status 503, expected 200"},
		{s.URL + "/fail", `"expect":{"status":[200,201,204]}`, false, 503, "status 503, expected 200, 201 or 204"},
		{s.URL + "/fail", ``, false, 503, "status 503, expected < 400"},
		{s.URL + "/fast", `"expect":{"contains":"healthy"}`, false, 200, `body does not contain "healthy"`},
		{s.URL + "/slow", `"expect":{"maxMs":100}`, false, 200, "took "},
		{s.URL + "/hang", `"timeout":"200ms"`, false, 0, "timed out after 200ms"},
		{"http://" + closed + "/", ``, false, 0, "connection refused by " + closed},
		{s.URL + "/redirect/5", `"expect":{"contains":"arrived"}`, true, 200, ""},
		{s.URL + "/redirect/6", ``, false, 302, "stopped after 5 redirects"},
		{s.URL + "/nope", `"method":"HEAD","expect":{"status":[404]}`, true, 404, ""},
	} {
		body := fmt.Sprintf(`{"name":"t","type":"http","url":%q`, c.url)
		if c.extra != "" {
			body += "," + c.extra
		}
		r := p.run(context.Background(), spec(t, body+"}", nil))
		if r.OK != c.ok || r.Status != c.status || !strings.HasPrefix(r.Error, c.err) || (c.err == "") != (r.Error == "") {
			t.Errorf("%s %s: ok %v status %d error %q; want %v %d %q", c.url, c.extra, r.OK, r.Status, r.Error, c.ok, c.status, c.err)
		}
		if r.Timings.TLS != nil || r.CertExpiresInDays != nil {
			t.Errorf("%s: tls %v, cert days %v on plain http", c.url, r.Timings.TLS, r.CertExpiresInDays)
		}
		if c.ok && (r.Timings.Total <= 0 || r.Timings.TTFB <= 0 || r.Timings.TTFB > r.Timings.Total) {
			t.Errorf("%s: timings %+v", c.url, r.Timings)
		}
	}
	if r := p.run(context.Background(), spec(t, fmt.Sprintf(`{"name":"t","type":"http","url":%q,"expect":{"maxMs":100}}`, s.URL+"/slow"), nil)); !strings.HasSuffix(r.Error, " ms > 100") {
		t.Errorf("slow: %q; want took N ms > 100", r.Error)
	}
	r := p.run(context.Background(), spec(t, fmt.Sprintf(`{"name":"t","type":"http","url":%q}`, s.URL+"/big"), nil))
	if !r.OK || r.SizeBytes != MaxBodyBytes {
		t.Errorf("big body: ok %v, %d bytes read; want %d", r.OK, r.SizeBytes, MaxBodyBytes)
	}
}

// selfSigned is a certificate for 127.0.0.1 that expires at notAfter.
func selfSigned(t *testing.T, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "checks test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A self-signed certificate that expires in 10 days and an hour: an
// insecure check accepts it and reads 10 days; a secure one names the
// certificate's fault.
func TestHTTPRunCertificate(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, time.Now().Add(10*24*time.Hour+time.Hour))}}
	s.StartTLS()
	t.Cleanup(s.Close)
	p := newProber(nil)
	r := p.run(context.Background(), spec(t, fmt.Sprintf(`{"name":"t","type":"http","url":%q,"insecure":true}`, s.URL), nil))
	if !r.OK || r.CertExpiresInDays == nil || *r.CertExpiresInDays != 10 || r.Timings.TLS == nil || *r.Timings.TLS <= 0 {
		t.Fatalf("insecure: %+v", r)
	}
	r = p.run(context.Background(), spec(t, fmt.Sprintf(`{"name":"t","type":"http","url":%q}`, s.URL), nil))
	if r.OK || !strings.Contains(r.Error, "x509: certificate signed by unknown authority") || !strings.Contains(r.Error, `"insecure": true`) {
		t.Fatalf("secure: %+v", r)
	}
}

// --checks-allow is checked on the connection: a listed name goes to its
// address, an unlisted one that resolves outside the listed networks is
// refused, as is an address.
func TestHTTPRunAllow(t *testing.T) {
	s := testSite(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	byName, _ := ParseAllow("localhost")
	nets, _ := ParseAllow("10.0.0.0/8")
	loop, _ := ParseAllow("127.0.0.0/8")
	for _, c := range []struct {
		allow *Allow
		url   string
		err   string
	}{
		{byName, "http://localhost:" + port + "/fast", ""},
		{nets, "http://localhost:" + port + "/fast", "is not allowed by --checks-allow"},
		{loop, "http://localhost:" + port + "/fast", ""},
		{loop, s.URL + "/fast", ""},
		{nets, s.URL + "/fast", "address 127.0.0.1 is not allowed by --checks-allow"},
		// A redirect is checked like the first request.
		{byName, "http://localhost:" + port + "/redirect/0", ""},
	} {
		sp := &Spec{Name: "t", Type: TypeHTTP, URL: c.url, Method: "GET", Every: "1m", Timeout: "5s"}
		r := newProber(c.allow).run(context.Background(), sp)
		if c.err == "" && !r.OK || c.err != "" && !strings.Contains(r.Error, c.err) {
			t.Errorf("allow %s, %s: ok %v, %q; want %q", c.allow, c.url, r.OK, r.Error, c.err)
		}
	}
}
