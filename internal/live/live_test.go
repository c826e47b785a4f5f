package live

import (
	"slices"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

func TestHubCoalescesByProject(t *testing.T) {
	h := NewHub()
	a, cancelA := h.Subscribe(1)
	b, cancelB := h.Subscribe(2)
	defer cancelB()
	h.PublishBatches([]store.Batch{
		{Project: 1, Points: []point.Point{{Dataset: "requests"}, {Dataset: "errors"}}},
		{Project: 1, Points: []point.Point{{Dataset: "requests"}}},
	})
	h.Publish(1, "ai_usage")
	select {
	case <-a.C:
	default:
		t.Fatal("project 1's subscriber was not signalled")
	}
	if got := a.Take(); !slices.Equal(got, []string{"ai_usage", "errors", "requests"}) {
		t.Errorf("Take = %v", got)
	}
	if got := a.Take(); len(got) != 0 {
		t.Errorf("second Take = %v; want nothing", got)
	}
	select {
	case <-b.C:
		t.Error("project 2's subscriber was told of project 1's writes")
	default:
	}
	cancelA()
	h.Publish(1, "requests") // nobody listens: nothing blocks
	if len(h.subs) != 1 {
		t.Errorf("subs after cancel = %d projects", len(h.subs))
	}
}
