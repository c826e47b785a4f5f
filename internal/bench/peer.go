package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// DefaultVsRounds is how many alternating ingest rounds a peer comparison
// runs by default.
const DefaultVsRounds = 3

// minRoundEvents is the least events a round should send for its rate to
// measure throughput rather than the start of a burst.
const minRoundEvents = 300_000

// peerQuantileTolerance bounds the relative difference between the peer's
// quantiles and Alidade's exact ones, in groups of at least
// peerQuantileMinGroup events. VictoriaLogs answers a quantile with the
// nearest rank of a sample of 10,000 values per group and worker (its
// `quantile` stats function); Alidade's raw answer interpolates between the
// exact order statistics. Over 2M events (50 routes, 23k to 520k events
// each) its answers sat up to 0.7 %, 0.4 % and 0.2 % of rank from the exact
// quantile, up to 2.5 %, 2.5 % and 6 % apart in value; the bounds leave
// room for the sample's chance and still catch a wrong field.
var peerQuantileTolerance = []struct {
	key string
	tol float64
}{{"p50", 0.05}, {"p95", 0.10}, {"p99", 0.15}}

// peerQuantileMinGroup is the least group whose quantiles are compared: in
// a few hundred values, nearest rank and interpolation differ by the gap
// between two neighbours, which in a tail is large.
const peerQuantileMinGroup = 1000

// PeerComparison is Alidade against a peer on the same events in the same
// run: ingest rates in alternating rounds, the same grouped query on both,
// and whether their answers agree.
type PeerComparison struct {
	Peer string `json:"peer"`
	// Version is what the peer binary says it is.
	Version string `json:"version"`
	// Events were sent to each, in Rounds rounds; each round sent a share
	// of the requests to one, then to the other (Alidade first in odd
	// rounds, counted from 1).
	Events int64 `json:"events"`
	Rounds int   `json:"rounds"`
	// AlidadeEventsPerS and PeerEventsPerS are each round's rates, in
	// order; the medians and their ratio (Alidade / peer) are the figures.
	AlidadeEventsPerS []float64 `json:"alidade_events_per_s"`
	PeerEventsPerS    []float64 `json:"peer_events_per_s"`
	AlidadeMedian     float64   `json:"alidade_median_events_per_s"`
	PeerMedian        float64   `json:"peer_median_events_per_s"`
	IngestRatio       float64   `json:"ingest_ratio"`
	PeerRetries429    int64     `json:"peer_retries_429"`
	// PeerRowsIngested and PeerRowsDropped come from the peer's /metrics
	// after ingest; null when it does not expose them.
	PeerRowsIngested *int64 `json:"peer_rows_ingested"`
	PeerRowsDropped  *int64 `json:"peer_rows_dropped"`

	// PeerQuery is the peer's grouped query; Alidade's is by_endpoint_all
	// with the share of status >= 400. The times are medians of Repeat
	// runs, alternating: Alidade as the server chooses (AlidadeQuerySource
	// says from what), Alidade from raw points, the peer.
	PeerQuery          string  `json:"peer_query"`
	Repeat             int     `json:"repeat"`
	AlidadeQueryMs     float64 `json:"alidade_query_ms"`
	AlidadeQuerySource string  `json:"alidade_query_source"`
	AlidadeQueryRawMs  float64 `json:"alidade_query_raw_ms"`
	PeerQueryMs        float64 `json:"peer_query_ms"`
	// QuerySpeedup is PeerQueryMs / AlidadeQueryMs, QuerySpeedupRaw
	// PeerQueryMs / AlidadeQueryRawMs: above 1, Alidade is faster.
	QuerySpeedup    float64 `json:"query_speedup"`
	QuerySpeedupRaw float64 `json:"query_speedup_raw"`

	// Groups, AlidadeCount and PeerCount describe the answers (Alidade's
	// from raw points); QuantileDiff is the largest relative difference of
	// each quantile over the compared groups; Disagreements lists what
	// differs beyond the tolerances (empty when they agree).
	Groups       int                `json:"groups"`
	AlidadeCount int64              `json:"alidade_count"`
	PeerCount    int64              `json:"peer_count"`
	QuantileDiff map[string]float64 `json:"quantile_max_rel_diff"`
	// QuantileMaxAt names, for each quantile, the route of the largest
	// difference and both values.
	QuantileMaxAt map[string]string `json:"quantile_max_at"`
	Disagreements []string          `json:"disagreements"`

	// The peer's resident set after ingest and at its peak, and its data
	// directory's size after it stopped; null when unknown.
	PeerRSSAfterIngestBytes *int64 `json:"peer_rss_after_ingest_bytes"`
	PeerPeakRSSBytes        *int64 `json:"peer_peak_rss_bytes"`
	PeerDiskBytes           *int64 `json:"peer_disk_bytes"`
}

