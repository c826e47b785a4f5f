package point

import "testing"

func TestBuiltinSchemas(t *testing.T) {
	names := BuiltinNames()
	if len(names) != len(builtin) {
		t.Fatalf("BuiltinNames lists %d datasets; the table has %d", len(names), len(builtin))
	}
	for _, n := range names {
		s := Builtin(n)
		if s == nil {
			t.Fatalf("Builtin(%q) = nil", n)
		}
		if err := ValidateDatasetName(n); err != nil {
			t.Errorf("built-in dataset name %q: %v", n, err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("Builtin(%q).Validate() = %v", n, err)
		}
		s.Blobs[0] = "changed"
		if Builtin(n).Blobs[0] == "changed" {
			t.Errorf("Builtin(%q) returns shared memory", n)
		}
	}
	// The seed's writeDataPoint positions, fixed by the platform-metrics issue.
	fixed := []struct {
		dataset, name string
		want          Field
	}{
		{"requests", "url", Field{KindBlob, 1}},
		{"requests", "method", Field{KindBlob, 2}},
		{"requests", "duration", Field{KindDouble, 1}},
		{"requests", "status", Field{KindDouble, 2}},
		{"requests", "endpoint", Field{KindIndex, 1}},
		{"ai_usage", "model", Field{KindBlob, 1}},
		{"ai_usage", "tokens", Field{KindDouble, 1}},
		{"ai_usage", "latency", Field{KindDouble, 2}},
		{"vector_search", "results", Field{KindDouble, 1}},
		{"vector_search", "latency", Field{KindDouble, 2}},
	}
	for _, f := range fixed {
		got, err := Builtin(f.dataset).Resolve(f.name)
		if err != nil || got != f.want {
			t.Errorf("Builtin(%q).Resolve(%q) = %v, %v; want %v", f.dataset, f.name, got, err, f.want)
		}
	}
	if Builtin("mine") != nil {
		t.Errorf("Builtin(\"mine\") != nil")
	}
}

func TestSchemaSet(t *testing.T) {
	s := Builtin("pageviews")
	var p Point
	for _, c := range []struct {
		name string
		v    any
		ok   bool
	}{
		{"page", "/x", true}, {"os", "iOS", true}, {"since_previous", 5.0, true},
		{"os", 1.0, false}, {"entry", "1", false}, {"nope", "x", false}, {"blob20", "last", true},
	} {
		if got := s.Set(&p, c.name, c.v); got != c.ok {
			t.Errorf("Set(%q, %v) = %v; want %v", c.name, c.v, got, c.ok)
		}
	}
	if p.Index != "/x" || p.Blob(7) != "iOS" || p.Double(5) != 5 || len(p.Blobs) != 20 || p.Blob(20) != "last" || p.Blob(1) != "" || len(p.Doubles) != 5 {
		t.Errorf("point = %+v", p)
	}
}
