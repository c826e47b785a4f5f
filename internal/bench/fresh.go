package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// FreshDataset is the dataset of the freshness probe's points, apart from
// the workload's so that they change none of its answers.
const FreshDataset = "bench_freshness"

// Freshness is how soon an acknowledged write is visible to queries while
// the ingest phase runs: every probe writes one point, and from its
// acknowledgement asks for it until a query counts it.
type Freshness struct {
	Probes int `json:"probes"`
	// P50Ms, P99Ms and MaxMs are the lags, acknowledgement to a query
	// that counts the point, in ms (a query's own time included).
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Unseen counts probes not seen within FreshnessGiveUp; they count
	// as that long in the percentiles.
	Unseen int `json:"unseen"`
}

// FreshnessEvery is how often the probe writes a point.
const FreshnessEvery = 250 * time.Millisecond

// FreshnessGiveUp bounds how long one probe is asked for.
const FreshnessGiveUp = 60 * time.Second

// probeFreshness writes a probe point every interval until stop closes,
// and measures when each becomes visible. Failures of a probe's write are
// skipped (the ingest phase reports the server's errors).
func probeFreshness(ctx context.Context, c *client, keys Keys, every time.Duration, stop <-chan struct{}) *Freshness {
	var lags []float64
	unseen := 0
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return summarizeFreshness(lags, unseen)
		case <-ctx.Done():
			return summarizeFreshness(lags, unseen)
		case <-t.C:
		}
		tag := "probe-" + strconv.Itoa(i)
		body := fmt.Appendf(nil, `{"timestamp":%d,"indexes":["probe"],"blobs":[%q],"doubles":[1]}`, time.Now().UnixMilli(), tag)
		if err := c.do(ctx, "POST", "/api/v1/datasets/"+FreshDataset+"/points", keys.Write, body, nil, nil); err != nil {
			continue
		}
		acked := time.Now()
		for {
			n, err := countProbe(ctx, c, keys.Read, tag)
			if err == nil && n > 0 {
				lags = append(lags, float64(time.Since(acked).Microseconds())/1000)
				break
			}
			if time.Since(acked) > FreshnessGiveUp || ctx.Err() != nil {
				unseen++
				lags = append(lags, float64(FreshnessGiveUp.Milliseconds()))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// countProbe counts the probe points tagged tag.
func countProbe(ctx context.Context, c *client, key, tag string) (int64, error) {
	body, _ := json.Marshal(map[string]any{
		"dataset": FreshDataset, "range": "1h", "source": "raw",
		"filter":       map[string]any{"field": "blob1", "op": "=", "value": tag},
		"aggregations": map[string]any{"n": map[string]any{"type": "count"}},
	})
	ans, _, err := runQuery(ctx, c, key, body)
	if err != nil || len(ans.Rows) == 0 {
		return 0, err
	}
	n, err := num(ans.Rows[0], "n")
	return int64(n), err
}

func summarizeFreshness(lags []float64, unseen int) *Freshness {
	if len(lags) == 0 {
		return nil
	}
	sort.Float64s(lags)
	return &Freshness{Probes: len(lags), P50Ms: round(Percentile(lags, 0.5), 1), P99Ms: round(Percentile(lags, 0.99), 1),
		MaxMs: round(lags[len(lags)-1], 1), Unseen: unseen}
}
