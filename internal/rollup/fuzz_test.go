package rollup

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// smallSnapshot is a valid snapshot touching every feature of the format:
// three tiers, an overflow cell, negative and zero sketch values, double
// dimensions, a table with no distributions.
func smallSnapshot(t testing.TB) []byte {
	r := New(Options{CoverFrom: T0, MaxCellsPerMinute: 3})
	pts := genPoints(400, 21)
	for i := range pts {
		if pts[i].project == 1 {
			r.Add(1, &pts[i].p)
		}
	}
	r.Seal(T0 + 2*dayMs + 5*hourMs)
	r.Compact(T0 + dayMs)
	var buf bytes.Buffer
	if err := r.Snapshot(&buf, math.MinInt64, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzLoad feeds Load arbitrary bytes, with a valid checksum when fixCRC
// (so that mutations reach the parser instead of failing the checksum).
// Load must not panic; what it accepts must snapshot to bytes that load
// and snapshot again identically, and must survive queries, adds, sealing,
// compaction and merging.
func FuzzLoad(f *testing.F) {
	seed := smallSnapshot(f)
	f.Add(seed, false)
	f.Add(seed, true)
	f.Add([]byte{}, false)
	f.Add([]byte(snapMagic+"\x01\x01"), true)
	var empty bytes.Buffer
	if err := New(Options{}).Snapshot(&empty, math.MinInt64, math.MaxInt64); err != nil {
		f.Fatal(err)
	}
	f.Add(empty.Bytes(), false)
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		if fixCRC && len(data) >= 4 {
			// Let mutations reach the parser: rewrite the checksum.
			data = slices.Clone(data)
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], castagnoli))
		}
		r, err := Load(bytes.NewReader(data), Options{MaxCellsPerMinute: 3})
		if err != nil {
			return
		}
		var a bytes.Buffer
		if err := r.Snapshot(&a, math.MinInt64, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		r2, err := Load(bytes.NewReader(a.Bytes()), Options{})
		if err != nil {
			t.Fatalf("a snapshot of a loaded snapshot does not load: %v", err)
		}
		var b bytes.Buffer
		if err := r2.Snapshot(&b, math.MinInt64, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("snapshot is not stable across a load")
		}
		for _, tb := range r.allTables() {
			from := max(tb.validFrom, T0-dayMs)
			from = ceilTo(from, dayMs)
			sub := query.Sub{Project: tb.key.project, Dataset: tb.key.dataset, From: from, To: from + 4*dayMs, MaxGroups: 1000,
				Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggSum, Field: d(2)}, {Type: query.AggMin, Field: d(1)}}}
			if len(tb.l.dists) > 0 {
				sub.Aggs = append(sub.Aggs, query.Agg{Type: query.AggQuantiles, Field: tb.l.spec.Distributions[0], Qs: []float64{0.5, 0.99}})
			}
			for _, g := range [][]point.Field{nil, {idx}} {
				sub.GroupBy = g
				for _, iv := range []int64{0, hourMs} {
					sub.Interval = iv
					if _, err := r.Execute(context.Background(), &sub); err != nil && tb.validFrom <= from && tb.end >= sub.To {
						t.Logf("execute: %v", err)
					}
				}
			}
			p := point.Point{Dataset: tb.key.dataset, Timestamp: from + 3*dayMs + 5, Index: "x", Blobs: []string{"a", "b", "c"}, Doubles: []float64{1, -2, 0}}
			r.Add(tb.key.project, &p)
			p.Timestamp = from + 7
			r.Add(tb.key.project, &p)
		}
		r.Seal(T0 + 10*dayMs)
		r.Compact(T0 + 5*dayMs)
		_ = r.Stats()
		if err := r.Merge(r2); err != nil {
			return
		}
	})
}
