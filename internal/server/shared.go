package server

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

// ApplyMetaChange follows a change another node made to the metadata the
// nodes of a cluster share (PostgreSQL's notifications): what this server
// read of it and keeps in memory is dropped, so that its next use reads
// it again — a project's allowed origins, error rate limit and prices; a
// session ended there ends here. After a resync (notifications were lost)
// every such cache is dropped. Keys are the authenticator's (auth.Apply).
// A change of an alert rule, a check or a cron monitor (or a resync)
// has them reloaded from the store in the background (leader.go): it
// returns at once, as the store's Watch asks.
func (s *Server) ApplyMetaChange(c meta.Change) {
	switch c.Kind {
	case meta.ChangeAlertRule:
		ask(s.reloads.alerts)
	case meta.ChangeCheck:
		ask(s.reloads.checks)
	case meta.ChangeMonitor:
		ask(s.reloads.monitors)
	case meta.ChangeSetting:
		project, ok := settingProject(c.Name)
		if !ok {
			return
		}
		switch {
		case strings.HasPrefix(c.Name, "allowed_origins/"):
			s.origins.forget(project)
		case strings.HasPrefix(c.Name, "error_rate_limit/"):
			s.errLimits.forget(project)
		case strings.HasPrefix(c.Name, "pricing/"):
			if s.pricing != nil {
				s.pricing.Forget(project)
			}
		}
	case meta.ChangeSessionsDeleted:
		var h session.Hash
		if b, err := hex.DecodeString(c.Name); err == nil && len(b) == len(h) && s.sessions != nil {
			copy(h[:], b)
			s.sessions.Drop(h)
		}
	case meta.ChangeResync:
		ask(s.reloads.alerts)
		ask(s.reloads.checks)
		ask(s.reloads.monitors)
		s.origins.forget(0)
		s.errLimits.forget(0)
		if s.pricing != nil {
			s.pricing.Forget(0)
		}
	}
}

// settingProject reads the project of a per-project setting's name
// ("allowed_origins/7").
func settingProject(name string) (int64, bool) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return 0, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 64)
	return p, err == nil && p > 0
}

// forgetProject drops project's entry of a per-project cache, or every
// entry when project is 0.
func forgetProject[V any](m map[int64]V, project int64) {
	if project == 0 {
		clear(m)
		return
	}
	delete(m, project)
}
