-- SELECT countIf(status >= 500) AS errors, count(DISTINCT url), uniq(method), sumIf(duration, method = 'POST') FROM requests
-- $1 = "POST"
-- $2 = "proj:requests"
-- column "errors" UInt64
-- column "count(DISTINCT url)" UInt64
-- column "uniq(method)" UInt64
-- column "sumIf(duration, method = 'POST')" Float64
SELECT CAST(count(*) FILTER (WHERE (t0."double2" >= 500)) AS UBIGINT) AS "c0", CAST(count(DISTINCT t0."blob1") AS UBIGINT) AS "c1", CAST(count(DISTINCT t0."blob2") AS UBIGINT) AS "c2", CAST(CAST(coalesce(sum(t0."double1") FILTER (WHERE (t0."blob2" = CAST($1 AS VARCHAR))), 0) AS DOUBLE) AS DOUBLE) AS "c3" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $2) AS t0 LIMIT 100001
