package aesql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// markerCatalog is a fake Catalog whose Source output is recognisable:
// every table reference of printed SQL must be one of its markers.
type markerCatalog struct {
	datasets []string
	schemas  map[string]*point.Schema
}

func newMarkerCatalog() *markerCatalog {
	return &markerCatalog{
		datasets: []string{"requests", "weather", "empty", "Mixed-Case"},
		schemas: map[string]*point.Schema{
			"requests": {Index: "endpoint", Blobs: []string{"url", "method"}, Doubles: []string{"duration", "status"}},
			"weather":  {Blobs: []string{"city"}, Doubles: []string{"temp", "humidity"}},
		},
	}
}

func (c *markerCatalog) Datasets() []string { return c.datasets }
func (c *markerCatalog) Schema(d string) *point.Schema {
	return c.schemas[d]
}

// markerPrefix starts every marker source.
const markerPrefix = "(SELECT * FROM __scoped_marker_"

func (c *markerCatalog) Source(d string, argBase int) (string, []any, bool) {
	for _, x := range c.datasets {
		if x == d {
			return markerPrefix + strconv.Itoa(len(d)) + " WHERE project = $" + strconv.Itoa(argBase+1) + ")", []any{"proj:" + d}, true
		}
	}
	return "", nil, false
}

func mustCompile(q string) (*Plan, error) {
	return Compile(q, newMarkerCatalog(), DefaultOptions())
}

// sqlTokens splits printed backend SQL into words, quoted strings and
// identifiers, and punctuation, for loose checks of its structure.
func sqlTokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '\'' || c == '"':
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated quote at %d", i)
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			out = append(out, s[i:j+1])
			i = j + 1
		case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "/*"):
			return nil, fmt.Errorf("comment in printed SQL at %d", i)
		case c == ';':
			return nil, fmt.Errorf("semicolon in printed SQL at %d", i)
		case isDigit(c) || c == '$':
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == 'e' || ((s[j] == '+' || s[j] == '-') && (s[j-1] == 'e'))) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := i + 1
			for j < len(s) && (s[j] == '_' || isDigit(s[j]) || (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			if c >= 0x80 || c < 0x20 {
				return nil, fmt.Errorf("byte %#x in printed SQL at %d", c, i)
			}
			out = append(out, s[i:i+1])
			i++
		}
	}
	return out, nil
}

// duckFunctions are the function names the DuckDB printer may emit.
var duckFunctions = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "coalesce": true, "arg_max": true, "arg_min": true,
	"first": true, "last": true, "quantile_cont": true, "list_reduce": true, "list_sort": true, "list": true, "list_contains": true,
	"list_transform": true, "map_entries": true, "histogram": true, "unnest": true, "make_timestamp": true,
	"epoch_us": true, "now": true, "epoch_ms": true, "floor": true, "strftime": true, "lpad": true, "year": true,
	"day": true, "isoyear": true, "quarter": true, "time_bucket": true, "date_trunc": true, "make_date": true,
	"to_seconds": true, "to_minutes": true, "to_hours": true, "to_days": true, "to_weeks": true, "to_months": true,
	"to_years": true, "dayofweek": true, "month": true, "dayofyear": true, "isodow": true, "hour": true, "minute": true,
	"second": true, "ln": true, "log2": true, "log10": true, "sqrt": true, "exp": true, "pow": true, "abs": true,
	"round": true, "round_even": true, "ceil": true, "trunc": true, "length": true, "len": true, "translate": true,
	"lower": true, "upper": true, "starts_with": true, "suffix": true, "strpos": true, "substring": true,
	"greatest": true, "least": true, "regexp_full_match": true, "xor": true, "bit_count": true, "hex": true, "bin": true,
	"TRY_CAST": true, "CAST": true, "error": true, "UHUGEINT": true, "timezone": true, "signbit": true, "isnan": true, "isinf": true, "isfinite": true,
}

