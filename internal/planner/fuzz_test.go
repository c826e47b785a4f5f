package planner

import (
	"bytes"
	"maps"
	"testing"

	"github.com/alidade/alidade/internal/store"
)

// FuzzDayHeader: a day file's header either decodes, and then encodes back
// to the same bytes, or is refused with an error; it never panics.
func FuzzDayHeader(f *testing.F) {
	const day = 1_764_201_600_000
	f.Add(encodeDayHeader(map[store.TableDay]int64{}))
	f.Add(encodeDayHeader(map[store.TableDay]int64{
		{Project: 1, Dataset: "requests", Day: day}: 12345,
		{Project: 2, Dataset: "ai_usage", Day: day}: 7,
	}))
	f.Add([]byte(dayMagic + "\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		counts, rest, err := decodeDayHeader(data, day)
		if err != nil {
			return
		}
		enc := encodeDayHeader(counts)
		if !bytes.HasPrefix(data, enc) || len(data)-len(rest) != len(enc) {
			t.Fatalf("decoded %v from %q; it encodes to %q", counts, data, enc)
		}
		again, _, err := decodeDayHeader(enc, day)
		if err != nil || !maps.Equal(again, counts) {
			t.Fatalf("round trip: %v, %v; want %v", again, err, counts)
		}
	})
}
