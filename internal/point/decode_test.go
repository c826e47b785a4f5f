package point

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testNow is the receive time of the tests: 2025-06-01T00:00:00Z.
const testNow int64 = 1748736000000

const day = 24 * 3600 * 1000

// testSchemas are the schemas the tests' Schema function knows.
var testSchemas = map[string]*Schema{
	"requests": {Index: "route", Blobs: []string{"path", "method"}, Doubles: []string{"latency_ms", "status"}},
	"sparse":   {Blobs: []string{"", "", "country"}, Doubles: []string{"", "bytes"}},
}

func testSchema(dataset string) *Schema { return testSchemas[dataset] }

// testOpts are the options of the tests unless a case gives its own: no
// dataset in the URL, a 30-day window ending 5 minutes after testNow.
func testOpts() DecodeOptions {
	return DecodeOptions{
		Schema:       testSchema,
		Now:          testNow,
		MinTimestamp: testNow - 30*day,
		MaxTimestamp: testNow + 5*60*1000,
	}
}

func withDataset(ds string) *DecodeOptions {
	o := testOpts()
	o.Dataset = ds
	return &o
}

// rej is an expected rejection: its position and substrings of its message.
type rej struct {
	pos  int
	want []string
}

type decodeCase struct {
	name   string
	body   string
	format Format
	opts   *DecodeOptions // nil: testOpts()
	want   []Point
	rej    []rej
	err    string // substring of the whole-body error; "" when none
}

func pt(ds string, ts int64, index string, blobs []string, doubles []float64) Point {
	return Point{Dataset: ds, Timestamp: ts, Index: index, Blobs: blobs, Doubles: doubles}
}

func bl(b ...string) []string   { return b }
func db(d ...float64) []float64 { return d }

var typical = `{"dataset":"requests","index":"/api/chat","blobs":["/api/chat","GET"],"doubles":[12.5,200]}`

var typicalPoint = pt("requests", testNow, "/api/chat", bl("/api/chat", "GET"), db(12.5, 200))

