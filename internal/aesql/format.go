package aesql

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Output formats beyond api.go's JSON, JSONEachRow and TabSeparated, written
// as current ClickHouse writes them.
const (
	FormatJSONCompact                   Format = "JSONCompact"
	FormatJSONCompactEachRow            Format = "JSONCompactEachRow"
	FormatTabSeparatedWithNames         Format = "TabSeparatedWithNames"
	FormatTabSeparatedWithNamesAndTypes Format = "TabSeparatedWithNamesAndTypes"
	FormatCSV                           Format = "CSV"
	FormatCSVWithNames                  Format = "CSVWithNames"
	FormatCSVWithNamesAndTypes          Format = "CSVWithNamesAndTypes"
)

// Formats lists the output formats, in the order error hints name them.
var Formats = []Format{
	FormatJSON, FormatJSONCompact, FormatJSONEachRow, FormatJSONCompactEachRow,
	FormatTabSeparated, FormatTabSeparatedWithNames, FormatTabSeparatedWithNamesAndTypes,
	FormatCSV, FormatCSVWithNames, FormatCSVWithNamesAndTypes,
}

// formatAliases are ClickHouse's other names of formats.
var formatAliases = map[string]Format{
	"tsv":                  FormatTabSeparated,
	"tsvwithnames":         FormatTabSeparatedWithNames,
	"tsvwithnamesandtypes": FormatTabSeparatedWithNamesAndTypes,
}

// ParseFormat resolves a format name (a FORMAT clause's or a client's
// default_format), ignoring ASCII case; TSV, TSVWithNames and
// TSVWithNamesAndTypes are ClickHouse's aliases of the TabSeparated ones.
func ParseFormat(name string) (Format, bool) {
	low := asciiLower(name)
	for _, f := range Formats {
		if asciiLower(string(f)) == low {
			return f, true
		}
	}
	f, ok := formatAliases[low]
	return f, ok
}

// FormatNames names the formats for messages: "JSON, JSONCompact, … or
// CSVWithNamesAndTypes".
func FormatNames() string {
	names := formatStrings()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func formatStrings() []string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return names
}

// Result is an answer ready to be written in a format.
type Result struct {
	Columns []Column
	Rows    [][]any
	// RowsBeforeLimit is ClickHouse's rows_before_limit_at_least: the rows
	// the query has without its LIMIT and OFFSET (at least; see
	// Plan.CountSQL). JSON always writes it, never below len(Rows).
	RowsBeforeLimit int64
	// Totals is the totals row of GROUP BY ... WITH TOTALS, one value per
	// column typed like a row's; nil when the query has no totals. The
	// formats write it where ClickHouse does: "totals" after "data" in
	// JSON and JSONCompact, after an empty line in TabSeparated* and CSV*;
	// JSONEachRow and JSONCompactEachRow drop it, as ClickHouse does.
	Totals []any
}

