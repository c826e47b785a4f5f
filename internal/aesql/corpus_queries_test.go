package aesql

import (
	"fmt"
	"os"
	"strings"
)

// CorpusQuery is one query of the ClickHouse differential corpus
// (testdata/clickhouse/queries.sql).
type CorpusQuery struct {
	ID   string
	Line int    // the line of its "-- id" header
	SQL  string // without a trailing semicolon
}

// ReadCorpusQueries reads a corpus file. Every query starts with a header
// line "-- <id>" (an optional comment may follow the id after a space) and
// runs up to the next header or the end; lines starting with "--" inside
// a query are kept; blank lines, lines starting with "#" (comments, such as
// section titles, also before the first header) and a trailing ";" are
// dropped. Ids are unique.
func ReadCorpusQueries(path string) ([]CorpusQuery, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []CorpusQuery
	seen := map[string]bool{}
	var cur *CorpusQuery
	var body []string
	flush := func() error {
		if cur == nil {
			return nil
		}
		sql := strings.TrimSpace(strings.Join(body, "\n"))
		sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
		if sql == "" {
			return fmt.Errorf("%s:%d: query %s has no SQL", path, cur.Line, cur.ID)
		}
		cur.SQL = sql
		out = append(out, *cur)
		cur, body = nil, nil
		return nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "-- "); ok && isCorpusID(strings.Fields(rest + " x")[0]) {
			if err := flush(); err != nil {
				return nil, err
			}
			id := strings.Fields(rest)[0]
			if seen[id] {
				return nil, fmt.Errorf("%s:%d: duplicate query id %s", path, i+1, id)
			}
			seen[id] = true
			cur = &CorpusQuery{ID: id, Line: i + 1}
			continue
		}
		if cur == nil {
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
				return nil, fmt.Errorf("%s:%d: text before the first \"-- <id>\" header", path, i+1)
			}
			continue
		}
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
			body = append(body, line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// isCorpusID reports whether s looks like a query id: a lower-case
// section, a dash and digits, e.g. agg-07.
func isCorpusID(s string) bool {
	sec, num, ok := strings.Cut(s, "-")
	if !ok || sec == "" || num == "" {
		return false
	}
	for _, c := range sec {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
