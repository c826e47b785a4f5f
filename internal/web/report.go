package web

// Report is the answer of GET /api/v1/web. Counts are numbers (0 over no
// data); every other figure is null where it is undefined (a rate, mean or
// quantile over nothing); lists are [] when empty and hold at most the
// request's top rows. Rates are percentages (0–100), durations
// milliseconds. Counts honour _sample_interval.
type Report struct {
	// Summary holds the headline figures of the period.
	Summary Summary `json:"summary"`
	// Previous holds them over the period of equal length just before.
	Previous Summary `json:"previous"`
	// Change compares Summary with Previous (see Change).
	Change Change `json:"change"`

	// Pages are the pages with the most page views; EntryPages those that
	// began the most visits; ExitPages those that ended the most.
	Pages      []PageViews `json:"pages"`
	EntryPages []EntryPage `json:"entryPages"`
	ExitPages  []ExitPage  `json:"exitPages"`
	// Referrers group visits by the referrer's host ("" is direct: no
	// referrer, or the site's own pages).
	Referrers []Breakdown `json:"referrers"`
	UTM       UTM         `json:"utm"`
	Devices   []Breakdown `json:"devices"`
	Browsers  []Breakdown `json:"browsers"`
	OS        []Breakdown `json:"os"`
	Countries []Breakdown `json:"countries"`

	Vitals    Vitals    `json:"vitals"`
	Errors    Errors    `json:"errors"`
	APICalls  []APICall `json:"apiCalls"`
	WebSocket WebSocket `json:"websocket"`
	Actions   []Action  `json:"actions"`

	Meta Meta `json:"meta"`
}

// Summary is the headline figures of a period, from the pageviews and
// client_errors datasets.
type Summary struct {
	// Visitors counts distinct visitor ids. An id is a browser's for one
	// UTC day (the salt rotates), so a browser seen on three days of the
	// period counts three times.
	Visitors float64 `json:"visitors"`
	// Visits counts the visits that began in the period: sum(entry).
	Visits float64 `json:"visits"`
	// PageViews counts page views.
	PageViews float64 `json:"pageViews"`
	// ViewsPerVisit is PageViews / Visits.
	ViewsPerVisit *float64 `json:"viewsPerVisit"`
	// BounceRate is the share of visits of one page view: 100 ·
	// sum(bounce) / sum(entry).
	BounceRate *float64 `json:"bounceRate"`
	// VisitDuration is the mean visit duration in ms, from the first page
	// view to the last: sum(since_previous) / sum(entry); a visit of one
	// page view lasts 0.
	VisitDuration *float64 `json:"visitDuration"`
	// JSErrors counts client_errors points; JSErrorRate is errors per 100
	// page views (it may exceed 100).
	JSErrors    float64  `json:"jsErrors"`
	JSErrorRate *float64 `json:"jsErrorRate"`
}

// Change compares the period's Summary with the previous one: counts,
// ViewsPerVisit and VisitDuration as a relative change in percent (+25
// means a quarter more); BounceRate and JSErrorRate as a difference in
// percentage points. Null where either side is undefined or a relative
// change starts from 0.
type Change struct {
	Visitors      *float64 `json:"visitors"`
	Visits        *float64 `json:"visits"`
	PageViews     *float64 `json:"pageViews"`
	ViewsPerVisit *float64 `json:"viewsPerVisit"`
	BounceRate    *float64 `json:"bounceRate"`
	VisitDuration *float64 `json:"visitDuration"`
	JSErrors      *float64 `json:"jsErrors"`
	JSErrorRate   *float64 `json:"jsErrorRate"`
}

// PageViews is one page (the pageviews index, the path cut to 96 bytes).
type PageViews struct {
	Page      string  `json:"page"`
	PageViews float64 `json:"pageViews"`
	// Entries counts the visits that began on the page.
	Entries float64 `json:"entries"`
}

// EntryPage is a page visits began on.
type EntryPage struct {
	Page    string  `json:"page"`
	Entries float64 `json:"entries"`
	// Bounces counts the visits that began and ended on it (one page view).
	Bounces    float64  `json:"bounces"`
	BounceRate *float64 `json:"bounceRate"`
}

// ExitPage is a page visits ended on: a visit's last page view in the
// period.
type ExitPage struct {
	Page      string  `json:"page"`
	Exits     float64 `json:"exits"`
	PageViews float64 `json:"pageViews"`
	// ExitRate is the share of the page's views that ended a visit.
	ExitRate *float64 `json:"exitRate"`
}

// Breakdown is one value of a page view field: a referrer host, a UTM tag,
// a device class, a browser, an OS or a country code ("" when unknown or
// none).
type Breakdown struct {
	Name string `json:"name"`
	// Visits counts the visits that began with this value (sum(entry)),
	// PageViews the page views that carry it. Lists are ordered by visits.
	Visits    float64 `json:"visits"`
	PageViews float64 `json:"pageViews"`
}

