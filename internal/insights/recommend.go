package insights

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Recommendation is one finding on a page, with the figures behind it.
type Recommendation struct {
	Text     string   `json:"text"`
	Evidence Evidence `json:"evidence"`
}

// Evidence holds the figures a Recommendation's text quotes.
type Evidence struct {
	// Kind is "vital", "errors" or "apiCall".
	Kind    string   `json:"kind"`
	Metric  string   `json:"metric,omitempty"`
	P75     *float64 `json:"p75,omitempty"`
	Rating  string   `json:"rating,omitempty"`
	Good    float64  `json:"goodThreshold,omitempty"`
	Change  *float64 `json:"change,omitempty"`
	Views   float64  `json:"views"`
	Samples float64  `json:"samples,omitempty"`
	// Element is the LCP element or INP target most samples blame, with
	// its share of them (and its own p75, for INP).
	Element      string   `json:"element,omitempty"`
	ElementShare *float64 `json:"elementShare,omitempty"`
	ElementP75   *float64 `json:"elementP75,omitempty"`
	// Errors and ErrorRate (errors per view), for kind errors.
	Errors    float64  `json:"errors,omitempty"`
	ErrorRate *float64 `json:"errorRate,omitempty"`
	// Endpoint and Calls, for kind apiCall (P75 is the endpoint's).
	Endpoint string  `json:"endpoint,omitempty"`
	Calls    float64 `json:"calls,omitempty"`
	// The lab run's recommendation quoted, if any.
	LabRunID     string  `json:"labRunId,omitempty"`
	LabAudit     string  `json:"labAudit,omitempty"`
	LabTitle     string  `json:"labTitle,omitempty"`
	LabSavingsMs float64 `json:"labSavingsMs,omitempty"`
}

// Thresholds of the recommendations that are not Google's.
const (
	// minElementShare is the share of a metric's samples an element must
	// have to be named.
	minElementShare = 0.25
	// minChange is the rise of a p75 on the period before worth quoting.
	minChange = 0.10
	// minErrors and minErrorRate make a page's error rate worth a
	// recommendation: 5 errors at least, 1 per 100 views.
	minErrors    = 5
	minErrorRate = 0.01
	// slowCallMs and minCalls make an API call worth one: p75 of a second
	// or more over 10 calls at least.
	slowCallMs = 1000
	minCalls   = 10
)