// MetIngest says whether Alidade's median rate is at least
// BudgetPeerIngestRatio times the peer's.
func (p *PeerComparison) MetIngest() bool { return p.IngestRatio >= BudgetPeerIngestRatio }

// roundShare returns the requests round r of rounds sends: [lo, hi).
func roundShare(requests int64, r, rounds int) (lo, hi int64) {
	return int64(r) * requests / int64(rounds), int64(r+1) * requests / int64(rounds)
}

// side is one server of an alternating comparison: its client, where its
// writes go, and the events in its format.
type side struct {
	name string
	c    *client
	sink sink
	w    *Workload
}

// alternation is what alternate measured: for each side, its rate in each
// round, in order, and its ingest over all rounds.
type alternation struct {
	rates [2][]float64
	total [2]*ingestResult
	// events is what each side was sent over all rounds.
	events int64
}

// alternate writes the same events to both sides in rounds: each round
// sends the next share of the requests, oldest first, to one side and then
// the other, sides[0] first in the first round and alternating, so that
// neither always runs on the warmer machine. unit names the events in the
// progress lines ("events", "points").
func alternate(ctx context.Context, sides [2]side, rounds, conc int, unit string, logf func(string, ...any)) (*alternation, error) {
	if sides[0].w.Requests != sides[1].w.Requests || sides[0].w.Expected != sides[1].w.Expected {
		panic("BUG: the sides' workloads differ")
	}
	alt := &alternation{}
	for i := range alt.total {
		alt.total[i] = &ingestResult{LatenciesMs: make([]float64, 0, sides[i].w.Requests)}
	}
	for r := range rounds {
		lo, hi := roundShare(sides[0].w.Requests, r, rounds)
		order := []int{0, 1}
		if r%2 == 1 {
			order[0], order[1] = 1, 0
		}
		var rates [2]float64
		var events int64
		for _, i := range order {
			s := sides[i]
			tick := func(acked, retries int64, elapsed time.Duration) {
				logf("ingest round %d of %d, %s: %s %s acknowledged, %s %s/s", r+1, rounds, s.name,
					groupDigits(acked), unit, groupDigits(int64(float64(acked)/elapsed.Seconds())), unit)
			}
			in, err := ingestRange(ctx, s.c, s.sink, s.w, lo, hi, conc, tick)
			if err != nil {
				return nil, fmt.Errorf("ingest round %d of %d, %s: %w", r+1, rounds, s.name, err)
			}
			rates[i] = float64(in.Points) / in.Elapsed.Seconds()
			events = in.Points
			t := alt.total[i]
			t.Points += in.Points
			t.RawBytes += in.RawBytes
			t.WireBytes += in.WireBytes
			t.Elapsed += in.Elapsed
			t.LatenciesMs = append(t.LatenciesMs, in.LatenciesMs...)
			t.Retries429 += in.Retries429
		}
		for i := range rates {
			alt.rates[i] = append(alt.rates[i], math.Round(rates[i]))
		}
		alt.events += events
		logf("ingest round %d of %d (%s %s each, %s first): %s %s %s/s, %s %s %s/s (×%.2f)",
			r+1, rounds, groupDigits(events), unit, sides[order[0]].name, sides[0].name, groupDigits(int64(rates[0])), unit,
			sides[1].name, groupDigits(int64(rates[1])), unit, rates[0]/rates[1])
	}
	return alt, nil
}

