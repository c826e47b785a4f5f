package storetest

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectParts(t *testing.T) {
	names := func(ps []part) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.name)
		}
		return out
	}
	run, left, err := selectParts(nil)
	if err != nil || len(run) != len(parts) || left != nil {
		t.Fatalf("selectParts(nil) = %v, %v, %v; want every part", names(run), left, err)
	}
	run, left, err = selectParts([]string{"LogPositions", "Retention"})
	if err != nil || slices.Contains(names(run), "LogPositions") || slices.Contains(names(run), "Retention") ||
		len(run) != len(parts)-2 || !slices.Equal(left, []string{"Retention", "LogPositions"}) {
		t.Fatalf("selectParts(LogPositions, Retention) = %v, %v, %v", names(run), left, err)
	}
	if _, _, err := selectParts([]string{"LogPosition", "Retention"}); err == nil || !strings.Contains(err.Error(), `"LogPosition"`) {
		t.Fatalf("selectParts with a misspelt name = %v; want an error naming it", err)
	}
}
