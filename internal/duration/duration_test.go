package duration

import (
	"testing"
	"time"
)

func TestParseAndFormat(t *testing.T) {
	for in, want := range map[string]time.Duration{"0s": 0, "1s": time.Second, "90s": 90 * time.Second, "1d": 24 * time.Hour,
		"2d12h": 60 * time.Hour, "36h": 36 * time.Hour, "400d": 400 * 24 * time.Hour} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1s", "1x", "401d", "-1d", "1d-1h", "1.5d"} {
		if d, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v; want an error", in, d)
		}
	}
	for d, want := range map[time.Duration]string{0: "0s", time.Second: "1s", 90 * time.Second: "1m30s", 2 * time.Hour: "2h",
		48 * time.Hour: "2d", 36 * time.Hour: "36h"} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q; want %q", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1d", "2d12h", "90s", "1x", "-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("Parse(%q) = %v, negative", s, d)
		}
		// What Format writes reads back the same (within Parse's 400 days).
		if d > 400*24*time.Hour {
			return
		}
		if back, err := Parse(Format(d)); err != nil || back != d {
			t.Fatalf("Parse(Format(%v)) = %v, %v", d, back, err)
		}
	})
}
