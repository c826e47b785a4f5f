package errtrack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/valyala/fastjson"
)

// DecodeEvent (fastjson) against decodeEventReference (encoding/json and
// the flex types, as DecodeEvent was): the same Event, or the same error,
// and the same grouping, for every input, but for the differences
// DecodeEvent documents:
//
//   - the raw JSON values (Contexts, Extra, Modules, Vars, Data) are
//     compact, and an invalid surrogate escape in them reads \ufffd:
//     sameEvent compares them with the reference's after json.Compact and
//     fixSurrogates, byte for byte;
//   - JSON nested deeper than fastjson.MaxDepth is refused: checkSame
//     accepts that error only for such JSON (jsonDepth, counted here
//     independently) that encoding/json reads.

// checkSame fails t unless DecodeEvent and the reference agree on b.
func checkSame(t testing.TB, b []byte) {
	t.Helper()
	want, werr := decodeEventReference(b)
	got, gerr := DecodeEvent(b)
	switch {
	case werr != nil && gerr != nil:
		if werr.Error() != gerr.Error() || !errors.Is(gerr, ErrBadPayload) {
			t.Fatalf("input %q:\nerror      %v\nreference  %v", trimInput(b), gerr, werr)
		}
		return
	case werr == nil && gerr != nil:
		if d := jsonDepth(b); d > fastjson.MaxDepth && errors.Is(gerr, ErrBadPayload) &&
			gerr.Error() == fmt.Sprintf("invalid payload: event: JSON nested deeper than %d levels", fastjson.MaxDepth) {
			return // documented
		}
		t.Fatalf("input %q: error %v; the reference reads it (depth %d)", trimInput(b), gerr, jsonDepth(b))
	case werr != nil:
		t.Fatalf("input %q: read; the reference fails: %v", trimInput(b), werr)
	}
	if jsonDepth(b) > fastjson.MaxDepth {
		t.Fatalf("input %q: read though nested %d deep", trimInput(b), jsonDepth(b))
	}
	if diff := sameEvent(got, want); diff != "" {
		t.Fatalf("input %q:\n%s", trimInput(b), diff)
	}
	// And the grouping, title and culprit: the scanners' against grouping
	// v1's regexps (fingerprint_reference_test.go) on the reference's
	// event.
	if g, w := GroupOf(got), refGroupOf(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("input %q: grouping %+v; the reference groups it %+v", trimInput(b), g, w)
	}
	if g, w := Title(got)+"\x00"+Culprit(got), Title(want)+"\x00"+refCulprit(want); g != w {
		t.Fatalf("input %q: title and culprit %q; the reference's %q", trimInput(b), g, w)
	}
}

func trimInput(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:1000:1000], append([]byte(" … "), b[len(b)-1000:]...)...)
	}
	return b
}

// sameEvent compares got with the reference's want, the raw values of
// want compacted (and their surrogate escapes fixed) as DecodeEvent
// documents; "" when they are the same.
func sameEvent(got, want *Event) string {
	w := *want
	raw := func(r json.RawMessage) json.RawMessage {
		if r == nil {
			return nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, r); err != nil {
			panic(err)
		}
		return fixSurrogates(buf.Bytes())
	}
	stack := func(s *Stacktrace) *Stacktrace {
		if s == nil {
			return nil
		}
		c := &Stacktrace{Frames: append([]Frame(nil), s.Frames...)}
		if s.Frames != nil && c.Frames == nil {
			c.Frames = []Frame{}
		}
		for i := range c.Frames {
			c.Frames[i].Vars = raw(c.Frames[i].Vars)
		}
		return c
	}
	w.Contexts, w.Extra, w.Modules = raw(w.Contexts), raw(w.Extra), raw(w.Modules)
	w.User.Data = raw(w.User.Data)
	if w.Request != nil {
		r := *w.Request
		r.Data = raw(r.Data)
		w.Request = &r
	}
	if w.Breadcrumbs != nil {
		w.Breadcrumbs = append([]Breadcrumb{}, w.Breadcrumbs...)
		for i := range w.Breadcrumbs {
			w.Breadcrumbs[i].Data = raw(w.Breadcrumbs[i].Data)
		}
	}
	if w.Exceptions != nil {
		w.Exceptions = append([]Exception{}, w.Exceptions...)
		for i := range w.Exceptions {
			w.Exceptions[i].Stacktrace = stack(w.Exceptions[i].Stacktrace)
		}
	}
	w.Stacktrace = stack(w.Stacktrace)
	if reflect.DeepEqual(got, &w) {
		return ""
	}
	g, _ := json.MarshalIndent(got, "", " ")
	r, _ := json.MarshalIndent(&w, "", " ")
	// MarshalIndent hides nil against empty; DeepEqual does not.
	return fmt.Sprintf("got       %s\nreference %s\n(got %#v\nreference %#v)", g, r, got, &w)
}

