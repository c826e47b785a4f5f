package main

import (
	"strings"
	"testing"
	"time"
)

func TestPrintTableTotals(t *testing.T) {
	body := `{"meta":[{"name":"m","type":"String"},{"name":"n","type":"UInt64"}],"data":[{"m":"GET","n":"3"},{"m":"POST","n":"2"}],"totals":{"m":"","n":"5"},"rows":2}`
	var b strings.Builder
	if err := printTable(&b, []byte(body), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := "m     n\nGET   3\nPOST  2\n      \n      5\n(2 rows and totals, 1ms)\n"
	if b.String() != want {
		t.Errorf("printTable = %q; want %q", b.String(), want)
	}
}
