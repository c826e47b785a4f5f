// Package tail owns the live tail (GET /api/v1/tail, `alidade tail`): the
// filters a tail asks for, the hub the ingest pipeline publishes every
// committed point to, and each tail's bounded buffer and sampling. A
// publish never blocks: a tail that reads too slowly is dropped, and one
// that is sent more than its rate is sampled and told so. With nobody
// tailing a publish costs one atomic load. It does not know HTTP, the
// store or keys: the server scopes each tail to its key's project.
package tail

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// Options configure a hub.
type Options struct {
	// MaxClients bounds the tails open at once per project.
	MaxClients int
	// MaxRate is how many records a second one tail is sent before the
	// hub samples its stream.
	MaxRate int
	// Buffer bounds the records and BufferBytes the memory waiting for
	// one tail's reader; past either the tail is dropped.
	Buffer      int
	BufferBytes int64
	// Schema names a dataset's fields (the store's Schema); nil means
	// positional names only.
	Schema func(project int64, dataset string) *point.Schema
	// Now is the clock that times sampling windows; nil means time.Now.
	Now func() time.Time
	// Seed seeds each tail's sampling (tests); 0 picks one at random.
	Seed uint64
}

// DefaultOptions returns 32 tails a project, 1,000 records a second a
// tail, and 4,096 records or 8 MB buffered a tail.
func DefaultOptions() Options {
	return Options{MaxClients: 32, MaxRate: 1000, Buffer: 4096, BufferBytes: 8 << 20}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.MaxClients < 1 {
		return fmt.Errorf("tail clients per project must be at least 1, got %d", o.MaxClients)
	}
	if o.MaxRate < 1 {
		return fmt.Errorf("tail rate must be at least 1 record a second, got %d", o.MaxRate)
	}
	if o.Buffer < 1 || o.BufferBytes < 1 {
		return fmt.Errorf("tail buffers must be positive, got %d records and %d bytes", o.Buffer, o.BufferBytes)
	}
	return nil
}

// Hub fans committed points out to the tails of their project.
type Hub struct {
	opts Options
	n    atomic.Int64 // open tails, all projects

	mu       sync.Mutex
	subs     atomic.Pointer[map[int64][]*Sub] // copied on write under mu
	onChange func()                           // under mu
}

// New makes a hub.
func New(opts Options) (*Hub, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Hub{opts: opts}
	h.subs.Store(&map[int64][]*Sub{})
	return h, nil
}

// Item is what a tail reads: a record, or a note that the hub samples
// the stream (Sampling).
type Item struct {
	Record   *Record
	Sampling *Sampling
}

// Sampling says which share of the records that match a tail it is sent,
// because more match than Options.MaxRate a second: Rate 1 says the
// sampling ended. The tail's own Filter.Sampling comes on top.
type Sampling struct {
	Rate float64
	// Matched estimates the records a second that matched the filter
	// (after the tail's own sampling) in the window that set Rate.
	Matched float64
}

// Sub is one tail.
type Sub struct {
	h       *Hub
	project int64
	f       Filter
	c       chan Item
	bytes   atomic.Int64
	dropped chan struct{}
	once    sync.Once
	why     atomic.Pointer[string]

	mu        sync.Mutex // held by a publisher
	rng       *rand.Rand
	cache     map[string]*matcher
	start     time.Time // of the window
	matched   float64   // estimated matches in the window at rate 1
	delivered int
	rate      float64 // load sampling
	skip      int     // points to skip before the next one examined
}

// C gives the tail's items; call Taken with each.
func (s *Sub) C() <-chan Item { return s.c }

// Taken releases an item's share of the tail's buffer.
func (s *Sub) Taken(it Item) {
	if it.Record != nil {
		s.bytes.Add(-it.Record.size())
	}
}

// Dropped is closed when the hub cut the tail off (Reason says why).
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Reason says why the tail was dropped.
func (s *Sub) Reason() string {
	if p := s.why.Load(); p != nil {
		return *p
	}
	return ""
}

// Close ends the tail.
func (s *Sub) Close() { s.h.remove(s) }

// Subscribe opens a tail of a project's records that pass f. It fails
// with ErrTooManyClients when the project has Options.MaxClients open.
func (h *Hub) Subscribe(project int64, f Filter) (*Sub, error) {
	if f.Sampling <= 0 || f.Sampling > 1 {
		f.Sampling = 1
	}
	seed := h.opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Sub{
		h: h, project: project, f: f,
		c:       make(chan Item, h.opts.Buffer),
		dropped: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(seed, uint64(project))),
		cache:   map[string]*matcher{},
		start:   h.opts.Now(),
		rate:    1,
	}
	h.mu.Lock()
	old := *h.subs.Load()
	if len(old[project]) >= h.opts.MaxClients {
		h.mu.Unlock()
		return nil, ErrTooManyClients
	}
	m := make(map[int64][]*Sub, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[project] = append(append([]*Sub(nil), old[project]...), s)
	h.subs.Store(&m)
	h.n.Add(1)
	fn := h.onChange
	h.mu.Unlock()
	if len(old[project]) == 0 && fn != nil {
		fn()
	}
	return s, nil
}

// Projects returns the projects with tails open, in no order.
func (h *Hub) Projects() []int64 {
	subs := *h.subs.Load()
	out := make([]int64, 0, len(subs))
	for p := range subs {
		out = append(out, p)
	}
	return out
}

// OnChange sets fn to be called when a project gets its first tail or
// loses its last (a cluster node then tells the others whether to
// forward it that project's points). fn is called without the hub's lock
// held, from the goroutine that subscribed or closed; it must return
// quickly.
func (h *Hub) OnChange(fn func()) {
	h.mu.Lock()
	h.onChange = fn
	h.mu.Unlock()
}

