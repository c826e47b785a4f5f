package errtrack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Statuses of an error group.
const (
	StatusUnresolved = "unresolved"
	StatusResolved   = "resolved"
	StatusIgnored    = "ignored"
)

// ParseStatus validates a status.
func ParseStatus(s string) (string, error) {
	switch s {
	case StatusUnresolved, StatusResolved, StatusIgnored:
		return s, nil
	}
	return "", fmt.Errorf("status %q: use unresolved, resolved or ignored", cut(s, 40))
}

// Group is an error group (Sentry's issue): the events of one project
// with one fingerprint.
type Group struct {
	ID          int64
	Project     int64
	Fingerprint string
	Grouping    string // the grouping version that made it: "v1"
	Title       string
	Culprit     string
	Type        string // the main exception's type, "" for a message
	Level       string
	Platform    string
	Status      string
	FirstSeen   int64 // Unix ms
	LastSeen    int64
	Count       int64
	Users       Users
	// Releases and Environments seen, most recent first (at most
	// maxSeen of each).
	Releases     []string
	Environments []string
	FirstRelease string
	LastRelease  string
	// Resolution and regression: a resolved group that recurs in a newer
	// release is unresolved again, Regressed, with RegressedAt and
	// RegressedRelease saying when and in which release.
	ResolvedAt       int64
	ResolvedRelease  string
	Regressed        bool
	RegressedAt      int64
	RegressedRelease string
	Regressions      int64
	StatusChanged    int64
	LastEventID      string

	// usersAdded are the user hashes the group's events added since the
	// Clone it was made by (usersKnown): what the journal keeps instead of
	// the whole sketch.
	usersAdded []uint64
	usersKnown bool
}

const maxSeen = 100

// Clone returns a copy that shares nothing with g.
func (g *Group) Clone() *Group {
	c := *g
	c.Users = g.Users.Clone()
	c.Releases = slices.Clone(g.Releases)
	c.Environments = slices.Clone(g.Environments)
	c.usersAdded, c.usersKnown = nil, true
	return &c
}

// observe adds an event to the group and reports whether it reopened a
// resolved group (a regression). now is the receive time (Unix ms).
func (g *Group) observe(in *Incoming, now int64) (regressed bool) {
	e := in.Event
	ts := in.Timestamp
	if g.Count == 0 {
		g.FirstSeen, g.LastSeen = ts, ts
		g.FirstRelease = e.Release
		g.Status = StatusUnresolved
	}
	if g.Status == StatusResolved && recurs(g, e.Release) {
		g.Status = StatusUnresolved
		g.Regressed = true
		g.RegressedAt = now
		g.RegressedRelease = e.Release
		g.Regressions++
		g.StatusChanged = now
		regressed = true
	}
	g.Count++
	g.FirstSeen = min(g.FirstSeen, ts)
	if ts >= g.LastSeen || g.LastEventID == "" {
		g.LastSeen = ts
		g.LastEventID = e.EventID
		g.Title, g.Culprit, g.Type = Title(e), Culprit(e), mainType(e)
		g.Level, g.Platform = e.Level, e.Platform
	}
	if e.Release != "" {
		g.LastRelease = e.Release
		if g.FirstRelease == "" {
			g.FirstRelease = e.Release
		}
		g.Releases = addSeen(g.Releases, e.Release)
	}
	if e.Environment != "" {
		g.Environments = addSeen(g.Environments, e.Environment)
	}
	if k := e.User.Key(); k != "" {
		h := UserHash(k)
		g.Users.Add(h)
		if g.usersKnown {
			g.usersAdded = append(g.usersAdded, h)
		}
	}
	return regressed
}

// setStatus changes the status by a person's request at now.
func (g *Group) setStatus(status string, now int64) {
	if status == g.Status {
		return
	}
	g.Status = status
	g.StatusChanged = now
	switch status {
	case StatusResolved:
		g.ResolvedAt = now
		g.ResolvedRelease = g.LastRelease
		g.Regressed = false
	case StatusUnresolved, StatusIgnored:
		g.Regressed = false
	}
}

func addSeen(list []string, v string) []string {
	if len(list) > 0 && list[0] == v {
		return list
	}
	if i := slices.Index(list, v); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	list = slices.Insert(list, 0, v)
	if len(list) > maxSeen {
		list = list[:maxSeen]
	}
	return list
}

// recurs reports whether an event of release in a resolved group reopens
// it: always when the event or the resolution has no release; never in
// the release it was resolved in; when both are versions (semver, with an
// optional "package@" prefix), when the event's is greater; otherwise
// when the group had not seen the event's release before.
func recurs(g *Group, release string) bool {
	if release == "" || g.ResolvedRelease == "" {
		return true
	}
	if release == g.ResolvedRelease {
		return false
	}
	if a, ok := parseVersion(release); ok {
		if b, ok := parseVersion(g.ResolvedRelease); ok {
			return compareVersions(a, b) > 0
		}
	}
	return !slices.Contains(g.Releases, release)
}

type version struct {
	nums [4]int64
	pre  string
}

// parseVersion reads "1.2.3", "v1.2", "app@1.2.3-rc.1+build".
func parseVersion(s string) (version, bool) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v version
	core := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		core, v.pre = s[:i], s[i+1:]
	}
	parts := strings.Split(core, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return v, false
		}
		v.nums[i] = n
	}
	return v, true
}

func compareVersions(a, b version) int {
	for i := range a.nums {
		if a.nums[i] != b.nums[i] {
			if a.nums[i] < b.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	return strings.Compare(a.pre, b.pre)
}
