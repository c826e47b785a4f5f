package aesql

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{"select 1", "SELECT 1"},
		{"SELECT 1;", "SELECT 1"},
		{"SELECT blob1 AS probe, double3 temp FROM temperatures", "SELECT blob1 AS probe, double3 AS temp FROM temperatures"},
		{"SELECT * FROM t", "SELECT * FROM t"},
		{"SELECT DISTINCT a FROM t", "SELECT DISTINCT a FROM t"},
		{"SELECT a + b * c - d / e % f FROM t", "SELECT ((a + (b * c)) - ((d / e) % f)) FROM t"},
		{"SELECT a + b * c - d FROM t", "SELECT ((a + (b * c)) - d) FROM t"},
		{"SELECT a OR b AND NOT c = d FROM t", "SELECT (a OR (b AND (NOT (c = d)))) FROM t"},
		{"SELECT a == b, a <> b, a != b FROM t", "SELECT (a = b), (a != b), (a != b) FROM t"},
		{"SELECT -1, - 2, -a, --x\n 3", "SELECT -1, -2, (- a), 3"},
		{"SELECT 1 - -1", "SELECT (1 - -1)"},
		{"SELECT a IN (1, 2), a NOT IN ('x'), a BETWEEN 1 AND 2 AND b, a NOT BETWEEN 1 + 1 AND 3", "SELECT (a IN (1, 2)), (a NOT IN ('x')), ((a BETWEEN 1 AND 2) AND b), (a NOT BETWEEN (1 + 1) AND 3)"},
		{"SELECT a LIKE 'x%', a NOT LIKE 'y', a ILIKE 'z', a NOT ILIKE 'w', a IS NULL, a IS NOT NULL", "SELECT (a LIKE 'x%'), (a NOT LIKE 'y'), (a ILIKE 'z'), (a NOT ILIKE 'w'), (a IS NULL), (a IS NOT NULL)"},
		{"SELECT count(), count(*), COUNT(DISTINCT x), quantileExactWeighted(0.5)(double1, _sample_interval)", "SELECT count(), count(*), COUNT(DISTINCT x), quantileExactWeighted(0.5)(double1, _sample_interval)"},
		{"SELECT topK(10)(blob1), quantiles(0.5, 0.9)(x)", "SELECT topK(10)(blob1), quantiles(0.5, 0.9)(x)"},
		{"SELECT position(':' IN blob1), position(blob1, ':')", "SELECT position(blob1, ':'), position(blob1, ':')"},
		{"SELECT extract(day FROM timestamp), CAST(x AS UInt32)", "SELECT extract(DAY FROM timestamp), CAST(x AS UInt32)"},
		{"SELECT extract(blob1, 'id=(\\\\d+)'), extract(day, '[0-9]'), Extract(hour FROM t)", "SELECT extract(blob1, 'id=(\\\\d+)'), extract(day, '[0-9]'), extract(HOUR FROM t)"},
		{"SELECT quantileExactIf(0.5)(x, y > 1), groupArray(10)(z)", "SELECT quantileExactIf(0.5)(x, (y > 1)), groupArray(10)(z)"},
		{"SELECT INTERVAL '1' DAY, INTERVAL 42 minute, INTERVAL '5 hours', INTERVAL -1 WEEK", "SELECT INTERVAL 1 DAY, INTERVAL 42 MINUTE, INTERVAL 5 HOUR, INTERVAL -1 WEEK"},
		{"SELECT timestamp > now() - INTERVAL '1' DAY", "SELECT (timestamp > (now() - INTERVAL 1 DAY))"},
		{"SELECT CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END, CASE x WHEN 1 THEN 'a' END", "SELECT CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END, CASE x WHEN 1 THEN 'a' END"},
		{"SELECT true, FALSE, null, 'it''s', 'a\\nb'", "SELECT true, false, NULL, 'it\\'s', 'a\\nb'"},
		{"SELECT `weird name`, \"quoted\", `select` FROM `my-dataset` AS `x y`", "SELECT `weird name`, quoted, `select` FROM `my-dataset` AS `x y`"},
		{"SELECT t.blob1 FROM t", "SELECT t.blob1 FROM t"},
		{"SELECT a FROM (SELECT b AS a FROM (SELECT * FROM t) x) AS y", "SELECT a FROM (SELECT b AS a FROM (SELECT * FROM t) AS x) AS y"},
		{"SELECT a, count() FROM t WHERE b = 1 GROUP BY a HAVING count() > 1 ORDER BY a DESC, 2 ASC NULLS FIRST LIMIT 10 OFFSET 5 FORMAT JSONEachRow", "SELECT a, count() FROM t WHERE (b = 1) GROUP BY a HAVING (count() > 1) ORDER BY a DESC, 2 NULLS FIRST LIMIT 10 OFFSET 5 FORMAT JSONEachRow"},
		{"SELECT a FROM t LIMIT 5, 10", "SELECT a FROM t LIMIT 10 OFFSET 5"},
		{"SELECT a FROM t LIMIT ALL", "SELECT a FROM t LIMIT ALL"},
		{"SELECT a FROM t ORDER BY b LIMIT 1 BY a, c LIMIT 3", "SELECT a FROM t ORDER BY b LIMIT 1 BY a, c LIMIT 3"},
		{"SELECT a FROM t LIMIT 2 OFFSET 1 BY a OFFSET 4", "SELECT a FROM t LIMIT 2 OFFSET 1 BY a LIMIT ALL OFFSET 4"},
		{"SELECT a FROM t LIMIT 1, 2 BY a LIMIT 5, 6", "SELECT a FROM t LIMIT 2 OFFSET 1 BY a LIMIT 6 OFFSET 5"},
		{"SELECT a FROM t LIMIT 2 OFFSET 1", "SELECT a FROM t LIMIT 2 OFFSET 1"},
		{"SELECT a, count() FROM t GROUP BY a WITH ROLLUP WITH TOTALS", "SELECT a, count() FROM t GROUP BY a WITH ROLLUP WITH TOTALS"},
		{"SELECT a, count() FROM t GROUP BY CUBE(a, b)", "SELECT a, count() FROM t GROUP BY a, b WITH CUBE"},
		{"SELECT a, count() FROM t GROUP BY a with totals", "SELECT a, count() FROM t GROUP BY a WITH TOTALS"},
		{"SELECT a FROM t OFFSET 3", "SELECT a FROM t LIMIT ALL OFFSET 3"},
		{"SELECT count() * 100 / (SELECT count() FROM t) FROM t WHERE ((SELECT 1)) = 1", "SELECT ((count() * 100) / (SELECT count() FROM t)) FROM t WHERE ((SELECT 1) = 1)"},
		{"SELECT abs((SELECT -1)), a IN (SELECT b FROM t LIMIT 2), a NOT IN (WITH 1 AS o SELECT o), a IN c, a NOT IN `my cte`", "SELECT abs((SELECT -1)), (a IN (SELECT b FROM t LIMIT 2)), (a NOT IN (WITH 1 AS o SELECT o)), (a IN c), (a NOT IN `my cte`)"},
		{"WITH 5 AS n, (SELECT max(x) FROM t) AS m, c AS (SELECT a FROM t), `d e` AS (WITH 1 + 1 AS two SELECT two FROM c) SELECT n FROM c", "WITH 5 AS n, (SELECT max(x) FROM t) AS m, c AS (SELECT a FROM t), `d e` AS (WITH (1 + 1) AS two SELECT two FROM c) SELECT n FROM c"},
		{"SELECT * FROM (WITH x AS (SELECT 1 AS a) SELECT a FROM x) WHERE a IN ((SELECT 1), 2)", "SELECT * FROM (WITH x AS (SELECT 1 AS a) SELECT a FROM x) WHERE (a IN ((SELECT 1), 2))"},
		{"WITH a AS b SELECT b", "WITH a AS b SELECT b"},
		{"SELECT position((SELECT 'a' WHERE 1 IN (1)) IN b)", "SELECT position(b, (SELECT 'a' WHERE (1 IN (1))))"},
		{"SHOW TABLES", "SHOW TABLES"},
		{"show tables format TabSeparated;", "SHOW TABLES FORMAT TabSeparated"},
		{"SHOW TIMEZONES", "SHOW TIMEZONES"},
		{"SHOW TIMEZONE FORMAT JSON", "SHOW TIMEZONE FORMAT JSON"},
		{"SELECT format('{}', 1) FORMAT JSON", "SELECT format('{}', 1) FORMAT JSON"},
		{"SELECT a || b || 'c'", "SELECT ((a || b) || 'c')"},
		{"SELECT ((1))", "SELECT 1"},
		{"SELECT 1 FORMAT tsv", "SELECT 1 FORMAT TabSeparated"},
		{"SELECT 1 FORMAT jsoneachrow", "SELECT 1 FORMAT JSONEachRow"},
		{"SELECT 0x10, 1e3, 1.5", "SELECT 0x10, 1e3, 1.5"},
		{"/* lead */ SELECT 1 -- trail", "SELECT 1"},
	}
	for _, c := range cases {
		st, err := parse(c.in, 64)
		if err != nil {
			t.Errorf("parse(%q): %v", c.in, err)
			continue
		}
		got := stmtString(st)
		if got != c.want {
			t.Errorf("parse(%q)\n got  %s\n want %s", c.in, got, c.want)
			continue
		}
		// the canonical form parses back to itself
		st2, err := parse(got, 64)
		if err != nil {
			t.Errorf("reparse(%q): %v", got, err)
			continue
		}
		if again := stmtString(st2); again != got {
			t.Errorf("canonical form is not stable:\n %s\n %s", got, again)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in        string
		line, col int
		tok, msg  string
	}{
		{"", 1, 1, endOfInput, "empty query"},
		{"SELECT", 1, 7, endOfInput, "expected an expression"},
		{"SELECT 1; SELECT 2", 1, 11, "SELECT", "only one statement"},
		{"SELECT 1; DROP TABLE x", 1, 11, "DROP", "only one statement"},
		{"SELECT 1;;", 1, 10, ";", "only one statement"},
		{"DROP TABLE requests", 1, 1, "DROP", "not allowed"},
		{"insert into t values (1)", 1, 1, "insert", "not allowed"},
		{"PRAGMA database_list", 1, 1, "PRAGMA", "not supported"},
		{"ATTACH 'x.db'", 1, 1, "ATTACH", "not allowed"},
		{"INSTALL httpfs", 1, 1, "INSTALL", "not supported"},
		{"COPY t TO '/tmp/x'", 1, 1, "COPY", "not allowed"},
		{"WITH x AS (SELECT 1) FROM x", 1, 22, "FROM", "expected SELECT after the WITH clause"},
		{"WITH SELECT 1", 1, 6, "SELECT", "expected an expression or a name after WITH"},
		{"WITH 1 AS SELECT 1", 1, 11, "SELECT", "expected a name after AS"},
		{"FROM requests", 1, 1, "FROM", "not supported"},
		{"(SELECT 1)", 1, 1, "(", "must start with SELECT"},
		{"SELECT * FROM a JOIN b ON a.x = b.x", 1, 17, "JOIN", "joins are not supported"},
		{"SELECT * FROM a, b", 1, 16, ",", "unexpected \",\""},
		{"SELECT * FROM a UNION ALL SELECT * FROM b", 1, 17, "UNION", "UNION is not supported"},
		{"SELECT 1 UNION SELECT 2", 1, 10, "UNION", "UNION is not supported"},
		{"SELECT * FROM read_csv('/etc/passwd')", 1, 15, "read_csv", "table functions are not allowed"},
		{"SELECT * FROM system.tables", 1, 15, "system", "qualified table names"},
		{"SELECT * FROM (FROM read_csv('x'))", 1, 16, "FROM", "subquery in FROM must be a SELECT"},
		{"SELECT 1 SETTINGS max_threads = 1", 1, 10, "SETTINGS", "SETTINGS is not supported"},
		{"SELECT 1 INTO OUTFILE 'x'", 1, 10, "INTO", "INTO OUTFILE"},
		{"SELECT 1 FORMAT XML", 1, 17, "XML", "unsupported format"},
		{"SELECT 1 + SELECT 1", 1, 12, "SELECT", "must be in parentheses"},
		{"SELECT abs(SELECT 1)", 1, 12, "SELECT", "must be in parentheses"},
		{"SELECT EXISTS (SELECT 1)", 1, 8, "EXISTS", "EXISTS is not supported"},
		{"SELECT a IN (SELECT 1 FORMAT JSON)", 1, 30, "JSON", "FORMAT is only allowed at the end"},
		{"SELECT a IN x.y", 1, 13, "x", "IN takes a list of values"},
		{"SELECT (SELECT 1) FROM (WITH 1 AS a SELECT a", 1, 45, endOfInput, "expected \")\""},
		{"SELECT count(*) OVER ()", 1, 17, "OVER", "window functions"},
		{"SELECT a FROM t LIMIT -1", 1, 23, "-", "expected a whole number"},
		{"SELECT a FROM t LIMIT 1.5", 1, 23, "1.5", "whole number"},
		{"SELECT INTERVAL 1 FORTNIGHT", 1, 19, "FORTNIGHT", "interval unit"},
		{"SELECT INTERVAL 'x' DAY", 1, 17, "'x'", "whole number"},
		{"SELECT 1 ſrom t", 1, 15, "t", "after the end of the statement"},
		{"ЅELECT 1", 1, 1, "ЅELECT", "must start with SELECT"},
		{"SELECT 1\nFROM t\nWHERE a = = 1", 3, 11, "=", "expected an expression"},
		{"SELECT * FROM (SELECT 1 FORMAT JSON)", 1, 32, "JSON", "FORMAT is only allowed at the end"},
		{"SELECT (1, 2)", 1, 10, ",", "tuples are not supported"},
		{"SELECT t.* FROM t", 1, 10, "*", "qualified *"},
		{"SELECT a.b.c FROM t", 1, 8, "a", "qualified names"},
		{"SELECT 1 FROM t GROUP BY a WITH FILL", 1, 33, "FILL", "expected ROLLUP, CUBE or TOTALS"},
		{"SELECT 1 FROM t GROUP BY a WITH TOTALS WITH ROLLUP", 1, 45, "ROLLUP", "expected ROLLUP, CUBE or TOTALS"},
		{"SELECT 1 FROM t LIMIT ALL BY a", 1, 27, "BY", "LIMIT ALL BY"},
		{"SELECT 1 FROM t LIMIT 1 BY a LIMIT 2 BY b", 1, 30, "LIMIT", "given twice"},
		{"SELECT 1 FROM t LIMIT 2 LIMIT 1 BY b", 1, 25, "LIMIT", "must come before LIMIT"},
		{"SELECT a LIKE 'x' ESCAPE '!'", 1, 19, "ESCAPE", "not supported"},
		{"SELECT 1 FROM t SAMPLE 0.1", 1, 17, "SAMPLE", "SAMPLE is not supported"},
		{"SELECT 1 FROM t FINAL", 1, 17, "FINAL", "FINAL is not supported"},
		{"SELECT 1 FROM t PREWHERE 1", 1, 17, "PREWHERE", "PREWHERE"},
		{"SELECT 1 FROM t ARRAY JOIN x", 1, 17, "ARRAY", "ARRAY JOIN"},
		{"SELECT 1 FROM t LEFT JOIN u USING (x)", 1, 17, "LEFT", "joins"},
		{"SELECT DISTINCT ON (a) a FROM t", 1, 17, "ON", "DISTINCT ON"},
		{"SHOW DATABASES", 1, 6, "DATABASES", "unsupported SHOW"},
		{"SELECT sum(x) FILTER (WHERE y)", 1, 15, "FILTER", "FILTER is not supported"},
	}
	for _, c := range cases {
		_, err := parse(c.in, 64)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("parse(%q): got %v, want an *Error", c.in, err)
			continue
		}
		if e.Line != c.line || e.Col != c.col || e.Token != c.tok || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("parse(%q):\n got  line %d col %d token %q msg %q\n want line %d col %d token %q msg ~%q", c.in, e.Line, e.Col, e.Token, e.Msg, c.line, c.col, c.tok, c.msg)
		}
	}
}

