package errtrack

import "encoding/json"

// Event is a Sentry error event as Alidade reads it, whatever the SDK's
// shape (see flex.go): the parts that grouping, the error groups, the
// datasets and the event API use. The payload itself is kept as sent.
type Event struct {
	EventID     string
	Timestamp   int64 // Unix ms; 0 when the event has none
	Level       string
	Platform    string
	Logger      string
	Transaction string
	ServerName  string
	Release     string
	Dist        string
	Environment string
	// Message is the formatted message (message, or logentry.formatted,
	// or logentry.message with its params); Template the unformatted one
	// when the SDK sent it (logentry.message), which groups better.
	Message     string
	Template    string
	Exceptions  []Exception // oldest first: the last one is the main one
	Stacktrace  *Stacktrace // the event's own stack (attach_stacktrace), or a thread's
	Breadcrumbs []Breadcrumb
	Tags        []Pair
	Contexts    json.RawMessage
	Extra       json.RawMessage
	User        User
	Request     *Request
	SDK         SDK
	Fingerprint []string
	Modules     json.RawMessage
}

// Exception is one exception of the chain.
type Exception struct {
	Type       string      `json:"type"`
	Value      string      `json:"value"`
	Module     string      `json:"module,omitempty"`
	Mechanism  *Mechanism  `json:"mechanism,omitempty"`
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`
}

// Mechanism says how an exception was caught.
type Mechanism struct {
	Type    string `json:"type,omitempty"`
	Handled *bool  `json:"handled,omitempty"`
}

// Stacktrace holds frames oldest first: the last frame is where the error
// was raised.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Frame is one stack frame.
type Frame struct {
	Function    string          `json:"function,omitempty"`
	Module      string          `json:"module,omitempty"`
	Package     string          `json:"package,omitempty"`
	Filename    string          `json:"filename,omitempty"`
	AbsPath     string          `json:"abs_path,omitempty"`
	Lineno      int             `json:"lineno,omitempty"`
	Colno       int             `json:"colno,omitempty"`
	InApp       *bool           `json:"in_app,omitempty"`
	ContextLine string          `json:"context_line,omitempty"`
	PreContext  []string        `json:"pre_context,omitempty"`
	PostContext []string        `json:"post_context,omitempty"`
	Vars        json.RawMessage `json:"vars,omitempty"`
	Platform    string          `json:"platform,omitempty"`
}

// Breadcrumb is one breadcrumb.
type Breadcrumb struct {
	Timestamp int64           `json:"-"`
	Type      string          `json:"type,omitempty"`
	Category  string          `json:"category,omitempty"`
	Message   string          `json:"message,omitempty"`
	Level     string          `json:"level,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// User is the event's user.
type User struct {
	ID        string          `json:"id,omitempty"`
	Email     string          `json:"email,omitempty"`
	Username  string          `json:"username,omitempty"`
	IPAddress string          `json:"ip_address,omitempty"`
	Name      string          `json:"name,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Key identifies the user for "users affected": the id, else the email,
// else the username, else the IP address; "" when none.
func (u User) Key() string {
	for _, s := range []string{u.ID, u.Email, u.Username, u.IPAddress} {
		if s != "" {
			return s
		}
	}
	return ""
}

// Request is the HTTP request the event happened in.
type Request struct {
	URL         string          `json:"url,omitempty"`
	Method      string          `json:"method,omitempty"`
	QueryString string          `json:"query_string,omitempty"`
	Headers     []Pair          `json:"headers,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// SDK names the client.
type SDK struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// The wire shapes the other items' decoders (items.go) share with
// encoding/json; DecodeEvent reads the same shapes with fastjson (below).
type wireUser struct {
	ID        flexString `json:"id"`
	Email     flexString `json:"email"`
	Username  flexString `json:"username"`
	IPAddress flexString `json:"ip_address"`
	Name      flexString `json:"name"`
	Data      rawValue   `json:"data"`
}

type wireRequest struct {
	URL         flexString      `json:"url"`
	Method      flexString      `json:"method"`
	QueryString json.RawMessage `json:"query_string"`
	Headers     pairs           `json:"headers"`
	Data        rawValue        `json:"data"`
}

type wireSDK struct {
	Name    flexString `json:"name"`
	Version flexString `json:"version"`
}

// Limits of what is kept of an event's fields (the payload itself is kept
// whole); past them a string is cut and marked "…".
const (
	maxShortString = 200  // ids, names, release, environment, level
	maxTitle       = 256  // titles and culprits
	maxMessage     = 8192 // messages and exception values
	maxFrames      = 250  // frames per stack trace kept for grouping and display
	maxCrumbs      = 100
	maxExceptions  = 25
	maxTags        = 200
)
