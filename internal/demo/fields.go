package demo

import (
	"fmt"

	"github.com/alidade/alidade/internal/point"
)

// layout is where a built-in dataset keeps its fields: the positions of
// its schema (package point), fixed forever, so that the points written
// here read back by name and land where the web analytics read them.
type layout struct {
	blobs, doubles map[string]int // 0-based
	nb, nd         int
}

// layouts are the datasets written by name here: the browser's and the
// cron check-ins'.
var layouts = func() map[string]*layout {
	m := map[string]*layout{}
	for _, ds := range []string{"pageviews", "events", "web_vitals", "api_calls", "ui_actions", "websocket", "check_ins"} {
		s := point.Builtin(ds)
		if s == nil {
			panic("BUG: " + ds + " is not a built-in dataset")
		}
		l := &layout{blobs: map[string]int{}, doubles: map[string]int{}, nb: len(s.Blobs), nd: len(s.Doubles)}
		for i, n := range s.Blobs {
			l.blobs[n] = i
		}
		for i, n := range s.Doubles {
			l.doubles[n] = i
		}
		m[ds] = l
	}
	return m
}()

// row is a point being filled by field name.
type row struct {
	p Point
	l *layout
}

// newRow starts a point of a built-in dataset with every blob "" and
// every double 0, as the beacon writes them.
func newRow(ds string, ts int64, index string) *row {
	l := layouts[ds]
	return &row{l: l, p: Point{Dataset: ds, Timestamp: ts, Index: index, Blobs: make([]string, l.nb), Doubles: make([]float64, l.nd)}}
}

// b sets a blob by name.
func (r *row) b(name, v string) *row {
	i, ok := r.l.blobs[name]
	if !ok {
		panic(fmt.Sprintf("BUG: %s has no blob %s", r.p.Dataset, name))
	}
	r.p.Blobs[i] = v
	return r
}

// d sets a double by name.
func (r *row) d(name string, v float64) *row {
	i, ok := r.l.doubles[name]
	if !ok {
		panic(fmt.Sprintf("BUG: %s has no double %s", r.p.Dataset, name))
	}
	r.p.Doubles[i] = v
	return r
}
