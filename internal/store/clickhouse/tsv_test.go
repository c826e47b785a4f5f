package clickhouse

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/point"
)

// appendTSVString escapes s as ClickHouse's TabSeparated output does
// (backslash, tab, newline, carriage return, NUL, and some others), for
// the tests of the reader.
func appendTSVString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
			b = append(b, '\\', '0')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\'':
			b = append(b, '\\', '\'')
		default:
			b = append(b, c)
		}
	}
	return b
}

// readAll reads every row of a TabSeparated text; nil stands for NULL.
func readAll(text string) ([][]*string, error) {
	t := newTSVReader(strings.NewReader(text))
	var rows [][]*string
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return rows, err
		}
		row := make([]*string, len(t.fields))
		for i, f := range t.fields {
			if !t.nulls[i] {
				s := string(f)
				row[i] = &s
			}
		}
		rows = append(rows, row)
	}
}

func TestTSVReader(t *testing.T) {
	rows, err := readAll("a\\tb\tc\\\\d\\\\N\t\\N\n\n\\x41\\'\\0e\\be\\fx\nlast")
	if err != nil {
		t.Fatal(err)
	}
	str := func(r []*string) []string {
		out := make([]string, len(r))
		for i, s := range r {
			if s == nil {
				out[i] = "<NULL>"
			} else {
				out[i] = *s
			}
		}
		return out
	}
	want := [][]string{{"a\tb", "c\\d\\N", "<NULL>"}, {""}, {"A'\x00e\be\fx"}, {"last"}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows; want %d", len(rows), len(want))
	}
	for i := range want {
		if got := str(rows[i]); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q; want %q", i, got, want[i])
		}
	}
	for _, bad := range []string{"a\\", "a\\q", "\\x4", "\\xZZ"} {
		if _, err := readAll(bad + "\n"); err == nil {
			t.Errorf("readAll(%q) = nil error; want one", bad)
		}
	}
	// A row longer than the reader's buffer.
	long := strings.Repeat("x", 200<<10)
	if rows, err := readAll(long + "\t1\n"); err != nil || len(rows) != 1 || *rows[0][0] != long || *rows[0][1] != "1" {
		t.Errorf("a %d-byte row did not read back", len(long))
	}
}

func TestParseFloat(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "-0": math.Copysign(0, -1), "1.5": 1.5, "5e-324": 5e-324, "1e22": 1e22,
		"inf": math.Inf(1), "-inf": math.Inf(-1), "0.30000000000000004": 0.30000000000000004} {
		got, err := parseFloat([]byte(in))
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("parseFloat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseFloat([]byte("nan")); err != nil || !math.IsNaN(got) {
		t.Errorf("parseFloat(nan) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "Inf", "0x1p3", "1_0", "NaN"} {
		if _, err := parseFloat([]byte(bad)); err == nil {
			t.Errorf("parseFloat(%q) = nil error; want one", bad)
		}
	}
}

func TestLiterals(t *testing.T) {
	if got := chString("a'b\\c\n\x00é"); got != `'a\x27b\x5Cc\x0A\x00\xC3\xA9'` {
		t.Errorf("chString = %s", got)
	}
	for v, want := range map[float64]string{1.5: "1.5e+00", -200: "-2e+02", 0: "0e+00", 5e-324: "reinterpretAsFloat64(unhex('0100000000000000'))",
		2.2250738585072014e-308: "2.2250738585072014e-308"} {
		if got, err := chFloat(v); err != nil || got != want {
			t.Errorf("chFloat(%v) = %s, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := chFloat(v); err == nil {
			t.Errorf("chFloat(%v) = nil error; want one", v)
		}
	}
}

// FuzzTSVReader: any answer reads without panicking, and fields escaped as
// ClickHouse escapes them read back as they were.
func FuzzTSVReader(f *testing.F) {
	f.Add("a\tb\n\\N\tc", "x\ty", "")
	f.Add("\\x41\\'", "\\", "\x00\n\r")
	f.Fuzz(func(t *testing.T, raw, a, b string) {
		readAll(raw)
		line := appendTSVString(nil, a)
		line = append(line, '\t')
		line = appendTSVString(line, b)
		rows, err := readAll(string(line) + "\n")
		if err != nil {
			t.Fatalf("escaped %q, %q: %v", a, b, err)
		}
		if len(rows) != 1 || len(rows[0]) != 2 {
			t.Fatalf("escaped %q, %q: read %d rows", a, b, len(rows))
		}
		// "\N" alone is NULL in ClickHouse's output; an escaped
		// backslash followed by N is not.
		if rows[0][0] == nil || *rows[0][0] != a || rows[0][1] == nil || *rows[0][1] != b {
			t.Fatalf("escaped %q, %q: read back %v", a, b, rows[0])
		}
	})
}

// FuzzParseFloat: what parseFloat takes is a number that prints back to
// the same value.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"1.5", "-0", "5e-324", "inf", "nan", "1e400", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseFloat([]byte(s))
		if err != nil || math.IsNaN(v) {
			return
		}
		if w, err := parseFloat([]byte(formatForTest(v))); err != nil || math.Float64bits(w) != math.Float64bits(v) {
			t.Fatalf("parseFloat(%q) = %v, which does not read back: %v, %v", s, v, w, err)
		}
	})
}

func formatForTest(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func TestWriteRow(t *testing.T) {
	var buf bytes.Buffer
	p := point.Point{Dataset: "ds", Timestamp: 1772323200123, Index: "i", Blobs: []string{"", strings.Repeat("b", 200)}, Doubles: []float64{5e-324}}
	if err := writeRow(&buf, 7, &p); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	want := binary.LittleEndian.AppendUint64(nil, 7)
	want = append(want, 2, 'd', 's')
	want = binary.LittleEndian.AppendUint32(want, 1772323200)
	want = binary.LittleEndian.AppendUint16(want, 123)
	want = binary.LittleEndian.AppendUint32(want, 1) // SampleInterval 0 is weight 1
	want = append(want, 1, 'i', 0, 200, 1)           // index1, blob1 "", blob2's length 200 as LEB128
	want = append(want, strings.Repeat("b", 200)...)
	for range point.MaxBlobs - 2 {
		want = append(want, 0)
	}
	want = append(want, 1, 0, 0, 0, 0, 0, 0, 0) // 5e-324
	want = append(want, make([]byte, 8*(point.MaxDoubles-1))...)
	if !bytes.Equal(b, want) {
		t.Fatalf("writeRow =\n%x\nwant\n%x", b, want)
	}
	for _, bad := range []point.Point{{Dataset: "d", Timestamp: -1}, {Timestamp: 5}, {Dataset: "d", Timestamp: maxTimestamp}} {
		if err := writeRow(&buf, 1, &bad); err == nil {
			t.Errorf("writeRow(%+v) = nil; want an error", bad)
		}
	}
}
