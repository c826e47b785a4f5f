//go:build cluster

package clickhouse_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// TestNoNewFeaturesOn1816: on Debian's 18.16 (a lone server) the store
// detects none of the newer servers' features, creates the points table
// with plain types and no codecs, and its Expire deletes with a mutation;
// the version read is the server's.
func TestNoNewFeaturesOn1816(t *testing.T) {
	t.Parallel()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	out, err := ch.Query("SELECT name, value FROM system.build_options WHERE name LIKE 'VERSION%'")
	t.Logf("build_options: %q %v", out, err)
	s := open(t, chURL(ch, "feat", ""))
	if v := s.Version(); v.Major != 18 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the server is %s, not 18.x: CI tests 18.16 here (.ci/ensure-clickhouse installs Debian's)", v)
		}
		t.Skipf("SKIPPED: the server is %s, not 18.x: this test is about 18.16", v)
	}
	if f := s.Features(); f != (clickhouse.Features{}) || f.String() != "none" {
		t.Errorf("Features() on %s = %+v (%s); want none", s.Version(), f, f)
	}
	ddl, err := ch.Query("SELECT create_table_query FROM system.tables WHERE database = 'feat' AND name = 'points'")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"LowCardinality", "CODEC", "TTL", "non_replicated_deduplication_window"} {
		if strings.Contains(ddl, bad) {
			t.Errorf("the points table on 18.16 uses %s:\n%s", bad, ddl)
		}
	}
	// Expire of a dataset with a shorter retention: a mutation
	// (ALTER TABLE ... DELETE), which system.mutations lists; 18.16 has no
	// DELETE FROM.
	ctx := context.Background()
	now := time.UnixMilli(day0 + 10*store.DayMs)
	pts := []point.Point{{Dataset: "short", Timestamp: day0 + 8*store.DayMs}, {Dataset: "short", Timestamp: day0 + 9*store.DayMs + 1}}
	if err := s.Append(ctx, []store.Batch{{Project: 1, Points: pts}}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Expire(ctx, now, 30*store.DayMs*time.Millisecond, []meta.Dataset{{ProjectID: 1, Name: "short", Retention: 36 * time.Hour}})
	if err != nil || rep.RowsDeleted != 1 {
		t.Fatalf("Expire = %+v, %v; want 1 row deleted", rep, err)
	}
	cmds, err := ch.Query("SELECT command FROM system.mutations WHERE database = 'feat'")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(cmds), "DELETE WHERE") {
		t.Errorf("mutations on 18.16: %q, %v; want the ALTER TABLE ... DELETE", cmds, err)
	}
	// AppendAt is Append here: no token, the same rows.
	if err := s.AppendAt(ctx, []store.Batch{{Project: 1, Points: pts[:1]}}, store.LogPos{Seg: 1, Off: 7}); err != nil {
		t.Fatal(err)
	}
}
