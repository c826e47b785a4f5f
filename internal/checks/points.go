package checks

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
)

// Dataset is the built-in dataset every run is a point of.
const Dataset = "checks"

var schema = func() *point.Schema {
	s := point.Builtin(Dataset)
	if s == nil {
		panic("BUG: the checks dataset is not built in")
	}
	return s
}()

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// RunPoint is a run of check id as a point of the checks dataset;
// failures counts the failed runs in a row up to this one.
func RunPoint(id int64, sp *Spec, r *Run, failures int) point.Point {
	p := point.Point{Dataset: Dataset, Timestamp: r.At.UnixMilli(), Index: cut(sp.Name, point.MaxIndexBytes)}
	set := func(name string, v any) {
		if !schema.Set(&p, name, v) {
			panic(fmt.Sprintf("BUG: %s has no field %s of type %T", Dataset, name, v))
		}
	}
	set("name", sp.Name)
	set("type", sp.Type)
	set("url", sp.URL)
	set("error", cut(r.Error, 1024))
	set("check_id", strconv.FormatInt(id, 10))
	set("run_id", strconv.FormatInt(r.ID, 10))
	set("ok", b2f(r.OK))
	set("failed", b2f(!r.OK))
	set("consecutive_failures", float64(failures))
	switch sp.Type {
	case TypeHTTP:
		set("method", sp.Method)
		set("status", float64(r.Status))
		set("duration", r.Timings.Total)
		set("dns", r.Timings.DNS)
		set("connect", r.Timings.Connect)
		if r.Timings.TLS != nil {
			set("tls", *r.Timings.TLS)
		}
		set("ttfb", r.Timings.TTFB)
		set("size_bytes", float64(r.SizeBytes))
		if r.CertExpiresInDays != nil {
			set("cert", 1.0)
			set("cert_days", *r.CertExpiresInDays)
		}
	case TypePage:
		set("device", r.Device)
		set("duration", r.DurationMs)
		if r.Score != nil {
			set("score", *r.Score)
		}
		if m := r.Metrics; m != nil {
			set("lcp", m.LCP)
			set("cls", m.CLS)
			set("fcp", m.FCP)
			set("tbt", m.TBT)
			set("si", m.SI)
			set("ttfb", m.TTFB)
		}
	}
	return p
}

// cut shortens s to at most n bytes on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
