package errtrack

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// GroupingVersion names the grouping algorithm below. Every group records
// the version that made it; a future version will be a new constant,
// stored groups keep their version, and an upgrade must say how it
// matches old groups (so that no event is regrouped silently).
const GroupingVersion = "v1"

// Grouping is how an event is grouped.
type Grouping struct {
	// Fingerprint is 16 hex digits of SHA-256 over the version and the
	// components: the group's identity within a project.
	Fingerprint string
	// Components are what the fingerprint hashes, for people to read
	// ("what made these events one group").
	Components []string
	// Method says which rule grouped it: "fingerprint", "stacktrace",
	// "exception" or "message".
	Method string
}

// GroupOf computes an event's grouping with algorithm v1:
//
//  1. The event's own `fingerprint`, when it has one, each entry as sent,
//     except "{{ default }}" (which is replaced by the default components
//     below) and "{{ transaction }}", "{{ type }}", "{{ level }}",
//     "{{ logger }}" (the event's values).
//  2. Otherwise (the default), the frames of the exceptions' stack traces,
//     main exception last: only the in-app frames when any frame is
//     marked in_app, else all of them; each frame is its module (or, when
//     it has none, its file name normalized: no scheme, host, query,
//     fragment, hashes or version numbers) and its function (with
//     addresses and anonymous-function numbers normalized); line and
//     column numbers never count. Each exception with frames adds its
//     type too.
//  3. Otherwise, when no exception has frames, the main exception's type
//     and its value normalized (numbers, hex, UUIDs and quoted values
//     replaced by placeholders).
//  4. Otherwise the message normalized the same way (its unformatted
//     template when the SDK sent one, logentry.message), else the
//     event's own stack trace (attach_stacktrace) as in 2, else
//     "<no message>".
func GroupOf(e *Event) Grouping {
	def, method := defaultComponents(e)
	if len(e.Fingerprint) == 0 {
		return finish(def, method)
	}
	var comps []string
	usedDefault := false
	for _, f := range e.Fingerprint {
		switch v := variable(f); v {
		case "default":
			comps = append(comps, def...)
			usedDefault = true
		case "transaction":
			comps = append(comps, "transaction:"+e.Transaction)
		case "type":
			comps = append(comps, "type:"+mainType(e))
		case "level":
			comps = append(comps, "level:"+e.Level)
		case "logger":
			comps = append(comps, "logger:"+e.Logger)
		case "":
			comps = append(comps, "custom:"+f)
		default:
			comps = append(comps, "custom:{{ "+v+" }}")
		}
	}
	if usedDefault {
		method = "fingerprint+" + method
	} else {
		method = "fingerprint"
	}
	return finish(comps, method)
}

