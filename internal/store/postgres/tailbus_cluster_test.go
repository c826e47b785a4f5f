//go:build cluster

package postgres

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/store"
)

// busNode is a store with a running bus whose watched projects the test
// sets and whose deliveries it reads.
type busNode struct {
	bus   *Bus
	mu    sync.Mutex
	local []int64
	got   chan store.Batch
}

func (srv *server) busNode(t *testing.T, url string, opts BusOptions) *busNode {
	t.Helper()
	s := srv.closeAtEnd(t, srv.open(t, url))
	n := &busNode{got: make(chan store.Batch, 10_000)}
	opts.Deliver = func(bs []store.Batch) {
		for _, b := range bs {
			n.got <- b
		}
	}
	opts.Local = func() []int64 {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.local
	}
	var err error
	if n.bus, err = s.StartBus(opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.bus.Close)
	if _, err := s.StartBus(opts); err == nil {
		t.Fatal("a second bus on one store started; want an error")
	}
	return n
}

func (n *busNode) watch(projects ...int64) {
	n.mu.Lock()
	n.local = projects
	n.mu.Unlock()
	n.bus.LocalChanged()
}

// quiet checks that nothing arrives for d.
func (n *busNode) quiet(t *testing.T, d time.Duration, what string) {
	t.Helper()
	select {
	case b := <-n.got:
		t.Fatalf("%s: %d points of project %d arrived; want none", what, len(b.Points), b.Project)
	case <-time.After(d):
	}
}

func (srv *server) testTailBus(t *testing.T) {
	url := srv.database(t)
	opts := BusOptions{MaxRate: 1000, Announce: 200 * time.Millisecond, TTL: time.Second}
	a, b := srv.busNode(t, url, opts), srv.busNode(t, url, opts)
	pts := requestPoints(300, 50)

	// Nobody watches: A sends nothing.
	a.watch(7) // A's own subscribers do not make A forward
	for range 5 {
		a.bus.Publish([]store.Batch{{Project: 7, Points: pts}})
		time.Sleep(50 * time.Millisecond)
	}
	if st := a.bus.Stats(); st.Notifications != 0 || st.Forwarded != 0 {
		t.Fatalf("with no other node watching, A sent %+v; want nothing", st)
	}
	b.quiet(t, 100*time.Millisecond, "nobody watching")

	// B watches project 7: A's points reach B within moments, A's own
	// listener skips them, and project 8's stay home.
	b.watch(7)
	start := time.Now()
	var first store.Batch
	for first.Points == nil {
		a.bus.Publish([]store.Batch{{Project: 8, Points: pts}, {Project: 7, Points: pts[:1]}})
		select {
		case first = <-b.got:
		case <-time.After(20 * time.Millisecond):
			if time.Since(start) > 2*time.Second {
				t.Fatalf("B watched project 7 for 2 s and got none of A's points; A: %+v", a.bus.Stats())
			}
		}
	}
	t.Logf("B's interest reached A and A's first point reached B in %v", time.Since(start).Round(time.Millisecond))
	if first.Project != 7 || !reflect.DeepEqual(first.Points, pts[:1]) {
		t.Fatalf("B got project %d %+v; want project 7's point as A published it", first.Project, first.Points)
	}
	for len(b.got) > 0 {
		<-b.got
	}
	time.Sleep(300 * time.Millisecond) // the rate window of the first burst passes
	for len(b.got) > 0 {
		<-b.got
	}
	if len(a.got) != 0 {
		t.Fatalf("A delivered %d batches of its own points to itself; want none", len(a.got))
	}

	// The cost: 5,000 points a second for two seconds, bounded to 1,000
	// a second at A.
	before := a.bus.Stats()
	recv := b.bus.Stats().Received
	start = time.Now()
	for i := range 20 {
		a.bus.Publish([]store.Batch{{Project: 7, Points: requestPoints(500, 50)}})
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 100 * time.Millisecond)))
	}
	elapsed := time.Since(start).Seconds()
	time.Sleep(300 * time.Millisecond)
	st := a.bus.Stats()
	fwd, notes, bytes := st.Forwarded-before.Forwarded, st.Notifications-before.Notifications, st.Bytes-before.Bytes
	t.Logf("5,000 points/s published, bound 1,000/s: %.0f points/s forwarded in %.0f notifications/s, %.0f KB/s; %d sampled away",
		float64(fwd)/elapsed, float64(notes)/elapsed, float64(bytes)/elapsed/1024, st.Sampled-before.Sampled)
	if fwd > 2*1000*3 || fwd < 1000 {
		t.Errorf("forwarded %d points in %.1f s at a bound of 1,000 a second", fwd, elapsed)
	}
	if got := b.bus.Stats().Received - recv; got != fwd || st.Dropped != 0 {
		t.Errorf("B received %d points; A forwarded %d, dropped %d", got, fwd, st.Dropped)
	}
	for len(b.got) > 0 {
		<-b.got
	}

	// B's last subscriber leaves: A stops at once. B watching again and
	// then gone without a word (closed): A stops after the TTL.
	b.watch()
	time.Sleep(200 * time.Millisecond)
	n := a.bus.Stats().Notifications
	a.bus.Publish([]store.Batch{{Project: 7, Points: pts}})
	time.Sleep(100 * time.Millisecond)
	if st := a.bus.Stats(); st.Notifications != n {
		t.Fatalf("after B's interest ended A sent %d notifications more; want none", st.Notifications-n)
	}
	b.watch(7)
	time.Sleep(300 * time.Millisecond)
	b.bus.Close()
	a.bus.Publish([]store.Batch{{Project: 7, Points: pts[:1]}})
	time.Sleep(100 * time.Millisecond)
	n = a.bus.Stats().Notifications
	if n == 0 {
		t.Fatal("A did not forward to B watching again")
	}
	time.Sleep(opts.TTL + 100*time.Millisecond)
	a.bus.Publish([]store.Batch{{Project: 7, Points: pts[:1]}})
	time.Sleep(100 * time.Millisecond)
	if st := a.bus.Stats(); st.Notifications != n {
		t.Fatalf("a TTL after B's last announcement A sent %d notifications more; want none", st.Notifications-n)
	}
}
