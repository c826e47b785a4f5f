package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Message is what a notification says: Alidade's webhook body.
type Message struct {
	Rule      RuleRef        `json:"rule"`
	State     string         `json:"state"`
	Value     *float64       `json:"value"`
	Condition Condition      `json:"condition"`
	At        string         `json:"at"`
	URL       string         `json:"url"`
	Group     map[string]any `json:"group,omitempty"`
}

// RuleRef names a rule in a notification.
type RuleRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// WebhookBody is the JSON a webhook target receives.
func WebhookBody(m Message) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// SlackBody is the JSON a Slack incoming webhook (or a compatible one:
// Mattermost, Rocket.Chat, Discord's /slack endpoint) receives: "text"
// for notifications and clients without blocks, and one section block.
func SlackBody(m Message) []byte {
	text := slackText(m)
	body := map[string]any{
		"text": text,
		"blocks": []any{map[string]any{
			"type": "section",
			"text": map[string]any{"type": "mrkdwn", "text": text},
		}},
	}
	b, _ := json.Marshal(body)
	return b
}

func slackText(m Message) string {
	val := "no value"
	if m.Value != nil {
		val = strconv.FormatFloat(*m.Value, 'g', 6, 64)
	}
	icon := map[string]string{StateFiring: ":rotating_light:", StateResolved: ":white_check_mark:"}[m.State]
	if icon == "" {
		icon = ":information_source:"
	}
	cond := m.Condition.Op + " " + strconv.FormatFloat(m.Condition.Value, 'g', 6, 64)
	text := fmt.Sprintf("%s *%s* %s: value %s (condition %s) at %s", icon, slackEscape(m.Rule.Name), strings.ToUpper(m.State), val, slackEscape(cond), m.At)
	if len(m.Group) > 0 {
		parts := make([]string, 0, len(m.Group))
		for k, v := range m.Group {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(parts)
		text += " [" + slackEscape(strings.Join(parts, ", ")) + "]"
	}
	if m.URL != "" {
		text += " <" + m.URL + "|open the rule>"
	}
	return text
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Result is what one target said to one attempt.
type Result struct {
	Status  int    // HTTP status (0: no answer)
	Message string // the answer's start, or the error
	OK      bool
	// Retry says a failure may pass: a network error, a timeout, 408,
	// 429 or a 5xx. Other statuses are final.
	Retry bool
}

// sender posts notifications.
type sender struct {
	client  *http.Client
	timeout time.Duration
}

func newSender(timeout time.Duration, forbidPrivate bool) *sender {
	d := &net.Dialer{Timeout: timeout}
	if forbidPrivate {
		// The address is checked after the name is resolved, on the
		// connection itself: a name that resolves to a private address
		// (DNS rebinding included) is refused as an address typed in.
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !publicIP(ip) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		// No proxy from the environment: a proxy would hide where a
		// notification really goes.
	}
	return &sender{
		client: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// Redirects are not followed: a target that redirects would
			// let a public URL lead to a private one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: timeout,
	}
}

// publicIP reports an address that is none of loopback, private (RFC
// 1918, RFC 4193), link-local (cloud metadata services live there),
// unspecified, multicast or CGNAT.
func publicIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	if v4 := ip.To4(); v4 != nil && v4[0] == 100 && v4[1]&0xc0 == 64 { // 100.64.0.0/10
		return false
	}
	return true
}

// send posts body to t and says what came back.
func (s *sender) send(ctx context.Context, t Target, body []byte, delivery string) Result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return Result{Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alidade-Alerts/1")
	if delivery != "" {
		// Receivers may drop a delivery they saw: a retry after a lost
		// answer carries the same id.
		req.Header.Set("X-Alidade-Delivery", delivery)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		msg := err.Error()
		if ue, ok := err.(interface{ Unwrap() error }); ok && ue.Unwrap() != nil {
			msg = ue.Unwrap().Error()
		}
		return Result{Message: msg, Retry: !strings.Contains(msg, ErrForbiddenAddress.Error())}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	r := Result{Status: resp.StatusCode, Message: strings.TrimSpace(strings.ToValidUTF8(string(head), "?"))}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.OK = true
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		r.Retry = true
	}
	if r.Message == "" && !r.OK {
		r.Message = http.StatusText(resp.StatusCode)
	}
	return r
}

// body builds the body of a message for a target's type.
func body(t Target, m Message) []byte {
	if t.Type == "slack" {
		return SlackBody(m)
	}
	return WebhookBody(m)
}
