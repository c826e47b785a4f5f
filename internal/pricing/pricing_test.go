package pricing

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

func mustParse(t testing.TB, s string) *File {
	t.Helper()
	f, err := ParseCatalog([]byte(s))
	if err != nil {
		t.Fatalf("ParseCatalog(%s) = %v", s, err)
	}
	return f
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestDefaultCatalog(t *testing.T) {
	c := Default()
	if _, err := time.Parse(time.DateOnly, c.AsOf()); err != nil {
		t.Errorf("AsOf() = %q; want a date", c.AsOf())
	}
	if len(c.Sources()) == 0 {
		t.Error("Sources() is empty; the default catalog must say where its prices come from")
	}
	for _, tc := range []struct {
		model   string
		want    string // the entry's Model, "" for no entry
		pattern bool
	}{
		{"gpt-4o", "gpt-4o", false},
		{"gpt-4o-2024-08-06", `gpt-4o-\d{4}-\d{2}-\d{2}`, true},
		{"gpt-4o-mini-2024-07-18", `gpt-4o-mini-\d{4}-\d{2}-\d{2}`, true},
		{"@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-3.1-8b-instruct", false},
		{"@cf/qwen/some-new-model", "@cf/.+", true},
		{"claude-sonnet-4-5-20250929", `claude-sonnet-4(-\d+)?(-\d{8})?|claude-3-[57]-sonnet(-\d{8}|-latest)?`, true},
		{"claude-haiku-4-5", "claude-haiku-4-5", false},
		{"gemini-2.5-flash", "gemini-2.5-flash", false},
		{"text-embedding-3-small", "text-embedding-3-small", false},
		{"tutor-ft-v3", "", false},
		{"", "", false},
		// Anchored: a pattern never matches part of a name.
		{"xgpt-4o-2024-08-06", "", false},
		{"gpt-4o-2024-08-06-extra", "", false},
	} {
		e, ok := c.Lookup(tc.model)
		if tc.want == "" {
			if ok {
				t.Errorf("Lookup(%q) = %q; want no entry", tc.model, e.Model)
			}
			continue
		}
		if !ok || e.Model != tc.want || e.Pattern != tc.pattern || e.Source != SourceDefault {
			t.Errorf("Lookup(%q) = %+v, %v; want %q (pattern %v) from the default catalog", tc.model, e, ok, tc.want, tc.pattern)
		}
	}
	// Every exact default entry can price what its kind of model sends.
	for _, e := range c.Effective() {
		if e.Pattern {
			continue
		}
		if _, ok := e.CostAI(Usage{Tokens: 1000}); !ok {
			if _, ok := e.CostEmbedding(1000); !ok {
				t.Errorf("default entry %q prices neither a call nor an embedding", e.Model)
			}
		}
	}
}

func TestPrecedence(t *testing.T) {
	def := mustParse(t, `{"models":[
		{"model":"m","input":1},
		{"model":"m-.*","pattern":true,"input":2},
		{"model":"shared-.*","pattern":true,"input":3}]}`)
	op := mustParse(t, `{"models":[
		{"model":"m-big","input":10},
		{"model":"shared-.*","pattern":true,"input":30},
		{"model":".*","pattern":true,"input":99}]}`)
	proj := mustParse(t, `{"models":[
		{"model":"m","input":100},
		{"model":"m-.*","pattern":true,"input":200}]}`)
	base := newCatalog("", nil, [3][]Entry{}).With(SourceDefault, def).With(SourceOperator, op)
	c := base.With(SourceProject, proj)
	for _, tc := range []struct {
		cat   *Catalog
		model string
		input float64
		src   Source
	}{
		{base, "m", 1, SourceDefault},          // exact default
		{base, "m-big", 10, SourceOperator},    // exact operator
		{base, "m-small", 99, SourceOperator},  // patterns layer by layer: the operator's catch-all before the default m-.*
		{base, "shared-x", 30, SourceOperator}, // operator pattern overrides the same default pattern
		{base, "anything", 99, SourceOperator}, // operator catch-all
		{c, "m", 100, SourceProject},           // project exact over default exact
		{c, "m-big", 10, SourceOperator},       // exact operator name over project pattern
		{c, "m-small", 200, SourceProject},     // project pattern first
		{c, "anything", 99, SourceOperator},
	} {
		e, ok := tc.cat.Lookup(tc.model)
		if !ok || e.Input != tc.input || e.Source != tc.src {
			t.Errorf("Lookup(%q) = %+v, %v; want input %v from %s", tc.model, e, ok, tc.input, tc.src)
		}
		// A second lookup (memoized) answers the same.
		e2, ok2 := tc.cat.Lookup(tc.model)
		if e2 != e || ok2 != ok {
			t.Errorf("second Lookup(%q) = %+v; want %+v", tc.model, e2, e)
		}
	}
	// The base catalog is unchanged by With.
	if e, _ := base.Lookup("m"); e.Input != 1 {
		t.Errorf("base Lookup(m) = %v after With; want 1", e.Input)
	}
	// Effective lists each name or pattern once, from its winning layer.
	eff := c.Effective()
	seen := map[string]Source{}
	for _, e := range eff {
		if _, dup := seen[e.key()]; dup {
			t.Errorf("Effective lists %q twice", e.Model)
		}
		seen[e.key()] = e.Source
	}
	want := map[string]Source{"=m": SourceProject, "=m-big": SourceOperator, "re:m-.*": SourceProject,
		"re:shared-.*": SourceOperator, "re:.*": SourceOperator}
	if len(seen) != len(want) {
		t.Errorf("Effective = %v; want %v", seen, want)
	}
	for k, s := range want {
		if seen[k] != s {
			t.Errorf("Effective[%s] source = %q; want %q", k, seen[k], s)
		}
	}
}

func TestCostAI(t *testing.T) {
	full := Entry{Price: Price{Input: 2, Output: 8, CachedInput: 0.5}}
	noCache := Entry{Price: Price{Input: 2, Output: 8}}
	neurons := Entry{Price: Price{Input: 0.282, Output: 0.827, NeuronsPer1k: 0.011}}
	neuronsOnly := Entry{Price: Price{NeuronsPer1k: 0.011}}
	outputOnly := Entry{Price: Price{Output: 8}}
	free := Entry{}
	for _, tc := range []struct {
		name string
		e    Entry
		u    Usage
		cost float64
		ok   bool
	}{
		{"seed form: input rate for all tokens", full, Usage{Tokens: 1500}, 1500 * 2 / 1e6, true},
		{"split", full, Usage{Tokens: 1500, Input: 1000, Output: 500}, (1000*2 + 500*8) / 1e6, true},
		{"split with cache", full, Usage{Input: 1000, Output: 500, Cached: 400}, (600*2 + 400*0.5 + 500*8) / 1e6, true},
		{"cache counted apart", full, Usage{Input: 100, Output: 10, Cached: 400}, (100*2 + 400*0.5 + 10*8) / 1e6, true},
		{"no cached rate: input rate", noCache, Usage{Input: 1000, Cached: 400}, 1000 * 2 / 1e6, true},
		{"neurons win", neurons, Usage{Tokens: 1000, Input: 800, Output: 200, Neurons: 5000}, 5000 / 1000 * 0.011, true},
		{"no neurons: tokens", neurons, Usage{Input: 800, Output: 200}, (800*0.282 + 200*0.827) / 1e6, true},
		{"neurons only, no neurons sent", neuronsOnly, Usage{Tokens: 1000}, 0, false},
		{"neurons only", neuronsOnly, Usage{Neurons: 2000}, 0.022, true},
		{"output rate only, seed form", outputOnly, Usage{Tokens: 1000}, 0, false},
		{"output rate only, split", outputOnly, Usage{Input: 10, Output: 1000}, 1000 * 8 / 1e6, true},
		{"free", free, Usage{Tokens: 1e6}, 0, true},
		{"negative counts read as 0", full, Usage{Tokens: -5}, 0, true},
	} {
		cost, ok := tc.e.CostAI(tc.u)
		if ok != tc.ok || !near(cost, tc.cost) {
			t.Errorf("%s: CostAI(%+v) = %v, %v; want %v, %v", tc.name, tc.u, cost, ok, tc.cost, tc.ok)
		}
	}
	for _, tc := range []struct {
		e      Entry
		tokens float64
		cost   float64
		ok     bool
	}{
		{Entry{Price: Price{Embedding: 0.02}}, 5e5, 0.01, true},
		{Entry{Price: Price{Input: 0.067}}, 1e6, 0.067, true},
		{Entry{Price: Price{Output: 1}}, 1e6, 0, false},
		{Entry{}, 1e6, 0, true},
	} {
		cost, ok := tc.e.CostEmbedding(tc.tokens)
		if ok != tc.ok || !near(cost, tc.cost) {
			t.Errorf("CostEmbedding(%v) with %+v = %v, %v; want %v, %v", tc.tokens, tc.e.Price, cost, ok, tc.cost, tc.ok)
		}
	}
}

func TestPricePoints(t *testing.T) {
	c := newCatalog("", nil, [3][]Entry{}).With(SourceDefault, mustParse(t, `{"models":[
		{"model":"gpt-4o","input":2.5,"output":10,"cached_input":1.25},
		{"model":"bge","embedding":0.067},
		{"model":"llama-.*","pattern":true,"input":0.3}]}`))
	// The doubles of a batch share one array, as the decoder makes them.
	shared := []float64{1500, 80, 7, 7, 7, 7}
	pts := []point.Point{
		// 0: the seed's trackAIUsage, one-index form.
		{Dataset: "ai_usage", Index: "gpt-4o", Blobs: []string{"gpt-4o"}, Doubles: shared[0:2:2]},
		// 1: neighbour in the shared array: must not be overwritten.
		{Dataset: "requests", Index: "/x", Doubles: shared[2:6:6]},
		// 2: SDK form with split and cache.
		{Dataset: "ai_usage", Blobs: []string{"gpt-4o"}, Doubles: []float64{1500, 90, 1000, 500, 30, 0, 400, 0, 0}},
		// 3: the writer's cost without the priced flag.
		{Dataset: "ai_usage", Blobs: []string{"gpt-4o"}, Doubles: []float64{100, 9, 0, 0, 0, 0.5}},
		// 4: priced 2 with cost 0 (the writer says: free).
		{Dataset: "ai_usage", Blobs: []string{"gpt-4o"}, Doubles: []float64{100, 9, 0, 0, 0, 0, 0, 0, 2}},
		// 5: unknown model: left unpriced and untouched.
		{Dataset: "ai_usage", Blobs: []string{"tutor-ft"}, Doubles: []float64{100, 9}},
		// 6: model only in index1; priced by a pattern.
		{Dataset: "ai_usage", Index: "llama-3", Doubles: []float64{1000}},
		// 7: embeddings.
		{Dataset: "embeddings", Blobs: []string{"bge"}, Doubles: []float64{12, 2000, 1}},
		// 8: another dataset with the same blob: untouched.
		{Dataset: "intent", Blobs: []string{"gpt-4o"}, Doubles: []float64{0.9}},
	}
	st := c.Price(pts)
	if st != (Stats{Priced: 4, Unpriced: 1, Kept: 2}) {
		t.Errorf("Price stats = %+v; want 4 priced, 1 unpriced, 2 kept", st)
	}
	check := func(i int, want []float64) {
		t.Helper()
		got := pts[i].Doubles
		if len(got) != len(want) {
			t.Errorf("point %d doubles = %v; want %v", i, got, want)
			return
		}
		for j := range want {
			if !near(got[j], want[j]) {
				t.Errorf("point %d doubles = %v; want %v", i, got, want)
				return
			}
		}
	}
	check(0, []float64{1500, 80, 0, 0, 0, 1500 * 2.5 / 1e6, 0, 0, 1})
	check(1, []float64{7, 7, 7, 7})
	check(2, []float64{1500, 90, 1000, 500, 30, (600*2.5 + 400*1.25 + 500*10) / 1e6, 400, 0, 1})
	check(3, []float64{100, 9, 0, 0, 0, 0.5, 0, 0, 2})
	check(4, []float64{100, 9, 0, 0, 0, 0, 0, 0, 2})
	check(5, []float64{100, 9})
	check(6, []float64{1000, 0, 0, 0, 0, 1000 * 0.3 / 1e6, 0, 0, 1})
	check(7, []float64{12, 2000, 1, 0, 2000 * 0.067 / 1e6, 1})
	check(8, []float64{0.9})
	if shared[2] != 7 {
		t.Errorf("widening point 0 wrote into its neighbour: %v", shared)
	}
}

// badCatalogs are catalogs ParseCatalog refuses, with a part of its error;
// FuzzParseCatalog starts from them too.
var badCatalogs = []struct{ in, want string }{
	{`{"models":[{"model":"a","input":1,"colour":"red"}]}`, `unknown field "colour"`},
	{`{"models":[{"model":"a","input":-1}]}`, "input must be a number from 0"},
	{`{"models":[{"model":"a","output":1e300}]}`, "output must be a number from 0"},
	{`{"models":[{"model":"","input":1}]}`, "model is empty"},
	{`{"models":[{"model":"a(","pattern":true,"input":1}]}`, "pattern \"a(\""},
	{`{"models":[{"model":"a)|(b","pattern":true,"input":1}]}`, "pattern \"a)|(b\""},
	{`{"models":[{"model":"a","input":1},{"model":"a","input":2}]}`, "models[1]: \"a\" repeats models[0]"},
	{`{"prices_as_of":"last week","models":[]}`, "prices_as_of"},
	{`{"models":[]} {}`, "unexpected data"},
	{`[1,2]`, "catalog:"},
	{`{"models":[{"model":"` + strings.Repeat("x", MaxModelBytes+1) + `","input":1}]}`, "the limit is 256"},
	{`{"models":[{"model":"a\u0000b","input":1}]}`, "control character"},
	{`{"models":[{"model":"a","input":"1"}]}`, "cannot unmarshal"},
}

func TestParseCatalogErrors(t *testing.T) {
	for _, tc := range badCatalogs {
		_, err := ParseCatalog([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCatalog(%.60s) = %v; want an error containing %q", tc.in, err, tc.want)
		}
	}
	// A name and a pattern of the same text are different entries; null
	// rates are absent rates.
	f := mustParse(t, `{"models":[{"model":"a.b","input":1},{"model":"a.b","pattern":true,"input":null,"output":2}]}`)
	if len(f.Entries) != 2 || f.Entries[1].Input != 0 || f.Entries[1].Output != 2 {
		t.Errorf("entries = %+v", f.Entries)
	}
}

func TestMarshalFileRoundTrip(t *testing.T) {
	f := mustParse(t, string(defaultJSON))
	data, err := MarshalFile(f)
	if err != nil {
		t.Fatal(err)
	}
	g := mustParse(t, string(data))
	if g.AsOf != f.AsOf || len(g.Entries) != len(f.Entries) {
		t.Fatalf("round trip: %d entries as of %s; want %d as of %s", len(g.Entries), g.AsOf, len(f.Entries), f.AsOf)
	}
	for i := range f.Entries {
		if f.Entries[i].Model != g.Entries[i].Model || f.Entries[i].Pattern != g.Entries[i].Pattern || f.Entries[i].Price != g.Entries[i].Price {
			t.Errorf("entry %d = %+v after round trip; want %+v", i, g.Entries[i], f.Entries[i])
		}
	}
}

// memSettings is an in-memory Settings.
type memSettings struct {
	m    map[string]string
	fail error
}

func (s *memSettings) Setting(_ context.Context, name string) (string, error) {
	if s.fail != nil {
		return "", s.fail
	}
	return s.m[name], nil
}

func (s *memSettings) SetSetting(_ context.Context, name, value string) error {
	if s.fail != nil {
		return s.fail
	}
	s.m[name] = value
	return nil
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	st := &memSettings{m: map[string]string{}}
	base := Default().With(SourceOperator, mustParse(t, `{"models":[{"model":"house-model","input":1}]}`))
	r := NewRegistry(base, st)

	if _, err := r.Put(ctx, 1, Entry{Model: "gpt-4o", Price: Price{Input: 1, Output: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Put(ctx, 1, Entry{Model: "tutor-.*", Pattern: true, Price: Price{Input: 0.5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Put(ctx, 1, Entry{Model: "bad(", Pattern: true}); err == nil {
		t.Error("Put of an invalid pattern succeeded")
	}
	if _, err := r.Put(ctx, 1, Entry{Model: "neg", Price: Price{Output: -1}}); err == nil {
		t.Error("Put of a negative rate succeeded")
	}
	c1, err := r.Catalog(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := r.Catalog(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c1.Lookup("gpt-4o"); e.Input != 1 || e.Source != SourceProject {
		t.Errorf("project 1 gpt-4o = %+v; want its own price", e)
	}
	if e, _ := c2.Lookup("gpt-4o"); e.Input != 2.5 || e.Source != SourceDefault {
		t.Errorf("project 2 gpt-4o = %+v; want the default price (projects never share entries)", e)
	}
	if e, ok := c1.Lookup("tutor-ft-v3"); !ok || e.Input != 0.5 {
		t.Errorf("project 1 tutor-ft-v3 = %+v, %v; want its pattern", e, ok)
	}
	if e, _ := c1.Lookup("house-model"); e.Source != SourceOperator {
		t.Errorf("project 1 house-model = %+v; want the operator's", e)
	}

	// A new registry over the same settings sees the stored entries.
	r2 := NewRegistry(base, st)
	c1b, err := r2.Catalog(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := c1b.Layer(SourceProject); len(got) != 2 || got[0].Model != "gpt-4o" || got[1].Model != "tutor-.*" || !got[1].Pattern {
		t.Errorf("reloaded project entries = %+v", got)
	}
	if err := r2.Delete(ctx, 1, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	if err := r2.Delete(ctx, 1, "gpt-4o"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v; want ErrNotFound", err)
	}
	if err := r2.Delete(ctx, 1, "gpt-4o-mini"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a default entry = %v; want ErrNotFound", err)
	}
	c1c, _ := r2.Catalog(ctx, 1)
	if e, _ := c1c.Lookup("gpt-4o"); e.Source != SourceDefault {
		t.Errorf("gpt-4o after Delete = %+v; want the default again", e)
	}
	if !strings.Contains(st.m["pricing/1"], "tutor-.*") || strings.Contains(st.m["pricing/1"], `"gpt-4o"`) {
		t.Errorf("stored = %s", st.m["pricing/1"])
	}

	// A failing store: the base catalog and the error; writes fail.
	bad := NewRegistry(base, &memSettings{fail: errors.New("disk gone")})
	if c, err := bad.Catalog(ctx, 3); err == nil || c != base {
		t.Errorf("Catalog with a failing store = %v, %v; want the base catalog and an error", c, err)
	}
	if _, err := bad.Put(ctx, 3, Entry{Model: "x", Price: Price{Input: 1}}); err == nil {
		t.Error("Put with a failing store succeeded")
	}
}

func BenchmarkPrice(b *testing.B) {
	c := Default()
	mk := func() []point.Point {
		pts := make([]point.Point, 0, 1000)
		for i := range 1000 {
			switch i % 4 {
			case 0:
				pts = append(pts, point.Point{Dataset: "ai_usage", Index: "gpt-4o-mini", Blobs: []string{"gpt-4o-mini", "chat", "openai"},
					Doubles: []float64{1500, 900, 1000, 500, 200, 0, 0, 0, 0}})
			case 1:
				pts = append(pts, point.Point{Dataset: "ai_usage", Index: "@cf/meta/llama-3.1-8b-instruct", Blobs: []string{"@cf/meta/llama-3.1-8b-instruct"},
					Doubles: []float64{1500, 900}})
			case 2:
				pts = append(pts, point.Point{Dataset: "ai_usage", Index: "claude-sonnet-4-5-20250929", Blobs: []string{"claude-sonnet-4-5-20250929"},
					Doubles: []float64{1500, 900, 1000, 500, 200, 0, 0, 0, 0}})
			case 3:
				pts = append(pts, point.Point{Dataset: "embeddings", Index: "@cf/baai/bge-base-en-v1.5", Blobs: []string{"@cf/baai/bge-base-en-v1.5"},
					Doubles: []float64{12, 300, 1, 768, 0, 0}})
			}
		}
		return pts
	}
	src := mk()
	pts := make([]point.Point, len(src))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range src {
			pts[i] = src[i]
			if len(src[i].Doubles) >= 9 || src[i].Dataset == "embeddings" {
				pts[i].Doubles = append([]float64(nil), src[i].Doubles...)
			}
		}
		b.StartTimer()
		c.Price(pts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/point")
}

func BenchmarkPriceOtherDatasets(b *testing.B) {
	c := Default()
	pts := make([]point.Point, 1000)
	for i := range pts {
		pts[i] = point.Point{Dataset: "requests", Index: "/api/chat", Blobs: []string{"/api/chat", "POST"}, Doubles: []float64{12, 200}}
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Price(pts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pts)), "ns/point")
}
