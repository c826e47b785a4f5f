package aesql

import (
	"errors"
	"strings"
	"testing"
)

func colsString(cs []Column) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + ":" + c.Type
	}
	return strings.Join(parts, ", ")
}

func TestAnalyzeTypes(t *testing.T) {
	cases := []struct{ q, want string }{
		{"SELECT blob1, double1, timestamp, _sample_interval, index1, dataset FROM requests",
			"blob1:String, double1:Float64, timestamp:DateTime, _sample_interval:UInt32, index1:String, dataset:String"},
		{"SELECT count(), count(*), count(DISTINCT blob1), uniq(blob1), uniqExact(blob1), countIf(double1 > 1) FROM requests",
			"count():UInt64, count(*):UInt64, count(DISTINCT blob1):UInt64, uniq(blob1):UInt64, uniqExact(blob1):UInt64, countIf(double1 > 1):UInt64"},
		{"SELECT sum(double1), sum(_sample_interval), sum(toInt32(double1)), avg(_sample_interval), sumIf(double1, 1), avgIf(double1, 1) FROM requests",
			"sum(double1):Float64, sum(_sample_interval):UInt64, sum(toInt32(double1)):Int64, avg(_sample_interval):Float64, sumIf(double1, 1):Float64, avgIf(double1, 1):Float64"},
		{"SELECT min(blob1), max(timestamp), argMax(blob1, double1), first_value(double2), minIf(timestamp, 1) FROM requests",
			"min(blob1):String, max(timestamp):DateTime, argMax(blob1, double1):String, first_value(double2):Float64, minIf(timestamp, 1):DateTime"},
		{"SELECT quantile(0.9)(double1), quantiles(0.5, 0.9)(double1), quantileExactWeighted(0.5)(double1, _sample_interval), quantileWeighted(0.5, _sample_interval, 1), median(timestamp) FROM requests",
			"quantile(0.9)(double1):Float64, quantiles(0.5, 0.9)(double1):Array(Float64), quantileExactWeighted(0.5)(double1, _sample_interval):Float64, quantileWeighted(0.5, _sample_interval, 1):UInt32, median(timestamp):DateTime"},
		{"SELECT topK(5)(blob1), topK(double1), topKWeighted(3)(blob1, _sample_interval) FROM requests",
			"topK(5)(blob1):Array(String), topK(double1):Array(Float64), topKWeighted(3)(blob1, _sample_interval):Array(String)"},
		{"SELECT 1, 256, 65536, 4294967296, -1, -129, 1.5, 'x', true, NULL",
			"1:UInt8, 256:UInt16, 65536:UInt32, 4294967296:UInt64, -1:Int8, -129:Int16, 1.5:Float64, 'x':String, true:Bool, NULL:Nullable(Nothing)"},
		{"SELECT 1 + 1, 1 - 1, 2 * 3, 7 / 2, 7 % 2, intDiv(7, 2), -(1), double1 + 1 FROM requests",
			"1 + 1:UInt16, 1 - 1:Int16, 2 * 3:UInt16, 7 / 2:Float64, 7 % 2:UInt8, intDiv(7, 2):UInt8, -(1):Int8, double1 + 1:Float64"},
		{"SELECT double1 > 1, blob1 = 'a', NOT 1, 1 AND 0, blob1 LIKE 'a', blob1 IN ('a'), double1 BETWEEN 1 AND 2, blob1 IS NULL FROM requests",
			"double1 > 1:UInt8, blob1 = 'a':UInt8, NOT 1:UInt8, 1 AND 0:UInt8, blob1 LIKE 'a':UInt8, blob1 IN ('a'):UInt8, double1 BETWEEN 1 AND 2:UInt8, blob1 IS NULL:UInt8"},
		{"SELECT toYear(timestamp), toMonth(timestamp), toDayOfWeek(timestamp), toHour(timestamp), toYYYYMM(timestamp), toUnixTimestamp(timestamp) FROM requests",
			"toYear(timestamp):UInt16, toMonth(timestamp):UInt8, toDayOfWeek(timestamp):UInt8, toHour(timestamp):UInt8, toYYYYMM(timestamp):UInt32, toUnixTimestamp(timestamp):UInt32"},
		{"SELECT toStartOfDay(timestamp), toStartOfHour(timestamp), toStartOfMonth(timestamp), toStartOfYear(timestamp), toStartOfWeek(timestamp), toStartOfFiveMinutes(timestamp) FROM requests",
			"toStartOfDay(timestamp):DateTime, toStartOfHour(timestamp):DateTime, toStartOfMonth(timestamp):Date, toStartOfYear(timestamp):Date, toStartOfWeek(timestamp):Date, toStartOfFiveMinutes(timestamp):DateTime"},
		{"SELECT toStartOfInterval(timestamp, INTERVAL 1 DAY) a, toStartOfInterval(timestamp, INTERVAL '1' WEEK) b, toStartOfInterval(timestamp, INTERVAL 15 MINUTE) c FROM requests",
			"a:DateTime, b:Date, c:DateTime"},
		{"SELECT now(), today(), now() - INTERVAL 1 DAY, today() + 1, today() + INTERVAL 1 HOUR, toDateTime('2024-01-01 00:00:00'), toDate('2024-01-01')",
			"now():DateTime, today():Date, now() - INTERVAL 1 DAY:DateTime, today() + 1:Date, today() + INTERVAL 1 HOUR:DateTime, toDateTime('2024-01-01 00:00:00'):DateTime, toDate('2024-01-01'):Date"},
		{"SELECT length(blob1), empty(blob1), lower(blob1), lowerUTF8(blob1), startsWith(blob1, 'x'), position(blob1, 'x'), substring(blob1, 1, 2), format('{}', 1), formatDateTime(timestamp, '%F') FROM requests",
			"length(blob1):UInt64, empty(blob1):UInt8, lower(blob1):String, lowerUTF8(blob1):String, startsWith(blob1, 'x'):UInt8, position(blob1, 'x'):UInt64, substring(blob1, 1, 2):String, format('{}', 1):String, formatDateTime(timestamp, '%F'):String"},
		// a constant condition: ClickHouse folds if into the branch it takes
		{"SELECT if(1, 'a', 'b'), if(1, 1, -1), if(1, 1, 2.5), if(1, NULL, 1), if(0, 1, -1), if(NULL, 1, 2.5), multiIf(1, 'a', 'b'), CASE WHEN 1 THEN 1 END, coalesce(NULL, 1), ifNull(blob1, '') FROM requests",
			"if(1, 'a', 'b'):String, if(1, 1, -1):UInt8, if(1, 1, 2.5):UInt8, if(1, NULL, 1):Nullable(Nothing), if(0, 1, -1):Int8, if(NULL, 1, 2.5):Float64, multiIf(1, 'a', 'b'):String, CASE WHEN 1 THEN 1 END:Nullable(UInt8), coalesce(NULL, 1):UInt8, ifNull(blob1, ''):String"},
		{"SELECT if(double1 > 1, 1, -1), if(double1 > 1, 1, 2.5), if(double1 > 1, NULL, 1) FROM requests",
			"if(double1 > 1, 1, -1):Int16, if(double1 > 1, 1, 2.5):Float64, if(double1 > 1, NULL, 1):Nullable(UInt8)"},
		{"SELECT toUInt8(double1), toUInt32(blob1), toFloat64(1), hex(1), bin('a'), bitAnd(1, 256), bitNot(toUInt32(1)), bitTest(1, 0), bitCount(1) FROM requests",
			"toUInt8(double1):UInt8, toUInt32(blob1):UInt32, toFloat64(1):Float64, hex(1):String, bin('a'):String, bitAnd(1, 256):UInt16, bitNot(toUInt32(1)):UInt32, bitTest(1, 0):UInt8, bitCount(1):UInt8"},
		{"SELECT log(2), ln(2), pow(2, 3), round(double1), round(1), floor(double1, 1), ceil(2.5), abs(-1) FROM requests",
			"log(2):Float64, ln(2):Float64, pow(2, 3):Float64, round(double1):Float64, round(1):UInt8, floor(double1, 1):Float64, ceil(2.5):Float64, abs(-1):UInt8"},
		{"SELECT extract(YEAR FROM timestamp), CAST(double1 AS UInt32), CAST(1 AS String) FROM requests",
			"extract(YEAR FROM timestamp):UInt16, CAST(double1 AS UInt32):UInt32, CAST(1 AS String):String"},
		// time zones: ClickHouse's types name the zone; calendar functions
		// take it from an argument or from their argument's type
		{"SELECT toDateTime(timestamp, 'America/New_York') a, toDateTime(timestamp, 'UTC') b, now('Asia/Tokyo') c, toDateTime('2024-01-01 00:00:00', 'Asia/Kolkata') d, toDate(timestamp, 'Asia/Tokyo') e FROM requests",
			"a:DateTime('America/New_York'), b:DateTime('UTC'), c:DateTime('Asia/Tokyo'), d:DateTime('Asia/Kolkata'), e:Date"},
		{"SELECT toStartOfDay(timestamp, 'Europe/Berlin') a, toStartOfDay(toDateTime(timestamp, 'Europe/Berlin')) b, toStartOfMonth(timestamp, 'Europe/Berlin') c, toStartOfInterval(timestamp, INTERVAL 1 HOUR, 'Asia/Kolkata') d, toStartOfInterval(timestamp, INTERVAL 1 MONTH, 'Asia/Kolkata') e, toStartOfFiveMinutes(toDateTime(timestamp, 'Asia/Kolkata')) f FROM requests",
			"a:DateTime('Europe/Berlin'), b:DateTime('Europe/Berlin'), c:Date, d:DateTime('Asia/Kolkata'), e:Date, f:DateTime('Asia/Kolkata')"},
		{"SELECT toDateTime(timestamp, 'Asia/Tokyo') + INTERVAL 1 DAY a, if(1, toDateTime(timestamp, 'Asia/Tokyo'), timestamp) b, if(1, timestamp, toDateTime(timestamp, 'Asia/Tokyo')) c, toDateTime(toDateTime(timestamp, 'Asia/Tokyo')) e FROM requests",
			"a:DateTime('Asia/Tokyo'), b:DateTime('Asia/Tokyo'), c:DateTime, e:DateTime('Asia/Tokyo')"},
		{"SELECT max(toDateTime(timestamp, 'Asia/Tokyo')) a, topK(3)(toDateTime(timestamp, 'Asia/Tokyo')) d FROM requests",
			"a:DateTime('Asia/Tokyo'), d:Array(DateTime('Asia/Tokyo'))"},
		{"SELECT toHour(timestamp, 'Asia/Tokyo') b, formatDateTime(timestamp, '%F', 'Asia/Tokyo') c, toString(timestamp, 'Asia/Tokyo') d, toUnixTimestamp('2024-01-01 00:00:00', 'Asia/Tokyo') e FROM requests",
			"b:UInt8, c:String, d:String, e:UInt32"},
		{"SELECT CAST(toDateTime(timestamp, 'Asia/Tokyo') AS DateTime) a, CAST('2024-01-01 00:00:00' AS DateTime) b FROM requests", "a:DateTime, b:DateTime"},
		// bits of floats
		{"SELECT hex(double1) a, bin(double1) b, bitCount(double1) c FROM requests", "a:String, b:String, c:UInt8"},
	}
	for _, c := range cases {
		p, err := mustCompile(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := colsString(p.Columns); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.q, got, c.want)
		}
	}
}

