package aesql

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// TestZonesAgainstClickHouseRules runs the date and time functions in
// time zones around their changes of offset (daylight saving time, changes
// of standard time, changes at midnight, 30- and 45-minute offsets) on
// DuckDB, and compares every result with an independent computation in Go:
// Go's tz database and a transcription of ClickHouse's DateLUTImpl
// (start of day, makeDateTime, addDays, addMonths, toStartOfHourInterval,
// the rounding to hours and minutes) below. The years are ones where ICU
// and Go agree about these zones (TestZonesAgreeWithICU lists where they do
// not).
func TestZonesAgainstClickHouseRules(t *testing.T) {
	data := goZoneinfo(t)
	zones := []string{"America/New_York", "Europe/Berlin", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
		"Asia/Kathmandu", "America/St_Johns", "America/Havana", "Pacific/Chatham", "America/Santiago", "Asia/Tehran",
		"Africa/Cairo", "America/Asuncion", "Asia/Tokyo"}
	from := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE zt (zone VARCHAR, kind VARCHAR, s DOUBLE, w VARCHAR)"); err != nil {
		t.Fatal(err)
	}
	type zoneCase struct {
		loc      *time.Location
		lut      *chLut
		instants []time.Time
		walls    []time.Time
	}
	cases := map[string]*zoneCase{}
	for _, name := range zones {
		loc, err := time.LoadLocationFromTZData(name, data[name])
		if err != nil {
			t.Fatal(err)
		}
		zc := &zoneCase{loc: loc, lut: newCHLut(loc)}
		cases[name] = zc
		trans := transitions(loc, from, to)
		if len(trans) == 0 {
			trans = []time.Time{time.Date(2024, 3, 10, 7, 0, 0, 0, time.UTC)}
		}
		for _, tr := range trans {
			for _, d := range []time.Duration{-25 * time.Hour, -2 * time.Hour, -time.Hour, -30 * time.Minute, -time.Second, 0, time.Second,
				30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour, 12 * time.Hour, 25 * time.Hour} {
				zc.instants = append(zc.instants, tr.Add(d))
			}
			// wall clock times around the change, as read with the offsets
			// before and after it: some occur twice, some never
			_, before := tr.Add(-time.Second).In(loc).Zone()
			_, after := tr.In(loc).Zone()
			for _, off := range []int{before, after} {
				w := tr.Add(time.Duration(off) * time.Second).UTC()
				for d := -time.Hour; d <= time.Hour; d += 15 * time.Minute {
					zc.walls = append(zc.walls, w.Add(d))
				}
			}
		}
		for _, at := range zc.instants {
			if _, err := db.Exec("INSERT INTO zt VALUES ($1, 'i', $2, '')", name, float64(at.Unix())); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range zc.walls {
			if _, err := db.Exec("INSERT INTO zt VALUES ($1, 'w', 0, $2)", name, w.Format("2006-01-02 15:04:05")); err != nil {
				t.Fatal(err)
			}
		}
	}
	failures := 0
	fail := func(format string, args ...any) {
		failures++
		if failures <= 40 || os.Getenv("ZONE_ALL") != "" {
			t.Errorf(format, args...)
		}
	}
	for _, name := range zones {
		zc := cases[name]
		z := "'" + name + "'"
		x := "toDateTime(double1)"
		q := fmt.Sprintf(`SELECT toUInt32(double1), toHour(%[1]s, %[2]s), toMinute(%[1]s, %[2]s), toSecond(%[1]s, %[2]s), toDayOfWeek(%[1]s, %[2]s),
			toYYYYMMDD(%[1]s, %[2]s), formatDateTime(%[1]s, '%%F %%T %%z', %[2]s), toDate(%[1]s, %[2]s), toStartOfMonth(%[1]s, %[2]s),
			toUnixTimestamp(toStartOfDay(%[1]s, %[2]s)), toUnixTimestamp(toStartOfHour(%[1]s, %[2]s)),
			toUnixTimestamp(toStartOfFifteenMinutes(%[1]s, %[2]s)), toUnixTimestamp(toStartOfMinute(%[1]s, %[2]s)),
			toUnixTimestamp(toStartOfInterval(%[1]s, INTERVAL 2 HOUR, %[2]s)), toUnixTimestamp(toStartOfInterval(%[1]s, INTERVAL 1 HOUR, %[2]s)),
			toUnixTimestamp(toStartOfInterval(%[1]s, INTERVAL 3 DAY, %[2]s)), toUnixTimestamp(toStartOfInterval(%[1]s, INTERVAL 20 MINUTE, %[2]s)),
			toUnixTimestamp(toDateTime(%[1]s, %[2]s) + INTERVAL 1 DAY), toUnixTimestamp(toDateTime(%[1]s, %[2]s) - INTERVAL 1 MONTH),
			toDateTime(%[1]s, %[2]s), toString(toDateTime(%[1]s, %[2]s)), toUnixTimestamp(toDateTime(toDate(%[1]s, %[2]s), %[2]s))
			FROM zt WHERE index1 = %[2]s AND blob2 = 'i' ORDER BY double1`, x, z)
		p, rows, err := runZoneQuery(db, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != len(zc.instants) {
			t.Fatalf("%s: %d rows for %d instants", name, len(rows), len(zc.instants))
		}
		if ty := p.Columns[19].Type; ty != "DateTime('"+name+"')" {
			t.Errorf("%s: toDateTime(x, zone) has type %s", name, ty)
		}
		for _, r := range rows {
			at := time.Unix(int64(r[0].(uint32)), 0)
			lt := at.In(zc.loc)
			lut := zc.lut
			sod := lut.dayStart(lt.Year(), lt.Month(), lt.Day())
			want := []string{fmt.Sprint(at.Unix()),
				fmt.Sprint(lt.Hour()), fmt.Sprint(lt.Minute()), fmt.Sprint(lt.Second()), fmt.Sprint((int(lt.Weekday())+6)%7 + 1),
				lt.Format("20060102"), lt.Format("2006-01-02 15:04:05 -0700"), lt.Format("2006-01-02"), lt.Format("2006-01") + "-01",
				fmt.Sprint(sod.Unix()), fmt.Sprint(lut.startOfHour(at).Unix()),
				fmt.Sprint(lut.startOfMinuteInterval(at, 15).Unix()), fmt.Sprint(lut.startOfMinuteInterval(at, 1).Unix()),
				fmt.Sprint(lut.startOfHourInterval(at, 2).Unix()), fmt.Sprint(lut.startOfHour(at).Unix()),
				fmt.Sprint(lut.startOfDayInterval(at, 3).Unix()), fmt.Sprint(lut.startOfMinuteInterval(at, 20).Unix()),
				fmt.Sprint(lut.addDays(at, 1).Unix()), fmt.Sprint(lut.addMonths(at, -1).Unix()),
				lt.Format("2006-01-02 15:04:05"), lt.Format("2006-01-02 15:04:05"), fmt.Sprint(sod.Unix()),
			}
			for i := range want {
				var got string
				switch v := r[i].(type) {
				case time.Time:
					if p.Columns[i].Type == "Date" {
						got = v.Format("2006-01-02")
					} else {
						got = v.Format("2006-01-02 15:04:05")
					}
				default:
					got = fmt.Sprint(v)
				}
				if got != want[i] {
					fail("%s at %s (%d), column %d (%s): got %s, want %s", name, at.UTC().Format(time.RFC3339), at.Unix(), i+1, p.Columns[i].Name, got, want[i])
				}
			}
		}
		// wall clock times, read from a column and from literals
		_, rows, err = runZoneQuery(db, "SELECT blob1, toUnixTimestamp(toDateTime(blob1, "+z+")) FROM zt WHERE index1 = "+z+" AND blob2 = 'w' ORDER BY blob1")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range rows {
			w, err := time.Parse("2006-01-02 15:04:05", r[0].(string))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprint(zc.lut.makeDateTime(w).Unix()); fmt.Sprint(r[1]) != want {
				fail("%s: toDateTime(%q) from a column: got %v, want %s", name, r[0], r[1], want)
			}
		}
		for i := 0; i < len(zc.walls); i += 20 {
			var cols []string
			ws := zc.walls[i:min(i+20, len(zc.walls))]
			for _, w := range ws {
				cols = append(cols, "toUnixTimestamp('"+w.Format("2006-01-02 15:04:05")+"', "+z+")")
			}
			_, rows, err := runZoneQuery(db, "SELECT "+strings.Join(cols, ", "))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for j, w := range ws {
				if want := fmt.Sprint(zc.lut.makeDateTime(w).Unix()); fmt.Sprint(rows[0][j]) != want {
					fail("%s: toUnixTimestamp('%s', zone): got %v, want %s", name, w.Format("2006-01-02 15:04:05"), rows[0][j], want)
				}
			}
		}
	}
	if failures > 40 {
		t.Errorf("%d failures in all", failures)
	}
}

// zoneCatalog serves table zt as dataset zt: index1 is the zone, blob1 a
// wall clock time, blob2 the kind of row, double1 an instant (seconds).
type zoneCatalog struct{}

func (zoneCatalog) Datasets() []string          { return []string{"zt"} }
func (zoneCatalog) Schema(string) *point.Schema { return nil }
func (zoneCatalog) Source(d string, argBase int) (string, []any, bool) {
	if d != "zt" {
		return "", nil, false
	}
	var b strings.Builder
	b.WriteString(`(SELECT 'zt' AS dataset, TIMESTAMP '2024-01-01 00:00:00' AS "timestamp", CAST(1 AS UBIGINT) AS _sample_interval, zone AS index1, w AS blob1, kind AS blob2`)
	for i := 3; i <= point.MaxBlobs; i++ {
		fmt.Fprintf(&b, ", '' AS blob%d", i)
	}
	b.WriteString(", s AS double1")
	for i := 2; i <= point.MaxDoubles; i++ {
		fmt.Fprintf(&b, ", CAST(0 AS DOUBLE) AS double%d", i)
	}
	b.WriteString(" FROM zt)")
	return b.String(), nil, true
}

func runZoneQuery(db *sql.DB, q string) (*Plan, [][]any, error) {
	p, err := Compile(q, zoneCatalog{}, DefaultOptions())
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.Query(p.SQL, p.Args...)
	if err != nil {
		return p, nil, fmt.Errorf("%w\nSQL: %.2000s", err, p.SQL)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, p.BackendColumns())
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return p, nil, err
		}
		row, _, err := p.Row(vals)
		if err != nil {
			return p, nil, err
		}
		out = append(out, row)
	}
	return p, out, rows.Err()
}

