package aesql

import (
	"bytes"
	"math"
	"math/big"
	"testing"
	"time"
)

func formatResult() *Result {
	ts := time.Date(2026, 11, 27, 5, 4, 3, 999_000_000, time.UTC)
	return &Result{
		Columns: []Column{
			{"endpoint", "String"}, {"n", "UInt64"}, {"avg", "Float64"}, {"t", "DateTime"},
			{"d", "Date"}, {"ok", "UInt8"}, {"qs", "Array(Float64)"}, {"top", "Array(String)"}, {"maybe", "Nullable(String)"}, {"big", "UInt64"},
		},
		Rows: [][]any{
			{"/api/chat", int64(12), 12.5, ts, ts, true, []any{1.5, 2.0}, []any{"a'b", "c"}, nil, new(big.Int).SetUint64(math.MaxUint64)},
			{"tab\there\nnew \"q\" \\ é \u2028", uint64(0), math.NaN(), ts, ts, uint8(0), []any{}, []any{}, "x", uint64(7)},
		},
		RowsBeforeLimit: 2,
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteResult(&b, FormatJSON, formatResult()); err != nil {
		t.Fatal(err)
	}
	want := `{"meta":[{"name":"endpoint","type":"String"},{"name":"n","type":"UInt64"},{"name":"avg","type":"Float64"},{"name":"t","type":"DateTime"},{"name":"d","type":"Date"},{"name":"ok","type":"UInt8"},{"name":"qs","type":"Array(Float64)"},{"name":"top","type":"Array(String)"},{"name":"maybe","type":"Nullable(String)"},{"name":"big","type":"UInt64"}],` +
		`"data":[{"endpoint":"\/api\/chat","n":"12","avg":12.5,"t":"2026-11-27 05:04:03","d":"2026-11-27","ok":1,"qs":[1.5,2],"top":["a'b","c"],"maybe":null,"big":"18446744073709551615"},` +
		`{"endpoint":"tab\there\nnew \"q\" \\ é \u2028","n":"0","avg":null,"t":"2026-11-27 05:04:03","d":"2026-11-27","ok":0,"qs":[],"top":[],"maybe":"x","big":"7"}],` +
		`"rows":2,"rows_before_limit_at_least":2}` + "\n"
	if b.String() != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSONEachRow(t *testing.T) {
	r := formatResult()
	r.Columns, r.Rows = r.Columns[:3], [][]any{r.Rows[0][:3], {"x", int64(1), 0.25}}
	var b bytes.Buffer
	if err := WriteResult(&b, FormatJSONEachRow, r); err != nil {
		t.Fatal(err)
	}
	want := `{"endpoint":"\/api\/chat","n":"12","avg":12.5}` + "\n" + `{"endpoint":"x","n":"1","avg":0.25}` + "\n"
	if b.String() != want {
		t.Fatalf("JSONEachRow =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteTabSeparated(t *testing.T) {
	var b bytes.Buffer
	if err := WriteResult(&b, FormatTabSeparated, formatResult()); err != nil {
		t.Fatal(err)
	}
	want := "/api/chat\t12\t12.5\t2026-11-27 05:04:03\t2026-11-27\t1\t[1.5,2]\t['a\\'b','c']\t\\N\t18446744073709551615\n" +
		"tab\\there\\nnew \"q\" \\\\ é \u2028\t0\tnan\t2026-11-27 05:04:03\t2026-11-27\t0\t[]\t[]\tx\t7\n"
	if b.String() != want {
		t.Fatalf("TabSeparated =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteResultRejectsMismatch(t *testing.T) {
	r := &Result{Columns: []Column{{"n", "UInt64"}}, Rows: [][]any{{"not a number"}}}
	var b bytes.Buffer
	if err := WriteResult(&b, FormatJSON, r); err == nil {
		t.Fatal("WriteResult of a string as UInt64 = nil error; want one")
	}
	if err := WriteResult(&b, "XML", r); err == nil {
		t.Fatal("WriteResult in XML = nil error; want one")
	}
}

func TestFormatFloatLikeClickHouse(t *testing.T) {
	for f, want := range map[float64]string{
		1234567: "1234567", 0.000001: "0.000001", 1e21: "1e21", 1e-7: "1e-7", 1e20: "100000000000000000000",
		6e6: "6000000", 12.5: "12.5", -0.25: "-0.25", 1.5e-7: "1.5e-7", 1.2345e25: "1.2345e25", 0: "0", 123456789012345680000: "123456789012345680000",
	} {
		if got := formatFloat(f); got != want {
			t.Errorf("formatFloat(%v) = %q; want %q", f, got, want)
		}
	}
}

// TestZonedDateTimes checks that Plan.Row gives the instants of
// DateTime('tz') columns their zone's offset and that the formats show
// them on the zone's clock: 2024-03-10 07:00:00 UTC is 03:00 EDT (UTC-4) in
// New York and 16:00 in Tokyo (UTC+9).
func TestZonedDateTimes(t *testing.T) {
	p, err := mustCompile("SELECT toDateTime(1710054000, 'America/New_York') AS a, toDateTime(1710054000) AS b, topK(1)(toDateTime(timestamp, 'Asia/Tokyo')) AS c, toDateTime(1710054000, 'UTC') AS d FROM requests")
	if err != nil {
		t.Fatal(err)
	}
	if p.BackendColumns() != 6 || len(p.Columns) != 4 {
		t.Fatalf("%d backend columns for %d; want 6 for 4 (two offsets)", p.BackendColumns(), len(p.Columns))
	}
	inst := time.Unix(1710054000, 0).UTC()
	row, before, err := p.Row([]any{inst, inst, []any{inst}, inst, int64(-4 * 3600), []any{int64(9 * 3600)}})
	if err != nil {
		t.Fatal(err)
	}
	if before != -1 {
		t.Errorf("rows before limit %d, want -1", before)
	}
	var b bytes.Buffer
	if err := WriteResult(&b, FormatJSONEachRow, &Result{Columns: p.Columns, Rows: [][]any{row}}); err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"2024-03-10 03:00:00","b":"2024-03-10 07:00:00","c":["2024-03-10 16:00:00"],"d":"2024-03-10 07:00:00"}` + "\n"; b.String() != want {
		t.Errorf("JSONEachRow = %s, want %s", b.String(), want)
	}
	b.Reset()
	if err := WriteResult(&b, FormatTabSeparated, &Result{Columns: p.Columns, Rows: [][]any{row}}); err != nil {
		t.Fatal(err)
	}
	if want := "2024-03-10 03:00:00\t2024-03-10 07:00:00\t['2024-03-10 16:00:00']\t2024-03-10 07:00:00\n"; b.String() != want {
		t.Errorf("TabSeparated = %q, want %q", b.String(), want)
	}
	if !row[0].(time.Time).Equal(inst) {
		t.Errorf("the zoned value is %v, not the same instant", row[0])
	}
	if _, _, err := p.Row([]any{inst, inst}); err == nil {
		t.Errorf("a short backend row was accepted")
	}
}

// The expected bodies below are written by hand from ClickHouse's rules:
// CSV quotes strings, dates, times and arrays (an array is its TabSeparated
// spelling, quoted), doubles '"', writes numbers, Bool and nan/inf bare and
// NULL as \N; JSONCompact's rows are arrays with ", " between values.
func TestWriteCSV(t *testing.T) {
	names := `"endpoint","n","avg","t","d","ok","qs","top","maybe","big"` + "\n"
	types := `"String","UInt64","Float64","DateTime","Date","UInt8","Array(Float64)","Array(String)","Nullable(String)","UInt64"` + "\n"
	rows := `"/api/chat",12,12.5,"2026-11-27 05:04:03","2026-11-27",1,"[1.5,2]","['a\'b','c']",\N,18446744073709551615` + "\n" +
		"\"tab\there\nnew \"\"q\"\" \\ é \u2028\",0,nan,\"2026-11-27 05:04:03\",\"2026-11-27\",0,\"[]\",\"[]\",\"x\",7\n"
	for f, want := range map[Format]string{
		FormatCSV:                  rows,
		FormatCSVWithNames:         names + rows,
		FormatCSVWithNamesAndTypes: names + types + rows,
	} {
		var b bytes.Buffer
		if err := WriteResult(&b, f, formatResult()); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s =\n%q\nwant\n%q", f, b.String(), want)
		}
	}
}

func TestWriteTabSeparatedWithNames(t *testing.T) {
	r := formatResult()
	r.Columns[0].Name = "end\tpoint"
	names := "end\\tpoint\tn\tavg\tt\td\tok\tqs\ttop\tmaybe\tbig\n"
	types := "String\tUInt64\tFloat64\tDateTime\tDate\tUInt8\tArray(Float64)\tArray(String)\tNullable(String)\tUInt64\n"
	rows := "/api/chat\t12\t12.5\t2026-11-27 05:04:03\t2026-11-27\t1\t[1.5,2]\t['a\\'b','c']\t\\N\t18446744073709551615\n" +
		"tab\\there\\nnew \"q\" \\\\ é \u2028\t0\tnan\t2026-11-27 05:04:03\t2026-11-27\t0\t[]\t[]\tx\t7\n"
	for f, want := range map[Format]string{
		FormatTabSeparatedWithNames:         names + rows,
		FormatTabSeparatedWithNamesAndTypes: names + types + rows,
	} {
		var b bytes.Buffer
		if err := WriteResult(&b, f, r); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s =\n%q\nwant\n%q", f, b.String(), want)
		}
	}
}

func TestWriteJSONCompact(t *testing.T) {
	var b bytes.Buffer
	if err := WriteResult(&b, FormatJSONCompact, formatResult()); err != nil {
		t.Fatal(err)
	}
	want := `{"meta":[{"name":"endpoint","type":"String"},{"name":"n","type":"UInt64"},{"name":"avg","type":"Float64"},{"name":"t","type":"DateTime"},{"name":"d","type":"Date"},{"name":"ok","type":"UInt8"},{"name":"qs","type":"Array(Float64)"},{"name":"top","type":"Array(String)"},{"name":"maybe","type":"Nullable(String)"},{"name":"big","type":"UInt64"}],` +
		`"data":[["\/api\/chat", "12", 12.5, "2026-11-27 05:04:03", "2026-11-27", 1, [1.5,2], ["a'b","c"], null, "18446744073709551615"],` +
		`["tab\there\nnew \"q\" \\ é \u2028", "0", null, "2026-11-27 05:04:03", "2026-11-27", 0, [], [], "x", "7"]],` +
		`"rows":2,"rows_before_limit_at_least":2}` + "\n"
	if b.String() != want {
		t.Fatalf("JSONCompact =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteResult(&b, FormatJSONCompactEachRow, formatResult()); err != nil {
		t.Fatal(err)
	}
	want = `["\/api\/chat", "12", 12.5, "2026-11-27 05:04:03", "2026-11-27", 1, [1.5,2], ["a'b","c"], null, "18446744073709551615"]` + "\n" +
		`["tab\there\nnew \"q\" \\ é \u2028", "0", null, "2026-11-27 05:04:03", "2026-11-27", 0, [], [], "x", "7"]` + "\n"
	if b.String() != want {
		t.Fatalf("JSONCompactEachRow =\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteTotals: the totals row of WITH TOTALS where ClickHouse puts it
// (a String key's totals value is its default, the empty string).
func TestWriteTotals(t *testing.T) {
	r := func(rows ...[]any) *Result {
		return &Result{
			Columns: []Column{{"k", "String"}, {"n", "UInt64"}, {"f", "Float64"}},
			Rows:    rows, RowsBeforeLimit: int64(len(rows)),
			Totals: []any{"", uint64(3), math.NaN()},
		}
	}
	full := r([]any{"a", uint64(2), 1.5}, []any{"b", uint64(1), math.Inf(1)})
	meta := `{"meta":[{"name":"k","type":"String"},{"name":"n","type":"UInt64"},{"name":"f","type":"Float64"}],`
	for _, c := range []struct {
		f    Format
		r    *Result
		want string
	}{
		{FormatJSON, full, meta + `"data":[{"k":"a","n":"2","f":1.5},{"k":"b","n":"1","f":null}],"totals":{"k":"","n":"3","f":null},"rows":2,"rows_before_limit_at_least":2}` + "\n"},
		{FormatJSON, r(), meta + `"data":[],"totals":{"k":"","n":"3","f":null},"rows":0,"rows_before_limit_at_least":0}` + "\n"},
		{FormatJSONCompact, full, meta + `"data":[["a", "2", 1.5],["b", "1", null]],"totals":["", "3", null],"rows":2,"rows_before_limit_at_least":2}` + "\n"},
		{FormatJSONEachRow, full, `{"k":"a","n":"2","f":1.5}` + "\n" + `{"k":"b","n":"1","f":null}` + "\n"},
		{FormatJSONCompactEachRow, full, `["a", "2", 1.5]` + "\n" + `["b", "1", null]` + "\n"},
		{FormatTabSeparated, full, "a\t2\t1.5\nb\t1\tinf\n\n\t3\tnan\n"},
		{FormatTabSeparated, r(), "\n\t3\tnan\n"},
		{FormatTabSeparatedWithNames, full, "k\tn\tf\na\t2\t1.5\nb\t1\tinf\n\n\t3\tnan\n"},
		{FormatTabSeparatedWithNamesAndTypes, r(), "k\tn\tf\nString\tUInt64\tFloat64\n\n\t3\tnan\n"},
		{FormatCSV, full, "\"a\",2,1.5\n\"b\",1,inf\n\n\"\",3,nan\n"},
		{FormatCSVWithNames, full, "\"k\",\"n\",\"f\"\n\"a\",2,1.5\n\"b\",1,inf\n\n\"\",3,nan\n"},
	} {
		var b bytes.Buffer
		if err := WriteResult(&b, c.f, c.r); err != nil {
			t.Fatalf("%s: %v", c.f, err)
		}
		if b.String() != c.want {
			t.Errorf("%s with %d rows =\n%q\nwant\n%q", c.f, len(c.r.Rows), b.String(), c.want)
		}
	}
	bad := full
	bad.Totals = []any{"x"}
	if err := WriteResult(new(bytes.Buffer), FormatJSON, bad); err == nil {
		t.Error("totals of 1 value for 3 columns were written")
	}
}

func TestParseFormat(t *testing.T) {
	for name, want := range map[string]Format{
		"json": FormatJSON, "JSONCOMPACT": FormatJSONCompact, "JSONEachRow": FormatJSONEachRow, "jsoncompacteachrow": FormatJSONCompactEachRow,
		"TSV": FormatTabSeparated, "tabseparated": FormatTabSeparated, "TSVWithNames": FormatTabSeparatedWithNames,
		"TabSeparatedWithNames": FormatTabSeparatedWithNames, "tsvwithnamesandtypes": FormatTabSeparatedWithNamesAndTypes,
		"csv": FormatCSV, "CSVWithNames": FormatCSVWithNames, "CsvWithNamesAndTypes": FormatCSVWithNamesAndTypes,
	} {
		if got, ok := ParseFormat(name); !ok || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"XML", "Pretty", "TSVRaw", "JSONStrings", "", "CSVWithTypes", "JSON\u212a"} {
		if got, ok := ParseFormat(name); ok {
			t.Errorf("ParseFormat(%q) = %q; want none", name, got)
		}
	}
	// ClickHouse's Content-Type headers (its getContentType and setContentType).
	for f, want := range map[Format]string{
		FormatJSON: "application/json; charset=UTF-8", FormatJSONCompact: "application/json; charset=UTF-8",
		FormatJSONEachRow: "application/x-ndjson; charset=UTF-8", FormatJSONCompactEachRow: "text/plain; charset=UTF-8",
		FormatTabSeparated: "text/tab-separated-values; charset=UTF-8", FormatTabSeparatedWithNames: "text/tab-separated-values; charset=UTF-8",
		FormatTabSeparatedWithNamesAndTypes: "text/tab-separated-values; charset=UTF-8",
		FormatCSV:                           "text/csv; charset=UTF-8; header=absent", FormatCSVWithNames: "text/csv; charset=UTF-8; header=present",
		FormatCSVWithNamesAndTypes: "text/csv; charset=UTF-8; header=present",
	} {
		if got := ContentType(f); got != want {
			t.Errorf("ContentType(%s) = %q, want %q", f, got, want)
		}
	}
}
