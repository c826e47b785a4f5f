package errtrack

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/valyala/fastjson"
)

// exception reads an exception; false when it has no type, no value and
// no stack trace.
func (d *eventDecoder) exception(o *fastjson.Object) (Exception, bool) {
	var f [5]*fastjson.Value
	fieldsOf(o, exceptionNames, f[:])
	var s [3]string
	d.strs(s[:], f[:3])
	x := Exception{Type: cut(s[0], maxTitle), Value: cut(s[1], maxMessage), Module: cut(s[2], maxTitle)}
	if m := f[3].GetObject(); m != nil {
		var mf [2]*fastjson.Value
		fieldsOf(m, mechanismNames, mf[:])
		x.Mechanism = &Mechanism{Type: cut(d.str(mf[0]), maxShortString), Handled: d.boolPtr(mf[1])}
	}
	x.Stacktrace = d.stack(f[4].GetObject())
	return x, x.Type != "" || x.Value != "" || x.Stacktrace != nil
}

// stack reads a stack trace object (nil: none); nil when it has no
// frames. Of more than maxFrames frames, both ends are kept: the entry
// points and where it was raised.
func (d *eventDecoder) stack(o *fastjson.Object) *Stacktrace {
	if o == nil {
		return nil
	}
	var f [1]*fastjson.Value
	fieldsOf(o, stacktraceNames, f[:])
	n := countItems(f[0])
	if n == 0 {
		return nil
	}
	kept := min(n, maxFrames)
	st := &Stacktrace{Frames: make([]Frame, 0, kept)}
	var inApp []bool      // the frames' in_app, in one allocation
	vars := d.rawVals[:0] // the frames' vars, read together below
	k := 0
	for _, it := range listItems(f[0]) {
		fo, ok := structItem(it)
		if !ok {
			continue
		}
		if n <= maxFrames || k < maxFrames/2 || k >= n-maxFrames/2 {
			fr, in, ok, v := d.frame(fo)
			if ok {
				if inApp == nil {
					inApp = make([]bool, kept)
				}
				i := len(st.Frames)
				inApp[i] = in
				fr.InApp = &inApp[i]
			}
			st.Frames = append(st.Frames, fr)
			vars = append(vars, v)
		}
		k++
	}
	d.rawVals = vars
	d.rawValues(vars, func(i int, r json.RawMessage) { st.Frames[i].Vars = r })
	return st
}

// frame reads a frame but its in_app (ok false: unset) and its vars,
// returned apart. Its strings, context lines included, are one
// allocation, and its context lines another.
func (d *eventDecoder) frame(o *fastjson.Object) (fr Frame, inApp, ok bool, vars *fastjson.Value) {
	var f [frCount]*fastjson.Value
	fieldsOf(o, frameNames, f[:])
	pre, post := listItems(f[frPreContext]), listItems(f[frPostContext])
	vals := append(d.vals[:0], f[frFunction], f[frRawFunction], f[frModule], f[frPackage], f[frFilename], f[frAbsPath], f[frContextLine], f[frPlatform])
	vals = append(append(vals, pre...), post...)
	s := d.strings[:0]
	for range vals {
		s = append(s, "")
	}
	d.strs(s, vals)
	fn := s[0]
	if fn == "" {
		fn = s[1]
	}
	fr = Frame{Function: cut(fn, maxTitle), Module: cut(s[2], maxTitle), Package: cut(s[3], maxTitle),
		Filename: cut(s[4], 1024), AbsPath: cut(s[5], 2048), Lineno: int(d.number(f[frLineno])),
		Colno: int(d.number(f[frColno])), ContextLine: cut(s[6], 1024), Platform: cut(s[7], maxShortString)}
	if lines := s[8:]; len(lines) > 0 {
		ls := make([]string, len(lines))
		for i, l := range lines {
			ls[i] = cut(l, 1024)
		}
		if len(pre) > 0 {
			fr.PreContext = ls[:len(pre):len(pre)]
		}
		if len(post) > 0 {
			fr.PostContext = ls[len(pre):]
		}
	}
	clear(vals) // the pooled scratch keeps nothing
	clear(s)
	d.vals, d.strings = vals, s
	inApp, ok = d.boolean(f[frInApp])
	return fr, inApp, ok, f[frVars]
}

