package point

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Fuzz targets. Each decodes arbitrary bodies and checks the properties every
// result must have (checkDecode), and compares with encoding/json where it
// can: valid JSON must not be a syntax error, invalid JSON must be, the
// number of positions must match the number of array elements or non-blank
// lines, and every accepted point must hold the values encoding/json reads
// from its object (refPoint).
//
//	go test -run='^$' -fuzz=FuzzDecodeJSON -fuzztime=20s ./internal/point/

func addSeeds(f *testing.F, keep func(string) bool) {
	for _, c := range decodeCases {
		if len(c.body) <= 4096 && keep(c.body) {
			f.Add([]byte(c.body))
		}
	}
	f.Add([]byte(`[{"dataset":"requests","blobs":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}]`))
	f.Add([]byte("{\"dataset\":\"requests\",\"blobs\":[\"a\\ud83d\\ude00\",null],\"doubles\":[1e308,-0.0]}\r\n\r\n[]\n{}"))
}

func FuzzDecodeJSON(f *testing.F) {
	addSeeds(f, func(string) bool { return true })
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, body, FormatJSON, testOpts())
		checkDecode(t, body, FormatAuto, testOpts())
	})
}

func FuzzDecodeNDJSON(f *testing.F) {
	addSeeds(f, func(string) bool { return true })
	f.Fuzz(func(t *testing.T, body []byte) {
		opts := testOpts()
		opts.MaxPoints = 50
		checkDecode(t, body, FormatNDJSON, opts)
	})
}

func FuzzDecodeNamed(f *testing.F) {
	addSeeds(f, func(b string) bool { return strings.Contains(b, `"fields"`) })
	f.Add([]byte(`{"fields":{"route":"/r","path":"/p","method":"GET","latency_ms":1.5,"status":200,"timestamp":"2025-05-31T12:00:00Z"}}`))
	f.Add([]byte(`[{"fields":{"blob20":"x","double20":1e3}},{"fields":{"index":null,"path":null}}]`))
	f.Add([]byte("{\"fields\":{\"path\":\"a\"}}\n{\"dataset\":\"other\",\"fields\":{}}\n{\"fields\":{\"status\":\"x\"}}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, body, FormatJSON, *withDataset("requests"))
		checkDecode(t, body, FormatNDJSON, *withDataset("requests"))
		checkDecode(t, body, FormatAuto, testOpts())
	})
}

// checkDecode decodes body and checks the result.
func checkDecode(t *testing.T, body []byte, format Format, opts DecodeOptions) {
	t.Helper()
	orig := bytes.Clone(body)
	pts, rej, err := Decode(body, format, opts)
	if !bytes.Equal(body, orig) {
		t.Fatal("Decode modified the body")
	}
	if err != nil {
		checkBodyError(t, body, err, pts, rej)
	}
	total := len(pts) + len(rej)
	if opts.MaxPoints > 0 && total > opts.MaxPoints {
		t.Fatalf("%d points and rejections, over MaxPoints %d", total, opts.MaxPoints)
	}
	prev := -1
	for _, r := range rej {
		if r.Position <= prev || r.Position >= total {
			t.Fatalf("rejection positions %+v are not strictly increasing within [0, %d)", rej, total)
		}
		if r.Error == "" {
			t.Fatalf("rejection %d has no message", r.Position)
		}
		prev = r.Position
	}
	for i := range pts {
		checkPoint(t, &pts[i], opts)
	}
	text := bytes.TrimPrefix(body, []byte("\uFEFF"))
	switch {
	case format == FormatNDJSON:
		checkNDJSON(t, text, pts, rej, err, opts)
	case format == FormatJSON:
		checkJSON(t, text, pts, rej, err, opts)
	}
}

func checkBodyError(t *testing.T, body []byte, err error, pts []Point, rej []Rejection) {
	t.Helper()
	if pts != nil || rej != nil {
		t.Fatalf("error %v with points %v and rejections %v", err, pts, rej)
	}
	var se *SyntaxError
	var tm *TooManyPointsError
	switch {
	case errors.Is(err, ErrEmptyBody):
		if len(bytes.Trim(bytes.TrimPrefix(body, []byte("\uFEFF")), " \t\r\n")) != 0 {
			t.Fatalf("ErrEmptyBody for a body that is not blank")
		}
	case errors.As(err, &se):
		if se.Offset < 0 || se.Offset > len(body) || se.Line < 1 || se.Column < 1 || se.Msg == "" {
			t.Fatalf("syntax error out of the body: %#v", se)
		}
	case errors.As(err, &tm):
	default:
		t.Fatalf("error of unexpected type %T: %v", err, err)
	}
}

