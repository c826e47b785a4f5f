package errtrack

import (
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// Limits are Relay's default size limits
// (https://github.com/getsentry/relay, docs/configuration/options.md:
// max_event_size, max_attachment_size, max_attachments_size,
// max_envelope_size, max_session_count), all after decompression.
type Limits struct {
	Envelope    int64 // a whole envelope or request body
	Event       int64 // an event or transaction (and a /store/ body)
	Item        int64 // any other item but attachments
	Attachment  int64 // one attachment
	Attachments int64 // an envelope's attachments together
	Sessions    int   // session and sessions items of one envelope
}

// DefaultLimits returns Relay's defaults: 1 MiB events, 50 MiB
// attachments and envelopes, 100 session items an envelope.
func DefaultLimits() Limits {
	return Limits{Envelope: 50 << 20, Event: 1 << 20, Item: 1 << 20, Attachment: 50 << 20, Attachments: 50 << 20, Sessions: 100}
}

// Batch is what an envelope holds, read and mapped.
type Batch struct {
	// EventID is the id the answer names: the event's, else the
	// envelope's, else a new one.
	EventID string
	// Events are the error events to record (with their attachments);
	// their points are made once recorded (EventPoints), since they name
	// the group.
	Events []*Incoming
	// Attachments came without their event, in an envelope whose header
	// names it (sent after it, or before: they are shown with it once it
	// is stored); Tracker.Attach stores them.
	Attachments []Attachment
	// Points are the other items' points (transactions, spans, sessions,
	// check-ins, logs).
	Points []point.Point
	// CheckIns are the cron monitors' check-ins (also in Points), for the
	// monitors to follow their schedules.
	CheckIns []*CheckIn
	// Discards are the client reports' lines.
	Discards []Discard
	// Items counts the items by type and result: "event/accepted",
	// "log/invalid", "profile/skipped", …
	Items map[string]int
	// Invalid describes the items that could not be read (they are
	// skipped; the others are kept).
	Invalid []string
}

// ProcessOptions say whose envelope it is and when it arrived.
type ProcessOptions struct {
	Project  int64
	Received int64 // Unix ms
	// MaxAge is the retention: items older (by their own time) are
	// stamped with the receive time instead.
	MaxAge time.Duration
	Limits Limits
}

// Process reads an envelope's items into a Batch. An event that cannot be
// read fails the whole envelope (ErrBadPayload, 400), as does any item
// over its size limit (*TooLargeError, 413); any other unreadable item is
// skipped and reported in Invalid. Item types Alidade does not handle are
// skipped.
func Process(env *Envelope, o ProcessOptions) (*Batch, error) {
	b := &Batch{EventID: env.Header.EventID, Items: map[string]int{}}
	drift := ClockDrift(env.Header.SentAt, o.Received)
	clock := func(ts int64) int64 {
		if ts > 0 {
			ts += drift
		}
		return ClampTimestamp(ts, o.Received, o.MaxAge)
	}
	var ev *Incoming
	var atts []Attachment
	var attBytes int64
	sessions := 0
	sdk := ""
	for i := range env.Items {
		it := &env.Items[i]
		size := int64(len(it.Payload))
		switch it.Type {
		case "attachment":
			if size > o.Limits.Attachment {
				return nil, &TooLargeError{What: "attachment " + quote(it.Filename), Size: size, Limit: o.Limits.Attachment}
			}
			attBytes += size
			if attBytes > o.Limits.Attachments {
				return nil, &TooLargeError{What: "the envelope's attachments together", Size: attBytes, Limit: o.Limits.Attachments}
			}
		case "event", "transaction":
			if size > o.Limits.Event {
				return nil, &TooLargeError{What: "the " + it.Type, Size: size, Limit: o.Limits.Event}
			}
		default:
			if size > o.Limits.Item {
				return nil, &TooLargeError{What: "the " + quote(cut(it.Type, 40)) + " item", Size: size, Limit: o.Limits.Item}
			}
		}
		var pts []point.Point
		var err error
		switch it.Type {
		case "event":
			if ev != nil {
				b.count(it.Type, "skipped") // an envelope holds one event
				continue
			}
			in, err := ReadEvent(it.Payload, o.Project, o.Received, o.MaxAge)
			if err != nil {
				return nil, err
			}
			if in.Event.EventID == "" {
				in.Event.EventID = b.EventID
			}
			if drift != 0 {
				in.Timestamp = clock(in.Event.Timestamp)
			}
			ev = in
			sdk = in.Event.SDK.Name
			b.count(it.Type, "accepted")
			continue
		case "transaction":
			pts, err = TransactionPoints(it.Payload, clock)
		case "span":
			pts, err = SpanPoints(it.Payload, clock)
		case "session", "sessions":
			sessions++
			if sessions > o.Limits.Sessions {
				b.count(it.Type, "skipped")
				continue
			}
			if it.Type == "session" {
				pts, err = SessionPoints(it.Payload, clock, sdk)
			} else {
				pts, err = SessionAggregatePoints(it.Payload, clock, sdk)
			}
		case "check_in":
			var c *CheckIn
			if c, err = ReadCheckIn(it.Payload); err == nil {
				pts = []point.Point{c.Point(clock(o.Received))}
				b.CheckIns = append(b.CheckIns, c)
			}
		case "log":
			pts, err = LogPoints(it.Payload, clock)
		case "client_report":
			var d []Discard
			if d, err = ClientReport(it.Payload); err == nil {
				b.Discards = append(b.Discards, d...)
			}
		case "attachment":
			atts = append(atts, Attachment{Received: o.Received, Filename: cut(it.Filename, 256), ContentType: cut(it.ContentType, 128),
				AttachmentType: cut(firstNonEmpty(it.AttachmentType, "event.attachment"), 64), Size: len(it.Payload), Data: Compress(it.Payload)})
			continue
		default:
			b.count(it.Type, "skipped")
			continue
		}
		if err != nil {
			b.count(it.Type, "invalid")
			b.Invalid = append(b.Invalid, fmt.Sprintf("item %d (%s): %v", i, it.Type, err))
			continue
		}
		b.Points = append(b.Points, pts...)
		b.count(it.Type, "accepted")
	}
	if ev != nil {
		if ev.Event.EventID == "" {
			ev.Event.EventID = NewEventID()
		}
		b.EventID = ev.Event.EventID
		ev.Attachments = atts
		b.Events = []*Incoming{ev}
		b.count("attachment", "accepted", len(atts))
	} else if len(atts) > 0 && b.EventID != "" {
		for i := range atts {
			atts[i].Project, atts[i].EventID = o.Project, b.EventID
		}
		b.Attachments = atts
		b.count("attachment", "accepted", len(atts))
	} else if len(atts) > 0 {
		// An attachment is kept with an event: this envelope names none.
		b.count("attachment", "skipped", len(atts))
	}
	if b.EventID == "" {
		b.EventID = NewEventID()
	}
	return b, nil
}

// MinClockDrift is the smallest difference between an envelope's sent_at
// and its receive time that is taken for a wrong client clock, as Relay
// does (MINIMUM_CLOCK_DRIFT_SECS): smaller ones are transit or batching.
const MinClockDrift = 55 * time.Minute

// ClockDrift is what to add to the times of an envelope's items whose
// header says it was sent at sentAt (Unix ms; 0: not said) and that
// arrived at received: received − sentAt when the two differ by at least
// MinClockDrift (the client's clock is wrong by that much), else 0.
func ClockDrift(sentAt, received int64) int64 {
	if sentAt <= 0 {
		return 0
	}
	d := received - sentAt
	if d < MinClockDrift.Milliseconds() && d > -MinClockDrift.Milliseconds() {
		return 0
	}
	return d
}

func (b *Batch) count(typ, result string, n ...int) {
	k := label(cut(typ, 40)) + "/" + result
	if len(n) > 0 {
		if n[0] > 0 {
			b.Items[k] += n[0]
		}
		return
	}
	b.Items[k]++
}

// ReadEvent reads an error event into an Incoming: decoded, grouped,
// timestamped and its payload compressed. The event id may be "" (the
// caller names it).
func ReadEvent(payload []byte, project, received int64, maxAge time.Duration) (*Incoming, error) {
	e, err := DecodeEvent(payload)
	if err != nil {
		return nil, err
	}
	return &Incoming{Project: project, Event: e, Grouping: GroupOf(e), Timestamp: ClampTimestamp(e.Timestamp, received, maxAge),
		Received: received, Payload: Compress(payload), Size: len(payload)}, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
