package alidade

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The server's limits of a log record (POST /api/v1/logs), which the
// SlogHandler keeps to so that its records are never rejected.
const (
	// MaxLogMessageBytes bounds a message; longer ones are cut.
	MaxLogMessageBytes = 8192
	// MaxLogAttributes bounds the top-level attributes; later ones are
	// left out.
	MaxLogAttributes = 64
	// MaxLogAttributesBytes bounds the attributes as JSON; attributes that
	// do not fit are left out.
	MaxLogAttributesBytes = 4096
	// maxAttrKeyBytes bounds an attribute key (cut), maxAttrValueBytes a
	// string value (cut), maxGroupDepth the nesting of groups (deeper
	// groups are written as text).
	maxAttrKeyBytes   = 128
	maxAttrValueBytes = 1024
	maxGroupDepth     = 6
)

// SlogOptions configure a SlogHandler. The zero value is ready to use.
type SlogOptions struct {
	// Level is the least level handled (default slog.LevelInfo).
	Level slog.Leveler
	// AddSource adds the caller as the attribute "source":
	// {"function","file","line"}.
	AddSource bool
	// Service is the records' service (default Config.Service).
	Service string
}

// SlogHandler is a slog.Handler that ships records to the server's logs
// endpoint (POST /api/v1/logs, the built-in logs dataset). Handle never
// blocks on the network: it encodes the record and copies it into a buffer
// of its own, bounded as the Client's points are (BufferSize records,
// MaxBufferBytes); when that buffer is full the record is dropped and
// counted (Stats). A background goroutine sends batches with the Client's
// retries; the Client's Flush and Close deliver the records too.
//
// The record's level is sent as slog names it (INFO, WARN+2…), its message
// (cut at MaxLogMessageBytes) as message, and its attributes, with those of
// WithAttrs, nested in the groups of WithGroup as JSON objects, as
// attributes. Top-level string attributes named trace_id and span_id are
// sent as the record's trace and span ids.
type SlogHandler struct {
	s       *Client // the log sender; nil: disabled
	level   slog.Leveler
	source  bool
	service string
	// frames[0] holds the attributes of WithAttrs outside any group; each
	// WithGroup opens a frame. Their members are encoded JSON, each ending
	// with a comma.
	frames []frame
}

type frame struct {
	name    string
	members []byte
	n       int // top-level members in the frame (the root's only)
	trace   string
	span    string
}

var _ slog.Handler = (*SlogHandler)(nil)

// SlogHandler returns a slog.Handler shipping records through c's log
// sender (made on the first call; it shares c's Config). After Close, the
// handler drops every record. A nil Client gives a handler that drops
// every record.
func (c *Client) SlogHandler(opts *SlogOptions) *SlogHandler {
	var o SlogOptions
	if opts != nil {
		o = *opts
	}
	h := &SlogHandler{level: o.Level, source: o.AddSource, service: o.Service, frames: []frame{{}}}
	if h.level == nil {
		h.level = slog.LevelInfo
	}
	if c != nil {
		h.s = c.logSenderOf()
		if h.service == "" {
			h.service = c.cfg.Service
		}
	}
	h.service = clip(h.service, MaxIndexBytes)
	return h
}

// Stats counts the records of the log sender (the Client's Stats counts
// its points): Written, Sent, Dropped, Rejected, Buffered.
func (h *SlogHandler) Stats() Stats { return h.s.Stats() }

// Enabled reports whether a record of level is handled.
func (h *SlogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.s != nil && level >= h.level.Level() && h.s.state.Load() == stateOpen
}

// WithAttrs returns a handler whose records carry attrs too.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := h.clone()
	f := &h2.frames[len(h2.frames)-1]
	f.members = append([]byte(nil), f.members...)
	used := 0
	for i := range h2.frames {
		used += len(h2.frames[i].members) + len(h2.frames[i].name) + 5
	}
	e := attrEncoder{b: f.members, n: f.n, top: true, root: len(h2.frames) == 1, depth: len(h2.frames) - 1, limit: MaxLogAttributesBytes - used + len(f.members)}
	for _, a := range attrs {
		e.attr(a)
	}
	f.members, f.n = e.b, e.n
	if e.trace != "" {
		f.trace = e.trace
	}
	if e.span != "" {
		f.span = e.span
	}
	return h2
}

// WithGroup returns a handler whose later attributes are nested in name.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := h.clone()
	h2.frames = append(h2.frames, frame{name: name})
	return h2
}

