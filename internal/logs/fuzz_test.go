package logs

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode decodes arbitrary bodies and checks what every result must
// hold: an error and nothing else, or positions that are distinct and in
// range, and points that are valid logs points inside the window.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=20s ./internal/logs/
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"timestamp":"2026-03-01T11:59:00Z","level":"warn","message":"m","attributes":{"a":1},"trace_id":"t","span_id":"s","service":"api"}`,
		`[{"message":"a"},{"message":"b","level":17}]`,
		"{\"message\":\"a\"}\n\n{\"msg\":\"b\"}\r\n{\"message\":\"c\",\"timestamp\":1772366400}",
		`{"message":"x","attributes":{"a":[[[[[[[[[[]]]]]]]]]]}}`,
		`[{"message":"a"}, 1, "x", null]`,
		`{"message":"\ud800","level":"ERROR+2","timestamp":"1772366400250000"}`,
		"\uFEFF[]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		opts := testOpts()
		opts.MaxRecords = 100
		pts, rej, err := Decode(body, opts)
		if err != nil {
			if len(pts) != 0 || len(rej) != 0 {
				t.Fatalf("Decode returned points or rejections with error %v", err)
			}
			return
		}
		if n := len(pts) + len(rej); n > opts.MaxRecords {
			t.Fatalf("%d records over the limit %d", n, opts.MaxRecords)
		}
		seen := map[int]bool{}
		for _, r := range rej {
			if r.Position < 0 || r.Position >= len(pts)+len(rej) || seen[r.Position] {
				t.Fatalf("rejection position %d out of range or repeated", r.Position)
			}
			seen[r.Position] = true
			if r.Error == "" || !utf8.ValidString(r.Error) {
				t.Fatalf("rejection error %q is empty or not UTF-8", r.Error)
			}
		}
		for _, p := range pts {
			if err := p.Validate(); err != nil {
				t.Fatalf("invalid point %+v: %v", p, err)
			}
			if p.Dataset != Dataset || p.Timestamp < opts.MinTimestamp || p.Timestamp > opts.MaxTimestamp {
				t.Fatalf("point %s at %d outside the window", p.Dataset, p.Timestamp)
			}
			lvl := field(p, "level").(string)
			sev := field(p, "severity").(float64)
			if sev < 1 || sev > 24 || Levels[(int(sev)-1)/4] != lvl {
				t.Fatalf("level %q with severity %v", lvl, sev)
			}
			if a := field(p, "attributes").(string); a != "" && (!strings.HasPrefix(a, "{") || len(a) > MaxAttributesBytes) {
				t.Fatalf("attributes %q", a)
			}
		}
		if len(bytes.TrimSpace(body)) > 0 && len(pts)+len(rej) == 0 && !bytes.Contains(body, []byte("[")) {
			t.Fatalf("a non-empty body %q gave no record", body)
		}
	})
}
