# The ClickHouse differential corpus: queries a user pastes into Workers Analytics Engine
# or ClickHouse, run by ClickHouse (answers.txt, clickhouse_record_test.go) and by Alidade
# (corpus_test.go) over the same generated data (corpusData in corpus_data_test.go):
# datasets reqs (2400 web requests) and weather (600 hourly readings).
# Each query starts with a line "-- <id>"; ids are stable (add new ones at a section's end).

# ---- doc: Workers Analytics Engine documentation examples (sql-api, sql-reference, the how-to guides), with fixed times instead of NOW() ----

-- doc-01
SELECT 'Hello Workers Analytics Engine' AS message

-- doc-02
SELECT
    timestamp,
    blob1 AS location_id,
    double1 AS inside_temp,
    double2 AS outside_temp
FROM weather
WHERE timestamp > toDateTime('2025-04-13 18:00:00')
ORDER BY timestamp

-- doc-03
SELECT
    index1 AS location_id,
    SUM(_sample_interval) AS n_readings
FROM weather
WHERE timestamp > toDateTime('2025-04-06 00:00:00')
GROUP BY index1
ORDER BY location_id

-- doc-04
SELECT
    index1 AS location_id,
    SUM(_sample_interval * double1) / SUM(_sample_interval) AS average_temp
FROM weather
GROUP BY index1
ORDER BY location_id

-- doc-05
SELECT
    blob1 AS path,
    SUM(_sample_interval) AS visits
FROM reqs
GROUP BY path
ORDER BY visits DESC, path
LIMIT 5

-- doc-06
SELECT
    intDiv(toUInt32(timestamp), 300) * 300 AS t,
    blob2 AS method,
    SUM(_sample_interval) AS count
FROM reqs
WHERE timestamp >= toDateTime('2025-03-29 00:00:00') AND timestamp < toDateTime('2025-03-29 01:00:00')
GROUP BY t, method
ORDER BY t, method

-- doc-07
SELECT
    toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS hour,
    SUM(_sample_interval) AS requests
FROM reqs
WHERE timestamp < toDateTime('2025-03-29 06:00:00')
GROUP BY hour
ORDER BY hour

-- doc-08
SELECT blob3 AS country, SUM(_sample_interval) AS n, SUM(_sample_interval * double1) / SUM(_sample_interval) AS avg_ms
FROM reqs
WHERE blob3 != ''
GROUP BY country
ORDER BY n DESC, country

-- doc-09
SELECT quantileWeighted(0.99)(double1, _sample_interval) AS p99 FROM reqs

-- doc-10
SELECT quantileExactWeighted(0.5)(double1, _sample_interval) AS p50 FROM reqs

-- doc-11
SELECT index1, quantileWeighted(0.5)(double1, _sample_interval) AS median_ms FROM reqs GROUP BY index1 ORDER BY index1 LIMIT 10

-- doc-12
SELECT topKWeighted(3)(blob2, _sample_interval) AS methods FROM reqs

-- doc-13
SELECT count() AS rows, sum(_sample_interval) AS estimated FROM reqs

-- doc-14
SELECT dataset, count() FROM reqs GROUP BY dataset

-- doc-15
SELECT blob1, double1 FROM reqs WHERE double1 > 299 ORDER BY double1 DESC, blob1 LIMIT 5

-- doc-16
SELECT index1 AS user, count() AS c FROM reqs WHERE index1 IN ('u1', 'u2', 'u3') GROUP BY user ORDER BY user

-- doc-17
SELECT toStartOfDay(timestamp) AS day, sum(_sample_interval) AS n FROM reqs GROUP BY day ORDER BY day

-- doc-18
SELECT formatDateTime(timestamp, '%Y-%m-%d %H:00') AS hour, count() AS c FROM weather WHERE index1 = 'Oslo' GROUP BY hour ORDER BY hour LIMIT 4

-- doc-19
SELECT blob2 AS method, avg(double1) AS avg_duration, max(double1) AS max_duration FROM reqs GROUP BY method ORDER BY method

-- doc-20
SELECT double2 AS status, count() AS c FROM reqs WHERE double2 >= 400 GROUP BY status ORDER BY status

# ---- sel: SELECT basics: columns, literals, arithmetic, WHERE, DISTINCT, LIMIT, OFFSET ----

-- sel-01
SELECT 1

-- sel-02
SELECT 1 AS one, 'a' AS s, 2.5 AS f, -3 AS n

-- sel-03
SELECT 1 + 1, 2 * 3, 7 / 2, 7 - 10

-- sel-04
SELECT 255 + 1 AS a, 65535 + 1 AS b, 4294967295 + 1 AS c

-- sel-05
SELECT -128 AS a, -129 AS b, 18446744073709551615 AS c

-- sel-06
SELECT 1e3 AS a, 0.1 + 0.2 AS b, 1 / 0 AS c, -1 / 0 AS d

-- sel-07
SELECT 'it''s' AS a, 'back\\slash' AS b, 'tab\there' AS c

-- sel-08
SELECT count() FROM reqs

-- sel-09
SELECT count(*) FROM weather

-- sel-10
SELECT timestamp, index1, blob1, double1 FROM weather ORDER BY timestamp LIMIT 3

-- sel-11
SELECT timestamp, _sample_interval FROM reqs ORDER BY timestamp LIMIT 12

-- sel-12
SELECT * FROM weather ORDER BY timestamp LIMIT 1

-- sel-13
SELECT blob1 FROM weather ORDER BY timestamp DESC LIMIT 2

-- sel-14
SELECT index1, double1 FROM weather WHERE double1 < -5 ORDER BY double1, timestamp LIMIT 5

-- sel-15
SELECT count() FROM reqs WHERE blob2 = 'GET' AND double2 = 200

-- sel-18
SELECT count() FROM reqs WHERE blob3 IN ('US', 'DE')

-- sel-19
SELECT count() FROM reqs WHERE blob3 NOT IN ('US', 'DE', '')

-- sel-20
SELECT count() FROM reqs WHERE double1 BETWEEN 100 AND 200

-- sel-21
SELECT count() FROM reqs WHERE double1 NOT BETWEEN 100 AND 200

-- sel-22
SELECT count() FROM reqs WHERE blob1 LIKE '/api/%'

-- sel-24
SELECT count() FROM reqs WHERE blob4 ILIKE 'mozilla%'

-- sel-25
SELECT count() FROM reqs WHERE blob1 LIKE '/api/users_%'

-- sel-26
SELECT DISTINCT blob2 FROM reqs ORDER BY blob2

-- sel-27
SELECT DISTINCT blob3 FROM reqs ORDER BY blob3

-- sel-29
SELECT timestamp FROM reqs ORDER BY timestamp LIMIT 3 OFFSET 5

-- sel-30
SELECT timestamp FROM reqs ORDER BY timestamp LIMIT 5, 3

-- sel-32
SELECT timestamp FROM reqs ORDER BY timestamp LIMIT 0

-- sel-33
SELECT double1 * 2 AS twice, double1 / 4 AS quarter, double1 - double4 AS diff FROM reqs ORDER BY timestamp LIMIT 4

-- sel-35
SELECT 1 = 1, 1 != 2, 2 < 1, 'a' < 'b', 1 <> 1

-- sel-36
SELECT 1 AND 0, 1 OR 0, NOT 1, 1 AND NULL, 0 OR NULL

-- sel-37
SELECT NULL AS n, NULL + 1 AS m

-- sel-38
SELECT blob1 AS path, count() AS c FROM reqs GROUP BY path HAVING c > 280 ORDER BY path

-- sel-39
SELECT double3 FROM reqs ORDER BY double3 DESC LIMIT 3

