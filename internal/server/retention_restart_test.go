package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
)

// TestShortRetentionRestart: a dataset whose own retention is shorter
// than the default, once retention has run, must not keep the server from
// starting again, and its rollups must still agree with its raw points.
//
// It failed before rollup.Merge placed such tables where their range is:
// planner.Expire hands rollup.Expire a cutoff that it
// rounds up to the next midnight, so the dataset's rollup table covers
// only [tomorrow, ...); every day's snapshot then holds that table with
// an empty range, and at the next start mergeAll joins the first day's
// empty table into one covering [the beginning, first day), which cannot
// join the later parts' [tomorrow, ...): planner.Open fails with "rollup
// merge: ... are neither adjacent nor empty" and alidade serve exits.
func TestShortRetentionRestart(t *testing.T) {

	dir := t.TempDir()
	now := time.Now().UnixMilli()
	var readKey string
	t.Run("first start", func(t *testing.T) {
		se := servertest.Start(t, servertest.Options{RootKey: rootKey, Dir: dir})
		e := &env{t: t, url: se.URL, keys: se.Keys}
		W, A := e.keys[meta.KindWrite], e.keys[meta.KindAdmin]
		readKey = e.keys[meta.KindRead]
		for _, b := range []struct{ dataset, body string }{
			{"kept", ndjson(now, 10, "today")},
			{"kept", ndjson(now-24*3600*1000, 10, "yesterday")},
			{"short", ndjson(now-2*3600*1000, 10, "old")},
			{"short", ndjson(now, 10, "new")},
		} {
			if code, a, _ := e.walPost(b.dataset, W, "", b.body); code != 200 {
				t.Fatalf("write = %d %+v", code, a)
			}
		}
		if code := e.call("PATCH", "/api/v1/datasets/short", A, `{"retention":"1h"}`, nil, nil); code != 200 {
			t.Fatalf("PATCH retention = %d", code)
		}
		se.Planner.Expire(context.Background())
	})
	t.Run("restart", func(t *testing.T) {
		se := servertest.Start(t, servertest.Options{RootKey: rootKey, Dir: dir})
		e := &env{t: t, url: se.URL, keys: se.Keys}
		if raw, rolled := e.countBoth(readKey, "kept"); raw != rolled || raw != 20 {
			t.Errorf("kept after the restart: raw %v, rollup %v; want 20 from both", raw, rolled)
		}
		// short: retention left the 10 new points; raw points, rollups
		// (over today, which they cover) and the server's choice over 48h
		// all count them.
		midnight := now - now%(24*3600*1000)
		for _, src := range []string{"raw", "rollup", "auto"} {
			rng := fmt.Sprintf(`{"from":%d,"to":%d}`, midnight, time.Now().UnixMilli()+1)
			if src == "auto" {
				rng = `"48h"`
			}
			code, a := e.query(readKey, fmt.Sprintf(`{"dataset":"short","range":%s,"source":%q,"aggregations":{"n":{"type":"count"}}}`, rng, src))
			if code != 200 || len(a.Rows) != 1 {
				t.Fatalf("count short from %s = %d %+v", src, code, a)
			}
			if n, _ := a.Rows[0]["n"].(float64); n != 10 {
				t.Errorf("short after the restart, source %s: %v points; want the 10 retention kept", src, n)
			}
		}
	})
}
