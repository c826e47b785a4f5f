package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// columnsDDL are the points table's columns (types and, with f.Codecs,
// codecs; see columnsFor).
func columnsDDL(f Features) string { return columnsFor(f) }

// DedupWindow is replicated_deduplication_window on the points tables
// Alidade creates: how many of each shard's latest insert blocks a
// replicated table remembers (by hash) to drop a repeated one. ClickHouse's
// default is 100; a node's loader inserts about once a second and a
// repeated insert (after an outage or a crash) comes later than the first
// by however long the node was down, while the other nodes kept inserting,
// so the window is ten times longer: about 1,000 ZooKeeper nodes a shard.
const DedupWindow = 1000

// replicaMacros reports whether the server defines the {shard} and
// {replica} macros, which a ReplicatedMergeTree table's ZooKeeper path and
// replica name are made of (a cluster's servers define them; a lone server
// usually does not).
func (s *Store) replicaMacros(ctx context.Context) (bool, error) {
	out, err := s.query(ctx, "SELECT count() FROM system.macros WHERE macro IN ('shard', 'replica')", nil)
	if err != nil {
		return false, fmt.Errorf("read the server's macros: %w", err)
	}
	return strings.TrimSpace(out) == "2", nil
}

// localEngine is the engine of the points' MergeTree table: with the
// {shard} and {replica} macros (and so a ZooKeeper) a ReplicatedMergeTree,
// which drops an INSERT block identical to one of its last DedupWindow
// (the write-ahead log's loader replays a group of records as the very
// same blocks; see Deduplicates); else a plain MergeTree. With one replica
// per shard, replication itself buys nothing but that.
func (s *Store) localEngine(replicated bool) string {
	const tail = " PARTITION BY toDate(timestamp) ORDER BY (project, dataset, timestamp) SETTINGS index_granularity = 8192"
	if !replicated {
		return "MergeTree()" + tail + mergeTreeDedup(s.features)
	}
	name := "points"
	if s.cfg.Cluster != "" {
		name = "points_local"
	}
	return fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')%s, replicated_deduplication_window = %d",
		s.cfg.Database, name, tail, DedupWindow)
}

// shardingKey is the Distributed table's: a hash of the row's key columns
// and time, not rand(), so that an INSERT repeated with the same rows
// sends each shard the same rows as the first time (the same blocks, which
// a replicated table drops), while the points of one project, dataset and
// index value still spread over every shard.
const shardingKey = "cityHash64(project, dataset, index1, timestamp, timestamp_ms)"

// createTables creates the database, the points table(s) and the
// schema_version table when missing (and error tracking's tables:
// errors.go), and checks the recorded version.
// With a cluster every statement runs ON CLUSTER (through ZooKeeper's
// distributed DDL queue): each shard has the database, its points_local
// MergeTree table, the Distributed table points over all the shards'
// points_local, and its schema_version table.
//
// The tables of a database that exists are kept as they are: one created
// by an earlier Alidade (plain MergeTree, sharded by rand()) keeps its
// engines, and Deduplicates says so. The columns are the same either way,
// so the schema version stays 1 and older Alidades read new databases.
func (s *Store) createTables(ctx context.Context) error {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	db := s.cfg.Database
	replicated, err := s.replicaMacros(ctx)
	if err != nil {
		return err
	}
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + db + on,
		"CREATE TABLE IF NOT EXISTS " + s.local + on + " (" + columnsDDL(s.features) + ") ENGINE = " + s.localEngine(replicated),
	}
	if s.cfg.Cluster != "" {
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+s.table+on+" AS "+s.local+
			" ENGINE = Distributed("+s.cfg.Cluster+", "+db+", points_local, "+shardingKey+")")
	}
	stmts = append(stmts, s.errorTables(on, replicated)...)
	stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+db+".schema_version"+on+
		" (version UInt32, applied DateTime) ENGINE = MergeTree() ORDER BY version")
	for _, st := range stmts {
		if _, err := s.query(ctx, st, nil); err != nil {
			return fmt.Errorf("create the points tables: %w", err)
		}
	}
	if err := s.readEngines(ctx); err != nil {
		return err
	}
	out, err := s.query(ctx, "SELECT max(version) FROM "+db+".schema_version", nil)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	have, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return fmt.Errorf("read the schema version: unreadable %q", out)
	}
	switch {
	case have > SchemaVersion:
		return fmt.Errorf("clickhouse %s: database %s has schema version %d; this Alidade knows up to %d (a newer Alidade created it)", s.cfg.HTTP, db, have, SchemaVersion)
	case have < SchemaVersion:
		// The version is recorded on the server Alidade talks to (its
		// own schema_version); a cluster's tables were created ON CLUSTER.
		if _, err := s.query(ctx, fmt.Sprintf("INSERT INTO %s.schema_version VALUES (%d, now())", db, SchemaVersion), nil); err != nil {
			return fmt.Errorf("record the schema version: %w", err)
		}
	}
	return nil
}

// readEngines reads the engines the points tables have (which an earlier
// Alidade may have chosen) and sets s.dedup.
func (s *Store) readEngines(ctx context.Context) error {
	out, err := s.query(ctx, "SELECT name, engine_full FROM system.tables WHERE database = '"+s.cfg.Database+"' AND name IN ('points', 'points_local') FORMAT TabSeparated", nil)
	if err != nil {
		return fmt.Errorf("read the points tables' engines: %w", err)
	}
	engines := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, engine, _ := strings.Cut(line, "\t")
		e, err := unescapeTSV([]byte(engine))
		if err != nil {
			return fmt.Errorf("read the points tables' engines: %w", err)
		}
		engines[name] = string(e)
	}
	local := engines[strings.TrimPrefix(s.local, s.cfg.Database+".")]
	s.engine = local
	s.dedup = strings.HasPrefix(local, "Replicated") || hasMergeTreeDedup.MatchString(local)
	if s.cfg.Cluster != "" {
		s.dedup = s.dedup && strings.Contains(engines["points"], shardingKey)
	}
	return nil
}

// Deduplicates reports whether an INSERT repeated with the same rows in the
// same order is stored once: the points table is a ReplicatedMergeTree (on
// every shard) and, with a cluster, the Distributed table shards by
// shardingKey, so that the repeat's blocks are the first's. It is how the
// write-ahead log's loader replays a group exactly once (package loader,
// Options.Ranges). Without it a replayed group may be stored twice: at
// least once, not exactly once.
func (s *Store) Deduplicates() bool { return s.dedup }

// Engine is the engine (as system.tables' engine_full gives it) of the
// table the points are stored in: db.points, or with a cluster this
// server's db.points_local.
func (s *Store) Engine() string { return s.engine }
