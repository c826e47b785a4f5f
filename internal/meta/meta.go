// Package meta owns Alidade's metadata model: projects, API keys and datasets
// (with their schemas and retention). It defines the records and the errors a
// metadata store returns; it holds no storage code and no secrets in clear.
package meta

import (
	"errors"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// KeyKind is what a key may do.
type KeyKind string

const (
	// KindPublic keys are for browsers and Sentry DSNs: write-only, origin-checked.
	KindPublic KeyKind = "public"
	// KindWrite keys are for server SDKs.
	KindWrite KeyKind = "write"
	// KindRead keys run queries and tail.
	KindRead KeyKind = "read"
	// KindAdmin keys manage a project's keys, schemas and alert rules.
	KindAdmin KeyKind = "admin"
)

// Kinds lists every key kind in the order they are shown.
var Kinds = []KeyKind{KindPublic, KindWrite, KindRead, KindAdmin}

// ParseKind validates a key kind.
func ParseKind(s string) (KeyKind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown key kind %q: use public, write, read or admin", s)
}

// Project is a tenant.
type Project struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Key is an API key record. Hash is the SHA-256 of the secret; the secret
// itself is never stored, but for a public key's (see Public).
type Key struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Kind      KeyKind   `json:"kind"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"` // the first characters of the secret, to recognise it
	Hash      []byte    `json:"-"`
	Created   time.Time `json:"created"`
	// Public is the secret in clear of a public key, and "" for every
	// other kind: a public key is in every page and Sentry DSN that uses
	// it, so it is kept to show the project's DSN again.
	Public string `json:"-"`
}

// Dataset is a named stream of points in a project.
type Dataset struct {
	ProjectID int64         `json:"-"`
	Name      string        `json:"name"`
	Schema    *point.Schema `json:"schema,omitempty"`
	// Retention overrides the server's default when non-zero.
	Retention time.Duration `json:"-"`
	Created   time.Time     `json:"created"`

	// Sampling is the equitable-sampling budget in points per second per
	// index1 value (see package sampling); 0 means off: every point is stored.
	Sampling float64 `json:"-"`
}

// DatasetStats are a dataset's figures over the points stored.
type DatasetStats struct {
	Points int64 `json:"points"`
	First  int64 `json:"first"` // Unix ms; 0 when empty
	Last   int64 `json:"last"`
}

// Errors a metadata store returns.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrUnavailable is wrapped by the errors of a store that cannot
	// reach its database (a PostgreSQL server down or unreachable), so
	// that the server answers 503 rather than 500: the request may
	// succeed once it is back. SQL errors do not wrap it.
	ErrUnavailable = errors.New("metadata store unavailable")
)

// Change is a metadata change another node (or this one) committed, as a
// shared metadata store (PostgreSQL) reports it to every node, so that
// each can drop or reload what it keeps in memory.
type Change struct {
	Kind ChangeKind
	// Project is the project's id; 0 for settings, sessions and resyncs.
	Project int64
	// ID is the key's id for ChangeKeyCreated and ChangeKeyRevoked, the
	// rule's for ChangeAlertRule and the check's for ChangeCheck; 0 for
	// every other kind.
	ID int64
	// Name is the project's name (ChangeProject), the dataset's
	// (ChangeDataset), the setting's (ChangeSetting), or the lowercase
	// hex SHA-256 of a deleted session's id (ChangeSessionsDeleted: one
	// Change per session, never the id itself), the cron monitor's slug
	// (ChangeMonitor); "" otherwise.
	Name string
}

// ChangeKind says what a Change is about.
type ChangeKind string

// The kinds of Change.
const (
	// ChangeProject: a project was created.
	ChangeProject ChangeKind = "project"
	// ChangeKeyCreated: a key was created.
	ChangeKeyCreated ChangeKind = "key-created"
	// ChangeKeyRevoked: a key was revoked; a node that cached it must
	// refuse it from now on.
	ChangeKeyRevoked ChangeKind = "key-revoked"
	// ChangeDataset: a dataset was created, or its schema, retention or
	// sampling set.
	ChangeDataset ChangeKind = "dataset"
	// ChangeSetting: a setting was set.
	ChangeSetting ChangeKind = "setting"
	// ChangeSessionsDeleted: a dashboard session was deleted (signed out,
	// expired or its key revoked).
	ChangeSessionsDeleted ChangeKind = "sessions-deleted"
	// ChangeAlertRule: an alert rule was created, changed or deleted, or
	// its state moved (an evaluation, a notification attempt).
	ChangeAlertRule ChangeKind = "alert-rule"
	// ChangeCheck: a check was created, changed or deleted, or its state
	// moved (a run).
	ChangeCheck ChangeKind = "check"
	// ChangeMonitor: a cron monitor was made or its state moved (a
	// check-in, a missed or timed-out run).
	ChangeMonitor ChangeKind = "monitor"
	// ChangeResync: the store lost its connection and got it back; what
	// changed meanwhile is unknown, so everything cached must be reloaded.
	ChangeResync ChangeKind = "resync"
)

// ChangeKinds lists every kind of Change.
var ChangeKinds = []ChangeKind{ChangeProject, ChangeKeyCreated, ChangeKeyRevoked, ChangeDataset, ChangeSetting, ChangeSessionsDeleted,
	ChangeAlertRule, ChangeCheck, ChangeMonitor, ChangeResync}

// ValidateProjectName checks a project name: 1–64 bytes of letters, digits, '-', '_' or '.'.
func ValidateProjectName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("project name must be 1 to 64 characters, got %d", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("project name %q has %q; use letters, digits, '-', '_' and '.'", name, rune(c))
		}
	}
	return nil
}