// transitions lists the instants in [from, to) at which loc's offset changes.
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	_, prev := from.In(loc).Zone()
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		if !end.After(t) {
			end = t.Add(time.Hour)
		}
		if _, off := end.In(loc).Zone(); off != prev {
			out = append(out, end)
			prev = off
		}
		t = end
	}
	return out
}

// chLut transcribes what ClickHouse's DateLUTImpl computes for a zone
// (src/Common/DateLUTImpl.h and .cpp), from Go's tz database.
type chLut struct {
	loc                      *time.Location
	wholeHours, wholeMinutes bool // offset_is_whole_number_of_hours (minutes) _during_epoch
}

func newCHLut(loc *time.Location) *chLut {
	l := &chLut{loc: loc, wholeHours: true, wholeMinutes: true}
	// ClickHouse checks the start of every day after 1970 of its table.
	for d := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC); d.Year() < 2106; d = d.AddDate(0, 0, 1) {
		s := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).Unix()
		if s%3600 != 0 {
			l.wholeHours = false
		}
		if s%60 != 0 {
			l.wholeMinutes = false
			break
		}
	}
	return l
}

// wall is an instant's wall clock time as a UTC time.
func (l *chLut) wall(t time.Time) time.Time {
	_, off := t.In(l.loc).Zone()
	return t.Add(time.Duration(off) * time.Second).UTC()
}

