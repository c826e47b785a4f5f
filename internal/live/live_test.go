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

func TestHubReportsProjects(t *testing.T) {
	h := NewHub()
	changes := 0
	h.OnChange(func() { changes++ })
	_, c1 := h.Subscribe(1)
	_, c2 := h.Subscribe(1)
	_, c3 := h.Subscribe(5)
	if got := sorted(h.Projects()); !slices.Equal(got, []int64{1, 5}) || changes != 2 {
		t.Fatalf("Projects = %v after %d changes; want [1 5] after 2 (first subscribers only)", got, changes)
	}
	c1()
	c1() // twice: no effect
	if got := sorted(h.Projects()); !slices.Equal(got, []int64{1, 5}) || changes != 2 {
		t.Fatalf("one of two subscribers left: Projects = %v after %d changes; want [1 5] after 2", got, changes)
	}
	c2()
	c3()
	if got := h.Projects(); len(got) != 0 || changes != 4 {
		t.Fatalf("all left: Projects = %v after %d changes; want none after 4", got, changes)
	}
}

func sorted(ps []int64) []int64 {
	slices.Sort(ps)
	return ps
}
