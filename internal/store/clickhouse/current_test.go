//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/storetest"
	"github.com/alidade/alidade/internal/testinfra"
)

// TestCurrentClickHouse runs the store on a current ClickHouse (chDB, one
// server, no cluster): it detects every newer feature, creates its table
// with them, passes the conformance suite with them on (Expire's deletes
// are lightweight DELETEs there), and its loader inserts carry a
// deduplication token: the same group loaded again is stored once, other
// rows with the same content but another log position are stored.
func TestCurrentClickHouse(t *testing.T) {
	port := testinfra.StartChDB(t).Port
	url := func(db string) string { return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", port, db) }
	s := open(t, url("feat"))
	want := clickhouse.Features{LowCardinality: true, Codecs: true, TTL: true, LightweightDelete: true, DedupToken: true, LimitByOffset: true, FormatOffset: true}
	if f := s.Features(); f != want {
		t.Fatalf("Features() on %s = %+v; want %+v", s.Version(), f, want)
	}
	t.Logf("server %s, features: %s", s.Version(), s.Features())
	if !s.Deduplicates() || !strings.Contains(s.Engine(), "non_replicated_deduplication_window = 1000") {
		t.Errorf("a new MergeTree on a current server: Deduplicates %v, engine %s; want a deduplication window", s.Deduplicates(), s.Engine())
	}
	ctx := context.Background()
	q := func(sql string) string {
		t.Helper()
		res, err := s.QuerySQL(ctx, sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows)
	}
	ddl := q("SELECT create_table_query FROM system.tables WHERE database = 'feat' AND name = 'points'")
	for _, w := range []string{"`dataset` LowCardinality(String) CODEC(ZSTD(1))", "`timestamp` DateTime CODEC(DoubleDelta, ZSTD(1))", "`double1` Float64 CODEC(Gorilla(8), ZSTD(1))", "`index1` String CODEC(ZSTD(1))"} {
		if !strings.Contains(ddl, w) {
			t.Errorf("the points table lacks %s:\n%s", w, ddl)
		}
	}

	pts := genPoints(rand.New(rand.NewPCG(5, 6)), 600) // over 3 days: 3 partitions
	group := []store.Batch{{Project: 1, Points: pts}}
	for range 2 {
		if err := s.AppendAt(ctx, group, store.LogPos{Seg: 3, Off: 4096}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAt(ctx, group, store.LogPos{Seg: 3, Off: 8192}); err != nil {
		t.Fatal(err)
	}
	if got := q("SELECT count() FROM feat.points"); got != "[[1200]]" {
		t.Errorf("a group loaded twice at one position and once at another: %s rows; want [[1200]]", got)
	}
	// Not replays: the same rows written twice are two writes.
	for range 2 {
		if err := s.Append(ctx, []store.Batch{{Project: 2, Points: pts[:50]}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := q("SELECT count() FROM feat.points WHERE project = 2"); got != "[[100]]" {
		t.Errorf("the same 50 points appended twice (no log): %s rows; want [[100]] (not dropped as a repeated block)", got)
	}

	// Error events stored twice (a batch whose commit failed after its
	// insert, then the SDK's retry, received later) read once, the latest.
	var evs []errtrack.StoredEvent
	var atts []errtrack.Attachment
	for i := range 6 {
		id := fmt.Sprintf("%032x", 0xdef000+i)
		evs = append(evs, errtrack.StoredEvent{Project: 3, EventID: id, GroupID: 1, Timestamp: day0 + int64(i)*1000,
			Received: day0 + int64(i)*1000, Level: "error", Title: "T", Payload: errtrack.Compress([]byte(id)), Size: 32})
		atts = append(atts, errtrack.Attachment{Project: 3, EventID: id, Received: day0 + int64(i)*1000, Filename: "a.txt", Size: 1, Data: []byte{1}})
	}
	if err := s.AppendErrors(ctx, evs, atts); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Received += 500
		evs[i].GroupID = 2 // the group expired and made again meanwhile: by id, the latest row wins
		atts[i].Received += 500
	}
	if err := s.AppendErrors(ctx, evs, atts); err != nil {
		t.Fatal(err)
	}
	if got := q("SELECT count(), uniqExact(event_id) FROM feat.error_events"); got != "[[12 6]]" {
		t.Fatalf("error_events after two inserts of 6 events: %s; want [[12 6]] (each stored twice)", got)
	}
	if list, err := s.ErrorEvents(ctx, 3, 2, 100, 0); err != nil || len(list) != 6 || list[0].EventID != evs[5].EventID {
		t.Errorf("ErrorEvents of the group = %d events, %v; want 6, each once, newest first", len(list), err)
	}
	if e, err := s.ErrorEvent(ctx, 3, evs[2].EventID); err != nil || e.GroupID != 2 || e.Received != evs[2].Received {
		t.Errorf("ErrorEvent = %+v, %v; want the latest row (group 2)", e, err)
	}
	if a, err := s.ErrorAttachments(ctx, 3, evs[2].EventID); err != nil || len(a) != 1 {
		t.Errorf("ErrorAttachments = %d, %v; want one", len(a), err)
	}

	start := time.Now()
	storetest.RunExcept(t, hybridOpener(url), notYet...)
	t.Logf("the conformance suite took %v on %s", time.Since(start).Round(time.Millisecond), s.Version())
}
