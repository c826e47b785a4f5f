package postgres

import (
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// testBus is a bus that does not run: what it would send stays in b.out,
// and its clock is *now.
func testBus(t *testing.T, opts BusOptions) (*Bus, *time.Time) {
	t.Helper()
	if opts.Deliver == nil {
		opts.Deliver = func([]store.Batch) {}
	}
	if opts.Local == nil {
		opts.Local = func() []int64 { return nil }
	}
	if opts.Queue == 0 {
		opts.Queue = 10_000
	}
	b, err := newBus(&Store{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	b.now = func() time.Time { return now }
	return b, &now
}

// sent takes what the bus queued to send and decodes it, checking each
// payload's size and sender.
func sent(t *testing.T, b *Bus) (payloads int, pts []point.Point) {
	t.Helper()
	for {
		select {
		case o := <-b.out:
			if len(o.payload) > maxPayload {
				t.Fatalf("payload of %d bytes; PostgreSQL takes at most %d", len(o.payload), maxPayload)
			}
			node, project, ps, err := decodePoints(o.payload)
			if err != nil {
				t.Fatalf("decodePoints(own payload) = %v", err)
			}
			if node != b.node || project != 7 || len(ps) != o.points {
				t.Fatalf("payload from node %q project %d with %d points; want %q, 7, %d", node, project, len(ps), b.node, o.points)
			}
			payloads++
			pts = append(pts, ps...)
		default:
			return payloads, pts
		}
	}
}

func requestPoints(n int, blob int) []point.Point {
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{
			Dataset: "requests", Timestamp: 1_700_000_000_000 + int64(i), Index: fmt.Sprintf("/api/%d", i%7),
			Blobs:   []string{"GET", strings.Repeat("x", blob), "", "é" + fmt.Sprint(i)},
			Doubles: []float64{float64(i) / 8, 200, math.Inf(-1)},
		}
	}
	return pts
}

// interested makes another node watch project 7.
func interested(b *Bus, node string, projects ...int64) {
	b.heard(interestChannel, encodeInterest(node, projects))
}

func TestBusChunksAndDecodes(t *testing.T) {
	b, _ := testBus(t, BusOptions{MaxRate: 1_000_000})
	in := requestPoints(3000, 100)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 0 {
		t.Fatalf("with no node interested the bus queued %d notifications; want none", n)
	}
	interested(b, "other", 3, 7)
	b.Publish([]store.Batch{{Project: 7, Points: in}, {Project: 8, Points: in[:10]}})
	n, got := sent(t, b)
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("decoded %d points; want the 3000 published (first: %+v)", len(got), got[:1])
	}
	// About 150 bytes a point: some 40 to a notification.
	if n < 3000*150/maxPayload || n > 3000/20 {
		t.Errorf("3000 points in %d notifications; want as many to one as fit", n)
	}
	if st := b.Stats(); st.Forwarded != 3000 || st.Sampled != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v; want 3000 forwarded, none sampled or dropped", st)
	}
	// Two equal batches make distinct payloads (PostgreSQL folds equal
	// payloads of a transaction into one).
	b.Publish([]store.Batch{{Project: 7, Points: in[:1]}, {Project: 7, Points: in[:1]}})
	o1, o2 := <-b.out, <-b.out
	if o1.payload == o2.payload {
		t.Errorf("two equal batches gave equal payloads %.60q", o1.payload)
	}
}

func TestBusCutsBigPoints(t *testing.T) {
	b, _ := testBus(t, BusOptions{})
	interested(b, "other", 7)
	in := requestPoints(2, point.MaxBlobBytes-100)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	n, got := sent(t, b)
	if n != 2 || len(got) != 2 {
		t.Fatalf("2 points of 16 KB: %d notifications of %d points; want one each", n, len(got))
	}
	for i, p := range got {
		if len(p.Blobs[1]) >= len(in[i].Blobs[1]) || len(p.Blobs[1]) < 2000 || p.Blobs[0] != "GET" || p.Blobs[3] != in[i].Blobs[3] || p.Index != in[i].Index {
			t.Errorf("point %d cut to blobs of %d bytes %q…; want the long one shortened, the short ones kept", i, len(p.Blobs[1]), p.Blobs[0])
		}
	}
	if len(in[0].Blobs[1]) != point.MaxBlobBytes-100 {
		t.Errorf("cutting changed the write's own point")
	}
	if st := b.Stats(); st.Cut != 2 || st.Forwarded != 2 {
		t.Errorf("stats %+v; want 2 cut and forwarded", st)
	}
}

func TestBusRateBound(t *testing.T) {
	b, now := testBus(t, BusOptions{MaxRate: 100})
	interested(b, "other", 7)
	in := requestPoints(1000, 10)
	// The first second has no measure yet: at most twice the rate.
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if _, got := sent(t, b); len(got) != 200 {
		t.Fatalf("first second: %d points forwarded; want 200 (twice the rate)", len(got))
	}
	// Then one point in ten, each standing for ten.
	*now = now.Add(time.Second)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	_, got := sent(t, b)
	if len(got) != 100 || got[0].SampleInterval != 10 {
		t.Fatalf("at 1000 points a second, bound 100: %d forwarded, sample interval %d; want 100, 10", len(got), got[0].SampleInterval)
	}
	if st := b.Stats(); st.Sampled != 800+900 {
		t.Errorf("sampled %d; want 1700", st.Sampled)
	}
	// A quiet second: all again.
	*now = now.Add(3 * time.Second)
	interested(b, "other", 7)
	b.Publish([]store.Batch{{Project: 7, Points: in[:50]}})
	if _, got := sent(t, b); len(got) != 50 || got[0].Weight() != 1 {
		t.Fatalf("after a quiet second: %d forwarded; want all 50 unsampled", len(got))
	}
}

