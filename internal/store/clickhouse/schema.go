package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// Version is a ClickHouse server version (major.minor.patch...).
type Version struct {
	Major, Minor, Patch int
	Text                string
}

// ParseVersion parses the answer of SELECT version().
func ParseVersion(v string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("unreadable server version %q", v)
	}
	nums := make([]int, 3)
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("unreadable server version %q", v)
		}
		nums[i] = n
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Text: strings.TrimSpace(v)}, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Feature is a ClickHouse feature the points table would use on a server
// that has it. None is used yet: the tables are the same on every version
// (18.16's), so that a database moves between versions; a later schema
// version may adopt them when the server has them.
type Feature struct {
	Name  string
	Since string // first version that has it (per ClickHouse's changelogs)
	Use   string // what Alidade would use it for
	Have  bool   // the server has it
}

// Features lists the newer features the points table would use and
// whether this server has them.
func (s *Store) Features() []Feature {
	v := s.version
	return []Feature{
		{Name: "TTL", Since: "19.6", Have: v.AtLeast(19, 6),
			Use: "TTL toDate(timestamp) + INTERVAL n DAY: the server drops expired days itself (today DropDaysBefore does)"},
		{Name: "LowCardinality", Since: "19.1 (experimental in 18.x)", Have: v.AtLeast(19, 1),
			Use: "LowCardinality(String) for dataset, index1 and the blobs: dictionary-encoded low-cardinality text"},
		{Name: "CODEC", Since: "19.1", Have: v.AtLeast(19, 1),
			Use: "CODEC(DoubleDelta) on timestamp, CODEC(Gorilla) on the doubles, ZSTD elsewhere"},
		{Name: "DateTime64", Since: "20.1", Have: v.AtLeast(20, 1),
			Use: "DateTime64(3) for timestamp instead of DateTime + timestamp_ms"},
	}
}

// columnsDDL are the points table's columns.
func columnsDDL() string {
	var b strings.Builder
	b.WriteString("project UInt64, dataset String, timestamp DateTime, timestamp_ms UInt16, _sample_interval UInt32, index1 String")
	for i := 1; i <= point.MaxBlobs; i++ {
		fmt.Fprintf(&b, ", blob%d String", i)
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		fmt.Fprintf(&b, ", double%d Float64", i)
	}
	return b.String()
}

// createTables creates the database, the points table(s) and the
// schema_version table when missing, and checks the recorded version.
// With a cluster every statement runs ON CLUSTER (through ZooKeeper's
// distributed DDL queue): each shard has the database, its points_local
// MergeTree table, the Distributed table points over all the shards'
// points_local, and its schema_version table.
func (s *Store) createTables(ctx context.Context) error {
	on := ""
	if s.cfg.Cluster != "" {
		on = " ON CLUSTER " + s.cfg.Cluster
	}
	db := s.cfg.Database
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + db + on,
		"CREATE TABLE IF NOT EXISTS " + s.local + on + " (" + columnsDDL() + ") ENGINE = MergeTree() " +
			"PARTITION BY toDate(timestamp) ORDER BY (project, dataset, timestamp) SETTINGS index_granularity = 8192",
	}
	if s.cfg.Cluster != "" {
		// rand(): points spread evenly over the shards whatever their
		// project; every query reads all shards anyway.
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+s.table+on+" AS "+s.local+
			" ENGINE = Distributed("+s.cfg.Cluster+", "+db+", points_local, rand())")
	}
	stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+db+".schema_version"+on+
		" (version UInt32, applied DateTime) ENGINE = MergeTree() ORDER BY version")
	for _, st := range stmts {
		if _, err := s.query(ctx, st, nil); err != nil {
			return fmt.Errorf("create the points tables: %w", err)
		}
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
