package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"testing"
)

// genPoint is a generated point as decoded JSON.
type genPoint struct {
	Timestamp int64     `json:"timestamp"`
	Index     string    `json:"index"`
	Blobs     []string  `json:"blobs"`
	Doubles   []float64 `json:"doubles"`
}

func decodeBody(t *testing.T, body []byte) []genPoint {
	t.Helper()
	var out []genPoint
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var p genPoint
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("line %d %q: %v", len(out)+1, sc.Text(), err)
		}
		out = append(out, p)
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		t.Error("body does not end with a newline")
	}
	return out
}

const (
	testFrom = 1795687200000 // 2026-11-26T10:00:00Z
	testTo   = testFrom + 24*3600*1000
)

func TestGeneratorDeterministic(t *testing.T) {
	a, sa := NewGenerator(42, testFrom, testTo).Body(3, 10, 2000)
	b, sb := NewGenerator(42, testFrom, testTo).Body(3, 10, 2000)
	if !bytes.Equal(a, b) || sa != sb {
		t.Fatal("two generators with the same seed made different bodies")
	}
	g := NewGenerator(42, testFrom, testTo)
	for _, other := range []func() []byte{
		func() []byte { b, _ := NewGenerator(43, testFrom, testTo).Body(3, 10, 2000); return b },
		func() []byte { b, _ := g.Body(4, 10, 2000); return b },
		func() []byte { b, _ := g.Body(3, 10, 1999); return b },
	} {
		if bytes.Equal(a, other()) {
			t.Error("a different seed, slot or size made the same body")
		}
	}
	// The endpoints' parameters depend on the seed only.
	if !slices.EqualFunc(g.Endpoints, NewGenerator(42, 0, 1).Endpoints, func(x, y Endpoint) bool {
		return x.Path == y.Path && x.MedianMs == y.MedianMs && x.ErrorRate == y.ErrorRate
	}) {
		t.Error("the endpoints depend on the time range")
	}
}