func TestAnalyzeNames(t *testing.T) {
	cases := []struct{ q, want string }{
		// schema names alias positional columns
		{"SELECT endpoint, url, method, duration, status FROM requests", "endpoint:String, url:String, method:String, duration:Float64, status:Float64"},
		{"SELECT city, temp FROM weather WHERE humidity > 1", "city:String, temp:Float64"},
		// SELECT * lists the AE columns, not the schema names
		{"SELECT * FROM requests LIMIT 1", strings.TrimSuffix(strings.Join(func() []string {
			var s []string
			for _, c := range aeColumns {
				s = append(s, c+":"+aeColumnType(c).String())
			}
			return s
		}(), ", "), "")},
		// aliases: in WHERE, GROUP BY, HAVING, ORDER BY and other select items
		{"SELECT blob1 AS probe, count() AS n, n * 2 AS twice FROM requests WHERE probe != '' GROUP BY probe HAVING n > 1 ORDER BY twice DESC", "probe:String, n:UInt64, twice:UInt64"},
		{"SELECT double1 AS x, x + 1 AS y FROM requests WHERE y > 2", "x:Float64, y:Float64"},
		// an alias that shadows a column name wins (ClickHouse prefers aliases)
		{"SELECT blob2 AS blob1 FROM requests WHERE blob1 = 'GET'", "blob1:String"},
		// an alias defined in terms of the column of the same name
		{"SELECT double1 + 1 AS double1 FROM requests", "double1:Float64"},
		// qualified names
		{"SELECT r.blob2 FROM requests AS r", "r.blob2:String"},
		{"SELECT requests.blob1 FROM requests", "requests.blob1:String"},
		// subqueries: outer names are the inner output names
		{"SELECT probe_name, num_readings FROM (SELECT blob1 AS probe_name, count() as num_readings FROM weather GROUP BY probe_name)", "probe_name:String, num_readings:UInt64"},
		{"SELECT * FROM (SELECT blob1, count() FROM weather GROUP BY blob1)", "blob1:String, count():UInt64"},
		{"SELECT `count()` + 1 FROM (SELECT count() FROM weather)", "`count()` + 1:UInt64"},
		{"SELECT x FROM (SELECT y AS x FROM (SELECT blob1 AS y FROM requests))", "x:String"},
		{"SELECT `weird name` FROM (SELECT 1 AS `weird name`)", "weird name:UInt8"},
		// quoted dataset names and keywords
		{"SELECT count() FROM `Mixed-Case`", "count():UInt64"},
		{"SELECT count() FROM \"Mixed-Case\"", "count():UInt64"},
		// positional GROUP BY / ORDER BY
		{"SELECT blob1, count() FROM requests GROUP BY 1 ORDER BY 2 DESC", "blob1:String, count():UInt64"},
		// function names ignore ASCII case
		{"SELECT COUNT(), Sum(double1), MAX(timestamp) FROM requests", "COUNT():UInt64, Sum(double1):Float64, MAX(timestamp):DateTime"},
		{"SELECT TOSTARTOFDAY(timestamp), tostartofday(timestamp), toStartOfDay(timestamp) FROM requests", "TOSTARTOFDAY(timestamp):DateTime, tostartofday(timestamp):DateTime, toStartOfDay(timestamp):DateTime"},
		// column names keep the source text of the expression
		{"SELECT sum( double1 ),  double1*2 FROM requests GROUP BY double1", "sum( double1 ):Float64, double1*2:Float64"},
		// grouping: expressions built from group keys
		{"SELECT toStartOfDay(timestamp) AS d, toString(d), count() FROM requests GROUP BY d", "d:DateTime, toString(d):String, count():UInt64"},
		{"SELECT blob1 || 'x', count() FROM requests GROUP BY blob1", "blob1 || 'x':String, count():UInt64"},
		{"SELECT 1 FROM requests HAVING count() > 0", "1:UInt8"},
	}
	for _, c := range cases {
		p, err := mustCompile(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := colsString(p.Columns); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.q, got, c.want)
		}
	}
}

