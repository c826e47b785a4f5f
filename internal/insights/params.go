package insights

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/dashboard"
)

// Limits of a request.
const (
	// DefaultTop is how many pages a report lists by default, MaxTop at most.
	DefaultTop = 20
	MaxTop     = 500
)

// Request is what to report on.
type Request struct {
	Project int64
	// From and To bound the period [From, To) in Unix ms; the previous
	// period is [2·From − To, From).
	From, To int64
	// Top bounds the pages (1 to MaxTop; 0 means DefaultTop).
	Top int
	// Source is query.SourceAuto, SourceRaw or SourceRollup.
	Source string
}

// ParamError is a fault in the request's parameters: a handler answers it
// with 400.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return "insights: " + e.Param + ": " + e.Msg }

var params = []string{"range", "from", "to", "top", "source"}

// ParseRequest reads the query parameters of GET /api/v1/insights as GET
// /api/v1/web reads its own: range (a duration back from now, default
// 24h) or from and to, top (1–500, default 20) and source (auto, raw,
// rollup). Every error is a *ParamError naming the parameter.
func ParseRequest(q url.Values, now time.Time) (Request, error) {
	for k := range q {
		if !slices.Contains(params, k) {
			return Request{}, &ParamError{Param: k, Msg: "unknown parameter; use " + strings.Join(params, ", ")}
		}
	}
	top := q.Get("top")
	q2 := url.Values{}
	for k, v := range q {
		if k != "top" {
			q2[k] = v
		}
	}
	r, err := dashboard.ParseRequest(q2, now)
	if err != nil {
		var pe *dashboard.ParamError
		if errors.As(err, &pe) {
			return Request{}, &ParamError{Param: pe.Param, Msg: pe.Msg}
		}
		return Request{}, fmt.Errorf("insights: %w", err)
	}
	req := Request{From: r.From, To: r.To, Source: r.Source}
	if len(q["top"]) > 1 {
		return Request{}, &ParamError{Param: "top", Msg: fmt.Sprintf("is given %d times", len(q["top"]))}
	}
	if q.Has("top") {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > MaxTop {
			return Request{}, &ParamError{Param: "top", Msg: fmt.Sprintf("must be a whole number from 1 to %d", MaxTop)}
		}
		req.Top = n
	}
	return req, nil
}

// validate checks a Request built by hand.
func (r *Request) validate() error {
	if pe := dashboard.CheckPeriod(r.From, r.To, r.Top, MaxTop, r.Source); pe != nil {
		return &ParamError{Param: pe.Param, Msg: pe.Msg}
	}
	return nil
}
