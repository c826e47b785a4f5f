package errtrack

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
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

// Grouping v1 was defined with regular expressions; they are replaced by
// hand-written scanners with the same output, several times cheaper (the
// regexps were most of GroupOf's cost: two for every frame). The
// differential tests and fuzzers in fingerprint_reference_test.go hold
// each scanner to its regexp, which is kept there:
//
//	replaceUUIDs    (?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b → <uuid>
//	replaceQuoted   "(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*` → <quoted>
//	replaceHexes    (?i)\b0x[0-9a-f]+\b|\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b
//	                → <hex> when it begins with 0x or is 8 long or more
//	replaceNumbers  [-+]?\d+(?:[.,:]\d+)* → <num>
//	trimAddr        \+0x[0-9a-fA-F]+$|@0x[0-9a-fA-F]+$ → ""
//	replaceAnonNums (func|gowrap|deferwrap|lambda\$|\$\$Lambda\$)\d+ → ${1}N
//	replaceVersions \d+(?:\.\d+)+ → <version>
//
// (\b and \d are ASCII in Go's regexps, and every byte these match is
// ASCII, so the scanners read bytes.)

// NormalizeMessage replaces the variable parts of a message: UUIDs by
// <uuid>, hex numbers (0x… and hex runs with letters and digits of 8 or
// more) by <hex>, quoted values by <quoted>, and numbers by <num>; then
// collapses whitespace. It is what message and value grouping compare.
func NormalizeMessage(s string) string {
	s = cut(s, 4096)
	s = replaceUUIDs(s)
	s = replaceQuoted(s)
	s = replaceHexes(s)
	s = replaceNumbers(s)
	return strings.Join(strings.Fields(s), " ")
}

// replacer builds a string from s with some spans replaced, allocating
// only once a span is.
type replacer struct {
	s    string
	b    []byte
	last int // s[last:] is not copied yet
}

func (r *replacer) replace(start, end int, with string) {
	r.b = append(append(r.b, r.s[r.last:start]...), with...)
	r.last = end
}

func (r *replacer) String() string {
	if r.b == nil {
		return r.s
	}
	return string(append(r.b, r.s[r.last:]...))
}

// replaceUUIDs: a match begins at a word's first byte; its -? take a '-'
// when there is one (a hex digit is needed otherwise).
func replaceUUIDs(s string) string {
	r := replacer{s: s}
	for q := 0; q+32 <= len(s); q++ {
		if !isHexDigit(s[q]) || q > 0 && isWordByte(s[q-1]) {
			continue
		}
		i := q
		for g, n := range [5]int{8, 4, 4, 4, 12} {
			if g > 0 && i < len(s) && s[i] == '-' {
				i++
			}
			for ; n > 0 && i < len(s) && isHexDigit(s[i]); n-- {
				i++
			}
			if n > 0 {
				i = -1
				break
			}
		}
		if i < 0 || i < len(s) && isWordByte(s[i]) {
			continue
		}
		r.replace(q, i, "<uuid>")
		q = i - 1
	}
	return r.String()
}

// replaceQuoted: from an opening quote, a quoted match is the text to the
// first closing quote not escaped by a backslash; a backslash before a
// newline (which . does not match) or at the end fails it. A match that
// fails at a point fails from every quote of its kind before that point
// too (those quotes were escaped, so their scans fall in step with it):
// they are skipped, which keeps the scan linear.
func replaceQuoted(s string) string {
	r := replacer{s: s}
	var failed [3]int // by kind: a quote before failed[kind] matches nothing
	for q := 0; q < len(s); q++ {
		c := s[q]
		kind := strings.IndexByte("\"'`", c)
		if kind < 0 || q < failed[kind] {
			continue
		}
		end := -1
		if c == '`' {
			if j := strings.IndexByte(s[q+1:], '`'); j >= 0 {
				end = q + j + 2
			} else {
				failed[kind] = len(s)
			}
		} else {
		scan:
			for j := q + 1; ; {
				switch {
				case j >= len(s):
					failed[kind] = len(s)
					break scan
				case s[j] == c:
					end = j + 1
					break scan
				case s[j] == '\\':
					if j+1 == len(s) || s[j+1] == '\n' {
						failed[kind] = j
						break scan
					}
					// The escaped rune's other bytes, if any, are not
					// quotes or backslashes: they read as [^"\\].
					j += 2
				default:
					j++
				}
			}
		}
		if end > 0 {
			r.replace(q, end, "<quoted>")
			q = end - 1
		}
	}
	return r.String()
}

