package clickhouse

import (
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/store"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		in                  string
		major, minor, patch int
	}{
		{"18.16.1", 18, 16, 1},
		{"23.8.2.7", 23, 8, 2},
		{"24.3.1.2672-lts", 24, 3, 1},
		{"26.9.1.1-stable", 26, 9, 1},
		{" 22.2\n", 22, 2, 0},
		{"18.16.1+ds-7.3+b2", 18, 16, 1},
	} {
		v, err := ParseVersion(c.in)
		if err != nil || v.Major != c.major || v.Minor != c.minor || v.Patch != c.patch {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %d.%d.%d", c.in, v, err, c.major, c.minor, c.patch)
		}
	}
	for _, bad := range []string{"", "18", "x.y", "18..1", "18.-1", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26", "99999999999.1", "18.16a"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %+v; want an error", bad, v)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"18.16.1", "23.8.2.7", "24.3.1.2672-lts", "26.9.1.1-stable", "1.2", "", "18..1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			if !strings.Contains(err.Error(), "server version") {
				t.Fatalf("ParseVersion(%q) error %q does not say what it read", s, err)
			}
			return
		}
		if v.Major < 0 || v.Minor < 0 || v.Patch < 0 || len(s) > maxVersionText+64 {
			t.Fatalf("ParseVersion(%q) = %+v", s, v)
		}
		if v.Less(v) || !v.AtLeast(v.Major, v.Minor) {
			t.Fatalf("ParseVersion(%q) = %+v: ordering broken", s, v)
		}
	})
}

// TestFeaturesByVersion: which features each version gets, and the DDL and
// statements that follow: 18.16's are the plain ones, a current server's
// use every feature but TTL.
func TestFeaturesByVersion(t *testing.T) {
	mk := func(s string) Version {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		ver   string
		token bool
		want  Features
	}{
		{"18.16.1", false, Features{}},
		{"19.16.3", false, Features{TTL: true}},
		{"21.8.1", false, Features{TTL: true, LowCardinality: true, Codecs: true, LimitByOffset: true}},
		{"22.8.1", true, Features{TTL: true, LowCardinality: true, Codecs: true, DedupToken: true, LimitByOffset: true}},
		{"22.8.1", false, Features{TTL: true, LowCardinality: true, Codecs: true, LimitByOffset: true}},
		{"24.3.1.2672-lts", true, Features{TTL: true, LowCardinality: true, Codecs: true, DedupToken: true, LightweightDelete: true, LimitByOffset: true, FormatOffset: true}},
	} {
		if got := featuresOf(mk(c.ver), c.token); got != c.want {
			t.Errorf("featuresOf(%s, token %v) = %+v; want %+v", c.ver, c.token, got, c.want)
		}
	}

	old, cur := Features{}, featuresOf(mk("26.9.1.1"), true)
	if got := columnsFor(old); strings.Contains(got, "CODEC") || strings.Contains(got, "LowCardinality") ||
		!strings.HasPrefix(got, "project UInt64, dataset String, timestamp DateTime, timestamp_ms UInt16, _sample_interval UInt32, index1 String, blob1 String") {
		t.Errorf("18.16's columns: %s", got)
	}
	if got := columnsFor(cur); !strings.HasPrefix(got, "project UInt64 CODEC(ZSTD(1)), dataset LowCardinality(String) CODEC(ZSTD(1)), timestamp DateTime CODEC(DoubleDelta, ZSTD(1)), timestamp_ms UInt16 CODEC(ZSTD(1)), _sample_interval UInt32 CODEC(ZSTD(1)), index1 String CODEC(ZSTD(1)), blob1 LowCardinality(String) CODEC(ZSTD(1))") ||
		!strings.HasSuffix(got, "double20 Float64 CODEC(Gorilla, ZSTD(1))") {
		t.Errorf("a current server's columns: %s", got)
	}
	if got := mergeTreeDedup(old); got != "" {
		t.Errorf("mergeTreeDedup(18.16) = %q; want none", got)
	}
	if got := mergeTreeDedup(cur); got != ", non_replicated_deduplication_window = 1000" {
		t.Errorf("mergeTreeDedup(current) = %q", got)
	}
	if got := deleteStatement(old, "db.points_local", " ON CLUSTER c", "x = 1"); got != "ALTER TABLE db.points_local ON CLUSTER c DELETE WHERE x = 1" {
		t.Errorf("18.16's delete: %s", got)
	}
	if got := deleteStatement(cur, "db.points_local", " ON CLUSTER c", "x = 1"); got != "DELETE FROM db.points_local ON CLUSTER c WHERE x = 1" {
		t.Errorf("a current server's delete: %s", got)
	}
	a, b := DedupToken([]byte("rows"), store.LogPos{Seg: 1, Off: 2}), DedupToken([]byte("rows"), store.LogPos{Seg: 1, Off: 3})
	if a == b || a != DedupToken([]byte("rows"), store.LogPos{Seg: 1, Off: 2}) || a == DedupToken([]byte("other"), store.LogPos{Seg: 1, Off: 2}) {
		t.Errorf("DedupToken: %s, %s: want one token per position and rows", a, b)
	}
	if cur.String() != "LowCardinality, CODEC, lightweight DELETE, insert_deduplication_token, LIMIT n OFFSET m BY, formatDateTime %z" || old.String() != "none" {
		t.Errorf("String: %q, %q", cur, old)
	}
	if got, want := SQLFeaturesOf(mk("19.16.3")), (aesql.ClickHouseFeatures{}); got != want {
		t.Errorf("SQLFeaturesOf(19.16.3) = %+v; want %+v", got, want)
	}
	if got, want := SQLFeaturesOf(mk("21.8.1")), (aesql.ClickHouseFeatures{LimitByOffset: true}); got != want {
		t.Errorf("SQLFeaturesOf(21.8.1) = %+v; want %+v", got, want)
	}
	if got, want := cur.SQL(), (aesql.ClickHouseFeatures{LimitByOffset: true, FormatOffset: true}); got != want {
		t.Errorf("SQL() of 26.9 = %+v; want %+v", got, want)
	}
}