-- sel-41
SELECT blob4 FROM reqs WHERE blob4 LIKE '%\t%' OR blob4 LIKE '%\n%' ORDER BY blob4

-- sel-42
SELECT timestamp, blob4 FROM reqs WHERE blob4 LIKE 'Grüße%' ORDER BY timestamp LIMIT 2

-- sel-43
SELECT 2 + 3 * 4 AS a, (2 + 3) * 4 AS b, -2 * -3 AS c, 10 - 2 - 3 AS d, 2 * 3 % 4 AS e

# ---- agg: aggregate functions ----

-- agg-01
SELECT sum(double1), avg(double1), min(double1), max(double1) FROM reqs

-- agg-02
SELECT sum(_sample_interval), avg(_sample_interval), min(_sample_interval), max(_sample_interval) FROM reqs

-- agg-03
SELECT sum(double3) AS s, toTypeName(sum(double3)) AS t FROM reqs

-- agg-04
SELECT min(blob1) AS a, max(blob1) AS b, min(timestamp) AS c, max(timestamp) AS d FROM reqs

-- agg-05
SELECT count(blob3) AS a, count(DISTINCT blob3) AS b, count(DISTINCT index1) AS c FROM reqs

-- agg-06
SELECT sum(DISTINCT double2) AS a, avg(DISTINCT double2) AS b FROM reqs

-- agg-07
SELECT countIf(double2 >= 500) AS errors, countIf(blob2 = 'GET') AS gets FROM reqs

-- agg-08
SELECT sumIf(double1, blob2 = 'POST') AS a, avgIf(double1, blob2 = 'POST') AS b FROM reqs

-- agg-09
SELECT sumIf(_sample_interval, double2 = 404) AS a, minIf(double1, double2 = 404) AS b, maxIf(double1, double2 = 404) AS c FROM reqs

-- agg-10
SELECT uniq(index1) AS a, uniqExact(index1) AS b, uniq(blob1, blob2) AS c, uniqExact(blob1, blob2) AS d FROM reqs

-- agg-11
SELECT uniqIf(index1, blob2 = 'DELETE') AS a FROM reqs

-- agg-12
SELECT blob2, uniqExact(blob1) AS paths, uniqExact(index1) AS users FROM reqs GROUP BY blob2 ORDER BY blob2

-- agg-13
SELECT argMax(blob1, timestamp) AS last_path, argMin(blob1, timestamp) AS first_path FROM reqs

-- agg-14
SELECT index1, argMax(double1, timestamp) AS last_temp, argMin(double1, timestamp) AS first_temp FROM weather GROUP BY index1 ORDER BY index1

-- agg-15
SELECT argMax(timestamp, double3) AS t FROM reqs

-- agg-16
SELECT any(blob1) AS a FROM weather WHERE index1 = 'Oslo'

-- agg-17
SELECT index1, any(blob1) AS city, anyLast(blob1) AS city2 FROM weather GROUP BY index1 ORDER BY index1

-- agg-18
SELECT anyLast(dataset) AS d FROM reqs

-- agg-20
SELECT avg(double1) FROM reqs WHERE double1 > 1000

-- agg-21
SELECT sum(double1) AS s, count() AS c, min(double1) AS mn FROM reqs WHERE double1 > 1000

-- agg-22
SELECT index1, sum(_sample_interval) AS n FROM reqs GROUP BY index1 ORDER BY n DESC, index1 LIMIT 5

-- agg-24
SELECT sum(double4) AS s, avg(double4) AS a FROM reqs

-- agg-25
SELECT avg(double5), sum(double5 = 0) AS zeros FROM reqs

-- agg-27
SELECT first_value(blob1) AS f FROM (SELECT blob1 FROM weather WHERE index1 = 'Tokyo')

-- agg-28
SELECT sum(_sample_interval * double3) AS bytes_estimate FROM reqs

-- agg-30
SELECT blob2, count() AS c, sum(_sample_interval) AS w FROM reqs GROUP BY blob2 HAVING w > 1000 ORDER BY w DESC

-- agg-31
SELECT groupArray(blob1) AS a FROM weather WHERE timestamp < toDateTime('2025-03-20 03:00:00') AND index1 = 'Oslo'

-- agg-32
SELECT index1, groupArray(blob2) AS conds FROM weather WHERE timestamp < toDateTime('2025-03-20 04:00:00') GROUP BY index1 ORDER BY index1

-- agg-33
SELECT length(groupArray(double1)) AS n FROM weather

-- agg-35
SELECT avg(toUInt32(double2)) AS a, sum(toUInt32(double2)) AS b, toTypeName(sum(toUInt32(double2))) AS t FROM weather

-- agg-36
SELECT sum(toInt8(1)) AS a, toTypeName(sum(toInt8(1))) AS t FROM weather

-- agg-37
SELECT max(double1) AS m, argMax(index1, double1) AS hottest FROM weather

-- agg-40
SELECT index1, countIf(blob2 = 'rain') AS r, countIf(blob2 = 'sun') AS s FROM weather GROUP BY index1 ORDER BY index1

-- agg-41
SELECT median(double1) AS m FROM weather

-- agg-42
SELECT median(double2) AS m, toTypeName(median(double2)) AS t FROM weather

-- agg-43
SELECT count(), sum(double1) FROM weather WHERE 0

-- agg-44
SELECT blob1, count() FROM weather WHERE 0 GROUP BY blob1

# ---- qnt: quantiles ----

-- qnt-01
SELECT quantile(0.5)(double1) AS q FROM reqs

-- qnt-02
SELECT quantile(double1) AS q FROM reqs

-- qnt-04
SELECT quantile(0)(double1) AS a, quantile(1)(double1) AS b FROM weather

-- qnt-05
SELECT quantiles(0.1, 0.5, 0.9)(double1) AS q FROM reqs

-- qnt-06
SELECT quantiles(0.25, 0.75)(double2) AS q FROM weather

-- qnt-07
SELECT index1, quantile(0.5)(double1) AS q FROM weather GROUP BY index1 ORDER BY index1

-- qnt-08
SELECT quantileExact(0.5)(double1) AS q FROM reqs

-- qnt-09
SELECT quantileExact(0.9)(double1) AS q FROM weather

-- qnt-10
SELECT quantileExact(double2) AS q FROM weather

-- qnt-11
SELECT quantilesExact(0.1, 0.5, 0.99)(double1) AS q FROM reqs

-- qnt-12
SELECT quantileExactWeighted(0.9)(double1, _sample_interval) AS q FROM reqs

-- qnt-13
SELECT quantileWeighted(0.5)(double1, _sample_interval) AS q FROM reqs

-- qnt-14
SELECT quantileIf(0.5)(double1, blob2 = 'GET') AS q FROM reqs

-- qnt-15
SELECT quantileIf(0.9)(double1, double2 >= 400) AS q FROM reqs

-- qnt-16
SELECT blob2, quantileExact(0.5)(double2) AS q FROM reqs GROUP BY blob2 ORDER BY blob2

-- qnt-17
SELECT quantile(0.5)(toUInt32(double2)) AS q, toTypeName(quantile(0.5)(toUInt32(double2))) AS t FROM weather

-- qnt-18
SELECT quantileExact(0.5)(toUInt32(double2)) AS q, toTypeName(quantileExact(0.5)(toUInt32(double2))) AS t FROM weather

-- qnt-20
SELECT quantile(0.5)(timestamp) AS t FROM weather

-- qnt-21
SELECT quantileExactWeighted(0.5)(toUInt32(double2), _sample_interval) AS q, toTypeName(quantileExactWeighted(0.5)(toUInt32(double2), _sample_interval)) AS t FROM reqs

