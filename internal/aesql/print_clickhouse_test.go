package aesql

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chMarkerCatalog's sources are recognisable ClickHouse text.
type chMarkerCatalog struct{ *markerCatalog }

func (c chMarkerCatalog) Source(d string, _ int) (string, []any, bool) {
	for _, x := range c.datasets {
		if x == d {
			return "(SELECT * FROM __scoped_marker_" + fmt.Sprint(len(d)) + " WHERE project = 7)", nil, true
		}
	}
	return "", nil, false
}

var chGenerated = regexp.MustCompile(`^(t\d+|r\d+|s\d+c\d+|g\d+_\d+|_v\d+|_w\d+|(r|s\d+c|g\d+_)(l\d+|n|t))$`)

// chWords are the words the ClickHouse printer writes: keywords and the
// functions of its mapping.
var chWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`SELECT DISTINCT AS FROM WHERE GROUP BY WITH ROLLUP CUBE HAVING ORDER ASC DESC NULLS FIRST LAST
		LIMIT AND OR NOT IN BETWEEN NULL CAST Array nan inf
		equals notEquals less greater like notLike lowerUTF8 upperUTF8 isNull isNotNull negate plus minus multiply divide modulo intDiv
		concat multiIf coalesce if count uniqExact sum avg groupUniqArray arraySum length countIf sumIf avgIf min max minIf maxIf
		uniq uniqIf argMax argMin any anyLast quantile quantiles quantileExactWeighted quantileExact quantilesExact topK groupArray
		anyIf anyLastIf quantileIf quantilesIf quantileExactIf quantilesExactIf uniqExactIf groupArrayIf argMinIf argMaxIf
		tuple now today toDateTime toDate toString toUnixTimestamp formatDateTime toStartOfYear toStartOfQuarter toStartOfMonth toMonday
		toStartOfDay toStartOfHour toStartOfMinute toYear toQuarter toMonth toDayOfYear toDayOfMonth toDayOfWeek toHour toMinute toSecond
		toYYYYMM toYYYYMMDD toTimeZone subtractDays addDays addMonths toUInt32 toInt32 toInt64 toUInt64 toUInt8 toUInt16 toInt8 toInt16 toFloat64 trunc
		toIntervalSecond toIntervalMinute toIntervalHour toIntervalDay toIntervalWeek toIntervalMonth toIntervalYear toRelativeDayNum
		dateDiff log log2 log10 sqrt exp pow abs round floor ceil lengthUTF8 empty notEmpty lower upper startsWith endsWith positionUTF8
		substringUTF8 substring greatest hex bitAnd bitOr bitXor bitNot bitShiftLeft bitShiftRight bitRotateLeft bitRotateRight bitTest
		extract extractAll match replaceRegexpOne replaceRegexpAll
		arrayMap arrayStringConcat arraySum range position reinterpretAsString reinterpretAsUInt64 reinterpretAsFloat64 assumeNotNull ifNull least arraySlice
		arraySort arrayReverseSort arrayFilter arrayEnumerate arrayEnumerateUniq arrayEnumerateDense arrayReduce tupleElement arrayJoin
		rowNumberInAllBlocks`) {
		chWords[w] = true
	}
}

