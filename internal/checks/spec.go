package checks

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/duration"
)

// The check types.
const (
	TypeHTTP = "http" // an uptime check: one request, its status, body and timings
	TypePage = "page" // a Lighthouse lab test of a page
)

// Limits of a check, named in the errors.
const (
	MaxNameChars     = 100
	MaxURLBytes      = 2048
	MaxContainsBytes = 1024
	MaxStatuses      = 10
	MinEveryHTTP     = 10 * time.Second
	MinEveryPage     = time.Hour
	MaxEvery         = 7 * 24 * time.Hour
	MinTimeoutHTTP   = 100 * time.Millisecond
	MaxTimeoutHTTP   = time.Minute
	MinTimeoutPage   = 10 * time.Second
	MaxTimeoutPage   = 10 * time.Minute
	MaxMaxMs         = 600_000
	// MaxRedirects is how many redirects an http run follows.
	MaxRedirects = 5
	// MaxBodyBytes is how much of an answer's body an http run reads.
	MaxBodyBytes = 1 << 20
)

// Defaults of the optional fields.
const (
	DefaultEveryHTTP   = "1m"
	DefaultEveryPage   = "24h"
	DefaultTimeoutHTTP = "10s"
	DefaultTimeoutPage = "3m"
	DefaultMethod      = "GET"
	DefaultDevice      = "mobile"
)

// Methods an http check may send (without a body).
var Methods = []string{"GET", "HEAD", "POST", "OPTIONS"}

// Devices a page check may emulate.
var Devices = []string{"mobile", "desktop"}

// Expect is what an http run must see to be ok: one of Status (default:
// any status below 400), a body that contains Contains, an answer within
// MaxMs milliseconds.
type Expect struct {
	Status   []int   `json:"status,omitempty"`
	Contains string  `json:"contains,omitempty"`
	MaxMs    float64 `json:"maxMs,omitempty"`
}

// Spec is a check as written by its owner, validated and normalized:
// Every and Timeout as written (or their defaults), Method upper case and
// Device filled in for their types.
type Spec struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	URL     string `json:"url"`
	Every   string `json:"every"`
	Timeout string `json:"timeout"`
	// http
	Method string  `json:"method,omitempty"`
	Expect *Expect `json:"expect,omitempty"`
	// Insecure accepts any certificate (self-signed, another name,
	// expired): its expiry is still read.
	Insecure bool `json:"insecure,omitempty"`
	// page
	Device string `json:"device,omitempty"`
}

// Durations returns Every and Timeout parsed (valid once decoded).
func (sp *Spec) Durations() (every, timeout time.Duration) {
	every, _ = duration.Parse(sp.Every)
	timeout, _ = duration.Parse(sp.Timeout)
	return every, timeout
}

var specKeys = []string{"name", "type", "url", "every", "timeout", "method", "expect", "insecure", "device"}