-- qnt-22
SELECT quantile(0.5)(double1) FROM weather WHERE 0

# ---- topk: topK ----

-- topk-01
SELECT topK(3)(blob2) AS t FROM reqs

-- topk-02
SELECT topK(blob2) AS t FROM reqs

-- topk-03
SELECT topK(1)(blob3) AS t FROM reqs

-- topk-04
SELECT topK(1)(blob2) AS t FROM weather

-- topk-05
SELECT topK(3)(double2) AS t FROM reqs

-- topk-06
SELECT index1, topK(1)(blob2) AS t FROM weather GROUP BY index1 ORDER BY index1

-- topk-07
SELECT topKWeighted(2)(blob2, _sample_interval) AS t FROM reqs

-- topk-08
SELECT toTypeName(topK(2)(blob2)) AS a, toTypeName(topK(2)(double2)) AS b FROM reqs

# ---- date: dates and times ----

-- date-01
SELECT toDateTime('2025-03-29 12:34:56') AS t, toTypeName(t) AS tt

-- date-02
SELECT toDate('2025-03-29') AS d, toTypeName(d) AS t

-- date-03
SELECT toDate(timestamp) AS d, count() AS c FROM reqs GROUP BY d ORDER BY d

-- date-04
SELECT toYear(timestamp) AS y, toMonth(timestamp) AS m, count() FROM weather GROUP BY y, m ORDER BY y, m

-- date-05
SELECT toQuarter(timestamp) AS q, toDayOfYear(timestamp) AS doy, toDayOfMonth(timestamp) AS dom, toDayOfWeek(timestamp) AS dow FROM weather ORDER BY timestamp LIMIT 1

-- date-06
SELECT toHour(timestamp) AS h, toMinute(timestamp) AS m, toSecond(timestamp) AS s FROM reqs ORDER BY timestamp LIMIT 5

-- date-07
SELECT toDayOfWeek(timestamp) AS dow, count() AS c FROM weather GROUP BY dow ORDER BY dow

-- date-09
SELECT toYYYYMM(timestamp) AS ym, count() FROM weather GROUP BY ym ORDER BY ym

-- date-11
SELECT toTypeName(toYYYYMM(timestamp)) AS a, toTypeName(toYear(timestamp)) AS b, toTypeName(toHour(timestamp)) AS c, toTypeName(toDayOfYear(timestamp)) AS d FROM weather LIMIT 1

-- date-12
SELECT toUnixTimestamp(timestamp) AS u FROM reqs ORDER BY timestamp LIMIT 2

-- date-13
SELECT toUnixTimestamp('2025-03-29 00:00:00') AS u

-- date-14
SELECT toDateTime(1743206400) AS t

-- date-15
SELECT toStartOfMinute(timestamp) AS a, toStartOfFiveMinutes(timestamp) AS b, toStartOfTenMinutes(timestamp) AS c, toStartOfFifteenMinutes(timestamp) AS d FROM reqs ORDER BY timestamp LIMIT 6

-- date-16
SELECT toStartOfHour(timestamp) AS h, count() AS c FROM reqs GROUP BY h ORDER BY h LIMIT 5

-- date-17
SELECT toStartOfDay(timestamp) AS d, toTypeName(d) AS t FROM weather ORDER BY timestamp LIMIT 1

-- date-18
SELECT toStartOfMonth(timestamp) AS m, count() AS c FROM weather GROUP BY m ORDER BY m

-- date-20
SELECT toTypeName(toStartOfMonth(timestamp)) AS a, toTypeName(toStartOfHour(timestamp)) AS b FROM weather LIMIT 1

-- date-21
SELECT toMonday(timestamp) AS w, count() AS c FROM weather GROUP BY w ORDER BY w

-- date-22
SELECT toStartOfWeek(timestamp) AS w, count() AS c FROM weather GROUP BY w ORDER BY w

-- date-23
SELECT toStartOfWeek(timestamp, 1) AS w, count() AS c FROM weather GROUP BY w ORDER BY w

-- date-24
SELECT toStartOfInterval(timestamp, INTERVAL 15 MINUTE) AS t, count() AS c FROM reqs GROUP BY t ORDER BY t LIMIT 4

-- date-25
SELECT toStartOfInterval(timestamp, INTERVAL 6 HOUR) AS t, count() AS c FROM weather GROUP BY t ORDER BY t LIMIT 5

-- date-26
SELECT toStartOfInterval(timestamp, INTERVAL 1 DAY) AS t, count() AS c FROM reqs GROUP BY t ORDER BY t

-- date-27
SELECT toStartOfInterval(timestamp, INTERVAL 2 DAY) AS t, count() AS c FROM weather GROUP BY t ORDER BY t LIMIT 4

-- date-28
SELECT toStartOfInterval(timestamp, INTERVAL 1 WEEK) AS t, count() AS c FROM weather GROUP BY t ORDER BY t

-- date-29
SELECT toStartOfInterval(timestamp, INTERVAL 1 MONTH) AS t, count() AS c FROM weather GROUP BY t ORDER BY t

-- date-30
SELECT toStartOfInterval(timestamp, INTERVAL 90 SECOND) AS t FROM reqs ORDER BY timestamp LIMIT 3

-- date-31
SELECT toStartOfInterval(timestamp, INTERVAL '5' MINUTE) AS t FROM reqs ORDER BY timestamp LIMIT 3

-- date-32
SELECT timestamp + INTERVAL 1 HOUR AS a, timestamp - INTERVAL 30 MINUTE AS b FROM weather ORDER BY timestamp LIMIT 1

-- date-33
SELECT timestamp + INTERVAL 1 DAY AS a, timestamp - INTERVAL 1 MONTH AS b FROM weather ORDER BY timestamp LIMIT 1

-- date-34
SELECT toDate('2025-03-31') + INTERVAL 1 MONTH AS a, toDate('2025-01-31') + INTERVAL 1 MONTH AS b

-- date-35
SELECT count() FROM reqs WHERE timestamp >= toDateTime('2025-03-30 00:00:00') AND timestamp < toDateTime('2025-03-31 00:00:00')

-- date-37
SELECT count() FROM weather WHERE toDate(timestamp) = '2025-04-01'

-- date-38
SELECT count() FROM weather WHERE toDate(timestamp) = toDate('2025-04-01')

-- date-39
SELECT formatDateTime(timestamp, '%Y-%m-%d %H:%M:%S') AS a, formatDateTime(timestamp, '%F %T') AS b FROM weather ORDER BY timestamp LIMIT 2

-- date-40
SELECT formatDateTime(timestamp, '%d/%m/%y %I %p') AS a, formatDateTime(timestamp, '%j %u %w') AS b FROM weather ORDER BY timestamp LIMIT 14, 2

-- date-41
SELECT formatDateTime(toDateTime('2025-04-02 13:05:09'), '%D %R %e %H%%') AS a

-- date-42
SELECT dateDiff('second', toDateTime('2025-03-29 00:00:00'), toDateTime('2025-03-29 01:00:00')) AS a

-- date-43
SELECT dateDiff('day', toDate('2025-03-01'), toDate('2025-04-01')) AS a, dateDiff('month', toDate('2025-01-31'), toDate('2025-03-01')) AS b

-- date-44
SELECT dateDiff('hour', min(timestamp), max(timestamp)) AS hours FROM weather

-- date-45
SELECT dateDiff('minute', toDateTime('2025-03-29 00:00:00'), timestamp) AS m FROM reqs ORDER BY timestamp LIMIT 3

-- date-46
SELECT toDateTime(toDate('2025-03-29')) AS t