// replaceHexes: a match begins at a word's first byte. The first
// alternative is 0x and hex digits ending the word; else the others match
// the word's whole run of hex digits when it ends the word and holds a
// digit and a letter (either order: one alternative each). A match stays
// as is when it is short and not 0x….
func replaceHexes(s string) string {
	r := replacer{s: s}
	for q := 0; q < len(s); q++ {
		if !isHexDigit(s[q]) || q > 0 && isWordByte(s[q-1]) {
			continue
		}
		end := -1
		if s[q] == '0' && q+2 < len(s) && (s[q+1] == 'x' || s[q+1] == 'X') && isHexDigit(s[q+2]) {
			j := q + 2
			for j < len(s) && isHexDigit(s[j]) {
				j++
			}
			if j == len(s) || !isWordByte(s[j]) {
				r.replace(q, j, "<hex>")
				end = j
			}
			// Else the other alternatives see the run "0": no letter.
		} else {
			j := q
			digit, letter := false, false
			for ; j < len(s) && isHexDigit(s[j]); j++ {
				if isDigit(s[j]) {
					digit = true
				} else {
					letter = true
				}
			}
			if digit && letter && (j == len(s) || !isWordByte(s[j])) {
				if j-q >= 8 {
					r.replace(q, j, "<hex>")
				}
				end = j
			}
		}
		if end > 0 {
			q = end - 1
		}
	}
	return r.String()
}

// replaceNumbers: a sign belongs to a match when a digit follows it.
func replaceNumbers(s string) string {
	r := replacer{s: s}
	for q := 0; q < len(s); q++ {
		j := q
		if (s[j] == '-' || s[j] == '+') && j+1 < len(s) {
			j++
		}
		if !isDigit(s[j]) {
			continue
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		for j+1 < len(s) && (s[j] == '.' || s[j] == ',' || s[j] == ':') && isDigit(s[j+1]) {
			j += 2
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
		r.replace(q, j, "<num>")
		q = j - 1
	}
	return r.String()
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
	s = replaceVersions(s)
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
	s = trimAddr(s)
	s = replaceAnonNums(s)
	return s
}

// trimAddr drops a trailing address: reAddr.ReplaceAllString(s, ""),
// whose one possible match runs from the last '+' or '@' to the end.
func trimAddr(s string) string {
	i := strings.LastIndexAny(s, "+@")
	if i < 0 || !strings.HasPrefix(s[i+1:], "0x") || i+3 == len(s) {
		return s
	}
	for j := i + 3; j < len(s); j++ {
		if !isHexDigit(s[j]) {
			return s
		}
	}
	return s[:i]
}

// replaceAnonNums numbers anonymous functions N:
// reAnonNum.ReplaceAllString(s, "${1}N"). The alternatives begin with
// different bytes, so at most one matches at a position, followed by all
// the digits there.
func replaceAnonNums(s string) string {
	r := replacer{s: s}
	for i := 0; i < len(s); i++ {
		var p string
		switch s[i] {
		case 'f':
			p = "func"
		case 'g':
			p = "gowrap"
		case 'd':
			p = "deferwrap"
		case 'l':
			p = "lambda$"
		case '$':
			p = "$$Lambda$"
		default:
			continue
		}
		j := i + len(p)
		if j >= len(s) || s[i:j] != p || !isDigit(s[j]) {
			continue
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		r.replace(i+len(p), j, "N")
		i = j - 1
	}
	return r.String()
}

// replaceVersions replaces version numbers by <version>:
// reVersion.ReplaceAllString(s, "<version>"). A match starts at a run of
// digits followed by '.' and a digit, and takes every ".digits" after;
// where a run is not so followed, no match starts anywhere in it.
func replaceVersions(s string) string {
	r := replacer{s: s}
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		end := j
		for end+1 < len(s) && s[end] == '.' && isDigit(s[end+1]) {
			end += 2
			for end < len(s) && isDigit(s[end]) {
				end++
			}
		}
		if end > j {
			r.replace(i, end, "<version>")
		}
		i = end
	}
	return r.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordByte is \b's word character.
func isWordByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isHexDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

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