func TestAnalyzeErrors(t *testing.T) {
	cases := []struct{ q, tok, msg string }{
		{"SELECT nope FROM requests", "nope", "unknown column"},
		{"SELECT BLOB1 FROM requests", "BLOB1", "unknown column"},
		{"SELECT ſelect FROM requests", "ſelect", "unknown column"},
		{"SELECT blob1", "blob1", "unknown column"},
		{"SELECT * FROM nope", "nope", "unknown table"},
		{"SELECT * FROM information_schema", "information_schema", "unknown table"},
		{"SELECT * FROM duckdb_settings", "duckdb_settings", "unknown table"},
		{"SELECT * FROM REQUESTZ", "REQUESTZ", "unknown table"},
		{"SELECT x.blob1 FROM requests", "x.blob1", "unknown table qualifier"},
		{"SELECT read_csv('/etc/passwd')", "read_csv", "unknown function"},
		{"SELECT getenv('HOME')", "getenv", "unknown function"},
		{"SELECT current_setting('x')", "current_setting", "unknown function"},
		{"SELECT count() FROM requests WHERE count() > 1", "count", "not allowed in WHERE"},
		{"SELECT blob1, count() AS n FROM requests WHERE n > 1 GROUP BY blob1", "n", "not allowed in WHERE"},
		{"SELECT sum(count()) FROM requests", "count", "inside aggregate function"},
		{"SELECT blob1, count() FROM requests", "blob1", "neither aggregated nor in GROUP BY"},
		{"SELECT blob1 FROM requests GROUP BY blob2", "blob1", "neither aggregated nor in GROUP BY"},
		{"SELECT *, count() FROM requests", "*", "SELECT * cannot be combined with aggregation"},
		{"SELECT blob1 FROM requests HAVING blob1 = ''", "=", "HAVING needs GROUP BY"},
		{"SELECT blob1 FROM requests GROUP BY count()", "count", "not allowed in GROUP BY"},
		{"SELECT blob1 FROM requests ORDER BY 3", "3", "not in the select list"},
		{"SELECT DISTINCT blob1 FROM requests ORDER BY blob2", "blob2", "ORDER BY expressions must appear"},
		{"SELECT a AS x, b AS x FROM requests", "x", "defined twice"},
		{"SELECT x AS y, y AS x FROM requests", "y", "refers to itself"},
		{"SELECT blob1 + 1 FROM requests", "+", "needs numbers"},
		{"SELECT blob1 > 1 FROM requests", "1", "cannot compare String with UInt8"},
		{"SELECT double1 > 'abc' FROM requests", "'abc'", "cannot parse"},
		{"SELECT blob1 = double1 FROM requests", "double1", "cannot compare"},
		{"SELECT timestamp > 'yesterday' FROM requests", "'yesterday'", "cannot parse"},
		{"SELECT * FROM requests WHERE blob1", "blob1", "WHERE needs a condition"},
		{"SELECT sum(blob1) FROM requests", "blob1", "needs a number"},
		{"SELECT toStartOfInterval(timestamp, 5) FROM requests", "5", "needs an interval"},
		{"SELECT toStartOfInterval(timestamp, INTERVAL 0 MINUTE) FROM requests", "INTERVAL", "must be positive"},
		{"SELECT INTERVAL 1 DAY", "INTERVAL", "cannot be a result column"},
		{"SELECT now() + now()", "+", "cannot subtract or add two dates"},
		{"SELECT toDate(now()) - now()", "-", "cannot subtract or add two dates"},
		{"SELECT formatDateTime(now(), '%Q %x')", "%x", "unsupported format specifier"},
		{"SELECT formatDateTime(now(), blob1) FROM requests", "blob1", "must be a string literal"},
		{"SELECT toDateTime('2024-01-01', 'America/NewYork')", "'America/NewYork'", "unknown time zone 'America/NewYork'"},
		{"SELECT toHour(timestamp, 'america/new_york') FROM requests", "'america/new_york'", "unknown time zone"},
		{"SELECT toHour(timestamp, blob1) FROM requests", "blob1", "time zone of toHour must be a string literal"},
		{"SELECT now('ACT')", "'ACT'", "unknown time zone"},
		{"SELECT formatDateTime(now(), '%F', 'Mars/Olympus_Mons')", "'Mars/Olympus_Mons'", "unknown time zone"},
		{"SELECT toStartOfDay(now(), 'UTC'); DROP TABLE x", "DROP", "only one statement"},
		{"SELECT quantile(2)(double1) FROM requests", "2", "from 0 to 1"},
		{"SELECT quantile(double1)(double1) FROM requests", "double1", "must be numbers"},
		{"SELECT count(1, 2) FROM requests", "count", "takes 0 to 1 arguments"},
		{"SELECT lower() FROM requests", "lower", "takes 1 arguments"},
		{"SELECT lower(DISTINCT blob1) FROM requests", "lower", "does not take DISTINCT"},
		{"SELECT sum(*) FROM requests", "sum", "(*) is not allowed"},
		{"SELECT lower(1)(blob1) FROM requests", "lower", "not a parametric function"},
		{"SELECT topK(0)(blob1) FROM requests", "0", "from 1 to 1000000"},
		{"SELECT bitAnd(double1, 1) FROM requests", "double1", "needs an integer"},
		{"SELECT if(1, 'a', 1)", "1", "no common type"},
		{"SELECT format('{} {}', 1)", "'{} {}'", "only 1 are given"},
		{"SELECT format('{x}', 1)", "'{x}'", "may only hold"},
		{"SELECT toUInt8('abc')", "'abc'", "cannot parse"},
		{"SELECT extract(WEEK FROM now())", "WEEK", "unsupported unit"},
		{"SELECT CAST(1 AS Decimal)", "Decimal", "unsupported type"},
		{"SELECT if(1, count(), -1) FROM requests", "-1", "no common type"},
		{"SELECT x FROM (SELECT 1 AS x, 2 AS x)", "x", "defined twice"},
		{"SELECT x FROM (SELECT 1 x, 'a' y) WHERE z", "z", "unknown column"},
		{"SELECT blob1 FROM (SELECT blob2 FROM requests)", "blob1", "unknown column"},
		{"SELECT url FROM weather", "url", "unknown column"},
		{"SELECT * FROM (SELECT * FROM requests) WHERE endpoint = ''", "endpoint", "unknown column"},
		{"SELECT 1 FROM requests ORDER BY groupArray(topK(blob1))", "topK", "is inside aggregate function"},
	}
	for _, c := range cases {
		_, err := mustCompile(c.q)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v, want an *Error", c.q, err)
			continue
		}
		if e.Token != c.tok || !strings.Contains(e.Msg, c.msg) || e.Line < 1 || e.Col < 1 {
			t.Errorf("%s:\n got  token %q msg %q (%v)\n want token %q msg ~%q", c.q, e.Token, e.Msg, e, c.tok, c.msg)
		}
	}
}

