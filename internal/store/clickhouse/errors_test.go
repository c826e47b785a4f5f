//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// testErrorsCluster: error events spread over the shards by event id, an
// event's rows (inserted twice, as after a failed commit and the SDK's
// retry) all on one shard and read once, and retention's ALTER DELETE ON CLUSTER on both
// shards. (Error tracking as a whole is tested in internal/store/cluster.)
func testErrorsCluster(t *testing.T, s *clickhouse.Store, c *testinfra.ClickHouseCluster) {
	t.Helper()
	ctx := context.Background()
	var evs []errtrack.StoredEvent
	var atts []errtrack.Attachment
	for i := range 40 {
		id := fmt.Sprintf("%032x", 0xabc000+i)
		evs = append(evs, errtrack.StoredEvent{Project: 7, EventID: id, GroupID: int64(1 + i%2), Timestamp: day0 + int64(i)*1000,
			Received: day0 + int64(i)*1000, Level: "error", Release: "1.0", Title: "T", Payload: errtrack.Compress([]byte(id)), Size: 32})
		atts = append(atts, errtrack.Attachment{Project: 7, EventID: id, Received: day0 + int64(i)*1000, Filename: "a.txt", Size: 1, Data: []byte{1}})
	}
	if err := s.AppendErrors(ctx, evs, atts); err != nil {
		t.Fatal(err)
	}
	// The same insert again is dropped (the shards' tables are
	// replicated); an SDK's retry has other receive times.
	if err := s.AppendErrors(ctx, evs, atts); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Received += 500
		atts[i].Received += 500
	}
	if err := s.AppendErrors(ctx, evs, atts); err != nil {
		t.Fatal(err)
	}
	for i, ch := range c.Shards {
		out, err := ch.Query("SELECT count(), uniqExact(event_id) FROM alidade.error_events_local")
		if err != nil {
			t.Fatal(err)
		}
		var rows, ids int
		fmt.Sscan(out, &rows, &ids)
		if ids == 0 || rows != 2*ids {
			t.Fatalf("shard %d holds %d rows of %d events; want some, each twice", i+1, rows, ids)
		}
	}
	list, err := s.ErrorEvents(ctx, 7, 1, 100, 0)
	if err != nil || len(list) != 20 || list[0].EventID != evs[38].EventID {
		t.Fatalf("ErrorEvents = %d events, %v; want 20, newest first", len(list), err)
	}
	e, err := s.ErrorEvent(ctx, 7, evs[5].EventID)
	if err != nil || string(mustDecompress(t, e.Payload)) != evs[5].EventID {
		t.Fatalf("ErrorEvent = %+v, %v", e, err)
	}
	if a, err := s.ErrorAttachments(ctx, 7, evs[5].EventID); err != nil || len(a) != 1 {
		t.Fatalf("ErrorAttachments = %+v, %v; want one", a, err)
	}
	if n, m, err := s.ErrorCounts(ctx); err != nil || n != 40 || m != 40 {
		t.Fatalf("ErrorCounts = %d, %d, %v; want 40, 40", n, m, err)
	}
	n, m, err := s.ExpireErrors(ctx, 7, day0+10_000)
	if err != nil || n != 10 || m != 20 {
		t.Fatalf("ExpireErrors = %d events, %d attachment rows, %v; want 10 and 20", n, m, err)
	}
	if n, m, err := s.ErrorCounts(ctx); err != nil || n != 30 || m != 30 {
		t.Fatalf("after ExpireErrors: %d, %d, %v; want 30, 30", n, m, err)
	}
}

func mustDecompress(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := errtrack.Decompress(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
