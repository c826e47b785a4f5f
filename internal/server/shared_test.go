package server

import (
	"testing"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/pricing"
)

// TestApplyMetaChangeDropsCaches: another node's change of a project's
// setting drops this node's copy of it (and only it); a resync drops all.
func TestApplyMetaChangeDropsCaches(t *testing.T) {
	s := &Server{origins: newOrigins(nil), errLimits: newErrorRateLimits(nil), pricing: pricing.NewRegistry(nil, nil)}
	fill := func() {
		for _, p := range []int64{3, 4} {
			s.origins.lists[p] = []string{"https://a.example"}
			s.errLimits.limits[p] = nil
		}
	}
	fill()
	s.ApplyMetaChange(meta.Change{Kind: meta.ChangeSetting, Name: "allowed_origins/3"})
	if _, ok := s.origins.lists[3]; ok {
		t.Error("project 3's origins kept after its setting changed elsewhere")
	}
	if _, ok := s.origins.lists[4]; !ok {
		t.Error("project 4's origins dropped by project 3's change")
	}
	if _, ok := s.errLimits.limits[3]; !ok {
		t.Error("project 3's error rate limit dropped by an origins change")
	}
	s.ApplyMetaChange(meta.Change{Kind: meta.ChangeSetting, Name: "error_rate_limit/4"})
	if _, ok := s.errLimits.limits[4]; ok {
		t.Error("project 4's error rate limit kept after its setting changed elsewhere")
	}
	// Names that are not a project's setting change nothing.
	fill()
	for _, name := range []string{"root_key_sha256", "allowed_origins/x", "allowed_origins/0", "allowed_origins/-3"} {
		s.ApplyMetaChange(meta.Change{Kind: meta.ChangeSetting, Name: name})
	}
	if len(s.origins.lists) != 2 || len(s.errLimits.limits) != 2 {
		t.Errorf("other settings dropped caches: %v %v", s.origins.lists, s.errLimits.limits)
	}
	s.ApplyMetaChange(meta.Change{Kind: meta.ChangeResync})
	if len(s.origins.lists) != 0 || len(s.errLimits.limits) != 0 {
		t.Errorf("a resync kept %v %v", s.origins.lists, s.errLimits.limits)
	}
}
