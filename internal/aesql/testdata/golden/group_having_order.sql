-- SELECT index1 AS location_id, SUM(_sample_interval) AS n_readings FROM requests WHERE blob2 IN ('GET', 'POST') GROUP BY location_id HAVING n_readings > 10 ORDER BY n_readings DESC LIMIT 10
-- $1 = "proj:requests"
-- $2 = "GET"
-- $3 = "POST"
-- column "location_id" String
-- column "n_readings" UInt64
SELECT CAST(t0."index1" AS VARCHAR) AS "c0", CAST(CAST(coalesce(sum(t0."_sample_interval"), 0) AS UBIGINT) AS UBIGINT) AS "c1", count(*) OVER () AS "c2" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0 WHERE (t0."blob2" IN (CAST($2 AS VARCHAR), CAST($3 AS VARCHAR))) GROUP BY t0."index1" HAVING (CAST(coalesce(sum(t0."_sample_interval"), 0) AS UBIGINT) > 10) ORDER BY 2 DESC NULLS LAST LIMIT 10
-- rows before LIMIT:
SELECT count(*) FROM (SELECT CAST(t0."index1" AS VARCHAR) AS "c0", CAST(CAST(coalesce(sum(t0."_sample_interval"), 0) AS UBIGINT) AS UBIGINT) AS "c1", count(*) OVER () AS "c2" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0 WHERE (t0."blob2" IN (CAST($2 AS VARCHAR), CAST($3 AS VARCHAR))) GROUP BY t0."index1" HAVING (CAST(coalesce(sum(t0."_sample_interval"), 0) AS UBIGINT) > 10) ORDER BY 2 DESC NULLS LAST) AS t1
