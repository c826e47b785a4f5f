package duckdb_test

import (
	"context"
	"testing"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// Cron monitors survive a reopen; a put replaces the monitor of the same
// project, slug and environment.
func TestMonitorsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: "0 2 * * *", Timezone: "Europe/Paris", Margin: 5}
	for _, m := range []monitors.Monitor{
		{Project: 1, Slug: "nightly", Environment: "prod", Config: cfg, LastStatus: "ok", NextExpected: 100},
		{Project: 1, Slug: "nightly", Environment: "staging", LastStatus: "in_progress", InProgress: "c1", InProgressSince: 7},
		{Project: 1, Slug: "nightly", Environment: "prod", Config: cfg, LastStatus: "missed", NextExpected: 200},
	} {
		if err := st.PutMonitor(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if st, err = duckdb.Open(ctx, duckdb.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.Monitors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Environment != "prod" || ms[0].LastStatus != "missed" || ms[0].NextExpected != 200 || ms[0].Config == nil ||
		ms[0].Config.Timezone != "Europe/Paris" || ms[1].InProgress != "c1" || ms[1].InProgressSince != 7 || ms[1].Config != nil {
		t.Fatalf("monitors = %+v", ms)
	}
}
