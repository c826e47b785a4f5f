package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// errorRateLimit is a project's limit on the error events each of its keys
// may send (Sentry's per-key rate limit): Events per Window, in fixed
// windows aligned on the Unix epoch.
type errorRateLimit struct {
	Events int    `json:"events"`
	Window string `json:"window"`

	window time.Duration
}

func errorRateSetting(project int64) string {
	return "error_rate_limit/" + strconv.FormatInt(project, 10)
}

// parseErrorRateLimit checks a limit from the API: 1 to 1,000,000 events
// per window of 1 second to 1 day.
func parseErrorRateLimit(l *errorRateLimit) error {
	if l.Events < 1 || l.Events > 1_000_000 {
		return fmt.Errorf(`errorRateLimit.events must be from 1 to 1000000, got %d (send null to remove the limit)`, l.Events)
	}
	if l.Window == "" {
		l.Window = "1m"
	}
	d, err := ParseDuration(l.Window)
	if err != nil || d < time.Second || d > 24*time.Hour || d%time.Second != 0 {
		return fmt.Errorf(`errorRateLimit.window %q: use whole seconds from 1s to 24h, e.g. "1m"`, l.Window)
	}
	l.window = d
	return nil
}

// errorRateLimits holds the projects' limits (read from the settings on
// first use) and each key's count in its current window.
type errorRateLimits struct {
	st settingsStore // nil: memory only

	mu      sync.Mutex
	limits  map[int64]*errorRateLimit // nil value: no limit
	windows map[int64]*keyWindow      // by key id
}

type keyWindow struct {
	start int64 // Unix ms
	n     int
}

func newErrorRateLimits(st settingsStore) *errorRateLimits {
	return &errorRateLimits{st: st, limits: map[int64]*errorRateLimit{}, windows: map[int64]*keyWindow{}}
}

// get returns a project's limit, nil when it has none.
func (e *errorRateLimits) get(ctx context.Context, project int64) (*errorRateLimit, error) {
	e.mu.Lock()
	l, ok := e.limits[project]
	e.mu.Unlock()
	if ok {
		return l, nil
	}
	if e.st != nil {
		v, err := e.st.Setting(ctx, errorRateSetting(project))
		if err != nil {
			return nil, fmt.Errorf("read the error rate limit of project %d: %w", project, err)
		}
		if v != "" {
			l = &errorRateLimit{}
			if err := json.Unmarshal([]byte(v), l); err != nil || parseErrorRateLimit(l) != nil {
				return nil, fmt.Errorf("stored error rate limit of project %d is unreadable: %q", project, v)
			}
		}
	}
	e.mu.Lock()
	e.limits[project] = l
	e.mu.Unlock()
	return l, nil
}

// set stores a project's limit (nil: none) and applies it at once.
func (e *errorRateLimits) set(ctx context.Context, project int64, l *errorRateLimit) error {
	v := ""
	if l != nil {
		b, _ := json.Marshal(l)
		v = string(b)
	}
	if e.st != nil {
		if err := e.st.SetSetting(ctx, errorRateSetting(project), v); err != nil {
			return fmt.Errorf("store the error rate limit of project %d: %w", project, err)
		}
	}
	e.mu.Lock()
	e.limits[project] = l
	e.mu.Unlock()
	return nil
}

// take counts one request's error events against the key's window; it
// returns false and the seconds until the window ends when the key is over
// its project's limit. An unreadable setting lets events through (logged
// by the caller's store errors elsewhere).
func (e *errorRateLimits) take(ctx context.Context, project, key int64, now time.Time) (retryAfter int, ok bool) {
	l, err := e.get(ctx, project)
	if err != nil || l == nil {
		return 0, true
	}
	w := l.window.Milliseconds()
	ms := now.UnixMilli()
	start := ms - ms%w
	e.mu.Lock()
	defer e.mu.Unlock()
	kw := e.windows[key]
	if kw == nil || kw.start != start {
		kw = &keyWindow{start: start}
		e.windows[key] = kw
		if len(e.windows) > 100_000 {
			// Keys idle since an older window are forgotten.
			for k, v := range e.windows {
				if v.start != start {
					delete(e.windows, k)
				}
			}
		}
	}
	if kw.n >= l.Events {
		return int((start + w - ms + 999) / 1000), false
	}
	kw.n++
	return 0, true
}

// forget drops what was read of project's limit (every project's when
// project is 0): another node changed it. The windows' counts stay.
func (e *errorRateLimits) forget(project int64) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	forgetProject(e.limits, project)
}