// ingestAlternating writes w to Alidade (with ac and key) and vw, the same
// events in the peer's format, to the peer (with vc), in pc.Rounds
// alternating rounds (see alternate). It fills pc's ingest figures and
// returns Alidade's ingest over all rounds.
func ingestAlternating(ctx context.Context, ac *client, key string, w *Workload, vc *client, vw *Workload, conc int, pc *PeerComparison, logf func(string, ...any)) (*ingestResult, error) {
	alt, err := alternate(ctx, [2]side{{"Alidade", ac, alidadeSink(key), w}, {pc.Peer, vc, vlSink(), vw}}, pc.Rounds, conc, "events", logf)
	if err != nil {
		return nil, err
	}
	pc.AlidadeEventsPerS, pc.PeerEventsPerS = alt.rates[0], alt.rates[1]
	pc.Events = alt.events
	pc.PeerRetries429 = alt.total[1].Retries429
	pc.AlidadeMedian = math.Round(Median(pc.AlidadeEventsPerS))
	pc.PeerMedian = math.Round(Median(pc.PeerEventsPerS))
	if pc.PeerMedian > 0 {
		pc.IngestRatio = round(pc.AlidadeMedian/pc.PeerMedian, 3)
	}
	return alt.total[0], nil
}

// peerQueries flushes the peer, runs the grouped query on both repeat
// times, alternating, fills pc's query figures and compares the answers:
// the peer's with Alidade's raw one (sent events went to both; baseline
// points were in Alidade's range before the run), and Alidade's auto answer
// with its raw one in cmp when it came from rollups.
func peerQueries(ctx context.Context, ac *client, readKey string, vc *client, from, to int64, repeat int, sent, baseline int64, pc *PeerComparison, cmp *comparison, logf func(string, ...any)) error {
	if err := vlFlush(ctx, vc); err != nil {
		return err
	}
	body := peerQueryBody(from, to)
	pc.PeerQuery, pc.Repeat = vlStatsQuery(from, to), repeat
	var autoMs, rawMs, peerMs []float64
	var auto, raw *queryAnswer
	var peer []map[string]string
	for i := range repeat {
		a, d, err := runQuery(ctx, ac, readKey, body)
		if err != nil {
			return fmt.Errorf("the grouped query on Alidade: %w", err)
		}
		autoMs = append(autoMs, msOf(d))
		r, d, err := runQuery(ctx, ac, readKey, withSource(body, "raw"))
		if err != nil {
			return fmt.Errorf("the grouped query on Alidade with source raw: %w", err)
		}
		rawMs = append(rawMs, msOf(d))
		p, d, err := vlQuery(ctx, vc, pc.PeerQuery)
		if err != nil {
			return err
		}
		peerMs = append(peerMs, msOf(d))
		if i == 0 {
			auto, raw, peer = a, r, p
		}
	}
	pc.AlidadeQueryMs, pc.AlidadeQueryRawMs, pc.PeerQueryMs = round(Median(autoMs), 2), round(Median(rawMs), 2), round(Median(peerMs), 2)
	pc.AlidadeQuerySource = auto.Meta.Source
	if pc.AlidadeQueryMs > 0 {
		pc.QuerySpeedup = round(pc.PeerQueryMs/pc.AlidadeQueryMs, 2)
	}
	if pc.AlidadeQueryRawMs > 0 {
		pc.QuerySpeedupRaw = round(pc.PeerQueryMs/pc.AlidadeQueryRawMs, 2)
	}
	logf("the grouped query (medians of %d): Alidade %s ms from %s, %s ms from raw points; %s %s ms",
		repeat, ms(pc.AlidadeQueryMs), orUnknown(pc.AlidadeQuerySource), ms(pc.AlidadeQueryRawMs), pc.Peer, ms(pc.PeerQueryMs))

	if fromRollups(auto.Meta.Source) {
		cmp.compare("vs_"+pc.Peer, rowsAsAny(raw.Rows), rowsAsAny(auto.Rows))
	}
	rows, err := endpointRows(raw, true)
	if err != nil {
		return fmt.Errorf("the grouped query on Alidade: %w", err)
	}
	groups, err := vlGroups(peer)
	if err != nil {
		return fmt.Errorf("the grouped query on %s: %w", pc.Peer, err)
	}
	pc.Groups = len(groups)
	pc.QuantileDiff, pc.QuantileMaxAt, pc.Disagreements = comparePeerAnswers(pc.Peer, rows, groups, sent, baseline)
	for _, r := range rows {
		pc.AlidadeCount += int64(r.n)
	}
	for _, g := range groups {
		pc.PeerCount += int64(g.n)
	}
	if pc.PeerCount != sent && pc.PeerRowsIngested != nil {
		pc.Disagreements = append(pc.Disagreements, fmt.Sprintf("%s's /metrics: %d rows ingested, %d dropped", pc.Peer, *pc.PeerRowsIngested, *pc.PeerRowsDropped))
	}
	return nil
}

