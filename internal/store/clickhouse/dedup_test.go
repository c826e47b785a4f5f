//go:build cluster

package clickhouse_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// TestDeduplicates: on a cluster whose servers define {shard} and
// {replica}, a new database's local tables are ReplicatedMergeTree under a
// Distributed table sharded by a hash of the row, and the same Append
// repeated (through either shard's server) stores its points once, while
// other points are stored as usual; a database an earlier Alidade created
// (MergeTree, rand()) keeps its engines, works, and says it does not
// deduplicate; a lone server without the macros makes a MergeTree.
func TestDeduplicates(t *testing.T) {
	c := testinfra.StartClickHouseCluster(t, 2)
	ctx := context.Background()
	s := open(t, chURL(c.Shards[0], "dedup", "cluster="+c.Name+"&rollups=on"))
	if !s.Deduplicates() || !strings.HasPrefix(s.Engine(), "ReplicatedMergeTree('/clickhouse/tables/{shard}/dedup/points_local'") {
		t.Fatalf("new database on a cluster: Deduplicates %v, engine %s; want a ReplicatedMergeTree", s.Deduplicates(), s.Engine())
	}
	other := open(t, chURL(c.Shards[1], "dedup", "cluster="+c.Name))
	r := rand.New(rand.NewPCG(3, 4))
	batch := []store.Batch{{Project: 1, Points: genPoints(r, 2000)}}
	more := []store.Batch{{Project: 1, Points: genPoints(r, 300)}}
	rows := func(db string) string {
		out, err := c.Shards[0].Query("SELECT count() FROM " + db + ".points")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	for i, st := range []*clickhouse.Store{s, other, s} {
		if err := st.Append(ctx, batch); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if got := rows("dedup"); got != "2000" {
		t.Errorf("the same 2000 points appended three times (twice through shard 1, once through shard 2): %s stored; want 2000", got)
	}
	// The rollup table's view sees a dropped block too; its own insert
	// is the same block each time, which its replicated table drops.
	rolled := func(db string) string {
		out, err := c.Shards[0].Query("SELECT countMerge(n) FROM " + db + ".points_rollup")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	if got := rolled("dedup"); got != "2000" {
		t.Errorf("the same 2000 points appended three times: the rollup table counts %s; want 2000", got)
	}
	if err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	if got := rows("dedup"); got != "2300" {
		t.Errorf("after 300 other points: %s stored; want 2300", got)
	}
	if got := rolled("dedup"); got != "2300" {
		t.Errorf("after 300 other points: the rollup table counts %s; want 2300", got)
	}
	for i, sh := range c.Shards {
		out, err := sh.Query("SELECT count() FROM dedup.points_local")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.TrimSpace(out); n == "0" {
			t.Errorf("shard %d holds no points: the sharding key does not spread them", i+1)
		}
	}

	// A database of an earlier Alidade: MergeTree under rand().
	on := " ON CLUSTER " + c.Name
	for _, q := range []string{
		"CREATE DATABASE old" + on,
		"CREATE TABLE old.points_local" + on + " AS dedup.points_local ENGINE = MergeTree() PARTITION BY toDate(timestamp) ORDER BY (project, dataset, timestamp)",
		"CREATE TABLE old.points" + on + " AS old.points_local ENGINE = Distributed(" + c.Name + ", old, points_local, rand())",
		"CREATE TABLE old.schema_version" + on + " (version UInt32, applied DateTime) ENGINE = MergeTree() ORDER BY version",
		"INSERT INTO old.schema_version VALUES (1, now())",
	} {
		if _, err := c.Shards[0].Query(q); err != nil {
			t.Fatal(err)
		}
	}
	old := open(t, chURL(c.Shards[0], "old", "cluster="+c.Name))
	if old.Deduplicates() || !strings.HasPrefix(old.Engine(), "MergeTree") {
		t.Errorf("a database of an earlier Alidade: Deduplicates %v, engine %s; want its MergeTree kept, not deduplicating", old.Deduplicates(), old.Engine())
	}
	for range 2 {
		if err := old.Append(ctx, more); err != nil {
			t.Fatal(err)
		}
	}
	if got := rows("old"); got != "600" {
		t.Errorf("300 points appended twice to a MergeTree database: %s stored; want 600 (at least once)", got)
	}

	lone := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	ls := open(t, chURL(lone, "alidade", ""))
	if ls.Deduplicates() || !strings.HasPrefix(ls.Engine(), "MergeTree") {
		t.Errorf("a lone server without macros: Deduplicates %v, engine %s; want a MergeTree", ls.Deduplicates(), ls.Engine())
	}
}
