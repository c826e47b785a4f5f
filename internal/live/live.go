// Package live tells watchers which datasets of a project just changed:
// the ingest pipeline publishes every commit, and each subscriber (a
// dashboard's SSE stream) gets the datasets changed since it last read,
// coalesced, so a burst of commits costs one notification and a slow
// reader never blocks a writer.
package live

import (
	"slices"
	"sync"

	"github.com/alidade/alidade/internal/store"
)

// Hub fans changes out to subscribers by project.
type Hub struct {
	mu       sync.Mutex
	subs     map[int64]map[*Sub]struct{}
	onChange func()
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int64]map[*Sub]struct{}{}} }

// Sub is one subscriber: C gets a value when datasets changed; Take says
// which.
type Sub struct {
	C       chan struct{}
	mu      sync.Mutex
	pending map[string]struct{}
}

// Take returns the datasets changed since the last Take, sorted.
func (s *Sub) Take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pending))
	for d := range s.pending {
		out = append(out, d)
	}
	clear(s.pending)
	slices.Sort(out)
	return out
}

// maxPending bounds the datasets a subscriber remembers (more: it is told
// of those).
const maxPending = 256

// Subscribe watches a project until cancel is called.
func (h *Hub) Subscribe(project int64) (s *Sub, cancel func()) {
	s = &Sub{C: make(chan struct{}, 1), pending: map[string]struct{}{}}
	h.mu.Lock()
	first := h.subs[project] == nil
	if first {
		h.subs[project] = map[*Sub]struct{}{}
	}
	h.subs[project][s] = struct{}{}
	fn := h.onChange
	h.mu.Unlock()
	if first && fn != nil {
		fn()
	}
	var once sync.Once
	return s, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[project], s)
			last := len(h.subs[project]) == 0
			if last {
				delete(h.subs, project)
			}
			fn := h.onChange
			h.mu.Unlock()
			if last && fn != nil {
				fn()
			}
		})
	}
}

// Projects returns the projects that have subscribers, in no order.
func (h *Hub) Projects() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]int64, 0, len(h.subs))
	for p := range h.subs {
		out = append(out, p)
	}
	return out
}

// OnChange sets fn to be called when a project gets its first subscriber
// or loses its last (a cluster node then tells the others whether to
// forward it that project's points). fn is called without the hub's lock
// held, from the goroutine that subscribed or cancelled; it must return
// quickly.
func (h *Hub) OnChange(fn func()) {
	h.mu.Lock()
	h.onChange = fn
	h.mu.Unlock()
}

// Publish says a project's datasets changed.
func (h *Hub) Publish(project int64, datasets ...string) {
	if h == nil || len(datasets) == 0 {
		return
	}
	h.mu.Lock()
	subs := make([]*Sub, 0, len(h.subs[project]))
	for s := range h.subs[project] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		for _, d := range datasets {
			if len(s.pending) < maxPending {
				s.pending[d] = struct{}{}
			}
		}
		s.mu.Unlock()
		select {
		case s.C <- struct{}{}:
		default: // already signalled
		}
	}
}

// PublishBatches publishes what committed batches wrote; it fits
// ingest.Options.OnAppended.
func (h *Hub) PublishBatches(bs []store.Batch) {
	if h == nil {
		return
	}
	h.mu.Lock()
	watched := len(h.subs) > 0
	h.mu.Unlock()
	if !watched {
		return
	}
	byProject := map[int64]map[string]struct{}{}
	for _, b := range bs {
		m := byProject[b.Project]
		if m == nil {
			m = map[string]struct{}{}
			byProject[b.Project] = m
		}
		for i := range b.Points {
			m[b.Points[i].Dataset] = struct{}{}
		}
	}
	for p, m := range byProject {
		ds := make([]string, 0, len(m))
		for d := range m {
			ds = append(ds, d)
		}
		h.Publish(p, ds...)
	}
}
