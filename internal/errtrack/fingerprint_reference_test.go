package errtrack

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The reference: NormalizeMessage, NormalizeFunction and
// NormalizeFilename as they were, with the regular expressions the
// scanners in fingerprint.go replace. Grouping is versioned: these
// differential tests hold the scanners to exactly the regexps' output.

var (
	refReUUID    = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	refReHex     = regexp.MustCompile(`(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	refReNumber  = regexp.MustCompile(`[-+]?\d+(?:[.,:]\d+)*`)
	refReQuoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	refReAddr    = regexp.MustCompile(`\+0x[0-9a-fA-F]+$|@0x[0-9a-fA-F]+$`)
	refReAnonNum = regexp.MustCompile(`(func|gowrap|deferwrap|lambda\$|\$\$Lambda\$)\d+`)
	refReVersion = regexp.MustCompile(`\d+(?:\.\d+)+`)
)

// refGroupOf, refCulprit and their helpers are GroupOf and Culprit with
// the regexps (copied as they were, the normalizers renamed).
func refGroupOf(e *Event) Grouping {
	def, method := refDefaultComponents(e)
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

func refDefaultComponents(e *Event) ([]string, string) {
	inApp := anyInApp(e)
	var comps []string
	for _, x := range e.Exceptions {
		frames := refFrameComponents(x.Stacktrace, inApp)
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
		return []string{"type:" + x.Type, "value:" + refNormalizeMessage(x.Value)}, "exception"
	}
	if m := e.Template; m != "" {
		return []string{"message:" + refNormalizeMessage(m)}, "message"
	}
	if m := e.Message; m != "" {
		return []string{"message:" + refNormalizeMessage(m)}, "message"
	}
	if frames := refFrameComponents(e.Stacktrace, anyInAppStack(e.Stacktrace)); len(frames) > 0 {
		return frames, "stacktrace"
	}
	return []string{"message:<no message>"}, "message"
}

func refFrameComponents(s *Stacktrace, inAppOnly bool) []string {
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
			where = refNormalizeFilename(firstNonEmpty(f.Filename, f.AbsPath))
		}
		fn := refNormalizeFunction(f.Function)
		if where == "" && fn == "" {
			continue
		}
		out = append(out, "frame:"+where+":"+fn)
	}
	return out
}

func refCulprit(e *Event) string {
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
	where := firstNonEmpty(f.Module, refNormalizeFilename(firstNonEmpty(f.Filename, f.AbsPath)))
	switch {
	case where == "":
		return cut(f.Function, maxTitle)
	case f.Function == "":
		return cut(where, maxTitle)
	}
	return cut(where+" in "+f.Function, maxTitle)
}

func refNormalizeMessage(s string) string {
	s = cut(s, 4096)
	s = refReUUID.ReplaceAllString(s, "<uuid>")
	s = refReQuoted.ReplaceAllString(s, "<quoted>")
	s = refReHex.ReplaceAllStringFunc(s, refHexFunc)
	s = refReNumber.ReplaceAllString(s, "<num>")
	return strings.Join(strings.Fields(s), " ")
}

func refHexFunc(m string) string {
	if strings.HasPrefix(strings.ToLower(m), "0x") || len(m) >= 8 {
		return "<hex>"
	}
	return m
}

func refNormalizeFunction(s string) string {
	s = strings.TrimSpace(s)
	s = refReAddr.ReplaceAllString(s, "")
	s = refReAnonNum.ReplaceAllString(s, "${1}N")
	return s
}

func refNormalizeFilename(s string) string {
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
	s = refReVersion.ReplaceAllString(s, "<version>")
	return replaceHashes(s)
}

// normalizeSeeds are function and file names in the shapes SDKs send,
// and the corners of the regexps.
var normalizeSeeds = []string{
	"", " ", "main.main", "TestX.func12", "main.handler.gowrap3", "Foo.lambda$7", "crash+0x1f", "crash@0x1F", "(*Server).handleSentry",
	"handler7.step19", "a.func1.func2.gowrap3.deferwrap4", "Foo$$Lambda$12/0x0000000800c0b040.apply", "lambda$$Lambda$1", "funcfunc1",
	"func", "func1", "1func", "gofunc12x", "deferwrap", "$$Lambda$", "$$Lambda$x", "lambda$", "f+0x", "f+0x1+0x2", "f+0x0x1", "f@0xg",
	"f+0xab ", " f+0xAB", "+0x1", "@0x", "f+0X1", "f +0x1f", "f+0x1f\n", "é+0x1", "func١", "func\xff1", "\xe2\x82func1", "ſunc1", "FUNC1",
	"Lambda$1", "$Lambda$1", "$$$Lambda$1", "gowrap0001", "func9999999999999999999999",
	"https://cdn.example.com/static/js/main.3f9a8c21.chunk.js?v=1#x", "https://cdn.example.com/assets/app-4b8e2f9a1c.js",
	"/srv/app/releases/1.4.2/handlers/grade.py", "app.js", "/src/tutor/internal/svc0/file0.go", "app://bundle/1.2.3/x.js",
	"1.2", "1.2.", "1..2", ".1.2", "1.2.3.4", "v1.2-beta.3", "a1.b2", "12345.6789.0", "1.2a.3", "x/1.2/3.4.5/y", "١.٢",
	"webpack:///./src/app.js", "http://[::1/x", "c:\\app\\1.2\\x.js", "file:///C:/app/x.js", "%zz://x/1.2",
}

func FuzzNormalizeFunctionDifferential(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeFunction(s), refNormalizeFunction(s); got != want {
			t.Fatalf("NormalizeFunction(%q) = %q; the regexps give %q", s, got, want)
		}
		// Each scanner alone, on the untrimmed string too.
		if got, want := trimAddr(s), refReAddr.ReplaceAllString(s, ""); got != want {
			t.Fatalf("trimAddr(%q) = %q; want %q", s, got, want)
		}
		if got, want := replaceAnonNums(s), refReAnonNum.ReplaceAllString(s, "${1}N"); got != want {
			t.Fatalf("replaceAnonNums(%q) = %q; want %q", s, got, want)
		}
		if got, want := replaceVersions(s), refReVersion.ReplaceAllString(s, "<version>"); got != want {
			t.Fatalf("replaceVersions(%q) = %q; want %q", s, got, want)
		}
	})
}

func FuzzNormalizeFilenameDifferential(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeFilename(s), refNormalizeFilename(s); got != want {
			t.Fatalf("NormalizeFilename(%q) = %q; the regexp gives %q", s, got, want)
		}
	})
}

func TestNormalizeDifferential(t *testing.T) {
	inputs := append([]string(nil), normalizeSeeds...)
	// Every frame's function and file names in the differential corpus.
	for _, b := range diffCorpus(t) {
		e, err := DecodeEvent(b)
		if err != nil {
			continue
		}
		stacks := []*Stacktrace{e.Stacktrace}
		for _, x := range e.Exceptions {
			stacks = append(stacks, x.Stacktrace)
		}
		for _, st := range stacks {
			if st == nil {
				continue
			}
			for _, fr := range st.Frames {
				inputs = append(inputs, fr.Function, fr.Filename, fr.AbsPath, fr.Module)
			}
		}
	}
	for _, s := range inputs {
		if got, want := NormalizeFunction(s), refNormalizeFunction(s); got != want {
			t.Errorf("NormalizeFunction(%q) = %q; the regexps give %q", s, got, want)
		}
		if got, want := NormalizeFilename(s), refNormalizeFilename(s); got != want {
			t.Errorf("NormalizeFilename(%q) = %q; the regexp gives %q", s, got, want)
		}
		if got, want := replaceVersions(s), refReVersion.ReplaceAllString(s, "<version>"); got != want {
			t.Errorf("replaceVersions(%q) = %q; want %q", s, got, want)
		}
	}
}

// messageSeeds are messages and exception values, and the corners of the
// regexps.
var messageSeeds = []string{
	"", "user 42 not found", "order 3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f failed", "order 3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f failed",
	"pointer 0x7ffd1234 is bad", "commit deadbeef12 missing", `key 'lesson_7' and "lesson_8" and ` + "`x`" + ` missing`,
	"took 12.5ms at 10:04:33", "  spaces\t\tcollapse ", "cafe is not hex enough", "lesson 123456789 not found in shard 1",
	"KeyError: 'lesson_7' (user 12) at 0x7ffd1234 id=3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f", "grading failed for %s",
	"3F2A9C1E-8B7D-4C6A-9E5F-1A2B3C4D5E6F", "3f2a9c1e-8b7d4c6a-9e5f-1a2b3c4d5e6f0", "_3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f",
	"3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f_", "3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f-", "-3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f", "é3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6fé",
	"3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f", "3f2a9c1e--8b7d-4c6a-9e5f-1a2b3c4d5e6f",
	`"a\"b"`, `"a\\"b"`, `"a\`, `"a\` + "\n" + `b"`, `'it''s'`, `"it's 'x'`, `\"a"`, "`a\nb`", "`a", "``", `""`, `"\é"`, `"\` + "\xff" + `"`,
	`"\"\"\"\"`, `'"'"'"`, `"'` + "`" + `'"` + "`",
	"0x", "0x1", "0X1F", "0xg", "0x1g", "0x1_", "x0x1", "00x1", "0x0x1", "abc123", "abc12", "abcdef12", "ABCDEF12", "abcdefab", "12345678",
	"1234567a", "a1", "1a", "cafe_1", "cafe1-", "deadbeef.", "deadbeefg", "deadbeef_", "<quoted>12ab", "\xff1a2b3c4d", "é1a2b3c4dé",
	"-1", "+1", "--1", "1-2", "1.2.3", "1,2", "1:2", "1..2", "1.", ".1", "+", "-", "1e5", "١٢", "v1.2.3", "a-1,2:3.4b", "12:30:45.123",
	"\ufeff 1", "a\u00a0b", "line\nbreak\r\n", strings.Repeat("x", 5000), strings.Repeat("é", 2100) + "12",
}

func FuzzNormalizeMessageDifferential(f *testing.F) {
	for _, s := range messageSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNormalizeMessage(t, s)
	})
}

