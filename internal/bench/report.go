package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"
)

// Budgets on the reference machine (2 cores). The query budget is defined at
// BudgetQueryPoints points, the overview's at BudgetOverviewPoints points
// over BudgetOverviewDays days.
const (
	BudgetIngestPointsPerS  = 500_000
	BudgetQuery8Ms          = 300
	BudgetQueryPoints       = 10_000_000
	BudgetDiskBytesPerPoint = 20
	BudgetRSSBytes          = 1 << 30

	// BudgetOverviewMs bounds the median round trip of the dashboard
	// overview (GET /api/v1/metrics?range=30d).
	BudgetOverviewMs     = 50
	BudgetOverviewPoints = 100_000_000
	BudgetOverviewDays   = 30
	// BudgetQuantileRelErr bounds the relative error of every quantile
	// answered from rollups against the exact one.
	BudgetQuantileRelErr = 0.01
	// BudgetRollupIngestRatio is the least ingest rate with rollups on as
	// a share of the rate with them off.
	BudgetRollupIngestRatio = 0.90
	// BudgetPeerIngestRatio is the least ingest rate as a multiple of
	// VictoriaLogs' on the same events in the same run (medians of the
	// alternating rounds).
	BudgetPeerIngestRatio = 2.0
	// BudgetFreshnessMs bounds the p99 of how long an acknowledged point
	// takes to be counted by a query while ingest runs.
	BudgetFreshnessMs = 1000
)

// Report is a bench run's figures. Its JSON form is the bench's one-line
// output: the first seven keys are the contract; the rest are extras.
type Report struct {
	IngestPointsPerS float64 `json:"ingest_points_per_s"`
	// IngestMBPerS counts NDJSON bytes before compression, in 10^6 bytes.
	IngestMBPerS float64 `json:"ingest_mb_per_s"`
	// CommitP50Ms and CommitP99Ms are write round trips as clients see
	// them: an acknowledgement means committed.
	CommitP50Ms float64    `json:"commit_p50_ms"`
	CommitP99Ms float64    `json:"commit_p99_ms"`
	QueriesMs   QueryTimes `json:"queries_ms"`
	// PeakRSSBytes is the server's peak resident set; null when the server
	// is not a child of the bench.
	PeakRSSBytes *int64 `json:"peak_rss_bytes"`
	// DiskBytesPerPoint is the data directory's size over the points
	// written; null when the data directory is unknown.
	DiskBytesPerPoint *float64 `json:"disk_bytes_per_point"`

	Points      int64  `json:"points"`
	Concurrency int    `json:"concurrency"`
	Batch       int    `json:"batch"`
	Gzip        bool   `json:"gzip"`
	Repeat      int    `json:"repeat"`
	Seed        uint64 `json:"seed"`
	Target      string `json:"target"` // "child" or the server URL
	Requests    int64  `json:"requests"`
	Retries429  int64  `json:"retries_429"`
	// IngestWireMBPerS is what went on the wire (differs with gzip).
	IngestWireMBPerS float64 `json:"ingest_wire_mb_per_s"`
	IngestS          float64 `json:"ingest_s"`
	// ServerCommits and ServerCommitAvgMs come from the server's
	// alidade_commit_duration_seconds during the ingest phase.
	ServerCommits     *int64   `json:"server_commits"`
	ServerCommitAvgMs *float64 `json:"server_commit_avg_ms"`
	DiskBytes         *int64   `json:"disk_bytes"`
	// DiskBytesBeforeStop is the data directory's size before the server's
	// shutdown checkpoint (write-ahead logs included).
	DiskBytesBeforeStop *int64  `json:"disk_bytes_before_stop"`
	ElapsedS            float64 `json:"elapsed_s"`

	// Days is the span the points were spread over, ending now; the
	// queries ask for [RangeFrom, RangeTo), the range a relative range of
	// that span asked when the points were generated covers.
	Days      int    `json:"days"`
	RangeFrom string `json:"range_from"`
	RangeTo   string `json:"range_to"`
	// SetupPath is how the points reached the server: "http".
	SetupPath string `json:"setup_path"`
	// SettleS is how long the bench waited after ingest for the server's
	// rollup upkeep (0: it did not).
	SettleS float64 `json:"settle_s"`
	// QueriesMs above are the queries as the server chooses to answer
	// them (source auto); QueriesRawMs the same with source raw, and
	// QuerySources each auto answer's meta.source.
	QueriesRawMs QueryTimes `json:"queries_raw_ms"`
	QuerySources QueryNotes `json:"query_sources"`
	// RollupNotCovered says, for each query auto answered from raw points,
	// why rollups cannot (the server's 400 to source=rollup).
	RollupNotCovered QueryNotes `json:"rollup_not_covered"`
	// Overview is the dashboard overview over OverviewRanges.
	Overview []OverviewTime `json:"overview"`
	// QuantileError compares the quantiles of every answer from rollups
	// (queries and overview) with the exact ones; null when none came from
	// rollups.
	QuantileError *QuantileError `json:"quantile_error"`
	// RollupMismatches lists answers from rollups that disagree with raw
	// points (beyond the quantiles' error); empty when they agree.
	RollupMismatches []string `json:"rollup_mismatches"`
	// IngestOverhead compares ingest with rollups on and off; null when
	// skipped.
	IngestOverhead *IngestOverhead `json:"rollup_ingest_overhead"`
	// RSSAfterIngestBytes and RSSAfterQueriesBytes are the started
	// server's resident set then; null for a server the bench did not
	// start.
	RSSAfterIngestBytes  *int64 `json:"rss_after_ingest_bytes"`
	RSSAfterQueriesBytes *int64 `json:"rss_after_queries_bytes"`
	// RollupDiskBytes is the size of the rollup snapshots in the data
	// directory (part of DiskBytes).
	RollupDiskBytes *int64 `json:"rollup_disk_bytes"`
	// VsVictoriaLogs compares Alidade with VictoriaLogs on the same events
	// (bench --vs-victorialogs); null when not run. With it, the ingest
	// figures above are Alidade's over all its alternating rounds.
	VsVictoriaLogs *PeerComparison `json:"vs_victorialogs"`
	// VsCluster compares the embedded store with a cluster node on the
	// same points (bench --store … --meta …); null when not run. With it,
	// the figures above are the embedded store's, its ingest over all its
	// alternating rounds.
	VsCluster *ClusterComparison `json:"vs_cluster"`
	// Freshness is how soon acknowledged points were counted by queries
	// during the ingest phase (a probe point every FreshnessEvery); null
	// when no probe was acknowledged.
	Freshness *Freshness `json:"freshness"`
	// Budgets are the verdicts of Verdicts.
	Budgets []Verdict `json:"budgets"`
}

