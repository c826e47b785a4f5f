package errtrack

import (
	"encoding/json"
	"time"
)

// EventView is an event as the API shows it (GET /api/v1/events/{id}):
// the stored columns and the payload read again, in one shape whatever
// the SDK sent.
type EventView struct {
	ID          string           `json:"id"`
	GroupID     int64            `json:"groupId"`
	Timestamp   time.Time        `json:"timestamp"`
	Received    time.Time        `json:"received"`
	Level       string           `json:"level"`
	Platform    string           `json:"platform"`
	Title       string           `json:"title"`
	Culprit     string           `json:"culprit"`
	Message     string           `json:"message"`
	Release     string           `json:"release"`
	Dist        string           `json:"dist,omitempty"`
	Environment string           `json:"environment"`
	Transaction string           `json:"transaction"`
	ServerName  string           `json:"serverName"`
	Logger      string           `json:"logger"`
	User        *User            `json:"user"`
	Request     *Request         `json:"request"`
	Tags        []Tag            `json:"tags"`
	Contexts    json.RawMessage  `json:"contexts"`
	Extra       json.RawMessage  `json:"extra"`
	Exception   []Exception      `json:"exception"`
	Stacktrace  *Stacktrace      `json:"stacktrace"`
	Breadcrumbs []BreadcrumbView `json:"breadcrumbs"`
	SDK         SDK              `json:"sdk"`
	Fingerprint []string         `json:"fingerprint"`
	Grouping    GroupingView     `json:"grouping"`
	Size        int              `json:"size"`
	Attachments []AttachmentView `json:"attachments"`
}

// Tag is a tag as the API shows it.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// BreadcrumbView is a breadcrumb with its time as RFC 3339.
type BreadcrumbView struct {
	Timestamp *time.Time `json:"timestamp"`
	Breadcrumb
}

// GroupingView says how the event was grouped.
type GroupingView struct {
	Version     string   `json:"version"`
	Fingerprint string   `json:"fingerprint"`
	Method      string   `json:"method"`
	Components  []string `json:"components"`
}

// AttachmentView describes an attachment (its bytes are not shown).
type AttachmentView struct {
	Filename       string `json:"filename"`
	ContentType    string `json:"contentType"`
	AttachmentType string `json:"attachmentType"`
	Size           int    `json:"size"`
}

// View reads a stored event for the API.
func View(se *StoredEvent, atts []Attachment) (*EventView, error) {
	raw, err := Decompress(se.Payload)
	if err != nil {
		return nil, err
	}
	e, err := DecodeEvent(raw)
	if err != nil {
		return nil, err
	}
	g := GroupOf(e)
	v := &EventView{ID: se.EventID, GroupID: se.GroupID, Timestamp: time.UnixMilli(se.Timestamp).UTC(), Received: time.UnixMilli(se.Received).UTC(),
		Level: e.Level, Platform: e.Platform, Title: Title(e), Culprit: Culprit(e), Message: e.Message, Release: e.Release, Dist: e.Dist,
		Environment: e.Environment, Transaction: e.Transaction, ServerName: e.ServerName, Logger: e.Logger, Request: e.Request,
		Contexts: e.Contexts, Extra: e.Extra, Exception: e.Exceptions, Stacktrace: e.Stacktrace, SDK: e.SDK, Fingerprint: e.Fingerprint,
		Grouping: GroupingView{Version: GroupingVersion, Fingerprint: g.Fingerprint, Method: g.Method, Components: g.Components}, Size: se.Size,
		Tags: []Tag{}, Breadcrumbs: []BreadcrumbView{}, Attachments: []AttachmentView{}}
	if e.User.Key() != "" || e.User.Name != "" {
		u := e.User
		v.User = &u
	}
	if v.Exception == nil {
		v.Exception = []Exception{}
	}
	if v.Fingerprint == nil {
		v.Fingerprint = []string{}
	}
	for _, t := range e.Tags {
		v.Tags = append(v.Tags, Tag{Key: t[0], Value: t[1]})
	}
	for _, c := range e.Breadcrumbs {
		bv := BreadcrumbView{Breadcrumb: c}
		if c.Timestamp > 0 {
			t := time.UnixMilli(c.Timestamp).UTC()
			bv.Timestamp = &t
		}
		v.Breadcrumbs = append(v.Breadcrumbs, bv)
	}
	for _, a := range atts {
		v.Attachments = append(v.Attachments, AttachmentView{Filename: a.Filename, ContentType: a.ContentType, AttachmentType: a.AttachmentType, Size: a.Size})
	}
	return v, nil
}

// Header is the value of the first pair named k, any case (a request's
// headers); "" when none.
func Header(h []Pair, k string) string { return pairs(h).get(k) }
