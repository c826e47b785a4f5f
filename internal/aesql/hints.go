package aesql

import "strings"

// code quotes SQL that a hint suggests (a query, a clause, an expression or
// a name to write instead), so that readers and hints_test.go can tell it
// from prose: in backquotes, or, when it holds a backquote itself (a quoted
// identifier), in double backquotes with a space inside (Markdown's rule).
// Every suggestion so quoted must work when written in place of the
// offending text; hints_test.go runs each.
func code(sql string) string {
	if strings.Contains(sql, "`") {
		return "`` " + sql + " ``"
	}
	return "`" + sql + "`"
}

// codeList quotes each suggestion with code and joins them: "`a`, `b` or `c`".
func codeList(conj string, sqls ...string) string {
	q := make([]string, len(sqls))
	for i, s := range sqls {
		q[i] = code(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}
