package wal

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

func sampleBatches() []store.Batch {
	return []store.Batch{
		{Project: 1, Points: []point.Point{
			{Dataset: "requests", Timestamp: 1796470000000, Index: "/api/chat", Blobs: []string{"/api/chat", "GET"}, Doubles: []float64{12.5, 200}},
			{Dataset: "requests", Timestamp: 1796469999000, Index: "/api/grade", Blobs: []string{"", "POST", "héllo"}, Doubles: []float64{math.Inf(1), math.Copysign(0, -1), 3}, SampleInterval: 7},
			{Dataset: "ai_usage", Timestamp: 1796470000001, Index: "gpt-4o"},
		}},
		{Project: 42, Idem: &store.Idem{Key: "batch-1", Hash: "0123abcd", Days: []int64{1796428800000, 1796342400000}, Status: 200, Body: []byte(`{"accepted":1,"rejected":[]}` + "\n"), At: 1796470000123},
			Points: []point.Point{{Dataset: "x", Timestamp: -5, Blobs: []string{}, Doubles: []float64{}}}},
		{Project: 3, Idem: &store.Idem{Key: "k", Days: []int64{}}},
		{Project: 0},
	}
}

// normalize makes empty slices nil, as Decode returns them.
func normalize(b store.Batch) store.Batch {
	for i := range b.Points {
		if len(b.Points[i].Blobs) == 0 {
			b.Points[i].Blobs = nil
		}
		if len(b.Points[i].Doubles) == 0 {
			b.Points[i].Doubles = nil
		}
	}
	if len(b.Points) == 0 {
		b.Points = nil
	}
	if b.Idem != nil && len(b.Idem.Body) == 0 {
		r := *b.Idem
		r.Body = []byte{}
		b.Idem = &r
	}
	return b
}

func TestRecordRoundTrip(t *testing.T) {
	var buf []byte
	bs := sampleBatches()
	for i := range bs {
		buf = AppendRecord(buf, &bs[i])
	}
	for i := range bs {
		got, n, err := Decode(buf)
		if err != nil {
			t.Fatalf("Decode record %d = %v", i, err)
		}
		want := normalize(bs[i])
		// -0 and +Inf survive bit for bit.
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d = %+v; want %+v", i, got, want)
		}
		if i == 0 && math.Signbit(got.Points[1].Doubles[1]) != true {
			t.Errorf("-0 lost its sign")
		}
		buf = buf[n:]
	}
	if len(buf) != 0 {
		t.Errorf("%d bytes left", len(buf))
	}
}

func TestRecordTornAndCorrupt(t *testing.T) {
	bs := sampleBatches()
	rec := AppendRecord(nil, &bs[0])
	for cut := 0; cut < len(rec); cut++ {
		if _, _, err := Decode(rec[:cut]); !errors.Is(err, ErrTorn) {
			t.Fatalf("Decode of the first %d of %d bytes = %v; want ErrTorn", cut, len(rec), err)
		}
	}
	for i := range rec {
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x40
		_, _, err := Decode(bad)
		if err == nil {
			t.Fatalf("a flipped bit at byte %d went unnoticed", i)
		}
		// A flip in the length may make the record look torn; anywhere
		// else it is corrupt.
		if i >= 4 && !errors.Is(err, ErrCorrupt) {
			t.Errorf("flipped byte %d: %v; want ErrCorrupt", i, err)
		}
	}
}

// FuzzDecode: any bytes decode to a record that encodes back to the same
// bytes, or to an error; never a panic or a huge allocation.
func FuzzDecode(f *testing.F) {
	bs := sampleBatches()
	for i := range bs {
		f.Add(AppendRecord(nil, &bs[i]))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, n, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrTorn) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error %v is neither torn nor corrupt", err)
			}
			return
		}
		if n < headerSize || n > len(data) {
			t.Fatalf("Decode size %d of %d bytes", n, len(data))
		}
		again := AppendRecord(nil, &b)
		b2, _, err := Decode(again)
		if err != nil || !reflect.DeepEqual(normalize(b), normalize(b2)) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", b2, err, b)
		}
	})
}