// QueryTime is one query's median time.
type QueryTime struct {
	Name string
	Ms   float64
}

// QueryTimes marshals as a JSON object keeping the queries' order.
type QueryTimes []QueryTime

// Get returns the time of the named query.
func (q QueryTimes) Get(name string) (float64, bool) {
	for _, t := range q {
		if t.Name == name {
			return t.Ms, true
		}
	}
	return 0, false
}

// MarshalJSON writes {"name": ms, ...} in order.
func (q QueryTimes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, t := range q {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(t.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(t.Ms, 'f', -1, 64))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads {"name": ms, ...}, keeping the order.
func (q *QueryTimes) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return err
	}
	*q = nil
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var ms float64
		if err := dec.Decode(&ms); err != nil {
			return err
		}
		*q = append(*q, QueryTime{Name: tok.(string), Ms: ms})
	}
	_, err := dec.Token()
	return err
}

// JSON returns the report as one line of JSON.
func (r *Report) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // a LogsQL filter reads status:>=400
	if err := enc.Encode(r); err != nil {
		panic("BUG: marshal report: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Verdicts lists the figures that have a budget and whether each was met.
func (r *Report) Verdicts() []Verdict {
	var v []Verdict
	v = append(v, Verdict{"ingest points/s", r.IngestPointsPerS >= BudgetIngestPointsPerS})
	if ms, ok := r.QueriesMs.Get(QueryBudget8); ok {
		v = append(v, Verdict{QueryBudget8, ms <= BudgetQuery8Ms})
	}
	if ot, ok := r.overview(OverviewBudgetRange); ok {
		v = append(v, Verdict{"overview " + OverviewBudgetRange, ot.met(BudgetOverviewMs)})
	}
	if q := r.QuantileError; q != nil {
		v = append(v, Verdict{"quantile error", q.MaxRel <= BudgetQuantileRelErr})
	}
	if r.QuantileError != nil || len(r.RollupMismatches) > 0 {
		v = append(v, Verdict{"rollups agree with raw", len(r.RollupMismatches) == 0})
	}
	if ov := r.IngestOverhead; ov != nil {
		v = append(v, Verdict{"ingest with rollups", ov.Ratio >= BudgetRollupIngestRatio})
	}
	if pc := r.VsVictoriaLogs; pc != nil {
		v = append(v, Verdict{"ingest vs " + pc.Peer, pc.MetIngest()})
	}
	if cc := r.VsCluster; cc != nil {
		v = append(v, Verdict{"cluster agrees with embedded", len(cc.Disagreements) == 0})
	}
	if f := r.Freshness; f != nil {
		v = append(v, Verdict{"freshness p99", f.P99Ms <= BudgetFreshnessMs})
	}
	if r.DiskBytesPerPoint != nil {
		v = append(v, Verdict{"disk bytes/point", *r.DiskBytesPerPoint <= BudgetDiskBytesPerPoint})
	}
	if stored, ok := r.storedRSS(); ok {
		v = append(v, Verdict{"RSS with points stored", stored <= BudgetRSSBytes})
	}
	return v
}

// storedRSS is the larger of the RSS after ingest and after the queries:
// the server's memory with the points stored, which the budget bounds.
// The peak is not: it comes from the raw scans the bench runs for
// comparison, whose exact quantiles DuckDB computes in memory outside its
// limit.
func (r *Report) storedRSS() (int64, bool) {
	var n int64
	ok := false
	for _, x := range []*int64{r.RSSAfterIngestBytes, r.RSSAfterQueriesBytes} {
		if x != nil {
			n, ok = max(n, *x), true
		}
	}
	return n, ok
}

func (r *Report) overview(rng string) (OverviewTime, bool) {
	for _, ot := range r.Overview {
		if ot.Range == rng {
			return ot, true
		}
	}
	return OverviewTime{}, false
}

// Verdict is one budget's outcome.
type Verdict struct {
	Figure string `json:"figure"`
	Met    bool   `json:"met"`
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// WriteTable writes the report as a human-readable table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, join(cells)) }
	row("PHASE", "FIGURE", "VALUE", "BUDGET", "")
	gz := ""
	if r.Gzip {
		gz = ", gzip"
	}
	row("ingest", "points", groupDigits(r.Points), fmt.Sprintf("%d clients × %s-point requests%s", r.Concurrency, groupDigits(int64(r.Batch)), gz), "")
	if r.Days > 0 {
		row("", "time span", fmt.Sprintf("%s, oldest first", plural(r.Days, "day")), r.RangeFrom+" – "+r.RangeTo, "")
	}
	if p, ok := setupPaths[r.SetupPath]; ok {
		row("", "set-up path", p, "", "")
	}
	if r.SettleS > 0 {
		row("", "settled", fmt.Sprintf("%.0f s", r.SettleS), "wait for the server's minute tick before querying", "")
	}
	row("", "points/s acknowledged", groupDigits(int64(math.Round(r.IngestPointsPerS))), "≥ "+groupDigits(BudgetIngestPointsPerS), mark(r.IngestPointsPerS >= BudgetIngestPointsPerS))
	row("", "MB/s (NDJSON)", fmt.Sprintf("%.1f", r.IngestMBPerS), "", "")
	row("", "commit p50 / p99", fmt.Sprintf("%s / %s ms", ms(r.CommitP50Ms), ms(r.CommitP99Ms)), "client round trip", "")
	if r.ServerCommits != nil && r.ServerCommitAvgMs != nil {
		row("", "server group commits", fmt.Sprintf("%s, avg %s ms", groupDigits(*r.ServerCommits), ms(*r.ServerCommitAvgMs)), "", "")
	}
	row("", "429 retries", groupDigits(r.Retries429), "", "")
	if f := r.Freshness; f != nil {
		note := fmt.Sprintf("acknowledged to counted by a query; %d probes", f.Probes)
		if f.Unseen > 0 {
			note += fmt.Sprintf(", %d unseen after %s", f.Unseen, FreshnessGiveUp)
		}
		row("", "freshness p50 / p99 / max", fmt.Sprintf("%.0f / %.0f / %.0f ms", f.P50Ms, f.P99Ms, f.MaxMs), note+fmt.Sprintf("; p99 ≤ %d ms", BudgetFreshnessMs), mark(f.P99Ms <= BudgetFreshnessMs))
	}
	if pc := r.VsVictoriaLogs; pc != nil {
		row("", "rounds", fmt.Sprintf("%d, alternating with %s", pc.Rounds, pc.Peer), "the figures above are Alidade's over all its rounds", "")
	}
	if cc := r.VsCluster; cc != nil {
		row("", "rounds", fmt.Sprintf("%d, alternating with the cluster", cc.Rounds), "the figures above are the embedded store's over all its rounds", "")
	}
	if ov := r.IngestOverhead; ov != nil {
		row("", "rollups on / off", fmt.Sprintf("%s / %s points/s = %.1f%%", groupDigits(int64(ov.OnMedian)), groupDigits(int64(ov.OffMedian)), 100*ov.Ratio),
			fmt.Sprintf("≥ %.0f%% (medians of %d fresh servers each, %s points over %s)", 100*BudgetRollupIngestRatio, ov.Pairs, shortCount(ov.Points), time.Duration(ov.SpanMs)*time.Millisecond), mark(ov.Ratio >= BudgetRollupIngestRatio))
	}
	for i, q := range r.QueriesMs {
		phase := ""
		if i == 0 {
			phase = "query"
		}
		budget, verdict := "", ""
		if q.Name == QueryBudget8 {
			budget = fmt.Sprintf("≤ %d ms at %s points", BudgetQuery8Ms, shortCount(BudgetQueryPoints))
			verdict = mark(q.Ms <= BudgetQuery8Ms)
		}
		row(phase, q.Name, r.queryValue(q), budget, verdict)
	}
	for i, ot := range r.Overview {
		phase := ""
		if i == 0 {
			phase = "overview"
		}
		budget, verdict := "", ""
		if ot.Range == OverviewBudgetRange {
			budget = fmt.Sprintf("≤ %d ms at %s points", BudgetOverviewMs, shortCount(BudgetOverviewPoints))
			verdict = mark(ot.met(BudgetOverviewMs))
		}
		row(phase, "range="+ot.Range, ot.value(), budget, verdict)
	}
	if q := r.QuantileError; q != nil {
		row("rollups", "quantile rel. error", fmt.Sprintf("max %s, median %s, p99 %s of %s",
			pct(q.MaxRel), pct(q.MedianRel), pct(q.P99Rel), plural(q.Compared, "quantile")), fmt.Sprintf("≤ %s", pct(BudgetQuantileRelErr)), mark(q.MaxRel <= BudgetQuantileRelErr))
	}
	if r.QuantileError != nil || len(r.RollupMismatches) > 0 {
		v := "all agree"
		if n := len(r.RollupMismatches); n > 0 {
			v = plural(n, "disagreement")
		}
		row("", "counts, sums, rates", v, "same as raw", mark(len(r.RollupMismatches) == 0))
	}
	if pc := r.VsVictoriaLogs; pc != nil {
		pc.writeRows(row)
	}
	if cc := r.VsCluster; cc != nil {
		cc.writeRows(row)
	}
	if r.PeakRSSBytes != nil {
		row("server", "peak RSS", humanBytes(*r.PeakRSSBytes), "during the raw scans too (their exact quantiles)", "")
	} else {
		row("server", "peak RSS", "unknown", "(server not started by the bench)", "")
	}
	if r.RSSAfterIngestBytes != nil {
		row("", "RSS after ingest", humanBytes(*r.RSSAfterIngestBytes), "≤ "+humanBytes(BudgetRSSBytes)+" with the points stored", mark(*r.RSSAfterIngestBytes <= BudgetRSSBytes))
	}
	if r.RSSAfterQueriesBytes != nil {
		row("", "RSS after queries", humanBytes(*r.RSSAfterQueriesBytes), "≤ "+humanBytes(BudgetRSSBytes)+" with the points stored", mark(*r.RSSAfterQueriesBytes <= BudgetRSSBytes))
	}
	if r.DiskBytesPerPoint != nil {
		row("disk", "bytes/point", fmt.Sprintf("%.2f", *r.DiskBytesPerPoint), fmt.Sprintf("≤ %d", BudgetDiskBytesPerPoint), mark(*r.DiskBytesPerPoint <= BudgetDiskBytesPerPoint))
		if r.DiskBytes != nil {
			row("", "data directory", humanBytes(*r.DiskBytes), "after the shutdown checkpoint", "")
		}
		if r.RollupDiskBytes != nil {
			row("", "rollup snapshots", humanBytes(*r.RollupDiskBytes), "part of the data directory", "")
		}
	} else {
		row("disk", "bytes/point", "unknown", "(pass --data-dir)", "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	if r.Points != BudgetQueryPoints {
		notes = append(notes, fmt.Sprintf("the %s budget is defined at %s points; this run wrote %s", QueryBudget8, shortCount(BudgetQueryPoints), shortCount(r.Points)))
	}
	if _, ok := r.overview(OverviewBudgetRange); ok && (r.Points != BudgetOverviewPoints || r.Days != BudgetOverviewDays) {
		notes = append(notes, fmt.Sprintf("the overview budget is defined at %s points over %d days; this run wrote %s over %s",
			shortCount(BudgetOverviewPoints), BudgetOverviewDays, shortCount(r.Points), plural(r.Days, "day")))
	}
	notes = append(notes, fmt.Sprintf("query times are medians of %d runs; the query value is the default (auto) answer, its meta.source, the raw-points time and the speed-up", r.Repeat))
	for _, n := range r.RollupNotCovered {
		notes = append(notes, fmt.Sprintf("rollups cannot answer %s: %s", n.Name, n.Text))
	}
	for _, ot := range r.Overview {
		if ot.AutoError != "" {
			notes = append(notes, fmt.Sprintf("the overview range=%s failed: %s", ot.Range, ot.AutoError))
		}
		if ot.RawError != "" {
			notes = append(notes, fmt.Sprintf("the overview range=%s from raw points failed: %s", ot.Range, ot.RawError))
		}
	}
	if q := r.QuantileError; q != nil {
		notes = append(notes, "the largest quantile error: "+q.MaxAt)
	}
	for _, m := range r.RollupMismatches {
		notes = append(notes, "rollups disagree with raw points: "+m)
	}
	if r.IngestOverhead == nil {
		notes = append(notes, "the ingest overhead of rollups was not measured (--baseline-pairs; on by default from 10M points)")
	}
	if pc := r.VsVictoriaLogs; pc != nil {
		notes = append(notes, fmt.Sprintf("%s acknowledges a write before its events are on disk; Alidade's acknowledgement means durable", pc.Peer))
		if at, ok := pc.QuantileMaxAt["p99"]; ok {
			notes = append(notes, "the largest p99 difference from "+pc.Peer+": "+at)
		}
		for _, d := range pc.Disagreements {
			notes = append(notes, "Alidade and "+pc.Peer+" disagree: "+d)
		}
	}
	if cc := r.VsCluster; cc != nil {
		notes = append(notes, "both sides ran every query with source raw (compared exactly) and with source auto (the embedded store's rollups in memory, the cluster's ClickHouse rollup table, where they cover the query; the cluster's compared with its raw answer); the cluster's writes are acknowledged once inserted in ClickHouse")
		if cc.LeftBehind != "" {
			notes = append(notes, "left behind by the cluster comparison: "+cc.LeftBehind)
		}
		for _, d := range cc.Disagreements {
			notes = append(notes, "the embedded store and the cluster disagree: "+d)
		}
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "Note: %s.\n", n); err != nil {
			return err
		}
	}
	return nil
}

// queryValue describes a query's times: the auto answer, where it came
// from, and the raw one.
func (r *Report) queryValue(q QueryTime) string {
	v := ms(q.Ms) + " ms"
	src, ok := r.QuerySources.Get(q.Name)
	if !ok {
		return v
	}
	v += " from " + orUnknown(src)
	if raw, ok := r.QueriesRawMs.Get(q.Name); ok {
		v += "; raw " + ms(raw) + " ms"
		if fromRollups(src) && q.Ms > 0 {
			v += ", " + speedup(raw/q.Ms)
		}
	}
	return v
}

// speedup writes how many times faster an answer was: ×0.5, ×3.2, ×41.
func speedup(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("×%.0f", r)
	}
	return fmt.Sprintf("×%.1f", r)
}

// pct writes a ratio as a percentage with 3 significant digits.
func pct(v float64) string {
	if v != 0 && math.Abs(v) < 1e-6 {
		return "< 0.0001%"
	}
	return strconv.FormatFloat(100*v, 'g', 3, 64) + "%"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return groupDigits(int64(n)) + " " + unit + "s"
}

// orderedField is one member of an orderedJSON object.
type orderedField struct {
	key string
	val any
}

// orderedJSON is a JSON object whose members keep their order.
type orderedJSON []orderedField

// MarshalJSON writes the members in order.
func (o orderedJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// unmarshal reads an object, decoding each value into a new one.
func (o *orderedJSON) unmarshal(data []byte, newVal func() any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null
		*o = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want a JSON object, got %v", tok)
	}
	*o = nil
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		v := newVal()
		if err := dec.Decode(v); err != nil {
			return err
		}
		*o = append(*o, orderedField{tok.(string), v})
	}
	_, err = dec.Token()
	return err
}

func join(cells []string) string {
	var b bytes.Buffer
	for i, c := range cells {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(c)
	}
	return b.String()
}

// ms writes a duration in ms with sensible precision.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return neg + string(b)
}

// shortCount writes 10000000 as 10M and 1500000 as 1.5M.
func shortCount(n int64) string {
	for _, u := range []struct {
		suffix string
		v      float64
	}{{"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if float64(n) >= u.v {
			return strconv.FormatFloat(float64(n)/u.v, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// humanBytes writes a size in binary units.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
