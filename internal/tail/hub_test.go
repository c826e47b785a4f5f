package tail

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newHub(t *testing.T, edit func(*Options)) (*Hub, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	o := DefaultOptions()
	o.Now, o.Seed = clk.now, 42
	o.Schema = func(_ int64, ds string) *point.Schema { return point.Builtin(ds) }
	if edit != nil {
		edit(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h, clk
}

// drain takes what a tail has queued.
func drain(s *Sub) (recs []*Record, notes []*Sampling) {
	for {
		select {
		case it := <-s.C():
			s.Taken(it)
			if it.Record != nil {
				recs = append(recs, it.Record)
			} else {
				notes = append(notes, it.Sampling)
			}
		default:
			return recs, notes
		}
	}
}

func batch(project int64, pts ...point.Point) []store.Batch {
	return []store.Batch{{Project: project, Points: pts}}
}

func TestHubScopesToProjectAndFilters(t *testing.T) {
	h, _ := newHub(t, nil)
	h.Publish(batch(1, req("GET", "/a", 200))) // nobody tails: nothing happens
	all, err := h.Subscribe(1, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	errs, _ := h.Subscribe(1, Filter{Status: "error"})
	defer errs.Close()
	other, _ := h.Subscribe(2, Filter{})
	defer other.Close()

	p := req("GET", "/a", 500)
	h.Publish(batch(1, req("GET", "/b", 200), p))
	p.Blobs[0] = "changed" // the write's memory is reused after the ack
	if recs, _ := drain(all); len(recs) != 2 || recs[1].Blobs[0] != "/a" {
		t.Errorf("project 1's tail got %d records (%v); want both, copied", len(recs), recs)
	}
	if recs, _ := drain(errs); len(recs) != 1 || recs[0].Doubles[1] != 500 {
		t.Errorf("the status=error tail got %v; want the 500 only", recs)
	}
	if recs, _ := drain(other); len(recs) != 0 {
		t.Errorf("project 2's tail got %d records of project 1", len(recs))
	}
}

func TestHubBoundsClients(t *testing.T) {
	h, _ := newHub(t, func(o *Options) { o.MaxClients = 2 })
	a, _ := h.Subscribe(1, Filter{})
	if _, err := h.Subscribe(1, Filter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(1, Filter{}); !errors.Is(err, ErrTooManyClients) {
		t.Errorf("third Subscribe = %v; want ErrTooManyClients", err)
	}
	if _, err := h.Subscribe(2, Filter{}); err != nil {
		t.Errorf("another project's Subscribe = %v; want its own bound", err)
	}
	a.Close()
	a.Close()
	if _, err := h.Subscribe(1, Filter{}); err != nil {
		t.Errorf("Subscribe after a Close = %v", err)
	}
	if n := h.Clients(1); n != 2 {
		t.Errorf("Clients = %d; want 2", n)
	}
}

// A tail that does not read is dropped once its buffer fills; Publish
// never waits for it, and the others still get everything.
func TestHubDropsSlowTail(t *testing.T) {
	h, _ := newHub(t, func(o *Options) { o.Buffer = 10 })
	slow, _ := h.Subscribe(1, Filter{})
	defer slow.Close()
	fast, _ := h.Subscribe(1, Filter{})
	defer fast.Close()
	got := 0
	for range 30 {
		h.Publish(batch(1, req("GET", "/a", 200)))
		recs, _ := drain(fast)
		got += len(recs)
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("the tail that never read was not dropped")
	}
	if !strings.Contains(slow.Reason(), "too slowly") {
		t.Errorf("Reason = %q", slow.Reason())
	}
	if got != 30 {
		t.Errorf("the reading tail got %d records; want 30", got)
	}
	if n := h.Clients(1); n != 1 {
		t.Errorf("Clients after the drop = %d; want 1", n)
	}
}

func TestHubDropsOnBytes(t *testing.T) {
	h, _ := newHub(t, func(o *Options) { o.BufferBytes = 4096 })
	s, _ := h.Subscribe(1, Filter{})
	defer s.Close()
	big := req("GET", strings.Repeat("x", 3000), 200)
	h.Publish(batch(1, big))
	h.Publish(batch(1, big))
	select {
	case <-s.Dropped():
	default:
		t.Fatal("a tail holding more than BufferBytes was not dropped")
	}
}

// Past MaxRate matches a second a tail is sampled and told so; when the
// load falls it is told the sampling ended.
func TestHubSamplesUnderLoad(t *testing.T) {
	h, clk := newHub(t, func(o *Options) { o.MaxRate = 100 })
	s, _ := h.Subscribe(1, Filter{Datasets: []string{"requests"}})
	defer s.Close()
	pts := make([]point.Point, 1000)
	for i := range pts {
		pts[i] = req("GET", "/a", 200)
	}
	noise := make([]point.Point, 5000)
	for i := range noise {
		noise[i] = point.Point{Dataset: "pageviews", Index: "/"}
	}
	// Window 1: 1,000 matches; a burst is capped at twice the rate.
	h.Publish(batch(1, pts...))
	h.Publish(batch(1, noise...))
	recs, notes := drain(s)
	if len(recs) != 200 || len(notes) != 0 {
		t.Fatalf("window 1: %d records, %d notes; want 200 records, no note", len(recs), len(notes))
	}
	// Window 2: sampled at 0.1 (100 of 1,000), and told.
	for range 5 {
		clk.advance(time.Second)
		h.Publish(batch(1, pts...))
		recs, notes = drain(s)
		if len(notes) > 0 {
			break
		}
	}
	if len(notes) != 1 || notes[0].Rate != 0.1 || notes[0].Matched != 1000 {
		t.Fatalf("window 2 notes = %+v; want one at rate 0.1 for 1000 matches", notes)
	}
	if len(recs) < 50 || len(recs) > 150 {
		t.Errorf("window 2: %d records; want about 100", len(recs))
	}
	// Window 3 at the same load: no new note.
	clk.advance(time.Second)
	h.Publish(batch(1, pts...))
	if _, notes = drain(s); len(notes) != 0 {
		t.Errorf("steady load: notes %+v; want none", notes)
	}
	// A quiet spell: the next record comes with the end of sampling.
	clk.advance(3 * time.Second)
	h.Publish(batch(1, pts[:10]...))
	recs, notes = drain(s)
	if len(notes) != 1 || notes[0].Rate != 1 || len(recs) != 10 {
		t.Errorf("after a quiet spell: notes %+v, %d records; want rate 1 and all 10", notes, len(recs))
	}
}

// The tail's own sampling keeps about its share.
func TestHubClientSampling(t *testing.T) {
	h, _ := newHub(t, nil)
	s, _ := h.Subscribe(1, Filter{Sampling: 0.1})
	defer s.Close()
	pts := make([]point.Point, 1000)
	for i := range pts {
		pts[i] = req("GET", "/a", 200)
	}
	h.Publish(batch(1, pts...))
	recs, notes := drain(s)
	if len(recs) < 60 || len(recs) > 140 || len(notes) != 0 {
		t.Errorf("sampling=0.1 of 1000: %d records, notes %v; want about 100, no note", len(recs), notes)
	}
}

func TestRateFor(t *testing.T) {
	for _, tc := range []struct{ est, cur, want float64 }{
		{0, 1, 1}, {1000, 1, 1}, {1200, 1, 1}, {1300, 1, 0.5}, {10000, 1, 0.1}, {15000, 1, 0.05}, {0, 0.1, 1},
		{1e12, 1, 0.0001}, {1900, 0.5, 0.5}, {1100, 0.5, 0.5}, {700, 0.5, 1}, {900, 0.5, 0.5},
	} {
		if got := rateFor(1000, tc.est, tc.cur); got != tc.want {
			t.Errorf("rateFor(1000, %v, %v) = %v; want %v", tc.est, tc.cur, got, tc.want)
		}
	}
}

// BenchmarkPublishNobodyTails is what every commit pays with no tail open.
func BenchmarkPublishNobodyTails(b *testing.B) {
	h, _ := New(DefaultOptions())
	bs := batch(1, req("GET", "/a", 200))
	b.ReportAllocs()
	for b.Loop() {
		h.Publish(bs)
	}
}

// Two committers publish while tails open, read, close and get dropped
// (run with -race).
func TestHubConcurrent(t *testing.T) {
	h, _ := newHub(t, func(o *Options) { o.Buffer, o.Now = 8, time.Now })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					h.Publish(batch(1, req("GET", "/a", 500), req("POST", "/b", 200)))
				}
			}
		})
	}
	for i := range 200 {
		s, err := h.Subscribe(1, Filter{Status: "error"})
		if err != nil {
			continue
		}
		if i%2 == 0 {
			for range 4 {
				select {
				case it := <-s.C():
					s.Taken(it)
				case <-s.Dropped():
				}
			}
		}
		s.Close()
	}
	close(stop)
	wg.Wait()
	if n := h.Clients(1); n != 0 {
		t.Errorf("Clients after every Close = %d", n)
	}
}

func TestHubReportsProjects(t *testing.T) {
	h, _ := newHub(t, func(o *Options) { o.Buffer = 1 })
	changes := 0
	h.OnChange(func() { changes++ })
	a, _ := h.Subscribe(1, Filter{})
	b, _ := h.Subscribe(1, Filter{})
	c, _ := h.Subscribe(5, Filter{})
	got := h.Projects()
	slices.Sort(got)
	if !slices.Equal(got, []int64{1, 5}) || changes != 2 {
		t.Fatalf("Projects = %v after %d changes; want [1 5] after 2 (first tails only)", got, changes)
	}
	a.Close()
	b.Close()
	if got := h.Projects(); !slices.Equal(got, []int64{5}) || changes != 3 {
		t.Fatalf("project 1's tails closed: Projects = %v after %d changes; want [5] after 3", got, changes)
	}
	// A tail dropped for reading too slowly counts as gone too.
	h.Publish([]store.Batch{{Project: 5, Points: []point.Point{{Dataset: "requests"}, {Dataset: "requests"}}}})
	<-c.Dropped()
	if got := h.Projects(); len(got) != 0 || changes != 4 {
		t.Fatalf("the last tail dropped: Projects = %v after %d changes; want none after 4", got, changes)
	}
}