func checkPoint(t *testing.T, p *Point, opts DecodeOptions) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("accepted point does not validate: %v: %+v", err, *p)
	}
	if opts.Dataset != "" && p.Dataset != opts.Dataset {
		t.Fatalf("point of dataset %q accepted for URL dataset %q", p.Dataset, opts.Dataset)
	}
	if p.Timestamp != opts.Now && (p.Timestamp < opts.MinTimestamp || p.Timestamp > opts.MaxTimestamp) {
		t.Fatalf("timestamp %d outside [%d, %d] accepted", p.Timestamp, opts.MinTimestamp, opts.MaxTimestamp)
	}
	if cap(p.Blobs) != len(p.Blobs) || cap(p.Doubles) != len(p.Doubles) {
		t.Fatalf("point slices have spare capacity: appending would overwrite another point")
	}
}

// accepted maps accepted points back to their positions.
func acceptedPositions(pts []Point, rej []Rejection) map[int]int {
	m := map[int]int{}
	r, k := 0, 0
	for pos := 0; pos < len(pts)+len(rej); pos++ {
		if r < len(rej) && rej[r].Position == pos {
			r++
			continue
		}
		m[pos] = k
		k++
	}
	return m
}

func checkJSON(t *testing.T, text []byte, pts []Point, rej []Rejection, err error, opts DecodeOptions) {
	t.Helper()
	if !json.Valid(text) {
		if err == nil {
			t.Fatalf("invalid JSON accepted as a body: %d points, rejections %v", len(pts), rej)
		}
		return
	}
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	var elems []json.RawMessage
	switch trimmed[0] {
	case '[':
		if jerr := json.Unmarshal(trimmed, &elems); jerr != nil {
			t.Fatal(jerr)
		}
	case '{':
		elems = []json.RawMessage{trimmed}
	default:
		if err == nil {
			t.Fatalf("a JSON %s accepted as a body", typeName(trimmed[0]))
		}
		return
	}
	var tm *TooManyPointsError
	if errors.As(err, &tm) && len(elems) > opts.MaxPoints {
		return
	}
	if err != nil {
		t.Fatalf("valid JSON not read: %v", err)
	}
	if n := len(pts) + len(rej); n != len(elems) {
		t.Fatalf("%d points and rejections for %d elements", n, len(elems))
	}
	for pos, k := range acceptedPositions(pts, rej) {
		checkAgainstRef(t, elems[pos], &pts[k], opts)
	}
}

func checkNDJSON(t *testing.T, text []byte, pts []Point, rej []Rejection, err error, opts DecodeOptions) {
	t.Helper()
	var lines [][]byte
	for line := range bytes.SplitSeq(text, []byte("\n")) {
		if len(bytes.Trim(line, " \t\r")) > 0 {
			lines = append(lines, line)
		}
	}
	var tm *TooManyPointsError
	switch {
	case len(lines) == 0:
		if !errors.Is(err, ErrEmptyBody) {
			t.Fatalf("blank NDJSON body: error %v, want ErrEmptyBody", err)
		}
		return
	case errors.As(err, &tm) && len(lines) > opts.MaxPoints:
		return
	case err != nil:
		t.Fatalf("NDJSON body not read: %v", err)
	}
	if n := len(pts) + len(rej); n != len(lines) {
		t.Fatalf("%d points and rejections for %d non-blank lines", n, len(lines))
	}
	acc := acceptedPositions(pts, rej)
	ri := 0
	for pos, line := range lines {
		valid := json.Valid(line)
		if k, ok := acc[pos]; ok {
			if !valid {
				t.Fatalf("line %q is not JSON but was accepted", line)
			}
			checkAgainstRef(t, line, &pts[k], opts)
			continue
		}
		msg := rej[ri].Error
		ri++
		if valid && strings.Contains(msg, "invalid JSON") {
			t.Fatalf("valid JSON line %q rejected as a syntax error: %s", line, msg)
		}
		if !valid && !strings.Contains(msg, "invalid JSON") && !strings.Contains(msg, "expected a point object") {
			t.Fatalf("invalid JSON line %q rejected without saying so: %s", line, msg)
		}
	}
}

