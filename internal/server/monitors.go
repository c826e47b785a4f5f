package server

import (
	"context"
	"net/http"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/monitors"
	"github.com/alidade/alidade/internal/point"
)

// initMonitors loads the cron monitors when the store keeps them.
func (s *Server) initMonitors(st Store) error {
	ms, ok := st.(monitors.Store)
	if !ok {
		return nil
	}
	r, err := monitors.New(context.Background(), ms, s.writeMonitorPoints, s.log)
	if err != nil {
		return err
	}
	s.monitors = r
	return nil
}

// writeMonitorPoints writes the check-ins the monitors make (missed,
// timeout) through the ingest pipeline.
func (s *Server) writeMonitorPoints(ctx context.Context, project int64, pts []point.Point) error {
	if err := s.ingest.Submit(ctx, project, pts, 0); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.PointsAccepted.Add(uint64(len(pts)))
	}
	return nil
}

// followCheckIns hands a request's stored check-ins to the monitors.
func (s *Server) followCheckIns(r *http.Request, project int64, cs []*errtrack.CheckIn, received int64) {
	if s.monitors == nil {
		return
	}
	for _, c := range cs {
		if err := s.monitors.CheckIn(context.WithoutCancel(r.Context()), project, c, received); err != nil {
			// The check-in is stored; only its schedule is not followed.
			s.log.Warn("cron monitor not updated", "id", requestID(r), "project", project, "err", err)
			s.countSentryItems("check_in", "bad_schedule", 1)
		}
	}
}

// monitorJSON is a monitor as GET /api/v1/monitors shows it.
type monitorJSON struct {
	Slug         string          `json:"slug"`
	Environment  string          `json:"environment"`
	Schedule     *scheduleJSON   `json:"schedule"`
	Margin       float64         `json:"margin"`     // minutes
	MaxRuntime   float64         `json:"maxRuntime"` // minutes
	Status       string          `json:"status"`
	LastCheckIn  *time.Time      `json:"lastCheckIn"`
	NextExpected *time.Time      `json:"nextExpected"`
	InProgress   *inProgressJSON `json:"inProgress"`
}

type scheduleJSON struct {
	Type     string `json:"type"`
	Value    string `json:"value"`
	Unit     string `json:"unit,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

type inProgressJSON struct {
	CheckInID string    `json:"checkInId"`
	Since     time.Time `json:"since"`
}

func optTime(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// handleListMonitors is GET /api/v1/monitors: the project's cron monitors,
// their schedules, last status and when the next check-in is due.
func (s *Server) handleListMonitors(w http.ResponseWriter, r *http.Request) {
	if s.monitors == nil {
		writeError(w, r, http.StatusNotImplemented, "not_implemented", "cron monitors need a store that keeps them")
		return
	}
	out := []monitorJSON{}
	for _, m := range s.monitors.List(principal(r).Project) {
		j := monitorJSON{Slug: m.Slug, Environment: m.Environment, Status: m.LastStatus, LastCheckIn: optTime(m.LastCheckIn),
			NextExpected: optTime(m.NextExpected), Margin: monitors.DefaultMargin.Minutes(), MaxRuntime: monitors.DefaultMaxRuntime.Minutes()}
		if c := m.Config; c != nil {
			j.Schedule = &scheduleJSON{Type: c.ScheduleType, Value: c.Schedule, Unit: c.Unit, Timezone: c.Timezone}
			if c.Margin >= 1 {
				j.Margin = c.Margin
			}
			if c.MaxRuntime >= 1 {
				j.MaxRuntime = c.MaxRuntime
			}
		}
		if m.InProgress != "" {
			j.InProgress = &inProgressJSON{CheckInID: m.InProgress, Since: time.UnixMilli(m.InProgressSince).UTC()}
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"monitors": out})
}

// runMonitors sweeps the cron monitors every minute until ctx ends.
func (s *Server) runMonitors(ctx context.Context) {
	if s.monitors != nil {
		go s.monitors.Run(ctx, time.Minute, s.clock)
	}
}

// SweepMonitors makes the missed and timeout check-ins due at now (the
// server does every minute); it returns how many.
func (s *Server) SweepMonitors(ctx context.Context, now time.Time) (int, error) {
	if s.monitors == nil {
		return 0, nil
	}
	return s.monitors.Sweep(ctx, now)
}