-- date-49
SELECT toString(toDate(timestamp)) AS s FROM weather ORDER BY timestamp LIMIT 1

-- date-50
SELECT toUInt32(timestamp) AS u FROM weather ORDER BY timestamp LIMIT 1

-- date-51
SELECT toStartOfDay(timestamp) + INTERVAL 12 HOUR AS noon FROM weather ORDER BY timestamp LIMIT 1

-- date-52
SELECT max(timestamp) - min(timestamp) AS span FROM reqs

-- date-53
SELECT toDate(timestamp) - toDate('2025-03-20') AS days FROM weather ORDER BY timestamp DESC LIMIT 1

-- date-54
SELECT toStartOfInterval(toDateTime('2025-03-29 10:37:00'), INTERVAL 10 MINUTE) AS a

# ---- tz: time zones ----

-- tz-01
SELECT toDateTime(timestamp, 'Europe/Berlin') AS t FROM reqs ORDER BY timestamp LIMIT 1

-- tz-02
SELECT toTypeName(toDateTime(timestamp, 'Asia/Tokyo')) AS t FROM reqs LIMIT 1

-- tz-03
SELECT toDateTime('2025-03-29 12:00:00', 'America/New_York') AS t, toUnixTimestamp(t) AS u

-- tz-04
SELECT toHour(timestamp, 'Europe/Berlin') AS h, count() AS c FROM reqs WHERE timestamp >= toDateTime('2025-03-30 00:00:00') AND timestamp < toDateTime('2025-03-30 03:00:00') GROUP BY h ORDER BY h

-- tz-05
SELECT toStartOfDay(timestamp, 'Europe/Berlin') AS d, count() AS c FROM reqs GROUP BY d ORDER BY d

-- tz-06
SELECT toDate(timestamp, 'Asia/Tokyo') AS d, count() AS c FROM reqs GROUP BY d ORDER BY d

-- tz-07
SELECT toStartOfHour(timestamp, 'Asia/Kolkata') AS h FROM reqs ORDER BY timestamp LIMIT 2

-- tz-08
SELECT formatDateTime(timestamp, '%F %T', 'America/Los_Angeles') AS s FROM reqs ORDER BY timestamp LIMIT 2

-- tz-09
SELECT toYYYYMMDD(timestamp, 'Pacific/Auckland') AS d, count() AS c FROM reqs GROUP BY d ORDER BY d

-- tz-10
SELECT toStartOfInterval(timestamp, INTERVAL 1 DAY, 'Europe/Berlin') AS d, count() AS c FROM reqs GROUP BY d ORDER BY d

-- tz-11
SELECT toStartOfMonth(timestamp, 'Pacific/Kiritimati') AS m, count() AS c FROM weather GROUP BY m ORDER BY m

-- tz-12
SELECT toDayOfWeek(timestamp, 'Asia/Tokyo') AS d FROM weather ORDER BY timestamp LIMIT 1

-- tz-13
SELECT toString(timestamp, 'Europe/London') AS s FROM reqs WHERE timestamp >= toDateTime('2025-03-30 00:58:00') ORDER BY timestamp LIMIT 3

-- tz-14
SELECT toDateTime(timestamp, 'UTC') AS a, toDateTime(timestamp, 'Etc/GMT+5') AS b FROM weather ORDER BY timestamp LIMIT 1

-- tz-15
SELECT toStartOfWeek(timestamp, 0, 'America/New_York') AS w FROM weather ORDER BY timestamp LIMIT 1

-- tz-16
SELECT toMinute(timestamp, 'Asia/Kathmandu') AS m FROM weather ORDER BY timestamp LIMIT 1

-- tz-17
SELECT toDateTime('2025-03-30 02:30:00', 'Europe/Berlin') AS t, toUnixTimestamp(t) AS u

-- tz-18
SELECT toUnixTimestamp('2025-03-29 12:00:00', 'Asia/Tokyo') AS u

# ---- math: mathematical functions ----

-- math-01
SELECT intDiv(7, 2) AS a, intDiv(-7, 2) AS b, intDiv(100, 7) AS c

-- math-02
SELECT intDiv(toInt8(7), 2.0) AS a, toTypeName(intDiv(toInt8(7), 2.0)) AS t

-- math-04
SELECT toTypeName(intDiv(7, 2)) AS a, toTypeName(intDiv(double3, 1000)) AS b, toTypeName(intDiv(300, 2)) AS c FROM reqs LIMIT 1

-- math-05
SELECT 7 % 3 AS a, -7 % 3 AS b, 7.5 % 2 AS c, modulo(10, 4) AS d

-- math-06
SELECT toTypeName(7 % 3) AS a, toTypeName(-7 % 3) AS b, toTypeName(7.5 % 2) AS c

-- math-07
SELECT double3 % 7 AS m FROM reqs ORDER BY timestamp LIMIT 3

-- math-08
SELECT 7 / 2 AS a, toTypeName(7 / 2) AS t, 1 / 3 AS b

-- math-09
SELECT toTypeName(1 + 1) AS a, toTypeName(200 + 100) AS b, toTypeName(1 - 2) AS c, toTypeName(2 * 3) AS d, toTypeName(1 + 1.5) AS e

-- math-10
SELECT toTypeName(-1) AS a, toTypeName(-200) AS b, toTypeName(256) AS c, toTypeName(65536) AS d, toTypeName(4294967296) AS e

-- math-11
SELECT abs(-3) AS a, abs(3.5) AS b, abs(-0.0) AS c, toTypeName(abs(-3)) AS t

-- math-12
SELECT abs(double4) AS a FROM reqs ORDER BY timestamp LIMIT 4

-- math-13
SELECT sqrt(16) AS a, sqrt(2) AS b, sqrt(-1) AS c

-- math-14
SELECT exp(0) AS a, exp(1) AS b, ln(1) AS c, log(100) AS d

-- math-15
SELECT log2(8) AS a, log10(1000) AS b, log2(0) AS c, log10(-1) AS d

-- math-16
SELECT pow(2, 10) AS a, power(2, 0.5) AS b, pow(-8, 1.0 / 3) AS c, pow(0, 0) AS d

-- math-17
SELECT sum(pow(double1, 2)) AS s FROM weather

-- math-18
SELECT sqrt(avg(pow(double1, 2)) - pow(avg(double1), 2)) AS stddev FROM weather

-- math-20
SELECT double2 / 100 AS frac, 100 * double3 / double2 AS pct FROM weather ORDER BY timestamp LIMIT 3

-- math-21
SELECT 1 / 0 AS a, -1 / 0 AS b, 0 / 0 AS c

-- math-22
SELECT double5 / double5 AS x FROM reqs ORDER BY timestamp LIMIT 3

-- math-24
SELECT intDiv(toUInt32(timestamp), 3600) * 3600 AS h, count() AS c FROM weather GROUP BY h ORDER BY h LIMIT 2

-- math-25
SELECT toUInt8(255) + toUInt8(1) AS a, toTypeName(toUInt8(255) + toUInt8(1)) AS t

-- math-26
SELECT toInt64(9223372036854775807) + 1 AS a

-- math-27
SELECT greatest(1, 2) AS a, least(1, 2) AS b

-- math-29
SELECT double1 * -1 AS n, 0 - double1 AS m FROM weather ORDER BY timestamp LIMIT 2

-- math-30
SELECT intDiv(1, 0) AS a

-- math-31
SELECT 1 % 0 AS a

# ---- round: rounding ----

-- round-01
SELECT round(2.5) AS a, round(3.5) AS b, round(-2.5) AS c, round(0.5) AS d

-- round-02
SELECT round(3.14159, 2) AS a, round(1234.5678, -2) AS b, round(1.005, 2) AS c

