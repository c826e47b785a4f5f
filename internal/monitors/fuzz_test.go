package monitors

import (
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
)

// FuzzParseSchedule: any schedule a check-in declares is parsed or refused
// with an error, never a panic, and a parsed one's next time comes after
// the time asked (or is zero: a crontab that never fires).
func FuzzParseSchedule(f *testing.F) {
	for _, s := range [][4]string{
		{"crontab", "0 2 * * *", "", ""}, {"crontab", "*/5 * * * 1-5", "", "Europe/Paris"}, {"crontab", "@hourly", "", ""},
		{"crontab", "0 0 30 2 *", "", ""}, {"interval", "10", "minute", ""}, {"interval", "1", "months", ""},
		{"crontab", "CRON_TZ=America/New_York 30 2 * * *", "", ""}, {"interval", "-1", "day", ""}, {"", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], int64(1796119200000))
	}
	f.Fuzz(func(t *testing.T, typ, value, unit, tz string, at int64) {
		s, err := ParseSchedule(&errtrack.MonitorConfig{ScheduleType: typ, Schedule: value, Unit: unit, Timezone: tz})
		if err != nil {
			if s != nil {
				t.Fatal("a schedule and an error")
			}
			return
		}
		now := time.UnixMilli(at % (1 << 45))
		if n := s.Next(now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%q %q %q: Next(%v) = %v, not after it", typ, value, unit, now, n)
		}
	})
}