// WriteResult writes r in format f, rendering every value by its column's
// ClickHouse type the way ClickHouse does: 64-bit integers as JSON strings,
// DateTime as "YYYY-MM-DD hh:mm:ss" (UTC; DateTime('tz') in the zone, see
// Plan.Row), Date as "YYYY-MM-DD", non-finite
// floats as null in JSON and inf/nan in TabSeparated and CSV, NULL as null
// or \N.
func WriteResult(w io.Writer, f Format, r *Result) error {
	if r.Totals != nil && len(r.Totals) != len(r.Columns) {
		return fmt.Errorf("BUG: totals have %d values for %d columns", len(r.Totals), len(r.Columns))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatJSON, "":
		err = writeJSON(bw, r, false)
	case FormatJSONCompact:
		err = writeJSON(bw, r, true)
	case FormatJSONEachRow:
		err = writeJSONEachRow(bw, r)
	case FormatJSONCompactEachRow:
		err = writeJSONCompactEachRow(bw, r)
	case FormatTabSeparated:
		err = writeTSV(bw, r, false, false)
	case FormatTabSeparatedWithNames:
		err = writeTSV(bw, r, true, false)
	case FormatTabSeparatedWithNamesAndTypes:
		err = writeTSV(bw, r, true, true)
	case FormatCSV:
		err = writeCSV(bw, r, false, false)
	case FormatCSVWithNames:
		err = writeCSV(bw, r, true, false)
	case FormatCSVWithNamesAndTypes:
		err = writeCSV(bw, r, true, true)
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// ContentType returns the HTTP content type ClickHouse gives a format.
func ContentType(f Format) string {
	switch f {
	case FormatJSONEachRow:
		return "application/x-ndjson; charset=UTF-8"
	case FormatJSONCompactEachRow:
		return "text/plain; charset=UTF-8"
	case FormatTabSeparated, FormatTabSeparatedWithNames, FormatTabSeparatedWithNamesAndTypes:
		return "text/tab-separated-values; charset=UTF-8"
	case FormatCSV:
		return "text/csv; charset=UTF-8; header=absent"
	case FormatCSVWithNames, FormatCSVWithNamesAndTypes:
		return "text/csv; charset=UTF-8; header=present"
	}
	return "application/json; charset=UTF-8"
}

// writeJSON writes JSON, or JSONCompact (rows as arrays) when compact.
func writeJSON(w *bufio.Writer, r *Result, compact bool) error {
	w.WriteString("{\"meta\":[")
	for i, c := range r.Columns {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("{\"name\":")
		writeJSONString(w, c.Name)
		w.WriteString(",\"type\":")
		writeJSONString(w, c.Type)
		w.WriteByte('}')
	}
	row := writeJSONRow
	if compact {
		row = writeJSONArrayRow
	}
	w.WriteString("],\"data\":[")
	for i, vals := range r.Rows {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := row(w, r.Columns, vals); err != nil {
			return err
		}
	}
	w.WriteByte(']')
	if r.Totals != nil {
		w.WriteString(",\"totals\":")
		if err := row(w, r.Columns, r.Totals); err != nil {
			return fmt.Errorf("totals: %w", err)
		}
	}
	fmt.Fprintf(w, ",\"rows\":%d,\"rows_before_limit_at_least\":%d}\n", len(r.Rows), max(r.RowsBeforeLimit, int64(len(r.Rows))))
	return nil
}

// writeJSONArrayRow writes a row as JSONCompact and JSONCompactEachRow do:
// an array of the values, ", " between them.
func writeJSONArrayRow(w *bufio.Writer, cols []Column, row []any) error {
	if len(row) != len(cols) {
		return fmt.Errorf("BUG: row has %d values for %d columns", len(row), len(cols))
	}
	w.WriteByte('[')
	for i, c := range cols {
		if i > 0 {
			w.WriteString(", ")
		}
		if err := writeJSONValue(w, c.Type, row[i]); err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	w.WriteByte(']')
	return nil
}

func writeJSONCompactEachRow(w *bufio.Writer, r *Result) error {
	for _, row := range r.Rows {
		if err := writeJSONArrayRow(w, r.Columns, row); err != nil {
			return err
		}
		w.WriteByte('\n')
	}
	return nil
}

func writeJSONEachRow(w *bufio.Writer, r *Result) error {
	for _, row := range r.Rows {
		if err := writeJSONRow(w, r.Columns, row); err != nil {
			return err
		}
		w.WriteByte('\n')
	}
	return nil
}

func writeJSONRow(w *bufio.Writer, cols []Column, row []any) error {
	if len(row) != len(cols) {
		return fmt.Errorf("BUG: row has %d values for %d columns", len(row), len(cols))
	}
	w.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			w.WriteByte(',')
		}
		writeJSONString(w, c.Name)
		w.WriteByte(':')
		if err := writeJSONValue(w, c.Type, row[i]); err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	w.WriteByte('}')
	return nil
}

// baseType strips Nullable(...) and LowCardinality(...).
func baseType(t string) string {
	for _, wrap := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(t, wrap) && strings.HasSuffix(t, ")") {
			t = t[len(wrap) : len(t)-1]
		}
	}
	return t
}

func is64BitInt(t string) bool {
	switch t {
	case "UInt64", "Int64", "UInt128", "Int128", "UInt256", "Int256":
		return true
	}
	return false
}

func writeJSONValue(w *bufio.Writer, typ string, v any) error {
	if v == nil {
		w.WriteString("null")
		return nil
	}
	t := baseType(typ)
	if elem, ok := arrayElem(t); ok {
		return writeArray(w, elem, v, func(it any) error { return writeJSONValue(w, elem, it) })
	}
	switch {
	case t == "String":
		writeJSONString(w, toText(v))
	case isTimeType(t):
		s, err := formatTime(t, v)
		if err != nil {
			return err
		}
		writeJSONString(w, s)
	case t == "Float64" || t == "Float32":
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			w.WriteString("null")
		} else {
			w.WriteString(formatFloat(f))
		}
	case strings.HasPrefix(t, "UInt") || strings.HasPrefix(t, "Int") || t == "Bool":
		s, err := intText(v)
		if err != nil {
			return err
		}
		if t == "Bool" {
			w.WriteString(map[bool]string{true: "true", false: "false"}[s != "0"])
		} else if is64BitInt(t) {
			w.WriteByte('"')
			w.WriteString(s)
			w.WriteByte('"')
		} else {
			w.WriteString(s)
		}
	default:
		writeJSONString(w, toText(v))
	}
	return nil
}