// comparePeerAnswers compares the peer's groups with Alidade's raw answer
// to the same query: both must count the sent events (Alidade sent plus
// baseline), and, when Alidade's range held nothing else, agree on every
// group's count and error count exactly, on its average to a relative
// 1e-6, and on its quantiles within peerQuantileTolerance. It returns the
// largest relative difference of each quantile, where it was, and the
// disagreements.
func comparePeerAnswers(peerName string, alidade map[string]endpointRow, peer map[string]peerRow, sent, baseline int64) (diffs map[string]float64, at map[string]string, out []string) {
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var na, np int64
	for _, r := range alidade {
		na += int64(r.n)
	}
	for _, r := range peer {
		np += int64(r.n)
	}
	if np != sent {
		fail("%s counts %d events; %d were sent", peerName, np, sent)
	}
	if na != sent+baseline {
		fail("Alidade counts %d points; %d were sent and %d were there before", na, sent, baseline)
	}
	diffs, at = map[string]float64{}, map[string]string{}
	if baseline > 0 {
		return diffs, at, out // other points share Alidade's groups
	}
	routes := make([]string, 0, len(alidade)+len(peer))
	for k := range alidade {
		routes = append(routes, k)
	}
	for k := range peer {
		if _, ok := alidade[k]; !ok {
			routes = append(routes, k)
		}
	}
	slices.Sort(routes)
	for _, route := range routes {
		a, inA := alidade[route]
		p, inP := peer[route]
		switch {
		case !inA:
			fail("route %s: only %s has it (%d events)", route, peerName, int64(p.n))
			continue
		case !inP:
			fail("route %s: only Alidade has it (%d points)", route, int64(a.n))
			continue
		case a.n != p.n:
			fail("route %s: Alidade counts %d, %s %d", route, int64(a.n), peerName, int64(p.n))
			continue
		}
		if !nearRel(a.avg, p.avg, 1e-6) {
			fail("route %s: avg latency %v in Alidade, %v in %s", route, a.avg, p.avg, peerName)
		}
		if errs := a.n * a.err / 100; math.Abs(errs-float64(p.errs)) > 0.5 {
			fail("route %s: %.1f events with status >= 400 in Alidade (%.4g%%), %d in %s", route, errs, a.err, p.errs, peerName)
		}
		if a.n < peerQuantileMinGroup {
			continue
		}
		got := map[string][2]float64{"p50": {a.p50, p.p50}, "p95": {a.p95, p.p95}, "p99": {a.p99, p.p99}}
		for _, q := range peerQuantileTolerance {
			v := got[q.key]
			rel := relErr(v[1], v[0])
			if _, seen := at[q.key]; !seen || rel > diffs[q.key] {
				diffs[q.key] = round(rel, 6)
				at[q.key] = fmt.Sprintf("%s (%d events): Alidade %v, %s %v", route, int64(a.n), v[0], peerName, v[1])
			}
			if rel > q.tol {
				fail("route %s: %s latency %v in Alidade, %v in %s (%s apart; tolerance %s)", route, q.key, v[0], v[1], peerName, pct(rel), pct(q.tol))
			}
		}
	}
	return diffs, at, out
}

