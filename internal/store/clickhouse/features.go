package clickhouse

import (
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// Version is a ClickHouse server version: the first three numbers of
// version()'s answer (18.16.1, 23.8.2.7, 24.3.1.2672-lts, 26.9.1.1-stable).
type Version struct {
	Major, Minor, Patch int
	Text                string
}

// maxVersionText bounds what ParseVersion reads: version() answers a few
// dozen bytes.
const maxVersionText = 64

// ParseVersion parses the answer of SELECT version(): two to four (or
// more) dot-separated numbers, the last optionally followed by a suffix
// such as -lts, -stable or -testing, which is ignored. Numbers past the
// third (the build) are read but not kept.
func ParseVersion(v string) (Version, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Version{}, fmt.Errorf("unreadable server version: empty")
	}
	if len(v) > maxVersionText {
		return Version{}, fmt.Errorf("unreadable server version %.20q...: longer than %d bytes", v, maxVersionText)
	}
	nums := v
	if i := strings.IndexAny(v, "-+ "); i >= 0 {
		nums = v[:i]
	}
	parts := strings.Split(nums, ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("unreadable server version %q: want at least major.minor", v)
	}
	var got [3]int
	for i, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return Version{}, fmt.Errorf("unreadable server version %q: part %d (%q) is not a number of at most 9 digits", v, i+1, p)
		}
		n, _ := strconv.Atoi(p)
		if i < 3 {
			got[i] = n
		}
	}
	return Version{Major: got[0], Minor: got[1], Patch: got[2], Text: v}, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Less reports whether v is older than w (by major, minor and patch).
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

