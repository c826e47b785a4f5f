package errtrack

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// firstObject is a's object, else b's (obj[T] and firstNonNil).
func firstObject(a, b *fastjson.Value) *fastjson.Object {
	if o := a.GetObject(); o != nil {
		return o
	}
	return b.GetObject()
}

// listItems is the items of a list sent bare or as {"values": […]}; nil for
// anything else (valuesOf).
func listItems(v *fastjson.Value) []*fastjson.Value {
	if o := v.GetObject(); o != nil {
		var w [1]*fastjson.Value
		fieldsOf(o, valuesNames, w[:])
		v = w[0]
	}
	return v.GetArray()
}

// structItem says whether a list's item reads as a struct: an object, or
// null (an empty one); encoding/json fails on the others, which valuesOf
// skips.
func structItem(v *fastjson.Value) (*fastjson.Object, bool) {
	if o := v.GetObject(); o != nil {
		return o, true
	}
	return nil, v.Type() == fastjson.TypeNull
}

// countItems is how many items of a list read as structs.
func countItems(v *fastjson.Value) int {
	n := 0
	for _, it := range listItems(v) {
		if _, ok := structItem(it); ok {
			n++
		}
	}
	return n
}

// str reads a value as flexString does: a string, or a number or boolean
// as sent; anything else is "".
func (d *eventDecoder) str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0]) // as sent
		return string(d.buf)
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// time reads a value as flexTime does.
func (d *eventDecoder) time(v *fastjson.Value) int64 {
	if v == nil {
		return 0
	}
	switch v.Type() {
	case fastjson.TypeString:
		return timeString(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0])
		f, err := strconv.ParseFloat(string(d.buf), 64)
		if err != nil {
			return 0
		}
		return secondsToMs(f)
	}
	return 0
}

// timeString is parseTimeString, but for ParseFloat's (allocated) error
// on a string that cannot be a number: one with a ':', as RFC 3339 times.
func timeString(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if strings.IndexByte(s, ':') < 0 {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return secondsToMs(f)
		}
	}
	for _, layout := range timeLayouts {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.UnixMilli()
		}
	}
	return 0
}

// timeLayouts are parseTimeString's.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// number reads a value as flexNumber does.
func (d *eventDecoder) number(v *fastjson.Value) float64 {
	if v == nil {
		return 0
	}
	var s string
	switch v.Type() {
	case fastjson.TypeString:
		s = strings.TrimSpace(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0])
		s = string(d.buf)
	default:
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// boolean reads a value as flexBool does, on the value as sent: a string
// reads without its quotes but with its escapes ("tru\u0065" is not true).
// ok is false when it reads as unset (a nil flexBool).
func (d *eventDecoder) boolean(v *fastjson.Value) (b, ok bool) {
	if v == nil || v.GetObject() != nil || v.GetArray() != nil {
		return false, false
	}
	d.buf = v.MarshalTo(d.buf[:0]) // before Type, which would unescape a string
	switch string(bytes.Trim(d.buf, `"`)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// boolPtr is boolean as a *bool (nil: unset).
func (d *eventDecoder) boolPtr(v *fastjson.Value) *bool {
	b, ok := d.boolean(v)
	if !ok {
		return nil
	}
	return &b
}

// strs reads vals as str does into out (out[i] is vals[i]'s), all in one
// allocation: they are the fields of one frame, breadcrumb, exception or
// user, kept (or dropped) together.
func (d *eventDecoder) strs(out []string, vals []*fastjson.Value) {
	ends := d.ends[:0]
	d.buf = d.buf[:0]
	for _, v := range vals {
		if v != nil {
			switch v.Type() {
			case fastjson.TypeString:
				d.buf = append(d.buf, v.GetStringBytes()...)
			case fastjson.TypeNumber:
				d.buf = v.MarshalTo(d.buf) // as sent
			case fastjson.TypeTrue:
				d.buf = append(d.buf, "true"...)
			case fastjson.TypeFalse:
				d.buf = append(d.buf, "false"...)
			}
		}
		ends = append(ends, len(d.buf))
	}
	d.ends = ends
	all := string(d.buf)
	start := 0
	for i := range vals {
		out[i] = all[start:ends[i]]
		start = ends[i]
	}
}

// raw is a value as sent, compact (the value of rawValue, without the
// whitespace between its tokens). It must not have been read otherwise:
// a string read by Type is printed back escaped by fastjson's rules.
func (d *eventDecoder) raw(v *fastjson.Value) json.RawMessage {
	d.buf = v.MarshalTo(d.buf[:0])
	return bytes.Clone(d.buf)
}

// rawValue reads a value as rawValue does: any value but null.
func (d *eventDecoder) rawValue(v *fastjson.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	d.buf = v.MarshalTo(d.buf[:0])
	if string(d.buf) == "null" {
		return nil
	}
	return bytes.Clone(d.buf)
}

// rawValues reads vals as rawValue does, in one allocation, and gives
// each non-nil one to set with its index; it clears vals.
func (d *eventDecoder) rawValues(vals []*fastjson.Value, set func(int, json.RawMessage)) {
	ends := d.ends[:0]
	d.buf = d.buf[:0]
	for _, v := range vals {
		if v != nil {
			start := len(d.buf)
			d.buf = v.MarshalTo(d.buf)
			if string(d.buf[start:]) == "null" {
				d.buf = d.buf[:start]
			}
		}
		ends = append(ends, len(d.buf))
	}
	d.ends = ends
	if len(d.buf) > 0 {
		all := bytes.Clone(d.buf)
		start := 0
		for i, end := range ends {
			if end > start { // a raw value is never empty
				set(i, all[start:end:end])
			}
			start = end
		}
	}
	clear(vals)
}

// rawObject reads a value as rawObject does: an object, else nil.
func (d *eventDecoder) rawObject(v *fastjson.Value) json.RawMessage {
	if v.GetObject() == nil {
		return nil
	}
	return d.raw(v)
}

// message returns the formatted message and, when the SDK sent one, its
// template. msg is a string, or the legacy object form of logentry (read
// when le, the logentry, is nil).
func (d *eventDecoder) message(msg *fastjson.Value, le *fastjson.Object) (formatted, template string) {
	var plain string
	if o := msg.GetObject(); o != nil {
		if le == nil {
			le = o
		}
	} else {
		plain = d.str(msg)
	}
	if le != nil {
		var f [3]*fastjson.Value
		fieldsOf(le, logentryNames, f[:])
		template = d.str(f[0])
		formatted = d.str(f[1])
		if formatted == "" {
			formatted = d.formatParams(template, f[2])
		}
	}
	if formatted == "" {
		formatted = plain
	}
	if template == formatted {
		template = ""
	}
	return cut(formatted, maxMessage), cut(template, maxMessage)
}

// formatParams substitutes %s (and %d, %r, …) placeholders by the params
// in order, as Sentry does for logentry; params is a list (only a bare
// one), its items read as strings.
func (d *eventDecoder) formatParams(template string, params *fastjson.Value) string {
	list := params.GetArray()
	if len(list) == 0 {
		return template
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c == '%' && i+1 < len(template) {
			next := template[i+1]
			if next == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if strings.IndexByte("sdifrx", next) >= 0 && n < len(list) {
				b.WriteString(d.str(list[n]))
				n++
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
