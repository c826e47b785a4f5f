package alert

import (
	"time"
)

// A rule's states. A rule starts ok; a breach makes it pending (or firing
// at once when for is 0); a breach that lasts for makes it firing; the
// first evaluation without a breach makes a firing rule resolved and a
// pending one ok; the next one without a breach makes a resolved rule ok.
const (
	StateOK       = "ok"
	StatePending  = "pending"
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Kinds of history entries.
const (
	EntryTransition   = "transition"   // the state changed
	EntryError        = "error"        // the query failed (once per distinct error)
	EntryRecovered    = "recovered"    // the query answers again after errors
	EntryNotification = "notification" // one delivery attempt to one target
	EntryUpdated      = "updated"      // the rule was changed (its state restarts at ok)
	EntrySource       = "source"       // where the answers come from changed (rollups or raw points)
)

// MaxHistory bounds the entries a rule keeps (the oldest go first).
const MaxHistory = 200

// State is what a rule's evaluations and notifications left: persisted
// whenever it changes, so that a restart neither forgets a firing rule
// nor notifies a transition twice.
type State struct {
	State string `json:"state"`
	// Since is when the rule entered State (for pending: the first
	// evaluation of the breach).
	Since time.Time `json:"since"`
	// Value is the latest evaluation's value (nil: the query had none);
	// Group the groupBy values of the row it came from.
	Value *float64       `json:"value"`
	Group map[string]any `json:"group,omitempty"`
	// LastEvaluation is when the rule was last evaluated (zero: never).
	LastEvaluation time.Time `json:"lastEvaluation"`
	// Source is where the latest answer came from: rollup, mixed (rollups
	// and the raw edges of the range) or raw; SourceNote says why rollups
	// could not answer it.
	Source     string `json:"source,omitempty"`
	SourceNote string `json:"sourceNote,omitempty"`
	// Error is the latest evaluation's error ("" when it answered).
	Error string `json:"error,omitempty"`
	// Seq counts the rule's notified transitions (firing, resolved).
	Seq int64 `json:"seq"`
	// Outbox holds the notifications not yet delivered or given up.
	Outbox []Delivery `json:"outbox,omitempty"`
	// History holds the latest entries, oldest first.
	History []Entry `json:"history,omitempty"`
}

// Delivery is one notification of one transition to one target, until it
// is delivered or its attempts run out.
type Delivery struct {
	Seq      int64          `json:"seq"`
	Target   int            `json:"target"`
	State    string         `json:"state"`
	Value    *float64       `json:"value"`
	Group    map[string]any `json:"group,omitempty"`
	At       time.Time      `json:"at"`
	Attempts int            `json:"attempts"`
	NextAt   time.Time      `json:"nextAt"`
}

// Entry is one line of a rule's history.
type Entry struct {
	At    time.Time      `json:"at"`
	Kind  string         `json:"kind"`
	From  string         `json:"from,omitempty"`
	To    string         `json:"to,omitempty"`
	Value *float64       `json:"value"`
	Group map[string]any `json:"group,omitempty"`
	// Source is where the evaluation's answer came from (transitions).
	Source string `json:"source,omitempty"`
	// Seq, Target, Type, Attempt and Status describe a notification
	// attempt: the transition, the target's index in notify and its type,
	// the attempt (from 1), the HTTP status the target answered (0: none).
	Seq     int64  `json:"seq,omitempty"`
	Target  *int   `json:"target,omitempty"`
	Type    string `json:"type,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Status  int    `json:"status,omitempty"`
	// OK is a delivered notification; Final a failed one that will not be
	// retried.
	OK    bool `json:"ok,omitempty"`
	Final bool `json:"final,omitempty"`
	// Message says what happened: the error, the answer's start.
	Message string `json:"message,omitempty"`
}

func (s *State) clone() State {
	c := *s
	c.Outbox = append([]Delivery(nil), s.Outbox...)
	c.History = append([]Entry(nil), s.History...)
	return c
}

func (s *State) add(e Entry) {
	s.History = append(s.History, e)
	if n := len(s.History) - MaxHistory; n > 0 {
		s.History = append([]Entry(nil), s.History[n:]...)
	}
}

// outcome is one evaluation's answer as the state machine sees it.
type outcome struct {
	breach bool
	keep   bool // no value and noData "keep": nothing changes
	value  *float64
	group  map[string]any
	source string
}

// step moves the state for one evaluation at now and reports whether the
// rule fired or resolved (a transition to notify).
func (s *State) step(o outcome, forD time.Duration, now time.Time) (notify bool) {
	s.Value, s.Group, s.LastEvaluation = o.value, o.group, now
	if o.keep {
		return false
	}
	from := s.State
	to := from
	switch from {
	case StateOK, StateResolved, "":
		switch {
		case o.breach && forD <= 0:
			to = StateFiring
		case o.breach:
			to = StatePending
		default:
			to = StateOK
		}
	case StatePending:
		switch {
		case !o.breach:
			to = StateOK
		case now.Sub(s.Since) >= forD:
			to = StateFiring
		}
	case StateFiring:
		if !o.breach {
			to = StateResolved
		}
	}
	if to == from {
		return false
	}
	s.State, s.Since = to, now
	s.add(Entry{At: now, Kind: EntryTransition, From: from, To: to, Value: o.value, Group: o.group, Source: o.source})
	return to == StateFiring || to == StateResolved && from == StateFiring
}