// jsonDepth is how deep valid JSON nests as fastjson counts it: the top
// value is at depth 1, and a value inside n containers at depth n+1.
func jsonDepth(b []byte) int {
	depth, max, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '{', '[':
			depth++
			max = maxInt(max, depth)
		case '}', ']':
			depth--
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
			// A scalar (or an object's key, always followed by a value
			// as deep).
			max = maxInt(max, depth+1)
			inString = c == '"'
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// oddEvents are hand-written shapes: every field in every shape, and the
// corners of encoding/json DecodeEvent keeps.
func oddEvents() []string {
	frames := func(n int, extra string) string {
		var fs []string
		for i := range n {
			switch {
			case i%37 == 5:
				fs = append(fs, "null")
			case i%41 == 7:
				fs = append(fs, `"skipped"`, "[]", "3")
			}
			fs = append(fs, fmt.Sprintf(`{"function":"f%d","lineno":%d,"in_app":%v%s}`, i, i, i%2 == 0, extra))
		}
		return "[" + strings.Join(fs, ",") + "]"
	}
	deep := func(n int, open, close, inner string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf(`{"type":"E%d","value":"v%d"}`, i, i), "{}", "null")
	}
	var crumbs []string
	for i := range 130 {
		crumbs = append(crumbs, fmt.Sprintf(`{"timestamp":%d,"message":"m%d"}`, 1796119200+i, i))
		if i%20 == 0 {
			crumbs = append(crumbs, "null", `"x"`, "[1]")
		}
	}
	var tags, tagPairs, fp []string
	for i := range 230 {
		tags = append(tags, fmt.Sprintf(`"t%03d":%d`, 229-i, i))
		tagPairs = append(tagPairs, fmt.Sprintf(`["t%d","%d"]`, i, i))
		fp = append(fp, strconv.Itoa(i))
	}
	long := strings.Repeat("é", 5000) + strings.Repeat("a", 9000)
	odd := []string{
		// Empty and minimal.
		`{}`, ` {} `, "\u00a0{}\u00a0", "\v{\"message\":\"m\"}\f", `{"":""}`, `{"message":""}`,
		// Lists: bare, in {"values"}, odd wrappers.
		`{"exception":[{"type":"E","value":"v"}]}`,
		`{"exception":{"values":[{"type":"E","value":"v"}]}}`,
		`{"exception":{"VALUES":[{"type":"E"}]}}`,
		`{"exception":{"Values":[{"type":"A"}],"values":[{"type":"B"}]}}`,
		`{"exception":{"values":[{"type":"A"}],"values":null}}`,
		`{"exception":{"values":null},"sentry.interfaces.Exception":[{"type":"L"}]}`,
		`{"exception":{"values":{}}}`, `{"exception":{"values":"x"}}`, `{"exception":{"value":[{"type":"E"}]}}`,
		`{"exception":{"values":[1,"x",null,[],true,{"type":"E"}]}}`,
		`{"exception":[],"sentry.interfaces.Exception":{"values":[{"type":"Legacy"}]}}`,
		`{"exception":[null],"sentry.interfaces.Exception":{"values":[{"type":"Legacy"}]}}`,
		`{"exception":["x"],"sentry.interfaces.Exception":{"values":[{"type":"Legacy"}]}}`,
		`{"exception":[{}],"sentry.interfaces.Exception":[{"type":"Legacy"}]}`,
		`{"exception":"nope"}`, `{"exception":7}`, `{"exception":null}`, `{"exception":true}`,
		`{"exception":[` + strings.Join(many, ",") + `]}`,
		`{"exception":[{"type":"E","stacktrace":{"frames":[]}}]}`,
		`{"exception":[{"stacktrace":{"frames":{"values":[{"function":"f"}]}}}]}`,
		`{"exception":[{"stacktrace":{"frames":[null]}}]}`,
		`{"exception":[{"stacktrace":{"frames":[null,"x"]}}]}`,
		`{"exception":[{"stacktrace":"x"}]}`, `{"exception":[{"stacktrace":null,"value":"v"}]}`,
		`{"exception":[{"type":"E","mechanism":{"type":"generic","handled":"false"}}]}`,
		`{"exception":[{"type":"E","mechanism":{}}]}`, `{"exception":[{"type":"E","mechanism":[]}]}`,
		`{"exception":[{"type":"E","mechanism":null}]}`, `{"exception":[{"type":"E","mechanism":{"handled":{"a":1}}}]}`,
		`{"exception":[{"type":1.5e3,"value":true,"module":{"x":1}}]}`,
		// Frames: limits, both ends kept, skipped items between.
		`{"exception":[{"type":"E","stacktrace":{"frames":` + frames(300, "") + `}}]}`,
		`{"exception":[{"type":"E","stacktrace":{"frames":` + frames(251, "") + `}}]}`,
		`{"exception":[{"type":"E","stacktrace":{"frames":` + frames(250, "") + `}}]}`,
		`{"stacktrace":{"frames":` + frames(600, `,"vars":{"a":[1, 2 ,{ "b" : null }]}`) + `}}`,
		// Frame fields in every shape.
		`{"exception":[{"type":"E","stacktrace":{"frames":[
			{"function":"","raw_function":"raw"},{"function":null,"raw_function":7},{"raw_function":"only"},
			{"lineno":"12","colno":" 3 "},{"lineno":12.7,"colno":-3},{"lineno":"1e2","colno":"0x10"},{"lineno":"inf","colno":"NaN"},
			{"lineno":1e300,"colno":-1e300},{"lineno":"1_000","colno":true},{"lineno":null,"colno":{}},{"lineno":[1],"colno":"\u0031"},
			{"lineno":1e400},{"lineno":"-0"},{"lineno":9007199254740993},
			{"in_app":true},{"in_app":"true"},{"in_app":"1"},{"in_app":1},{"in_app":"yes"},{"in_app":"no"},{"in_app":0},{"in_app":"0"},
			{"in_app":"TRUE"},{"in_app":"tru\u0065"},{"in_app":"\"true"},{"in_app":"\"true\""},{"in_app":null},{"in_app":{}},{"in_app":[]},
			{"in_app":1.0},{"in_app":-0},{"in_app":""},{"in_app":"\"\"false"},
			{"pre_context":["a",null,1,{"x":1},["y"],true],"post_context":{"values":["z"]},"context_line":["no"]},
			{"pre_context":"x","post_context":[]},{"pre_context":null},
			{"vars":null},{"vars":"s\n\u00e9\ud83d\ude00"},{"vars":1.50},{"vars":true},{"vars":[ 1 , "a" ]},{"vars":{ }},
			{"vars":{"k":"\ud800"}},{"vars":"\udc00\ud83d\ude00\ud83d"},
			{"module":"m","package":"p","filename":"f","abs_path":"a","platform":"go"},
			{"filename":"` + long + `","abs_path":"` + long + `","context_line":"` + long + `","function":"` + long + `"}
		]}}]}`,
		// Threads.
		`{"threads":{"values":[{"current":false,"stacktrace":{"frames":[{"function":"a"}]}},{"current":true,"stacktrace":{"frames":[{"function":"b"}]}}]}}`,
		`{"threads":[{"crashed":true,"stacktrace":{"frames":[{"function":"a"}]}},{"current":true,"stacktrace":{"frames":[{"function":"b"}]}}]}`,
		`{"threads":[{"current":true,"stacktrace":{"frames":[{"function":"a"}]}},{"crashed":"true","stacktrace":{"frames":[{"function":"b"}]}}]}`,
		`{"threads":[{"stacktrace":{"frames":[]}},{"crashed":1,"stacktrace":{"frames":[{"function":"b"}]}}]}`,
		`{"threads":[{"stacktrace":{"frames":[]}},{"stacktrace":{"frames":[{"function":"b"}]}}]}`,
		`{"threads":[{"crashed":true},null,"x",{"current":true,"stacktrace":"x"},{"stacktrace":{"frames":[{"function":"c"}]}}]}`,
		`{"stacktrace":{"frames":[]},"threads":[{"stacktrace":{"frames":[{"function":"t"}]}}]}`,
		`{"stacktrace":{},"sentry.interfaces.Stacktrace":{"frames":[{"function":"l"}]}}`,
		`{"stacktrace":"x","sentry.interfaces.Stacktrace":{"frames":[{"function":"l"}]}}`,
		`{"stacktrace":{"frames":[{"function":"s"}]},"threads":[{"stacktrace":{"frames":[{"function":"t"}]}}]}`,
		// Breadcrumbs.
		`{"breadcrumbs":[` + strings.Join(crumbs, ",") + `]}`,
		`{"breadcrumbs":{"values":[{"timestamp":"2026-12-01T10:00:00Z","type":"http","category":"c","message":"m","level":"info","data":{"a" : 1}},null,{"data":null}]}}`,
		`{"breadcrumbs":7}`, `{"breadcrumbs":{"values":7}}`,
		// Tags.
		`{"tags":{"b":"2","a":1,"c":null,"d":{"x":1},"e":[1],"f":true,"a":"last"}}`,
		`{"tags":[["b","2"],["a",1],["a"],["a","b","c"],null,"x",[{"x":1},[2]],[null,false],{"k":"v"}]}`,
		`{"tags":{}}`, `{"tags":[]}`, `{"tags":"x"}`, `{"tags":null}`, `{"tags":5}`,
		`{"tags":{` + strings.Join(tags, ",") + `}}`, `{"tags":[` + strings.Join(tagPairs, ",") + `]}`,
		`{"tags":{"\u00e9":"x","e\u0301":"y","\ud800":"lone","\ud83d\ude00":"pair","` + long + `":"` + long + `"}}`,
		`{"tags":{"B":"1","a":"2","b":"3","A":"4","":"5"}}`,
		// Timestamps.
		`{"timestamp":"2026-12-01T10:00:00Z"}`, `{"timestamp":"2026-12-01T10:00:00.123456789+02:00"}`,
		`{"timestamp":"2026-12-01T10:00:00"}`, `{"timestamp":"2026-12-01T10:00:00.5"}`, `{"timestamp":"2026-12-01 10:00:00"}`,
		`{"timestamp":"2026-12-01 10:00:00+01:00"}`, `{"timestamp":"2026-12-01 10:00:00.25Z"}`, `{"timestamp":" 2026-12-01T10:00:00Z "}`,
		`{"timestamp":"1796119200.5"}`, `{"timestamp":" 1796119200 "}`, `{"timestamp":1796119200}`, `{"timestamp":1.7961192e9}`,
		`{"timestamp":-1}`, `{"timestamp":0}`, `{"timestamp":1e11}`, `{"timestamp":1e12}`, `{"timestamp":1e400}`, `{"timestamp":"nan"}`,
		`{"timestamp":"inf"}`, `{"timestamp":"0x1p30"}`, `{"timestamp":true}`, `{"timestamp":null}`, `{"timestamp":{}}`, `{"timestamp":[]}`,
		`{"timestamp":""}`, `{"timestamp":"  "}`, `{"timestamp":"2026-13-01T10:00:00Z"}`, `{"timestamp":"soon"}`, `{"timestamp":"2026-12-01"}`,
		`{"timestamp":"2026-12-01T10:00:00Z","timestamp":1796119200}`, `{"timestamp":"\u0032026-12-01T10:00:00Z"}`,
		// Message and logentry.
		`{"message":"plain"}`, `{"message":12}`, `{"message":-1.5e2}`, `{"message":true}`, `{"message":null}`, `{"message":[]}`, `{"message":["a"]}`,
		`{"message":{"message":"obj %s","params":["x"]}}`, `{"message":{"message":"obj"},"logentry":{"message":"le"}}`,
		`{"message":"plain","logentry":{"message":"t %s %d %% %r %x %q %","params":["a",1,null,{"x":1},true]}}`,
		`{"logentry":{"message":"t %s %s","params":["only one"]}}`, `{"logentry":{"message":"t %s","params":{"a":1}}}`,
		`{"logentry":{"message":"t %s","params":null}}`, `{"logentry":{"message":"t %s","params":[]}}`, `{"logentry":{"message":"t %s","params":"x"}}`,
		`{"logentry":{"message":"t %s","params":{"values":["x"]}}}`, `{"logentry":{"message":"same","formatted":"same"}}`,
		`{"logentry":{"message":"t","formatted":""}}`, `{"logentry":{"formatted":"f"}}`, `{"logentry":"x","message":"m"}`,
		`{"logentry":{},"message":"m"}`, `{"logentry":null,"sentry.interfaces.Message":{"message":"legacy"}}`,
		`{"sentry.interfaces.Message":{"message":"legacy","params":[1]},"message":{"message":"obj"}}`,
		`{"message":"` + long + `"}`, `{"logentry":{"message":"` + long + ` %s","params":["x"]}}`,
		`{"message":"a","message":"b"}`, `{"message":"a","message":null}`, `{"message":{"message":"a"},"message":"b"}`,
		// Case-variant and escaped member names (encoding/json matches them).
		`{"Event_ID":"FB3D5A4E0E284F4B9E637A1F2C3D4E5F","EVENT_ID":"x","Message":"M","LOGENTRY":{"MESSAGE":"t"}}`,
		`{"event_id":"fb3d5a4e0e284f4b9e637a1f2c3d4e5f","EVENT_ID":"0b3d5a4e0e284f4b9e637a1f2c3d4e5f"}`,
		`{"EVENT_ID":"0b3d5a4e0e284f4b9e637a1f2c3d4e5f","event_id":"fb3d5a4e0e284f4b9e637a1f2c3d4e5f"}`,
		`{"Exception":{"Values":[{"TYPE":"E","Stacktrace":{"FRAMES":[{"Function":"f","IN_APP":true}]}}]}}`,
		`{"sentry.interfaces.exception":[{"type":"E"}],"SENTRY.INTERFACES.USER":{"ID":1},"Sentry.Interfaces.Http":{"URL":"u"}}`,
		`{"stac\u212Atrace":{"frames":[{"function":"kelvin"}]},"\u017Fdk":{"name":"long s"}}`,
		"{\"stac\u212atrace\":{\"frames\":[{\"function\":\"kelvin raw\"}]},\"\u017fdk\":{\"name\":\"long s raw\"}}",
		`{"\u0065vent_id":"fb3d5a4e0e284f4b9e637a1f2c3d4e5f","mess\u0061ge":"escaped key","t\u0061gs":{"k\u0065y":"v"}}`,
		`{"event_id\u0000":"x","message\ud800":"m","\ud800":1}`, `{"eventid":"fb3d5a4e0e284f4b9e637a1f2c3d4e5f","event-id":"x"}`,
		// Scalars in every type.
		`{"event_id":null,"timestamp":null,"level":null,"platform":null,"logger":null,"transaction":null,"culprit":null,"server_name":null,
		  "release":null,"dist":null,"environment":null,"message":null,"logentry":null,"exception":null,"stacktrace":null,"threads":null,
		  "breadcrumbs":null,"tags":null,"contexts":null,"extra":null,"user":null,"request":null,"sdk":null,"fingerprint":null,"modules":null}`,
		`{"event_id":1,"timestamp":[],"level":{},"platform":true,"logger":2.5,"transaction":[1],"culprit":{"a":1},"server_name":false,
		  "release":1e3,"dist":-0,"environment":[],"message":{},"logentry":[],"exception":{},"stacktrace":[],"threads":"x",
		  "breadcrumbs":{},"tags":true,"contexts":[1],"extra":"x","user":[],"request":"x","sdk":1,"fingerprint":{},"modules":[]}`,
		`{"event_id":"FB3D5A4E-0E28-4F4B-9E63-7A1F2C3D4E5F","level":" WARN ","release":" r\n1\u0000\u007f ","dist":"d\t","environment":"` + long + `"}`,
		`{"event_id":" fb3d5a4e0e284f4b9e637a1f2c3d4e5f ","level":"critical"}`, `{"event_id":"fb3d5a4e-0e28-4f4b-9e63-7a1f2c3d4e5","level":"log"}`,
		`{"event_id":"zb3d5a4e0e284f4b9e637a1f2c3d4e5f","level":"Fatal"}`, `{"level":"warning"}`, `{"level":"other"}`,
		`{"transaction":"","culprit":"c"}`, `{"transaction":null,"culprit":7}`, `{"transaction":"t","culprit":"c"}`,
		`{"platform":"` + long + `","logger":"` + long + `","server_name":"` + long + `","transaction":"` + long + `"}`,
		// User, request, SDK, fingerprint, raw values.
		`{"user":{"id":7,"email":"x@y","username":"u","ip_address":"{{auto}}","name":"n","data":{"plan":"pro"}}}`,
		`{"user":{},"sentry.interfaces.User":{"id":"legacy"}}`, `{"user":5,"sentry.interfaces.User":{"id":"legacy"}}`,
		`{"user":{"id":null,"email":[],"data":null}}`, `{"user":{"data":"x"}}`, `{"user":null}`,
		`{"request":{"url":"https://x/y","method":"POST","query_string":"a=1&b=2","headers":{"B":"1","A":2},"data":{"k":"v"}}}`,
		`{"request":{"headers":[["A","b"],["C"]],"query_string":{"q":"1","a":null}}}`, `{"request":{"headers":{},"query_string":[]}}`,
		`{"request":{"headers":[],"query_string":[["a","1"],["b",2]]}}`, `{"request":{"headers":null,"query_string":null}}`,
		`{"request":{"headers":"x","query_string":7,"data":null}}`, `{"request":{"query_string":true,"data":"raw"}}`,
		`{"request":{"method":"VERYLONGMETHODNAME_X","url":"` + long + `","query_string":"` + long + `"}}`,
		`{"request":{"query_string":{"` + long + `":"` + long + `"}}}`,
		`{"request":{},"sentry.interfaces.Http":{"url":"legacy"}}`, `{"request":[],"sentry.interfaces.Http":{"url":"legacy"}}`,
		`{"sdk":{"name":"n","version":1.2}}`, `{"sdk":{}}`, `{"sdk":[]}`, `{"sdk":{"name":null,"version":["1"]}}`,
		`{"fingerprint":[]}`, `{"fingerprint":["{{ default }}",1,null,true,{"a":1},["x"]]}`, `{"fingerprint":"x"}`,
		`{"fingerprint":{"values":["x"]}}`, `{"fingerprint":[` + strings.Join(fp, ",") + `]}`, `{"fingerprint":["` + long + `"]}`,
		`{"contexts":{ "os" : { "name" : "Linux" } ,"n":[1,2.50,-0e+1],"s":"\u00e9\n\/\\"},"extra":{},"modules":{"a":"1"}}`,
		`{"contexts":[],"extra":"x","modules":null}`, `{"contexts":{"a":1},"contexts":5}`, `{"contexts":5,"contexts":{"a":1}}`,
		"{\"contexts\":{\r\n\t\"a\" :\t1\r\n}}",
		// String escapes.
		`{"message":"caf\u00e9 \ud83d\ude00 \u0041\u00e9\u4e16 \/ \b\f\n\r\t \\ \""}`,
		`{"message":"\ud83d"}`, `{"message":"\ude00"}`, `{"message":"\ud83d\u0041"}`, `{"message":"\ud83d\ud83d\ude00"}`,
		`{"message":"\ude00\ud83d"}`, `{"message":"\\ud83d"}`, `{"message":"\\\ud83d\ude00"}`, `{"message":"\ud83d\\ude00"}`,
		`{"message":"\uD83D\uDE00\uDBFF\uDFFF\uD800\uDC00"}`, `{"message":"\u0000\u001f"}`, `{"message":"\ud83d\ude00\ude00"}`,
		`{"message":"\ud83d","extra":{"\ud800":"\udfff\ud83d"}}`,
		// Not JSON, or not an object: the same errors.
		``, ` `, `[]`, `"x"`, `1`, `null`, `{`, `{"a":`, `{"a":1,}`, `{"a":1}}`, `{"a":1} x`, `{"a":NaN}`, `{"a":01}`, `{"a":1.}`,
		`{"a":.5}`, `{"a":+1}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"x\y"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "{\"a\":\"\xed\xa0\x80\"}", `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":[1 2]}`, `{'a':1}`, `{"a":1e5x}`,
		`{"a":Infinity}`, `{"a":-Inf}`, `{"a":nan}`, `{"a":1-2}`, `{"a":"` + "\t" + `"}`, "\ufeff{}", `{"a":[}`, `{"a":{]}`,
		// Depth: fastjson's limit and encoding/json's.
		`{"extra":` + deep(298, "[", "]", "1") + `}`, `{"extra":` + deep(299, "[", "]", "") + `}`,
		`{"extra":` + deep(299, "[", "]", "1") + `}`, `{"extra":` + deep(300, "[", "]", "") + `}`,
		`{"extra":` + deep(298, `{"a":`, "}", "1") + `}`, `{"extra":` + deep(299, `{"a":`, "}", "1") + `}`,
		`{"x":` + deep(5000, "[", "]", "") + `}`, `{"x":` + deep(10001, "[", "]", "") + `}`, `{"x":` + deep(10001, "[", "]", "") + `,}`,
		`{"x":` + deep(400, "[", "]", "") + `,}`,
	}
	return odd
}