func TestBusInterestExpires(t *testing.T) {
	b, now := testBus(t, BusOptions{TTL: 15 * time.Second})
	in := requestPoints(1, 1)
	interested(b, b.node, 7) // its own: ignored
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 0 {
		t.Fatalf("the node's own interest made it forward")
	}
	interested(b, "other", 7)
	*now = now.Add(14 * time.Second)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 1 {
		t.Fatalf("14 s after an interest: %d notifications; want 1", n)
	}
	*now = now.Add(2 * time.Second)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 0 {
		t.Fatalf("16 s after an interest of TTL 15 s: %d notifications; want none", n)
	}
	// Repeated, it lasts; withdrawn (an empty list), it ends at once.
	interested(b, "other", 7)
	interested(b, "third", 9)
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 1 {
		t.Fatalf("a repeated interest: %d notifications; want 1", n)
	}
	interested(b, "other")
	b.Publish([]store.Batch{{Project: 7, Points: in}})
	if n, _ := sent(t, b); n != 0 {
		t.Fatalf("a withdrawn interest: %d notifications; want none", n)
	}
}

func TestBusSkipsOwnAndUnwatched(t *testing.T) {
	a, _ := testBus(t, BusOptions{})
	interested(a, "other", 7)
	a.Publish([]store.Batch{{Project: 7, Points: requestPoints(3, 1)}})
	p := (<-a.out).payload
	b, _ := testBus(t, BusOptions{})
	b.local.Store(&map[int64]struct{}{7: {}})
	a.heard(pointsChannel, p)
	if len(a.in) != 0 {
		t.Errorf("a node queued its own points for delivery")
	}
	b.heard(pointsChannel, p)
	if len(b.in) != 1 {
		t.Fatalf("a node watching project 7 did not queue another's points")
	}
	<-b.in
	b.local.Store(&map[int64]struct{}{8: {}})
	b.heard(pointsChannel, p)
	if len(b.in) != 0 {
		t.Errorf("a node watching no tail of project 7 queued its points")
	}
	b.heard(interestChannel, "2 x 1")
	b.heard(interestChannel, "1 x 01")
	if st := b.Stats(); st.Invalid != 2 {
		t.Errorf("invalid interest notifications counted %d; want 2", st.Invalid)
	}
}

func TestInterestCodec(t *testing.T) {
	for _, ps := range [][]int64{nil, {1}, {1, 9223372036854775807, -3}} {
		node, got, err := decodeInterest(encodeInterest("n1", ps))
		if err != nil || node != "n1" || !reflect.DeepEqual(got, ps) {
			t.Errorf("decodeInterest(encodeInterest(%v)) = %q %v %v", ps, node, got, err)
		}
	}
	for _, bad := range []string{"", "1", "1 n", "1  1", "2 n 1", "1 n 1,", "1 n x", "1 n 1 2"} {
		if _, _, err := decodeInterest(bad); err == nil {
			t.Errorf("decodeInterest(%q) took it; want an error", bad)
		}
	}
	big := make([]int64, 2000)
	for i := range big {
		big[i] = int64(i) + 1_000_000
	}
	if p := encodeInterest("n", big); len(p) > maxPayload {
		t.Errorf("interest in 2000 projects: %d bytes; want at most %d", len(p), maxPayload)
	}
}

func TestDecodePointsRefuses(t *testing.T) {
	for _, bad := range []string{
		"", "1 n 1 7", "1 n 1 7 ", // no point
		"2 n 1 7 AA", "1  1 7 AA", "1 n x 7 AA", "1 n 1 07 AA",
		"1 n 1 7 !!", "1 n 1 7 AA==", // not unpadded base64
		"1 n 1 7 AQ", // a dataset of 1 byte missing
	} {
		if _, _, _, err := decodePoints(bad); err == nil {
			t.Errorf("decodePoints(%q) took it; want an error", bad)
		}
	}
}

// FuzzDecodePoints checks that decodePoints never panics and that what
// it takes encodes back to the same points.
func FuzzDecodePoints(f *testing.F) {
	b, err := newBus(&Store{}, BusOptions{Deliver: func([]store.Batch) {}, Local: func() []int64 { return nil }})
	if err != nil {
		f.Fatal(err)
	}
	interested(b, "other", 7)
	b.Publish([]store.Batch{{Project: 7, Points: requestPoints(3, 5)}})
	f.Add((<-b.out).payload)
	f.Add("1 n 1 7 AA")
	f.Add("1 n 1 7 AQ")
	f.Add("1 n 18446744073709551615 -1 AAAAAAAAAA")
	f.Fuzz(func(t *testing.T, p string) {
		node, project, pts, err := decodePoints(p)
		if err != nil {
			return
		}
		var raw []byte
		for i := range pts {
			raw = appendPoint(raw, &pts[i])
		}
		_, _, again, err := decodePoints(fmt.Sprintf("1 %s 1 %d %s", node, project, base64.RawStdEncoding.EncodeToString(raw)))
		if err != nil || !reflect.DeepEqual(fmt.Sprint(again), fmt.Sprint(pts)) {
			t.Fatalf("decodePoints(%q) = %v; encoded again: %v, %v", p, pts, again, err)
		}
	})
}
