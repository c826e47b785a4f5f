package clickhouse

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Reading answers. Execute, ScanRange and ScanDay read FORMAT TabSeparated
// rather than JSON: it is byte-exact for strings (JSON would have to be
// valid UTF-8 to pass encoding/json unharmed), has a NULL of its own (\N),
// streams row by row, and ClickHouse prints a Float64 in it as the shortest
// decimal that reads back to the same bits, as in JSON.

// tsvReader reads the rows of a TabSeparated answer one at a time. The
// fields of a row point into a buffer that the next row reuses.
type tsvReader struct {
	r      *bufio.Reader
	line   []byte
	fields [][]byte
	nulls  []bool
	row    int // rows read so far
}

func newTSVReader(r io.Reader) *tsvReader {
	return &tsvReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads the next row and unescapes its fields. It returns false at the
// end of the answer; a last line without its newline is a row too.
func (t *tsvReader) next() (bool, error) {
	t.line = t.line[:0]
	for {
		chunk, err := t.r.ReadSlice('\n')
		t.line = append(t.line, chunk...)
		if err == nil {
			t.line = t.line[:len(t.line)-1]
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(t.line) == 0 {
				return false, nil
			}
			break
		}
		return false, err
	}
	t.row++
	if err := t.split(); err != nil {
		return false, fmt.Errorf("row %d: %w", t.row, err)
	}
	return true, nil
}

// split cuts t.line at its tabs and unescapes each field in place.
func (t *tsvReader) split() error {
	t.fields, t.nulls = t.fields[:0], t.nulls[:0]
	rest := t.line
	for {
		i := bytes.IndexByte(rest, '\t')
		f := rest
		if i >= 0 {
			f = rest[:i]
		}
		if len(f) == 2 && f[0] == '\\' && f[1] == 'N' {
			t.fields, t.nulls = append(t.fields, nil), append(t.nulls, true)
		} else {
			u, err := unescapeTSV(f)
			if err != nil {
				return fmt.Errorf("field %d: %w", len(t.fields)+1, err)
			}
			t.fields, t.nulls = append(t.fields, u), append(t.nulls, false)
		}
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	}
}

// unescapeTSV undoes ClickHouse's TabSeparated escaping of a field in place
// (an escape is never shorter than what it stands for). An unknown escape
// is an error rather than a guess.
func unescapeTSV(f []byte) ([]byte, error) {
	i := bytes.IndexByte(f, '\\')
	if i < 0 {
		return f, nil
	}
	out := f[:i]
	for ; i < len(f); i++ {
		c := f[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i == len(f) {
			return nil, errors.New("a backslash at the end of a field")
		}
		switch e := f[i]; e {
		case '\\', '\'', '"', '/', '`':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'a':
			out = append(out, '\a')
		case 'v':
			out = append(out, '\v')
		case '0':
			out = append(out, 0)
		case 'x':
			if i+2 >= len(f) {
				return nil, errors.New(`a truncated \x escape`)
			}
			v, err := strconv.ParseUint(string(f[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, fmt.Errorf(`a bad \x escape %q`, f[i-1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf(`an unknown escape \%c`, e)
		}
	}
	return out, nil
}

// parseFloat reads a Float64 as ClickHouse prints it: the shortest decimal
// that reads back exactly, or nan, inf, -inf (and -nan, +inf).
func parseFloat(b []byte) (float64, error) {
	switch string(b) {
	case "nan", "-nan", "+nan":
		return math.NaN(), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "":
		return 0, errors.New("an empty number")
	}
	// ParseFloat also takes "Inf", "0x1p-2" and "1_000"; ClickHouse prints
	// none of them, so a letter other than e is refused.
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, fmt.Errorf("%q is not a number", b)
		}
	}
	return strconv.ParseFloat(string(b), 64)
}

// chString prints s as a ClickHouse string literal. Quotes, backslashes,
// control characters and every byte outside printable ASCII are written as
// \xHH, so the literal is ASCII whatever s holds and ends where it should.
func chString(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
			const hex = "0123456789ABCDEF"
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(append(b, '\''))
}

// chFloat prints a finite v as a ClickHouse expression of type Float64 with
// exactly v's bits. 18.16's parser reads a literal with strtod (exact) but
// refuses a subnormal one (ERANGE), so a subnormal is written as its bytes.
// NaN and infinities are refused: no filter value is one.
func chFloat(v float64) (string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", fmt.Errorf("the number %v cannot be a filter value", v)
	}
	if v != 0 && math.Abs(v) < 0x1p-1022 {
		var le [8]byte
		binary.LittleEndian.PutUint64(le[:], math.Float64bits(v))
		return fmt.Sprintf("reinterpretAsFloat64(unhex('%X'))", le[:]), nil
	}
	// Always with an exponent, so that ClickHouse reads a Float64 and not
	// an integer type.
	return strconv.FormatFloat(v, 'e', -1, 64), nil
}
