package errtrack

import (
	"strings"
	"testing"
)

func TestListLimit(t *testing.T) {
	for _, c := range []struct{ in, want int }{{-1, 100}, {0, 100}, {1, 1}, {250, 250}, {MaxListLimit, MaxListLimit}, {MaxListLimit + 1, 100}} {
		if got := ListLimit(c.in); got != c.want {
			t.Errorf("ListLimit(%d) = %d; want %d", c.in, got, c.want)
		}
	}
}

func TestGroupOrder(t *testing.T) {
	want := map[string]string{
		"last_seen":  "last_seen DESC, id DESC",
		"first_seen": "first_seen DESC, id DESC",
		"count":      "event_count DESC, last_seen DESC, id DESC",
		"users":      "user_count DESC, last_seen DESC, id DESC",
		"":           "last_seen DESC, id DESC",
		"bogus":      "last_seen DESC, id DESC",
	}
	for _, s := range Sorts {
		if _, ok := want[s]; !ok {
			t.Errorf("sort %q has no expected order", s)
		}
	}
	for sort, keys := range want {
		got := GroupOrder(sort)
		if !strings.HasPrefix(got, " ORDER BY ") || strings.TrimPrefix(got, " ORDER BY ") != keys {
			t.Errorf("GroupOrder(%q) = %q; want %q", sort, got, " ORDER BY "+keys)
		}
	}
}
