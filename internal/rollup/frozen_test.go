package rollup

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alidade/alidade/internal/point"
)

// TestMergedBinsMatchAcc checks that mergeBuckets' two ways to merge a
// series' sketches (sorting the bins for few, the dense accumulator for
// many) write the same bytes.
func TestMergedBinsMatchAcc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var a acc
		var bins []bin
		parts := 1 + rng.IntN(60)
		for range parts {
			var s sketch
			for range rng.IntN(40) {
				x := math.Exp(rng.NormFloat64() * 3)
				if rng.IntN(4) == 0 {
					x = -x
				}
				s.add(x, uint64(1+rng.IntN(20)))
			}
			if trial%2 == 0 {
				s.freeze()
			}
			a.addSketch(&s)
			bins = s.appendBins(bins)
		}
		want := a.appendPacked(nil)
		got := appendPacked(nil, mergeBins(bins))
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d: sorted merge %x, accumulator %x", trial, got, want)
		}
		if _, err := checkPacked(got); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
	}
}

// TestFreezeThaw checks that a bucket reads the same frozen as written,
// and after a thaw and more points, the same as a bucket never frozen.
func TestFreezeThaw(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	dists := []int{1, 3}
	mk := func() *bucket { return &bucket{} }
	plain, frozenB := mk(), mk()
	add := func(b *bucket, sid uint32, p *point.Point, width int) {
		b.thaw()
		i, ok := b.find(sid)
		if !ok {
			i = b.newCell(sid, len(dists), width)
		}
		b.cells[i].addPoint(p, 1+uint64(rng.IntN(3)), width, dists)
	}
	for round := range 3 {
		width := 2 + round // cells written later track more doubles
		for range 500 {
			sid := uint32(1 + rng.IntN(40))
			p := point.Point{Doubles: []float64{rng.NormFloat64() * 100, float64(rng.IntN(5)), rng.ExpFloat64(), rng.Float64()}[:width]}
			seed := rng.Uint64()
			rng = rand.New(rand.NewPCG(seed, 1))
			add(plain, sid, &p, width)
			rng = rand.New(rand.NewPCG(seed, 1))
			add(frozenB, sid, &p, width)
		}
		frozenB.freeze(len(dists))
		if frozenB.fz == nil || frozenB.cells != nil {
			t.Fatal("freeze left the bucket writable")
		}
		if plain.ncells() != frozenB.ncells() {
			t.Fatalf("round %d: %d cells, frozen %d", round, plain.ncells(), frozenB.ncells())
		}
		var sc cell
		for i := range plain.ncells() {
			p, f := plain.at(i, &cell{}, true), frozenB.at(i, &sc, true)
			if p.sid != f.sid || p.n != f.n || p.w != f.w {
				t.Fatalf("round %d cell %d: (%d %d %d), frozen (%d %d %d)", round, i, p.sid, p.n, p.w, f.sid, f.n, f.w)
			}
			for k := range max(len(p.stats), len(f.stats)) {
				if p.stat(k) != f.stat(k) {
					t.Fatalf("round %d cell %d stat %d: %v, frozen %v", round, i, k, p.stat(k), f.stat(k))
				}
			}
			for j := range dists {
				ps, fs := p.sk[j], f.sk[j]
				want := appendPacked(nil, ps.sortedBins())
				if ps.zero != fs.zero || !bytes.Equal(want, fs.packed) {
					t.Fatalf("round %d cell %d sketch %d differs", round, i, j)
				}
			}
		}
	}
}
