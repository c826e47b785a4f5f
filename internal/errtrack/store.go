package errtrack

import (
	"context"

	"github.com/alidade/alidade/internal/store"
)

// Store keeps error groups and events durably. The embedded store keeps
// them in its metadata database (package store/duckdb), groups and events
// of one commit in one transaction.
type Store interface {
	// MaxErrorGroupID is the largest group id ever stored (0: none).
	MaxErrorGroupID(ctx context.Context) (int64, error)
	// FindErrorGroup returns a project's group of a fingerprint, or nil.
	FindErrorGroup(ctx context.Context, project int64, fingerprint string) (*Group, error)
	// ErrorGroup returns a project's group by id (ErrNotFound).
	ErrorGroup(ctx context.Context, project, id int64) (*Group, error)
	// ErrorGroups lists a project's groups.
	ErrorGroups(ctx context.Context, project int64, f GroupFilter) ([]Group, error)
	// CommitErrors stores new groups, changes to existing ones (by id),
	// events and attachments at once, and Loaded: all or nothing.
	CommitErrors(ctx context.Context, c Commit) error
	// ErrorsLoaded returns the last Commit.Loaded stored (zero: none).
	ErrorsLoaded(ctx context.Context) (store.LogPos, error)
	// ErrorEvent returns a project's event with its payload (ErrNotFound).
	ErrorEvent(ctx context.Context, project int64, eventID string) (*StoredEvent, error)
	// ErrorEvents lists a group's events, newest first, without payloads,
	// those received before `before` (Unix ms; 0: no bound).
	ErrorEvents(ctx context.Context, project, group int64, limit int, before int64) ([]StoredEvent, error)
	// ErrorAttachments lists an event's attachments without their data.
	ErrorAttachments(ctx context.Context, project int64, eventID string) ([]Attachment, error)
	// RecentErrorEventIDs returns the ids of the latest events received.
	RecentErrorEventIDs(ctx context.Context, limit int) ([]EventKey, error)
	// ExpireErrors deletes a project's events and attachments received
	// before cutoff (Unix ms), and its groups last seen before it.
	ExpireErrors(ctx context.Context, project int64, cutoff int64) (ExpireReport, error)
}

// Commit is what one commit stores.
type Commit struct {
	New         []*Group // groups to insert
	Changed     []*Group // groups to update, by id
	Events      []StoredEvent
	Attachments []Attachment
	// Loaded, when set, is how far the tracker's journal is loaded once
	// this commit is.
	Loaded *store.LogPos
}

// GroupFilter selects and orders error groups.
type GroupFilter struct {
	Status      string // "" any
	Level       string // "" any
	Environment string // seen in this environment; "" any
	Release     string // seen in this release; "" any
	Query       string // substring of the title, culprit or fingerprint, any case; "" any
	Sort        string // "last_seen" (default), "first_seen", "count" or "users"
	Limit       int    // at most this many (1..1000)
}

// Sorts lists GroupFilter.Sort's values.
var Sorts = []string{"last_seen", "first_seen", "count", "users"}

// MaxListLimit is the most groups or events a Store lists at once.
const MaxListLimit = 1000

// ListLimit is how many rows a Store lists for a requested limit: the
// limit, or 100 when it is not in 1..MaxListLimit.
func ListLimit(limit int) int {
	if limit <= 0 || limit > MaxListLimit {
		return 100
	}
	return limit
}

// GroupOrder is the ORDER BY clause (with a leading space) of a SQL
// listing of groups sorted by sort, a value of Sorts (any other is
// "last_seen"); ties go to the larger id, so that the order is total. It
// names the columns every Store's groups table has: last_seen, first_seen,
// event_count, user_count and id.
func GroupOrder(sort string) string {
	switch sort {
	case "count":
		return " ORDER BY event_count DESC, last_seen DESC, id DESC"
	case "users":
		return " ORDER BY user_count DESC, last_seen DESC, id DESC"
	case "first_seen":
		return " ORDER BY first_seen DESC, id DESC"
	default:
		return " ORDER BY last_seen DESC, id DESC"
	}
}

// StoredEvent is an event as stored: a few columns to list and filter by,
// and the payload as the SDK sent it, compressed (Compress).
type StoredEvent struct {
	Project     int64
	EventID     string
	GroupID     int64
	Timestamp   int64 // the event's time (Unix ms)
	Received    int64
	Level       string
	Release     string
	Environment string
	User        string // User.Key
	Title       string
	Payload     []byte // compressed; nil in listings
	Size        int    // the payload's size before compression
}

// Attachment is an event's attachment, stored compressed.
type Attachment struct {
	Project        int64
	EventID        string
	Received       int64
	Filename       string
	ContentType    string
	AttachmentType string
	Size           int
	Data           []byte // compressed; nil in listings
}

// EventKey identifies an event.
type EventKey struct {
	Project int64
	EventID string
}

// ExpireReport says what one retention pass deleted.
type ExpireReport struct {
	Events, Attachments, Groups int64
}