// testPayloads are the JSON objects written as string literals in this
// package's tests and the server's: the payloads the existing tests use.
func testPayloads(t testing.TB) []string {
	var out []string
	for _, dir := range []string{".", "../server"} {
		files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if s, ok := stringConst(n); ok {
					if s = strings.TrimSpace(s); strings.HasPrefix(s, "{") {
						out = append(out, s)
					}
					return false
				}
				return true
			})
		}
	}
	return out
}

// stringConst is the value of a string literal, or of literals joined
// with +.
func stringConst(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.BasicLit:
		if n.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(n.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if n.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringConst(n.X)
		b, ok2 := stringConst(n.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringConst(n.X)
	}
	return "", false
}

// testdataInputs are the files under testdata (the fuzz corpora among
// them): each file as is, and each value of a fuzz corpus file.
func testdataInputs(t testing.TB) [][]byte {
	var out [][]byte
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, b)
		if vals, ok := fuzzCorpusValues(b); ok {
			out = append(out, vals...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fuzzCorpusValues reads a "go test fuzz v1" file's []byte and string
// values.
func fuzzCorpusValues(b []byte) ([][]byte, bool) {
	lines := strings.Split(string(b), "\n")
	if len(lines) == 0 || lines[0] != "go test fuzz v1" {
		return nil, false
	}
	var out [][]byte
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		for _, prefix := range []string{"[]byte(", "string("} {
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, ")") {
				if s, err := strconv.Unquote(l[len(prefix) : len(l)-1]); err == nil {
					out = append(out, []byte(s))
				}
			}
		}
	}
	return out, true
}

// sentryGoEvents are events as the real sentry-go client sends them: an
// error, an error chain, a recovered panic, a message with a stack, with
// user, tags, breadcrumbs, request and contexts.
func sentryGoEvents(t testing.TB) [][]byte {
	tr := &captureTransport{}
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: "https://k@example.com/1", Transport: tr, AttachStacktrace: true,
		Release: "tutor@1.4.2", Environment: "production", ServerName: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.ConfigureScope(func(s *sentry.Scope) {
		s.SetUser(sentry.User{ID: "u-1", Email: "ann@example.com", IPAddress: "10.0.0.1", Data: map[string]string{"plan": "pro"}})
		s.SetTag("route", "/api/lessons/:id")
		s.SetContext("lesson", sentry.Context{"id": 7, "title": "Caf\u00e9 \U0001F600"})
		s.AddBreadcrumb(&sentry.Breadcrumb{Category: "http", Message: "GET /x", Data: map[string]any{"status": 200}, Timestamp: time.Unix(1796119200, 5e8)}, 10)
	})
	hub.CaptureException(errors.New("lesson 7 not found"))
	hub.CaptureException(fmt.Errorf("grading: %w", fmt.Errorf("store: %w", errors.New("db down at 10:04"))))
	func() {
		defer func() {
			if r := recover(); r != nil {
				hub.Recover(r)
			}
		}()
		var xs []int
		_ = xs[len(xs)] // a runtime panic, recovered as sentry-go's middleware does
	}()
	hub.CaptureMessage("user \"ann\" failed 3 times")
	hub.WithScope(func(s *sentry.Scope) {
		s.SetFingerprint([]string{"{{ default }}", "tenant-a"})
		s.SetLevel(sentry.LevelWarning)
		hub.CaptureMessage("with fingerprint")
	})
	client.Flush(time.Second)
	if len(tr.events) < 4 {
		t.Fatalf("captured %d sentry-go events", len(tr.events))
	}
	return tr.events
}

type captureTransport struct{ events [][]byte }

func (c *captureTransport) Configure(sentry.ClientOptions)        {}
func (c *captureTransport) Flush(time.Duration) bool              { return true }
func (c *captureTransport) FlushWithContext(context.Context) bool { return true }
func (c *captureTransport) Close()                                {}
func (c *captureTransport) SendEvent(e *sentry.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	c.events = append(c.events, b)
}

// diffCorpus is every input the differential test and fuzzer start from.
func diffCorpus(t testing.TB) [][]byte {
	var out [][]byte
	for _, s := range oddEvents() {
		out = append(out, []byte(s))
	}
	for _, s := range eventSeeds {
		out = append(out, []byte(s))
	}
	for _, s := range testPayloads(t) {
		out = append(out, []byte(s))
	}
	out = append(out, testdataInputs(t)...)
	out = append(out, sentryGoEvents(t)...)
	for _, ev := range benchEvents {
		out = append(out, ev.body())
	}
	return out
}

func TestDecodeEventDifferential(t *testing.T) {
	corpus := diffCorpus(t)
	if len(corpus) < 300 {
		t.Fatalf("only %d inputs", len(corpus))
	}
	for _, b := range corpus {
		checkSame(t, b)
		// And each input cut short, and in other whitespace.
		checkSame(t, b[:len(b)/2])
		var indented bytes.Buffer
		if jsonDepth(b) < 64 && json.Indent(&indented, b, "\n", "\t") == nil {
			checkSame(t, indented.Bytes())
		}
	}
}

// TestDecodeEventDocumentedDifferences pins what DecodeEvent does where
// it differs from the reference on purpose.
func TestDecodeEventDocumentedDifferences(t *testing.T) {
	e, err := DecodeEvent([]byte("{\"contexts\" : {\n \"os\" : { \"name\" : \"Linux\" } } , \"extra\":{\"s\":\"\\ud800\\u00e9\"}}"))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Contexts) != `{"os":{"name":"Linux"}}` || string(e.Extra) != `{"s":"\ufffd\u00e9"}` {
		t.Errorf("contexts %s extra %s; want compact, the lone surrogate as \\ufffd", e.Contexts, e.Extra)
	}
	deep := `{"extra":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`
	if _, err := decodeEventReference([]byte(deep)); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeEvent([]byte(deep)); !errors.Is(err, ErrBadPayload) || !strings.Contains(err.Error(), "nested deeper than 300") {
		t.Errorf("JSON 301 deep: %v", err)
	}
}

