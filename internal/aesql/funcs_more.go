package aesql

import (
	"regexp/syntax"
	"strings"
)

// More of ClickHouse's everyday functions: any, anyLast, quantileExact,
// quantilesExact, groupArray, the -If forms of aggregates (ifAggregates),
// the regular expression functions (extract, extractAll, match,
// replaceRegexpOne, replaceRegexpAll), dateDiff and toTypeName. The DuckDB
// printer of these is print_duckdb_funcs.go.

// maxGroupArray bounds the values groupArray collects: groupArray(n)(x)
// takes n from 1 to maxGroupArray, and groupArray(x) fails when a group
// has more values than that (ClickHouse's own bound is far higher).
const maxGroupArray = 100_000

// ifAggregates are the aggregates that have an -If form, name + "If": the
// same arguments and a condition after them; rows where it is false do not
// count. (countIf, sumIf, avgIf, minIf, maxIf and uniqIf are defined in
// funcs.go.) The IR call of an -If form is the base function's (as its
// inference names it: medianIf is quantileIf) plus "If", with the
// condition as its last argument.
var ifAggregates = []string{
	"any", "anyLast", "quantile", "quantiles", "quantileExact", "quantilesExact", "median", "medianExact",
	"uniqExact", "groupArray", "argMin", "argMax",
}

// ifBase maps the IR name of an -If form to its base aggregate (the IR
// names the inference of ifAggregates gives).
var ifBase = map[string]string{
	"anyIf": "any", "anyLastIf": "anyLast", "quantileIf": "quantile", "quantilesIf": "quantiles",
	"quantileExactIf": "quantileExact", "quantilesExactIf": "quantilesExact", "uniqExactIf": "uniqExact",
	"groupArrayIf": "groupArray", "argMinIf": "argMin", "argMaxIf": "argMax",
}

// regexFlagsDotNL is prepended to every pattern: in ClickHouse "."
// matches line breaks too (RE2's dot_nl, set by OptimizedRegularExpression
// and by replaceRegexpOne/All).
const regexFlagsDotNL = "(?s)"

// regexPattern checks that argument i of c is a string literal holding a
// valid RE2 pattern (checked with Go's regexp/syntax, RE2's syntax), and
// returns it with its number of capturing groups.
func (a *analyzer) regexPattern(c *fnCall, i int) (string, int, error) {
	k, ok := c.args[i].(*constant)
	if !ok || !k.t.isString() {
		return "", 0, a.argErr(c, i, "the pattern of %s must be a string literal", c.def.name)
	}
	pat := k.v.(string)
	if strings.IndexByte(pat, 0) >= 0 {
		return "", 0, a.argErr(c, i, "the pattern of %s cannot contain a zero byte", c.def.name)
	}
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = string(se.Code) + ": " + shortLit(se.Expr)
		}
		return "", 0, a.argErr(c, i, "invalid regular expression in %s: %s", c.def.name, msg).hint("the syntax is RE2's; escape special characters with \\")
	}
	return pat, re.MaxCap(), nil
}

// chReplacement turns a ClickHouse replacement string (\0 to \9 name the
// whole match and the groups, \ before any other character makes it
// literal) into an RE2 rewrite string (where only \\ and \0 to \9 may
// follow a backslash); bad is the first group number the pattern lacks.
func chReplacement(s string, groups int) (rewrite string, bad int) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\\' && i+1 < len(s) {
			i++
			ch = s[i]
			if isDigit(ch) {
				if int(ch-'0') > groups {
					return "", int(ch - '0')
				}
				b.WriteByte('\\')
				b.WriteByte(ch)
				continue
			}
		}
		if ch == '\\' {
			b.WriteString(`\\`)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String(), -1
}

// dateDiffUnits maps ClickHouse's dateDiff units (matched ignoring ASCII
// case) to the canonical unit.
var dateDiffUnits = map[string]string{
	"nanosecond": "nanosecond", "nanoseconds": "nanosecond", "ns": "nanosecond",
	"microsecond": "microsecond", "microseconds": "microsecond", "us": "microsecond", "u": "microsecond",
	"millisecond": "millisecond", "milliseconds": "millisecond", "ms": "millisecond",
	"second": "second", "seconds": "second", "ss": "second", "s": "second",
	"minute": "minute", "minutes": "minute", "mi": "minute", "n": "minute",
	"hour": "hour", "hours": "hour", "hh": "hour", "h": "hour",
	"day": "day", "days": "day", "dd": "day", "d": "day",
	"week": "week", "weeks": "week", "wk": "week", "ww": "week",
	"month": "month", "months": "month", "mm": "month", "m": "month",
	"quarter": "quarter", "quarters": "quarter", "qq": "quarter", "q": "quarter",
	"year": "year", "years": "year", "yyyy": "year", "yy": "year",
}