func finish(comps []string, method string) Grouping {
	h := sha256.New()
	h.Write([]byte(GroupingVersion))
	for _, c := range comps {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return Grouping{Fingerprint: hex.EncodeToString(h.Sum(nil)[:8]), Components: comps, Method: method}
}

// variable returns the name of a "{{ name }}" fingerprint entry, or "".
func variable(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{{") || !strings.HasSuffix(t, "}}") {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(t[2 : len(t)-2]))
}

func defaultComponents(e *Event) ([]string, string) {
	inApp := anyInApp(e)
	var comps []string
	for _, x := range e.Exceptions {
		frames := frameComponents(x.Stacktrace, inApp)
		if len(frames) == 0 {
			continue
		}
		comps = append(comps, "type:"+x.Type)
		comps = append(comps, frames...)
	}
	if len(comps) > 0 {
		return comps, "stacktrace"
	}
	if len(e.Exceptions) > 0 {
		x := e.Exceptions[len(e.Exceptions)-1]
		return []string{"type:" + x.Type, "value:" + NormalizeMessage(x.Value)}, "exception"
	}
	if m := e.Template; m != "" {
		return []string{"message:" + NormalizeMessage(m)}, "message"
	}
	if m := e.Message; m != "" {
		return []string{"message:" + NormalizeMessage(m)}, "message"
	}
	if frames := frameComponents(e.Stacktrace, anyInAppStack(e.Stacktrace)); len(frames) > 0 {
		return frames, "stacktrace"
	}
	return []string{"message:<no message>"}, "message"
}

func anyInApp(e *Event) bool {
	for _, x := range e.Exceptions {
		if anyInAppStack(x.Stacktrace) {
			return true
		}
	}
	return false
}

func anyInAppStack(s *Stacktrace) bool {
	if s == nil {
		return false
	}
	for _, f := range s.Frames {
		if f.InApp != nil && *f.InApp {
			return true
		}
	}
	return false
}

func frameComponents(s *Stacktrace, inAppOnly bool) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, f := range s.Frames {
		if inAppOnly && (f.InApp == nil || !*f.InApp) {
			continue
		}
		where := f.Module
		if where == "" {
			where = NormalizeFilename(firstNonEmpty(f.Filename, f.AbsPath))
		}
		fn := NormalizeFunction(f.Function)
		if where == "" && fn == "" {
			continue
		}
		out = append(out, "frame:"+where+":"+fn)
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func mainType(e *Event) string {
	if len(e.Exceptions) == 0 {
		return ""
	}
	return e.Exceptions[len(e.Exceptions)-1].Type
}

var (
	reUUID    = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	reHex     = regexp.MustCompile(`(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	reNumber  = regexp.MustCompile(`[-+]?\d+(?:[.,:]\d+)*`)
	reQuoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	reAddr    = regexp.MustCompile(`\+0x[0-9a-fA-F]+$|@0x[0-9a-fA-F]+$`)
	reAnonNum = regexp.MustCompile(`(func|gowrap|deferwrap|lambda\$|\$\$Lambda\$)\d+`)
	reVersion = regexp.MustCompile(`\d+(?:\.\d+)+`)
)

// NormalizeMessage replaces the variable parts of a message: UUIDs by
// <uuid>, hex numbers (0x… and hex runs with letters and digits of 8 or
// more) by <hex>, quoted values by <quoted>, and numbers by <num>; then
// collapses whitespace. It is what message and value grouping compare.
func NormalizeMessage(s string) string {
	s = cut(s, 4096)
	s = reUUID.ReplaceAllString(s, "<uuid>")
	s = reQuoted.ReplaceAllString(s, "<quoted>")
	s = reHex.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(strings.ToLower(m), "0x") || len(m) >= 8 {
			return "<hex>"
		}
		return m
	})
	s = reNumber.ReplaceAllString(s, "<num>")
	return strings.Join(strings.Fields(s), " ")
}

// NormalizeFilename reduces a frame's file name to what stays the same
// across deploys: a URL loses its scheme, host, query and fragment; a
// content hash or a version in the name or path is replaced.
func NormalizeFilename(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if i := strings.Index(s, "://"); i > 0 {
		if u, err := url.Parse(s); err == nil {
			s = u.Path
		} else {
			s = s[i+3:]
			if j := strings.IndexByte(s, '/'); j >= 0 {
				s = s[j:]
			}
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	s = reVersion.ReplaceAllString(s, "<version>")
	return replaceHashes(s)
}

// replaceHashes replaces the parts of a file name between '/', '.', '_'
// and '-' that look like content hashes: 6 or more hex digits with at
// least one digit, or 20 or more letters and digits with at least one
// digit.
func replaceHashes(s string) string {
	var b strings.Builder
	start := 0
	flush := func(end int) {
		tok := s[start:end]
		if isHashToken(tok) {
			b.WriteString("<hash>")
		} else {
			b.WriteString(tok)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/', '.', '_', '-':
			flush(i)
			b.WriteByte(s[i])
			start = i + 1
		}
	}
	flush(len(s))
	return b.String()
}

func isHashToken(t string) bool {
	if len(t) < 6 || t == "<version>" {
		return false
	}
	hex, digit, alnum := true, false, true
	for i := 0; i < len(t); i++ {
		c := t[i] | 0x20
		switch {
		case t[i] >= '0' && t[i] <= '9':
			digit = true
		case c >= 'a' && c <= 'f':
		case c >= 'g' && c <= 'z':
			hex = false
		default:
			hex, alnum = false, false
		}
	}
	return digit && (hex || alnum && len(t) >= 20)
}

// NormalizeFunction drops what varies between builds from a function
// name: trailing addresses (+0x1f) and anonymous-function numbers
// (Go's func1, Java's lambda$3).
func NormalizeFunction(s string) string {
	s = strings.TrimSpace(s)
	s = reAddr.ReplaceAllString(s, "")
	s = reAnonNum.ReplaceAllString(s, "${1}N")
	return s
}

// Title is what the group is called: "Type: value" (the value's first
// line) for an exception, else the message's first line.
func Title(e *Event) string {
	if len(e.Exceptions) > 0 {
		x := e.Exceptions[len(e.Exceptions)-1]
		v := firstLine(x.Value)
		switch {
		case x.Type == "":
			return cut(firstNonEmpty(v, "<unknown error>"), maxTitle)
		case v == "":
			return cut(x.Type, maxTitle)
		}
		return cut(x.Type+": "+v, maxTitle)
	}
	if m := firstLine(e.Message); m != "" {
		return cut(m, maxTitle)
	}
	if m := firstLine(e.Template); m != "" {
		return cut(m, maxTitle)
	}
	return "<no message>"
}

// Culprit is where the error happened: the event's transaction when it has
// one, else the last in-app frame (or the last frame) of the main
// exception as "module in function".
func Culprit(e *Event) string {
	if e.Transaction != "" {
		return cut(e.Transaction, maxTitle)
	}
	var st *Stacktrace
	if len(e.Exceptions) > 0 {
		st = e.Exceptions[len(e.Exceptions)-1].Stacktrace
	}
	if st == nil {
		st = e.Stacktrace
	}
	if st == nil || len(st.Frames) == 0 {
		return ""
	}
	f := st.Frames[len(st.Frames)-1]
	for i := len(st.Frames) - 1; i >= 0; i-- {
		if in := st.Frames[i].InApp; in != nil && *in {
			f = st.Frames[i]
			break
		}
	}
	where := firstNonEmpty(f.Module, NormalizeFilename(firstNonEmpty(f.Filename, f.AbsPath)))
	switch {
	case where == "":
		return cut(f.Function, maxTitle)
	case f.Function == "":
		return cut(where, maxTitle)
	}
	return cut(where+" in "+f.Function, maxTitle)
}