func FuzzDecodeEventDifferential(f *testing.F) {
	for _, b := range diffCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSame(t, b)
	})
}

// FuzzDecodeEventShapes is the differential check on events built from
// the fuzzer's bytes by a grammar of the event's shapes: the members
// DecodeEvent reads (exact, case-variant, escaped, twice), each in its
// shapes and in the wrong ones, so that the fuzzer explores the
// semantics rather than JSON's syntax.
func FuzzDecodeEventShapes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("exception stacktrace frames in_app"))
	f.Add(bytes.Repeat([]byte{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9}, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		g := &shapeGen{in: b}
		checkSame(t, g.event())
	})
}

type shapeGen struct {
	in  []byte
	out []byte
}

func (g *shapeGen) next() int {
	if len(g.in) == 0 {
		return 0
	}
	c := g.in[0]
	g.in = g.in[1:]
	return int(c)
}

func (g *shapeGen) ws() {
	if c := g.next(); c%16 == 15 {
		g.out = append(g.out, " \n\t\r"[c/16%4])
	}
}

// The slots' kinds.
const (
	kScalar = iota
	kTime
	kNumber
	kBool
	kAny
	kMessage
	kPairs
	kQuery
	kObj // an object of the struct named by the slot's members
	kList
)

type slot struct {
	name  string
	kind  int
	of    string // kObj's struct, or kList's item struct ("" for scalars)
	items int    // kList's item kind
}