// Clients returns the tails open on a project.
func (h *Hub) Clients(project int64) int { return len((*h.subs.Load())[project]) }

func (h *Hub) remove(s *Sub) {
	h.mu.Lock()
	last, fn := h.removeLocked(s), h.onChange
	h.mu.Unlock()
	if last && fn != nil {
		fn()
	}
}

// removeLocked removes s under h.mu; true when it was its project's last
// tail.
func (h *Hub) removeLocked(s *Sub) bool {
	old := *h.subs.Load()
	list := old[s.project]
	i := -1
	for j, x := range list {
		if x == s {
			i = j
		}
	}
	if i < 0 {
		return false
	}
	m := make(map[int64][]*Sub, len(old))
	for k, v := range old {
		m[k] = v
	}
	rest := append(append([]*Sub(nil), list[:i]...), list[i+1:]...)
	if len(rest) == 0 {
		delete(m, s.project)
	} else {
		m[s.project] = rest
	}
	h.subs.Store(&m)
	h.n.Add(-1)
	return len(rest) == 0
}

// drop cuts a tail off: its reader is too slow.
func (s *Sub) drop(why string) {
	s.once.Do(func() {
		s.why.Store(&why)
		close(s.dropped)
	})
	s.h.remove(s)
}

// Publish sends committed batches to the tails of their projects; it fits
// ingest.Options.OnAppended (alongside the dashboard's live hub) and
// never blocks. It copies what it sends: the batches' memory is reused
// once the write is answered.
func (h *Hub) Publish(bs []store.Batch) {
	if h == nil || h.n.Load() == 0 {
		return
	}
	subs := *h.subs.Load()
	now := h.opts.Now()
	for i := range bs {
		b := &bs[i]
		for _, s := range subs[b.Project] {
			s.publish(b.Points, now)
		}
	}
}

// window is the span the hub counts a tail's matches over to set its
// sampling rate.
const window = time.Second

func (s *Sub) publish(pts []point.Point, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.dropped:
		return
	default:
	}
	maxRate := float64(s.h.opts.MaxRate)
	if d := now.Sub(s.start); d >= window {
		est := s.matched
		if d >= 2*window {
			est = 0 // a quiet window passed since
		}
		rate := rateFor(maxRate, est, s.rate)
		if rate != s.rate {
			s.rate = rate
			s.skip = 0
			if !s.send(Item{Sampling: &Sampling{Rate: rate, Matched: math.Round(est)}}) {
				return
			}
		}
		s.start, s.matched, s.delivered = now, 0, 0
		clear(s.cache) // schemas may have changed
	}
	p := s.rate * s.f.Sampling // the chance a point is looked at
	var m *matcher
	for i := range pts {
		pt := &pts[i]
		if p < 1 {
			if s.skip > 0 {
				s.skip--
				continue
			}
			s.skip = geometric(s.rng, p)
		}
		if m == nil || m.dataset != pt.Dataset {
			m = s.matcher(pt.Dataset)
		}
		if !m.match(pt) {
			continue
		}
		s.matched += 1 / s.rate
		if float64(s.delivered) >= 2*maxRate {
			continue // a burst within a window: the next one samples
		}
		s.delivered++
		if !s.send(Item{Record: newRecord(pt, m.schema)}) {
			return
		}
	}
}

func (s *Sub) matcher(dataset string) *matcher {
	if m := s.cache[dataset]; m != nil {
		return m
	}
	var sc *point.Schema
	if s.h.opts.Schema != nil {
		sc = s.h.opts.Schema(s.project, dataset)
	}
	m := s.f.compile(dataset, sc)
	m.dataset = dataset
	if len(s.cache) >= 1024 {
		clear(s.cache)
	}
	s.cache[dataset] = m
	return m
}

// send queues an item without waiting; a full buffer drops the tail.
func (s *Sub) send(it Item) bool {
	if it.Record != nil {
		if s.bytes.Add(it.Record.size()) > s.h.opts.BufferBytes {
			s.drop(fmt.Sprintf("the client read too slowly: more than %d bytes of records waited for it", s.h.opts.BufferBytes))
			return false
		}
	}
	select {
	case s.c <- it:
		return true
	default:
		s.drop(fmt.Sprintf("the client read too slowly: %d records waited for it", cap(s.c)))
		return false
	}
}

// rates are the sampling rates a tail steps through.
var rates = []float64{1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001}

// rateFor picks the sampling rate for a window after one with est
// matches (at rate 1): the current rate while it sends between 0.4 and
// 1.25 times maxRate, so that a stream near a step does not flip every
// window; otherwise the largest rate that sends at most maxRate.
func rateFor(maxRate, est, cur float64) float64 {
	if sent := cur * est; sent >= 0.4*maxRate && sent <= 1.25*maxRate || cur == 1 && sent <= 1.25*maxRate {
		return cur
	}
	for _, r := range rates {
		if r*est <= maxRate {
			return r
		}
	}
	return rates[len(rates)-1]
}

// geometric returns how many points to skip before the next one looked
// at, when each is looked at with chance p.
func geometric(r *rand.Rand, p float64) int {
	u := 1 - r.Float64() // (0, 1]
	n := math.Floor(math.Log(u) / math.Log1p(-p))
	if n > 1<<30 {
		return 1 << 30
	}
	return int(n)
}

// MaxRate is the records a second a tail is sent before it is sampled.
func (h *Hub) MaxRate() int { return h.opts.MaxRate }
