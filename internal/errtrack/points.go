package errtrack

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// schemas are the built-in schemas of the datasets errtrack writes.
var schemas = func() map[string]*point.Schema {
	m := map[string]*point.Schema{}
	for _, ds := range []string{"errors", "client_errors", "transactions", "spans", "sessions", "check_ins", "logs"} {
		s := point.Builtin(ds)
		if s == nil {
			panic("BUG: errtrack dataset " + ds + " is not built in")
		}
		m[ds] = s
	}
	return m
}()

// newPoint makes a point of a built-in dataset from field values by name.
func newPoint(dataset string, ts int64, index string, fields map[string]any) point.Point {
	s := schemas[dataset]
	p := point.Point{Dataset: dataset, Timestamp: ts, Index: cut(index, point.MaxIndexBytes)}
	for name, v := range fields {
		if !s.Set(&p, name, v) {
			panic(fmt.Sprintf("BUG: %s has no field %s of type %T", dataset, name, v))
		}
	}
	return p
}

// IsBrowser reports whether an event comes from a browser SDK (platform
// javascript; Node sends "node"): such events also feed client_errors.
func IsBrowser(e *Event) bool {
	return e.Platform == "javascript" && !strings.Contains(e.SDK.Name, "node") && !strings.Contains(e.SDK.Name, "bun") && !strings.Contains(e.SDK.Name, "deno")
}

// EventPoints returns an error event's points: one in errors, and for a
// browser event one in client_errors (whose visitor, session, country,
// device, browser and os the beacon's enrichment step fills).
func EventPoints(e *Event, g Grouping, o Outcome, ts int64) []point.Point {
	typ, value, handled, mech := "", e.Message, "", ""
	if len(e.Exceptions) > 0 {
		x := e.Exceptions[len(e.Exceptions)-1]
		typ, value = x.Type, x.Value
		if x.Mechanism != nil {
			mech = x.Mechanism.Type
			if x.Mechanism.Handled != nil {
				handled = map[bool]string{true: "yes", false: "no"}[*x.Mechanism.Handled]
			}
		}
	}
	if value == "" {
		value = firstNonEmpty(e.Message, e.Template)
	}
	index := typ
	if index == "" {
		index = "message"
	}
	sdk := e.SDK.Name
	if e.SDK.Version != "" {
		sdk += "/" + e.SDK.Version
	}
	pts := []point.Point{newPoint("errors", ts, index, map[string]any{
		"type": cut(typ, 256), "message": cut(value, 1024), "fingerprint": g.Fingerprint, "level": e.Level,
		"environment": e.Environment, "release": e.Release, "platform": e.Platform, "culprit": Culprit(e),
		"transaction": e.Transaction, "user": cut(e.User.Key(), 128), "event_id": e.EventID, "handled": handled,
		"sdk": cut(sdk, 128), "server_name": e.ServerName, "mechanism": cut(mech, 128),
		"count": 1.0, "group_id": float64(o.GroupID), "new_group": b2f(o.New), "regressed": b2f(o.Regressed),
	})}
	if !IsBrowser(e) {
		return pts
	}
	ctype := typ
	if ctype == "" {
		ctype = "Error"
	}
	var st *Stacktrace
	if len(e.Exceptions) > 0 {
		st = e.Exceptions[len(e.Exceptions)-1].Stacktrace
	}
	source, line, col := "", 0, 0
	if st != nil && len(st.Frames) > 0 {
		top := st.Frames[len(st.Frames)-1]
		source, line, col = stripQuery(firstNonEmpty(top.AbsPath, top.Filename)), top.Lineno, top.Colno
	}
	path, host := "", ""
	if e.Request != nil {
		path, host = pagePath(e.Request.URL), pageHost(e.Request.URL)
	}
	pts = append(pts, newPoint("client_errors", ts, ctype, map[string]any{
		"type": cut(ctype, 96), "message": cut(value, 1024), "path": cut(path, 1024), "host": cut(host, 512), "fingerprint": g.Fingerprint,
		"stack": cut(FormatStack(st), 8192), "source": cut(source, 2048), "user": cut(e.User.ID, 128),
		"count": 1.0, "line": float64(line), "column": float64(col),
	}))
	return pts
}

// FormatStack writes a stack trace as V8 does, newest frame first:
// "    at fn (file:line:col)".
func FormatStack(st *Stacktrace) string {
	if st == nil {
		return ""
	}
	var b strings.Builder
	for i := len(st.Frames) - 1; i >= 0; i-- {
		f := st.Frames[i]
		file := firstNonEmpty(f.AbsPath, f.Filename, f.Module)
		loc := file
		if f.Lineno > 0 {
			loc += ":" + strconv.Itoa(f.Lineno)
			if f.Colno > 0 {
				loc += ":" + strconv.Itoa(f.Colno)
			}
		}
		if f.Function != "" {
			fmt.Fprintf(&b, "    at %s (%s)\n", f.Function, loc)
		} else {
			fmt.Fprintf(&b, "    at %s\n", loc)
		}
		if b.Len() > 8192 {
			break
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func stripQuery(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

// pageHost is a page URL's host, lower-cased with its port, as the beacon
// keeps it.
func pageHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// pagePath is a page URL's path (with a hash route), as the beacon keeps it.
func pagePath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if strings.HasPrefix(u.Fragment, "/") || strings.HasPrefix(u.Fragment, "!/") {
		p += "#" + u.Fragment
	}
	return p
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