// exactQuantileType is the result type of quantileExact over t: t itself
// (Bool as UInt8), as ClickHouse gives it.
func (a *analyzer) exactQuantileType(c *fnCall, i int) (chType, error) {
	if err := a.noNullAgg(c, i); err != nil {
		return chType{}, err
	}
	t := c.t(i)
	if !t.isNumeric() && !t.isTime() {
		return chType{}, a.argErr(c, i, "%s needs a number, date or time, not %s", c.def.name, t)
	}
	if t.k == kBool {
		t = typ(kUInt8).withNull(t.nullable)
	}
	return t, nil
}

func init() {
	anyFn := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		return done(c, c.t(0))
	}
	def([]string{"any", "any_value"}, fnDef{name: "any", agg: true, args: [2]int{1, 1}, infer: anyFn})
	def([]string{"anyLast"}, fnDef{agg: true, args: [2]int{1, 1}, infer: anyFn})
	def([]string{"quantileExact", "medianExact"}, fnDef{name: "quantileExact", agg: true, params: [2]int{0, 1}, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.out.params) == 0 {
			c.out.params = []constant{numConst(c.ast.P, c.ast.Name, 0.5)}
		}
		if _, err := a.level(c, c.out.params[0]); err != nil {
			return nil, err
		}
		t, err := a.exactQuantileType(c, 0)
		if err != nil {
			return nil, err
		}
		return done(c, t)
	}})
	def([]string{"quantilesExact"}, fnDef{agg: true, params: [2]int{1, 64}, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.out.params) == 0 {
			return nil, a.errAt(c.ast.P, c.ast.Name, "%s needs levels as parameters, as in %s(0.5, 0.9)(x)", c.def.name, c.def.name)
		}
		for _, k := range c.out.params {
			if _, err := a.level(c, k); err != nil {
				return nil, err
			}
		}
		t, err := a.exactQuantileType(c, 0)
		if err != nil {
			return nil, err
		}
		return done(c, arrayOf(t.notNull()))
	}})
	def([]string{"groupArray"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.out.params) == 1 {
			k := c.out.params[0]
			n, ok := constInt(k)
			if !ok || n < 1 || n > maxGroupArray {
				return nil, a.errAt(k.p, k.tok, "the size of groupArray must be a whole number from 1 to %d", maxGroupArray)
			}
			c.out.params = []constant{uintConst(k.p, k.tok, uint64(n))}
		}
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if t := c.t(0); t.k == kArray {
			return nil, a.argErr(c, 0, "groupArray of arrays is not supported")
		}
		return done(c, arrayOf(c.t(0).notNull()))
	}})

	// the -If forms
	for _, base := range ifAggregates {
		bd := fnDefs[asciiLower(base)]
		if bd == nil {
			panic("aesql: no aggregate " + base)
		}
		d := *bd
		d.name = base + "If"
		d.args = [2]int{bd.args[0] + 1, bd.args[1] + 1}
		d.distinct, d.star = false, false
		infer := bd.infer
		baseDef := bd
		d.infer = func(a *analyzer, c *fnCall) (irExpr, error) {
			n := len(c.args) - 1
			if err := a.wantCond(c, n); err != nil {
				return nil, err
			}
			cond := c.args[n]
			// run the base's inference on the arguments before the condition
			c.args = c.args[:n]
			c.out.args = c.args
			ast := *c.ast
			ast.Args = ast.Args[:n]
			ast.Name = c.ast.Name[:len(c.ast.Name)-2]
			orig := c.ast
			c.ast = &ast
			c.def = baseDef
			c.out.fn = baseDef.name
			res, err := infer(a, c)
			c.ast = orig
			if err != nil {
				return nil, err
			}
			out, ok := res.(*call)
			if !ok || out != c.out {
				bug("the -If form of %s", base)
			}
			out.fn += "If"
			if ifBase[out.fn] == "" {
				bug("the -If form %s has no base in ifBase", out.fn)
			}
			out.args = append(append([]irExpr{}, out.args...), cond)
			return out, nil
		}
		fnDefs[asciiLower(d.name)] = &d
	}

	// ---- regular expressions
	def([]string{"extract"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		_, groups, err := a.regexPattern(c, 1)
		if err != nil {
			return nil, err
		}
		c.out.params = []constant{uintConst(c.ast.P, c.ast.Name, uint64(min(groups, 1)))}
		return done(c, typ(kString))
	}})
	def([]string{"extractAll"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		_, groups, err := a.regexPattern(c, 1)
		if err != nil {
			return nil, err
		}
		if t := c.t(0); anyNullable(t) {
			// ClickHouse: an array cannot be inside Nullable
			return nil, a.argErr(c, 0, "extractAll needs a String, not %s", t).hint("replace NULL first: extractAll(ifNull(x, ''), pattern)")
		}
		c.out.params = []constant{uintConst(c.ast.P, c.ast.Name, uint64(min(groups, 1)))}
		return done(c, arrayOf(typ(kString)))
	}})
	def([]string{"match"}, fnDef{args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		if _, _, err := a.regexPattern(c, 1); err != nil {
			return nil, err
		}
		return done(c, typ(kUInt8))
	}})
	replace := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantString(c, 0); err != nil {
			return nil, err
		}
		_, groups, err := a.regexPattern(c, 1)
		if err != nil {
			return nil, err
		}
		k, ok := c.args[2].(*constant)
		if !ok || !k.t.isString() {
			return nil, a.argErr(c, 2, "the replacement of %s must be a string literal", c.def.name)
		}
		rw, bad := chReplacement(k.v.(string), groups)
		if bad >= 0 {
			return nil, a.argErr(c, 2, "the replacement of %s refers to group \\%d, but the pattern has %d capturing groups", c.def.name, bad, groups).hint("\\0 is the whole match; write \\\\ for a backslash")
		}
		c.out.args = []irExpr{c.args[0], c.args[1], &constant{p: k.p, tok: k.tok, t: typ(kString), v: rw}}
		return done(c, typ(kString))
	}
	def([]string{"replaceRegexpOne"}, fnDef{args: [2]int{3, 3}, infer: replace})
	def([]string{"replaceRegexpAll", "REGEXP_REPLACE"}, fnDef{name: "replaceRegexpAll", args: [2]int{3, 3}, infer: replace})

	// ---- dateDiff(unit, start, end[, tz]): the number of unit boundaries
	// crossed from start to end, each counted in its zone (the tz argument,
	// else the zone of its DateTime type, else UTC), as ClickHouse counts.
	def([]string{"dateDiff", "date_diff", "timestampDiff", "timestamp_diff"}, fnDef{name: "dateDiff", args: [2]int{3, 4}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		k, ok := c.args[0].(*constant)
		if !ok || !k.t.isString() {
			return nil, a.argErr(c, 0, "the unit of dateDiff must be a string literal such as 'day'")
		}
		unit, ok := dateDiffUnits[asciiLower(k.v.(string))]
		if !ok {
			return nil, a.argErr(c, 0, "unknown unit %s of dateDiff", shortLit(k.v.(string))).hint("use 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter' or 'year'")
		}
		z, err := a.zoneArg(c, 3)
		if err != nil {
			return nil, err
		}
		for i := 1; i <= 2; i++ {
			if c.t(i).isString() {
				// ClickHouse takes only Date and DateTime here
				return nil, a.argErr(c, i, "dateDiff needs a Date or DateTime, not %s", c.t(i)).hint("convert with toDateTime() or toDate()")
			}
			if err := a.wantTime(c, i, ""); err != nil {
				return nil, err
			}
		}
		c.out.tz = z
		c.out.params = []constant{{p: k.p, tok: k.tok, t: typ(kString), v: unit}}
		c.out.args = []irExpr{c.args[1], c.args[2]}
		return done(c, typ(kInt64))
	}})

	// ---- toTypeName: the type as the analyzer types it, a constant.
	def([]string{"toTypeName"}, fnDef{args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		name := &constant{p: c.ast.P, tok: c.ast.Name, t: typ(kString), v: c.t(0).String()}
		if containsAgg(c.args[0]) != nil {
			// a constant computed after aggregation: the aggregate stays in
			// the IR so that the query aggregates (one row without GROUP BY)
			c.out.args = []irExpr{c.args[0], name}
			return done(c, typ(kString))
		}
		return name, nil
	}})
}