var shapeStructs = map[string][]slot{
	"event": {{"event_id", kScalar, "", 0}, {"timestamp", kTime, "", 0}, {"level", kScalar, "", 0}, {"platform", kScalar, "", 0},
		{"logger", kScalar, "", 0}, {"transaction", kScalar, "", 0}, {"culprit", kScalar, "", 0}, {"server_name", kScalar, "", 0},
		{"release", kScalar, "", 0}, {"dist", kScalar, "", 0}, {"environment", kScalar, "", 0}, {"message", kMessage, "", 0},
		{"logentry", kObj, "logentry", 0}, {"sentry.interfaces.Message", kObj, "logentry", 0}, {"exception", kList, "exception", kObj},
		{"sentry.interfaces.Exception", kList, "exception", kObj}, {"stacktrace", kObj, "stack", 0},
		{"sentry.interfaces.Stacktrace", kObj, "stack", 0}, {"threads", kList, "thread", kObj}, {"breadcrumbs", kList, "crumb", kObj},
		{"tags", kPairs, "", 0}, {"contexts", kAny, "", 0}, {"extra", kAny, "", 0}, {"user", kObj, "user", 0},
		{"sentry.interfaces.User", kObj, "user", 0}, {"request", kObj, "request", 0}, {"sentry.interfaces.Http", kObj, "request", 0},
		{"sdk", kObj, "sdk", 0}, {"fingerprint", kList, "", kScalar}, {"modules", kAny, "", 0}},
	"logentry":  {{"message", kScalar, "", 0}, {"formatted", kScalar, "", 0}, {"params", kList, "", kScalar}},
	"exception": {{"type", kScalar, "", 0}, {"value", kScalar, "", 0}, {"module", kScalar, "", 0}, {"mechanism", kObj, "mechanism", 0}, {"stacktrace", kObj, "stack", 0}},
	"mechanism": {{"type", kScalar, "", 0}, {"handled", kBool, "", 0}},
	"stack":     {{"frames", kList, "frame", kObj}},
	"frame": {{"function", kScalar, "", 0}, {"raw_function", kScalar, "", 0}, {"module", kScalar, "", 0}, {"package", kScalar, "", 0},
		{"filename", kScalar, "", 0}, {"abs_path", kScalar, "", 0}, {"lineno", kNumber, "", 0}, {"colno", kNumber, "", 0},
		{"in_app", kBool, "", 0}, {"context_line", kScalar, "", 0}, {"pre_context", kList, "", kScalar}, {"post_context", kList, "", kScalar},
		{"vars", kAny, "", 0}, {"platform", kScalar, "", 0}},
	"thread":  {{"crashed", kBool, "", 0}, {"current", kBool, "", 0}, {"stacktrace", kObj, "stack", 0}},
	"crumb":   {{"timestamp", kTime, "", 0}, {"type", kScalar, "", 0}, {"category", kScalar, "", 0}, {"message", kScalar, "", 0}, {"level", kScalar, "", 0}, {"data", kAny, "", 0}},
	"user":    {{"id", kScalar, "", 0}, {"email", kScalar, "", 0}, {"username", kScalar, "", 0}, {"ip_address", kScalar, "", 0}, {"name", kScalar, "", 0}, {"data", kAny, "", 0}},
	"request": {{"url", kScalar, "", 0}, {"method", kScalar, "", 0}, {"query_string", kQuery, "", 0}, {"headers", kPairs, "", 0}, {"data", kAny, "", 0}},
	"sdk":     {{"name", kScalar, "", 0}, {"version", kScalar, "", 0}},
}