// writeJSONString writes s as ClickHouse's JSON formats do: '/' escaped as
// \/, U+2028 and U+2029 as \uXXXX, control characters escaped, and invalid
// UTF-8 replaced by U+FFFD.
func writeJSONString(w *bufio.Writer, s string) {
	const hex = "0123456789abcdef"
	w.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			w.WriteString("\ufffd")
		case r == '"':
			w.WriteString(`\"`)
		case r == '\\':
			w.WriteString(`\\`)
		case r == '/':
			w.WriteString(`\/`)
		case r == '\b':
			w.WriteString(`\b`)
		case r == '\f':
			w.WriteString(`\f`)
		case r == '\n':
			w.WriteString(`\n`)
		case r == '\r':
			w.WriteString(`\r`)
		case r == '\t':
			w.WriteString(`\t`)
		case r < 0x20:
			w.WriteString(`\u00`)
			w.WriteByte(hex[r>>4])
			w.WriteByte(hex[r&0xf])
		case r == 0x2028:
			w.WriteString(`\u2028`)
		case r == 0x2029:
			w.WriteString(`\u2029`)
		default:
			w.WriteString(s[i : i+size])
		}
		i += size
	}
	w.WriteByte('"')
}

func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, nil
	}
	return 0, fmt.Errorf("value %T is not a number", v)
}

// intText renders an integer-like value in decimal.
func intText(v any) (string, error) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int:
		return strconv.Itoa(x), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case *big.Int:
		return x.String(), nil
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'f', 0, 64), nil
		}
	}
	return "", fmt.Errorf("value %v (%T) is not an integer", v, v)
}

// isTimeType: Date, DateTime or DateTime('tz').
func isTimeType(t string) bool {
	return t == "Date" || t == "DateTime" || strings.HasPrefix(t, "DateTime(")
}

// formatTime spells a Date or DateTime value: a DateTime in UTC, a
// DateTime('tz') in the wall clock time of its Location (Plan.Row gives it
// the zone's offset).
func formatTime(t string, v any) (string, error) {
	tm, ok := v.(time.Time)
	if !ok {
		return "", fmt.Errorf("value %T is not a time", v)
	}
	switch {
	case t == "Date":
		return tm.UTC().Format("2006-01-02"), nil
	case t == "DateTime":
		tm = tm.UTC()
	}
	return tm.Format("2006-01-02 15:04:05"), nil
}

// writeTSV writes TabSeparated, with a line of the column names (names)
// and one of their types (types) first, and the totals after an empty line.
func writeTSV(w *bufio.Writer, r *Result, names, types bool) error {
	return writeDelimited(w, r, names, types, '\t',
		func(s string) { w.WriteString(escapeTSV(s, false)) },
		func(typ string, v any) error { return writeTSVValue(w, typ, v, false) })
}

// writeDelimited writes the formats of one line a row, values separated
// by sep (TabSeparated*, CSV*): the optional names and types lines, the
// rows, and the totals row after an empty line, as ClickHouse does.
func writeDelimited(w *bufio.Writer, r *Result, names, types bool, sep byte, header func(string), value func(typ string, v any) error) error {
	headerLine := func(text func(Column) string) {
		for i, c := range r.Columns {
			if i > 0 {
				w.WriteByte(sep)
			}
			header(text(c))
		}
		w.WriteByte('\n')
	}
	if names {
		headerLine(func(c Column) string { return c.Name })
	}
	if types {
		headerLine(func(c Column) string { return c.Type })
	}
	line := func(row []any) error {
		if len(row) != len(r.Columns) {
			return fmt.Errorf("BUG: row has %d values for %d columns", len(row), len(r.Columns))
		}
		for i, c := range r.Columns {
			if i > 0 {
				w.WriteByte(sep)
			}
			if err := value(c.Type, row[i]); err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
		}
		w.WriteByte('\n')
		return nil
	}
	for _, row := range r.Rows {
		if err := line(row); err != nil {
			return err
		}
	}
	if r.Totals != nil {
		w.WriteByte('\n')
		if err := line(r.Totals); err != nil {
			return fmt.Errorf("totals: %w", err)
		}
	}
	return nil
}

