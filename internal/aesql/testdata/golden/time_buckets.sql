-- SELECT toStartOfInterval(timestamp, INTERVAL '5' MINUTE) AS t, blob1 AS city, count() FROM weather GROUP BY t, city ORDER BY t ASC FORMAT JSONEachRow
-- $1 = "proj:weather"
-- column "t" DateTime
-- column "city" String
-- column "count()" UInt64
SELECT CAST(time_bucket(to_minutes(5), date_trunc('second', t0."timestamp"), TIMESTAMP '1970-01-01 00:00:00') AS TIMESTAMP) AS "c0", CAST(t0."blob1" AS VARCHAR) AS "c1", CAST(count(*) AS UBIGINT) AS "c2" FROM (SELECT * FROM __scoped_marker_7 WHERE project = $1) AS t0 GROUP BY time_bucket(to_minutes(5), date_trunc('second', t0."timestamp"), TIMESTAMP '1970-01-01 00:00:00'), t0."blob1" ORDER BY 1 ASC NULLS LAST LIMIT 100001