var shapeStrings = []string{"", "x", "E", "true", "false", "1", "0", "yes", "no", "TRUE", " 12 ", "1e2", "-3.5", "0x10", "inf", "NaN",
	"2026-12-01T10:00:00Z", "2026-12-01T10:00:00.123+02:00", "2026-12-01 10:00:00", "2026-12-01T10:00:00", "1796119200.5",
	`caf\u00e9`, `\ud83d\ude00`, `\ud800`, `\udc00x`, `\ud83d\u0041`, `\"true`, `tru\u0065`, `\\ud800`, `a\nb\tc`, `\u0000`,
	"user %s of %d %% %r", "%", "{{ default }}", "{{ transaction }}", "warn", "fatal", "Critical", "FB3D5A4E-0E28-4F4B-9E63-7A1F2C3D4E5F",
	"fb3d5a4e0e284f4b9e637a1f2c3d4e5f", "r\u00e9l\\u0000", "https://a.example/app.3f9a8c21.js?x#y", "lesson 7 not found 0xdeadbeef"}

var shapeNumbers = []string{"0", "-0", "1", "7", "12.5", "-1", "1e400", "-1e-7", "1796119200", "1796119200.123", "1.5e9", "1e11",
	"9007199254740993", "0.0", "1E2", "250"}

