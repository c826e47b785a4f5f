package checks

import (
	"encoding/json"
	"time"
)

// Run is one run of a check, as stored; MarshalJSON shows the fields of
// its type only.
type Run struct {
	ID    int64     `json:"id"`
	Type  string    `json:"type"`
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error"`
	// Unavailable is a run that could not test its target (a page run
	// without Lighthouse, or with its queue full): it writes no point
	// and leaves the check's up or down as it was.
	Unavailable bool `json:"unavailable,omitempty"`

	// http
	Status            int      `json:"status,omitempty"`
	SizeBytes         int64    `json:"sizeBytes,omitempty"`
	Timings           Timings  `json:"timings"`
	CertExpiresInDays *float64 `json:"certExpiresInDays,omitempty"`

	// page
	Device          string               `json:"device,omitempty"`
	Score           *float64             `json:"score,omitempty"`
	Metrics         *Metrics             `json:"metrics,omitempty"`
	Recommendations []RecommendationJSON `json:"recommendations,omitempty"`
	// LCPElement is the lab run's LCP element (a CSS selector), "" when
	// Lighthouse could not tell (an extension of the run shape).
	LCPElement string `json:"lcpElement,omitempty"`
	// HasReport says a Lighthouse report is kept with the run.
	HasReport bool `json:"hasReport,omitempty"`
	// DurationMs is how long the run took (an http run's timings.total).
	DurationMs float64 `json:"durationMs,omitempty"`
}

// Timings are an http run's phases in milliseconds: dns, connect and tls
// summed over the connections made (one per redirect followed), ttfb from
// the start to the last answer's first byte, total to its body's end. TLS
// is nil for a plain http run.
type Timings struct {
	DNS     float64  `json:"dns"`
	Connect float64  `json:"connect"`
	TLS     *float64 `json:"tls,omitempty"`
	TTFB    float64  `json:"ttfb"`
	Total   float64  `json:"total"`
}

// Metrics are a page run's lab metrics: milliseconds, CLS unitless.
type Metrics struct {
	LCP  float64 `json:"lcp"`
	CLS  float64 `json:"cls"`
	FCP  float64 `json:"fcp"`
	TBT  float64 `json:"tbt"`
	SI   float64 `json:"si"`
	TTFB float64 `json:"ttfb"`
}

// RecommendationJSON is a Recommendation as runs show it.
type RecommendationJSON struct {
	Audit        string  `json:"audit"`
	Title        string  `json:"title"`
	SavingsMs    float64 `json:"savingsMs"`
	SavingsBytes float64 `json:"savingsBytes"`
}

type httpRunJSON struct {
	ID                int64     `json:"id"`
	Type              string    `json:"type"`
	At                time.Time `json:"at"`
	OK                bool      `json:"ok"`
	Status            int       `json:"status"`
	Error             string    `json:"error"`
	SizeBytes         int64     `json:"sizeBytes"`
	Timings           Timings   `json:"timings"`
	CertExpiresInDays *float64  `json:"certExpiresInDays,omitempty"`
}

type pageRunJSON struct {
	ID              int64                `json:"id"`
	Type            string               `json:"type"`
	At              time.Time            `json:"at"`
	OK              bool                 `json:"ok"`
	Error           string               `json:"error"`
	Unavailable     bool                 `json:"unavailable,omitempty"`
	Device          string               `json:"device"`
	Score           *float64             `json:"score"`
	Metrics         *Metrics             `json:"metrics"`
	Recommendations []RecommendationJSON `json:"recommendations"`
	LCPElement      string               `json:"lcpElement,omitempty"`
	HasReport       bool                 `json:"hasReport"`
	DurationMs      float64              `json:"durationMs"`
}

// MarshalJSON writes the run's API shape: an http run
// {"id","type","at","ok","status","error","sizeBytes","timings","certExpiresInDays"},
// a page run {"id","type","at","ok","error","device","score","metrics","recommendations","lcpElement","hasReport","durationMs"}
// (lcpElement only when Lighthouse named one).
func (r Run) MarshalJSON() ([]byte, error) {
	at := r.At.UTC()
	if r.Type == TypePage {
		recs := r.Recommendations
		if recs == nil {
			recs = []RecommendationJSON{}
		}
		return json.Marshal(pageRunJSON{ID: r.ID, Type: r.Type, At: at, OK: r.OK, Error: r.Error, Unavailable: r.Unavailable, Device: r.Device,
			Score: r.Score, Metrics: r.Metrics, Recommendations: recs, LCPElement: r.LCPElement, HasReport: r.HasReport, DurationMs: r.DurationMs})
	}
	return json.Marshal(httpRunJSON{ID: r.ID, Type: TypeHTTP, At: at, OK: r.OK, Status: r.Status, Error: r.Error, SizeBytes: r.SizeBytes,
		Timings: r.Timings, CertExpiresInDays: r.CertExpiresInDays})
}
