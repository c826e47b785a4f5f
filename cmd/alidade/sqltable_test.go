package main

import (
	"bytes"
	"testing"
)

// TestPrintTable: FORMAT JSON rows (objects) and FORMAT JSONCompact rows
// (arrays) print the same aligned table.
func TestPrintTable(t *testing.T) {
	meta := `{"meta":[{"name":"endpoint","type":"String"},{"name":"n","type":"UInt64"}],`
	want := "endpoint  n\n/a        2\nb\\tc      NULL\n(2 rows, 0s)\n"
	for _, body := range []string{
		meta + `"data":[{"endpoint":"\/a","n":"2"},{"endpoint":"b\tc","n":null}],"rows":2}`,
		meta + `"data":[["\/a", "2"],["b\tc", null]],"rows":2}`,
	} {
		var b bytes.Buffer
		if err := printTable(&b, []byte(body), 0); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("printTable(%s) =\n%q\nwant\n%q", body, b.String(), want)
		}
	}
	if err := printTable(new(bytes.Buffer), []byte(meta+`"data":[1],"rows":1}`), 0); err == nil {
		t.Error("a row that is a number was accepted")
	}
}