-- round-03
SELECT floor(2.7) AS a, floor(-2.7) AS b, ceil(2.1) AS c, ceil(-2.1) AS d, ceiling(0.5) AS e

-- round-04
SELECT floor(3.14159, 2) AS a, ceil(3.14159, 2) AS b, floor(1234.5, -2) AS c, ceil(1234.5, -2) AS d

-- round-05
SELECT trunc(2.7) AS a, trunc(-2.7) AS b, truncate(3.14159, 3) AS c

-- round-06
SELECT round(double4) AS r, double4 FROM reqs WHERE double4 - floor(double4) = 0.5 ORDER BY timestamp LIMIT 6

-- round-07
SELECT round(double4, 1) AS r, double4 FROM reqs ORDER BY timestamp LIMIT 6

-- round-08
SELECT round(avg(double1), 2) AS a FROM reqs

-- round-11
SELECT round(15) AS a, round(15, -1) AS b, round(25, -1) AS c, toTypeName(round(15, -1)) AS t

-- round-12
SELECT round(toUInt8(15), -1) AS a, round(toInt32(-25), -1) AS b

-- round-13
SELECT floor(toInt32(17), -1) AS a, ceil(toInt32(17), -1) AS b, toTypeName(floor(toInt32(17), -1)) AS t

-- round-14
SELECT round(double3, -3) AS r FROM reqs ORDER BY timestamp LIMIT 3

-- round-15
SELECT toTypeName(round(1.5)) AS a, toTypeName(floor(1.5)) AS b, toTypeName(ceil(toUInt8(3))) AS c

-- round-16
SELECT round(-0.4) AS a, floor(-0.0) AS b, round(1e300, -300) AS c

-- round-17
SELECT round(2.675, 2) AS a, round(0.125, 2) AS b, round(0.375, 2) AS c

-- round-18
SELECT trunc(double4) AS t, count() AS c FROM reqs WHERE double4 BETWEEN -2 AND 2 GROUP BY t ORDER BY t

# ---- str: string functions ----

-- str-01
SELECT length('hello') AS a, length('') AS b, length('Grüße') AS c, lengthUTF8('Grüße') AS d

-- str-02
SELECT blob4, length(blob4) AS l FROM reqs WHERE blob4 LIKE 'Grüße%' LIMIT 1

-- str-04
SELECT empty('') AS a, empty('x') AS b, notEmpty('') AS c, notEmpty('x') AS d

-- str-05
SELECT countIf(empty(blob3)) AS a, countIf(notEmpty(index1)) AS b FROM reqs

-- str-06
SELECT lower('ABC def') AS a, upper('abc DEF') AS b, lower('ÄÖÜ') AS c, upper('äöü') AS d

-- str-07
SELECT lowerUTF8('ÄÖÜ') AS a, upperUTF8('äöü') AS b

-- str-08
SELECT upper(blob3) AS c, count() AS n FROM reqs GROUP BY c ORDER BY c

-- str-09
SELECT startsWith(blob1, '/api') AS a, count() AS c FROM reqs GROUP BY a ORDER BY a

-- str-10
SELECT endsWith(blob1, '.js') AS a, count() AS c FROM reqs GROUP BY a ORDER BY a

-- str-11
SELECT position('hello world', 'o') AS a, position('hello', 'z') AS b, position('Grüße', 'ß') AS c, positionUTF8('Grüße', 'ß') AS d

-- str-13
SELECT substring('hello world', 1, 5) AS a, substring('hello', 3) AS b, substr('hello', 2, 2) AS c, mid('hello', 4, 10) AS d

-- str-14
SELECT substring('Grüße', 3, 2) AS a, substringUTF8('Grüße', 3, 2) AS b

-- str-15
SELECT substring('hello', 0, 2) AS a, substring('hello', -3, 2) AS b, substring('hello', 10) AS c

-- str-16
SELECT substring(blob1, 1, 4) AS p, count() AS c FROM reqs GROUP BY p ORDER BY p

-- str-17
SELECT concat('a', 'b', 'c') AS a, concat(blob2, ' ', blob1) AS b FROM reqs ORDER BY timestamp LIMIT 3

-- str-19
SELECT format('{} and {}', 'a', 'b') AS a, format('{1}{0}', 'x', 'y') AS b

-- str-20
SELECT toString(42) AS a, toString(3.5) AS b, toString(-0.1) AS c, toString(1e21) AS d

-- str-21
SELECT toString(double1) AS s FROM weather ORDER BY timestamp LIMIT 3

-- str-22
SELECT 'abc' || 'def' AS a

-- str-23
SELECT blob1 || '?' || blob2 AS a FROM reqs ORDER BY timestamp LIMIT 2

-- str-24
SELECT extract('abc123def', '[0-9]+') AS a, extract('no digits', '[0-9]+') AS b

-- str-25
SELECT extract(blob1, '/api/([a-z]+)') AS r, count() AS c FROM reqs GROUP BY r ORDER BY r

-- str-26
SELECT extractAll('a1b22c333', '[0-9]+') AS a

-- str-27
SELECT match('hello', '^h.*o$') AS a, match('hello', 'x') AS b

-- str-28
SELECT countIf(match(blob4, '^Mozilla')) AS a FROM reqs

-- str-29
SELECT replaceRegexpOne('hello world', 'o', '0') AS a, replaceRegexpAll('hello world', 'o', '0') AS b

-- str-30
SELECT replaceRegexpAll(blob1, '[0-9]+', ':id') AS p, count() AS c FROM reqs GROUP BY p ORDER BY p

-- str-31
SELECT replaceRegexpOne('2025-03-29', '(\\d+)-(\\d+)-(\\d+)', '\\3/\\2/\\1') AS a

-- str-32
SELECT replaceAll('a-b-c', '-', '+') AS a, replaceOne('a-b-c', '-', '+') AS b

-- str-33
SELECT trim('  x  ') AS a, trimLeft('  x') AS b, trimRight('x  ') AS c

-- str-34
SELECT reverse('abc') AS a, repeat('ab', 3) AS b

-- str-35
SELECT splitByChar('/', '/api/users/42') AS a

-- str-36
SELECT like('abc', 'a%') AS a, notLike('abc', 'a%') AS b

-- str-38
SELECT min(blob4) AS a, max(blob4) AS b FROM reqs WHERE blob4 != ''

-- str-39
SELECT left('hello', 2) AS a, right('hello', 2) AS b

-- str-40
SELECT base64Encode('hello') AS a

-- str-41
SELECT lower(blob3) AS c, count() AS n FROM reqs WHERE blob3 != '' GROUP BY c ORDER BY n DESC, c

# ---- cond: conditionals and NULL ----

-- cond-01
SELECT if(1, 'yes', 'no') AS a, if(0, 'yes', 'no') AS b

-- cond-02
SELECT if(double2 >= 400, 'error', 'ok') AS kind, count() AS c FROM reqs GROUP BY kind ORDER BY kind

-- cond-03
SELECT multiIf(double1 < 10, 'fast', double1 < 100, 'ok', 'slow') AS speed, count() AS c FROM reqs GROUP BY speed ORDER BY speed

-- cond-04
SELECT CASE WHEN double2 < 300 THEN '2xx' WHEN double2 < 400 THEN '3xx' ELSE 'err' END AS cls, count() AS c FROM reqs GROUP BY cls ORDER BY cls

-- cond-05
SELECT CASE blob2 WHEN 'GET' THEN 1 WHEN 'POST' THEN 2 ELSE 0 END AS m, count() AS c FROM reqs GROUP BY m ORDER BY m