func TestAliasExpansionBudget(t *testing.T) {
	// each alias doubles the expression: the analysed size explodes
	var b strings.Builder
	b.WriteString("SELECT double1 AS a0")
	for i := 1; i < 40; i++ {
		b.WriteString(", a" + itoa(i-1) + " + a" + itoa(i-1) + " AS a" + itoa(i))
	}
	b.WriteString(" FROM requests")
	_, err := mustCompile(b.String())
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "expression nodes") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestLimits(t *testing.T) {
	opts := Options{MaxQueryBytes: 20, MaxDepth: 3, MaxRows: 10}
	_, err := Compile("SELECT 1 + 1 + 1 + 1 + 1", newMarkerCatalog(), opts)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "the limit is 20 bytes") || e.Col != 21 {
		t.Errorf("MaxQueryBytes: %v", err)
	}
	_, err = Compile("SELECT abs(abs(1))", newMarkerCatalog(), opts)
	if err != nil {
		t.Errorf("depth 3: %v", err)
	}
	_, err = Compile("SELECT ((((1))))", newMarkerCatalog(), opts)
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "limit of 3 levels") {
		t.Errorf("MaxDepth: %v", err)
	}
	p, err := Compile("SELECT 1 FROM requests", newMarkerCatalog(), Options{MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Limit != 10 || !strings.HasSuffix(p.SQL, " LIMIT 11") {
		t.Errorf("MaxRows: Limit %d, SQL %s", p.Limit, p.SQL)
	}
	p, _ = Compile("SELECT 1 FROM requests LIMIT 5", newMarkerCatalog(), Options{MaxRows: 10})
	if !strings.HasSuffix(p.SQL, " LIMIT 5") {
		t.Errorf("user limit: %s", p.SQL)
	}
	p, _ = Compile("SELECT 1 FROM requests LIMIT 500 OFFSET 3", newMarkerCatalog(), Options{MaxRows: 10})
	if !strings.HasSuffix(p.SQL, " LIMIT 11 OFFSET 3") {
		t.Errorf("user limit over MaxRows: %s", p.SQL)
	}
	p, _ = Compile("SELECT * FROM (SELECT blob1 FROM requests LIMIT 1000) LIMIT ALL", newMarkerCatalog(), Options{MaxRows: 10})
	if !strings.Contains(p.SQL, " LIMIT 1000) AS t0 LIMIT 11") {
		t.Errorf("nested limits: %s", p.SQL)
	}
	p, _ = Compile("SHOW TABLES FORMAT TabSeparated", newMarkerCatalog(), Options{MaxRows: 2})
	if p.Kind != KindConst || len(p.Rows) != 2 || p.Format != FormatTabSeparated || p.Limit != 2 {
		t.Errorf("SHOW: %+v", p)
	}
}

func TestShow(t *testing.T) {
	p, err := mustCompile("SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindConst || colsString(p.Columns) != "dataset:String" || p.Format != FormatJSON || len(p.Rows) != 4 || p.Rows[0][0] != "Mixed-Case" {
		t.Errorf("SHOW TABLES: %+v", p)
	}
	p, _ = mustCompile("show timezone")
	if colsString(p.Columns) != "timezone:String" || p.Rows[0][0] != "Etc/UTC" {
		t.Errorf("SHOW TIMEZONE: %+v", p)
	}
	p, _ = mustCompile("SHOW TIMEZONES FORMAT JSONEachRow")
	if colsString(p.Columns) != "name:String" || p.Format != FormatJSONEachRow || len(p.Rows) == 0 {
		t.Errorf("SHOW TIMEZONES: %+v", p)
	}
	for _, r := range p.Rows {
		if _, err := mustCompile("SELECT toDateTime('2024-01-01 00:00:00', '" + r[0].(string) + "')"); err != nil {
			t.Errorf("listed time zone %s refused: %v", r[0], err)
		}
	}
}

func TestPrintedSizeBound(t *testing.T) {
	nested := "now()"
	for i := 0; i < 10; i++ {
		nested = "toDateTime(formatDateTime(" + nested + ", '" + strings.Repeat("%e", 500) + "'))"
	}
	for _, q := range []string{
		"SELECT " + strings.Repeat("log(", 30) + "1" + strings.Repeat(")", 30),
		"SELECT " + nested,
		"SELECT " + strings.Repeat("substring(", 20) + "'x'" + strings.Repeat(", 1, -1)", 20),
	} {
		_, err := mustCompile(q)
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "too complex") {
			t.Errorf("%.60s...: %v", q, err)
		}
	}
}