// writePeerRows adds the comparison's rows to the report table.
func (p *PeerComparison) writeRows(row func(cells ...string)) {
	phase := "vs " + p.Peer
	row(phase, "peer", p.Version, "on loopback, a temporary data directory", "")
	row("", "events, each", groupDigits(p.Events), fmt.Sprintf("the same ones, in %d alternating rounds", p.Rounds), "")
	row("", "Alidade events/s", groupDigits(int64(p.AlidadeMedian)), "median of rounds "+rates(p.AlidadeEventsPerS), "")
	row("", p.Peer+" events/s", groupDigits(int64(p.PeerMedian)), "median of rounds "+rates(p.PeerEventsPerS), "")
	row("", "ingest ratio", fmt.Sprintf("×%.2f", p.IngestRatio), fmt.Sprintf("≥ ×%g", BudgetPeerIngestRatio), mark(p.MetIngest()))
	row("", "grouped query, Alidade", fmt.Sprintf("%s ms from %s; raw %s ms", ms(p.AlidadeQueryMs), orUnknown(p.AlidadeQuerySource), ms(p.AlidadeQueryRawMs)),
		fmt.Sprintf("%d groups × {count, avg, p50, p95, p99, errors}", p.Groups), "")
	row("", "grouped query, "+p.Peer, ms(p.PeerQueryMs)+" ms", fmt.Sprintf("medians of %d, alternating", p.Repeat), "")
	row("", "query speed-up", fmt.Sprintf("%s (raw %s)", speedup(p.QuerySpeedup), speedup(p.QuerySpeedupRaw)), "the peer's time over Alidade's", "")
	v := fmt.Sprintf("%s events each", groupDigits(p.PeerCount))
	if p.PeerCount != p.AlidadeCount {
		v = fmt.Sprintf("Alidade %s, %s %s", groupDigits(p.AlidadeCount), p.Peer, groupDigits(p.PeerCount))
	}
	if n := len(p.Disagreements); n > 0 {
		v += ", " + plural(n, "disagreement")
	} else {
		v += ", all agree"
	}
	row("", "answers", v, "counts, avg and errors equal; quantiles near", mark(len(p.Disagreements) == 0))
	if len(p.QuantileDiff) > 0 {
		row("", "quantiles apart", fmt.Sprintf("p50 %s, p95 %s, p99 %s", pct(p.QuantileDiff["p50"]), pct(p.QuantileDiff["p95"]), pct(p.QuantileDiff["p99"])),
			fmt.Sprintf("the most over groups of ≥ %s events", groupDigits(peerQuantileMinGroup)), "")
	}
	mem := "unknown"
	if p.PeerPeakRSSBytes != nil {
		mem = "peak " + humanBytes(*p.PeerPeakRSSBytes)
		if p.PeerRSSAfterIngestBytes != nil {
			mem += ", after ingest " + humanBytes(*p.PeerRSSAfterIngestBytes)
		}
	}
	disk := ""
	if p.PeerDiskBytes != nil {
		disk = "data directory " + humanBytes(*p.PeerDiskBytes) + " after it stopped"
	}
	row("", p.Peer+" RSS", mem, disk, "")
}

// rates writes per-round rates: 1.02M, 0.98M, 1.1M.
func rates(rs []float64) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		s += shortRate(r)
	}
	return s
}

// shortRate writes a rate with 3 significant digits: 1.02M, 398k.
func shortRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.3gM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.3gk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
