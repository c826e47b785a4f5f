-- SELECT formatDateTime(timestamp, '%Y-%m-%d %H:%i:%S'), toDayOfWeek(timestamp), toStartOfWeek(timestamp), toUnixTimestamp(timestamp), toYYYYMM(timestamp) FROM requests WHERE timestamp BETWEEN '2025-01-01 00:00:00' AND '2025-12-31'
-- $1 = "proj:requests"
-- column "formatDateTime(timestamp, '%Y-%m-%d %H:%i:%S')" String
-- column "toDayOfWeek(timestamp)" UInt8
-- column "toStartOfWeek(timestamp)" Date
-- column "toUnixTimestamp(timestamp)" UInt32
-- column "toYYYYMM(timestamp)" UInt32
SELECT CAST(strftime(date_trunc('second', t0."timestamp"), '%Y-%m-%d %H:%M:%S') AS VARCHAR) AS "c0", CAST(isodow(date_trunc('second', t0."timestamp")) AS UTINYINT) AS "c1", CAST(CAST(date_trunc('week', date_trunc('second', t0."timestamp")) AS DATE) AS DATE) AS "c2", CAST(CAST(floor(epoch_ms(date_trunc('second', t0."timestamp")) / 1000) AS BIGINT) AS UINTEGER) AS "c3", CAST((year(date_trunc('second', t0."timestamp")) * 100 + month(date_trunc('second', t0."timestamp"))) AS UINTEGER) AS "c4" FROM (SELECT * FROM __scoped_marker_8 WHERE project = $1) AS t0 WHERE ((t0."timestamp" >= TIMESTAMP '2025-01-01 00:00:00') AND (t0."timestamp" < (TIMESTAMP '2025-12-31 00:00:00' + to_seconds(1)))) LIMIT 100001
