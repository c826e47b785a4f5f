package web

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/dashboard"
)

// Limits of a request.
const (
	// DefaultRange is the period of a request that names none.
	DefaultRange = 24 * time.Hour
	// DefaultTop is how many rows each list holds.
	DefaultTop = dashboard.DefaultTop
	// MaxTop bounds top.
	MaxTop = dashboard.MaxTop
)

// Request is what to measure.
type Request struct {
	Project int64
	// From and To bound the period [From, To) in Unix ms; the previous
	// period is [2·From − To, From).
	From, To int64
	// Top bounds every list (1 to MaxTop; 0 means DefaultTop).
	Top int
	// Source is query.SourceAuto, SourceRaw or SourceRollup. SourceRollup
	// applies to the figures rollups can answer; the others (see
	// Meta.Sources) read raw points whatever it says.
	Source string
}

// ParamError is a fault in the request's parameters: a handler answers it
// with 400.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return "web: " + e.Param + ": " + e.Msg }

var params = []string{"range", "from", "to", "top", "source"}

// ParseRequest reads the query parameters of GET /api/v1/web exactly as
// GET /api/v1/metrics reads its own: range (a duration back from now: 15m,
// 24h, 7d, 2w; default 24h; the period is [now − range, now)) or from and to
// (RFC 3339 or Unix ms; to defaults to now), top (1–100, default 10) and
// source (auto, raw, rollup). There is no interval: the answer has no
// series. Every error is a *ParamError naming the parameter.
func ParseRequest(q url.Values, now time.Time) (Request, error) {
	for k := range q {
		if !slices.Contains(params, k) {
			return Request{}, &ParamError{Param: k, Msg: "unknown parameter; use " + strings.Join(params, ", ")}
		}
	}
	r, err := dashboard.ParseRequest(q, now)
	if err != nil {
		var pe *dashboard.ParamError
		if errors.As(err, &pe) {
			return Request{}, &ParamError{Param: pe.Param, Msg: pe.Msg}
		}
		return Request{}, fmt.Errorf("web: %w", err)
	}
	return Request{From: r.From, To: r.To, Top: r.Top, Source: r.Source}, nil
}

// validate checks a Request built by hand.
func (r *Request) validate() error {
	if pe := dashboard.CheckPeriod(r.From, r.To, r.Top, MaxTop, r.Source); pe != nil {
		return &ParamError{Param: pe.Param, Msg: pe.Msg}
	}
	return nil
}
