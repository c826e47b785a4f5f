package enrich

import (
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// IDMark stands for an id that Route or Element folded.
const IDMark = ":id"

// Route is a page's path with its ids folded, so that the pages of one
// template share a name: /lessons/7 and /lessons/8 are /lessons/:id. A
// path segment is an id by the browser SDK's rule for endpoint names
// (sdk/js/src/sink.ts, ID): all decimal digits, a UUID (8-4-4-4-12 hex
// digits), 12 hex digits or more, or 16 characters or more of letters,
// digits, "_" and "-" with a digit among them (a token, a slug with a
// number), in any case. Everything else, the slashes and a hash route's
// "#" included, is kept as it is.
func Route(path string) string {
	if !strings.ContainsAny(path, "0123456789abcdefABCDEF") {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; ; {
		j := strings.IndexAny(path[i:], "/#")
		end := len(path)
		if j >= 0 {
			end = i + j
		}
		if seg := path[i:end]; isID(seg) {
			b.WriteString(IDMark)
		} else {
			b.WriteString(seg)
		}
		if j < 0 {
			return b.String()
		}
		b.WriteByte(path[end])
		i = end + 1
	}
}

// isID reports whether a path segment (or a piece of a name) is an id:
// the browser SDK's rule, /^(\d+|UUID|[0-9a-f]{12,}|(?=.*\d)[\w-]{16,})$/i.
func isID(s string) bool { return id(s, true) }

// isNameID is isID without the token rule, for element ids and classes
// ("row_2b1f…" folds its UUID, not the whole name).
func isNameID(s string) bool { return id(s, false) }

func id(s string, tokens bool) bool {
	if s == "" {
		return false
	}
	if allDigits(s) || isUUID(s) {
		return true
	}
	if len(s) < 12 {
		return false
	}
	hex, word, digit := true, true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z', c == '_', c == '-':
			hex = false
		default:
			return false
		}
	}
	return hex || tokens && word && digit && len(s) >= 16
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isUUID reports whether s is 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// maxElementBytes bounds an Element (the SDK's selectors have at most 100
// characters).
const maxElementBytes = 200

// Element is a web vital's attribution (the browser SDK's CSS selector of
// the element, or the URL of an LCP image the page no longer holds) with
// its ids folded, so that the elements of one template share a name:
// "#msg-1234" is "#msg-:id", "li.item-9f1c…" (a UUID) "li.item-:id". In an
// element id (#…) and a class (.…), a name that is all digits, a UUID or
// 12 hex digits or more is folded, and so is each of its pieces between
// "-", "_" and ":" that is one (in a class, digits only from 3 of them, so
// that "col-6" stays). A URL loses its query and fragment and its
// path is folded by Route. Tag names are kept.
func Element(sel string) string {
	if strings.Contains(sel, "://") {
		if i := strings.IndexAny(sel, "?#"); i >= 0 {
			sel = sel[:i]
		}
		return cut(Route(sel), maxElementBytes)
	}
	if !strings.ContainsAny(sel, "0123456789") {
		return cut(sel, maxElementBytes)
	}
	var b strings.Builder
	b.Grow(len(sel))
	// A token runs from a '#' or '.' to the next '#', '.', '>' or ' '.
	for i := 0; i < len(sel); {
		c := sel[i]
		if c != '#' && c != '.' {
			b.WriteByte(c)
			i++
			continue
		}
		j := i + 1
		for j < len(sel) && !strings.ContainsRune("#.> ", rune(sel[j])) {
			j++
		}
		b.WriteByte(c)
		b.WriteString(foldName(sel[i+1:j], c == '#'))
		i = j
	}
	return cut(b.String(), maxElementBytes)
}

// foldName folds an element id's or a class's name.
func foldName(name string, isIDAttr bool) string {
	if isNameID(name) {
		return IDMark
	}
	// A UUID at the end, after a separator.
	if n := len(name); n > 37 && isUUID(name[n-36:]) && strings.ContainsRune("-_:", rune(name[n-37])) {
		return foldName(name[:n-36], isIDAttr) + IDMark
	}
	if !strings.ContainsAny(name, "-_:") {
		return name
	}
	var b strings.Builder
	for i := 0; ; {
		j := strings.IndexAny(name[i:], "-_:")
		end := len(name)
		if j >= 0 {
			end = i + j
		}
		piece := name[i:end]
		if isNameID(piece) && (isIDAttr || !allDigits(piece) || len(piece) >= 3) {
			b.WriteString(IDMark)
		} else {
			b.WriteString(piece)
		}
		if j < 0 {
			return b.String()
		}
		b.WriteByte(name[end])
		i = end + 1
	}
}

// cut shortens s to at most n bytes, at a rune boundary when s is UTF-8.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// back to the start of the rune cut in two: at most 3 continuation
	// bytes (a longer run is not UTF-8, and cutting it anywhere is as good)
	for i := 0; i < 3 && n > 0 && s[n]&0xC0 == 0x80; i++ {
		n--
	}
	return s[:n]
}

// Routes fills route (Route of path) on the points of web_vitals, api_calls
// and client_errors, and element (Element of attribution) on web_vitals'
// LCP and INP points, where they are empty.
func Routes(pts []point.Point) {
	for i := range pts {
		p := &pts[i]
		switch p.Dataset {
		case "web_vitals", "api_calls", "client_errors":
		default:
			continue
		}
		s := schemas[p.Dataset]
		if blob(s, p, "route") == "" {
			s.Set(p, "route", Route(blob(s, p, "path")))
		}
		if p.Dataset == "web_vitals" && (p.Index == "LCP" || p.Index == "INP") && blob(s, p, "element") == "" {
			s.Set(p, "element", Element(blob(s, p, "attribution")))
		}
	}
}
