package errtrack

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	for _, c := range []struct {
		name  string
		body  string
		types []string
		loads []string
		err   bool
	}{
		{"lengths", "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":7}\n{\"a\":1}\n{\"type\":\"attachment\",\"length\":3}\na\nb\n",
			[]string{"event", "attachment"}, []string{`{"a":1}`, "a\nb"}, false},
		{"no lengths", "{}\n{\"type\":\"session\"}\n{\"sid\":\"x\"}\n{\"type\":\"client_report\"}\n{}",
			[]string{"session", "client_report"}, []string{`{"sid":"x"}`, `{}`}, false},
		{"no trailing newline after a length", "{}\n{\"type\":\"event\",\"length\":2}\n{}",
			[]string{"event"}, []string{`{}`}, false},
		{"empty payload", "{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"event\",\"length\":2}\n{}\n",
			[]string{"attachment", "event"}, []string{"", `{}`}, false},
		{"header only", "{\"dsn\":\"https://k@h/1\"}\n", nil, nil, false},
		{"header only without newline", "{}", nil, nil, false},
		{"blank lines between items", "{}\n\n{\"type\":\"event\"}\n{}\n\n\n", []string{"event"}, []string{`{}`}, false},
		{"length past the end", "{}\n{\"type\":\"event\",\"length\":50}\n{}\n", nil, nil, true},
		{"negative length", "{}\n{\"type\":\"event\",\"length\":-1}\n{}\n", nil, nil, true},
		{"no type", "{}\n{\"length\":2}\n{}\n", nil, nil, true},
		{"not an envelope", "hello", nil, nil, true},
		{"bad item header", "{}\nnope\n", nil, nil, true},
	} {
		env, err := ParseEnvelope([]byte(c.body))
		if (err != nil) != c.err {
			t.Errorf("%s: ParseEnvelope err = %v; want error %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Errorf("%s: %v is not ErrBadPayload", c.name, err)
			}
			continue
		}
		if len(env.Items) != len(c.types) {
			t.Errorf("%s: %d items; want %d", c.name, len(env.Items), len(c.types))
			continue
		}
		for i, it := range env.Items {
			if it.Type != c.types[i] || string(it.Payload) != c.loads[i] {
				t.Errorf("%s: item %d = %s %q; want %s %q", c.name, i, it.Type, it.Payload, c.types[i], c.loads[i])
			}
		}
	}
	env, _ := ParseEnvelope([]byte(`{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC","dsn":"https://k@h/1","sent_at":"2026-12-01T10:00:00Z"}`))
	if env.Header.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" || env.Header.DSN != "https://k@h/1" || env.Header.SentAt != 1796119200000 {
		t.Errorf("header = %+v", env.Header)
	}
}

func TestAuthKeyAndDSN(t *testing.T) {
	for h, want := range map[string]string{
		"Sentry sentry_version=7, sentry_client=sentry.go/0.46.2, sentry_key=ald_public_abc": "ald_public_abc",
		"sentry sentry_key=k1,sentry_secret=s":                                               "k1",
		`Sentry sentry_key="quoted"`:                                                         "quoted",
		"sentry_key=bare, sentry_version=7":                                                  "bare",
		"Bearer abc":                                                                         "",
		"":                                                                                   "",
	} {
		if got := AuthKey(h); got != want {
			t.Errorf("AuthKey(%q) = %q; want %q", h, got, want)
		}
	}
	d, err := ParseDSN("https://ald_public_x@alidade.example.com/sub/path/12")
	if err != nil || d.PublicKey != "ald_public_x" || d.ProjectID != 12 {
		t.Errorf("ParseDSN = %+v, %v", d, err)
	}
	for _, bad := range []string{"ftp://k@h/1", "https://h/1", "https://k@h/", "https://k@h/abc", "https://k@h/0"} {
		if _, err := ParseDSN(bad); err == nil {
			t.Errorf("ParseDSN(%q) accepted", bad)
		}
	}
	dsn, err := FormatDSN("https://alidade.example.com/sub/", "ald_public_x", 3)
	if err != nil || dsn != "https://ald_public_x@alidade.example.com/sub/3" {
		t.Errorf("FormatDSN = %q, %v", dsn, err)
	}
	if back, err := ParseDSN(dsn); err != nil || back.ProjectID != 3 || back.PublicKey != "ald_public_x" {
		t.Errorf("ParseDSN(FormatDSN) = %+v, %v", back, err)
	}
}

func TestReadBodyLimits(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(strings.Repeat("a", 10_000)))
	w.Close()
	var buf bytes.Buffer
	err := ReadBody(bytes.NewReader(gz.Bytes()), "gzip", &buf, 1<<20, 5000)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 5000 {
		t.Errorf("gzip bomb: %v; want TooLargeError 5000", err)
	}
	buf.Reset()
	if err := ReadBody(bytes.NewReader(gz.Bytes()), "gzip", &buf, 10, 1<<20); !errors.As(err, &tl) || tl.Limit != 10 {
		t.Errorf("wire limit: %v", err)
	}
	buf.Reset()
	if err := ReadBody(strings.NewReader("x"), "compress", &buf, 10, 10); !errors.Is(err, ErrBadPayload) {
		t.Errorf("unknown encoding: %v", err)
	}
	buf.Reset()
	if err := ReadBody(bytes.NewReader(gz.Bytes()), " GZIP ", &buf, 1<<20, 1<<20); err != nil || buf.Len() != 10_000 {
		t.Errorf("GZIP: %v %d", err, buf.Len())
	}
}
