package aesql

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.sql from the printer's output")

// goldenQueries are representative queries whose DuckDB SQL is kept in
// testdata/golden/<name>.sql. Run go test -run TestGolden -update after a
// deliberate printer change, and review the diff.
var goldenQueries = []struct{ name, q string }{
	{"select_columns", "SELECT timestamp, blob1 AS location_id, double1 AS inside_temp FROM requests WHERE timestamp > NOW() - INTERVAL '1' DAY"},
	{"group_having_order", "SELECT index1 AS location_id, SUM(_sample_interval) AS n_readings FROM requests WHERE blob2 IN ('GET', 'POST') GROUP BY location_id HAVING n_readings > 10 ORDER BY n_readings DESC LIMIT 10"},
	{"weighted_average", "SELECT endpoint, SUM(_sample_interval * duration) / SUM(_sample_interval) AS average FROM requests GROUP BY endpoint ORDER BY 2 DESC"},
	{"time_buckets", "SELECT toStartOfInterval(timestamp, INTERVAL '5' MINUTE) AS t, blob1 AS city, count() FROM weather GROUP BY t, city ORDER BY t ASC FORMAT JSONEachRow"},
	{"nested_subqueries", "SELECT probe, n FROM (SELECT blob1 AS probe, count() AS n FROM (SELECT * FROM weather WHERE double1 > 0) GROUP BY probe) WHERE n > 1 ORDER BY probe"},
	{"quantiles_topk", "SELECT quantileExactWeighted(0.95)(duration, _sample_interval) AS p95, quantiles(0.5, 0.9)(duration), topK(3)(url), topKWeighted(3)(method, _sample_interval) FROM requests"},
	{"strings_and_conditionals", "SELECT if(status >= 400, 'error', 'ok') AS kind, lower(url), position(':' IN url), substring(url, 1, 4), url LIKE '/api/%' FROM requests WHERE NOT startsWith(url, '/static')"},
	{"dates", "SELECT formatDateTime(timestamp, '%Y-%m-%d %H:%i:%S'), toDayOfWeek(timestamp), toStartOfWeek(timestamp), toUnixTimestamp(timestamp), toYYYYMM(timestamp) FROM requests WHERE timestamp BETWEEN '2025-01-01 00:00:00' AND '2025-12-31'"},
	{"bits_and_casts", "SELECT bitAnd(toUInt8(double1), 1), bitShiftLeft(toUInt32(double2), 2), hex(toUInt32(double1)), toUInt8(300), round(double1, 2) FROM requests"},
	{"count_if_distinct", "SELECT countIf(status >= 500) AS errors, count(DISTINCT url), uniq(method), sumIf(duration, method = 'POST') FROM requests"},
	{"time_zones", "SELECT toStartOfDay(timestamp, 'America/New_York') AS day, toHour(timestamp, 'Asia/Kolkata') AS h, formatDateTime(max(timestamp), '%F %z', 'Europe/Berlin'), count() FROM requests WHERE toDateTime(timestamp, 'America/New_York') >= '2025-03-09 02:30:00' GROUP BY day, h ORDER BY day LIMIT 5"},
	{"distinct_limit", "SELECT DISTINCT toDateTime(timestamp, 'Asia/Tokyo') AS t FROM requests ORDER BY t DESC LIMIT 2 OFFSET 1"},
	{"float_bits", "SELECT hex(double1), bin(double1), bitCount(double1) FROM requests"},
}

func TestGolden(t *testing.T) {
	for _, g := range goldenQueries {
		t.Run(g.name, func(t *testing.T) {
			p, err := mustCompile(g.q)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "-- %s\n", g.q)
			for i, a := range p.Args {
				fmt.Fprintf(&b, "-- $%d = %#v\n", i+1, a)
			}
			for _, c := range p.Columns {
				fmt.Fprintf(&b, "-- column %q %s\n", c.Name, c.Type)
			}
			b.WriteString(p.SQL)
			b.WriteString("\n")
			if p.CountSQL != "" {
				b.WriteString("-- rows before LIMIT:\n")
				b.WriteString(p.CountSQL)
				b.WriteString("\n")
			}
			path := filepath.Join("testdata", "golden", g.name+".sql")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if string(want) != b.String() {
				t.Errorf("printed SQL differs from %s (go test -run TestGolden -update rewrites it):\n got:\n%s\n want:\n%s", path, b.String(), want)
			}
			if err := checkPrinted(p.SQL, p.sources); err != nil {
				t.Error(err)
			}
			if p.CountSQL != "" {
				if err := checkPrinted(p.CountSQL, p.sources); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestGoldenQueriesRun runs the golden queries on DuckDB.
func TestGoldenQueriesRun(t *testing.T) {
	for _, g := range goldenQueries {
		p, rows, err := runDuck(t, g.q)
		if err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		checkGoTypes(t, p, rows)
	}
}