// FuzzNormalizeMessageTokens builds messages from the tokens the regexps
// turn on, so that the fuzzer meets their corners often.
func FuzzNormalizeMessageTokens(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tokens := []string{"0", "7", "a", "F", "g", "x", "X", "_", "-", "+", ".", ",", ":", `"`, "'", "`", `\`, "\n", " ", "\t", "é", "\xff",
			"0x", "deadbeef", "3f2a9c1e", "8b7d", "1a2b3c4d5e6f", "<", "12", "é1", "\u212a"}
		var sb strings.Builder
		for _, c := range b {
			sb.WriteString(tokens[int(c)%len(tokens)])
		}
		checkNormalizeMessage(t, sb.String())
	})
}

func checkNormalizeMessage(t *testing.T, s string) {
	t.Helper()
	if got, want := NormalizeMessage(s), refNormalizeMessage(s); got != want {
		t.Fatalf("NormalizeMessage(%q) = %q; the regexps give %q", s, got, want)
	}
	// Each scanner alone.
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"replaceUUIDs", replaceUUIDs(s), refReUUID.ReplaceAllString(s, "<uuid>")},
		{"replaceQuoted", replaceQuoted(s), refReQuoted.ReplaceAllString(s, "<quoted>")},
		{"replaceHexes", replaceHexes(s), refReHex.ReplaceAllStringFunc(s, refHexFunc)},
		{"replaceNumbers", replaceNumbers(s), refReNumber.ReplaceAllString(s, "<num>")},
	} {
		if c.got != c.want {
			t.Fatalf("%s(%q) = %q; the regexp gives %q", c.name, s, c.got, c.want)
		}
	}
}

func TestNormalizeMessageDifferential(t *testing.T) {
	inputs := append([]string(nil), messageSeeds...)
	// Every message and exception value in the differential corpus.
	for _, b := range diffCorpus(t) {
		if e, err := DecodeEvent(b); err == nil {
			inputs = append(inputs, e.Message, e.Template)
			for _, x := range e.Exceptions {
				inputs = append(inputs, x.Value, x.Type)
			}
		}
	}
	for _, s := range inputs {
		checkNormalizeMessage(t, s)
	}
}