func TestParseDepthLimit(t *testing.T) {
	deep := "SELECT " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100)
	_, err := parse(deep, 64)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "limit of 64 levels") {
		t.Fatalf("deep parens: %v", err)
	}
	if _, err := parse("SELECT "+strings.Repeat("(", 30)+"1"+strings.Repeat(")", 30), 64); err != nil {
		t.Errorf("30 levels refused: %v", err)
	}
	calls := "SELECT " + strings.Repeat("abs(", 70) + "1" + strings.Repeat(")", 70)
	if _, err := parse(calls, 64); err == nil || !strings.Contains(err.Error(), "64") {
		t.Errorf("deep calls: %v", err)
	}
	nots := "SELECT " + strings.Repeat("NOT ", 70) + "1"
	if _, err := parse(nots, 64); err == nil {
		t.Errorf("deep NOT accepted")
	}
	subs := "SELECT * FROM " + strings.Repeat("(SELECT * FROM ", 70) + "t" + strings.Repeat(")", 70)
	if _, err := parse(subs, 64); err == nil || !strings.Contains(err.Error(), "64") {
		t.Errorf("deep subqueries: %v", err)
	}
	// long flat chains are not deep
	chain := "SELECT " + strings.Repeat("blob1 = 'x' OR ", 500) + "1"
	if _, err := parse(chain, 64); err != nil {
		t.Errorf("long OR chain refused: %v", err)
	}
}
