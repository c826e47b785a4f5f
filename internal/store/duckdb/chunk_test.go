package duckdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// TestChunkStringLayout checks the duckdb_string_t layout the Go writers
// rely on: for strings of at most 12 bytes DuckDB writes the same 16 bytes as
// inlineString, for longer ones the same length and prefix as pointerString
// and a pointer to the string. When this fails the store is still correct
// (those strings go through cgo) but slower: update duckString's writers.
func TestChunkStringLayout(t *testing.T) {
	if l := stringLayout(); !l.inline || !l.pointer {
		t.Fatalf("stringLayout() = %+v; want both forms: DuckDB's duckdb_string_t layout differs from Go's writers", l)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	typ := bindings.CreateLogicalType(bindings.TypeVarchar)
	defer bindings.DestroyLogicalType(&typ)
	chunk := bindings.CreateDataChunk([]bindings.LogicalType{typ})
	defer bindings.DestroyDataChunk(&chunk)
	vec := bindings.DataChunkGetVector(chunk, 0)
	n := int(bindings.VectorSize())
	data := unsafe.Slice((*duckString)(bindings.VectorGetData(vec)), n)
	for i := range n {
		s := randString(rng, rng.IntN(40))
		bindings.VectorAssignStringElement(vec, bindings.IdxT(i), s)
		if len(s) <= stringInlineLen {
			if got, want := data[i], inlineString(s); got != want {
				t.Fatalf("DuckDB stores %q as % x; inlineString gives % x", s, got, want)
			}
			continue
		}
		p := *(*unsafe.Pointer)(unsafe.Pointer(&data[i][8]))
		want := pointerString(s, 0)
		if [8]byte(data[i][:8]) != [8]byte(want[:8]) || unsafe.String((*byte)(p), len(s)) != s {
			t.Fatalf("DuckDB stores %d-byte %q as % x; pointerString gives % x and a pointer to the string", len(s), s, data[i], pointerString(s, 0))
		}
	}
}

// TestChunkArena checks the arena hands out stable copies across blocks,
// strings bigger than a block included, and trims itself on release.
func TestChunkArena(t *testing.T) {
	var a stringArena
	rng := rand.New(rand.NewPCG(8, 8))
	for round := range 5 {
		var strs []string
		var ptrs []unsafe.Pointer
		total := 0
		for total < 3*arenaKeep {
			n := 13 + rng.IntN(300)
			if rng.IntN(100) == 0 {
				n = arenaBlock + rng.IntN(3*arenaBlock)
			}
			s := randString(rng, n)
			strs = append(strs, s)
			ptrs = append(ptrs, a.add(s))
			total += len(s)
		}
		for i, s := range strs {
			if got := unsafe.String((*byte)(ptrs[i]), len(s)); got != s {
				t.Fatalf("round %d: string %d reads back as %q; want %q", round, i, trunc(got), trunc(s))
			}
		}
		a.release()
		kept := 0
		for _, b := range a.blocks {
			kept += len(b)
		}
		if kept > arenaKeep+4*arenaBlock {
			t.Fatalf("round %d: arena keeps %d bytes; want about %d", round, kept, arenaKeep)
		}
	}
}

// TestChunkFreshValidity confirms that DuckDB gives a fresh or reset chunk
// no validity mask (all rows valid), and that column() makes an existing
// mask all valid.
func TestChunkFreshValidity(t *testing.T) {
	w := width{blobs: 2, doubles: 2}
	want := wantTypes(w)
	types := make([]bindings.LogicalType, len(want))
	for i, id := range want {
		types[i] = bindings.CreateLogicalType(id)
	}
	c := newDataChunk(types, want)
	for i := range types {
		bindings.DestroyLogicalType(&types[i])
	}
	defer c.destroy()
	for i := range want {
		if m := bindings.VectorGetValidity(bindings.DataChunkGetVector(c.chunk, bindings.IdxT(i))); m != nil {
			t.Fatalf("fresh chunk: column %d has a validity mask", i)
		}
	}
	// Invalid UTF-8 makes DuckDB store NULL, creating a mask.
	vec := bindings.DataChunkGetVector(c.chunk, 3)
	bindings.VectorAssignStringElement(vec, 5, "\xff")
	m := bindings.VectorGetValidity(vec)
	if m == nil || bindings.ValidityRowIsValid(m, 5) {
		t.Fatal("invalid UTF-8 did not store NULL")
	}
	c.reset()
	for i := range want {
		if m := bindings.VectorGetValidity(bindings.DataChunkGetVector(c.chunk, bindings.IdxT(i))); m != nil {
			t.Fatalf("reset chunk: column %d has a validity mask", i)
		}
	}
	// column() repairs a mask that has invalid rows.
	vec = bindings.DataChunkGetVector(c.chunk, 5)
	bindings.VectorEnsureValidityWritable(vec)
	bindings.ValiditySetRowInvalid(bindings.VectorGetValidity(vec), 7)
	c.column(5)
	m = bindings.VectorGetValidity(vec)
	for r := range c.capacity {
		if !bindings.ValidityRowIsValid(m, bindings.IdxT(r)) {
			t.Fatalf("column() left row %d invalid", r)
		}
	}
}

// stringClasses are strings at the edges of the inline and cgo paths.
var stringClasses = []string{
	"", "a", "GET", "eu-west", "0123456789a", "0123456789ab", "0123456789abc",
	"日本語日本", "日本語日本a", "a日本語日本", "€€€€", "🙂🙂🙂", "🙂🙂🙂🙂", "é", "ab\x00cd",
	"/api/v1/endpoint/42", "\u00a0\u2028\ufeff", "\U0010ffff",
	strings.Repeat("x", 255), strings.Repeat("日", 100),
}

// randString returns a valid UTF-8 string of about n bytes (mixing ASCII and
// 2-, 3- and 4-byte runes), or a string from stringClasses.
func randString(rng *rand.Rand, n int) string {
	if rng.IntN(4) == 0 {
		return stringClasses[rng.IntN(len(stringClasses))]
	}
	var b strings.Builder
	for b.Len() < n {
		switch rng.IntN(6) {
		case 0:
			b.WriteRune(rune(0x80 + rng.IntN(0x780)))
		case 1:
			b.WriteRune(rune(0x800 + rng.IntN(0xD000-0x800)))
		case 2:
			b.WriteRune(rune(0x10000 + rng.IntN(0x100000)))
		default:
			b.WriteByte(byte(rng.IntN(0x80)))
		}
	}
	return b.String()
}

// randDouble returns a finite double, often an edge case.
func randDouble(rng *rand.Rand) float64 {
	edges := []float64{0, math.Copysign(0, -1), 1, -1, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 1e300, -1e-300, 0.1, 1 << 53, (1 << 53) + 1}
	if rng.IntN(3) == 0 {
		return edges[rng.IntN(len(edges))]
	}
	for {
		d := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(d) && !math.IsInf(d, 0) {
			return d
		}
	}
}

// randPoint returns a valid point in dataset ds at ts.
func randPoint(rng *rand.Rand, ds string, ts int64) point.Point {
	p := point.Point{Dataset: ds, Timestamp: ts}
	if rng.IntN(3) > 0 {
		p.Index = randString(rng, rng.IntN(20))
		if len(p.Index) > point.MaxIndexBytes {
			p.Index = "long"
		}
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		p.SampleInterval = math.MaxUint32
	default:
		p.SampleInterval = rng.Uint32()
	}
	nb := rng.IntN(point.MaxBlobs + 1)
	budget := point.MaxBlobBytes
	if nb > 0 && rng.IntN(50) == 0 {
		// One blob of exactly 16 KB (multi-byte runes included), the rest empty.
		big := randString(rng, point.MaxBlobBytes-8)
		for len(big) < point.MaxBlobBytes {
			big += "x"
		}
		for len(big) > point.MaxBlobBytes {
			_, n := utf8.DecodeLastRuneInString(big)
			big = big[:len(big)-n]
		}
		p.Blobs = make([]string, nb)
		p.Blobs[rng.IntN(nb)] = big
	} else {
		for range nb {
			s := randString(rng, []int{0, 3, 11, 12, 13, 30, 200}[rng.IntN(7)])
			if len(s) > budget {
				s = ""
			}
			budget -= len(s)
			p.Blobs = append(p.Blobs, s)
		}
	}
	for range rng.IntN(point.MaxDoubles + 1) {
		p.Doubles = append(p.Doubles, randDouble(rng))
	}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// storedRow is one row read back from a day table.
type storedRow struct {
	project int64
	ts      int64
	si      uint32
	index   string
	blobs   []string
	doubles []uint64 // bits, so that -0 and 0 differ
}

func expectRow(project int64, p *point.Point, w width) storedRow {
	r := storedRow{project: project, ts: p.Timestamp, si: p.Weight(), index: p.Index}
	for i := 1; i <= w.blobs; i++ {
		r.blobs = append(r.blobs, p.Blob(i))
	}
	for i := 1; i <= w.doubles; i++ {
		r.doubles = append(r.doubles, math.Float64bits(p.Double(i)))
	}
	return r
}

// readTable reads a day table's rows in ts order.
func readTable(t *testing.T, s *Store, day int64, dataset string) ([]storedRow, width) {
	t.Helper()
	s.pmu.RLock()
	p := s.parts[day]
	var w width
	if p != nil {
		w = p.tables[dataset]
	}
	s.pmu.RUnlock()
	if p == nil {
		t.Fatalf("day %s not attached", dayName(day))
	}
	cols := columnNames(w)
	q := fmt.Sprintf("SELECT %s FROM %s.%s ORDER BY ts", strings.Join(cols, ", "), p.alias, quoteIdent(dataset))
	rows, err := s.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []storedRow
	for rows.Next() {
		var r storedRow
		var project int32
		blobs := make([]string, w.blobs)
		doubles := make([]float64, w.doubles)
		dest := []any{&project, &r.ts, &r.si, &r.index}
		for i := range blobs {
			dest = append(dest, &blobs[i])
		}
		for i := range doubles {
			dest = append(dest, &doubles[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("scan %s: %v", q, err)
		}
		r.project = int64(project)
		r.blobs = blobs
		for _, d := range doubles {
			r.doubles = append(r.doubles, math.Float64bits(d))
		}
		if len(r.blobs) == 0 {
			r.blobs = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, w
}

func diffRows(t *testing.T, what string, got, want []storedRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows; want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.project != w.project || g.ts != w.ts || g.si != w.si || g.index != w.index {
			t.Fatalf("%s row %d: got (%d, %d, %d, %q); want (%d, %d, %d, %q)", what, i, g.project, g.ts, g.si, g.index, w.project, w.ts, w.si, w.index)
		}
		if len(g.blobs) != len(w.blobs) || len(g.doubles) != len(w.doubles) {
			t.Fatalf("%s row %d: width %d/%d; want %d/%d", what, i, len(g.blobs), len(g.doubles), len(w.blobs), len(w.doubles))
		}
		for j := range g.blobs {
			if g.blobs[j] != w.blobs[j] {
				t.Fatalf("%s row %d blob%d: got %q (%d bytes); want %q (%d bytes)", what, i, j+1, trunc(g.blobs[j]), len(g.blobs[j]), trunc(w.blobs[j]), len(w.blobs[j]))
			}
		}
		for j := range g.doubles {
			if g.doubles[j] != w.doubles[j] {
				t.Fatalf("%s row %d double%d: got %v (%#x); want %v (%#x)", what, i, j+1,
					math.Float64frombits(g.doubles[j]), g.doubles[j], math.Float64frombits(w.doubles[j]), w.doubles[j])
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

type stored struct {
	project int64
	p       point.Point
}

// TestAppendRoundTrip appends random points of random widths over several
// day files (negative timestamps included) and reads them back exactly.
func TestAppendRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	datasets := []string{"requests", "events", "w"}
	days := []int64{-2 * dayMs, -dayMs + 5, 0, 19_000 * dayMs, 20_000*dayMs + 3}
	var all []stored
	nextTS := map[int64]int64{}
	for round := range 4 {
		var batches []store.Batch
		for _, project := range []int64{1, 7, math.MaxInt32} {
			n := 100 + rng.IntN(3000)
			if round == 3 {
				n = 5000 // several full chunks plus a partial one per table
			}
			b := store.Batch{Project: project}
			for range n {
				day := days[rng.IntN(len(days))]
				ts := day + nextTS[day]
				nextTS[day]++
				p := randPoint(rng, datasets[rng.IntN(len(datasets))], ts)
				if round < 2 {
					// Narrow points first, so that later rounds widen tables.
					p.Blobs = p.Blobs[:min(len(p.Blobs), 2)]
					p.Doubles = p.Doubles[:min(len(p.Doubles), 1)]
				}
				b.Points = append(b.Points, p)
			}
			batches = append(batches, b)
		}
		if err := s.Append(ctx, batches); err != nil {
			t.Fatalf("round %d: Append = %v", round, err)
		}
		for _, b := range batches {
			for _, p := range b.Points {
				all = append(all, stored{b.Project, p})
			}
		}
		checkStored(t, s, all)
	}
}

// checkStored reads every day table back and compares it with the points.
func checkStored(t *testing.T, s *Store, all []stored) {
	t.Helper()
	byTable := map[int64]map[string][]stored{}
	for _, st := range all {
		day := dayOf(st.p.Timestamp)
		if byTable[day] == nil {
			byTable[day] = map[string][]stored{}
		}
		byTable[day][st.p.Dataset] = append(byTable[day][st.p.Dataset], st)
	}
	for day, tables := range byTable {
		for ds, sts := range tables {
			got, w := readTable(t, s, day, ds)
			sort.Slice(sts, func(i, j int) bool { return sts[i].p.Timestamp < sts[j].p.Timestamp })
			want := make([]storedRow, len(sts))
			for i := range sts {
				want[i] = expectRow(sts[i].project, &sts[i].p, w)
			}
			diffRows(t, dayName(day)+"/"+ds, got, want)
		}
	}
}

// TestAppendStringForms stores the same strings through each combination of
// the Go writers and DuckDB's string assignment and checks they read back the
// same.
func TestAppendStringForms(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mk := func(ds string) []point.Point {
		rng := rand.New(rand.NewPCG(5, 6)) // the same strings for both datasets
		pts := make([]point.Point, 3000)
		for i := range pts {
			pts[i] = point.Point{Dataset: ds, Timestamp: int64(i), Index: randString(rng, rng.IntN(16)), Doubles: []float64{float64(i)}}
			for range 4 {
				pts[i].Blobs = append(pts[i].Blobs, randString(rng, rng.IntN(16)))
			}
		}
		for i, c := range stringClasses {
			pts[i].Blobs[0] = c
			if len(c) <= point.MaxIndexBytes {
				pts[i].Index = c
			}
		}
		return pts
	}
	// Each dataset writes the same strings with other string forms.
	modes := map[string]layout{"gofull": {true, true}, "inline": {inline: true}, "pointer": {pointer: true}, "cgo": {}}
	var first, rest []store.Batch
	pts := map[string][]point.Point{}
	for ds := range modes {
		pts[ds] = mk(ds)
		first = append(first, store.Batch{Project: 1, Points: pts[ds][:1]})
		rest = append(rest, store.Batch{Project: 1, Points: pts[ds][1:]})
	}
	// Open the tables and their appenders, then set their string forms.
	if err := s.Append(ctx, first); err != nil {
		t.Fatal(err)
	}
	for ds, mode := range modes {
		a := s.allLanes[0].appenders[aliasOf(0)+"."+ds]
		if a == nil || a.chunk.layout != (layout{true, true}) {
			t.Fatalf("appender for %s: %+v", ds, a)
		}
		a.chunk.layout = mode
	}
	if err := s.Append(ctx, rest); err != nil {
		t.Fatal(err)
	}
	for ds := range modes {
		got, w := readTable(t, s, 0, ds)
		want := make([]storedRow, len(pts[ds]))
		for i := range pts[ds] {
			want[i] = expectRow(1, &pts[ds][i], w)
		}
		diffRows(t, ds, got, want)
	}
	// Equal strings written in different forms compare equal in DuckDB
	// (inlined strings compare as two words, so stray padding would not).
	var n int
	q := `SELECT count(*) FROM p19700101.gofull a JOIN p19700101.cgo b USING (ts) WHERE a.index1 = b.index1 AND a.blob1 = b.blob1 AND a.blob2 = b.blob2 AND a.blob3 = b.blob3 AND a.blob4 = b.blob4`
	if err := s.db.QueryRow(q).Scan(&n); err != nil || n != 3000 {
		t.Fatalf("%s = %d, %v; want 3000", q, n, err)
	}
}

// TestChunkArenaCopied checks that DuckDB copies the long strings before
// AppendDataChunk returns, which lets the arena be reused at once: it
// overwrites the arena after each AppendDataChunk and reads the table back.
func TestChunkArenaCopied(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(12, 34))
	pts := make([]point.Point, 5000)
	for i := range pts {
		pts[i] = point.Point{Dataset: "long", Timestamp: int64(i), Index: randString(rng, 13+rng.IntN(80)),
			Blobs: []string{randString(rng, 13+rng.IntN(300)), "", randString(rng, 13)}}
		if i%500 == 0 {
			pts[i].Blobs[1] = strings.Repeat("é", point.MaxBlobBytes/2-200)
		}
	}
	if err := s.Append(ctx, []store.Batch{{Project: 1, Points: pts[:1]}}); err != nil {
		t.Fatal(err)
	}
	l := s.allLanes[0]
	a := l.appenders[aliasOf(0)+".long"]
	if a == nil || !a.chunk.layout.pointer {
		t.Fatalf("appender: %+v", a)
	}
	if _, err := l.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		t.Fatal(err)
	}
	rows := make([]row, 0, len(pts)-1)
	for i := range pts[1:] {
		rows = append(rows, row{1, &pts[1+i]})
	}
	for len(rows) > 0 {
		n := min(len(rows), a.chunk.capacity)
		a.chunk.fill(rows[:n], a.w, &l.arena)
		if bindings.AppendDataChunk(a.app, a.chunk.chunk) == bindings.StateError {
			t.Fatal(appendError(a.app))
		}
		if len(l.arena.blocks) == 0 {
			t.Fatal("the arena holds no strings")
		}
		for _, b := range l.arena.blocks {
			for j := range b {
				b[j] = 'X'
			}
		}
		l.arena.release()
		a.chunk.reset()
		rows = rows[n:]
	}
	if bindings.AppenderFlush(a.app) == bindings.StateError {
		t.Fatal(appendError(a.app))
	}
	if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	got, w := readTable(t, s, 0, "long")
	want := make([]storedRow, len(pts))
	for i := range pts {
		want[i] = expectRow(1, &pts[i], w)
	}
	diffRows(t, "long", got, want)
}

// TestAppendAbort checks that a failing append commits nothing of its day,
// drops the failed table's appender, and that the store appends again afterwards.
func TestAppendAbort(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(9, 9))
	var all []stored
	batch := func(n int, ds ...string) store.Batch {
		b := store.Batch{Project: 3}
		for i := range n {
			b.Points = append(b.Points, randPoint(rng, ds[i%len(ds)], int64(len(all)+i)))
		}
		return b
	}
	ok := batch(3000, "a", "b")
	if err := s.Append(ctx, []store.Batch{ok}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ok.Points {
		all = append(all, stored{3, p})
	}
	for _, bad := range []string{"\xff", "0123456789ab\xff", "\xc3"} {
		b := batch(5000, "a", "b")
		// Invalid UTF-8 (validated upstream, so only a bug sends it) is
		// stored as NULL, which index1's NOT NULL refuses: the whole day
		// must roll back, "a" included, which sorts before "b".
		b.Points[4001].Index = bad
		if b.Points[4001].Dataset != "b" {
			t.Fatal("test setup: point 4001 should be in b")
		}
		if err := s.Append(ctx, []store.Batch{b}); err == nil {
			t.Fatalf("Append with index %q = nil; want an error", bad)
		}
		if a := s.allLanes[0].appenders[aliasOf(0)+".b"]; a != nil {
			t.Fatal("the failed table's appender survived the abort")
		}
		checkStored(t, s, all)
	}
	again := batch(2500, "a", "b")
	if err := s.Append(ctx, []store.Batch{again}); err != nil {
		t.Fatal(err)
	}
	for _, p := range again.Points {
		all = append(all, stored{3, p})
	}
	checkStored(t, s, all)
}

// TestAppendAllocs checks the chunk path does not allocate per row.
func TestAppendAllocs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pts := requestPoints(20_000, 1_700_000_000_000)
	b := []store.Batch{{Project: 1, Points: pts}}
	if err := s.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1000 {
		t.Fatalf("Append of %d points: %.0f allocations; want < 1000 (none per row)", len(pts), allocs)
	}
}

// TestRawConnection checks the reflective lookup of duckdb-go's C connection
// and that it is the lane's: same DuckDB connection id.
func TestRawConnection(t *testing.T) {
	if _, err := rawConnection("not a connection"); err == nil {
		t.Fatal("rawConnection(string) = nil error")
	}
	if _, err := rawConnection((*duckdb.Conn)(nil)); err == nil {
		t.Fatal("rawConnection(nil *duckdb.Conn) = nil error")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir(), MemoryLimit: "512MB", WriteLanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seen := map[uint64]bool{}
	for _, l := range s.allLanes {
		raw, err := l.laneConn()
		if err != nil {
			t.Fatalf("laneConn() = %v", err)
		}
		id, err := duckdb.ConnId(l.conn)
		if err != nil {
			t.Fatal(err)
		}
		if got := connectionID(raw); got != id || seen[id] {
			t.Fatalf("raw connection id %d; want the lane's %d, distinct per lane", got, id)
		}
		seen[id] = true
	}
}
