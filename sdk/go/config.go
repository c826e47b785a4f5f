package alidade

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Overflow is what Write does when the buffer is full.
type Overflow int

const (
	// DropNewest refuses the point being written (the default): what is
	// already buffered is kept, in order.
	DropNewest Overflow = iota
	// DropOldest makes room by dropping the oldest buffered points that are
	// not being sent at the moment, so the freshest data survives an outage.
	DropOldest
)

// String returns the policy's name.
func (o Overflow) String() string {
	switch o {
	case DropNewest:
		return "DropNewest"
	case DropOldest:
		return "DropOldest"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// GzipMode says whether write bodies are gzipped.
type GzipMode int

const (
	// GzipOn compresses every write body (the default).
	GzipOn GzipMode = iota
	// GzipOff sends write bodies as plain NDJSON.
	GzipOff
)

// Defaults of Config. A zero field takes its default.
const (
	DefaultBatchSize      = 1000
	DefaultFlushInterval  = time.Second
	DefaultBufferSize     = 100_000
	DefaultMaxBufferBytes = 32 << 20
	DefaultMaxRetryTime   = 10 * time.Minute
	DefaultMinBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultErrorInterval  = 10 * time.Second
)

const (
	// maxBatchBytes bounds the buffered size of one batch (about the size of
	// its NDJSON before compression), far under the server's 10 MB body limit
	// even when every byte needs escaping.
	maxBatchBytes = 1 << 20
	// minBufferBytes is the smallest MaxBufferBytes: room for a few points
	// of the largest size.
	minBufferBytes = 64 << 10
	// maxRetryAfter caps a server's Retry-After.
	maxRetryAfter = 5 * time.Minute
)

// Config configures a Client. Only URL and Key are required; every other zero
// field takes its default.
type Config struct {
	// URL is the Alidade server's base URL, e.g. "https://alidade.example.com"
	// (points are posted to URL + "/api/v1/points").
	URL string
	// Key is a write (or admin) key of the project.
	Key string

	// Service names this application; Middleware records it in the service
	// blob of the requests dataset. Optional.
	Service string

	// BatchSize is the most points sent in one request (default 1000). A
	// batch is also cut at about 1 MB of point data.
	BatchSize int
	// FlushInterval is the longest a point waits in the buffer before its
	// batch is sent (default 1s).
	FlushInterval time.Duration
	// BufferSize is the most points held in memory, including the batch
	// being sent (default 100,000).
	BufferSize int
	// MaxBufferBytes bounds the memory of buffered points (default 32 MB;
	// at least 64 KB).
	MaxBufferBytes int
	// Overflow is what happens to a Write when the buffer is full
	// (default DropNewest). Write never blocks either way.
	Overflow Overflow

	// MaxRetries bounds the retries of one batch after a network error, a
	// 429 or a 5xx. 0 means no bound other than MaxRetryTime; a negative
	// value disables retries.
	MaxRetries int
	// MaxRetryTime is the longest one batch is retried before it is dropped
	// (default 10 minutes); a negative value means no limit. While a batch
	// is being retried, later points wait in the buffer.
	MaxRetryTime time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries (defaults 250ms and 30s). The wait before retry n (from 0) is
	// drawn uniformly from [b/2, b] where b = min(MaxBackoff, MinBackoff·2ⁿ),
	// and is never shorter than the server's Retry-After.
	MinBackoff, MaxBackoff time.Duration

	// HTTPClient sends the requests (default: a client of its own, with a
	// clone of http.DefaultTransport).
	HTTPClient *http.Client
	// Timeout bounds one write request (default 30s).
	Timeout time.Duration
	// Gzip says whether bodies are gzipped (default GzipOn).
	Gzip GzipMode

	// ErrorHandler, when set, is told about delivery problems: points
	// dropped or rejected, failed requests that will be retried, internal
	// errors. It is called from the Client's background goroutine, at most
	// once per ErrorInterval (the errors in between are counted in the next
	// message), and must not block for long. A panic in it is recovered.
	ErrorHandler func(error)
	// ErrorInterval is the least time between two ErrorHandler calls
	// (default 10s).
	ErrorInterval time.Duration
}

// Validate reports what is wrong with the configuration, if anything. New
// does not fail: a Client made from an invalid Config drops every point and
// returns this error from Write, Flush and Close.
func (c Config) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("alidade: config: URL is empty; set it to the server's base URL, e.g. http://127.0.0.1:8080")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("alidade: config: URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("alidade: config: URL %q must be an absolute http:// or https:// URL", c.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("alidade: config: URL %q must not have a query or fragment", c.URL)
	}
	if c.Key == "" {
		return fmt.Errorf("alidade: config: Key is empty; set it to a write key of the project")
	}
	if strings.ContainsAny(c.Key, "\r\n") {
		return fmt.Errorf("alidade: config: Key has a line break")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"BatchSize", int64(c.BatchSize)},
		{"FlushInterval", int64(c.FlushInterval)},
		{"BufferSize", int64(c.BufferSize)},
		{"MaxBufferBytes", int64(c.MaxBufferBytes)},
		{"MinBackoff", int64(c.MinBackoff)},
		{"MaxBackoff", int64(c.MaxBackoff)},
		{"Timeout", int64(c.Timeout)},
		{"ErrorInterval", int64(c.ErrorInterval)},
	} {
		if f.v < 0 {
			return fmt.Errorf("alidade: config: %s is negative", f.name)
		}
	}
	if c.MaxBufferBytes != 0 && c.MaxBufferBytes < minBufferBytes {
		return fmt.Errorf("alidade: config: MaxBufferBytes is %d; the least is %d", c.MaxBufferBytes, minBufferBytes)
	}
	if c.Overflow != DropNewest && c.Overflow != DropOldest {
		return fmt.Errorf("alidade: config: unknown Overflow %d; use DropNewest or DropOldest", int(c.Overflow))
	}
	if c.Gzip != GzipOn && c.Gzip != GzipOff {
		return fmt.Errorf("alidade: config: unknown Gzip mode %d; use GzipOn or GzipOff", int(c.Gzip))
	}
	return nil
}

// withDefaults returns c with every zero field set to its default, and the
// batch bounded by the buffer.
func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.MaxBufferBytes == 0 {
		c.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if c.BatchSize > c.BufferSize {
		c.BatchSize = c.BufferSize
	}
	if c.MaxRetryTime == 0 {
		c.MaxRetryTime = DefaultMaxRetryTime
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ErrorInterval == 0 {
		c.ErrorInterval = DefaultErrorInterval
	}
	if c.HTTPClient == nil {
		var rt http.RoundTripper = http.DefaultTransport
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t = t.Clone()
			t.MaxIdleConnsPerHost = 4
			rt = t
		}
		c.HTTPClient = &http.Client{Transport: rt}
	}
	return c
}

// batchBytes is the buffered size at which a batch is cut.
func (c *Config) batchBytes() int {
	return min(maxBatchBytes, c.MaxBufferBytes/4)
}