// writeTSVValue writes a value with ClickHouse's TabSeparated escaping;
// inside arrays strings are single-quoted.
func writeTSVValue(w *bufio.Writer, typ string, v any, inArray bool) error {
	if v == nil {
		if inArray {
			w.WriteString("NULL")
		} else {
			w.WriteString(`\N`)
		}
		return nil
	}
	t := baseType(typ)
	if elem, ok := arrayElem(t); ok {
		return writeArray(w, elem, v, func(it any) error { return writeTSVValue(w, elem, it, true) })
	}
	switch {
	case isTimeType(t):
		s, err := formatTime(t, v)
		if err != nil {
			return err
		}
		if inArray {
			s = "'" + s + "'"
		}
		w.WriteString(s)
	case t == "Float64" || t == "Float32":
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		switch {
		case math.IsNaN(f):
			w.WriteString("nan")
		case math.IsInf(f, 1):
			w.WriteString("inf")
		case math.IsInf(f, -1):
			w.WriteString("-inf")
		default:
			w.WriteString(formatFloat(f))
		}
	case strings.HasPrefix(t, "UInt") || strings.HasPrefix(t, "Int") || t == "Bool":
		s, err := intText(v)
		if err != nil {
			return err
		}
		if t == "Bool" {
			s = map[bool]string{true: "true", false: "false"}[s != "0"]
		}
		w.WriteString(s)
	default:
		s := toText(v)
		if inArray {
			w.WriteByte('\'')
			w.WriteString(escapeTSV(s, true))
			w.WriteByte('\'')
		} else {
			w.WriteString(escapeTSV(s, false))
		}
	}
	return nil
}

func escapeTSV(s string, quoted bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == 0:
			b.WriteString(`\0`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\'' && quoted:
			b.WriteString(`\'`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// formatFloat spells a finite float as ClickHouse does: the shortest digits
// that read back to the same value, in plain decimal when the scientific
// exponent is in [-6, 21), else as mantissa and exponent without a '+' or
// leading zeros (1e21, 1.5e-7).
func formatFloat(f float64) string {
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.IndexByte(sci, 'e')
	exp, err := strconv.Atoi(sci[i+1:])
	if err != nil {
		panic("BUG: strconv wrote an exponent it cannot read: " + sci)
	}
	if exp >= -6 && exp < 21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return sci[:i] + "e" + strconv.Itoa(exp)
}

// arrayElem returns the element type of an Array(T) type.
func arrayElem(t string) (string, bool) {
	elem, ok := strings.CutPrefix(t, "Array(")
	return strings.TrimSuffix(elem, ")"), ok
}

// writeArray writes v, which must be a []any, as [a,b,…] with each item
// written by item; ClickHouse's JSON and TabSeparated formats spell arrays
// this way (CSV quotes TabSeparated's spelling).
func writeArray(w *bufio.Writer, elem string, v any, item func(any) error) error {
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("value %T is not an Array(%s)", v, elem)
	}
	w.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := item(it); err != nil {
			return err
		}
	}
	w.WriteByte(']')
	return nil
}

// writeCSV writes CSV as ClickHouse does (LF line ends, not RFC 4180's
// CRLF), with a line of the quoted column names (names) and one of their
// types (types) first, and the totals after an empty line.
func writeCSV(w *bufio.Writer, r *Result, names, types bool) error {
	return writeDelimited(w, r, names, types, ',',
		func(s string) { writeCSVString(w, s) },
		func(typ string, v any) error { return writeCSVValue(w, typ, v) })
}

// writeCSVValue writes a value as ClickHouse's CSV does: NULL as \N,
// numbers (nan, inf, -inf included) and Bool (true, false) bare, strings,
// dates and times in double quotes, and an array as its TabSeparated
// spelling in double quotes (['a','b'] becomes "['a','b']").
func writeCSVValue(w *bufio.Writer, typ string, v any) error {
	if v == nil {
		w.WriteString(`\N`)
		return nil
	}
	t := baseType(typ)
	if _, ok := arrayElem(t); ok {
		var b bytes.Buffer
		bb := bufio.NewWriter(&b)
		if err := writeTSVValue(bb, typ, v, false); err != nil {
			return err
		}
		bb.Flush()
		writeCSVString(w, b.String())
		return nil
	}
	switch {
	case isTimeType(t):
		s, err := formatTime(t, v)
		if err != nil {
			return err
		}
		writeCSVString(w, s)
	case t == "Float64" || t == "Float32" || strings.HasPrefix(t, "UInt") || strings.HasPrefix(t, "Int") || t == "Bool":
		return writeTSVValue(w, typ, v, false)
	default:
		writeCSVString(w, toText(v))
	}
	return nil
}

// writeCSVString writes s in double quotes, doubling the quotes inside;
// other bytes (commas, line breaks) are written as they are.
func writeCSVString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	w.WriteString(strings.ReplaceAll(s, `"`, `""`))
	w.WriteByte('"')
}