func TestGeneratorEndpoints(t *testing.T) {
	g := NewGenerator(1, testFrom, testTo)
	if n := len(g.Endpoints); n < 45 || n > 55 {
		t.Errorf("%d endpoints; want about 50", n)
	}
	seen := map[string]bool{}
	var sum float64
	for i, e := range g.Endpoints {
		if seen[e.Path] {
			t.Errorf("path %q repeats", e.Path)
		}
		seen[e.Path] = true
		sum += e.Weight
		if i > 0 && e.Weight >= g.Endpoints[i-1].Weight {
			t.Errorf("endpoint %d (%s) is not less popular than endpoint %d", i, e.Path, i-1)
		}
		if e.ErrorRate < 0.01 || e.ErrorRate > 0.05 {
			t.Errorf("%s: error rate %v outside [1%%, 5%%]", e.Path, e.ErrorRate)
		}
		if e.MedianMs <= 0 || e.Sigma <= 0 || e.MedianBytes <= 0 {
			t.Errorf("%s: bad parameters %+v", e.Path, e)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("weights sum to %v; want 1", sum)
	}
	// Skewed: the top 8 take well over half of the traffic.
	var top8 float64
	for _, e := range g.Endpoints[:8] {
		top8 += e.Weight
	}
	if top8 < 0.5 || top8 > 0.8 {
		t.Errorf("the top 8 endpoints take %.0f%% of the traffic; want 50-80%%", 100*top8)
	}
	if got := g.Top(8); len(got) != 8 || got[0] != g.Endpoints[0].Path || got[7] != g.Endpoints[7].Path {
		t.Errorf("Top(8) = %v", got)
	}
	// Latency medians differ between endpoints.
	medians := map[float64]bool{}
	for _, e := range g.Endpoints {
		medians[math.Round(e.MedianMs)] = true
	}
	if len(medians) < 20 {
		t.Errorf("only %d distinct latency medians", len(medians))
	}
}

func TestGeneratorShape(t *testing.T) {
	const n, slots, slot = 50_000, 4, 2
	g := NewGenerator(7, testFrom, testTo)
	body, st := g.Body(slot, slots, n)
	pts := decodeBody(t, body)
	if len(pts) != n || st.Points != n {
		t.Fatalf("%d points decoded, stats say %d; want %d", len(pts), st.Points, n)
	}
	lo := int64(testFrom + (testTo-testFrom)*slot/slots)
	hi := int64(testFrom + (testTo-testFrom)*(slot+1)/slots)
	paths := map[string]*Endpoint{}
	for i := range g.Endpoints {
		paths[g.Endpoints[i].Path] = &g.Endpoints[i]
	}
	regionSet := map[string]bool{}
	for _, r := range regions {
		regionSet[r.name] = true
	}
	var (
		prevTS   int64
		errs5xx  int64
		errs     int
		latSum   float64
		perPath  = map[string]int{}
		perPathL = map[string][]float64{}
	)
	for i, p := range pts {
		if p.Timestamp < lo || p.Timestamp >= hi {
			t.Fatalf("point %d: timestamp %d outside the slot [%d, %d)", i, p.Timestamp, lo, hi)
		}
		if p.Timestamp < prevTS {
			t.Fatalf("point %d: timestamp %d before the previous %d", i, p.Timestamp, prevTS)
		}
		prevTS = p.Timestamp
		e := paths[p.Index]
		switch {
		case e == nil:
			t.Fatalf("point %d: unknown index %q", i, p.Index)
		case len(p.Blobs) != 3 || p.Blobs[0] != p.Index || p.Blobs[1] != e.Method || !regionSet[p.Blobs[2]]:
			t.Fatalf("point %d: blobs %q; want [path, %s, region]", i, p.Blobs, e.Method)
		case len(p.Doubles) != 3:
			t.Fatalf("point %d: %d doubles; want 3", i, len(p.Doubles))
		}
		lat, status, size := p.Doubles[0], p.Doubles[1], p.Doubles[2]
		if lat <= 0 || lat != math.Round(lat*100)/100 {
			t.Fatalf("point %d: latency %v; want > 0 with at most 2 decimals", i, lat)
		}
		if status < 200 || status > 599 || status != math.Trunc(status) || size < 0 || size != math.Trunc(size) {
			t.Fatalf("point %d: status %v, bytes %v", i, status, size)
		}
		if status >= 400 {
			errs++
		}
		if status >= 500 {
			errs5xx++
		}
		latSum += lat
		perPath[p.Index]++
		if status < 400 {
			perPathL[p.Index] = append(perPathL[p.Index], lat)
		}
	}
	if st.Errors5xx != errs5xx || math.Abs(st.LatencySum-latSum) > 1e-6*latSum {
		t.Errorf("stats %+v; counted %d 5xx, latency sum %v", st, errs5xx, latSum)
	}
	if rate := float64(errs) / n; rate < 0.01 || rate > 0.05 {
		t.Errorf("error rate %.2f%%; want 1-5%%", 100*rate)
	}
	if rate := float64(errs5xx) / n; rate < 0.003 || rate > 0.03 {
		t.Errorf("5xx rate %.2f%%; want about half the errors", 100*rate)
	}
	// Popularity follows the ranks: the most popular endpoint leads.
	top := g.Endpoints[0].Path
	for path, c := range perPath {
		if c > perPath[top] {
			t.Errorf("%s (%d points) beats the most popular %s (%d)", path, c, top, perPath[top])
		}
	}
	if len(perPath) < 40 {
		t.Errorf("only %d endpoints seen in %d points", len(perPath), n)
	}
	// Latency is lognormal around each endpoint's median.
	for _, e := range g.Endpoints[:8] {
		lats := perPathL[e.Path]
		med := Median(lats)
		if len(lats) < 500 || med < e.MedianMs*0.85 || med > e.MedianMs*1.15 {
			t.Errorf("%s: median latency %.2f over %d points; want about %.2f", e.Path, med, len(lats), e.MedianMs)
		}
		if p99 := Percentile(lats, 0.99); p99 < med*2 {
			t.Errorf("%s: p99 %.2f is not a long tail over the median %.2f", e.Path, p99, med)
		}
	}
}

func TestSliceOf(t *testing.T) {
	for _, tc := range []struct{ from, to, slots int64 }{
		{testFrom, testTo, 7}, {0, 10, 3}, {0, 2, 5}, {testFrom, testFrom + 400*86_400_000, 1 << 40},
	} {
		prev := tc.from
		for _, k := range []int64{0, 1, tc.slots / 2, tc.slots - 2, tc.slots - 1} {
			lo, hi := sliceOf(tc.from, tc.to, k, tc.slots)
			if lo < prev || hi > tc.to || hi <= lo {
				t.Errorf("sliceOf(%d, %d, %d, %d) = [%d, %d)", tc.from, tc.to, k, tc.slots, lo, hi)
			}
			prev = lo
		}
		if _, hi := sliceOf(tc.from, tc.to, tc.slots-1, tc.slots); hi != tc.to {
			t.Errorf("the last of %d slices of [%d, %d) ends at %d", tc.slots, tc.from, tc.to, hi)
		}
	}
}

func TestRestampPadsShortTimestamps(t *testing.T) {
	// A range whose timestamps have 1 to 3 digits: fields are 3 wide.
	g := NewGenerator(5, 0, 500)
	var stamps []stamp
	body, _ := g.body(FormatAlidade, 0, 4, 50, &stamps)
	if len(stamps) != 50 {
		t.Fatalf("%d stamps; want 50", len(stamps))
	}
	g.restamp(body, stamps, 400, 500)
	pts := decodeBody(t, body)
	for i, p := range pts {
		if p.Timestamp < 400 || p.Timestamp >= 500 || (i > 0 && p.Timestamp < pts[i-1].Timestamp) {
			t.Fatalf("point %d: timestamp %d; want increasing in [400, 500)", i, p.Timestamp)
		}
	}
	g.restamp(body, stamps, 0, 10)
	if pts := decodeBody(t, body); pts[0].Timestamp != 0 || !bytes.HasPrefix(body, []byte(`{"timestamp":  0,`)) {
		t.Errorf("restamped to [0, 10): %.40s", body)
	}
}

func TestWorkload(t *testing.T) {
	g := NewGenerator(3, testFrom, testTo)
	ctx := context.Background()
	check := func(w *Workload, points int64, batch int) {
		t.Helper()
		wantReq := (points + int64(batch) - 1) / int64(batch)
		if w.Requests != wantReq {
			t.Fatalf("Requests = %d; want %d", w.Requests, wantReq)
		}
		var sum BodyStats
		for k := range w.Requests {
			b := w.Request(k)
			wantN := int64(batch)
			if k == w.Requests-1 && points%int64(batch) != 0 {
				wantN = points % int64(batch)
			}
			if b.Stats.Points != wantN {
				t.Fatalf("request %d has %d points; want %d", k, b.Stats.Points, wantN)
			}
			sum = sum.Add(b.Stats)
		}
		if sum.Points != points || sum.Errors5xx != w.Expected.Errors5xx || sum.Points != w.Expected.Points ||
			math.Abs(sum.LatencySum-w.Expected.LatencySum) > 1e-6*sum.LatencySum {
			t.Errorf("Expected = %+v; the requests sum to %+v", w.Expected, sum)
		}
	}

	// All distinct, with a shorter last request.
	w, err := NewWorkload(ctx, g, 25_500, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	check(w, 25_500, 1000)
	if w.DistinctBodies != 26 {
		t.Errorf("DistinctBodies = %d; want 26", w.DistinctBodies)
	}
	seen := map[string]bool{}
	var prevLast int64
	for k := range w.Requests {
		b := w.Request(k)
		if seen[string(b.Data)] {
			t.Fatalf("request %d repeats a body", k)
		}
		seen[string(b.Data)] = true
		// Replayed in order: each body's timestamps follow the previous one's.
		pts := decodeBody(t, b.Data)
		if pts[0].Timestamp < prevLast {
			t.Fatalf("request %d starts at %d, before the previous ended (%d)", k, pts[0].Timestamp, prevLast)
		}
		prevLast = pts[len(pts)-1].Timestamp
	}

	// Fewer points than a batch: one request.
	w, err = NewWorkload(ctx, g, 10, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	check(w, 10, 1000)

	// Beyond the distinct limit, a pool is reused round-robin, each use
	// moved to its request's slice of time: the run still replays the
	// range in order.
	defer func(old int64) { distinctPoints = old }(distinctPoints)
	distinctPoints = 5000
	w, err = NewWorkload(ctx, g, 20_300, 1000, true)
	if err != nil {
		t.Fatal(err)
	}
	check(w, 20_300, 1000)
	if w.DistinctBodies != 6 || !w.Restamped { // 5 pooled + the tail
		t.Errorf("DistinctBodies = %d, Restamped = %v; want 6, true", w.DistinctBodies, w.Restamped)
	}
	gunzip := func(b *Body) []genPoint {
		t.Helper()
		zr, err := gzip.NewReader(bytes.NewReader(b.Data))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return decodeBody(t, raw)
	}
	p0, p5, p1 := gunzip(w.Request(0)), gunzip(w.Request(5)), gunzip(w.Request(1))
	same := func(a, b []genPoint) bool {
		return slices.EqualFunc(a, b, func(x, y genPoint) bool {
			return x.Index == y.Index && slices.Equal(x.Blobs, y.Blobs) && slices.Equal(x.Doubles, y.Doubles)
		})
	}
	if !same(p0, p5) || same(p0, p1) {
		t.Error("the pool is not reused round-robin")
	}
	prevLast = 0
	for k := range w.Requests {
		pts := gunzip(w.Request(k))
		lo, hi := sliceOf(testFrom, testTo, k, w.Requests)
		for i, p := range pts {
			if p.Timestamp < lo || p.Timestamp >= hi || (i > 0 && p.Timestamp < pts[i-1].Timestamp) {
				t.Fatalf("request %d point %d: timestamp %d outside its slice [%d, %d) or out of order", k, i, p.Timestamp, lo, hi)
			}
		}
		if pts[0].Timestamp < prevLast {
			t.Fatalf("request %d starts at %d, before the previous ended (%d)", k, pts[0].Timestamp, prevLast)
		}
		prevLast = pts[len(pts)-1].Timestamp
	}
	// Gzipped bodies decompress to the NDJSON they count.
	for _, k := range []int64{0, w.Requests - 1} {
		b := w.Request(k)
		zr, err := gzip.NewReader(bytes.NewReader(b.Data))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != b.RawBytes || int64(len(decodeBody(t, raw))) != b.Stats.Points {
			t.Errorf("request %d: gunzipped %d bytes; want %d bytes of %d points", k, len(raw), b.RawBytes, b.Stats.Points)
		}
		if len(b.Data) >= b.RawBytes/3 {
			t.Errorf("request %d: gzip left %d of %d bytes", k, len(b.Data), b.RawBytes)
		}
	}
}
