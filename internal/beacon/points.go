package beacon

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/alidade/alidade/internal/logs"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/textlimit"
)

// Datasets maps each event type onto the built-in dataset its points go to.
var Datasets = map[string]string{
	TypePageview:  "pageviews",
	TypeEvent:     "events",
	TypeVital:     "web_vitals",
	TypeAPICall:   "api_calls",
	TypeError:     "client_errors",
	TypeAction:    "ui_actions",
	TypeWebSocket: "websocket",
	TypeLog:       "logs",
}

// LogService is the service of the log records of the beacon.
const LogService = "browser"

// Side is the websocket dataset's side of the beacon's points (a server's
// points leave it "").
const Side = "browser"

// schemas are the built-in schemas of the datasets above.
var schemas = func() map[string]*point.Schema {
	m := map[string]*point.Schema{}
	for _, ds := range Datasets {
		s := point.Builtin(ds)
		if s == nil {
			panic("BUG: beacon dataset " + ds + " is not built in")
		}
		m[ds] = s
	}
	return m
}()

// Points maps the request's events onto points of the built-in browser
// datasets. Points are stamped with now (Unix ms, the server's receive
// time), less the event's age on the client's clock when the event carries
// a timestamp and the body a sentAt. It returns the points, the body
// position of each, and the events it rejects: an unreadable url, or a date
// more than MaxAgeMillis before sentAt or before minTimestamp (the
// retention).
func (r *Request) Points(now, minTimestamp int64) (pts []point.Point, positions []int, rejected []point.Rejection) {
	pts = make([]point.Point, 0, len(r.Events))
	positions = make([]int, 0, len(r.Events))
	for i := range r.Events {
		ev := &r.Events[i]
		p, err := ev.point(now, r.SentAt, minTimestamp)
		if err != nil {
			rejected = append(rejected, point.Rejection{Position: ev.Position, Error: err.Error()})
			continue
		}
		pts = append(pts, p)
		positions = append(positions, ev.Position)
	}
	return pts, positions, rejected
}

// point maps one event. The mapping is the contract the web analytics
// answers are built on; the README's built-in dataset tables document it.
func (ev *Event) point(now, sentAt, minTimestamp int64) (point.Point, error) {
	ds := Datasets[ev.Type]
	s := schemas[ds]
	p := point.Point{Dataset: ds, Timestamp: now}
	if sentAt > 0 && ev.Timestamp > 0 {
		age := sentAt - int64(ev.Timestamp)
		if age > MaxAgeMillis {
			return p, fmt.Errorf("timestamp is %s before sentAt; the limit is %s", time.Duration(age)*time.Millisecond, time.Duration(MaxAgeMillis)*time.Millisecond)
		}
		p.Timestamp = now - max(age, 0)
	}
	if p.Timestamp < minTimestamp {
		return p, fmt.Errorf("timestamp is older than the retention allows")
	}
	var page Page
	if ev.URL != "" {
		var err error
		if page, err = ParsePage(ev.URL); err != nil {
			return p, err
		}
	}
	if ev.Path != "" {
		page.Path = ev.Path
	}
	set := func(name string, v any) {
		if !s.Set(&p, name, v) {
			panic(fmt.Sprintf("BUG: %s has no field %q of %T", ds, name, v))
		}
	}
	if ev.Type == TypeLog {
		// The page, the user and the props are the record's attributes.
		attrs := map[string]any{"path": page.Path, "host": page.Host}
		if ev.User != "" {
			attrs["user"] = ev.User
		}
		var props map[string]json.RawMessage
		_ = json.Unmarshal(ev.Props, &props)
		for k, v := range props {
			if _, ok := attrs[k]; !ok {
				attrs[k] = v
			}
		}
		raw, _ := json.Marshal(attrs)
		a, err := logs.Attributes(raw)
		if err != nil {
			return p, fmt.Errorf("props: %w", err)
		}
		_, severity, _ := logs.Level(ev.Level)
		p.Index = LogService
		set("level", ev.Level)
		set("message", ev.Message)
		set("attributes", a)
		set("service", LogService)
		set("origin", logs.OriginBrowser)
		set("severity", severity)
		return p, nil
	}
	set("path", page.Path)
	set("host", page.Host)
	set("user", ev.User)
	switch ev.Type {
	case TypePageview:
		set("page", textlimit.Cut(page.Path, point.MaxIndexBytes))
		set("referrer", StripURL(ev.Referrer))
		set("referrer_host", ReferrerHost(ev.Referrer, page.Host))
		set("utm_source", page.UTM.Source)
		set("utm_medium", page.UTM.Medium)
		set("utm_campaign", page.UTM.Campaign)
		set("utm_term", page.UTM.Term)
		set("utm_content", page.UTM.Content)
		set("load_time", ev.LoadTime)
	case TypeEvent:
		set("event_name", ev.Name)
		set("name", ev.Name)
		set("props", string(ev.Props))
		set("value", ev.Value)
	case TypeVital:
		set("metric", ev.Name)
		set("name", ev.Name)
		set("rating", ev.Rating)
		set("navigation_type", ev.NavigationType)
		set("attribution", ev.Attribution)
		set("metric_id", ev.ID)
		set("value", ev.Value)
		set("delta", ev.Delta)
	case TypeAPICall:
		set("endpoint", ev.Endpoint)
		set("url", StripURL(ev.RequestURL))
		set("method", ev.Method)
		set("duration", ev.Duration)
		set("status", ev.Status)
		ok := ev.Status > 0 && ev.Status < 400
		if ev.Success != nil {
			ok = *ev.Success
		}
		set("success", b2f(ok))
	case TypeError:
		set("error_type", ev.ErrorType)
		set("type", ev.ErrorType)
		set("message", ev.Message)
		set("stack", ev.Stack)
		set("source", StripURL(ev.Source))
		set("count", 1.0)
		set("line", ev.Line)
		set("column", ev.Column)
	case TypeAction:
		set("action_type", ev.Action)
		set("action", ev.Action)
		set("component", ev.Component)
		set("duration", ev.Duration)
	case TypeWebSocket:
		set("event_kind", ev.Kind)
		set("event", ev.Kind)
		set("channel", ev.Channel)
		set("error", ev.Error)
		set("side", Side)
		set("duration", ev.Duration)
		set("code", ev.Code)
		set("messages_in", ev.MessagesIn)
		set("messages_out", ev.MessagesOut)
		set("attempt", ev.Attempt)
	}
	return p, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