// UTM groups visits by the UTM tags of the page they began on.
type UTM struct {
	Sources   []Breakdown `json:"sources"`
	Mediums   []Breakdown `json:"mediums"`
	Campaigns []Breakdown `json:"campaigns"`
}

// Vitals are the Core Web Vitals of the web_vitals dataset.
type Vitals struct {
	// Metrics holds LCP, INP, CLS, FCP, TTFB and FID, in that order,
	// always all six.
	Metrics []Vital `json:"metrics"`
	// ByPage holds them for the top pages by page views (those with
	// measurements), each with the metrics that have any.
	ByPage []PageVitals `json:"byPage"`
}

// Vital is one metric's measurements.
type Vital struct {
	Metric  string  `json:"metric"`
	Samples float64 `json:"samples"`
	// P75 is the 75th percentile of the value (ms; CLS unitless), the
	// figure Google's Core Web Vitals assessment uses.
	P75 *float64 `json:"p75"`
	// Good, NeedsImprovement and Poor are the shares of samples (0–100)
	// of each rating: the rating the browser sent (web-vitals rates with
	// Google's thresholds), or for a sample without one, its value against
	// Thresholds.
	Good             *float64 `json:"good"`
	NeedsImprovement *float64 `json:"needsImprovement"`
	Poor             *float64 `json:"poor"`
	// Thresholds are Google's: good up to [0], poor above [1].
	Thresholds [2]float64 `json:"thresholds"`
}

// PageVitals are the vitals measured on one page.
type PageVitals struct {
	Page    string  `json:"page"`
	Metrics []Vital `json:"metrics"`
}

// Errors measures JavaScript errors (client_errors) per page view.
type Errors struct {
	Errors    float64 `json:"errors"`
	PageViews float64 `json:"pageViews"`
	// ErrorRate is errors per 100 page views.
	ErrorRate *float64 `json:"errorRate"`
	// ByPage holds the pages with the most errors, ByType the error types
	// (e.g. TypeError) with the most.
	ByPage []PageErrors `json:"byPage"`
	ByType []TypeErrors `json:"byType"`
}

// PageErrors is one page's errors.
type PageErrors struct {
	Page      string   `json:"page"`
	Errors    float64  `json:"errors"`
	PageViews float64  `json:"pageViews"`
	ErrorRate *float64 `json:"errorRate"`
}

// TypeErrors is one error type's count.
type TypeErrors struct {
	Type   string  `json:"type"`
	Errors float64 `json:"errors"`
}

// APICall is one endpoint of the api_calls dataset: API response times as
// browsers saw them.
type APICall struct {
	Endpoint string  `json:"endpoint"`
	Calls    float64 `json:"calls"`
	// Failures count calls with success = 0; FailureRate is their share.
	Failures    float64  `json:"failures"`
	FailureRate *float64 `json:"failureRate"`
	P50         *float64 `json:"p50"`
	P95         *float64 `json:"p95"`
}

// WebSocket measures the browsers' WebSocket connections (the websocket
// dataset's points with side = "browser").
type WebSocket struct {
	// Opens counts connections opened, reconnects included.
	Opens  float64 `json:"opens"`
	Closes float64 `json:"closes"`
	// AbnormalCloses count closes with a code other than 1000 (normal) and
	// 1001 (going away), and other than 0 (no code recorded).
	AbnormalCloses float64 `json:"abnormalCloses"`
	// DropRate is AbnormalCloses per 100 Opens.
	DropRate *float64 `json:"dropRate"`
	// Reconnects count opens with attempt ≥ 1 and events of kind
	// "reconnect".
	Reconnects float64 `json:"reconnects"`
	Errors     float64 `json:"errors"`
}

// Action is one Redux action type (or user interaction) of ui_actions.
type Action struct {
	Action string   `json:"action"`
	Count  float64  `json:"count"`
	P50    *float64 `json:"p50"`
	P95    *float64 `json:"p95"`
}

// Meta says what was measured, from where, and how long it took.
type Meta struct {
	From         string `json:"from"` // RFC 3339, UTC
	To           string `json:"to"`   // exclusive
	PreviousFrom string `json:"previousFrom"`
	PreviousTo   string `json:"previousTo"`
	Top          int    `json:"top"`
	// Source is "rollup" when every figure came from rollups, "raw" when
	// every one was read from raw points, "mixed" otherwise.
	Source string `json:"source"`
	// Sources says it per figure (the keys of the answer, e.g. visitors,
	// bounceRate, exitPages, vitals.byPage): "rollup", "raw", or "mixed"
	// (rollups for the whole minutes and hours, raw points for the edges
	// of the range).
	Sources map[string]string `json:"sources"`
	// VitalsRating says how the vitals' shares were rated.
	VitalsRating string  `json:"vitalsRating"`
	ElapsedMs    float64 `json:"elapsedMs"`
	// Warnings name figures left out, e.g. a list with too many groups.
	Warnings []string `json:"warnings,omitempty"`
}
