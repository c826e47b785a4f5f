package aesql

import (
	"math"
	"sort"
	"strings"
	"time"
)

// fnDef is one allowlisted function. Only functions in fnDefs can appear in
// a query; the printer maps each canonical name to backend SQL of its own.
type fnDef struct {
	name     string // canonical ClickHouse spelling, the IR's function id
	agg      bool
	params   [2]int // parameters allowed in name(params)(args); {0, 0}: not parametric
	args     [2]int // arguments: min, max (-1: any number)
	distinct bool   // name(DISTINCT x) allowed
	star     bool   // name(*) allowed
	infer    func(a *analyzer, c *fnCall) (irExpr, error)
}

// fnCall is a call being analysed.
type fnCall struct {
	ast  *callExpr
	def  *fnDef
	args []irExpr
	out  *call
}

func (c *fnCall) t(i int) chType { return c.args[i].typ() }

// fnDefs maps lower-case names (function names are matched ignoring ASCII
// case) to definitions; filled by init.
var fnDefs = map[string]*fnDef{}

func def(names []string, d fnDef) {
	for _, n := range names {
		dd := d
		if dd.name == "" {
			dd.name = names[0]
		}
		fnDefs[asciiLower(n)] = &dd
	}
}

// FunctionNames lists the allowlisted function names (canonical spelling).
func FunctionNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range fnDefs {
		if !seen[d.name] && !strings.HasPrefix(d.name, "_") {
			seen[d.name] = true
			out = append(out, d.name)
		}
	}
	sort.Strings(out)
	return out
}

func (a *analyzer) argErr(c *fnCall, i int, format string, args ...any) *Error {
	if i < len(c.ast.Args) {
		return a.errExpr(c.ast.Args[i], format, args...)
	}
	return a.errAt(c.ast.P, c.ast.Name, format, args...)
}

func (a *analyzer) callNamed(sc *scope, e *callExpr, name string, ctx exprCtx) (irExpr, error) {
	d, ok := fnDefs[asciiLower(name)]
	if !ok {
		return nil, a.errAt(e.P, e.Name, "unknown function %q", e.Name).hint("only the functions of the Analytics Engine SQL dialect are available")
	}
	if e.HasParams && d.params[1] == 0 {
		return nil, a.errAt(e.P, e.Name, "%s is not a parametric function", d.name)
	}
	if e.Distinct && !d.distinct {
		return nil, a.errAt(e.P, e.Name, "%s does not take DISTINCT", d.name)
	}
	if e.Star && !d.star {
		return nil, a.errAt(e.P, e.Name, "%s(*) is not allowed", d.name)
	}
	out := &call{p: e.P, tok: e.Name, fn: d.name, agg: d.agg, distinct: e.Distinct}
	if d.agg {
		if ctx.noAgg {
			return nil, a.errAt(e.P, e.Name, "aggregate function %s is not allowed in %s", e.Name, ctx.clause)
		}
		if ctx.inAgg != nil {
			return nil, a.errAt(e.P, e.Name, "aggregate function %s is inside aggregate function %s", e.Name, ctx.inAgg.tok)
		}
		ctx.inAgg = out
	}
	if e.HasParams {
		if len(e.Params) < d.params[0] || len(e.Params) > d.params[1] {
			return nil, a.errAt(e.P, e.Name, "%s takes %s parameters", d.name, countRange(d.params))
		}
		for _, pe := range e.Params {
			v, err := a.expr(sc, pe, exprCtx{clause: ctx.clause, noAgg: true})
			if err != nil {
				return nil, err
			}
			c, ok := v.(*constant)
			if !ok || !c.t.isNumeric() {
				return nil, a.errExpr(pe, "the parameters of %s must be numbers", d.name)
			}
			out.params = append(out.params, *c)
		}
	}
	fc := &fnCall{ast: e, def: d, out: out}
	for _, ae := range e.Args {
		v, err := a.expr(sc, ae, ctx)
		if err != nil {
			return nil, err
		}
		if v.typ().k == kInterval && d.name != "toStartOfInterval" {
			return nil, a.errExpr(ae, "an INTERVAL cannot be an argument of %s", d.name)
		}
		fc.args = append(fc.args, v)
	}
	if len(fc.args) < d.args[0] || (d.args[1] >= 0 && len(fc.args) > d.args[1]) {
		return nil, a.errAt(e.P, e.Name, "%s takes %s arguments, not %d", d.name, countRange(d.args), len(fc.args))
	}
	out.args = fc.args
	res, err := d.infer(a, fc)
	if err != nil {
		return nil, err
	}
	// ClickHouse: a function of a Nullable (or NULL) argument is Nullable,
	// except aggregates (which skip NULLs) and the functions about NULL.
	if c, ok := res.(*call); ok && !d.agg && !nullAware[c.fn] {
		for _, arg := range c.args {
			if anyNullable(arg.typ()) {
				c.t = c.t.withNull(true)
			}
		}
	}
	return res, nil
}

