package checks

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	sp, err := Decode([]byte(`{"name":"api health","type":"http","url":"https://api.example.com/healthz","every":"1m","timeout":"10s","method":"get",
		"expect":{"status":[200],"contains":"ok","maxMs":2000}}`), nil)
	if err != nil || sp.Method != "GET" || sp.Expect == nil || sp.Expect.Status[0] != 200 || sp.Expect.MaxMs != 2000 || sp.Every != "1m" {
		t.Fatalf("http: %+v, %v", sp, err)
	}
	sp, err = Decode([]byte(`{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h","device":"mobile"}`), nil)
	if err != nil || sp.Device != "mobile" || sp.Timeout != DefaultTimeoutPage || sp.Method != "" {
		t.Fatalf("page: %+v, %v", sp, err)
	}
	sp, err = Decode([]byte(`{"name":"x","type":"http","url":"http://x.example/#frag"}`), nil)
	if err != nil || sp.Every != "1m" || sp.Timeout != "10s" || sp.Method != "GET" || sp.Expect != nil || sp.URL != "http://x.example/" {
		t.Fatalf("defaults: %+v, %v", sp, err)
	}
	allow, err := ParseAllow("10.0.0.0/8, status.example.com")
	if err != nil {
		t.Fatal(err)
	}
	hostsOnly, _ := ParseAllow("status.example.com")
	http := `{"name":"a","type":"http","url":"https://a.example/","every":"30s"}`
	page := `{"name":"p","type":"page","url":"https://a.example/","every":"1h"}`
	for _, c := range []struct {
		body  string
		allow *Allow
		field string
		msg   string
	}{
		{`[]`, nil, "", "the body must be a JSON object"},
		{`{"name":"a","type":"http","url":"https://a.example/","bogus":1}`, nil, "bogus", "is not a check field"},
		{`{"type":"http","url":"https://a.example/"}`, nil, "name", "is required"},
		{strings.Replace(http, `"a"`, `"a\nb"`, 1), nil, "name", "control character"},
		{strings.Replace(http, `"http"`, `"ftp"`, 1), nil, "type", "is required"},
		{strings.Replace(http, `https://a.example/`, `ftp://a.example/`, 1), nil, "url", "http or https"},
		{strings.Replace(http, `https://a.example/`, `https://u:p@a.example/`, 1), nil, "url", "user or password"},
		{strings.Replace(http, `https://a.example/`, `https://a.example:99999/`, 1), nil, "url", "is not from 1 to 65535"},
		{strings.Replace(http, `"30s"`, `"5s"`, 1), nil, "every", "for a http check it must be from 10s to 7d"},
		{strings.Replace(http, `"30s"`, `"soon"`, 1), nil, "every", "is not a duration"},
		{strings.Replace(page, `"1h"`, `"30m"`, 1), nil, "every", "for a page check it must be from 1h"},
		{strings.Replace(http, `"30s"`, `"30s","timeout":"45s"`, 1), nil, "timeout", "longer than every"},
		{strings.Replace(http, `"30s"`, `"30s","timeout":"10ms"`, 1), nil, "timeout", "from 100ms"},
		{strings.Replace(http, `"30s"`, `"30s","method":"DELETE"`, 1), nil, "method", "GET, HEAD, POST, OPTIONS"},
		{strings.Replace(http, `"30s"`, `"30s","device":"mobile"`, 1), nil, "device", "only page checks"},
		{strings.Replace(page, `"1h"`, `"1h","method":"GET"`, 1), nil, "method", "only http checks"},
		{strings.Replace(page, `"1h"`, `"1h","expect":{}`, 1), nil, "expect", "only http checks"},
		{strings.Replace(page, `"1h"`, `"1h","device":"tablet"`, 1), nil, "device", "mobile or desktop"},
		{strings.Replace(http, `"30s"`, `"30s","expect":{"status":[200,"x"]}`, 1), nil, "expect.status[1]", "100 to 599"},
		{strings.Replace(http, `"30s"`, `"30s","expect":{"status":[]}`, 1), nil, "expect.status", "list 1 to 10"},
		{strings.Replace(http, `"30s"`, `"30s","expect":{"maxMs":-1}`, 1), nil, "expect.maxMs", "from 1 to"},
		{strings.Replace(http, `"30s"`, `"30s","expect":{"contains":5}`, 1), nil, "expect.contains", "must be a string"},
		{strings.Replace(http, `"30s"`, `"30s","expect":{"body":"x"}`, 1), nil, "expect.body", "not an expectation"},
		{strings.Replace(http, `"30s"`, `"30s","insecure":"yes"`, 1), nil, "insecure", "true or false"},
		{strings.Replace(http, `https://a.example/`, `http://127.0.0.1/`, 1), allow, "url", "not allowed by the server's --checks-allow"},
		{http, hostsOnly, "url", "host a.example is not allowed"},
	} {
		_, err := Decode([]byte(c.body), c.allow)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("Decode(%s) = %v; want field %q with %q", c.body, err, c.field, c.msg)
		}
	}
	// A name that is not listed may resolve into a listed network: the
	// connection decides.
	if _, err := Decode([]byte(http), allow); err != nil {
		t.Errorf("a name with networks listed: %v", err)
	}
	if _, err := Decode([]byte(strings.Replace(http, `https://a.example/`, `http://10.1.2.3:8080/`, 1)), allow); err != nil {
		t.Errorf("a listed address: %v", err)
	}
}

func TestParseAllow(t *testing.T) {
	a, err := ParseAllow("10.0.0.0/8 *.example.com,api.example.org, 192.0.2.7, ::1")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"10.2.3.4": true, "11.0.0.1": false, "a.example.com": true, "example.com": false,
		"api.example.org": true, "API.example.org.": true, "x.api.example.org": false, "192.0.2.7": true, "192.0.2.8": false, "[::1]": true} {
		if got := a.Host(host); got != want {
			t.Errorf("Host(%q) = %v; want %v", host, got, want)
		}
	}
	if a, err := ParseAllow(" , "); a != nil || err != nil {
		t.Errorf("empty list = %v, %v; want nil", a, err)
	}
	for _, bad := range []string{"http://x/", "10.0.0.0/99", "*"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q) = nil error", bad)
		}
	}
}
