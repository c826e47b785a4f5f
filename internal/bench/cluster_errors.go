package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The error events of a cluster comparison: Sentry envelopes of about
// 5 KB (ErrorEnvelope) sent through POST /api/{project}/envelope/ to the
// embedded server and to the cluster node in alternating rounds.
const (
	// DefaultClusterErrorEvents is the envelopes sent to each side.
	DefaultClusterErrorEvents = 5_000
	// clusterErrorGroups is the distinct fingerprints they fall into.
	clusterErrorGroups = 40
	// clusterErrorClients is the concurrent SDKs sending them.
	clusterErrorClients = 64
)

// errorRounds sends the same n error envelopes to the embedded server's
// project (emb, read with eKey through ec) and to the cluster node's, in
// rounds: each round the next share to one side and then the other, the
// embedded server first in odd rounds (counted from 1), as the points'
// rounds do. Then it checks that each side made the same groups and
// counted every acknowledged event once.
func (cr *clusterRun) errorRounds(ctx context.Context, ec *client, emb envelopeSink, eKey string, n, rounds int, seed uint64) error {
	cc := cr.cmp
	rng := rand.New(rand.NewPCG(seed, 13))
	now := time.Now()
	bodies := make([][]byte, n)
	size := 0
	for i := range bodies {
		bodies[i] = ErrorEnvelope(int(rng.Int64N(1<<62))+1, i%clusterErrorGroups, now)
		size += len(bodies[i])
	}
	cc.ErrorEvents, cc.ErrorGroups, cc.ErrorClients = n, min(clusterErrorGroups, n), clusterErrorClients
	cc.ErrorEnvelopeBytes = size / max(n, 1)
	sides := [2]struct {
		name  string
		sink  envelopeSink
		rates *[]float64
		lat   []float64
	}{
		{name: "embedded", sink: emb, rates: &cc.EmbeddedErrorEventsPerS},
		{name: "cluster", sink: envelopeTarget(cr.srv.URL, cr.project, cr.keys["public"]), rates: &cc.ClusterErrorEventsPerS},
	}
	hc := envelopeHTTP(clusterErrorClients)
	defer hc.CloseIdleConnections()
	cr.logf("error events: %d envelopes of %d bytes over %d fingerprints to each, from %d clients, in %d alternating rounds",
		n, cc.ErrorEnvelopeBytes, cc.ErrorGroups, clusterErrorClients, rounds)
	var rejected [2]int
	for r := range rounds {
		lo, hi := roundShare(int64(n), r, rounds)
		order := []int{0, 1}
		if r%2 == 1 {
			order[0], order[1] = 1, 0
		}
		for _, i := range order {
			s := &sides[i]
			sent := sendEnvelopes(ctx, hc, s.sink, bodies[lo:hi], clusterErrorClients)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if sent.rejected > 0 {
				rejected[i] += sent.rejected
				cr.logf("error round %d of %d, %s: %d envelopes not acknowledged; the first: %v", r+1, rounds, s.name, sent.rejected, sent.firstErr)
			}
			*s.rates = append(*s.rates, math.Round(float64(len(sent.latMs))/sent.elapsed.Seconds()))
			s.lat = append(s.lat, sent.latMs...)
		}
		cr.logf("error round %d of %d (%d events each, %s first): embedded %s events/s, cluster %s events/s",
			r+1, rounds, hi-lo, sides[order[0]].name, groupDigits(int64(cc.EmbeddedErrorEventsPerS[r])), groupDigits(int64(cc.ClusterErrorEventsPerS[r])))
	}
	cc.EmbeddedErrorMedian = math.Round(Median(cc.EmbeddedErrorEventsPerS))
	cc.ClusterErrorMedian = math.Round(Median(cc.ClusterErrorEventsPerS))
	if cc.EmbeddedErrorMedian > 0 {
		cc.ErrorIngestRatio = round(cc.ClusterErrorMedian/cc.EmbeddedErrorMedian, 3)
	}
	if l := sides[0].lat; len(l) > 0 {
		cc.EmbeddedErrorP50Ms, cc.EmbeddedErrorP99Ms = round(Percentile(l, 0.5), 2), round(Percentile(l, 0.99), 2)
	}
	if l := sides[1].lat; len(l) > 0 {
		cc.ClusterErrorP50Ms, cc.ClusterErrorP99Ms = round(Percentile(l, 0.5), 2), round(Percentile(l, 0.99), 2)
	}
	cc.EmbeddedErrorsRejected, cc.ClusterErrorsRejected = rejected[0], rejected[1]
	cr.logf("error events, medians of %d rounds: embedded %s events/s (p50 %s ms, p99 %s ms), cluster %s events/s (p50 %s ms, p99 %s ms): ×%.2f",
		rounds, groupDigits(int64(cc.EmbeddedErrorMedian)), ms(cc.EmbeddedErrorP50Ms), ms(cc.EmbeddedErrorP99Ms),
		groupDigits(int64(cc.ClusterErrorMedian)), ms(cc.ClusterErrorP50Ms), ms(cc.ClusterErrorP99Ms), cc.ErrorIngestRatio)

	// Every acknowledged event counted once, in the same groups.
	for i, g := range []struct {
		name string
		c    *client
		key  string
	}{{"embedded", ec, eKey}, {"cluster", cr.c, cr.keys["read"]}} {
		acked := n - rejected[i]
		groups, events, err := errorGroupCounts(ctx, g.c, g.key)
		switch {
		case err != nil:
			cc.Disagreements = append(cc.Disagreements, fmt.Sprintf("error groups on the %s: %v", g.name, err))
		case groups != cc.ErrorGroups || events != int64(acked):
			cc.Disagreements = append(cc.Disagreements, fmt.Sprintf("error groups on the %s: %d groups of %d events; want %d of the %d acknowledged",
				g.name, groups, events, cc.ErrorGroups, acked))
		}
		if rejected[i] > 0 {
			cc.Disagreements = append(cc.Disagreements, fmt.Sprintf("error events on the %s: %d of %d not acknowledged", g.name, rejected[i], n))
		}
	}
	return nil
}

// errorGroupCounts lists the project's error groups (read key key) and
// returns how many there are and the events they count.
func errorGroupCounts(ctx context.Context, c *client, key string) (groups int, events int64, err error) {
	var out struct {
		Groups []struct {
			Count int64 `json:"count"`
		} `json:"groups"`
	}
	if err := c.do(ctx, "GET", "/api/v1/error-groups?status=all&limit=1000", key, nil, nil, &out); err != nil {
		return 0, 0, fmt.Errorf("list error groups: %w", err)
	}
	for _, g := range out.Groups {
		events += g.Count
	}
	return len(out.Groups), events, nil
}