func (g *shapeGen) str(s string) { g.out = append(append(append(g.out, '"'), s...), '"') }

func (g *shapeGen) scalar() {
	switch c := g.next(); c % 8 {
	case 0, 1, 2, 3:
		g.str(shapeStrings[g.next()%len(shapeStrings)])
	case 4, 5:
		g.out = append(g.out, shapeNumbers[g.next()%len(shapeNumbers)]...)
	case 6:
		g.out = append(g.out, []string{"true", "false", "null"}[g.next()%3]...)
	default:
		if c >= 128 {
			g.str(strings.Repeat("é", g.next()*40) + "x")
		} else {
			g.str(strconv.Itoa(c))
		}
	}
}

// anyValue is JSON of any shape, nested up to depth.
func (g *shapeGen) anyValue(depth int) {
	c := g.next()
	if depth <= 0 || c%4 != 0 {
		g.scalar()
		return
	}
	n := g.next() % 4
	if g.full() {
		n = 0
	}
	if c%8 == 0 {
		g.out = append(g.out, '{')
		for i := range n {
			if i > 0 {
				g.out = append(g.out, ',')
			}
			g.ws()
			g.str(shapeStrings[g.next()%len(shapeStrings)])
			g.out = append(g.out, ':')
			g.anyValue(depth - 1)
		}
		g.out = append(g.out, '}')
		return
	}
	g.out = append(g.out, '[')
	for i := range n {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.ws()
		g.anyValue(depth - 1)
	}
	g.out = append(g.out, ']')
}