-- cond-06
SELECT CASE WHEN 1 = 0 THEN 'x' END AS a

-- cond-07
SELECT if(1, 1, 2.5) AS a, toTypeName(if(1, 1, 2.5)) AS t

-- cond-08
SELECT if(1, 1, -1) AS a, toTypeName(if(1, 1, -1)) AS t

-- cond-09
SELECT coalesce(NULL, 1) AS a, ifNull(NULL, 'x') AS b, ifNull('y', 'x') AS c

-- cond-10
SELECT isNull(NULL) AS a, isNull(1) AS b, isNotNull(NULL) AS c

-- cond-11
SELECT isNull(blob1) AS a, count() AS c FROM weather GROUP BY a

-- cond-12
SELECT NULL IS NULL AS a, 1 IS NOT NULL AS b

-- cond-14
SELECT sum(if(blob2 = 'GET', _sample_interval, 0)) AS gets FROM reqs

-- cond-15
SELECT avg(if(double2 >= 500, 1, 0)) AS error_rate FROM reqs

-- cond-16
SELECT multiIf(index1 = 'Oslo', 1, index1 = 'Tokyo', 2, 3) AS k, count() AS c FROM weather GROUP BY k ORDER BY k

-- cond-17
SELECT toTypeName(multiIf(1, 1, 0, 2, 300)) AS t

-- cond-18
SELECT if(NULL, 1, 2) AS a

-- cond-19
SELECT nullIf(1, 1) AS a, nullIf(1, 2) AS b

# ---- cast: type conversions ----

-- cast-01
SELECT toUInt8(3.9) AS a, toUInt8(-1) AS b, toUInt8(300) AS c, toInt8(200) AS d

-- cast-02
SELECT toInt16(3.9) AS a, toInt32(-3.9) AS b, toInt64(1e18) AS c, toUInt64(3) AS d

-- cast-03
SELECT toUInt32('42') AS a, toInt64('-7') AS b, toFloat64('3.5') AS c

-- cast-04
SELECT toFloat64(1) AS a, toFloat64(double2) AS b, toTypeName(toFloat64(1)) AS t FROM weather LIMIT 1

-- cast-05
SELECT toUInt16(double2) AS s, count() AS c FROM reqs GROUP BY s ORDER BY s

-- cast-06
SELECT toInt32(double4) AS i FROM reqs ORDER BY timestamp LIMIT 4

-- cast-07
SELECT CAST(3.7 AS UInt8) AS a, CAST('12' AS Int32) AS b, CAST(1 AS Float64) AS c, CAST(2 AS String) AS d

-- cast-09
SELECT CAST(timestamp AS Date) AS d FROM weather ORDER BY timestamp LIMIT 1

-- cast-10
SELECT CAST('2025-03-29 10:00:00' AS DateTime) AS t

-- cast-11
SELECT toTypeName(CAST(1 AS Int64)) AS a, toTypeName(CAST(1 AS UInt8)) AS b

-- cast-12
SELECT toUInt8('abc') AS a

-- cast-13
SELECT toFloat64('x') AS a

-- cast-14
SELECT toUInt64(-1) AS a, toUInt32(-1) AS b

-- cast-15
SELECT toInt8(127) + toInt8(1) AS a, toTypeName(toInt8(127) + toInt8(1)) AS t

-- cast-17
SELECT toUInt32(toDateTime('2025-03-29 00:00:00')) AS a, toDateTime(toUInt32(1743206400)) AS b

-- cast-18
SELECT toDate(20000) AS d

-- cast-19
SELECT toTypeName(1.5) AS a, toTypeName('x') AS b, toTypeName(NULL) AS c, toTypeName(timestamp) AS d, toTypeName(_sample_interval) AS e FROM reqs LIMIT 1

-- cast-20
SELECT toTypeName(count()) AS a, toTypeName(sum(double1)) AS b, toTypeName(avg(_sample_interval)) AS c, toTypeName(sum(_sample_interval)) AS d FROM reqs

-- cast-21
SELECT toTypeName(uniq(blob1)) AS a, toTypeName(uniqExact(blob1)) AS b, toTypeName(quantile(0.5)(double1)) AS c, toTypeName(quantiles(0.5)(double1)) AS d FROM reqs

-- cast-22
SELECT toTypeName(min(timestamp)) AS a, toTypeName(argMax(blob1, double1)) AS b, toTypeName(countIf(1)) AS c FROM reqs

-- cast-23
SELECT toTypeName(toDate(timestamp)) AS a, toTypeName(toStartOfInterval(timestamp, INTERVAL 1 DAY)) AS b, toTypeName(toUnixTimestamp(timestamp)) AS c FROM reqs LIMIT 1

-- cast-24
SELECT toTypeName(length('x')) AS a, toTypeName(position('x', 'x')) AS b, toTypeName(empty('')) AS c, toTypeName(1 = 1) AS d

-- cast-25
SELECT toTypeName(true) AS a

-- cast-26
SELECT true AS a, false AS b

-- cast-27
SELECT toInt8(-128) - 1 AS a, toTypeName(toInt8(-128) - 1) AS t

# ---- bits: bit functions and encodings ----

-- bits-01
SELECT bitAnd(12, 10) AS a, bitOr(12, 10) AS b, bitXor(12, 10) AS c, bitNot(toUInt8(12)) AS d

-- bits-02
SELECT bitShiftLeft(1, 10) AS a, bitShiftRight(1024, 3) AS b, toTypeName(bitShiftLeft(1, 10)) AS t

-- bits-03
SELECT bitRotateLeft(toUInt8(129), 1) AS a, bitRotateRight(toUInt8(1), 1) AS b

-- bits-04
SELECT bitTest(5, 0) AS a, bitTest(5, 1) AS b, bitCount(255) AS c, bitCount(toInt8(-1)) AS d

-- bits-05
SELECT bitHammingDistance(111, 121) AS a

-- bits-06
SELECT hex(255) AS a, hex('abc') AS b, hex(toUInt16(256)) AS c, hex(0) AS d

-- bits-07
SELECT bin(5) AS a, bin(toUInt16(256)) AS b, bin('A') AS c

-- bits-08
SELECT hex(toInt8(-1)) AS a, hex(toInt64(-2)) AS b

-- bits-09
SELECT hex(1.5) AS a

-- bits-10
SELECT bitAnd(toUInt32(double2), 255) AS b, count() AS c FROM reqs GROUP BY b ORDER BY b

-- bits-11
SELECT bitOr(toUInt8(1), toUInt16(256)) AS a, toTypeName(bitOr(toUInt8(1), toUInt16(256))) AS t

-- bits-12
SELECT bitXor(toInt8(-1), toUInt8(1)) AS a, toTypeName(bitXor(toInt8(-1), toUInt8(1))) AS t

-- bits-13
SELECT bitNot(0) AS a, bitNot(toInt32(0)) AS b

-- bits-14
SELECT bitCount(_sample_interval) AS c, count() AS n FROM reqs GROUP BY c ORDER BY c

-- bits-15
SELECT hex(blob2) AS h FROM reqs WHERE blob2 = 'PUT' LIMIT 1

-- bits-16
SELECT unhex('616263') AS a

# ---- grp: GROUP BY, HAVING, ORDER BY ----

-- grp-01
SELECT blob2, blob3, count() AS c FROM reqs GROUP BY blob2, blob3 ORDER BY c DESC, blob2, blob3 LIMIT 10

-- grp-02
SELECT blob2, count() AS c FROM reqs GROUP BY 1 ORDER BY 1

-- grp-03
SELECT blob2, count() AS c FROM reqs GROUP BY blob2 ORDER BY 2 DESC, 1