// checkPrintedCH checks ClickHouse SQL as checkPrinted does DuckDB's: it
// reads only the recorded Catalog.Source texts, and every other word is
// a keyword, a mapped function, a dataset column or a generated alias.
func checkPrintedCH(sql string, sources []string) error {
	rest := sql
	for _, s := range sources {
		i := strings.Index(rest, s)
		if i < 0 {
			return fmt.Errorf("source %q not in SQL", s)
		}
		rest = rest[:i] + " __SOURCE__ " + rest[i+len(s):]
	}
	if strings.Contains(rest, "__scoped_marker_") {
		return fmt.Errorf("marker text outside a recorded source")
	}
	var toks []string
	for i := 0; i < len(rest); {
		c := rest[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '\'':
			// the printer escapes as \xHH only: any other backslash
			// sequence means a literal's bounds are not the printer's
			j := i + 1
			for j < len(rest) && rest[j] != '\'' {
				if rest[j] == '\\' {
					if j+3 >= len(rest) || rest[j+1] != 'x' || !isHex(rest[j+2]) || !isHex(rest[j+3]) {
						return fmt.Errorf("escape %q in a string literal is not \\xHH", rest[j:min(j+4, len(rest))])
					}
					j += 4
					continue
				}
				if rest[j] < 0x20 || rest[j] > 0x7e {
					return fmt.Errorf("unescaped byte %q in a string literal", rest[j])
				}
				j++
			}
			if j >= len(rest) {
				return fmt.Errorf("unterminated string")
			}
			toks = append(toks, rest[i:j+1])
			i = j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(rest) && (rest[j] == '_' || rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || isDigit(rest[j])) {
				j++
			}
			toks = append(toks, rest[i:j])
			i = j
		case isDigit(c):
			j := i
			for j < len(rest) && (isDigit(rest[j]) || rest[j] == '.' || rest[j] == 'e' || (rest[j] == '+' || rest[j] == '-') && rest[j-1] == 'e') {
				j++
			}
			toks = append(toks, rest[i:j])
			i = j
		case c == '-' && i+1 < len(rest) && rest[i+1] == '-', c == '/' && i+1 < len(rest) && rest[i+1] == '*':
			return fmt.Errorf("a comment (%q) outside a string literal", rest[i:i+2])
		case c == '-' && i+1 < len(rest) && rest[i+1] == '>':
			// a lambda's arrow
			toks = append(toks, "->")
			i += 2
		case strings.IndexByte("()[],.+-*/%=<>!", c) >= 0:
			toks = append(toks, string(c))
			i++
		default:
			return fmt.Errorf("unexpected character %q", c)
		}
	}
	for i, t := range toks {
		switch {
		case t == "FROM":
			if i+1 >= len(toks) || !(toks[i+1] == "__SOURCE__" || toks[i+1] == "(" && i+2 < len(toks) && toks[i+2] == "SELECT") {
				return fmt.Errorf("FROM %v: not a scoped source", toks[i+1:min(i+3, len(toks))])
			}
		case t == "__SOURCE__", t == "->", t[0] == '\'', isDigit(t[0]), len(t) == 1 && !isLetter(t[0]):
		case isAEColumn[t], chGenerated.MatchString(t), chWords[t]:
		default:
			return fmt.Errorf("word %q is neither a keyword, a mapped function nor a generated name", t)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// TestClickHousePrintedIsScoped compiles every corpus query (and the
// injection corpus's) for ClickHouse and checks the printed SQL reads only
// the catalog's sources and is built only from the printer's own words.
func TestClickHousePrintedIsScoped(t *testing.T) {
	qs, err := ReadCorpusQueries("testdata/clickhouse/queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	cat := chMarkerCatalog{newMarkerCatalog()}
	cat.datasets = append(cat.datasets, "reqs")
	n := 0
	for _, q := range qs {
		p, err := CompileClickHouse(q.SQL, cat, Options{})
		if err != nil || p.Kind != KindSelect {
			continue
		}
		n++
		for _, pl := range []*Plan{p, p.Totals} {
			if pl == nil {
				continue
			}
			if len(pl.Args) > 0 {
				t.Errorf("%s: %d parameters", q.ID, len(pl.Args))
			}
			if err := checkPrintedCH(pl.SQL, pl.sources); err != nil {
				t.Errorf("%s: %v\n%s", q.ID, err, pl.SQL)
			}
		}
	}
	if n < 300 {
		t.Fatalf("only %d corpus queries compiled for ClickHouse", n)
	}
	t.Logf("%d printed queries checked", n)
}

func TestClickHouseSourceAndLiterals(t *testing.T) {
	if _, err := ClickHouseSource("db.points; DROP", 1, "x"); err == nil {
		t.Error("a table name with punctuation was accepted")
	}
	s, err := ClickHouseSource("alidade.points", 3, "it's\\\n☃")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, `dataset = 'it\x27s\x5C\x0A\xE2\x98\x83'`) || !strings.Contains(s, "project = 3") {
		t.Errorf("source %s", s)
	}
}

// TestClickHouseSizeLimit: a statement whose ClickHouse SQL would pass
// maxSQLBytes is refused with an *Error naming the limit, soon, both when
// nesting grows it and when a short query repeats a long alias (4000
// references to 680 KB: 2.7 GB unless the parts are counted as they are
// joined).
func TestClickHouseSizeLimit(t *testing.T) {
	cat := chMarkerCatalog{newMarkerCatalog()}
	nest := func(n int) string {
		e := "blob1"
		for i := 0; i < n; i++ {
			e = "substring(" + e + ", -1)"
		}
		return e
	}
	aliasRefs := strings.Repeat("a, ", 4000)
	for _, q := range []string{
		"SELECT " + nest(40) + " FROM requests",
		"WITH " + nest(7) + " AS a SELECT concat(" + aliasRefs + "a) FROM requests",
		"WITH " + nest(7) + " AS a SELECT " + aliasRefs + "a FROM requests",
		"WITH " + nest(7) + " AS a SELECT count() FROM requests WHERE a IN (" + aliasRefs + "a)",
		"WITH " + nest(7) + " AS a SELECT format('" + strings.Repeat("{0}", 4000) + "', a) FROM requests",
		"WITH toDateTime(" + nest(7) + ") AS a SELECT formatDateTime(a, '" + strings.Repeat("%M", 4000) + "') FROM requests",
	} {
		start := time.Now()
		_, err := CompileClickHouse(q, cat, Options{})
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, fmt.Sprintf("longer than %d bytes", maxSQLBytes)) {
			t.Errorf("%.80s...: %v; want the size limit's error", q, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%.80s...: refused after %v", q, d)
		}
	}
}

// TestClickHouseFeatures: what a newer server has (ClickHouseFeatures) is
// printed natively for it and emulated for 18.16 (the zero value, and
// CompileClickHouse); the answers are compared on both servers by
// TestClickHouseBackend and TestClickHouseBackendCurrent.
func TestClickHouseFeatures(t *testing.T) {
	cat := chMarkerCatalog{newMarkerCatalog()}
	all := ClickHouseFeatures{LimitByOffset: true, FormatOffset: true}
	for _, c := range []struct {
		sql          string
		native, old  string // in the SQL for all / for 18.16
		nativeAbsent string // not in the SQL for all
	}{
		{"SELECT index1 FROM weather ORDER BY index1 LIMIT 2 OFFSET 1 BY index1", " LIMIT 1, 2 BY ", "rowNumberInAllBlocks()", "arrayJoin"},
		{"SELECT formatDateTime(timestamp, '%F %z', 'Asia/Kathmandu') FROM weather", "formatDateTime(t0.timestamp, '%z', 'Asia/Kathmandu')", "toDateTime(toString(t0.timestamp, 'Asia/Kathmandu'), 'UTC')", "%F %z"},
	} {
		p, err := CompileClickHouseFor(c.sql, cat, Options{}, all)
		if err != nil {
			t.Fatalf("CompileClickHouseFor(%q, all) = %v", c.sql, err)
		}
		if !strings.Contains(p.SQL, c.native) || strings.Contains(p.SQL, c.nativeAbsent) {
			t.Errorf("CompileClickHouseFor(%q, all).SQL = %s; want %q in it and not %q", c.sql, p.SQL, c.native, c.nativeAbsent)
		}
		for _, f := range []func() (*Plan, error){
			func() (*Plan, error) { return CompileClickHouseFor(c.sql, cat, Options{}, ClickHouseFeatures{}) },
			func() (*Plan, error) { return CompileClickHouse(c.sql, cat, Options{}) },
		} {
			p, err := f()
			if err != nil {
				t.Fatalf("compile %q for 18.16: %v", c.sql, err)
			}
			if !strings.Contains(p.SQL, c.old) || strings.Contains(p.SQL, c.native) {
				t.Errorf("compile %q for 18.16: SQL = %s; want %q in it and not %q", c.sql, p.SQL, c.old, c.native)
			}
		}
	}
}
