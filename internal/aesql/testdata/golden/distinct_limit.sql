-- SELECT DISTINCT toDateTime(timestamp, 'Asia/Tokyo') AS t FROM requests ORDER BY t DESC LIMIT 2 OFFSET 1
-- $1 = "proj:requests"
-- column "t" DateTime('Asia/Tokyo')
SELECT t1."c0" AS "c0", CAST(32400 AS BIGINT) AS "c1", count(*) OVER () AS "c2" FROM (SELECT DISTINCT CAST(date_trunc('second', t0."timestamp") AS TIMESTAMP) AS "c0" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0) AS t1 ORDER BY 1 DESC NULLS LAST LIMIT 2 OFFSET 1
-- rows before LIMIT:
SELECT count(*) FROM (SELECT t1."c0" AS "c0", CAST(32400 AS BIGINT) AS "c1", count(*) OVER () AS "c2" FROM (SELECT DISTINCT CAST(date_trunc('second', t0."timestamp") AS TIMESTAMP) AS "c0" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0) AS t1 ORDER BY 1 DESC NULLS LAST) AS t1
