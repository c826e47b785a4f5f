package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
)

// A Sentry SDK's check-in with a monitor_config makes a cron monitor; a
// run that does not come by its time plus margin is a missed check-in in
// the check_ins dataset, and the monitor says so.
func TestCronMonitorMissed(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	var now atomic.Int64
	now.Store(base.Add(30 * time.Second).UnixMilli())
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = func() time.Time { return time.UnixMilli(now.Load()) } }})
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + e.keys[meta.KindPublic]}
	checkIn := func(status string) {
		t.Helper()
		body := envelope(`{}`, false, [2]string{"check_in", fmt.Sprintf(`{"check_in_id":"c1","monitor_slug":"grades-sync","status":%q,"environment":"production",
			"monitor_config":{"schedule":{"type":"crontab","value":"* * * * *"},"checkin_margin":1,"max_runtime":5,"timezone":"Europe/Paris"}}`, status)})
		if code, a, _ := e.sentryPost("/api/1/envelope/", body, auth); code != 200 {
			t.Fatalf("check-in = %d %+v", code, a)
		}
	}
	checkIn("ok")
	type mon struct {
		Slug, Environment, Status string
		Schedule                  struct{ Type, Value, Timezone string }
		Margin, MaxRuntime        float64
		LastCheckIn, NextExpected time.Time
	}
	list := func() []mon {
		var out struct{ Monitors []mon }
		if code := e.call("GET", "/api/v1/monitors", e.keys[meta.KindRead], nil, nil, &out); code != 200 {
			t.Fatalf("GET /api/v1/monitors = %d", code)
		}
		return out.Monitors
	}
	ms := list()
	if len(ms) != 1 || ms[0].Slug != "grades-sync" || ms[0].Environment != "production" || ms[0].Status != "ok" || ms[0].Schedule.Value != "* * * * *" ||
		ms[0].Schedule.Timezone != "Europe/Paris" || ms[0].Margin != 1 || ms[0].MaxRuntime != 5 || !ms[0].NextExpected.Equal(base.Add(time.Minute)) {
		t.Fatalf("monitors = %+v; want grades-sync due at %v", ms, base.Add(time.Minute))
	}
	// 1 ms before the margin ends: nothing; at it: missed.
	ctx := context.Background()
	if n, err := e.srv.SweepMonitors(ctx, base.Add(2*time.Minute-time.Millisecond)); n != 0 || err != nil {
		t.Fatalf("early sweep = %d, %v", n, err)
	}
	if n, err := e.srv.SweepMonitors(ctx, base.Add(2*time.Minute)); n != 1 || err != nil {
		t.Fatalf("sweep = %d, %v; want 1 missed", n, err)
	}
	row := e.one("SELECT count() AS n, sum(failed) AS failed, min(timestamp) AS at FROM check_ins WHERE slug = 'grades-sync' AND status = 'missed'")
	checkRow(t, "missed check-ins", row, map[string]any{"n": 1, "failed": 1})
	if ms := list(); ms[0].Status != "missed" || !ms[0].NextExpected.Equal(base.Add(2*time.Minute)) {
		t.Errorf("after the miss: %+v", ms)
	}
	// Another project's read key sees no monitor.
	var p struct{ Keys map[string]string }
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	var out struct{ Monitors []mon }
	if code := e.call("GET", "/api/v1/monitors", p.Keys["read"], nil, nil, &out); code != 200 || len(out.Monitors) != 0 {
		t.Errorf("project 2 sees %d monitors (%d)", len(out.Monitors), code)
	}
}