-- grp-04
SELECT index1, count() AS c FROM reqs GROUP BY index1 HAVING count() > 80 ORDER BY index1

-- grp-05
SELECT index1, sum(double3) AS b FROM reqs GROUP BY index1 HAVING b > 7000000 ORDER BY b DESC

-- grp-06
SELECT blob1, avg(double1) AS a FROM reqs GROUP BY blob1 HAVING a > 150 ORDER BY a DESC

-- grp-07
SELECT toStartOfHour(timestamp) AS h, blob2, count() AS c FROM reqs WHERE timestamp < toDateTime('2025-03-29 03:00:00') GROUP BY h, blob2 ORDER BY h, blob2

-- grp-08
SELECT blob2, count() AS c FROM reqs GROUP BY blob2 ORDER BY c ASC, blob2 DESC

-- grp-09
SELECT double2 AS s, count() AS c FROM reqs GROUP BY s ORDER BY s DESC

-- grp-11
SELECT index1 AS u FROM reqs GROUP BY u ORDER BY length(u), u LIMIT 5

-- grp-12
SELECT blob1 FROM reqs GROUP BY blob1 ORDER BY blob1 LIMIT 3 OFFSET 2

-- grp-13
SELECT blob2, count() AS c FROM reqs WHERE double2 >= 500 GROUP BY blob2 HAVING c >= 10 ORDER BY blob2

-- grp-14
SELECT blob3, sum(_sample_interval) AS n FROM reqs GROUP BY blob3 ORDER BY n DESC, blob3 LIMIT 3

-- grp-15
SELECT count() AS c FROM reqs GROUP BY blob2 HAVING blob2 = 'PUT'

-- grp-17
SELECT blob2, round(avg(double1), 1) AS a FROM weather GROUP BY blob2 ORDER BY a, blob2

-- grp-19
SELECT blob3 FROM reqs ORDER BY blob3 LIMIT 1

-- grp-20
SELECT index1, toDate(timestamp) AS d, count() AS c FROM weather GROUP BY index1, d ORDER BY index1, d LIMIT 6

-- grp-21
SELECT blob2, count() FROM reqs GROUP BY blob2 ORDER BY count() DESC

-- grp-22
SELECT blob2, sum(double3) FROM reqs GROUP BY blob2 ORDER BY sum(double3), blob2

-- grp-23
SELECT count() AS c FROM reqs HAVING c > 0

-- grp-24
SELECT blob1 AS p FROM reqs WHERE p = '/login' LIMIT 1

# ---- sub: FROM subqueries ----

-- sub-01
SELECT count() FROM (SELECT blob2 FROM reqs WHERE blob2 = 'GET')

-- sub-02
SELECT avg(c) AS a FROM (SELECT index1, count() AS c FROM reqs GROUP BY index1)

-- sub-03
SELECT max(n) AS m FROM (SELECT blob1, sum(_sample_interval) AS n FROM reqs GROUP BY blob1)

-- sub-04
SELECT p, n FROM (SELECT blob1 AS p, count() AS n FROM reqs GROUP BY p) WHERE n > 280 ORDER BY p

-- sub-05
SELECT h, c FROM (SELECT toStartOfHour(timestamp) AS h, count() AS c FROM reqs GROUP BY h) ORDER BY c DESC, h LIMIT 3

-- sub-06
SELECT count() FROM (SELECT DISTINCT index1 FROM reqs)

-- sub-07
SELECT m, count() AS c FROM (SELECT blob2 AS m FROM reqs ORDER BY timestamp LIMIT 100) GROUP BY m ORDER BY m

-- sub-08
SELECT t.blob2, t.c FROM (SELECT blob2, count() AS c FROM reqs GROUP BY blob2) AS t ORDER BY t.c DESC

-- sub-10
SELECT a FROM (SELECT 1 AS a)

-- sub-11
SELECT x FROM (SELECT index1 AS x, max(double1) AS m FROM weather GROUP BY x) WHERE m > 20 ORDER BY x

-- sub-12
SELECT quantile(0.5)(c) AS q FROM (SELECT index1, count() AS c FROM reqs GROUP BY index1)

-- sub-13
SELECT * FROM (SELECT blob2, count() AS c FROM reqs GROUP BY blob2) ORDER BY blob2

-- sub-14
SELECT day, round(avg_t, 2) AS t FROM (SELECT toDate(timestamp) AS day, avg(double1) AS avg_t FROM weather GROUP BY day) ORDER BY day LIMIT 5

# ---- new: constructs being added (scalar subqueries, IN subqueries, WITH, LIMIT BY, WITH TOTALS, WITH ROLLUP, more functions) ----

-- new-01
SELECT blob2, count() * 100 / (SELECT count() FROM reqs) AS pct FROM reqs GROUP BY blob2 ORDER BY blob2

-- new-02
SELECT (SELECT count() FROM weather) AS n

-- new-03
SELECT (SELECT max(double1) FROM weather) - (SELECT min(double1) FROM weather) AS spread

-- new-04
SELECT index1, double1 FROM weather WHERE double1 = (SELECT max(double1) FROM weather)

-- new-05
SELECT count() FROM reqs WHERE double1 > (SELECT avg(double1) FROM reqs)

-- new-06
SELECT count() FROM reqs WHERE blob1 IN (SELECT blob1 FROM reqs GROUP BY blob1 ORDER BY count() DESC, blob1 LIMIT 2)

-- new-07
SELECT blob1, count() AS c FROM reqs WHERE blob1 IN (SELECT blob1 FROM reqs GROUP BY blob1 ORDER BY count() DESC, blob1 LIMIT 2) GROUP BY blob1 ORDER BY blob1

-- new-08
SELECT count() FROM reqs WHERE index1 NOT IN (SELECT index1 FROM reqs WHERE blob2 = 'DELETE')

-- new-09
SELECT count() FROM reqs WHERE index1 IN (SELECT index1 FROM reqs WHERE double2 >= 500 AND blob3 = 'JP')

-- new-10
SELECT count() FROM weather WHERE blob1 NOT IN ('Oslo', 'Tokyo')

-- new-11
SELECT count() FROM weather WHERE (index1, blob2) IN (SELECT index1, blob2 FROM weather WHERE double3 > 4.5)

-- new-12
WITH 10 AS n SELECT n * 2 AS m

-- new-13
WITH 'GET' AS m SELECT count() FROM reqs WHERE blob2 = m

-- new-14
WITH double1 * 2 AS d2 SELECT sum(d2) AS s FROM weather

-- new-15
WITH (SELECT count() FROM reqs) AS total SELECT blob2, round(count() / total, 4) AS share FROM reqs GROUP BY blob2 ORDER BY blob2

-- new-16
WITH (SELECT avg(double1) FROM weather) AS mean SELECT index1, round(avg(double1) - mean, 3) AS delta FROM weather GROUP BY index1 ORDER BY index1

-- new-17
WITH toStartOfDay(timestamp) AS day SELECT day, count() AS c FROM reqs GROUP BY day ORDER BY day

-- new-18
WITH top AS (SELECT blob1, count() AS c FROM reqs GROUP BY blob1) SELECT blob1, c FROM top ORDER BY c DESC, blob1 LIMIT 3

-- new-19
WITH per_user AS (SELECT index1, sum(double3) AS b FROM reqs GROUP BY index1) SELECT count() AS users, max(b) AS most FROM per_user

-- new-20
SELECT index1, timestamp, double1 FROM weather ORDER BY index1, double1 DESC, timestamp LIMIT 2 BY index1

-- new-21
SELECT blob2, blob1, count() AS c FROM reqs GROUP BY blob2, blob1 ORDER BY blob2, c DESC, blob1 LIMIT 1 BY blob2