// duckKeywords are the other words the DuckDB printer may emit.
var duckKeywords = map[string]bool{
	"SELECT": true, "DISTINCT": true, "AS": true, "FROM": true, "WHERE": true, "GROUP": true, "BY": true, "HAVING": true,
	"ORDER": true, "ASC": true, "DESC": true, "NULLS": true, "FIRST": true, "LAST": true, "LIMIT": true, "OFFSET": true,
	"AND": true, "OR": true, "NOT": true, "IN": true, "BETWEEN": true, "LIKE": true, "ILIKE": true, "ESCAPE": true,
	"IS": true, "NULL": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "TRUE": true,
	"FALSE": true, "FILTER": true, "lambda": true, "DATE": true, "TIMESTAMP": true, "OVER": true,
	"BOOLEAN": true, "UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true, "TINYINT": true,
	"SMALLINT": true, "INTEGER": true, "BIGINT": true, "HUGEINT": true, "DOUBLE": true, "VARCHAR": true,
	// struct fields and lambda parameters of the printer's own expressions
	"e": true, "a": true, "u": true, "k": true, "s": true, "n": true, "w": true, "v": true, "acc": true, "th": true,
	"res": true, "d": true, "value": true, "key": true,
	// LIMIT BY, WITH ROLLUP/CUBE and the totals of the groups that pass HAVING
	"QUALIFY": true, "row_number": true, "PARTITION": true, "ROLLUP": true, "CUBE": true, "GROUPING": true,
	"SEMI": true, "JOIN": true, "ON": true,
	// uniq of several arguments, DateTime - DateTime
	"row": true, "epoch": true,
	// toString of a Float64 (floatText)
	"replace": true, "repeat": true, "ends_with": true,
}

// checkPrinted loosely parses printed SQL: every FROM is followed by a
// marker source, a parenthesised SELECT, or the printer's own unnest of
// an aggregate list; every word is a known keyword, a DuckDB function of
// the printer's mapping, a generated alias or a dataset column.
func checkPrinted(sql string, sources []string) error {
	rest := sql
	for _, s := range sources {
		if !strings.HasPrefix(s, markerPrefix) {
			return fmt.Errorf("source %q is not a marker", s)
		}
	}
	// strip the marker sources, which the catalog wrote
	for _, s := range sources {
		i := strings.Index(rest, s)
		if i < 0 {
			return fmt.Errorf("source %q not in SQL", s)
		}
		rest = rest[:i] + "__SOURCE__" + rest[i+len(s):]
	}
	if strings.Contains(rest, "__scoped_marker_") {
		return fmt.Errorf("marker text outside a recorded source")
	}
	toks, err := sqlTokens(rest)
	if err != nil {
		return err
	}
	for i, t := range toks {
		switch {
		case t == "FROM":
			if i+1 >= len(toks) {
				return fmt.Errorf("FROM at the end")
			}
			n := toks[i+1]
			switch {
			case n == "__SOURCE__":
			case n == "(" && i+2 < len(toks) && toks[i+2] == "SELECT":
			case n == "unnest" && i+4 < len(toks) && toks[i+2] == "(" && ((toks[i+3] == "list" && toks[i+4] == "(") || (toks[i+3] == "[" && toks[i+4] == "{")):
			default:
				return fmt.Errorf("FROM %s ...: not a scoped source", n)
			}
		case t == "__SOURCE__":
		case t[0] == '\'' || t[0] == '$' || isDigit(t[0]):
		case t[0] == '"':
			name := t[1 : len(t)-1]
			if !isAEColumn[name] && !(strings.HasPrefix(name, "c") && isNumber(name[1:])) {
				return fmt.Errorf("identifier %s is not generated", t)
			}
		case t[0] == '_' || (t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z'):
			if duckFunctions[t] || duckKeywords[t] {
				continue
			}
			if (t[0] == 't' || t[0] == 's' || t[0] == 'v') && isNumber(t[1:]) {
				continue
			}
			if t == "e" && i > 0 {
				continue
			}
			return fmt.Errorf("word %q is neither a keyword nor a mapped function", t)
		}
	}
	return nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
