package errtrack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// gatedStore holds its first commit until the gate opens.
type gatedStore struct {
	*memStore
	gate    chan struct{}
	commits atomic.Int32
}

func (g *gatedStore) CommitErrors(ctx context.Context, c Commit) error {
	if g.commits.Add(1) == 1 {
		<-g.gate
	}
	return g.memStore.CommitErrors(ctx, c)
}

// The points of the requests grouped in one batch are written in one
// call, and a failed write reaches each of them as a PointsError while
// their events stay stored.
func TestRecordThenWritesABatchOnce(t *testing.T) {
	for _, fail := range []bool{false, true} {
		st := &gatedStore{memStore: newMemStore(), gate: make(chan struct{})}
		var calls atomic.Int32
		var got [][]PointWrite
		var mu sync.Mutex
		writeErr := errors.New("ingest queue is full")
		opts := DefaultOptions()
		opts.WritePoints = func(_ context.Context, w []PointWrite) error {
			calls.Add(1)
			mu.Lock()
			got = append(got, w)
			mu.Unlock()
			if fail {
				return writeErr
			}
			return nil
		}
		tr, err := New(context.Background(), st, opts)
		if err != nil {
			t.Fatal(err)
		}
		tr.Start()
		ctx := context.Background()
		// The first commit is held: the next requests queue behind it.
		first := make(chan error, 1)
		go func() { _, err := tr.Record(ctx, []*Incoming{incoming(t, 1, 1, `{"message":"first"}`)}); first <- err }()
		for st.commits.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		const n = 20
		errs := make([]error, n)
		outs := make([][]Outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				project := int64(1 + i%2)
				outs[i], errs[i] = tr.RecordThen(ctx, []*Incoming{incoming(t, project, 100+i, fmt.Sprintf(`{"message":"m %d"}`, i%3))},
					func(o []Outcome) PointWrite {
						return PointWrite{Project: project, Points: []point.Point{{Dataset: "errors", Timestamp: o[0].GroupID}}, Size: 10}
					})
			})
		}
		for {
			tr.mu.Lock()
			p := tr.pend
			tr.mu.Unlock()
			if p == n+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(st.gate)
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		tr.Close(ctx)
		if c := calls.Load(); c != 1 || len(got[0]) != n {
			t.Fatalf("fail=%v: %d point writes (first of %d requests); want 1 write of all %d", fail, c, len(got[0]), n)
		}
		for i := range n {
			var pe *PointsError
			switch {
			case fail && (!errors.As(errs[i], &pe) || !errors.Is(errs[i], writeErr)):
				t.Errorf("request %d: %v; want a PointsError", i, errs[i])
			case !fail && errs[i] != nil:
				t.Errorf("request %d: %v", i, errs[i])
			case len(outs[i]) != 1 || outs[i][0].GroupID == 0:
				t.Errorf("request %d: outcomes %+v; want its group even when points failed", i, outs[i])
			}
		}
		if len(st.events) != n+1 {
			t.Errorf("fail=%v: %d events stored; want %d", fail, len(st.events), n+1)
		}
	}
}