// dayStart is the first instant whose date in the zone is y-m-d: the
// instant of the change when midnight does not occur, and when it occurs
// twice the first, unless the clocks went back into the day before
// (ClickHouse's lookupTz, which agrees for every zone changing its clocks
// at or around midnight).
func (l *chLut) dayStart(y int, m time.Month, d int) time.Time {
	mid := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var cands []time.Time
	for off := -14 * 3600; off <= 14*3600; off += 900 {
		c := mid.Add(-time.Duration(off) * time.Second)
		if l.wall(c).Equal(mid) {
			cands = append(cands, c)
		}
	}
	cands = append(cands, transitions(l.loc, mid.Add(-48*time.Hour), mid.Add(48*time.Hour))...)
	var best time.Time
	for _, c := range cands {
		if w := l.wall(c); w.Year() == y && w.Month() == m && w.Day() == d && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	return best
}

// day is one entry of ClickHouse's table: the start of the day, and when
// the offset changes that day, the seconds from the start to the change
// (counted on the clock before it) and the change.
type chDay struct {
	date              time.Time
	atChange, amount  int64
	year, month, mday int
}

func (l *chLut) day(y int, m time.Month, d int) chDay {
	c := chDay{date: l.dayStart(y, m, d), year: y, month: int(m), mday: d}
	mid := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for _, tr := range transitions(l.loc, c.date.Add(-time.Second), c.date.Add(30*time.Hour)) {
		if tr.Before(c.date) {
			continue // ClickHouse: cctz next_transition(start of day - 1s)
		}
		fromW := l.wall(tr.Add(-time.Second)).Add(time.Second) // the civil time before the change
		toW := l.wall(tr)
		sameDay := func(w time.Time) bool { return w.Year() == y && w.Month() == m && w.Day() == d }
		if (sameDay(fromW) || sameDay(toW)) && !fromW.Equal(toW) {
			c.atChange = int64(fromW.Sub(mid) / time.Second)
			c.amount = int64(toW.Sub(fromW) / time.Second)
			if c.atChange+c.amount < 0 {
				c.atChange = -c.amount
			}
		}
		break
	}
	return c
}

func (l *chLut) dayOf(t time.Time) chDay {
	w := l.wall(t)
	return l.day(w.Year(), w.Month(), w.Day())
}

func (l *chLut) startOfHour(t time.Time) time.Time {
	if l.wholeHours {
		return time.Unix(t.Unix()/3600*3600, 0)
	}
	date := l.dayOf(t).date.Unix()
	return time.Unix(date+(t.Unix()-date)/3600*3600, 0)
}

func (l *chLut) startOfMinuteInterval(t time.Time, minutes int64) time.Time {
	div := 60 * minutes
	if l.wholeMinutes {
		return time.Unix(t.Unix()/div*div, 0)
	}
	date := l.dayOf(t).date.Unix()
	return time.Unix(date+(t.Unix()-date)/div*div, 0)
}

func (l *chLut) startOfHourInterval(t time.Time, hours int64) time.Time {
	if hours == 1 {
		return l.startOfHour(t)
	}
	secs := hours * 3600
	v := l.dayOf(t)
	tm := t.Unix() - v.date.Unix()
	if tm >= v.atChange {
		tm += v.amount
		tm = tm / secs * secs
		if tm >= v.atChange {
			tm -= v.amount
			if tm < v.atChange {
				tm = v.atChange
			}
		}
	} else {
		tm = tm / secs * secs
	}
	return time.Unix(v.date.Unix()+tm, 0)
}

// startOfDayInterval: days counted from 1970-01-01 in the zone.
func (l *chLut) startOfDayInterval(t time.Time, days int) time.Time {
	w := l.wall(t)
	n := int(time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
	n = n / days * days
	d := time.Unix(int64(n)*86400, 0).UTC()
	return l.dayStart(d.Year(), d.Month(), d.Day())
}

// makeDateTime reads wall clock time w in the zone.
func (l *chLut) makeDateTime(w time.Time) time.Time {
	v := l.day(w.Year(), w.Month(), w.Day())
	off := int64(w.Hour()*3600 + w.Minute()*60 + w.Second())
	if off >= v.atChange {
		off -= v.amount
	}
	return time.Unix(v.date.Unix()+off, 0)
}

func (l *chLut) moveTo(t time.Time, to chDay) time.Time {
	v := l.dayOf(t)
	tm := t.Unix() - v.date.Unix()
	if tm >= v.atChange {
		tm += v.amount
	}
	if tm >= to.atChange {
		tm -= to.amount
	}
	return time.Unix(to.date.Unix()+tm, 0)
}

func (l *chLut) addDays(t time.Time, n int) time.Time {
	w := l.wall(t).AddDate(0, 0, n)
	return l.moveTo(t, l.day(w.Year(), w.Month(), w.Day()))
}

func (l *chLut) addMonths(t time.Time, n int) time.Time {
	w := l.wall(t)
	y, m := w.Year(), int(w.Month())-1+n
	y += m / 12
	if m%12 < 0 {
		y--
	}
	m = (m%12+12)%12 + 1
	d := w.Day()
	if last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	return l.moveTo(t, l.day(y, time.Month(m), d))
}
