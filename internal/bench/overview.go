package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OverviewRanges are the periods of the dashboard overview the bench times.
var OverviewRanges = []string{"24h", "7d", "30d"}

// OverviewBudgetRange is the overview period whose time has a budget.
const OverviewBudgetRange = "30d"

// OverviewTime is the dashboard overview (GET /api/v1/metrics) over one
// relative period, answered as the server chooses (auto) and from raw
// points.
type OverviewTime struct {
	Range string `json:"range"`
	// AutoMs is the median round trip with source=auto; AutoSource is the
	// answer's meta.source; AutoServerMs the median of its meta.elapsedMs.
	// AutoMs is null when the server failed the request (AutoError says
	// why).
	AutoMs       *float64 `json:"auto_ms"`
	AutoSource   string   `json:"auto_source"`
	AutoServerMs float64  `json:"auto_server_ms"`
	AutoError    string   `json:"auto_error,omitempty"`
	// RawMs is the median round trip with source=raw; null when the
	// server failed it (RawError says why).
	RawMs     *float64 `json:"raw_ms"`
	RawSource string   `json:"raw_source,omitempty"`
	RawError  string   `json:"raw_error,omitempty"`
	// WholeMs is the median round trip, with source=auto, of a period of
	// the same length made of whole hours (from/to on hour boundaries):
	// no edge to read from raw points. AutoMs − WholeMs is what the exact
	// edges of a relative period cost. Null when it failed (WholeError).
	WholeMs     *float64 `json:"whole_hours_ms,omitempty"`
	WholeSource string   `json:"whole_hours_source,omitempty"`
	WholeError  string   `json:"whole_hours_error,omitempty"`
}

// spanOf returns the length of a relative period such as "30d" or "24h".
func spanOf(rng string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(rng, "d"); ok {
		days, err := strconv.Atoi(n)
		return time.Duration(days) * 24 * time.Hour, err
	}
	return time.ParseDuration(rng)
}

// metricsMeta is the part of a metrics answer's meta the bench reads.
type metricsMeta struct {
	Meta struct {
		From      string  `json:"from"`
		To        string  `json:"to"`
		ElapsedMs float64 `json:"elapsedMs"`
		Source    string  `json:"source"`
	} `json:"meta"`
}

// getMetrics asks GET /api/v1/metrics with params and returns the answer,
// its meta and the round trip.
func getMetrics(ctx context.Context, c *client, key string, params url.Values) (json.RawMessage, *metricsMeta, time.Duration, error) {
	var raw json.RawMessage
	t0 := time.Now()
	err := c.do(ctx, "GET", "/api/v1/metrics?"+params.Encode(), key, nil, nil, &raw)
	d := time.Since(t0)
	if err != nil {
		return nil, nil, d, err
	}
	var m metricsMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, d, fmt.Errorf("GET /api/v1/metrics: decode answer: %w", err)
	}
	return raw, &m, d, nil
}

// timeOverview times the overview over rng (a relative period such as
// "30d") repeat times with source=auto and source=raw, alternating. A
// source the server fails (a timeout, say) is reported and not asked
// again; a failure to reach the server is an error.
func timeOverview(ctx context.Context, c *client, key, rng string, repeat int) (OverviewTime, error) {
	ot := OverviewTime{Range: rng}
	span, err := spanOf(rng)
	if err != nil {
		return ot, fmt.Errorf("overview range %q: %w", rng, err)
	}
	var auto, server, raw, whole []float64
	ask := func(source string, errMsg *string) (*metricsMeta, time.Duration, error) {
		p := url.Values{"range": {rng}}
		switch source {
		case "whole":
			to := time.Now().Truncate(time.Hour)
			p = url.Values{"from": {strconv.FormatInt(to.Add(-span).UnixMilli(), 10)}, "to": {strconv.FormatInt(to.UnixMilli(), 10)}}
		case "":
		default:
			p.Set("source", source)
		}
		_, m, d, err := getMetrics(ctx, c, key, p)
		var ae *apiError
		if errors.As(err, &ae) {
			*errMsg = ae.Error()
			return nil, d, nil
		}
		if err != nil {
			return nil, d, fmt.Errorf("overview range=%s: %w", rng, err)
		}
		return m, d, nil
	}
	for range repeat {
		if ot.AutoError == "" {
			m, d, err := ask("", &ot.AutoError)
			if err != nil {
				return ot, err
			}
			if m != nil {
				auto = append(auto, msOf(d))
				server = append(server, m.Meta.ElapsedMs)
				if ot.AutoSource == "" || m.Meta.Source != "rollup" {
					ot.AutoSource = m.Meta.Source // a raw or mixed answer among them shows
				}
			}
		}
		if ot.RawError == "" {
			m, d, err := ask("raw", &ot.RawError)
			if err != nil {
				return ot, err
			}
			if m != nil {
				raw = append(raw, msOf(d))
				ot.RawSource = m.Meta.Source
			}
		}
		if ot.WholeError == "" {
			m, d, err := ask("whole", &ot.WholeError)
			if err != nil {
				return ot, err
			}
			if m != nil {
				whole = append(whole, msOf(d))
				ot.WholeSource = m.Meta.Source
			}
		}
	}
	if len(whole) > 0 {
		v := round(Median(whole), 2)
		ot.WholeMs = &v
	}
	if len(auto) > 0 {
		v := round(Median(auto), 2)
		ot.AutoMs = &v
		ot.AutoServerMs = round(Median(server), 2)
	}
	if len(raw) > 0 {
		v := round(Median(raw), 2)
		ot.RawMs = &v
	}
	return ot, nil
}

