-- SELECT endpoint, SUM(_sample_interval * duration) / SUM(_sample_interval) AS average FROM requests GROUP BY endpoint ORDER BY 2 DESC
-- $1 = "proj:requests"
-- column "endpoint" String
-- column "average" Float64
SELECT CAST(t0."index1" AS VARCHAR) AS "c0", CAST((CAST(coalesce(sum((t0."_sample_interval" * t0."double1")), 0) AS DOUBLE) / CAST(CAST(coalesce(sum(t0."_sample_interval"), 0) AS UBIGINT) AS DOUBLE)) AS DOUBLE) AS "c1" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0 GROUP BY t0."index1" ORDER BY 2 DESC NULLS LAST LIMIT 100001
