package meta

import (
	"strings"
	"testing"
)

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, bad := range []string{"", "root", "Read", "write "} {
		if _, err := ParseKind(bad); err == nil || !strings.Contains(err.Error(), "public, write, read or admin") {
			t.Errorf("ParseKind(%q) = %v; want an error listing the kinds", bad, err)
		}
	}
}

func TestValidateProjectName(t *testing.T) {
	for _, ok := range []string{"web", "Web-2", "a.b_c", strings.Repeat("x", 64)} {
		if err := ValidateProjectName(ok); err != nil {
			t.Errorf("ValidateProjectName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "ü", "a/b", "x;DROP"} {
		if err := ValidateProjectName(bad); err == nil {
			t.Errorf("ValidateProjectName(%q) = nil; want an error", bad)
		}
	}
}
