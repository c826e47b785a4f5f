package aesql

import (
	"sort"
	"strings"
	"testing"
)

// TestFunctionMatrix calls every allowlisted function with arguments of
// every type the dialect has; whatever compiles must run on DuckDB
// without a binder or type error (runtime errors such as a failed
// conversion are ClickHouse's too). It catches printer mappings that
// DuckDB does not accept.
func TestFunctionMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	pool := []string{"blob1", "double1", "_sample_interval", "timestamp", "toDate(timestamp)", "3", "-2", "300", "'2'", "NULL", "true", "double1 > 1", "toInt64(double1)", "INTERVAL 1 DAY", "18446744073709551615", "0.5", "'America/New_York'", "toDateTime(timestamp, 'Asia/Kolkata')"}
	aggPool := []string{"blob1", "double1", "_sample_interval", "timestamp", "2", "double1 > 1"}
	names := map[string]bool{}
	for _, d := range fnDefs {
		names[d.name] = true
	}
	var fns []string
	for n := range names {
		fns = append(fns, n)
	}
	sort.Strings(fns)
	compiled, ran := 0, 0
	for _, fn := range fns {
		d := fnDefs[asciiLower(fn)]
		p := pool
		if d.agg {
			p = aggPool
		}
		var calls []string
		maxArgs := d.args[1]
		if maxArgs < 0 || maxArgs > 3 {
			maxArgs = 3
		}
		for n := d.args[0]; n <= maxArgs; n++ {
			var rec func(prefix []string)
			rec = func(prefix []string) {
				if len(prefix) == n {
					calls = append(calls, fn+"("+strings.Join(prefix, ", ")+")")
					return
				}
				for _, a := range p {
					if n == 3 && len(calls) > 400 {
						return
					}
					rec(append(append([]string(nil), prefix...), a))
				}
			}
			rec(nil)
		}
		if d.params[1] > 0 {
			var with []string
			for _, c := range calls {
				with = append(with, strings.Replace(c, "(", "(1)(", 1))
			}
			calls = append(calls, with...)
		}
		for _, c := range calls {
			q := "SELECT " + c + " FROM requests"
			plan, err := mustCompile(q)
			if err != nil {
				if !IsUserError(err) {
					t.Errorf("%s: %v", q, err)
				}
				continue
			}
			compiled++
			if err := checkPrinted(plan.SQL, plan.sources); err != nil {
				t.Errorf("%s: %v", q, err)
			}
			p, rows, err := runDuck(t, q)
			if err != nil {
				msg := err.Error()
				if strings.Contains(msg, "Binder Error") || strings.Contains(msg, "Parser Error") || strings.Contains(msg, "Catalog Error") || strings.Contains(msg, "BUG") || strings.Contains(msg, "Not implemented") || strings.Contains(msg, "Internal") {
					t.Errorf("%s:\n%v", q, err)
				}
				continue
			}
			ran++
			checkGoTypes(t, p, rows)
		}
	}
	t.Logf("%d functions, %d calls compiled, %d ran", len(fns), compiled, ran)
}

// TestOperatorMatrix does the same for operators and conditionals.
func TestOperatorMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	pool := []string{"blob1", "double1", "_sample_interval", "timestamp", "toDate(timestamp)", "3", "-2", "'2'", "'2025-10-27 09:11:13'", "NULL", "true", "double1 > 1", "toInt64(double1)", "INTERVAL 1 DAY", "18446744073709551615", "0.5", "count()"}
	forms := []string{"%s + %s", "%s - %s", "%s * %s", "%s / %s", "%s %% %s", "%s = %s", "%s != %s", "%s < %s", "%s >= %s",
		"%s || %s", "%s LIKE %s", "%s NOT ILIKE %s", "%s IN (%s, 1)", "%s NOT IN (%s)", "%s BETWEEN %s AND %s", "%s AND %s", "%s OR %s",
		"if(double1 > 0, %s, %s)", "CASE WHEN %s THEN %s END", "CASE %s WHEN %s THEN 1 ELSE 0 END", "coalesce(%s, %s)", "NOT %s AND -%s = 0"}
	compiled, ran := 0, 0
	for _, f := range forms {
		for _, x := range pool {
			for _, y := range pool {
				e := strings.Replace(strings.Replace(f, "%s", x, 1), "%s", y, -1)
				e = strings.ReplaceAll(e, "%%", "%")
				q := "SELECT " + e + " FROM requests"
				if strings.Contains(e, "count()") {
					q += " GROUP BY blob1"
				}
				plan, err := mustCompile(q)
				if err != nil {
					if !IsUserError(err) {
						t.Errorf("%s: %v", q, err)
					}
					continue
				}
				compiled++
				if err := checkPrinted(plan.SQL, plan.sources); err != nil {
					t.Errorf("%s: %v", q, err)
				}
				p, rows, err := runDuck(t, q)
				if err != nil {
					msg := err.Error()
					if !strings.Contains(msg, "Division by zero") && !strings.Contains(msg, "Conversion Error") && !strings.Contains(msg, "Could not convert") {
						t.Errorf("%s:\n%v", q, err)
					}
					continue
				}
				ran++
				checkGoTypes(t, p, rows)
			}
		}
	}
	t.Logf("%d expressions compiled, %d ran", compiled, ran)
}
