package aesql

import (
	"sort"
	"strings"
)

// Time zones. A DateTime is an instant; its type may name a time zone
// (DateTime('America/New_York')), which decides how the value is displayed
// and how calendar functions (toHour, toStartOfDay, formatDateTime, ...)
// compute, as in ClickHouse. The zone names accepted are the IANA names of
// zoneTable (zones_table.go, generated from Go's copy of the tz database,
// every one of them known to DuckDB's ICU extension, which computes the
// offsets at run time). A zone name in a query is checked against the
// table and reaches the backend as a bound parameter holding the table's
// own spelling.

// zoneKind says how a zone's UTC offset behaves over the DateTime range
// (1970-01-01 to 2106-02-07, ClickHouse's UInt32 seconds).
type zoneKind uint8

const (
	// zoneUTC: the offset is always 0; the zone computes like UTC.
	zoneUTC zoneKind = iota + 1
	// zoneFixed: the offset is always zoneInfo.offset seconds.
	zoneFixed
	// zoneRules: the offset changes (daylight saving time, changes of
	// standard time); the backend looks it up in the tz database.
	zoneRules
)

// zoneInfo describes one time zone of zoneTable.
type zoneInfo struct {
	name   string
	kind   zoneKind
	offset int32 // zoneFixed: seconds east of UTC
	// wholeHours and wholeMinutes: every offset the zone has in the
	// DateTime range is a whole number of hours (minutes). ClickHouse
	// rounds to hours (minutes) on the UTC time line for such zones and
	// from the start of the local day otherwise.
	wholeHours, wholeMinutes bool
}

var zoneByName = func() map[string]*zoneInfo {
	m := make(map[string]*zoneInfo, len(zoneTable))
	for i := range zoneTable {
		m[zoneTable[i].name] = &zoneTable[i]
	}
	return m
}()

// lookupZone returns the zone named exactly name (names are case-sensitive,
// as in ClickHouse).
func lookupZone(name string) (*zoneInfo, bool) {
	z, ok := zoneByName[name]
	return z, ok
}

// zoneOf returns the zone of a DateTime type's time zone name: nil for ""
// (the server's zone, UTC) and for zones that compute like UTC.
func zoneOf(name string) *zoneInfo {
	if name == "" {
		return nil
	}
	z, ok := zoneByName[name]
	if !ok {
		panic("BUG: time zone " + name + " is not in the zone table")
	}
	if z.kind == zoneUTC {
		return nil
	}
	return z
}

// zoneSuggestion names a supported zone that differs from name only in
// ASCII case, or "".
func zoneSuggestion(name string) string {
	for i := range zoneTable {
		if strings.EqualFold(zoneTable[i].name, name) {
			return zoneTable[i].name
		}
	}
	return ""
}

// ZoneNames lists the supported time zone names, sorted (SHOW TIMEZONES).
func ZoneNames() []string {
	out := make([]string, len(zoneTable))
	for i := range zoneTable {
		out[i] = zoneTable[i].name
	}
	sort.Strings(out)
	return out
}
