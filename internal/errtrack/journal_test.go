package errtrack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// pointsSink stands for the planner's AppendAtLog and LoadedPositionsOf:
// it keeps the points loaded and each day's position, and can fail the
// days from a given one on (a partial commit).
type pointsSink struct {
	mu       sync.Mutex
	points   []point.Point
	pos      map[int64]store.LogPos
	failFrom int64 // days at or after it fail; 0: none
	calls    int
}

func newPointsSink() *pointsSink { return &pointsSink{pos: map[int64]store.LogPos{}} }

func (s *pointsSink) load(_ context.Context, bs []store.Batch, pos store.LogPos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	byDay := map[int64][]point.Point{}
	for _, b := range bs {
		for _, p := range b.Points {
			d := store.DayStart(p.Timestamp)
			byDay[d] = append(byDay[d], p)
		}
	}
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		if s.failFrom != 0 && d >= s.failFrom {
			return errors.New("day file on fire")
		}
		s.points = append(s.points, byDay[d]...)
		s.pos[d] = pos
	}
	return nil
}

func (s *pointsSink) loaded(context.Context) (map[int64]store.LogPos, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]store.LogPos{}
	for d, p := range s.pos {
		out[d] = p
	}
	return out, nil
}

func journalOptions(t *testing.T, dir string, sink *pointsSink) (Options, *wal.Log) {
	t.Helper()
	lg, err := wal.Open(wal.Options{Dir: dir, Opaque: true, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Journal, opts.LoadPoints, opts.PointsLoaded = lg, sink.load, sink.loaded
	return opts, lg
}

// eventPoint is the point a request of the test writes per event: on the
// day of its number (so that a load spans days), naming its group.
func eventPoints(project int64, days ...int) func([]Outcome) PointWrite {
	return func(o []Outcome) PointWrite {
		pw := PointWrite{Project: project}
		for i, oc := range o {
			pw.Points = append(pw.Points, point.Point{Dataset: "errors", Timestamp: 1_800_000_000_000 + int64(days[i])*store.DayMs,
				Blobs: []string{fmt.Sprint(oc.GroupID)}})
		}
		return pw
	}
}

// TestJournalAcknowledgesThenLoads: with a journal, events and their
// points are acknowledged once journaled and reach the store behind;
// reads wait for them; the store's mark and the day positions follow.
func TestJournalAcknowledgesThenLoads(t *testing.T) {
	st, sink := newMemStore(), newPointsSink()
	opts, lg := journalOptions(t, t.TempDir(), sink)
	defer lg.Close()
	tr, err := New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			in := incoming(t, 1, i+1, fmt.Sprintf(`{"message":"boom %c","user":{"id":"u%d"}}`, 'a'+i%5, i))
			if _, err := tr.RecordThen(ctx, []*Incoming{in}, eventPoints(1, i%3)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	gs, err := tr.Groups(ctx, 1, GroupFilter{})
	if err != nil || len(gs) != 5 {
		t.Fatalf("groups = %d, %v; want 5 (the read waits for the loader)", len(gs), err)
	}
	total, users := int64(0), int64(0)
	for _, g := range gs {
		total += g.Count
		users += g.Users.Count()
	}
	if total != 50 || users != 50 {
		t.Errorf("counts %d, users %d; want 50 and 50", total, users)
	}
	tr.WaitLoaded(ctx)
	sink.mu.Lock()
	if len(sink.points) != 50 || len(sink.pos) != 3 {
		t.Errorf("%d points in %d days; want 50 in 3", len(sink.points), len(sink.pos))
	}
	sink.mu.Unlock()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := st.ErrorsLoaded(ctx); m != lg.End() {
		t.Errorf("the store's mark %v; want the journal's end %v", m, lg.End())
	}
}

// TestJournalReplaysExactlyOnce: what a stopped loader left in the
// journal is loaded at the next start, each event and point once, with
// the users the unloaded commits added to groups already stored; a
// partial load of points does not load its days twice.
func TestJournalReplaysExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	st, sink := newMemStore(), newPointsSink()
	opts, lg := journalOptions(t, dir, sink)
	tr, err := New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	ctx := context.Background()
	ev := func(n int, user string) *Incoming {
		return incoming(t, 1, n, fmt.Sprintf(`{"message":"boom","user":{"id":%q}}`, user))
	}
	// Loaded: a group with two users.
	for i := range 2 {
		if _, err := tr.RecordThen(ctx, []*Incoming{ev(i+1, fmt.Sprint("u", i))}, eventPoints(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	tr.WaitLoaded(ctx)
	// Now the store fails: acknowledged commits stay in the journal; a
	// resolve too; the points of day 2 fail after day 1's are stored.
	st.mu.Lock()
	st.fail = errors.New("disk on fire")
	st.mu.Unlock()
	sink.mu.Lock()
	sink.failFrom = 1_800_000_000_000 + 2*store.DayMs - store.DayMs/2
	sink.mu.Unlock()
	var gid int64
	for i := 2; i < 6; i++ {
		o, err := tr.RecordThen(ctx, []*Incoming{ev(i+1, fmt.Sprint("u", i))}, eventPoints(1, 1+i%2))
		if err != nil {
			t.Fatal(err)
		}
		gid = o[0].GroupID
	}
	if _, err := tr.SetStatus(ctx, 1, gid, StatusResolved); err != nil {
		t.Fatal(err)
	}
	// Close gives up on the failing store; the journal keeps the rest.
	cctx, cancel := context.WithCancel(ctx)
	closing := tr // tr is the next tracker below, while this goroutine may still run
	go func() { closing.WaitLoaded(ctx); cancel() }()
	_ = closing.Close(cctx)
	lg.Close()
	if g, _ := st.ErrorGroup(ctx, 1, gid); g == nil || g.Count != 2 {
		t.Fatalf("before the restart the store has %+v; want the first 2 events only", g)
	}
	sink.mu.Lock()
	day1 := len(sink.points)
	sink.failFrom = 0
	sink.mu.Unlock()

	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	opts, lg = journalOptions(t, dir, sink)
	defer lg.Close()
	tr, err = New(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	defer tr.Close(ctx)
	g, err := tr.GroupByID(ctx, 1, gid)
	if err != nil || g.Count != 6 || g.Users.Count() != 6 || g.Status != StatusResolved {
		t.Fatalf("after the replay: %+v, %v; want 6 events of 6 users, resolved", g, err)
	}
	if len(st.events) != 6 {
		t.Errorf("%d events stored; want 6, each once", len(st.events))
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.points) != 6 {
		t.Errorf("%d points loaded (%d before the restart); want 6, each once", len(sink.points), day1)
	}
	// A new event after the replay joins the group.
	if o, err := tr.Record(ctx, []*Incoming{ev(40, "u9")}); err != nil || o[0].GroupID != gid {
		t.Errorf("after the replay: %+v, %v", o, err)
	}
}

// TestJournalRecordRoundTrip: a record decodes to the commit encoded,
// with a changed group's users as the hashes added.
func TestJournalRecordRoundTrip(t *testing.T) {
	g := &Group{ID: 7, Project: 3, Fingerprint: "fp", Grouping: "v1", Title: "T", Culprit: "c", Type: "E", Level: "error", Platform: "go",
		Status: StatusResolved, FirstSeen: 1, LastSeen: 2, Count: 3, Releases: []string{"1.1", "1.0"}, Environments: []string{"prod"},
		FirstRelease: "1.0", LastRelease: "1.1", ResolvedAt: 5, ResolvedRelease: "1.0", Regressed: true, RegressedAt: 6,
		RegressedRelease: "1.1", Regressions: 1, StatusChanged: 6, LastEventID: "abc"}
	g.Users.Add(11)
	c := g.Clone()
	c.observe(incoming(t, 3, 9, `{"message":"m","user":{"id":"x"}}`), 10)
	n := &Group{ID: 8, Project: 3, Fingerprint: "new"}
	n.Users.Add(99)
	commit := Commit{New: []*Group{n}, Changed: []*Group{c},
		Events:      []StoredEvent{{Project: 3, EventID: "e1", GroupID: 7, Timestamp: 9, Received: 10, Level: "error", Release: "1.1", Environment: "prod", User: "x", Title: "m", Payload: []byte{1, 2}, Size: 40}},
		Attachments: []Attachment{{Project: 3, EventID: "e1", Received: 10, Filename: "a.txt", ContentType: "text/plain", AttachmentType: "event.attachment", Size: 3, Data: []byte("abc")}}}
	pts := []store.Batch{{Project: 3, Points: []point.Point{{Dataset: "errors", Timestamp: 9, Blobs: []string{"7"}, Doubles: []float64{1}}}}}
	rec, err := decodeJournalRecord(appendJournalRecord(nil, &commit, pts))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.groups) != 2 || !rec.groups[0].isNew || !rec.groups[0].full || rec.groups[0].g.Users.Count() != 1 {
		t.Fatalf("new group = %+v", rec.groups[0])
	}
	jg := rec.groups[1]
	if jg.isNew || jg.full || len(jg.added) != 1 || jg.added[0] != UserHash("id:x") && jg.added[0] != UserHash("x") {
		t.Errorf("changed group's users = %+v", jg)
	}
	got := *jg.g
	got.Users, got.usersAdded, got.usersKnown = c.Users, c.usersAdded, c.usersKnown
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", *c) {
		t.Errorf("changed group\n got %+v\nwant %+v", got, *c)
	}
	if fmt.Sprintf("%+v", rec.events) != fmt.Sprintf("%+v", commit.Events) || fmt.Sprintf("%+v", rec.attachments) != fmt.Sprintf("%+v", commit.Attachments) {
		t.Errorf("events/attachments = %+v %+v", rec.events, rec.attachments)
	}
	if len(rec.points) != 1 || fmt.Sprintf("%+v", rec.points[0].Points) != fmt.Sprintf("%+v", pts[0].Points) {
		t.Errorf("points = %+v", rec.points)
	}
	// Damage is an error, never a panic.
	b := appendJournalRecord(nil, &commit, pts)
	for i := range len(b) {
		if _, err := decodeJournalRecord(b[:i]); err == nil {
			t.Fatalf("a record cut at %d of %d decoded", i, len(b))
		}
	}
}

func FuzzJournalRecord(f *testing.F) {
	g := &Group{ID: 1, Project: 1, Fingerprint: "f", Releases: []string{"r"}}
	g.Users.Add(5)
	c := g.Clone()
	c.usersAdded = []uint64{6}
	f.Add(appendJournalRecord(nil, &Commit{New: []*Group{g}, Changed: []*Group{c}, Events: []StoredEvent{{EventID: "e", Payload: []byte("p")}}},
		[]store.Batch{{Project: 1, Points: []point.Point{{Dataset: "errors", Timestamp: 1}}}}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeJournalRecord(b)
		if err != nil {
			return
		}
		// What decodes encodes again to a record that decodes the same.
		var cm Commit
		for _, jg := range rec.groups {
			if jg.isNew {
				cm.New = append(cm.New, jg.g)
			} else {
				cm.Changed = append(cm.Changed, jg.g)
			}
		}
		cm.Events, cm.Attachments = rec.events, rec.attachments
		if _, err := decodeJournalRecord(appendJournalRecord(nil, &cm, rec.points)); err != nil {
			t.Fatalf("re-encoded record: %v", err)
		}
	})
}