// threadStack is the stack trace of the thread that crashed, else of
// the current one, else of the first: of the threads with a stacktrace
// object (which may have no frames).
func (d *eventDecoder) threadStack(threads *fastjson.Value) *Stacktrace {
	var best *fastjson.Object
	var bestCrashed, bestCurrent bool
	for _, it := range listItems(threads) {
		to, ok := structItem(it)
		if !ok {
			continue
		}
		var f [3]*fastjson.Value
		fieldsOf(to, threadNames, f[:])
		st := f[2].GetObject()
		if st == nil {
			continue
		}
		crashed, _ := d.boolean(f[0]) // false when unset
		current, _ := d.boolean(f[1])
		switch {
		case best == nil, crashed && !bestCrashed, current && !bestCrashed && !bestCurrent:
			best, bestCrashed, bestCurrent = st, crashed, current
		}
	}
	return d.stack(best)
}

// crumb reads a breadcrumb but its data, returned apart.
func (d *eventDecoder) crumb(o *fastjson.Object) (Breadcrumb, *fastjson.Value) {
	var f [6]*fastjson.Value
	fieldsOf(o, crumbNames, f[:])
	var s [4]string
	d.strs(s[:], f[1:5])
	return Breadcrumb{Timestamp: d.time(f[0]), Type: cut(s[0], maxShortString), Category: cut(s[1], maxShortString),
		Message: cut(s[2], maxMessage), Level: cut(s[3], maxShortString)}, f[5]
}

func (d *eventDecoder) user(o *fastjson.Object) User {
	var f [6]*fastjson.Value
	fieldsOf(o, userNames, f[:])
	var s [5]string
	d.strs(s[:], f[:5])
	return User{ID: cut(s[0], maxTitle), Email: cut(s[1], maxTitle), Username: cut(s[2], maxTitle),
		IPAddress: cut(s[3], maxShortString), Name: cut(s[4], maxTitle), Data: d.rawValue(f[5])}
}

func (d *eventDecoder) request(o *fastjson.Object) *Request {
	var f [5]*fastjson.Value
	fieldsOf(o, requestNames, f[:])
	return &Request{URL: cut(d.str(f[0]), 2048), Method: cut(d.str(f[1]), 16), QueryString: d.query(f[2]),
		Headers: d.pairs(f[3]), Data: d.rawValue(f[4])}
}

// query reads a query string: a string, or pairs joined as k=v&k=v.
func (d *eventDecoder) query(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	if v.Type() == fastjson.TypeString {
		return cut(d.str(v), 2048)
	}
	var sb strings.Builder
	for i, kv := range d.pairs(v) {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(kv[0] + "=" + kv[1])
	}
	return cut(sb.String(), 2048)
}

// pairs reads a value as pairs does: an object (its pairs sorted by key;
// of a key sent twice the last value counts) or a list of [key, value]
// lists, the others skipped; nil for anything else, an empty list for an
// empty object or list.
func (d *eventDecoder) pairs(v *fastjson.Value) []Pair {
	if v == nil {
		return nil
	}
	if o := v.GetObject(); o != nil {
		out := make([]Pair, 0, o.Len())
		o.Visit(func(k []byte, v *fastjson.Value) {
			out = append(out, Pair{string(k), d.str(v)})
		})
		// Stable, so that of equal keys the last sent is the last.
		slices.SortStableFunc(out, func(a, b Pair) int { return strings.Compare(a[0], b[0]) })
		w := 0
		for i := range out {
			if i+1 < len(out) && out[i+1][0] == out[i][0] {
				continue
			}
			out[w] = out[i]
			w++
		}
		return out[:w]
	}
	if v.Type() != fastjson.TypeArray {
		return nil
	}
	items := v.GetArray()
	out := make([]Pair, 0, len(items))
	for _, it := range items {
		if kv := it.GetArray(); len(kv) == 2 {
			out = append(out, Pair{d.str(kv[0]), d.str(kv[1])})
		}
	}
	return out
}

// fingerprint reads the event's fingerprint: a list (only a bare one) of
// at most 32 entries read as strings; nil when it is not a list.
func (d *eventDecoder) fingerprint(v *fastjson.Value) []string {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	items := v.GetArray()
	out := make([]string, 0, min(len(items), 32))
	for i, it := range items {
		if i >= 32 {
			break
		}
		out = append(out, cut(d.str(it), maxTitle))
	}
	return out
}