func TestLongChains(t *testing.T) {
	// flat AND/OR chains are one level; other operator chains are bounded
	// (ClickHouse's max_ast_depth is 1000)
	or := "SELECT count() FROM requests WHERE " + strings.Repeat("blob1 = 'x' OR ", 3000) + "1"
	if _, err := mustCompile(or); err != nil {
		t.Errorf("long OR chain: %v", err)
	}
	plus := "SELECT " + strings.Repeat("1 + ", 1200) + "1"
	if _, err := mustCompile(plus); err == nil || !strings.Contains(err.Error(), "1000 levels") {
		t.Errorf("1200 additions: %v", err)
	}
	// an alias repeated along a long chain prints in linear time
	big := strings.Repeat("toUInt64(", 20) + "double1" + strings.Repeat(")", 20)
	p, err := mustCompile("SELECT " + big + " AS a, " + strings.Repeat("a + ", 900) + "a FROM requests")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPrinted(p.SQL, p.sources); err != nil {
		t.Error(err)
	}
}

// TestTableNameCase checks that a table name resolves to the dataset of
// that exact name, else to the one dataset whose name differs only in ASCII
// case, and that a name matching several is refused.
func TestTableNameCase(t *testing.T) {
	p, err := mustCompile("SELECT city, WEATHER.temp FROM WEATHER")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.sources) != 1 || !strings.Contains(p.sources[0], "__scoped_marker_7 ") || p.Args[0] != "proj:weather" {
		t.Errorf("FROM WEATHER read %q (args %v), want the weather dataset", p.sources, p.Args)
	}
	if _, err := mustCompile("SELECT * FROM `mixed-case`"); err != nil {
		t.Errorf("FROM `mixed-case`: %v", err)
	}
	cat := newMarkerCatalog()
	cat.datasets = append(cat.datasets, "Weather")
	if p, err := Compile("SELECT * FROM weather", cat, DefaultOptions()); err != nil || p.Args[0] != "proj:weather" {
		t.Errorf("FROM weather with weather and Weather: %v, %v; want the exact match", err, p)
	}
	_, err = Compile("SELECT * FROM WEATHER", cat, DefaultOptions())
	var e *Error
	if !errors.As(err, &e) || e.Token != "WEATHER" || !strings.Contains(e.Msg, `ambiguous: it matches the datasets "Weather", "weather"`) {
		t.Errorf("FROM WEATHER with weather and Weather: %v, want a refusal naming both", err)
	}
	// Unicode case folding is not applied: K (Kelvin sign) is not k.
	if _, err := mustCompile("SELECT * FROM \u212aeather"); err == nil {
		t.Errorf("a Kelvin sign matched a dataset")
	}
}

// TestZoneErrors checks the refusals of time zone arguments name the zone
// and suggest the right spelling.
func TestZoneErrors(t *testing.T) {
	_, err := mustCompile("SELECT toHour(timestamp, 'europe/berlin') FROM requests")
	var e *Error
	if !errors.As(err, &e) || e.Token != "'europe/berlin'" || !strings.Contains(err.Error(), "did you mean `'Europe/Berlin'`") {
		t.Errorf("got %v", err)
	}
	_, err = mustCompile("SELECT toHour(timestamp, 'Nowhere') FROM requests")
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "unknown time zone 'Nowhere'") || !strings.Contains(err.Error(), "SHOW TIMEZONES") {
		t.Errorf("got %v", err)
	}
}