func (h *SlogHandler) clone() *SlogHandler {
	h2 := *h
	h2.frames = append(make([]frame, 0, len(h.frames)+1), h.frames...)
	return &h2
}

var logBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle encodes the record and buffers it; it never waits on the
// network. It returns ErrBufferFull or ErrClosed for a dropped record
// (slog ignores it; Stats counts it).
func (h *SlogHandler) Handle(_ context.Context, r slog.Record) error {
	s := h.s
	if s == nil {
		return nil
	}
	bp := logBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			logBufs.Put(bp)
		}
	}()
	last := len(h.frames) - 1
	source := h.source && r.PC != 0
	// What the frames already take of the attributes' budget.
	used := 2 + 2*last
	for i := range h.frames {
		used += len(h.frames[i].members) + len(h.frames[i].name) + 3
	}
	if source && last > 0 {
		used += 512
	}
	e := attrEncoder{b: (*bp)[:0], top: true, root: last == 0, depth: last, limit: MaxLogAttributesBytes - used}
	if last == 0 {
		e.n = h.frames[0].n
		if source {
			e.source(r.PC)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		e.attr(a)
		return true
	})
	trace, span := e.trace, e.span
	for i := last; i >= 0; i-- {
		if trace == "" {
			trace = h.frames[i].trace
		}
		if span == "" {
			span = h.frames[i].span
		}
	}
	attrs := h.assemble(&e, source && last > 0, r.PC)
	*bp = e.b
	ts := r.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	return s.writeLog(ts.UnixMilli(), r.Level.String(), clip(validUTF8(r.Message), MaxLogMessageBytes), attrs, clip(trace, 64), clip(span, 32), h.service)
}

// assemble writes the attributes object after the record's members in
// e.b: frame 0's members (and the source when asked), then each group
// holding its members and the next group, the record's members in the
// innermost; groups left empty are left out. It returns the object (a view
// of e.b), "" when it is empty or over MaxLogAttributesBytes.
func (h *SlogHandler) assemble(e *attrEncoder, source bool, pc uintptr) string {
	rec := len(e.b) // e.b[:rec] holds the record's members
	last := len(h.frames) - 1
	// keep[i]: frame i or a frame inside it has members.
	keep := make([]bool, len(h.frames)+1)
	for i := last; i >= 1; i-- {
		keep[i] = len(h.frames[i].members) > 0 || i == last && rec > 0 || keep[i+1]
	}
	start := len(e.b)
	e.b = append(e.b, '{')
	if source {
		e.source(pc)
	}
	e.b = append(e.b, h.frames[0].members...)
	if last == 0 {
		e.b = append(e.b, e.b[:rec]...)
	}
	opened := 0
	for i := 1; i <= last && keep[i]; i++ {
		e.b = appendString(e.b, []byte(clip(validUTF8(h.frames[i].name), maxAttrKeyBytes)))
		e.b = append(e.b, ':', '{')
		e.b = append(e.b, h.frames[i].members...)
		if i == last {
			e.b = append(e.b, e.b[:rec]...)
		}
		opened++
	}
	trim := func() {
		if e.b[len(e.b)-1] == ',' {
			e.b = e.b[:len(e.b)-1]
		}
	}
	for range opened {
		trim()
		e.b = append(e.b, '}', ',')
	}
	trim()
	e.b = append(e.b, '}')
	obj := e.b[start:]
	if len(obj) <= 2 || len(obj) > MaxLogAttributesBytes {
		return ""
	}
	// The buffer copies it before e.b is reused.
	return unsafe.String(&obj[0], len(obj))
}

// attrEncoder writes attributes as JSON object members, each followed by a
// comma.
type attrEncoder struct {
	b           []byte
	n           int  // top-level members written
	top         bool // the members are a frame's own (not inside a value)
	root        bool // the frame is the attributes object itself
	depth       int
	limit       int // the most bytes of members; 0: MaxLogAttributesBytes
	trace, span string
}

func (e *attrEncoder) source(pc uintptr) {
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	e.b = append(e.b, `"source":{"function":`...)
	e.b = appendString(e.b, []byte(f.Function))
	e.b = append(e.b, `,"file":`...)
	e.b = appendString(e.b, []byte(f.File))
	e.b = append(e.b, `,"line":`...)
	e.b = strconv.AppendInt(e.b, int64(f.Line), 10)
	e.b = append(e.b, '}', ',')
	e.n++
}