// Decode reads and validates a check body; every error is a *FieldError.
// allow, when not nil, refuses a URL whose host is an address outside it
// (a name is checked when a run connects).
func Decode(body []byte, allow *Allow) (*Spec, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, fieldErr("", `the body must be a JSON object: {"name", "type", "url", "every", …}`)
	}
	if dec.More() {
		return nil, fieldErr("", "the body holds more than one JSON value")
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(specKeys, k) {
			return nil, fieldErr(clip(k), "is not a check field; use %s", strings.Join(specKeys, ", "))
		}
	}
	sp := &Spec{}
	var err error
	if sp.Name, err = decodeName(top); err != nil {
		return nil, err
	}
	if err := decodeString(top, "type", &sp.Type); err != nil {
		return nil, err
	}
	if sp.Type != TypeHTTP && sp.Type != TypePage {
		return nil, fieldErr("type", "is required: %q (an uptime check) or %q (a Lighthouse page test)", TypeHTTP, TypePage)
	}
	if sp.URL, err = decodeURL(top, allow); err != nil {
		return nil, err
	}
	minEvery, defEvery, minTimeout, maxTimeout, defTimeout := MinEveryHTTP, DefaultEveryHTTP, MinTimeoutHTTP, MaxTimeoutHTTP, DefaultTimeoutHTTP
	if sp.Type == TypePage {
		minEvery, defEvery, minTimeout, maxTimeout, defTimeout = MinEveryPage, DefaultEveryPage, MinTimeoutPage, MaxTimeoutPage, DefaultTimeoutPage
	}
	var every, timeout time.Duration
	if sp.Every, every, err = decodeDuration(top, "every", defEvery, minEvery, MaxEvery, sp.Type); err != nil {
		return nil, err
	}
	if sp.Timeout, timeout, err = decodeDuration(top, "timeout", defTimeout, minTimeout, maxTimeout, sp.Type); err != nil {
		return nil, err
	}
	if timeout > every {
		return nil, fieldErr("timeout", "is %s, longer than every (%s): a run must end before the next is due", sp.Timeout, sp.Every)
	}
	for _, k := range []string{"method", "expect", "insecure"} {
		if _, ok := top[k]; ok && sp.Type != TypeHTTP {
			return nil, fieldErr(k, "only http checks have one")
		}
	}
	if _, ok := top["device"]; ok && sp.Type != TypePage {
		return nil, fieldErr("device", "only page checks have one")
	}
	if sp.Type == TypeHTTP {
		return sp, sp.decodeHTTP(top)
	}
	sp.Device = DefaultDevice
	if err := decodeString(top, "device", &sp.Device); err != nil {
		return nil, err
	}
	sp.Device = strings.ToLower(strings.TrimSpace(sp.Device))
	if !slices.Contains(Devices, sp.Device) {
		return nil, fieldErr("device", "%q is not a device: use %s", clip(sp.Device), strings.Join(Devices, " or "))
	}
	return sp, nil
}