// recommend derives a page's recommendations from its figures and its
// latest lab run (nil when none): one per vital whose p75 is not good
// (worst excess first), naming the element most of its samples blame
// (LCP, INP) and the lab run's largest saving (LCP, FCP); one for an error
// rate of 1 per 100 views or more; one for the slowest API call when its
// p75 is a second or more.
func recommend(p *Page, lab *LabRun) []Recommendation {
	out := []Recommendation{}
	type bad struct {
		i      int
		excess float64
	}
	var bads []bad
	for i, m := range metrics {
		v := *p.Vitals.at(i)
		if v == nil || v.P75 == nil || v.Rating == RatingGood {
			continue
		}
		bads = append(bads, bad{i, m.excess(*v.P75)})
	}
	// Worst first, by the impact's measure; stable on metric order.
	for a := 1; a < len(bads); a++ {
		for b := a; b > 0 && bads[b].excess > bads[b-1].excess; b-- {
			bads[b], bads[b-1] = bads[b-1], bads[b]
		}
	}
	for _, b := range bads {
		m, v := metrics[b.i], *p.Vitals.at(b.i)
		ev := Evidence{Kind: "vital", Metric: m.name, P75: v.P75, Rating: v.Rating, Good: m.good, Views: p.Views, Samples: v.Samples}
		var s strings.Builder
		verb := "is poor"
		if v.Rating == RatingNeedsImprovement {
			verb = "needs improvement"
		}
		audience := formatCount(p.Views) + " views"
		if p.Views == 0 {
			audience = formatCount(v.Samples) + " samples"
		}
		fmt.Fprintf(&s, "%s %s at p75 on %s (%s over %s)", m.name, verb, p.Page, formatValue(m.name, *v.P75), audience)
		if v.Change != nil && *v.Change >= minChange {
			ev.Change = v.Change
			fmt.Fprintf(&s, ", up %s on the period before", formatPct(*v.Change))
		}
		switch b.i {
		case iLCP:
			if e := top(p.LCPElements); e != nil {
				ev.Element, ev.ElementShare = e.Element, &e.Share
				fmt.Fprintf(&s, "; the LCP element is %s in %s of them", e.Element, formatPct(e.Share))
			}
		case iINP:
			if e := top(p.INPTargets); e != nil {
				ev.Element, ev.ElementShare, ev.ElementP75 = e.Element, &e.Share, e.P75
				fmt.Fprintf(&s, "; the slowest interaction is on %s in %s of them", e.Element, formatPct(e.Share))
				if e.P75 != nil {
					fmt.Fprintf(&s, " (p75 %s)", formatValue("INP", *e.P75))
				}
			}
		}
		if lab != nil && (b.i == iLCP || metrics[b.i].name == "FCP") {
			if r := largestSaving(lab.Recommendations); r != nil {
				ev.LabRunID, ev.LabAudit, ev.LabTitle, ev.LabSavingsMs = lab.RunID, r.Audit, r.Title, r.SavingsMs
				fmt.Fprintf(&s, "; the latest lab run's '%s' would save %s", r.Title, formatValue("LCP", r.SavingsMs))
			}
		}
		out = append(out, Recommendation{Text: s.String(), Evidence: ev})
	}
	if p.ErrorRate != nil && p.Errors >= minErrors && *p.ErrorRate >= minErrorRate {
		out = append(out, Recommendation{
			Text: fmt.Sprintf("%s JavaScript errors per 100 views on %s (%s errors over %s views)",
				formatNum(100**p.ErrorRate), p.Page, formatCount(p.Errors), formatCount(p.Views)),
			Evidence: Evidence{Kind: "errors", Views: p.Views, Errors: p.Errors, ErrorRate: p.ErrorRate},
		})
	}
	if len(p.SlowestAPICalls) > 0 {
		c := p.SlowestAPICalls[0]
		if c.P75 != nil && *c.P75 >= slowCallMs && c.Calls >= minCalls {
			out = append(out, Recommendation{
				Text: fmt.Sprintf("%s takes %s at p75 when called from %s (%s calls)",
					c.Endpoint, formatValue("LCP", *c.P75), p.Page, formatCount(c.Calls)),
				Evidence: Evidence{Kind: "apiCall", Endpoint: c.Endpoint, P75: c.P75, Calls: c.Calls, Views: p.Views},
			})
		}
	}
	return out
}

// top is the first element when its share is worth naming.
func top(els []Element) *Element {
	if len(els) == 0 || els[0].Share < minElementShare {
		return nil
	}
	return &els[0]
}

// largestSaving is the lab recommendation that saves the most time.
func largestSaving(recs []LabRec) *LabRec {
	var best *LabRec
	for i := range recs {
		if recs[i].SavingsMs > 0 && (best == nil || recs[i].SavingsMs > best.SavingsMs) {
			best = &recs[i]
		}
	}
	return best
}

// formatValue prints a metric's value: CLS with two decimals, times in ms
// below a second and in seconds with one decimal from it.
func formatValue(metric string, v float64) string {
	switch {
	case metric == "CLS":
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " ms"
}

// formatPct prints a share as a whole percentage: "62 %".
func formatPct(x float64) string {
	return strconv.FormatFloat(math.Round(100*x), 'f', 0, 64) + " %"
}

// formatNum prints a rate with one decimal.
func formatNum(x float64) string {
	return strconv.FormatFloat(x, 'f', 1, 64)
}

// formatCount prints a count rounded to a whole number with thousands
// separators: "12,400".
func formatCount(x float64) string {
	s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