// met reports whether the auto answers' median is within budget ms.
func (ot OverviewTime) met(budget float64) bool {
	return ot.AutoError == "" && ot.AutoMs != nil && *ot.AutoMs <= budget
}

// compareOverview asks the overview over [from, to) from rollups and from
// raw points and compares the answers into cmp. It returns the rollup
// answer's source.
func compareOverview(ctx context.Context, c *client, key string, from, to int64, cmp *comparison) (string, error) {
	p := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	answers := map[string]any{}
	var source string
	for _, src := range []string{"auto", "raw"} {
		p.Set("source", src)
		body, m, _, err := getMetrics(ctx, c, key, p)
		if err != nil {
			return "", fmt.Errorf("overview source=%s: %w", src, err)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return "", err
		}
		answers[src] = v
		if src == "auto" {
			source = m.Meta.Source
		}
	}
	if fromRollups(source) {
		cmp.compare("overview", answers["raw"], answers["auto"])
	}
	return source, nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// value describes the overview's times for the table.
func (ot OverviewTime) value() string {
	v := "failed"
	if ot.AutoMs != nil {
		v = fmt.Sprintf("%s ms from %s (server %s ms)", ms(*ot.AutoMs), orUnknown(ot.AutoSource), ms(ot.AutoServerMs))
	}
	switch {
	case ot.RawMs != nil:
		v += fmt.Sprintf("; raw %s ms", ms(*ot.RawMs))
		if ot.AutoMs != nil && *ot.AutoMs > 0 && fromRollups(ot.AutoSource) {
			v += ", " + speedup(*ot.RawMs / *ot.AutoMs)
		}
	case ot.RawError != "":
		v += "; raw failed"
	}
	if ot.WholeMs != nil {
		v += fmt.Sprintf("; whole hours %s ms", ms(*ot.WholeMs))
	}
	return v
}

// describe is a progress line.
func (ot OverviewTime) describe() string {
	line := "overview range=" + ot.Range + ": "
	if ot.AutoMs != nil {
		line += fmt.Sprintf("%s ms from %s (server %s ms)", ms(*ot.AutoMs), orUnknown(ot.AutoSource), ms(ot.AutoServerMs))
	} else {
		line += "failed: " + ot.AutoError
	}
	switch {
	case ot.RawMs != nil:
		line += fmt.Sprintf(", %s ms from raw points", ms(*ot.RawMs))
		if ot.AutoMs != nil && *ot.AutoMs > 0 && fromRollups(ot.AutoSource) {
			line += " (" + speedup(*ot.RawMs / *ot.AutoMs) + ")"
		}
	case ot.RawError != "":
		line += ", raw points failed: " + ot.RawError
	}
	if ot.WholeMs != nil {
		line += fmt.Sprintf("; whole hours of the same length: %s ms from %s", ms(*ot.WholeMs), orUnknown(ot.WholeSource))
		if ot.AutoMs != nil {
			line += fmt.Sprintf(" (the exact edges cost %s ms)", ms(*ot.AutoMs-*ot.WholeMs))
		}
	}
	return line
}