// refPoint reads a point object with encoding/json, for comparison.
type refPoint struct {
	Dataset   *string                    `json:"dataset"`
	Timestamp json.RawMessage            `json:"timestamp"`
	Index     *string                    `json:"index"`
	Indexes   []*string                  `json:"indexes"`
	Blobs     []*string                  `json:"blobs"`
	Doubles   []*float64                 `json:"doubles"`
	Fields    map[string]json.RawMessage `json:"fields"`
}

// checkAgainstRef compares an accepted point with what encoding/json reads
// from its object.
func checkAgainstRef(t *testing.T, raw []byte, p *Point, opts DecodeOptions) {
	t.Helper()
	var r refPoint
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("accepted point %s, which encoding/json does not read: %v", raw, err)
	}
	want := Point{Dataset: opts.Dataset, Timestamp: opts.Now}
	if want.Dataset == "" {
		want.Dataset = *r.Dataset
	}
	want.Timestamp = refTimestamp(t, r.Timestamp, want.Timestamp)
	if r.Index != nil {
		want.Index = *r.Index
	}
	if len(r.Indexes) == 1 && r.Indexes[0] != nil {
		want.Index = *r.Indexes[0]
	}
	if r.Fields == nil {
		for _, b := range r.Blobs {
			want.Blobs = append(want.Blobs, deref(b))
		}
		for _, d := range r.Doubles {
			want.Doubles = append(want.Doubles, deref(d))
		}
	} else {
		refFields(t, r.Fields, &want, opts)
	}
	if !equalPoints(*p, want) {
		t.Fatalf("point read from %s:\n got  %#v\n want %#v (encoding/json)", raw, *p, want)
	}
}

func refFields(t *testing.T, fields map[string]json.RawMessage, want *Point, opts DecodeOptions) {
	sch := opts.Schema(want.Dataset)
	for name, raw := range fields {
		f, err := sch.Resolve(name)
		if err != nil {
			t.Fatalf("accepted point with unknown field %q", name)
		}
		switch f.Kind {
		case KindIndex:
			var s *string
			mustUnmarshal(t, raw, &s)
			if s != nil {
				want.Index = *s
			}
		case KindTimestamp:
			want.Timestamp = refTimestamp(t, raw, want.Timestamp)
		case KindBlob:
			var s *string
			if mustUnmarshal(t, raw, &s); s != nil {
				for len(want.Blobs) < f.Pos {
					want.Blobs = append(want.Blobs, "")
				}
				want.Blobs[f.Pos-1] = *s
			}
		case KindDouble:
			var d *float64
			if mustUnmarshal(t, raw, &d); d != nil {
				for len(want.Doubles) < f.Pos {
					want.Doubles = append(want.Doubles, 0)
				}
				want.Doubles[f.Pos-1] = *d
			}
		default:
			t.Fatalf("accepted point sets %s", name)
		}
	}
}

func refTimestamp(t *testing.T, raw json.RawMessage, def int64) int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return def
	}
	var v any
	mustUnmarshal(t, raw, &v)
	switch v := v.(type) {
	case string:
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatalf("accepted timestamp %q: %v", v, err)
		}
		return tm.UnixMilli()
	case float64:
		var n json.Number
		mustUnmarshal(t, raw, &n)
		if i, err := n.Int64(); err == nil {
			return i
		}
		if v != math.Trunc(v) {
			t.Fatalf("accepted timestamp %s", raw)
		}
		return int64(v)
	}
	t.Fatalf("accepted timestamp %s", raw)
	return 0
}

func mustUnmarshal(t *testing.T, raw []byte, v any) {
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("encoding/json reads %s: %v", raw, err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func equalPoints(a, b Point) bool {
	if a.Dataset != b.Dataset || a.Timestamp != b.Timestamp || a.Index != b.Index || a.SampleInterval != b.SampleInterval ||
		len(a.Blobs) != len(b.Blobs) || len(a.Doubles) != len(b.Doubles) {
		return false
	}
	for i := range a.Blobs {
		if a.Blobs[i] != b.Blobs[i] {
			return false
		}
	}
	for i := range a.Doubles {
		if a.Doubles[i] != b.Doubles[i] {
			return false
		}
	}
	return true
}