// decodeCases is the table of TestDecode; the fuzz targets are seeded from
// its bodies.
var decodeCases = []decodeCase{
	// ---- body shapes ----
	{name: "single object", body: typical, want: []Point{typicalPoint}},
	{name: "single object JSON", body: typical, format: FormatJSON, want: []Point{typicalPoint}},
	{name: "single object NDJSON", body: typical, format: FormatNDJSON, want: []Point{typicalPoint}},
	{name: "array", body: "[" + typical + " , " + typical + "]", want: []Point{typicalPoint, typicalPoint}},
	{name: "array with whitespace", body: " \r\n\t[\n  " + typical + ",\n  " + typical + "\n]\n", format: FormatJSON, want: []Point{typicalPoint, typicalPoint}},
	{name: "empty array", body: "[ ]", want: nil},
	{name: "ndjson", body: typical + "\n" + typical + "\n", want: []Point{typicalPoint, typicalPoint}},
	{name: "ndjson blank lines and CRLF", body: "\r\n" + typical + "\r\n   \r\n\t\r\n" + typical + "\r\n\r\n", format: FormatNDJSON, want: []Point{typicalPoint, typicalPoint}},
	{name: "ndjson auto with blank lines", body: "\n\n" + typical + "\n\n" + typical, want: []Point{typicalPoint, typicalPoint}},
	{name: "BOM single", body: "\uFEFF" + typical, want: []Point{typicalPoint}},
	{name: "BOM array", body: "\uFEFF[" + typical + "]", format: FormatJSON, want: []Point{typicalPoint}},
	{name: "BOM ndjson", body: "\uFEFF" + typical + "\n" + typical, format: FormatNDJSON, want: []Point{typicalPoint, typicalPoint}},
	{name: "auto pretty single object", body: "{\n  \"dataset\": \"requests\",\n  \"blobs\": [\"a\"]\n}\n", want: []Point{pt("requests", testNow, "", bl("a"), nil)}},
	{name: "auto ndjson first line broken", body: "{\"dataset\":\n" + typical + "\n", want: []Point{typicalPoint},
		rej: []rej{{0, []string{"line 1: invalid JSON at column 12", "end of line"}}}},
	{name: "json with two objects", body: typical + "\n" + typical, format: FormatJSON,
		err: "invalid JSON at line 2, column 1 (byte offset 92): unexpected '{' after the point object; to send several points use a JSON array, or NDJSON"},
	{name: "ndjson array line", body: "[" + typical + "]\n" + typical, format: FormatNDJSON, want: []Point{typicalPoint},
		rej: []rej{{0, []string{"line 1: expected a point object, found '['", "Content-Type: application/json"}}}},
	{name: "ndjson syntax error rejects the line", body: typical + "\n\n{\"dataset\":\"requests\",\"blobs\":[1,}\n" + typical, format: FormatNDJSON,
		want: []Point{typicalPoint, typicalPoint}, rej: []rej{{1, []string{"line 3: invalid JSON at column 34: expected a JSON value; found '}'"}}}},
	{name: "ndjson several syntax errors", body: "{\"dataset\" 1}\n" + typical + "\n{\"dataset\":\"requests\",}\n{\"dataset\":\"requests\"]\n", format: FormatNDJSON, want: []Point{typicalPoint},
		rej: []rej{{0, []string{"line 1: invalid JSON at column 12: expected ':' after an object key; found '1'"}},
			{2, []string{"line 3: invalid JSON at column 23: expected '\"' to begin an object key; found '}'"}},
			{3, []string{"line 4: invalid JSON at column 22: expected ',' or '}' after an object member; found ']'"}}}},
	{name: "ndjson data after object", body: typical + " x\n" + typical, want: []Point{typicalPoint},
		rej: []rej{{0, []string{"line 1", "unexpected 'x' after the point object"}}}},
	{name: "ndjson scalar line", body: "42\n" + typical, format: FormatNDJSON, want: []Point{typicalPoint},
		rej: []rej{{0, []string{"line 1: expected a point object, found '4'"}}}},
	{name: "empty", body: "", err: "body is empty"},
	{name: "blank", body: " \r\n\t\n", format: FormatNDJSON, err: "body is empty"},
	{name: "BOM only", body: "\uFEFF\n", err: "body is empty"},
	{name: "not JSON", body: "hello", err: "invalid JSON at line 1, column 1 (byte offset 0): expected a JSON point object, a JSON array of point objects, or NDJSON"},
	{name: "not JSON number", body: "\n 42", format: FormatJSON, err: "line 2, column 2 (byte offset 2)"},
	{name: "array syntax error", body: "[\n" + typical + ",\n{\"dataset\" \"b\"}\n]", format: FormatJSON,
		err: "invalid JSON at line 3, column 12 (byte offset 106): expected ':' after an object key; found '\"'"},
	{name: "array missing comma", body: "[" + typical + " " + typical + "]", err: "expected ',' or ']' after an array element; found '{'"},
	{name: "array unterminated", body: "[" + typical, err: "expected ',' or ']' after an array element; found end of input"},
	{name: "array trailing comma", body: "[" + typical + ",]", err: "expected a JSON value; found ']'"},
	{name: "data after array", body: "[" + typical + "] []", err: "unexpected '[' after the array"},
	{name: "array of non-objects", body: `[1, "x", null, [1,{}], true, ` + typical + `]`, want: []Point{typicalPoint},
		rej: []rej{{0, []string{"point must be a JSON object, got number"}}, {1, []string{"got string"}}, {2, []string{"got null"}},
			{3, []string{"got array"}}, {4, []string{"got boolean"}}}},
	{name: "array syntax error in skipped element", body: `[[1,}]` + typical + `]`, err: "expected a JSON value; found '}'"},
	{name: "control character in string", body: "[{\"dataset\":\"a\tb\"}]", err: "control character 0x09 in a string"},
	{name: "control character in long string", body: "[{\"dataset\":\"requests\",\"blobs\":[\"abcdefghijklmno\x01pqrstuvwxyz\"]}]", err: "control character 0x01 in a string"},
	{name: "control character in long escaped string", body: "[{\"dataset\":\"requests\",\"blobs\":[\"\\nabcdefghijklmno\x1fpqrstuvwxyz\"]}]", err: "control character 0x1f in a string"},
	{name: "control character in skipped string", body: "[{\"x\":[\"abcdefghijklmno\x00\"]}]", err: "control character 0x00 in a string"},
	{name: "quote and backslash after 8 bytes", body: `{"dataset":"requests","blobs":["abcdefghijklmnop\"q","abcdefghijklmnopqrstuvw\\","abcdefgh"]}`,
		want: []Point{pt("requests", testNow, "", bl(`abcdefghijklmnop"q`, `abcdefghijklmnopqrstuvw\`, "abcdefgh"), nil)}},
	{name: "unterminated string", body: `{"dataset":"requests`, err: "unterminated string"},
	{name: "invalid escape", body: `{"dataset":"req\x"}`, err: `invalid escape \x`},
	{name: "invalid unicode escape", body: `{"dataset":"req\u12g4"}`, err: `invalid \u escape`},
	{name: "bad literal", body: `{"dataset":nul}`, err: "invalid literal; expected null"},
	{name: "bad number leading zero", body: `{"doubles":[01]}`, err: "expected ',' or ']' after an array element; found '1'"},
	{name: "bad number dot", body: `{"doubles":[1.]}`, err: "expected a digit after the decimal point"},
	{name: "bad number exponent", body: `{"doubles":[1e+]}`, err: "expected a digit in the exponent"},
	{name: "bad number minus", body: `{"doubles":[-]}`, err: "invalid number; expected a digit, found ']'"},
	{name: "bad number plus", body: `{"doubles":[+1]}`, err: "expected a JSON value; found '+'"},
	{name: "bad number dot first", body: `{"doubles":[.5]}`, err: "expected a JSON value; found '.'"},
	{name: "trailing comma in skipped object", body: `[{"x":{"a":1,}}]`, err: `expected '"' to begin an object key; found '}'`},
	{name: "trailing comma in skipped array", body: `[{"x":[1,]}]`, err: `expected a JSON value; found ']'`},
	{name: "missing colon in skipped object", body: `[{"x":{"a" 1}}]`, err: "expected ':' after an object key; found '1'"},
	{name: "non-string key", body: `{dataset:"a"}`, err: `expected '"' to begin an object key; found 'd'`},
	{name: "missing comma between members", body: `{"dataset":"a" "index":"b"}`, err: `expected ',' or '}' after an object member; found '"'`},

	// ---- positional form ----
	{name: "empty object with URL dataset", body: `{}`, opts: withDataset("requests"), want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "nulls", body: `{"dataset":"requests","index":null,"blobs":[null,"b",null],"doubles":[null,2,null]}`,
		want: []Point{pt("requests", testNow, "", bl("", "b", ""), db(0, 2, 0))}},
	{name: "null arrays", body: `{"dataset":"requests","blobs":null,"doubles":null,"indexes":null,"fields":null,"timestamp":null,"dataset":null}`,
		rej: []rej{{0, []string{`key "dataset" appears twice in the point`}}}},
	{name: "null arrays once", body: `{"dataset":"requests","blobs":null,"doubles":null,"indexes":null,"fields":null,"timestamp":null}`,
		want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "empty arrays", body: `{"dataset":"requests","blobs":[],"doubles":[],"indexes":[]}`, want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "blob number", body: `{"dataset":"requests","blobs":["a","b",3]}`, rej: []rej{{0, []string{"blob3 must be a string or null, got number"}}}},
	{name: "blob bool", body: `{"dataset":"requests","blobs":[true]}`, rej: []rej{{0, []string{"blob1 must be a string or null, got boolean"}}}},
	{name: "blob object", body: `{"dataset":"requests","blobs":["a",{"x":[1,2,{"y":null}]}]}`, rej: []rej{{0, []string{"blob2 must be a string or null, got object"}}}},
	{name: "blob false", body: `{"dataset":"requests","blobs":[false,"x"]}`, rej: []rej{{0, []string{"blob1 must be a string or null, got boolean"}}}},
	{name: "skipped literals", body: `[{"dataset":"requests","x":[true,false,null,{"a":false}]},` + typical + `]`, want: []Point{typicalPoint}, rej: []rej{{0, []string{`unknown key "x"`}}}},
	{name: "blob array", body: `{"dataset":"requests","blobs":[["a"]]}`, rej: []rej{{0, []string{"blob1 must be a string or null, got array"}}}},
	{name: "blobs not array", body: `{"dataset":"requests","blobs":"a"}`, rej: []rej{{0, []string{"blobs must be an array of strings, got string"}}}},
	{name: "double string", body: `{"dataset":"requests","doubles":[1,"2"]}`, rej: []rej{{0, []string{"double2 must be a number or null, got string"}}}},
	{name: "doubles not array", body: `{"dataset":"requests","doubles":{"a":1}}`, rej: []rej{{0, []string{"doubles must be an array of numbers, got object"}}}},
	{name: "double overflow", body: `{"dataset":"requests","doubles":[1,1e999]}`, rej: []rej{{0, []string{"double2 is +Inf", "finite"}}}},
	{name: "double negative overflow", body: `{"dataset":"requests","doubles":[-1e999]}`, rej: []rej{{0, []string{"double1 is -Inf", "finite"}}}},
	{name: "double underflow", body: `{"dataset":"requests","doubles":[1e-999,-0,0.0]}`, want: []Point{pt("requests", testNow, "", nil, db(0, 0, 0))}},
	{name: "doubles", body: `{"dataset":"requests","doubles":[0,-1,1.5,-2.25e3,1E2,1e-3,123456789012345678901234567890,0.1,1.7976931348623157e308,4.9e-324,9007199254740993,1e22,1e23]}`,
		want: []Point{pt("requests", testNow, "", nil, db(0, -1, 1.5, -2250, 100, 0.001, 123456789012345678901234567890, 0.1, 1.7976931348623157e308, 4.9e-324, 9007199254740993, 1e22, 1e23))}},
	{name: "20 blobs and doubles", body: `{"dataset":"requests","blobs":[` + repeatJSON(`"b"`, 20) + `],"doubles":[` + repeatJSON(`1`, 20) + `]}`,
		want: []Point{pt("requests", testNow, "", repeatSlice("b", 20), repeatSlice(1.0, 20))}},
	{name: "21 blobs", body: `{"dataset":"requests","blobs":[` + repeatJSON(`"b"`, 21) + `]}`, rej: []rej{{0, []string{"21 blobs; the limit is 20 blobs"}}}},
	{name: "many blobs", body: `{"dataset":"requests","blobs":[` + repeatJSON(`"b"`, 1000) + `]}`, rej: []rej{{0, []string{"1000 blobs; the limit is 20 blobs"}}}},
	{name: "21 doubles", body: `{"dataset":"requests","doubles":[` + repeatJSON(`1`, 21) + `]}`, rej: []rej{{0, []string{"21 doubles; the limit is 20 doubles"}}}},
	{name: "index 96 bytes", body: `{"dataset":"requests","index":"` + strings.Repeat("i", 96) + `"}`, want: []Point{pt("requests", testNow, strings.Repeat("i", 96), nil, nil)}},
	{name: "index 97 bytes", body: `{"dataset":"requests","index":"` + strings.Repeat("i", 97) + `"}`, rej: []rej{{0, []string{"index is 97 bytes; the limit is 96 bytes"}}}},
	{name: "index escapes count decoded bytes", body: `{"dataset":"requests","index":"` + strings.Repeat(`\u00e9`, 48) + `"}`, want: []Point{pt("requests", testNow, strings.Repeat("é", 48), nil, nil)}},
	{name: "blobs 16 KB", body: `{"dataset":"requests","blobs":["` + strings.Repeat("x", 8192) + `","` + strings.Repeat("y", 8192) + `"]}`,
		want: []Point{pt("requests", testNow, "", bl(strings.Repeat("x", 8192), strings.Repeat("y", 8192)), nil)}},
	{name: "blobs over 16 KB", body: `{"dataset":"requests","blobs":["` + strings.Repeat("x", 8192) + `","` + strings.Repeat("y", 8193) + `"]}`,
		rej: []rej{{0, []string{"blobs total 16385 bytes; the limit is 16384 bytes (16 KB)"}}}},
	{name: "index wrong type", body: `{"dataset":"requests","index":5}`, rej: []rej{{0, []string{"index must be a string or null, got number"}}}},
	{name: "indexes one", body: `{"dataset":"requests","indexes":["/a"]}`, want: []Point{pt("requests", testNow, "/a", nil, nil)}},
	{name: "indexes null element", body: `{"dataset":"requests","indexes":[null]}`, want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "indexes two", body: `{"dataset":"requests","indexes":["a","b"]}`, rej: []rej{{0, []string{
		`point has 2 indexes; Analytics Engine accepts at most 1 index (AE drops such points silently). Combine them into one, e.g. "indexes":["a:b"], or move the extra values into blobs`}}}},
	{name: "indexes three", body: `{"dataset":"requests","indexes":["tenant",null,"x"]}`, rej: []rej{{0, []string{"point has 3 indexes", "at most 1 index", `"indexes":["tenant:"]`}}}},
	{name: "indexes wrong element", body: `{"dataset":"requests","indexes":[1]}`, rej: []rej{{0, []string{"index must be a string or null, got number"}}}},
	{name: "indexes not array", body: `{"dataset":"requests","indexes":"a"}`, rej: []rej{{0, []string{"indexes must be an array of at most one string, got string"}}}},
	{name: "index and indexes", body: `{"dataset":"requests","index":"a","indexes":["b"]}`, rej: []rej{{0, []string{`index is given twice, in "indexes" and in index`}}}},
	{name: "index and empty indexes", body: `{"dataset":"requests","index":"a","indexes":[]}`, want: []Point{pt("requests", testNow, "a", nil, nil)}},
	{name: "unknown key", body: `{"dataset":"requests","blbos":["a"]}`, rej: []rej{{0, []string{`unknown key "blbos"; point keys are dataset, timestamp, index, indexes, blobs, doubles and fields`}}}},
	{name: "column as key", body: `{"dataset":"requests","blob1":"a"}`, rej: []rej{{0, []string{`unknown key "blob1"`, `"fields": {"blob1": ...}`}}}},
	{name: "key case matters", body: `{"dataset":"requests","Blobs":["a"]}`, rej: []rej{{0, []string{`unknown key "Blobs"`}}}},
	{name: "escaped key", body: `{"d\u0061taset":"requests","\u0062lobs":["a"]}`, want: []Point{pt("requests", testNow, "", bl("a"), nil)}},
	{name: "duplicate key", body: `{"dataset":"requests","blobs":["a"],"blobs":["b"]}`, rej: []rej{{0, []string{`key "blobs" appears twice in the point`}}}},
	{name: "rejections do not stop the batch", body: `[{"dataset":"requests","blobs":[1]},` + typical + `,{"bad":1},` + typical + `]`,
		want: []Point{typicalPoint, typicalPoint}, rej: []rej{{0, []string{"blob1"}}, {2, []string{`unknown key "bad"`}}}},
	{name: "first rule wins and rest is skipped", body: `{"nope":{"deep":[1,2,{"x":"y"}]},"blobs":[1],"dataset":"requests"}`, rej: []rej{{0, []string{`unknown key "nope"`}}}},

	// ---- strings ----
	{name: "escapes", body: `{"dataset":"requests","blobs":["a\"b\\c\/d\be\ff\ng\rh\ti","\u00e9\u4e2d\uD83D\uDE00","x\u0000y"]}`,
		want: []Point{pt("requests", testNow, "", bl("a\"b\\c/d\be\ff\ng\rh\ti", "é中😀", "x\x00y"), nil)}},
	{name: "lone surrogates", body: `{"dataset":"requests","blobs":["\ud800","\udc00x","\ud800\u0041","\ud800\ud800\udc00","a\ud83d"]}`,
		want: []Point{pt("requests", testNow, "", bl("\uFFFD", "\uFFFDx", "\uFFFDA", "\uFFFD𐀀", "a\uFFFD"), nil)}},
	{name: "raw UTF-8", body: `{"dataset":"requests","blobs":["héllo wörld 中文 😀"]}`, want: []Point{pt("requests", testNow, "", bl("héllo wörld 中文 😀"), nil)}},
	{name: "invalid UTF-8 blob", body: "{\"dataset\":\"requests\",\"blobs\":[\"a\",\"b\xffc\"]}", rej: []rej{{0, []string{"blob2 is not valid UTF-8"}}}},
	{name: "invalid UTF-8 escaped blob", body: "{\"dataset\":\"requests\",\"blobs\":[\"\\n\xc3\"]}", rej: []rej{{0, []string{"blob1 is not valid UTF-8"}}}},
	{name: "invalid UTF-8 index", body: "{\"dataset\":\"requests\",\"index\":\"\xed\xa0\x80\"}", rej: []rej{{0, []string{"index is not valid UTF-8"}}}},
	{name: "invalid UTF-8 key", body: "{\"dataset\":\"requests\",\"blobs\xff\":[]}", rej: []rej{{0, []string{`unknown key "blobs\xff"`}}}},
	{name: "invalid UTF-8 dataset", body: "{\"dataset\":\"r\xff\"}", rej: []rej{{0, []string{"dataset name", "[a-z0-9_]{1,64}"}}}},
	{name: "long strings", body: `{"dataset":"requests","blobs":["` + strings.Repeat("abcdefgh", 100) + `","` + strings.Repeat("é", 33) + `\n"]}`,
		want: []Point{pt("requests", testNow, "", bl(strings.Repeat("abcdefgh", 100), strings.Repeat("é", 33)+"\n"), nil)}},

	// ---- depth ----
	{name: "deep nesting in a blob", body: `{"dataset":"requests","blobs":[` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `]}`,
		rej: []rej{{0, []string{"blob1 must be a string or null, got array"}}}},
	{name: "deep nesting objects", body: `{"dataset":"requests","x":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `}`,
		rej: []rej{{0, []string{`unknown key "x"`}}}},
	{name: "deep nesting unbalanced", body: `[{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 99999) + `}]`, err: "expected ',' or ']'; found '}'"},

	// ---- dataset ----
	{name: "dataset missing", body: `{"blobs":["a"]}`, rej: []rej{{0, []string{`dataset is missing: give "dataset" in each point, or post to /api/v1/datasets/{dataset}/points`}}}},
	{name: "dataset from URL", body: `{"blobs":["a"]}`, opts: withDataset("logs"), want: []Point{pt("logs", testNow, "", bl("a"), nil)}},
	{name: "dataset same as URL", body: `{"dataset":"logs"}`, opts: withDataset("logs"), want: []Point{pt("logs", testNow, "", nil, nil)}},
	{name: "dataset differs from URL", body: `{"dataset":"other"}`, opts: withDataset("logs"), rej: []rej{{0, []string{`point names dataset "other" but the URL names dataset "logs"`}}}},
	{name: "dataset invalid", body: `{"dataset":"Requests"}`, rej: []rej{{0, []string{`dataset name "Requests" has 'R' at byte 0; names match [a-z0-9_]{1,64}`}}}},
	{name: "dataset empty", body: `{"dataset":""}`, rej: []rej{{0, []string{`dataset name is empty`}}}},
	{name: "dataset too long", body: `{"dataset":"` + strings.Repeat("a", 65) + `"}`, rej: []rej{{0, []string{"is 65 bytes; names match [a-z0-9_]{1,64}"}}}},
	{name: "dataset wrong type", body: `{"dataset":1}`, rej: []rej{{0, []string{"dataset must be a string or null, got number"}}}},

	// ---- timestamp ----
	{name: "timestamp ms", body: `{"dataset":"requests","timestamp":1748735999123}`, want: []Point{pt("requests", 1748735999123, "", nil, nil)}},
	{name: "timestamp ms exponent", body: `{"dataset":"requests","timestamp":1.748735999e12}`, want: []Point{pt("requests", 1748735999000, "", nil, nil)}},
	{name: "timestamp RFC 3339", body: `{"dataset":"requests","timestamp":"2025-05-31T23:59:59.123Z"}`, want: []Point{pt("requests", 1748735999123, "", nil, nil)}},
	{name: "timestamp RFC 3339 offset", body: `{"dataset":"requests","timestamp":"2025-06-01T01:59:59+02:00"}`, want: []Point{pt("requests", 1748735999000, "", nil, nil)}},
	{name: "timestamp RFC 3339 nanoseconds", body: `{"dataset":"requests","timestamp":"2025-05-31T23:59:59.123456789Z"}`, want: []Point{pt("requests", 1748735999123, "", nil, nil)}},
	{name: "timestamp null", body: `{"dataset":"requests","timestamp":null}`, want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "timestamp window edges", body: fmt.Sprintf(`[{"dataset":"requests","timestamp":%d},{"dataset":"requests","timestamp":%d}]`, testNow-30*day, testNow+300000),
		want: []Point{pt("requests", testNow-30*day, "", nil, nil), pt("requests", testNow+300000, "", nil, nil)}},
	{name: "timestamp too old", body: fmt.Sprintf(`{"dataset":"requests","timestamp":%d}`, testNow-30*day-1),
		rej: []rej{{0, []string{"timestamp 2025-05-01T23:59:59.999Z (1746143999999) is outside the accepted window 2025-05-02T00:00:00.000Z to 2025-06-01T00:05:00.000Z"}}}},
	{name: "timestamp in the future", body: `{"dataset":"requests","timestamp":"2025-06-01T00:05:00.001Z"}`,
		rej: []rej{{0, []string{"timestamp 2025-06-01T00:05:00.001Z (1748736300001) is outside the accepted window"}}}},
	{name: "timestamp seconds", body: `{"dataset":"requests","timestamp":1748735999}`,
		rej: []rej{{0, []string{"outside the accepted window", "it looks like Unix seconds, but timestamps are Unix milliseconds"}}}},
	{name: "timestamp microseconds", body: `{"dataset":"requests","timestamp":1748735999000000}`,
		rej: []rej{{0, []string{"outside the accepted window", "it looks like Unix microseconds"}}}},
	{name: "timestamp nanoseconds", body: `{"dataset":"requests","timestamp":1748735999000000000}`,
		rej: []rej{{0, []string{"outside the accepted window", "it looks like Unix nanoseconds"}}}},
	{name: "timestamp negative", body: `{"dataset":"requests","timestamp":-1}`, rej: []rej{{0, []string{"timestamp 1969-12-31T23:59:59.999Z (-1) is outside"}}}},
	{name: "timestamp fraction", body: `{"dataset":"requests","timestamp":1748735999000.5}`, rej: []rej{{0, []string{"timestamp 1748735999000.5 is not a whole number of Unix milliseconds"}}}},
	{name: "timestamp huge", body: `{"dataset":"requests","timestamp":1e300}`, rej: []rej{{0, []string{"timestamp 1e300 is out of range"}}}},
	{name: "timestamp not RFC 3339", body: `{"dataset":"requests","timestamp":"yesterday"}`, rej: []rej{{0, []string{`timestamp "yesterday" is not an RFC 3339 time`}}}},
	{name: "timestamp bool", body: `{"dataset":"requests","timestamp":true}`, rej: []rej{{0, []string{"timestamp must be an RFC 3339 string or a number of Unix milliseconds, got boolean"}}}},
	{name: "timestamp without window", body: `{"dataset":"requests","timestamp":5}`, opts: &DecodeOptions{Now: testNow}, want: []Point{pt("requests", 5, "", nil, nil)}},

	// ---- named form ----
	{name: "named", body: `{"dataset":"requests","fields":{"route":"/r","path":"/p","method":"GET","latency_ms":1.5,"status":200}}`,
		want: []Point{pt("requests", testNow, "/r", bl("/p", "GET"), db(1.5, 200))}},
	{name: "named extends to highest set", body: `{"dataset":"requests","fields":{"method":"GET","latency_ms":3}}`,
		want: []Point{pt("requests", testNow, "", bl("", "GET"), db(3))}},
	{name: "named column names", body: `{"dataset":"requests","fields":{"blob3":"c","double4":4,"index":"i","timestamp":"2025-05-31T00:00:00Z"}}`,
		want: []Point{pt("requests", testNow-day, "i", bl("", "", "c"), db(0, 0, 0, 4))}},
	{name: "named out of order", body: `{"dataset":"requests","fields":{"status":1,"method":"GET","latency_ms":2,"path":"/p"}}`,
		want: []Point{pt("requests", testNow, "", bl("/p", "GET"), db(2, 1))}},
	{name: "named null does not extend", body: `{"dataset":"requests","fields":{"path":"/p","method":null,"latency_ms":null}}`,
		want: []Point{pt("requests", testNow, "", bl("/p"), nil)}},
	{name: "named before dataset", body: `{"fields":{"path":"/p","status":404},"dataset":"requests"}`,
		want: []Point{pt("requests", testNow, "", bl("/p"), db(0, 404))}},
	{name: "named with URL dataset", body: `{"fields":{"country":"DE","bytes":10}}`, opts: withDataset("sparse"),
		want: []Point{pt("sparse", testNow, "", bl("", "", "DE"), db(0, 10))}},
	{name: "named without dataset", body: `{"fields":{"path":"/p"}}`, rej: []rej{{0, []string{"dataset is missing"}}}},
	{name: "named names resolved per dataset", body: `[{"dataset":"requests","fields":{"path":"x"}},{"dataset":"sparse","fields":{"path":"x"}},{"dataset":"sparse","fields":{"country":"y"}},{"dataset":"requests","fields":{"country":"y"}},{"dataset":"requests","fields":{"path":"z"}}]`,
		want: []Point{pt("requests", testNow, "", bl("x"), nil), pt("sparse", testNow, "", bl("", "", "y"), nil), pt("requests", testNow, "", bl("z"), nil)},
		rej:  []rej{{1, []string{`unknown field "path": dataset "sparse"`}}, {3, []string{`unknown field "country": dataset "requests"`}}}},
	{name: "named unknown field", body: `{"dataset":"requests","fields":{"pth":"/p"}}`,
		rej: []rej{{0, []string{`unknown field "pth": dataset "requests" has no such schema field (its schema names route, path, method, latency_ms, status;`}}}},
	{name: "named unknown field deferred", body: `{"fields":{"pth":"/p"},"dataset":"requests"}`,
		rej: []rej{{0, []string{`unknown field "pth": dataset "requests" has no such schema field`}}}},
	{name: "named no schema", body: `{"dataset":"logs","fields":{"path":"/p"}}`,
		rej: []rej{{0, []string{`unknown field "path": dataset "logs" has no schema, so fields must be column names`}}}},
	{name: "named no schema columns", body: `{"dataset":"logs","fields":{"blob2":"x","double1":1}}`, want: []Point{pt("logs", testNow, "", bl("", "x"), db(1))}},
	{name: "named blob wrong type", body: `{"dataset":"requests","fields":{"path":5}}`, rej: []rej{{0, []string{`field "path" (blob1) must be a string or null, got number`}}}},
	{name: "named double wrong type", body: `{"dataset":"requests","fields":{"status":"200"}}`, rej: []rej{{0, []string{`field "status" (double2) must be a number or null, got string`}}}},
	{name: "named column wrong type", body: `{"dataset":"requests","fields":{"double2":"200"}}`, rej: []rej{{0, []string{`double2 must be a number or null, got string`}}}},
	{name: "named nested value", body: `{"dataset":"requests","fields":{"path":{"a":{"b":[1]}}}}`, rej: []rej{{0, []string{`field "path" (blob1) must be a string or null, got object`}}}},
	{name: "named set twice", body: `{"dataset":"requests","fields":{"path":"a","blob1":"b"}}`, rej: []rej{{0, []string{"blob1 is set twice"}}}},
	{name: "named set twice double", body: `{"dataset":"requests","fields":{"double2":1,"status":2}}`, rej: []rej{{0, []string{`field "status" (double2) is set twice`}}}},
	{name: "named index twice with null", body: `{"dataset":"requests","fields":{"index":"x","route":null}}`, rej: []rej{{0, []string{`field "route" (index1) is set twice`}}}},
	{name: "named timestamp twice with null", body: `{"dataset":"requests","fields":{"timestamp":null,"timestamp":1748735999000}}`, rej: []rej{{0, []string{"timestamp is set twice"}}}},
	{name: "named index twice", body: `{"dataset":"requests","index":"a","fields":{"route":"b"}}`, rej: []rej{{0, []string{`index is given twice, in index and in field "route" (index1)`}}}},
	{name: "named index and indexes", body: `{"dataset":"requests","indexes":["a"],"fields":{"route":"b"}}`, rej: []rej{{0, []string{`index is given twice, in "indexes" and in field "route" (index1)`}}}},
	{name: "named timestamp twice", body: `{"dataset":"requests","timestamp":1748735999000,"fields":{"timestamp":1748735999000}}`, rej: []rej{{0, []string{"timestamp is given twice"}}}},
	{name: "named timestamp window", body: `{"dataset":"requests","fields":{"timestamp":0}}`, rej: []rej{{0, []string{"timestamp 1970-01-01T00:00:00.000Z (0) is outside the accepted window"}}}},
	{name: "named sample interval", body: `{"dataset":"requests","fields":{"_sample_interval":2}}`, rej: []rej{{0, []string{`field "_sample_interval" cannot be written`}}}},
	{name: "named mixed fields then blobs", body: `{"dataset":"requests","fields":{"path":"a"},"blobs":["b"]}`, rej: []rej{{0, []string{`"fields" cannot be combined with "blobs" or "doubles"`}}}},
	{name: "named mixed doubles then fields", body: `{"dataset":"requests","doubles":[1],"fields":{"path":"a"}}`, rej: []rej{{0, []string{`"fields" cannot be combined with "blobs" or "doubles"`}}}},
	{name: "named not object", body: `{"dataset":"requests","fields":["a"]}`, rej: []rej{{0, []string{"fields must be an object, got array"}}}},
	{name: "named empty", body: `{"dataset":"requests","fields":{}}`, want: []Point{pt("requests", testNow, "", nil, nil)}},
	{name: "named invalid dataset", body: `{"dataset":"Bad","fields":{"path":"a"}}`, rej: []rej{{0, []string{`dataset name "Bad"`}}}},
	{name: "named invalid URL dataset", body: `{"fields":{"path":"a"}}`, opts: withDataset("Bad"), rej: []rej{{0, []string{`dataset name "Bad"`}}}},
	{name: "named invalid dataset deferred", body: `{"fields":{"path":"a"},"dataset":"Bad"}`, rej: []rej{{0, []string{`dataset name "Bad"`}}}},
	{name: "named overflow", body: `{"dataset":"requests","fields":{"latency_ms":1e400}}`, rej: []rej{{0, []string{"double1 is +Inf", "finite"}}}},
	{name: "named invalid UTF-8", body: "{\"dataset\":\"requests\",\"fields\":{\"method\":\"\xff\"}}", rej: []rej{{0, []string{"blob2 is not valid UTF-8"}}}},
	{name: "named syntax error", body: `[{"dataset":"requests","fields":{"path":"a",}}]`, err: `expected '"' to begin an object key; found '}'`},
	{name: "named syntax error deferred", body: `[{"fields":{"path":"a" "b"},"dataset":"requests"}]`, err: `expected ',' or '}'; found '"'`},

	// ---- limits of the body ----
	{name: "max points array", body: "[" + typical + "," + typical + "," + typical + "]", opts: &DecodeOptions{MaxPoints: 2}, err: "body has more than 2 points; the limit is 2 points per request"},
	{name: "max points ndjson", body: typical + "\n" + typical + "\n\n" + typical, format: FormatNDJSON, opts: &DecodeOptions{MaxPoints: 2}, err: "the limit is 2 points"},
	{name: "max points counts rejections", body: "[1,2,3]", opts: &DecodeOptions{MaxPoints: 2}, err: "the limit is 2 points"},
	{name: "max points exact", body: "[" + typical + "," + typical + "]", opts: &DecodeOptions{MaxPoints: 2, Now: testNow}, want: []Point{typicalPoint, typicalPoint}},
	{name: "max points ndjson exact", body: typical + "\n\n" + typical + "\n\n", opts: &DecodeOptions{MaxPoints: 2, Now: testNow}, want: []Point{typicalPoint, typicalPoint}},
}

func repeatJSON(v string, n int) string {
	return strings.TrimSuffix(strings.Repeat(v+",", n), ",")
}

func repeatSlice[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestDecode(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			opts := testOpts()
			if c.opts != nil {
				opts = *c.opts
			}
			pts, rejected, err := Decode([]byte(c.body), c.format, opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want one containing %q", err, c.err)
				}
				if pts != nil || rejected != nil {
					t.Errorf("with an error, points = %v and rejections = %v, want nil", pts, rejected)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(pts) == 0 && len(c.want) == 0 {
				pts = nil
			}
			if !reflect.DeepEqual(pts, c.want) {
				t.Errorf("points:\n got  %s\n want %s", fmtPoints(pts), fmtPoints(c.want))
			}
			checkRejections(t, rejected, c.rej)
			for i := range pts {
				if err := pts[i].Validate(); err != nil {
					t.Errorf("point %d does not validate: %v", i, err)
				}
			}
		})
	}
}

func checkRejections(t *testing.T, got []Rejection, want []rej) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("rejections = %+v, want %d: %+v", got, len(want), want)
	}
	for i, w := range want {
		if got[i].Position != w.pos {
			t.Errorf("rejection %d at position %d, want %d (%s)", i, got[i].Position, w.pos, got[i].Error)
		}
		for _, sub := range w.want {
			if !strings.Contains(got[i].Error, sub) {
				t.Errorf("rejection %d = %q, want it to contain %q", i, got[i].Error, sub)
			}
		}
	}
}

func fmtPoints(pts []Point) string {
	var b strings.Builder
	for _, p := range pts {
		s := fmt.Sprintf("%+v", p)
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		b.WriteString("\n  " + s)
	}
	return b.String()
}

func TestDecodeErrorTypes(t *testing.T) {
	_, _, err := Decode(nil, FormatAuto, DecodeOptions{})
	if !errors.Is(err, ErrEmptyBody) {
		t.Errorf("nil body: error %v, want ErrEmptyBody", err)
	}
	_, _, err = Decode([]byte("[1,2,3]"), FormatJSON, DecodeOptions{MaxPoints: 1})
	var tm *TooManyPointsError
	if !errors.As(err, &tm) || tm.Limit != 1 {
		t.Errorf("too many: error %#v, want *TooManyPointsError{Limit: 1}", err)
	}
	_, _, err = Decode([]byte("[\r\n{},\r\n  {]"), FormatJSON, DecodeOptions{Dataset: "a"})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("syntax: error %#v, want *SyntaxError", err)
	}
	if se.Offset != 11 || se.Line != 3 || se.Column != 4 {
		t.Errorf("syntax error at offset %d, line %d, column %d; want 11, 3, 4 (%v)", se.Offset, se.Line, se.Column, se)
	}
}

func TestFormatFromContentType(t *testing.T) {
	for ct, want := range map[string]Format{
		"application/x-ndjson":              FormatNDJSON,
		"application/jsonl":                 FormatNDJSON,
		"Application/X-JSONLines":           FormatNDJSON,
		"application/x-ndjson; charset=x":   FormatNDJSON,
		"application/json":                  FormatJSON,
		" application/json ; charset=utf-8": FormatJSON,
		"":                                  FormatAuto,
		"text/plain":                        FormatAuto,
		"application/jsonx":                 FormatAuto,
	} {
		if got := FormatFromContentType(ct); got != want {
			t.Errorf("FormatFromContentType(%q) = %v, want %v", ct, got, want)
		}
	}
	if s := Format(9).String(); s != "Format(9)" {
		t.Errorf("Format(9).String() = %q", s)
	}
}

// TestDecodeSchemaCalls checks that Schema is asked once per change of
// dataset, not once per point, and never about an invalid dataset name.
func TestDecodeSchemaCalls(t *testing.T) {
	calls := map[string]int{}
	opts := testOpts()
	opts.Schema = func(ds string) *Schema { calls[ds]++; return testSchemas[ds] }
	var body strings.Builder
	for range 100 {
		body.WriteString(`{"dataset":"requests","fields":{"path":"/p"}}` + "\n")
	}
	body.WriteString(`{"dataset":"sparse","fields":{"country":"DE"}}` + "\n")
	body.WriteString(`{"dataset":"Bad","fields":{"country":"DE"}}` + "\n")
	body.WriteString(`{"fields":{"country":"DE"},"dataset":"Bad"}` + "\n")
	pts, rej, err := Decode([]byte(body.String()), FormatNDJSON, opts)
	if err != nil || len(rej) != 2 || len(pts) != 101 {
		t.Fatalf("decode: %d points, %v, %v", len(pts), rej, err)
	}
	if calls["requests"] != 1 || calls["sparse"] != 1 || len(calls) != 2 {
		t.Errorf("Schema calls = %v, want one per dataset", calls)
	}
}

// TestDecodeArena checks that points stay intact across arena chunks and
// rejected points, and that appending to one point's slices cannot change
// another's.
func TestDecodeArena(t *testing.T) {
	var body strings.Builder
	body.WriteString("[")
	var want []Point
	for i := range 3000 {
		if i > 0 {
			body.WriteString(",")
		}
		n := i%MaxBlobs + 1
		blobs, doubles := make([]string, n), make([]float64, n)
		for j := range n {
			blobs[j] = fmt.Sprintf("p%d-b%d", i, j)
			doubles[j] = float64(i*100 + j)
		}
		switch i % 7 {
		case 3: // rejected after filling the arena
			fmt.Fprintf(&body, `{"dataset":"requests","blobs":%s,"doubles":%s,"bad":1}`, jsonOf(blobs), jsonOf(doubles))
			continue
		case 5: // named form
			fmt.Fprintf(&body, `{"dataset":"requests","fields":{"blob%d":%q,"double%d":%v}}`, n, blobs[n-1], n, doubles[n-1])
			clear(blobs[:n-1])
			clear(doubles[:n-1])
		default:
			fmt.Fprintf(&body, `{"dataset":"requests","blobs":%s,"doubles":%s}`, jsonOf(blobs), jsonOf(doubles))
		}
		want = append(want, pt("requests", testNow, "", blobs, doubles))
	}
	body.WriteString("]")
	pts, rej, err := Decode([]byte(body.String()), FormatJSON, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 3000/7+1 {
		t.Errorf("%d rejections, want %d", len(rej), 3000/7+1)
	}
	for i := range pts {
		pts[i].Blobs = append(pts[i].Blobs, "appended")
		pts[i].Doubles = append(pts[i].Doubles, -1)
	}
	for i := range pts {
		pts[i].Blobs = pts[i].Blobs[:len(pts[i].Blobs)-1]
		pts[i].Doubles = pts[i].Doubles[:len(pts[i].Doubles)-1]
	}
	if !reflect.DeepEqual(pts, want) {
		for i := range min(len(pts), len(want)) {
			if !reflect.DeepEqual(pts[i], want[i]) {
				t.Fatalf("point %d:\n got  %+v\n want %+v", i, pts[i], want[i])
			}
		}
		t.Fatalf("got %d points, want %d", len(pts), len(want))
	}
}

// TestDecodeZeroCopy checks that plain strings share the body's memory and
// escaped ones do not.
func TestDecodeZeroCopy(t *testing.T) {
	body := []byte(`{"dataset":"requests","blobs":["plain","esc\naped"]}`)
	pts, _, err := Decode(body, FormatJSON, testOpts())
	if err != nil || len(pts) != 1 {
		t.Fatal(pts, err)
	}
	body[bytes.Index(body, []byte("plain"))] = 'P' // the caller must not do this; it shows the sharing
	if pts[0].Blobs[0] != "Plain" {
		t.Errorf("blob1 = %q; want it to share the body's memory", pts[0].Blobs[0])
	}
	body[bytes.Index(body, []byte("aped"))] = 'X'
	if pts[0].Blobs[1] != "esc\naped" {
		t.Errorf("blob2 = %q; escaped strings must be copies", pts[0].Blobs[1])
	}
}

// TestDecodeAllocs checks that decoding a typical batch allocates a handful
// of times, not once or more per point.
func TestDecodeAllocs(t *testing.T) {
	body := []byte(strings.Repeat(typical+"\n", 1000))
	opts := testOpts()
	allocs := testing.AllocsPerRun(10, func() {
		if _, _, err := Decode(body, FormatNDJSON, opts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations for 1000 points, want at most 20", allocs)
	}
}

// TestMillis checks the conversion of timestamp numbers.
func TestMillis(t *testing.T) {
	for tok, want := range map[string]int64{
		"0": 0, "-5": -5, "999999999999999999": 999999999999999999, "1e3": 1000,
		"9.2e18": 9200000000000000000, "-9.2e18": -9200000000000000000,
	} {
		var f float64
		fmt.Sscan(tok, &f)
		got, err := millis(tok, f)
		if err != nil || got != want {
			t.Errorf("millis(%s) = %d, %v; want %d", tok, got, err, want)
		}
	}
	for _, tok := range []string{"1.5", "1e19", "-1e19", "1e-3"} {
		var f float64
		fmt.Sscan(tok, &f)
		if got, err := millis(tok, f); err == nil {
			t.Errorf("millis(%s) = %d, want an error", tok, got)
		}
	}
	if got := fmtMillis(testNow); got != "2025-06-01T00:00:00.000Z" {
		t.Errorf("fmtMillis = %s", got)
	}
	if time.UnixMilli(testNow).UTC().Format(time.RFC3339) != "2025-06-01T00:00:00Z" {
		t.Error("testNow is not 2025-06-01")
	}
	if !math.IsInf(mustNumber(t, "1e309"), 1) || mustNumber(t, "-0") != 0 || !math.Signbit(mustNumber(t, "-0")) {
		t.Error("number edge cases")
	}
}

func mustNumber(t *testing.T, tok string) float64 {
	d := decoder{s: tok}
	f, got, ok := d.number()
	if !ok || got != tok || d.i != len(tok) {
		t.Fatalf("number(%q) = %v, %q, %v", tok, f, got, ok)
	}
	return f
}

// TestPlainKey checks the word constants of plainKey against the key names.
func TestPlainKey(t *testing.T) {
	for i, name := range keyNames {
		for _, rest := range []string{":1", " : 1", ":"} {
			s := `"` + name + `"` + rest
			bit, n := plainKey(s)
			if len(s) < 9 {
				bit, n = uint8(1)<<i, len(name)+2 // too short for plainKey; pointKey falls back
			}
			if bit != uint8(1)<<i || n != len(name)+2 {
				t.Errorf("plainKey(%s) = %d, %d; want %d, %d", s, bit, n, 1<<i, len(name)+2)
			}
		}
		for _, s := range []string{`"` + name + `s":1`, `"` + name[:len(name)-1] + `":1`, `"` + strings.ToUpper(name) + `":1`, `"` + name + `\u0000":1`} {
			if bit, _ := plainKey(s); bit != 0 {
				t.Errorf("plainKey(%s) = %d, want 0", s, bit)
			}
		}
	}
}