func (v Version) String() string {
	if v.Text != "" {
		return v.Text
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Features are the features of newer ClickHouse servers that Alidade uses
// when every server it writes to has them (with a cluster, the oldest
// shard decides). The zero value is 18.16's: none of them. Each is decided
// from the version (ClickHouse's changelogs say when it came; Alidade
// takes it from the first version where it is on by default and no longer
// experimental) and, where a version number is a weaker sign than asking,
// from system.settings.
//
// They change what Alidade creates, never what exists: a table keeps the
// DDL it was created with, so a database made on 18.16 keeps its plain
// String columns after the server is upgraded (see createTables).
type Features struct {
	// LowCardinality: dataset, index1 and blob1..blob20 are
	// LowCardinality(String) in new tables (19.x; on by default without
	// allow_experimental_low_cardinality_type from 19.9; Alidade: 20.1).
	LowCardinality bool
	// Codecs: column codecs in new tables: DoubleDelta for the
	// timestamp, Gorilla for the doubles, then ZSTD (CODEC in 19.1,
	// DoubleDelta and Gorilla in 19.x; Alidade: 20.1).
	Codecs bool
	// TTL: table TTL expressions (19.6). Detected, not used: retention
	// is per dataset, in PostgreSQL, unbounded; a table TTL that never
	// deletes a point that retention keeps would have to be longer than
	// any retention a project can set, which no limit bounds. Expire
	// drops partitions and deletes rows instead.
	TTL bool
	// LightweightDelete: Expire deletes a dataset's expired points with
	// DELETE FROM (22.8 experimental; on by default from 23.3) instead of
	// an ALTER TABLE ... DELETE mutation that rewrites whole parts.
	LightweightDelete bool
	// DedupToken: insert_deduplication_token (22.2; Alidade asks
	// system.settings): the loader's replayed inserts carry a token made
	// from the write-ahead log position and the rows, and new tables
	// without replication deduplicate too
	// (non_replicated_deduplication_window, 20.x).
	DedupToken bool
	// LimitByOffset: the SQL API prints LIMIT n OFFSET m BY natively
	// (19.x, ClickHouse PR 5138; Alidade: 20.1) instead of emulating it
	// with arrays (aesql.ClickHouseFeatures).
	LimitByOffset bool
	// FormatOffset: the SQL API prints formatDateTime's %z natively
	// (22.9, ClickHouse PR 40736) instead of computing it.
	FormatOffset bool
}

// SQL are the features the SQL API's ClickHouse printer uses
// (aesql.CompileClickHouseFor).
func (f Features) SQL() aesql.ClickHouseFeatures {
	return aesql.ClickHouseFeatures{LimitByOffset: f.LimitByOffset, FormatOffset: f.FormatOffset}
}

// SQLFeaturesOf are the SQL API's features of a server of version v
// (Features.SQL), for callers that know only the version.
func SQLFeaturesOf(v Version) aesql.ClickHouseFeatures {
	return featuresOf(v, false).SQL()
}

// FeatureInfo describes one of Features for people: the README's table,
// the startup log.
type FeatureInfo struct {
	Name  string
	Since string // the version from which Alidade uses it
	Use   string // what for
	Have  bool   // the server(s) have it and Alidade uses it
}

// List describes f's features.
func (f Features) List() []FeatureInfo {
	return []FeatureInfo{
		{"LowCardinality", "20.1", "LowCardinality(String) for dataset, index1 and blob1..blob20 in new tables", f.LowCardinality},
		{"CODEC", "20.1", "CODEC(DoubleDelta, ZSTD(1)) on timestamp, CODEC(Gorilla, ZSTD(1)) on the doubles, ZSTD(1) elsewhere, in new tables", f.Codecs},
		{"TTL", "19.6", "not used: per-dataset retention has no upper bound a table TTL could safely be", false},
		{"lightweight DELETE", "23.3", "Expire's per-dataset deletes: DELETE FROM instead of ALTER TABLE ... DELETE", f.LightweightDelete},
		{"insert_deduplication_token", "22.2", "the write-ahead log loader's inserts carry a token of log position and rows; new MergeTree tables keep a deduplication window", f.DedupToken},
		{"LIMIT n OFFSET m BY", "20.1", "the SQL API prints it natively instead of emulating it", f.LimitByOffset},
		{"formatDateTime %z", "22.9", "the SQL API prints it natively instead of computing the offset", f.FormatOffset},
	}
}

// String lists the features in use, for logs: "LowCardinality, CODEC" or
// "none".
func (f Features) String() string {
	var on []string
	for _, i := range f.List() {
		if i.Have {
			on = append(on, i.Name)
		}
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ", ")
}

// featuresOf decides the features from the oldest server's version and
// whether every server has the insert_deduplication_token setting.
func featuresOf(v Version, hasToken bool) Features {
	return Features{
		LowCardinality:    v.AtLeast(20, 1),
		Codecs:            v.AtLeast(20, 1),
		TTL:               v.AtLeast(19, 6),
		LightweightDelete: v.AtLeast(23, 3),
		DedupToken:        v.AtLeast(22, 2) && hasToken,
		LimitByOffset:     v.AtLeast(20, 1),
		FormatOffset:      v.AtLeast(22, 9),
	}
}

// Features are the newer-server features this store uses (see Features).
func (s *Store) Features() Features { return s.features }

// detectFeatures reads the version of every server the store writes to
// (with a cluster, every shard's) and whether each has
// insert_deduplication_token, and sets s.version to the oldest and
// s.features from it. It reads tables (system.build_options,
// system.settings) through the cluster table function, which each shard
// answers itself, not version() or a scalar subquery, which the server
// Alidade talks to may answer alone.
func (s *Store) detectFeatures(ctx context.Context) error {
	from := func(t string) string {
		if s.cfg.Cluster == "" {
			return t
		}
		return "cluster(" + s.cfg.Cluster + ", " + t + ")"
	}
	q := "SELECT value FROM " + from("system.build_options") + " WHERE name = 'VERSION_FULL'" +
		" UNION ALL SELECT toString(count()) FROM " + from("system.one") +
		" UNION ALL SELECT toString(count()) FROM " + from("system.settings") + " WHERE name = 'insert_deduplication_token'" +
		" FORMAT TabSeparated"
	out, err := s.query(ctx, q, nil)
	if err != nil {
		return fmt.Errorf("read the servers' versions: %w", err)
	}
	var versions []Version
	var counts []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if v, ok := strings.CutPrefix(line, "ClickHouse "); ok {
			ver, err := ParseVersion(v)
			if err != nil {
				return fmt.Errorf("clickhouse %s: %w", s.cfg.HTTP, err)
			}
			versions = append(versions, ver)
			continue
		}
		counts = append(counts, line)
	}
	if len(versions) == 0 || len(counts) != 2 {
		return fmt.Errorf("clickhouse %s: unreadable answer about the servers' versions: %q", s.cfg.HTTP, out)
	}
	oldest := versions[0]
	for _, v := range versions[1:] {
		if v.Less(oldest) {
			oldest = v
		}
	}
	// UNION ALL's parts may come in any order: the servers' count is the
	// larger (every server has system.one's row).
	servers, token := counts[0], counts[1]
	if n0, n1 := atoi(counts[0]), atoi(counts[1]); n1 > n0 {
		servers, token = counts[1], counts[0]
	}
	s.version = oldest
	s.features = featuresOf(oldest, token == servers && len(versions) == atoi(servers))
	return nil
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// columnsFor are the points table's columns for a server with f:
// 18.16's plain types without LowCardinality and Codecs, else
// LowCardinality(String) for dataset and the blobs (few distinct values
// per part: a project's datasets, the dimensions a blob usually holds;
// ClickHouse falls back to plain keys past its dictionary size) but not
// index1 (the sampling key, often a user or customer id: high
// cardinality), and codecs: DoubleDelta on the timestamp (sorted within
// each project and dataset), Gorilla on the doubles (slowly changing
// series, and the many unused doubles are zeros), ZSTD(1) after them and
// on the rest.
func columnsFor(f Features) string {
	str, lc := "String", "String"
	if f.LowCardinality {
		lc = "LowCardinality(String)"
	}
	codec := func(c string) string {
		if !f.Codecs {
			return ""
		}
		return " CODEC(" + c + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "project UInt64%s, dataset %s%s, timestamp DateTime%s, timestamp_ms UInt16%s, _sample_interval UInt32%s, index1 %s%s",
		codec("ZSTD(1)"), lc, codec("ZSTD(1)"), codec("DoubleDelta, ZSTD(1)"), codec("ZSTD(1)"), codec("ZSTD(1)"), str, codec("ZSTD(1)"))
	for i := 1; i <= point.MaxBlobs; i++ {
		fmt.Fprintf(&b, ", blob%d %s%s", i, lc, codec("ZSTD(1)"))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		fmt.Fprintf(&b, ", double%d Float64%s", i, codec("Gorilla, ZSTD(1)"))
	}
	return b.String()
}

// mergeTreeDedup is the SETTINGS tail that makes a plain MergeTree (a
// server without the {shard} and {replica} macros) drop a repeated insert
// as a ReplicatedMergeTree does: non_replicated_deduplication_window, on
// servers with insert_deduplication_token (which came after it).
func mergeTreeDedup(f Features) string {
	if !f.DedupToken {
		return ""
	}
	return fmt.Sprintf(", non_replicated_deduplication_window = %d", DedupWindow)
}

// hasMergeTreeDedup reports whether a plain MergeTree's engine_full keeps
// a deduplication window.
var hasMergeTreeDedup = regexp.MustCompile(`non_replicated_deduplication_window = [1-9]`)

// DedupToken is the insert_deduplication_token of a write-ahead log
// group that the loader loads (and, after an outage or a crash, loads
// again as the same group): the log position the group ends at and a hash
// of its rows as Append sends them. The position makes two groups of the
// same rows (points sent twice on purpose) two inserts; the hash keeps
// groups of two nodes' logs, which have positions of their own, apart.
// ClickHouse tracks the token per partition (day), so one token covers an
// insert that touches several days.
func DedupToken(rows []byte, pos store.LogPos) string {
	h := sha256.Sum256(rows)
	return fmt.Sprintf("alidade-wal-%d-%d-%x", pos.Seg, pos.Off, h[:16])
}

// AppendAt is Append for the write-ahead log's loader: the same insert,
// carrying DedupToken(rows, pos) on servers that have
// insert_deduplication_token (Features.DedupToken), so that a group
// loaded again is dropped by its token rather than by the hash of its
// blocks. pos is not stored.
func (s *Store) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	return s.appendToken(ctx, batches, pos, true)
}

// deleteStatement deletes the rows of table (on: "" or " ON CLUSTER c")
// where cond holds: a lightweight DELETE FROM with f.LightweightDelete,
// else an ALTER TABLE ... DELETE mutation (18.16 has nothing else).
func deleteStatement(f Features, table, on, cond string) string {
	if f.LightweightDelete {
		return "DELETE FROM " + table + on + " WHERE " + cond
	}
	return "ALTER TABLE " + table + on + " DELETE WHERE " + cond
}
