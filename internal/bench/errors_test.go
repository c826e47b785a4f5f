package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
)

// The bench's envelopes are about 5 KB, parse as Sentry envelopes, and
// group by bug: the same bug makes one fingerprint, another bug another.
func TestErrorEnvelope(t *testing.T) {
	now := time.Now()
	fp := func(n, bug int) string {
		body := ErrorEnvelope(n, bug, now)
		if len(body) < 4500 || len(body) > 6000 {
			t.Errorf("envelope of %d bytes, want about 5 KB", len(body))
		}
		env, err := errtrack.ParseEnvelope(body)
		if err != nil {
			t.Fatal(err)
		}
		if len(env.Items) != 1 || env.Items[0].Type != "event" {
			t.Fatalf("items %+v, want one event", env.Items)
		}
		in, err := errtrack.ReadEvent(env.Items[0].Payload, 1, now.UnixMilli(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Event.Exceptions) != 1 || in.Event.User.Key() == "" || in.Grouping.Fingerprint == "" {
			t.Fatalf("event %+v lacks its exception, user or fingerprint", in.Event)
		}
		if !strings.Contains(string(body), "breadcrumbs") {
			t.Error("no breadcrumbs")
		}
		return in.Grouping.Fingerprint
	}
	if a, b := fp(1, 3), fp(2, 3); a != b {
		t.Errorf("one bug, two fingerprints: %s, %s", a, b)
	}
	if a, b := fp(1, 3), fp(1, 4); a == b {
		t.Errorf("two bugs, one fingerprint %s", a)
	}
}
