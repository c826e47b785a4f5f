package store

import (
	"testing"
	"time"
)

func TestDayStart(t *testing.T) {
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, c := range []struct{ ts, want int64 }{
		{day - 1, day - DayMs}, {day, day}, {day + 1, day}, {day + DayMs - 1, day}, {day + DayMs, day + DayMs},
		{0, 0}, {-1, -DayMs}, {-DayMs, -DayMs}, {-DayMs - 1, -2 * DayMs},
	} {
		if got := DayStart(c.ts); got != c.want {
			t.Errorf("DayStart(%d) = %d; want %d", c.ts, got, c.want)
		}
	}
}

func TestLogPosOrder(t *testing.T) {
	ps := []LogPos{{}, {Seg: 1, Off: 0}, {Seg: 1, Off: 9}, {Seg: 2, Off: 0}}
	for i := range ps {
		for j := range ps {
			if got := ps[i].Less(ps[j]); got != (i < j) {
				t.Errorf("%v.Less(%v) = %v", ps[i], ps[j], got)
			}
		}
	}
	if !ps[0].IsZero() || ps[1].IsZero() {
		t.Errorf("IsZero wrong")
	}
}
