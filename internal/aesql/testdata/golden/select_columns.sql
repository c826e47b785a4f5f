-- SELECT timestamp, blob1 AS location_id, double1 AS inside_temp FROM requests WHERE timestamp > NOW() - INTERVAL '1' DAY
-- $1 = "proj:requests"
-- column "timestamp" DateTime
-- column "location_id" String
-- column "inside_temp" Float64
SELECT CAST(date_trunc('second', t0."timestamp") AS TIMESTAMP) AS "c0", CAST(t0."blob1" AS VARCHAR) AS "c1", CAST(t0."double1" AS DOUBLE) AS "c2" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0 WHERE (t0."timestamp" >= ((make_timestamp((epoch_us(now()) // 1000000) * 1000000) - to_days(1)) + to_seconds(1))) LIMIT 100001