// name writes a member's name: as is, or in another case, or escaped.
func (g *shapeGen) name(s string) {
	switch g.next() % 16 {
	case 13:
		s = strings.ToUpper(s)
	case 14:
		s = strings.Replace(s, "e", `\u0065`, 1)
	case 15:
		s = strings.Replace(strings.Replace(s, "k", "\u212a", 1), "s", "\u017f", 1)
	}
	g.str(s)
}

// full says the event is large enough: past it lists and objects are
// cut short, so that each input stays quick to check.
func (g *shapeGen) full() bool { return len(g.out) > 32<<10 }

func (g *shapeGen) object(kind string, depth int) {
	slots := shapeStructs[kind]
	g.out = append(g.out, '{')
	n := g.next() % (len(slots) + 2)
	if g.full() {
		n = 0
	}
	for i := range n {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.ws()
		s := slots[g.next()%len(slots)]
		g.name(s.name)
		g.out = append(g.out, ':')
		g.ws()
		g.slot(s.kind, s.of, s.items, depth)
	}
	g.out = append(g.out, '}')
}

func (g *shapeGen) slot(kind int, of string, items int, depth int) {
	if g.next()%10 == 9 || depth <= 0 {
		g.anyValue(2) // the wrong shape
		return
	}
	switch kind {
	case kScalar, kTime, kNumber, kBool:
		g.scalar()
	case kAny:
		g.anyValue(3)
	case kMessage:
		if g.next()%3 == 0 {
			g.object("logentry", depth-1)
		} else {
			g.scalar()
		}
	case kPairs, kQuery:
		n := g.next() % 5
		if kind == kQuery && n == 4 {
			g.scalar()
			return
		}
		obj := g.next()%2 == 0
		g.out = append(g.out, "[{"[b2i(obj)])
		for i := range n {
			if i > 0 {
				g.out = append(g.out, ',')
			}
			if obj {
				g.str(shapeStrings[g.next()%len(shapeStrings)])
				g.out = append(g.out, ':')
				g.scalar()
			} else if g.next()%5 == 0 {
				g.anyValue(2)
			} else {
				g.out = append(g.out, '[')
				g.scalar()
				g.out = append(g.out, ',')
				g.scalar()
				g.out = append(g.out, ']')
			}
		}
		g.out = append(g.out, "]}"[b2i(obj)])
	case kObj:
		g.object(of, depth-1)
	case kList:
		wrap := g.next() % 4
		if wrap == 0 {
			g.out = append(g.out, `{"values":`...)
		} else if wrap == 1 {
			g.out = append(g.out, `{"VALUES":[],"values":`...)
		}
		c := g.next()
		n := c % 5
		if c >= 250 {
			n = 120 + g.next()*2 // past the limits
		}
		if g.full() {
			n = 0
		}
		g.out = append(g.out, '[')
		for i := range n {
			if i > 0 {
				g.out = append(g.out, ',')
			}
			switch {
			case g.next()%8 == 7:
				g.anyValue(1)
			case items == kObj:
				g.object(of, depth-1)
			default:
				g.scalar()
			}
		}
		g.out = append(g.out, ']')
		if wrap <= 1 {
			g.out = append(g.out, '}')
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (g *shapeGen) event() []byte {
	g.object("event", 6)
	return g.out
}
