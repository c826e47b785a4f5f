package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// Budgets on the reference machine (2 cores). The query budget is defined at
// BudgetQueryPoints points.
const (
	BudgetIngestPointsPerS  = 500_000
	BudgetQuery8Ms          = 300
	BudgetQueryPoints       = 10_000_000
	BudgetDiskBytesPerPoint = 20
	BudgetRSSBytes          = 1 << 30
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
	b, err := json.Marshal(r)
	if err != nil {
		panic("BUG: marshal report: " + err.Error())
	}
	return b
}

// Verdicts lists the figures that have a budget and whether each was met.
func (r *Report) Verdicts() []Verdict {
	var v []Verdict
	v = append(v, Verdict{"ingest points/s", r.IngestPointsPerS >= BudgetIngestPointsPerS})
	if ms, ok := r.QueriesMs.Get(QueryBudget8); ok {
		v = append(v, Verdict{QueryBudget8, ms <= BudgetQuery8Ms})
	}
	if r.DiskBytesPerPoint != nil {
		v = append(v, Verdict{"disk bytes/point", *r.DiskBytesPerPoint <= BudgetDiskBytesPerPoint})
	}
	if r.PeakRSSBytes != nil {
		v = append(v, Verdict{"peak RSS", *r.PeakRSSBytes <= BudgetRSSBytes})
	}
	return v
}

// Verdict is one budget's outcome.
type Verdict struct {
	Figure string
	Met    bool
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
	row("", "points/s acknowledged", groupDigits(int64(math.Round(r.IngestPointsPerS))), "≥ "+groupDigits(BudgetIngestPointsPerS), mark(r.IngestPointsPerS >= BudgetIngestPointsPerS))
	row("", "MB/s (NDJSON)", fmt.Sprintf("%.1f", r.IngestMBPerS), "", "")
	row("", "commit p50 / p99", fmt.Sprintf("%s / %s ms", ms(r.CommitP50Ms), ms(r.CommitP99Ms)), "client round trip", "")
	if r.ServerCommits != nil && r.ServerCommitAvgMs != nil {
		row("", "server group commits", fmt.Sprintf("%s, avg %s ms", groupDigits(*r.ServerCommits), ms(*r.ServerCommitAvgMs)), "", "")
	}
	row("", "429 retries", groupDigits(r.Retries429), "", "")
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
		row(phase, q.Name, ms(q.Ms)+" ms", budget, verdict)
	}
	if r.PeakRSSBytes != nil {
		row("server", "peak RSS", humanBytes(*r.PeakRSSBytes), "≤ "+humanBytes(BudgetRSSBytes), mark(*r.PeakRSSBytes <= BudgetRSSBytes))
	} else {
		row("server", "peak RSS", "unknown", "(server not started by the bench)", "")
	}
	if r.DiskBytesPerPoint != nil {
		row("disk", "bytes/point", fmt.Sprintf("%.2f", *r.DiskBytesPerPoint), fmt.Sprintf("≤ %d", BudgetDiskBytesPerPoint), mark(*r.DiskBytesPerPoint <= BudgetDiskBytesPerPoint))
		if r.DiskBytes != nil {
			row("", "data directory", humanBytes(*r.DiskBytes), "after the shutdown checkpoint", "")
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
	notes = append(notes, fmt.Sprintf("query times are the median of %d runs", r.Repeat))
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "Note: %s.\n", n); err != nil {
			return err
		}
	}
	return nil
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
