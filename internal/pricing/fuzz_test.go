package pricing

import (
	"testing"
)

// FuzzParseCatalog checks that the catalog decoder never panics, that what
// it accepts is valid, and that what it accepts survives MarshalFile.
func FuzzParseCatalog(f *testing.F) {
	// The default catalog is a test of its own (TestMarshalFileRoundTrip);
	// as a seed it is large enough to keep the fuzzer minimizing.
	for _, s := range []string{
		`{"models":[]}`,
		`{"prices_as_of":"2026-11-27","models":[{"model":"gpt-4o","input":2.5,"output":10,"cached_input":1.25}]}`,
		`{"models":[{"model":"@cf/.+","pattern":true,"neurons_per_1k":0.011}]}`,
		`{"models":[{"model":"a.b","input":1},{"model":"a.b","pattern":true,"input":null,"output":2}]}`,
		`{"note":"x","sources":["y"],"models":[{"model":"(?i)GPT-.*","pattern":true,"embedding":0.1}]}`,
	} {
		f.Add([]byte(s))
	}
	for _, tc := range badCatalogs {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseCatalog(data)
		if err != nil {
			return
		}
		for i := range file.Entries {
			e := file.Entries[i]
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted entry %d is invalid: %v", i, err)
			}
		}
		out, err := MarshalFile(file)
		if err != nil {
			t.Fatalf("MarshalFile: %v", err)
		}
		again, err := ParseCatalog(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(again.Entries) != len(file.Entries) || again.AsOf != file.AsOf {
			t.Fatalf("round trip changed the catalog: %d entries, want %d", len(again.Entries), len(file.Entries))
		}
		for i := range file.Entries {
			a, b := file.Entries[i], again.Entries[i]
			if a.Model != b.Model || a.Pattern != b.Pattern || a.Price != b.Price {
				t.Fatalf("entry %d: %+v after round trip; want %+v", i, b, a)
			}
		}
		// Lookups through a catalog of the file never panic.
		c := newCatalog("", nil, [3][]Entry{}).With(SourceOperator, file)
		for _, e := range file.Entries {
			c.Lookup(e.Model)
		}
	})
}