// attr writes one attribute as slog's handlers do: an empty attribute is
// left out, a group with an empty key is inlined, an empty group left out.
func (e *attrEncoder) attr(a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		if len(g) == 0 {
			return
		}
		if a.Key == "" {
			for _, ga := range g {
				e.attr(ga)
			}
			return
		}
	} else if a.Key == "" {
		return
	}
	if e.root {
		if a.Key == "trace_id" && a.Value.Kind() == slog.KindString {
			e.trace = a.Value.String()
			return
		}
		if a.Key == "span_id" && a.Value.Kind() == slog.KindString {
			e.span = a.Value.String()
			return
		}
		if e.n >= MaxLogAttributes-2 { // room for the source and a group
			return
		}
	}
	mark := len(e.b)
	e.b = appendString(e.b, []byte(clip(validUTF8(a.Key), maxAttrKeyBytes)))
	e.b = append(e.b, ':')
	e.value(a.Value, e.depth)
	e.b = append(e.b, ',')
	limit := e.limit
	if limit == 0 {
		limit = MaxLogAttributesBytes - 2
	}
	if e.top && len(e.b) > limit || len(e.b)-mark > MaxLogAttributesBytes-2 {
		e.b = e.b[:mark] // left out: it does not fit
		return
	}
	if e.root {
		e.n++
	}
}

func (e *attrEncoder) value(v slog.Value, depth int) {
	switch v.Kind() {
	case slog.KindString:
		e.b = appendString(e.b, []byte(clip(validUTF8(v.String()), maxAttrValueBytes)))
	case slog.KindInt64:
		e.b = strconv.AppendInt(e.b, v.Int64(), 10)
	case slog.KindUint64:
		e.b = strconv.AppendUint(e.b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.b = appendString(e.b, []byte(strconv.FormatFloat(f, 'g', -1, 64)))
		} else {
			e.b = appendFloat(e.b, f)
		}
	case slog.KindBool:
		e.b = strconv.AppendBool(e.b, v.Bool())
	case slog.KindDuration:
		e.b = strconv.AppendInt(e.b, int64(v.Duration()), 10) // nanoseconds, as slog.JSONHandler
	case slog.KindTime:
		e.b = append(e.b, '"')
		e.b = v.Time().AppendFormat(e.b, time.RFC3339Nano)
		e.b = append(e.b, '"')
	case slog.KindGroup:
		if depth >= maxGroupDepth {
			e.b = appendString(e.b, []byte(clip(validUTF8(v.String()), maxAttrValueBytes)))
			return
		}
		inner := attrEncoder{b: append(e.b, '{'), depth: depth + 1}
		for _, a := range v.Group() {
			inner.attr(a)
		}
		e.b = inner.b
		if e.b[len(e.b)-1] == ',' {
			e.b = e.b[:len(e.b)-1]
		}
		e.b = append(e.b, '}')
	default: // KindAny, KindLogValuer (resolved)
		e.any(v.Any())
	}
}

func (e *attrEncoder) any(x any) {
	var s string
	switch x := x.(type) {
	case nil:
		e.b = append(e.b, "null"...)
		return
	case error:
		s = x.Error()
	case encoding.TextMarshaler:
		t, err := x.MarshalText()
		if err != nil {
			s = "!ERROR:" + err.Error()
		} else {
			s = string(t)
		}
	case json.Marshaler, map[string]any, []any:
		j, err := json.Marshal(x)
		if err == nil && len(j) <= maxAttrValueBytes {
			e.b = append(e.b, j...)
			return
		}
		s = fmt.Sprint(x)
	default:
		s = fmt.Sprint(x)
	}
	e.b = appendString(e.b, []byte(clip(validUTF8(s), maxAttrValueBytes)))
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// writeLog buffers one log record (already within the server's limits).
func (c *Client) writeLog(ts int64, level, msg, attrs, trace, span, service string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.aWritten.Add(1)
			c.aDropped.Add(1)
			err = fmt.Errorf("alidade: internal error in Handle (recovered; the record was dropped): %v", r)
		}
	}()
	if st := c.state.Load(); st != stateOpen {
		c.aWritten.Add(1)
		c.aDropped.Add(1)
		if st == stateBroken {
			return c.cfgErr
		}
		return ErrClosed
	}
	blobs := [...]string{level, msg, attrs, trace, span}
	p := Point{Index: service, Blobs: blobs[:]}
	size := recOverhead + len(service) + len(level) + len(msg) + len(attrs) + len(trace) + len(span) + 4*len(blobs)
	full, err := c.buffer("", ts, &p, size)
	if full {
		c.poke()
	}
	return err
}