func (sp *Spec) decodeHTTP(top map[string]json.RawMessage) error {
	sp.Method = DefaultMethod
	if err := decodeString(top, "method", &sp.Method); err != nil {
		return err
	}
	sp.Method = strings.ToUpper(strings.TrimSpace(sp.Method))
	if !slices.Contains(Methods, sp.Method) {
		return fieldErr("method", "%q is not a method a check sends: use %s", clip(sp.Method), strings.Join(Methods, ", "))
	}
	if raw, ok := top["insecure"]; ok {
		if json.Unmarshal(raw, &sp.Insecure) != nil {
			return fieldErr("insecure", "must be true or false, got %s", clip(string(raw)))
		}
	}
	raw, ok := top["expect"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var e map[string]json.RawMessage
	if json.Unmarshal(raw, &e) != nil || e == nil {
		return fieldErr("expect", `must be an object such as {"status":[200],"contains":"ok","maxMs":2000}`)
	}
	sp.Expect = &Expect{}
	for k, v := range e {
		switch k {
		case "status":
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil {
				var one json.RawMessage
				if json.Unmarshal(v, &one) != nil {
					return fieldErr("expect.status", "must be a list of statuses such as [200, 204]")
				}
				list = []json.RawMessage{one}
			}
			if len(list) == 0 || len(list) > MaxStatuses {
				return fieldErr("expect.status", "has %d statuses; list 1 to %d", len(list), MaxStatuses)
			}
			for i, s := range list {
				n, err := strconv.Atoi(strings.TrimSpace(string(s)))
				if err != nil || n < 100 || n > 599 {
					return fieldErr("expect.status["+strconv.Itoa(i)+"]", "must be an HTTP status from 100 to 599, got %s", clip(string(s)))
				}
				if !slices.Contains(sp.Expect.Status, n) {
					sp.Expect.Status = append(sp.Expect.Status, n)
				}
			}
		case "contains":
			if json.Unmarshal(v, &sp.Expect.Contains) != nil {
				return fieldErr("expect.contains", "must be a string, got %s", clip(string(v)))
			}
			if len(sp.Expect.Contains) > MaxContainsBytes || !utf8.ValidString(sp.Expect.Contains) {
				return fieldErr("expect.contains", "must be UTF-8 text of at most %d bytes", MaxContainsBytes)
			}
		case "maxMs":
			f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
			if err != nil || math.IsNaN(f) || f <= 0 || f > MaxMaxMs {
				return fieldErr("expect.maxMs", "must be a number of milliseconds from 1 to %d, got %s", MaxMaxMs, clip(string(v)))
			}
			sp.Expect.MaxMs = f
		default:
			return fieldErr("expect."+clip(k), "is not an expectation; use status, contains or maxMs")
		}
	}
	if len(sp.Expect.Status) == 0 && sp.Expect.Contains == "" && sp.Expect.MaxMs == 0 {
		sp.Expect = nil
	}
	return nil
}

func decodeString(top map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := top[key]
	if !ok {
		return nil
	}
	if json.Unmarshal(raw, dst) != nil {
		return fieldErr(key, "must be a string, got %s", clip(string(raw)))
	}
	return nil
}

func decodeName(top map[string]json.RawMessage) (string, error) {
	raw, ok := top["name"]
	var name string
	if !ok || json.Unmarshal(raw, &name) != nil {
		return "", fieldErr("name", "is required: a string of 1 to %d characters", MaxNameChars)
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameChars || !utf8.ValidString(name) {
		return "", fieldErr("name", "has %d characters; it must have 1 to %d", n, MaxNameChars)
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		return "", fieldErr("name", "has a control character at byte %d; use one line of text", i)
	}
	return name, nil
}

func decodeURL(top map[string]json.RawMessage, allow *Allow) (string, error) {
	var s string
	if raw, ok := top["url"]; !ok || json.Unmarshal(raw, &s) != nil {
		return "", fieldErr("url", "is required: the http or https URL to check")
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxURLBytes {
		return "", fieldErr("url", "is %d bytes; the limit is %d", len(s), MaxURLBytes)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", fieldErr("url", "must be an http or https URL with a host, got %q", clip(s))
	}
	if u.User != nil {
		return "", fieldErr("url", "must not hold a user or password (read keys see the URL)")
	}
	if strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
		return "", fieldErr("url", "has a control character or is not UTF-8")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fieldErr("url", "port %q is not from 1 to 65535", clip(p))
		}
	}
	if allow != nil && !allow.Host(u.Hostname()) {
		// A name not listed may still resolve into a listed network: the
		// connection decides. An address, or any host when no network is
		// listed, is refused now.
		if _, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil || len(allow.nets) == 0 {
			return "", fieldErr("url", "host %s is not allowed by the server's --checks-allow (%s)", u.Hostname(), allow)
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// decodeDuration reads a duration string (Go's syntax, plus d for days)
// between lo and hi, or def when absent.
func decodeDuration(top map[string]json.RawMessage, key, def string, lo, hi time.Duration, typ string) (string, time.Duration, error) {
	raw, ok := top[key]
	s := def
	if ok {
		if json.Unmarshal(raw, &s) != nil {
			return "", 0, fieldErr(key, "must be a duration string such as \"30s\", \"5m\" or \"24h\", got %s", clip(string(raw)))
		}
		s = strings.TrimSpace(s)
	}
	d, err := duration.Parse(s)
	if err != nil {
		return "", 0, fieldErr(key, "%q is not a duration: write e.g. \"30s\", \"5m\", \"1h30m\" or \"1d\"", clip(s))
	}
	if d < lo || d > hi {
		return "", 0, fieldErr(key, "is %s; for a %s check it must be from %s to %s", s, typ, duration.Format(lo), duration.Format(hi))
	}
	return s, d, nil
}

// clip cuts user text quoted in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}