// truthy says a constant condition holds: a number other than 0, true;
// NULL does not.
func truthy(k *constant) bool {
	switch v := k.v.(type) {
	case bool:
		return v
	case uint64:
		return v != 0
	case int64:
		return v != 0
	case float64:
		return v != 0
	}
	return false
}

// nullAware functions decide themselves what NULL arguments give.
var nullAware = map[string]bool{"coalesce": true, "ifNull": true, "isNull": true, "isNotNull": true, "multiIf": true, "toTypeName": true}

func countRange(r [2]int) string {
	switch {
	case r[1] < 0:
		return "at least " + itoa(r[0])
	case r[0] == r[1]:
		return itoa(r[0])
	}
	return itoa(r[0]) + " to " + itoa(r[1])
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ---- argument checks

func (a *analyzer) wantNumeric(c *fnCall, i int) error {
	if t := c.t(i); !t.isNumeric() && !t.isNothing() {
		return a.argErr(c, i, "%s needs a number, not %s", c.def.name, t)
	}
	return nil
}

func (a *analyzer) wantInteger(c *fnCall, i int) error {
	if t := c.t(i); !t.isInt() && t.k != kBool && !t.isNothing() {
		if t.isFloat() {
			return a.argErr(c, i, "%s needs an integer, not %s", c.def.name, t).hint("convert with %s", code("toInt64("+c.ast.Args[i].String()+")"))
		}
		return a.argErr(c, i, "%s needs an integer, not %s", c.def.name, t)
	}
	return nil
}

func (a *analyzer) wantString(c *fnCall, i int) error {
	if t := c.t(i); !t.isString() && !t.isNothing() {
		return a.argErr(c, i, "%s needs a string, not %s", c.def.name, t).hint("convert with %s", code("toString("+c.ast.Args[i].String()+")"))
	}
	return nil
}

// wantTime checks that argument i is a Date or DateTime. A string literal
// is read as a DateTime in zone (the function's time zone), as ClickHouse
// reads it.
func (a *analyzer) wantTime(c *fnCall, i int, zone string) error {
	if t := c.t(i); !t.isTime() && !t.isNothing() {
		if t.isString() {
			if k, ok := c.args[i].(*constant); ok {
				e, err := a.timeLiteral(k, zone, c.ast.Args[i])
				if err != nil {
					return err
				}
				c.args[i] = e
				c.out.args = c.args
				return nil
			}
			return a.argErr(c, i, "%s needs a Date or DateTime, not %s", c.def.name, t).hint("convert with %s", code("toDateTime("+c.ast.Args[i].String()+")"))
		}
		return a.argErr(c, i, "%s needs a Date or DateTime, not %s", c.def.name, t)
	}
	return nil
}

// timeLiteral reads a string literal as a DateTime in zone: a number of
// seconds since 1970, a time with an explicit UTC offset, or a wall clock
// time of zone ('YYYY-MM-DD hh:mm:ss', 'YYYY-MM-DD'). A wall clock time in
// a zone that is not UTC becomes _fromLocal, which the backend resolves
// with the zone's rules.
func (a *analyzer) timeLiteral(k *constant, zone string, at expr) (irExpr, error) {
	s := k.v.(string)
	tm, instant, ok := parseDateTimeWall(s)
	if !ok {
		return nil, a.errExpr(at, "cannot parse %s as DateTime", shortLit(s)).hint("write 'YYYY-MM-DD hh:mm:ss', 'YYYY-MM-DD' or a number of seconds since 1970")
	}
	if instant || zoneOf(zone) == nil {
		return &constant{p: k.p, tok: k.tok, t: dateTimeIn(zone), v: tm}, nil
	}
	wall := &constant{p: k.p, tok: k.tok, t: typ(kDateTime), v: tm}
	return &call{p: k.p, tok: k.tok, fn: "_fromLocal", args: []irExpr{wall}, tz: zone, t: dateTimeIn(zone)}, nil
}

// zoneArg reads the optional time zone argument i of c, a string literal
// naming a zone of zoneTable, and removes it from the arguments. It returns
// the zone's name, or "" when there is no such argument.
func (a *analyzer) zoneArg(c *fnCall, i int) (string, error) {
	if len(c.args) <= i {
		return "", nil
	}
	k, ok := c.args[i].(*constant)
	if !ok || !k.t.isString() {
		return "", a.argErr(c, i, "the time zone of %s must be a string literal", c.def.name).hint("%s lists the supported time zones", code("SHOW TIMEZONES"))
	}
	name := k.v.(string)
	z, ok := lookupZone(name)
	if !ok {
		e := a.argErr(c, i, "unknown time zone %s", shortLit(name))
		if s := zoneSuggestion(name); s != "" {
			return "", e.hint("time zone names are case-sensitive: did you mean %s?", code(quoteStringCanon(s)))
		}
		return "", e.hint("%s lists the supported time zones", code("SHOW TIMEZONES"))
	}
	c.args = c.args[:i]
	c.out.args = c.args
	return z.name, nil
}

// zoneFor is the time zone a date function computes in: the zone argument
// at index i when there is one (which it removes), else the zone of the
// first argument's DateTime type, else "" (the server's, UTC).
func (a *analyzer) zoneFor(c *fnCall, i int) (string, error) {
	z, err := a.zoneArg(c, i)
	if err != nil || z != "" {
		return z, err
	}
	if len(c.args) > 0 && c.t(0).k == kDateTime {
		return c.t(0).tz, nil
	}
	return "", nil
}

func (a *analyzer) wantCond(c *fnCall, i int) error {
	return a.condition(c.args[i], c.ast.Args[i], c.def.name)
}

func (a *analyzer) wantComparable(c *fnCall, i int) error {
	if t := c.t(i); !t.isComparable() || t.isNothing() {
		return a.argErr(c, i, "%s needs a number, string, date or time, not %s", c.def.name, t)
	}
	return nil
}

// sumType is the ClickHouse result type of sum over t.
func sumType(t chType) chType {
	switch {
	case t.isFloat():
		return typ(kFloat64)
	case t.isSigned():
		return typ(kInt64)
	}
	return typ(kUInt64)
}

func (a *analyzer) noNullAgg(c *fnCall, i int) error {
	if c.t(i).isNothing() {
		return a.argErr(c, i, "cannot aggregate NULL")
	}
	return nil
}

// paramLevel returns parameter i as a quantile level in [0, 1].
func (a *analyzer) level(c *fnCall, k constant) (float64, error) {
	f, ok := constFloat(k)
	if !ok || f < 0 || f > 1 || math.IsNaN(f) {
		return 0, a.errAt(k.p, k.tok, "a quantile level must be a number from 0 to 1")
	}
	return f, nil
}

func constFloat(k constant) (float64, bool) {
	switch v := k.v.(type) {
	case uint64:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func constInt(k constant) (int64, bool) {
	switch v := k.v.(type) {
	case uint64:
		if v > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

func numConst(p int, tok string, v float64) constant {
	return constant{p: p, tok: tok, t: typ(kFloat64), v: v}
}

func uintConst(p int, tok string, v uint64) constant {
	return constant{p: p, tok: tok, t: typ(kUInt64), v: v}
}

// resType sets the call's result type and returns it.
func done(c *fnCall, t chType) (irExpr, error) {
	c.out.t = t
	return c.out, nil
}

func init() {
	// ---- aggregates
	def([]string{"count"}, fnDef{agg: true, args: [2]int{0, 1}, distinct: true, star: true, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if c.ast.Distinct && len(c.args) == 0 {
			return nil, a.errAt(c.ast.P, c.ast.Name, "count(DISTINCT) needs an argument")
		}
		return done(c, typ(kUInt64))
	}})
	def([]string{"sum"}, fnDef{agg: true, args: [2]int{1, 1}, distinct: true, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		return done(c, sumType(c.t(0)))
	}})
	def([]string{"avg"}, fnDef{agg: true, args: [2]int{1, 1}, distinct: true, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		return done(c, typ(kFloat64))
	}})
	minMax := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantComparable(c, 0); err != nil {
			return nil, err
		}
		return done(c, c.t(0))
	}
	def([]string{"min"}, fnDef{agg: true, args: [2]int{1, 1}, infer: minMax})
	def([]string{"max"}, fnDef{agg: true, args: [2]int{1, 1}, infer: minMax})
	def([]string{"countIf"}, fnDef{agg: true, args: [2]int{1, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantCond(c, len(c.args)-1); err != nil {
			return nil, err
		}
		return done(c, typ(kUInt64))
	}})
	def([]string{"sumIf"}, fnDef{agg: true, args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantCond(c, 1); err != nil {
			return nil, err
		}
		return done(c, sumType(c.t(0)))
	}})
	def([]string{"avgIf"}, fnDef{agg: true, args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantCond(c, 1); err != nil {
			return nil, err
		}
		return done(c, typ(kFloat64))
	}})
	minMaxIf := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantComparable(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantCond(c, 1); err != nil {
			return nil, err
		}
		return done(c, c.t(0))
	}
	def([]string{"minIf"}, fnDef{agg: true, args: [2]int{2, 2}, infer: minMaxIf})
	def([]string{"maxIf"}, fnDef{agg: true, args: [2]int{2, 2}, infer: minMaxIf})
	uniq := func(a *analyzer, c *fnCall) (irExpr, error) {
		n := len(c.args)
		if c.def.name == "uniqIf" {
			n = 1
		}
		for i := 0; i < n; i++ {
			if err := a.noNullAgg(c, i); err != nil {
				return nil, err
			}
			if t := c.t(i); t.k == kArray {
				return nil, a.argErr(c, i, "%s of arrays is not supported", c.def.name)
			}
		}
		return done(c, typ(kUInt64))
	}
	// uniq(a, b, ...) counts the distinct combinations, as ClickHouse does
	def([]string{"uniq"}, fnDef{agg: true, args: [2]int{1, 32}, infer: uniq})
	def([]string{"uniqExact"}, fnDef{agg: true, args: [2]int{1, 32}, infer: uniq})
	def([]string{"uniqIf"}, fnDef{agg: true, args: [2]int{2, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.wantCond(c, 1); err != nil {
			return nil, err
		}
		return uniq(a, c)
	}})
	argMinMax := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantComparable(c, 1); err != nil {
			return nil, err
		}
		return done(c, c.t(0))
	}
	def([]string{"argMax"}, fnDef{agg: true, args: [2]int{2, 2}, infer: argMinMax})
	def([]string{"argMin"}, fnDef{agg: true, args: [2]int{2, 2}, infer: argMinMax})
	firstLast := func(a *analyzer, c *fnCall) (irExpr, error) {
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		return done(c, c.t(0))
	}
	def([]string{"first_value"}, fnDef{agg: true, args: [2]int{1, 1}, infer: firstLast})
	def([]string{"last_value"}, fnDef{agg: true, args: [2]int{1, 1}, infer: firstLast})
	quantileType := func(a *analyzer, c *fnCall, i int) (chType, error) {
		if err := a.noNullAgg(c, i); err != nil {
			return chType{}, err
		}
		t := c.t(i)
		switch {
		case t.isNumeric():
			return typ(kFloat64), nil
		case t.isTime():
			return t.notNull(), nil
		}
		return chType{}, a.argErr(c, i, "%s needs a number, date or time, not %s", c.def.name, t)
	}
	def([]string{"quantile"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.out.params) == 0 {
			c.out.params = []constant{numConst(c.ast.P, c.ast.Name, 0.5)}
		}
		if _, err := a.level(c, c.out.params[0]); err != nil {
			return nil, err
		}
		t, err := quantileType(a, c, 0)
		if err != nil {
			return nil, err
		}
		return done(c, t)
	}})
	def([]string{"median"}, fnDef{agg: true, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		c.out.fn = "quantile"
		c.out.params = []constant{numConst(c.ast.P, c.ast.Name, 0.5)}
		t, err := quantileType(a, c, 0)
		if err != nil {
			return nil, err
		}
		return done(c, t)
	}})
	def([]string{"quantiles"}, fnDef{agg: true, params: [2]int{1, 64}, args: [2]int{1, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		for _, k := range c.out.params {
			if _, err := a.level(c, k); err != nil {
				return nil, err
			}
		}
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if err := a.wantNumeric(c, 0); err != nil {
			return nil, err
		}
		return done(c, arrayOf(typ(kFloat64)))
	}})
	weighted := func(a *analyzer, c *fnCall) (irExpr, error) {
		if c.def.name == "quantileWeighted" && !c.ast.HasParams {
			// quantileWeighted(q, x, w), AE's backwards-compatible form
			if len(c.args) != 3 {
				return nil, a.errAt(c.ast.P, c.ast.Name, "quantileWeighted takes (level, value, weight)")
			}
			k, ok := c.args[0].(*constant)
			if !ok || !k.t.isNumeric() {
				return nil, a.argErr(c, 0, "the level of quantileWeighted must be a number")
			}
			c.out.params = []constant{*k}
			c.args = c.args[1:]
			c.ast = &callExpr{P: c.ast.P, Name: c.ast.Name, Args: c.ast.Args[1:]}
			c.out.args = c.args
		}
		if len(c.args) != 2 {
			return nil, a.errAt(c.ast.P, c.ast.Name, "%s takes a value and a weight", c.def.name)
		}
		c.out.fn = "quantileExactWeighted"
		if len(c.out.params) == 0 {
			c.out.params = []constant{numConst(c.ast.P, c.ast.Name, 0.5)}
		}
		if _, err := a.level(c, c.out.params[0]); err != nil {
			return nil, err
		}
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if t := c.t(0); !t.isNumeric() && !t.isTime() {
			return nil, a.argErr(c, 0, "%s needs a number, date or time, not %s", c.def.name, t)
		}
		if err := a.wantNumeric(c, 1); err != nil {
			return nil, err
		}
		t := c.t(0).notNull()
		if t.k == kBool {
			t = typ(kUInt8)
		}
		return done(c, t)
	}
	def([]string{"quantileExactWeighted"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{2, 2}, infer: weighted})
	def([]string{"quantileWeighted"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{2, 3}, infer: weighted})
	topK := func(a *analyzer, c *fnCall) (irExpr, error) {
		if len(c.out.params) == 0 {
			c.out.params = []constant{uintConst(c.ast.P, c.ast.Name, 10)}
		}
		n, ok := constInt(c.out.params[0])
		if !ok || n < 1 || n > 1_000_000 {
			k := c.out.params[0]
			return nil, a.errAt(k.p, k.tok, "the size of %s must be a whole number from 1 to 1000000", c.def.name)
		}
		c.out.params = []constant{uintConst(c.out.params[0].p, c.out.params[0].tok, uint64(n))}
		if err := a.noNullAgg(c, 0); err != nil {
			return nil, err
		}
		if t := c.t(0); !t.isComparable() {
			return nil, a.argErr(c, 0, "%s needs a number, string, date or time, not %s", c.def.name, t)
		}
		if c.def.name == "topKWeighted" {
			if err := a.wantNumeric(c, 1); err != nil {
				return nil, err
			}
		}
		t := c.t(0).notNull()
		return done(c, arrayOf(t))
	}
	def([]string{"topK"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{1, 1}, infer: topK})
	def([]string{"topKWeighted"}, fnDef{agg: true, params: [2]int{0, 1}, args: [2]int{2, 2}, infer: topK})

	// ---- dates and times
	// A time zone argument (or the zone of a DateTime('tz') argument) is
	// where calendar functions compute; the IR call carries it in tz.
	def([]string{"now"}, fnDef{args: [2]int{0, 1}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneArg(c, 0)
		if err != nil {
			return nil, err
		}
		return done(c, dateTimeIn(z))
	}})
	def([]string{"today"}, fnDef{args: [2]int{0, 0}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		return done(c, typ(kDate))
	}})
	def([]string{"toDateTime"}, fnDef{args: [2]int{1, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 1)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		t := c.t(0)
		if lit, ok := c.args[0].(*constant); ok && t.isString() {
			return a.timeLiteral(lit, z, c.ast.Args[0])
		}
		if !t.isNumeric() && !t.isTime() && !t.isString() && !t.isNothing() {
			return nil, a.argErr(c, 0, "%s cannot convert %s", c.def.name, t)
		}
		return done(c, dateTimeIn(z).withNull(t.nullable || t.isNothing()))
	}})
	def([]string{"toDate"}, fnDef{args: [2]int{1, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 1)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		t := c.t(0)
		if lit, ok := c.args[0].(*constant); ok && t.isString() {
			// a date string names its date in any zone
			tm, _, ok := parseDateTimeWall(lit.v.(string))
			if !ok {
				return nil, a.argErr(c, 0, "cannot parse %s as Date", shortLit(lit.v.(string))).hint("write 'YYYY-MM-DD hh:mm:ss', 'YYYY-MM-DD' or a number of seconds since 1970")
			}
			if isAllDigits(strings.TrimSpace(lit.v.(string))) {
				e, err := a.timeLiteral(lit, z, c.ast.Args[0])
				if err != nil {
					return nil, err
				}
				c.args[0] = e
				c.out.args = c.args
				return done(c, typ(kDate))
			}
			return &constant{p: lit.p, tok: lit.tok, t: typ(kDate), v: tm.Truncate(24 * time.Hour)}, nil
		}
		if !t.isNumeric() && !t.isTime() && !t.isString() && !t.isNothing() {
			return nil, a.argErr(c, 0, "%s cannot convert %s", c.def.name, t)
		}
		return done(c, typ(kDate).withNull(t.nullable || t.isNothing()))
	}})
	def([]string{"toUnixTimestamp"}, fnDef{args: [2]int{1, 2}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 1)
		if err != nil {
			return nil, err
		}
		if err := a.wantTime(c, 0, z); err != nil {
			return nil, err
		}
		return done(c, typ(kUInt32).withNull(c.t(0).nullable))
	}})
	def([]string{"formatDateTime"}, fnDef{args: [2]int{2, 3}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 2)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		if err := a.wantTime(c, 0, z); err != nil {
			return nil, err
		}
		k, ok := c.args[1].(*constant)
		if !ok || !k.t.isString() {
			return nil, a.argErr(c, 1, "the format of formatDateTime must be a string literal")
		}
		pieces, bad := parseCHFormat(k.v.(string))
		if bad != "" {
			return nil, a.errAt(k.p, bad, "unsupported format specifier %s in formatDateTime", bad).hint("see ClickHouse's formatDateTime; write %s for a percent sign", code("%%"))
		}
		c.out.fmt = pieces
		c.out.args = c.args[:1]
		return done(c, typ(kString).withNull(c.t(0).nullable))
	}})
	def([]string{"toStartOfInterval"}, fnDef{args: [2]int{2, 3}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 2)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		if err := a.wantTime(c, 0, z); err != nil {
			return nil, err
		}
		k, ok := c.args[1].(*constant)
		if !ok || k.t.k != kInterval {
			return nil, a.argErr(c, 1, "toStartOfInterval needs an interval such as INTERVAL 15 MINUTE")
		}
		if n := k.v.(int64); n < 1 {
			return nil, a.argErr(c, 1, "the interval of toStartOfInterval must be positive")
		}
		switch k.t.unit {
		case "SECOND", "MINUTE", "HOUR", "DAY":
			return done(c, dateTimeIn(z).withNull(c.t(0).nullable))
		}
		return done(c, typ(kDate).withNull(c.t(0).nullable))
	}})
	startOf := func(result kind) func(a *analyzer, c *fnCall) (irExpr, error) {
		return func(a *analyzer, c *fnCall) (irExpr, error) {
			z, err := a.zoneFor(c, 1)
			if err != nil {
				return nil, err
			}
			c.out.tz = z
			if err := a.wantTime(c, 0, z); err != nil {
				return nil, err
			}
			t := typ(result)
			if result == kDateTime {
				t = dateTimeIn(z)
			}
			return done(c, t.withNull(c.t(0).nullable))
		}
	}
	for _, n := range []string{"toStartOfYear", "toStartOfQuarter", "toStartOfMonth", "toMonday"} {
		def([]string{n}, fnDef{args: [2]int{1, 2}, infer: startOf(kDate)})
	}
	for _, n := range []string{"toStartOfDay", "toStartOfHour", "toStartOfFifteenMinutes", "toStartOfTenMinutes", "toStartOfFiveMinutes", "toStartOfMinute"} {
		def([]string{n}, fnDef{args: [2]int{1, 2}, infer: startOf(kDateTime)})
	}
	// toStartOfWeek(t[, mode[, tz]]): AE documents Monday as the first day of
	// the week. An explicit mode follows ClickHouse: even modes start on
	// Sunday, odd ones on Monday. The IR always carries the mode (1 by default).
	def([]string{"toStartOfWeek"}, fnDef{args: [2]int{1, 3}, infer: func(a *analyzer, c *fnCall) (irExpr, error) {
		z, err := a.zoneFor(c, 2)
		if err != nil {
			return nil, err
		}
		c.out.tz = z
		if err := a.wantTime(c, 0, z); err != nil {
			return nil, err
		}
		mode := uint64(1)
		if len(c.args) == 2 {
			k, ok := c.args[1].(*constant)
			m, ok2 := int64(0), false
			if ok {
				m, ok2 = constInt(*k)
			}
			if !ok || !ok2 || m < 0 || m > 9 {
				return nil, a.argErr(c, 1, "the mode of toStartOfWeek must be a whole number from 0 to 9")
			}
			mode = uint64(m % 2)
		}
		c.out.args = []irExpr{c.args[0]}
		c.out.params = []constant{uintConst(c.ast.P, c.ast.Name, mode)}
		return done(c, typ(kDate).withNull(c.t(0).nullable))
	}})
	part := func(result kind) func(a *analyzer, c *fnCall) (irExpr, error) {
		return func(a *analyzer, c *fnCall) (irExpr, error) {
			z, err := a.zoneFor(c, 1)
			if err != nil {
				return nil, err
			}
			c.out.tz = z
			if err := a.wantTime(c, 0, z); err != nil {
				return nil, err
			}
			return done(c, typ(result).withNull(c.t(0).nullable))
		}
	}
	def([]string{"toYear"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt16)})
	def([]string{"toQuarter"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toMonth"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toDayOfYear"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt16)})
	def([]string{"toDayOfMonth"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toDayOfWeek"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toHour"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toMinute"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toSecond"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt8)})
	def([]string{"toYYYYMM"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt32)})
	def([]string{"toYYYYMMDD"}, fnDef{args: [2]int{1, 2}, infer: part(kUInt32)})

}

