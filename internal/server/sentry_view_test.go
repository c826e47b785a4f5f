package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/meta"
)

// A browser event's browser and os contexts come from its request's
// User-Agent, as Relay fills them; contexts the SDK sent are kept.
func TestSentryEventAgentContexts(t *testing.T) {
	e := newEnv(t, envOptions{})
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + e.keys[meta.KindPublic]}
	withUA := strings.Replace(jsEvent(1, "no contexts"), `"User-Agent":"Mozilla/5.0"`, `"User-Agent":"`+uaChrome+`"`, 1)
	own := strings.Replace(jsEvent(2, "own contexts"), `"User-Agent":"Mozilla/5.0"`, `"User-Agent":"`+uaChrome+`"`, 1)
	own = strings.Replace(own, `"release":`, `"contexts":{"browser":{"name":"Brave","version":"1.60"},"app":{"x":1}},"release":`, 1)
	for _, ev := range []string{withUA, own} {
		if code, a, _ := e.sentryPost("/api/1/envelope/", envelope(`{}`, false, [2]string{"event", ev}), auth); code != 200 {
			t.Fatalf("envelope = %d %+v", code, a)
		}
	}
	type ctx struct{ Type, Name, Version string }
	get := func(n int) map[string]json.RawMessage {
		var v struct{ Contexts map[string]json.RawMessage }
		if code := e.call("GET", "/api/v1/events/"+eventID(n), e.keys[meta.KindRead], nil, nil, &v); code != 200 {
			t.Fatalf("GET event %d = %d", n, code)
		}
		return v.Contexts
	}
	c := get(1)
	var b, o ctx
	json.Unmarshal(c["browser"], &b)
	json.Unmarshal(c["os"], &o)
	if b.Type != "browser" || b.Name != "Chrome" || !strings.HasPrefix(b.Version, "120") || o.Name != "Windows" {
		t.Errorf("derived contexts = browser %+v os %+v (all %s)", b, o, c)
	}
	c = get(2)
	b, o = ctx{}, ctx{}
	json.Unmarshal(c["browser"], &b)
	json.Unmarshal(c["os"], &o)
	if b.Name != "Brave" || b.Version != "1.60" || o.Name != "Windows" || string(c["app"]) != `{"x":1}` {
		t.Errorf("contexts = browser %+v os %+v app %s; want the SDK's browser kept, the os added", b, o, c["app"])
	}
}

// An attachment sent in an envelope of its own, whose header names the
// event, is shown with that event (sent before or after it); one whose
// envelope names no event is skipped, the rest of the envelope kept.
func TestSentryStandaloneAttachments(t *testing.T) {
	e := newEnv(t, envOptions{})
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + e.keys[meta.KindPublic]}
	post := func(body []byte) {
		t.Helper()
		if code, a, _ := e.sentryPost("/api/1/envelope/", body, auth); code != 200 {
			t.Fatalf("envelope = %d %+v", code, a)
		}
	}
	withName := func(b []byte, name string) []byte {
		return []byte(strings.Replace(string(b), `{"type":"attachment","length":`, `{"type":"attachment","filename":"`+name+`","length":`, 1))
	}
	// Before its event, then the event, then another after it.
	post(withName(envelope(`{"event_id":"`+eventID(1)+`"}`, true, [2]string{"attachment", "before"}), "a.txt"))
	post(envelope(`{}`, false, [2]string{"event", jsEvent(1, "with later attachments")}))
	post(withName(envelope(`{"event_id":"`+eventID(1)+`"}`, true, [2]string{"attachment", "after it"}), "b.txt"))
	// No event named: skipped.
	post(withName(envelope(`{}`, true, [2]string{"attachment", "orphan"}), "c.txt"))
	var ev struct {
		Attachments []struct {
			Filename string
			Size     int
		}
	}
	if code := e.call("GET", "/api/v1/events/"+eventID(1), e.keys[meta.KindRead], nil, nil, &ev); code != 200 {
		t.Fatalf("GET event = %d", code)
	}
	names := map[string]int{}
	for _, a := range ev.Attachments {
		names[a.Filename] = a.Size
	}
	if len(names) != 2 || names["a.txt"] != 6 || names["b.txt"] != 8 {
		t.Errorf("attachments = %+v; want a.txt (6 bytes) and b.txt (8)", ev.Attachments)
	}
}
