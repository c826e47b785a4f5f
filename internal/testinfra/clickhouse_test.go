//go:build cluster

package testinfra

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClickHouseCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartClickHouseCluster(t, 2)
	t.Logf("zookeeper and 2 clickhouse shards ready in %v", time.Since(start).Round(time.Millisecond))
	s1, s2 := c.Shards[0], c.Shards[1]
	query := func(ch *ClickHouse, sql string) string {
		t.Helper()
		out, err := ch.Query(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return strings.TrimSpace(out)
	}

	// ON CLUSTER DDL sent to one shard creates the tables on both.
	query(s1, `CREATE TABLE default.points_local ON CLUSTER alidade
		(t DateTime, project UInt64, v Float64)
		ENGINE = MergeTree() PARTITION BY toYYYYMM(t) ORDER BY (project, t)`)
	query(s1, `CREATE TABLE default.points ON CLUSTER alidade AS default.points_local
		ENGINE = Distributed(alidade, default, points_local, rand())`)
	for i, ch := range c.Shards {
		if got := query(ch, "SELECT name FROM system.tables WHERE database = 'default' ORDER BY name"); got != "points\npoints_local" {
			t.Fatalf("shard %d tables = %q; want points and points_local", i+1, got)
		}
	}

	// Rows written to each shard's local table are all counted through the
	// Distributed table, whichever shard is asked.
	query(s1, "INSERT INTO default.points_local VALUES ('2026-01-01 00:00:00', 1, 1), ('2026-01-01 00:00:01', 1, 2), ('2026-01-01 00:00:02', 2, 3)")
	query(s2, "INSERT INTO default.points_local VALUES ('2026-01-01 00:00:03', 1, 10), ('2026-01-01 00:00:04', 2, 20)")
	const total = "5\t36"
	for i, ch := range c.Shards {
		if got := query(ch, "SELECT count(), sum(v) FROM default.points"); got != total {
			t.Fatalf("through shard %d: count, sum = %q; want %q", i+1, got, total)
		}
	}

	// Shard 2 down: the Distributed table answers an error that names it,
	// never the smaller sum of shard 1 alone. Only the setting
	// skip_unavailable_shards (off by default; Alidade must never set it)
	// turns that into a partial answer.
	stopStart := time.Now()
	s2.Stop()
	t.Logf("shard 2 stopped in %v", time.Since(stopStart).Round(time.Millisecond))
	out, err := s1.Query("SELECT count(), sum(v) FROM default.points")
	if err == nil {
		t.Fatalf("with shard 2 down: count, sum = %q; want an error", out)
	}
	if addr := fmt.Sprintf("127.0.0.1:%d", s2.TCPPort); !strings.Contains(err.Error(), addr) {
		t.Fatalf("with shard 2 down: error %q does not name %s", err, addr)
	}
	t.Logf("a shard down, ClickHouse 18.16 answers: %v", err)
	if got := query(s1, "SELECT count(), sum(v) FROM default.points SETTINGS skip_unavailable_shards = 1"); got != "3\t6" {
		t.Fatalf("skip_unavailable_shards = 1: count, sum = %q; want the partial \"3\\t6\"", got)
	}

	// Started again on the same ports and data: the totals are back.
	stopStart = time.Now()
	s2.Start()
	t.Logf("shard 2 started again in %v", time.Since(stopStart).Round(time.Millisecond))
	if got := query(s1, "SELECT count(), sum(v) FROM default.points"); got != total {
		t.Fatalf("after shard 2 restarted: count, sum = %q; want %q", got, total)
	}
}
