package point

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wirePoint is a point as a writer would marshal it with encoding/json.
type wirePoint struct {
	Dataset   string    `json:"dataset"`
	Timestamp *int64    `json:"timestamp,omitempty"`
	Index     *string   `json:"index,omitempty"`
	Blobs     []string  `json:"blobs,omitempty"`
	Doubles   []float64 `json:"doubles,omitempty"`
}

// randString returns a valid UTF-8 string that exercises the escapes of
// encoding/json: quotes, backslashes, control characters, HTML characters,
// U+2028, and multi-byte and astral runes.
func randString(r *rand.Rand, maxLen int) string {
	pieces := []string{"a", "Z", "0", " ", `"`, `\`, "/", "\n", "\t", "\x00", "\x1f", "\x7f", "<", ">", "&", "é", "中", "😀", "\u2028", "\uFFFD", "\U0010FFFF", "abcdefgh", "/api/v1/items"}
	var b strings.Builder
	for n := r.IntN(maxLen + 1); b.Len() < n; {
		if r.IntN(4) == 0 {
			b.WriteRune(rune(r.IntN(0x10FFFF)))
			continue
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	s := strings.ToValidUTF8(b.String(), "\uFFFD") // random runes may be surrogates
	return s
}

func randDouble(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return float64(r.IntN(1000))
	case 1:
		return float64(r.IntN(1e6)) / 100
	case 2:
		return -r.Float64() * 1e3
	case 3:
		return float64(r.Int64())
	case 4:
		return math.Float64frombits(r.Uint64() &^ (0x7ff << 52) >> 1) // small magnitudes and subnormals
	}
	for {
		if f := math.Float64frombits(r.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
}

func randWirePoint(r *rand.Rand) (wirePoint, Point) {
	datasets := []string{"requests", "logs", "a", "x_1"}
	w := wirePoint{Dataset: datasets[r.IntN(len(datasets))]}
	p := Point{Dataset: w.Dataset, Timestamp: testNow}
	if r.IntN(2) == 0 {
		ts := testNow - r.Int64N(30*day)
		w.Timestamp, p.Timestamp = &ts, ts
	}
	if r.IntN(2) == 0 {
		idx := randString(r, 40)
		w.Index, p.Index = &idx, idx
	}
	total := 0
	for range r.IntN(MaxBlobs + 1) {
		s := randString(r, 200)
		if total += len(s); total > MaxBlobBytes {
			break
		}
		w.Blobs = append(w.Blobs, s)
	}
	for range r.IntN(MaxDoubles + 1) {
		w.Doubles = append(w.Doubles, randDouble(r))
	}
	p.Blobs, p.Doubles = w.Blobs, w.Doubles
	return w, p
}

// TestDecodeDifferential decodes random valid points marshalled by
// encoding/json, as an array, as NDJSON and indented, and expects the very
// values that were marshalled.
func TestDecodeDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 50 {
		n := 1 + r.IntN(200)
		wire := make([]wirePoint, n)
		want := make([]Point, n)
		for i := range wire {
			wire[i], want[i] = randWirePoint(r)
		}
		var ndjson bytes.Buffer
		enc := json.NewEncoder(&ndjson)
		enc.SetEscapeHTML(round%2 == 0)
		for _, w := range wire {
			if err := enc.Encode(w); err != nil {
				t.Fatal(err)
			}
		}
		indented, err := json.MarshalIndent(wire, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			body   []byte
			format Format
		}{
			{"array", []byte(jsonOf(wire)), FormatJSON},
			{"indented", indented, FormatAuto},
			{"ndjson", ndjson.Bytes(), FormatNDJSON},
			{"ndjson auto", ndjson.Bytes(), FormatAuto},
		} {
			pts, rej, err := Decode(c.body, c.format, testOpts())
			if err != nil || len(rej) > 0 {
				t.Fatalf("round %d %s: rejections %v, error %v", round, c.name, rej, err)
			}
			if !reflect.DeepEqual(pts, want) {
				for i := range min(len(pts), len(want)) {
					if !reflect.DeepEqual(pts[i], want[i]) {
						t.Fatalf("round %d %s point %d:\n got  %#v\n want %#v\n from %s", round, c.name, i, pts[i], want[i], jsonOf(wire[i]))
					}
				}
				t.Fatalf("round %d %s: %d points, want %d", round, c.name, len(pts), len(want))
			}
		}
	}
}

// TestDecodeStringsDifferential compares the decoding of random string
// literals, built from escapes (including unpaired and paired surrogates),
// with encoding/json's.
func TestDecodeStringsDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	pieces := []string{`a`, `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u0000`, `\u00e9`, `\u4E2D`, `\ud83d`, `\ude00`, `\uD800`, `\uDBFF`, `\uDC00`, `\uDFFF`, `\uFFFD`, `é`, `😀`, `\u0041`}
	for range 20000 {
		var lit strings.Builder
		lit.WriteByte('"')
		for range r.IntN(8) {
			lit.WriteString(pieces[r.IntN(len(pieces))])
		}
		lit.WriteByte('"')
		var want string
		if err := json.Unmarshal([]byte(lit.String()), &want); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", lit.String(), err)
		}
		d := decoder{s: lit.String()}
		got, ok := d.str()
		if !ok || got != want || d.i != len(d.s) {
			t.Fatalf("str(%s) = %q, %v (at %d); encoding/json gives %q", lit.String(), got, ok, d.i, want)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("str(%s) = %q is not valid UTF-8", lit.String(), got)
		}
	}
}

// TestDecodeNumbersDifferential compares number conversion with
// strconv.ParseFloat, whose results encoding/json uses.
func TestDecodeNumbersDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	for range 200000 {
		var tok string
		switch r.IntN(3) {
		case 0:
			tok = strconv.FormatFloat(randDouble(r), 'g', -1, 64)
		case 1:
			tok = strconv.FormatFloat(randDouble(r), 'f', -1, 64)
		default:
			tok = strconv.Itoa(1+r.IntN(9)) + digits(r.IntN(20))
			if r.IntN(2) == 0 {
				tok += "." + digits(1+r.IntN(20))
			}
			if r.IntN(2) == 0 {
				tok += "e" + []string{"", "+", "-"}[r.IntN(3)] + strconv.Itoa(r.IntN(40))
			}
			if r.IntN(2) == 0 {
				tok = "-" + tok
			}
		}
		want, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			t.Fatalf("ParseFloat(%s): %v", tok, err)
		}
		if got := mustNumber(t, tok); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("number(%s) = %v, want %v", tok, got, want)
		}
	}
}
