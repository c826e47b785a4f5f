package errtrack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Envelope is a parsed Sentry envelope: a JSON header line, then items,
// each a JSON header line and a payload that is either `length` bytes
// (followed by an optional newline) or, without `length`, the rest of the
// line. Payloads share the body's memory.
type Envelope struct {
	Header EnvelopeHeader
	Items  []Item
}

// EnvelopeHeader holds what Alidade reads of the envelope's header.
type EnvelopeHeader struct {
	EventID string // normalized (32 hex digits) or ""
	DSN     string
	SentAt  int64 // Unix ms, 0 when absent
}

// Item is one envelope item.
type Item struct {
	Type        string
	ContentType string
	Filename    string
	// AttachmentType is an attachment's attachment_type
	// (event.attachment, event.minidump, …).
	AttachmentType string
	// ItemCount is the item_count of batched items (log, span).
	ItemCount int
	Payload   []byte
}

// Limits of an envelope.
const (
	// MaxItems bounds the items of one envelope.
	MaxItems = 1000
	// maxHeaderLine bounds an envelope or item header.
	maxHeaderLine = 64 << 10
)

type wireEnvelopeHeader struct {
	EventID flexString `json:"event_id"`
	DSN     flexString `json:"dsn"`
	SentAt  flexTime   `json:"sent_at"`
}

type wireItemHeader struct {
	Type           flexString `json:"type"`
	Length         *int64     `json:"length"`
	ContentType    flexString `json:"content_type"`
	Filename       flexString `json:"filename"`
	AttachmentType flexString `json:"attachment_type"`
	ItemCount      flexNumber `json:"item_count"`
}

// ParseEnvelope parses an envelope as Sentry documents it
// (https://develop.sentry.dev/sdk/data-model/envelopes/): newlines are
// "\n"; the body may end with or without one; an item without `length`
// runs to the next newline; an empty line between items is skipped.
func ParseEnvelope(body []byte) (*Envelope, error) {
	line, rest, _ := bytes.Cut(body, []byte{'\n'})
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil, fmt.Errorf("%w: the envelope's first line is not a JSON object header", ErrBadPayload)
	}
	if len(line) > maxHeaderLine {
		return nil, fmt.Errorf("%w: the envelope header is over %d bytes", ErrBadPayload, maxHeaderLine)
	}
	var h wireEnvelopeHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("%w: envelope header: %v", ErrBadPayload, jsonErr(err))
	}
	env := &Envelope{Header: EnvelopeHeader{EventID: NormalizeEventID(string(h.EventID)), DSN: strings.TrimSpace(string(h.DSN)), SentAt: int64(h.SentAt)}}
	for n := 0; len(rest) > 0; n++ {
		line, after, _ := bytes.Cut(rest, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			rest = after
			continue
		}
		if len(env.Items) >= MaxItems {
			return nil, fmt.Errorf("%w: the envelope has more than %d items", ErrBadPayload, MaxItems)
		}
		if len(line) > maxHeaderLine {
			return nil, fmt.Errorf("%w: item %d: its header is over %d bytes", ErrBadPayload, len(env.Items), maxHeaderLine)
		}
		var ih wireItemHeader
		if err := json.Unmarshal(bytes.TrimSpace(line), &ih); err != nil {
			return nil, fmt.Errorf("%w: item %d: header: %v", ErrBadPayload, len(env.Items), jsonErr(err))
		}
		it := Item{Type: strings.TrimSpace(string(ih.Type)), ContentType: string(ih.ContentType), Filename: string(ih.Filename),
			AttachmentType: string(ih.AttachmentType), ItemCount: int(ih.ItemCount)}
		if it.Type == "" {
			return nil, fmt.Errorf("%w: item %d: its header has no type", ErrBadPayload, len(env.Items))
		}
		if ih.Length != nil {
			l := *ih.Length
			if l < 0 || l > int64(len(after)) {
				return nil, fmt.Errorf("%w: item %d (%s): length %d, but %d bytes follow", ErrBadPayload, len(env.Items), it.Type, l, len(after))
			}
			it.Payload = after[:l]
			rest = after[l:]
			// The payload's terminating newline is optional.
			if len(rest) > 0 && rest[0] == '\n' {
				rest = rest[1:]
			} else if len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n' {
				rest = rest[2:]
			}
		} else {
			payload, next, _ := bytes.Cut(after, []byte{'\n'})
			it.Payload = bytes.TrimSuffix(payload, []byte{'\r'})
			rest = next
		}
		env.Items = append(env.Items, it)
	}
	return env, nil
}

// ItemTypes lists the item types Alidade handles; every other type is
// skipped (counted, not stored).
var ItemTypes = []string{"event", "transaction", "session", "sessions", "attachment", "client_report", "check_in", "log", "span"}

// Handled reports whether Alidade handles items of type t.
func Handled(t string) bool {
	for _, x := range ItemTypes {
		if x == t {
			return true
		}
	}
	return false
}

// itoa is strconv.Itoa, kept short for messages.
func itoa(n int) string { return strconv.Itoa(n) }