// parseCHFormat splits a ClickHouse formatDateTime pattern into literal
// text and specifiers; bad names the first unsupported specifier.
func parseCHFormat(s string) (pieces []fmtPiece, bad string) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			pieces = append(pieces, fmtPiece{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, "%"
		}
		i++
		c := s[i]
		switch c {
		case '%':
			lit.WriteByte('%')
		case 'n':
			lit.WriteByte('\n')
		case 't':
			lit.WriteByte('\t')
		case 'a', 'b', 'c', 'C', 'd', 'D', 'e', 'f', 'F', 'g', 'G', 'h', 'H', 'i', 'I', 'j', 'k', 'l', 'm', 'M',
			'p', 'Q', 'r', 'R', 's', 'S', 'T', 'u', 'V', 'w', 'W', 'y', 'Y', 'z':
			flush()
			pieces = append(pieces, fmtPiece{spec: c})
		default:
			r := []rune(s[i:])
			return nil, "%" + string(r[0])
		}
	}
	flush()
	return pieces, ""
}

// parseFormatPattern splits a ClickHouse format() pattern into literal text
// and argument references ({} numbers them in order, {N} names argument N).
// The references come back as pieces whose spec is 0 and lit is empty, with
// refs holding the argument numbers in order.
func parseFormatPattern(s string) (pieces []fmtPiece, refs []int, bad string) {
	var lit strings.Builder
	next := 0
	explicit, implicit := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				lit.WriteByte('{')
				i++
				continue
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, nil, "the pattern of format has an unclosed {"
			}
			body := s[i+1 : i+j]
			n := 0
			if body == "" {
				n = next
				next++
				implicit = true
			} else {
				for k := 0; k < len(body); k++ {
					if !isDigit(body[k]) || k > 3 {
						return nil, nil, "the pattern of format may only hold {} or {N}"
					}
					n = n*10 + int(body[k]-'0')
				}
				explicit = true
			}
			if lit.Len() > 0 {
				pieces = append(pieces, fmtPiece{lit: lit.String()})
				lit.Reset()
			}
			pieces = append(pieces, fmtPiece{spec: '{'})
			refs = append(refs, n)
			i += j
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				lit.WriteByte('}')
				i++
				continue
			}
			return nil, nil, "the pattern of format has an unmatched }"
		default:
			lit.WriteByte(s[i])
		}
	}
	if explicit && implicit {
		return nil, nil, "the pattern of format cannot mix {} and {N}"
	}
	if lit.Len() > 0 {
		pieces = append(pieces, fmtPiece{lit: lit.String()})
	}
	// store argument numbers in the pieces: spec '{' and the number in lit
	k := 0
	for i := range pieces {
		if pieces[i].spec == '{' {
			pieces[i].lit = itoa(refs[k])
			k++
		}
	}
	return pieces, refs, ""
}