-- new-22
SELECT index1, timestamp FROM weather ORDER BY index1, timestamp LIMIT 2 OFFSET 1 BY index1

-- new-23
SELECT index1, timestamp FROM weather ORDER BY index1, timestamp LIMIT 1, 2 BY index1

-- new-24
SELECT index1, timestamp FROM weather ORDER BY index1, timestamp LIMIT 1 BY index1 LIMIT 3

-- new-25
SELECT blob2, count() AS c FROM reqs GROUP BY blob2 WITH TOTALS ORDER BY blob2

-- new-26
SELECT blob2, sum(_sample_interval) AS n FROM reqs GROUP BY blob2 WITH TOTALS HAVING n > 2000 ORDER BY blob2

-- new-27
SELECT blob2, blob3, count() AS c FROM reqs WHERE blob3 IN ('US', 'DE') GROUP BY blob2, blob3 WITH ROLLUP ORDER BY blob2, blob3

-- new-28
SELECT index1, count() AS c FROM weather GROUP BY index1 WITH ROLLUP ORDER BY index1

-- new-29
SELECT index1, blob2, count() AS c FROM weather WHERE blob2 IN ('sun', 'fog') GROUP BY ROLLUP(index1, blob2) ORDER BY index1, blob2

-- new-30
SELECT blob2, count() AS c FROM weather GROUP BY blob2 WITH CUBE ORDER BY blob2

-- new-31
SELECT index1, any(blob1) AS a FROM weather GROUP BY index1 ORDER BY index1

-- new-32
SELECT index1, anyLast(blob1) AS a FROM weather GROUP BY index1 ORDER BY index1

-- new-33
SELECT index1, argMin(blob2, timestamp) AS first_cond, argMax(blob2, timestamp) AS last_cond FROM weather GROUP BY index1 ORDER BY index1

-- new-34
SELECT quantileExact(0.5)(double2) AS a, quantileExact(0.25)(double2) AS b FROM weather

-- new-35
SELECT quantilesExact(0.25, 0.5, 0.75)(double2) AS q FROM weather

-- new-36
SELECT index1, quantilesExact(0.5, 0.9)(double1) AS q FROM weather GROUP BY index1 ORDER BY index1

-- new-37
SELECT uniqExact(blob2) AS a, uniqExact(index1, blob2) AS b FROM weather

-- new-38
SELECT groupArray(index1) AS a FROM (SELECT DISTINCT index1 FROM weather ORDER BY index1)

-- new-39
SELECT groupArray(3)(blob1) AS a FROM weather WHERE index1 = 'Lisbon'

-- new-40
SELECT topK(2)(blob2) AS a FROM reqs WHERE double2 >= 400

-- new-41
SELECT topK(5)(blob3) AS a FROM reqs

-- new-42
SELECT extract('user=42&x=1', 'user=([0-9]+)') AS a, extract(blob4, '^([A-Za-z-]+)/') AS b FROM reqs WHERE blob4 != '' ORDER BY b LIMIT 3

-- new-43
SELECT extractAll(blob1, '[a-z]+') AS parts, count() AS c FROM reqs GROUP BY parts ORDER BY c DESC, parts LIMIT 3

-- new-44
SELECT match(blob1, '^/api/users/[0-9]+$') AS m, count() AS c FROM reqs GROUP BY m ORDER BY m

-- new-45
SELECT replaceRegexpOne(blob4, '/.*', '') AS client, count() AS c FROM reqs GROUP BY client ORDER BY c DESC, client

-- new-46
SELECT replaceRegexpAll('a.b.c', '\\.', '/') AS a, replaceRegexpAll('aaa', 'a*', 'x') AS b

-- new-47
SELECT dateDiff('day', toDate('2025-03-20'), toDate(timestamp)) AS d, count() AS c FROM weather GROUP BY d ORDER BY d LIMIT 3

-- new-48
SELECT dateDiff('week', toDate('2025-03-01'), toDate('2025-04-01')) AS a, dateDiff('year', toDate('2024-12-31'), toDate('2025-01-01')) AS b

-- new-49
SELECT dateDiff('second', timestamp, timestamp + INTERVAL 1 MINUTE) AS s FROM weather LIMIT 1

-- new-50
SELECT toTypeName(dateDiff('day', toDate('2025-03-01'), toDate('2025-04-01'))) AS t

-- new-51
SELECT toTypeName(groupArray(blob1)) AS a, toTypeName(topK(2)(blob1)) AS b, toTypeName(any(blob1)) AS c FROM weather

-- new-52
SELECT toTypeName(extractAll('a', 'a')) AS a, toTypeName(match('a', 'a')) AS b, toTypeName(extract('a', 'a')) AS c

-- new-53
SELECT toStartOfInterval(timestamp, INTERVAL 3 HOUR) AS t, sumIf(double3, double3 > 0) AS rain, avgIf(double1, index1 = 'Oslo') AS oslo FROM weather GROUP BY t ORDER BY t LIMIT 4

-- new-54
SELECT quantileIf(0.5)(double1, index1 = 'Tokyo') AS q FROM weather

-- new-55
SELECT sumIf(_sample_interval, blob2 = 'GET') * 100 / sum(_sample_interval) AS pct FROM reqs

-- new-56
SELECT intDiv(toInt8(7), 2.0) AS a, intDiv(toInt8(-7), 2) AS b, intDiv(7.9, 2) AS c

-- new-57
SELECT toTypeName(intDiv(toUInt8(7), toInt8(2))) AS a, toTypeName(intDiv(7.5, 2)) AS b

-- new-58
SELECT count() FROM reqs WHERE blob1 IN (SELECT blob1 FROM reqs WHERE double1 > 299.5)

-- new-59
SELECT blob2 FROM reqs WHERE blob2 NOT IN (SELECT blob2 FROM reqs WHERE blob2 LIKE 'P%') GROUP BY blob2 ORDER BY blob2

-- new-60
SELECT (SELECT count() FROM reqs WHERE blob2 = 'GET') / (SELECT count() FROM reqs) AS share

-- new-61
WITH 2 AS a, 3 AS b SELECT a * b AS c

-- new-62
WITH counts AS (SELECT blob2 AS m, count() AS c FROM reqs GROUP BY m) SELECT m FROM counts WHERE c = (SELECT max(c) FROM counts)

-- new-63
SELECT index1, double1 FROM weather ORDER BY double1 DESC, timestamp LIMIT 1 BY index1

-- new-64
SELECT toDate(timestamp) AS d, blob2, count() AS c FROM reqs GROUP BY d, blob2 ORDER BY d, c DESC, blob2 LIMIT 2 BY d

# ---- err: queries both sides refuse ----

-- err-01
SELECT nosuchcolumn FROM reqs

-- err-02
SELECT count() FROM nosuchtable

-- err-03
SELECT nosuchfunction(1)

-- err-04
SELECT blob1, count() FROM reqs

-- err-05
SELECT sum(blob1) FROM reqs

-- err-06
SELECT FROM reqs

-- err-07
SELECT 1 +

-- err-08
SELECT count( FROM reqs

-- err-09
SELECT blob1 FROM reqs WHERE count() > 1

-- err-10
SELECT 'a' + 1

-- err-11
SELECT toDateTime('not a date')

-- err-12
SELECT quantile(2)(double1) FROM reqs

-- err-13
SELECT sum(count()) FROM reqs

-- err-14
SELECT substring('abc')

-- err-15
SELECT toStartOfInterval(timestamp, INTERVAL 0 HOUR) FROM reqs

-- err-16
SELECT * FROM reqs JOIN weather USING (index1)
