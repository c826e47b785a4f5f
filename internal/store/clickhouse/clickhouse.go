// Package clickhouse is the points store on ClickHouse (issue 18): one
// server, or a cluster of shards behind a Distributed table. It talks to
// ClickHouse's HTTP interface with net/http and runs on Debian's
// clickhouse-server 18.16 (what the tests run) and on current servers.
//
// The points table (see createTables) holds every project's points:
//
//	project UInt64, dataset String,
//	timestamp DateTime, timestamp_ms UInt16,
//	_sample_interval UInt32, index1 String,
//	blob1..blob20 String, double1..double20 Float64
//	PARTITION BY toDate(timestamp) ORDER BY (project, dataset, timestamp)
//
// A point's Unix millisecond timestamp is split in two: timestamp, the
// whole seconds as a DateTime, and timestamp_ms, the milliseconds within
// that second. 18.16 has no DateTime64; a DateTime column is what the SQL
// API's queries compare and format (aesql.ClickHouseSource selects it as
// is, and the printer's time functions take a DateTime), is the sort and
// partition key that range filters prune with, and costs 4 bytes; the 2
// bytes of timestamp_ms keep the point's exact instant for ScanRange and
// the conformance suite. A single Int64 of milliseconds would need the SQL
// API's every reference to timestamp to go through toDateTime(intDiv(...)),
// which 18.16 cannot prune the primary key with. DateTime is unsigned
// 32-bit seconds: points before 1970 or from 2106 on are refused.
//
// The points table is a ReplicatedMergeTree when the server defines the
// {shard} and {replica} macros (a cluster with ZooKeeper), else a
// MergeTree; the Distributed table over a cluster's shards shards by a
// hash of the row, so that the same INSERT repeated is the same blocks on
// every shard, which a replicated table drops (see Deduplicates).
//
// Error tracking's events and attachments have tables of their own
// (errors.go), created with the points table.
//
// The server's time zone must be UTC (Open checks): toDate(timestamp)
// partitions by UTC day and the printer's functions compute in it.
package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SchemaVersion is the version of the tables this package creates; Open
// records it in the schema_version table and refuses a database that a
// newer Alidade created.
const SchemaVersion = 1

// Options configure Open.
type Options struct {
	// URL is clickhouse://host:port/database[?cluster=NAME&user=U&password=P&rollups=on].
	// port is the HTTP interface's (8123 by default). With cluster, the
	// points live in local tables created ON CLUSTER NAME on every shard
	// and are read and written through a Distributed table over them;
	// the server at host:port is the one Alidade talks to. rollups=on
	// gives the database rollup tables (see rollup.go), kept from then
	// on; without it a database has them only if it was made with them.
	URL string
	// Timeout bounds one request; zero means 5 minutes.
	Timeout time.Duration
	// Rollups has Execute answer the Subs the rollup table covers from it
	// (Sub.Source auto or rollup; see rollupquery.go), when the database
	// has rollup tables (the URL's rollups=on). Without it a database's
	// rollup tables are still filled (their views run on every INSERT)
	// but not read.
	Rollups bool
}

// Config is a parsed, validated URL.
type Config struct {
	HTTP     string // http://host:port/
	Database string
	Cluster  string
	User     string
	Password string
	// Rollups is the URL's rollups parameter: "on" (create the rollup
	// tables when missing), "off" (refuse a database that has them), or
	// "" (whatever the database has).
	Rollups string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseURL parses and validates a clickhouse:// URL; its errors name the
// bad part and never repeat the password.
func ParseURL(raw string) (*Config, error) {
	if raw == "" {
		return nil, errors.New("clickhouse: the URL is empty; want clickhouse://host:8123/database")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: the URL does not parse (want clickhouse://host:8123/database): %v", redactErr(err, raw))
	}
	if u.Scheme != "clickhouse" {
		return nil, fmt.Errorf("clickhouse: URL scheme %q; want clickhouse://", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("clickhouse: the URL has user info before the host; give ?user=...&password=... instead")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, errors.New("clickhouse: the URL has no host; want clickhouse://host:8123/database")
	}
	if port == "" {
		port = "8123"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("clickhouse: URL port %q is not a port number (1-65535)", port)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return nil, errors.New("clickhouse: the URL has no database; want clickhouse://host:8123/database")
	}
	if !identRE.MatchString(db) {
		return nil, fmt.Errorf("clickhouse: URL database %q is not a plain identifier (letters, digits, _; not starting with a digit)", db)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("clickhouse: the URL has a fragment %q; remove it", u.Fragment)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: the URL's query does not parse: %v", redactErr(err, u.RawQuery))
	}
	c := &Config{HTTP: "http://" + net.JoinHostPort(host, port) + "/", Database: db}
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("clickhouse: URL parameter %q is given %d times; give it once", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "cluster":
			if !identRE.MatchString(v) {
				return nil, fmt.Errorf("clickhouse: URL parameter cluster=%q is not a plain identifier", v)
			}
			c.Cluster = v
		case "user":
			if v == "" {
				return nil, errors.New("clickhouse: URL parameter user is empty")
			}
			c.User = v
		case "password":
			c.Password = v
		case "rollups":
			if v != "on" && v != "off" {
				return nil, fmt.Errorf("clickhouse: URL parameter rollups=%q; want on or off", v)
			}
			c.Rollups = v
		default:
			return nil, fmt.Errorf("clickhouse: unknown URL parameter %q; known: cluster, user, password, rollups", k)
		}
	}
	if c.Password != "" && c.User == "" {
		return nil, errors.New("clickhouse: URL parameter password without user")
	}
	return c, nil
}

// redactErr drops the text of the URL (which may hold a password) from a
// parse error.
func redactErr(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return strings.ReplaceAll(err.Error(), raw, "...")
}

// Store is the ClickHouse points store.
type Store struct {
	cfg     Config
	http    *http.Client
	version Version // the oldest server's (see detectFeatures)
	// features are the newer servers' features this store uses.
	features Features
	// table is what points are written to and read from: db.points,
	// the MergeTree table, or with a cluster the Distributed table over
	// the shards' db.points_local.
	table string
	local string
	// engine is the local table's engine; dedup, whether a repeated
	// insert is dropped (see Deduplicates).
	engine string
	dedup  bool
	// rollups is Options.Rollups; hasRollup, whether the database has
	// rollup tables; rollup, what rollup_state said at Open.
	rollups   bool
	hasRollup bool
	rollup    rollupState
	// cascadeTable: the server fires a view on the rows another view
	// writes into its TO table (see cascadesFromTable); specID, the
	// views' SELECTs' rollupSpecID.
	cascadeTable bool
	specID       string
	// rowCache is the tables' rows by day that source auto decides by
	// (rollupcost.go).
	rowCache rowCache

	mu   sync.Mutex
	days []int64 // as DaysContext last read them
	// size is SizeBytes's answer, read at sizeAt when writes was
	// sizeGen; every write of this store adds to writes.
	writes  atomic.Int64
	sizeMu  sync.Mutex
	size    int64
	sizeAt  time.Time
	sizeGen int64
}

// Open connects, checks the server (time zone UTC), reads the version of
// every server it writes to and so the Features it uses, and creates the
// database and tables when missing.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	s := &Store{
		cfg: *cfg,
		// ClickHouse closes an idle keep-alive connection after its
		// keep_alive_timeout (3 s on 18.16); closing ours sooner avoids
		// reusing one it is closing (a spurious EOF on the next request).
		http: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			IdleConnTimeout:     2 * time.Second,
			MaxIdleConnsPerHost: 8,
		}, Timeout: timeout},
		table:   cfg.Database + ".points",
		rollups: opts.Rollups,
	}
	if cfg.Cluster != "" {
		s.local = cfg.Database + ".points_local"
	} else {
		s.local = s.table
	}
	out, err := s.query(ctx, "SELECT version(), timezone()", nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	_, tz, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if tz != "UTC" && tz != "Etc/UTC" {
		s.Close()
		return nil, fmt.Errorf("clickhouse %s: the server's time zone is %q; Alidade needs UTC (<timezone>UTC</timezone> in its config)", s.cfg.HTTP, tz)
	}
	if err := s.detectFeatures(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.createTables(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.openRollup(ctx, strings.HasPrefix(s.engine, "Replicated")); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes idle connections.
func (s *Store) Close() error {
	s.http.CloseIdleConnections()
	return nil
}

// Version is the server's version; with a cluster, the oldest shard's.
func (s *Store) Version() Version { return s.version }

// Table is the table the points are read from (database.table).
func (s *Store) Table() string { return s.table }

// query runs sql (in the POST body, or in the URL when body is not nil:
// INSERT ... FORMAT with its data as the body) and returns the answer.
// Errors carry ClickHouse's message (which for a shard down names it).
func (s *Store) query(ctx context.Context, sql string, body io.Reader, settings ...string) (string, error) {
	var buf bytes.Buffer
	if err := s.do(ctx, sql, body, &buf, settings...); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func (s *Store) do(ctx context.Context, sql string, body io.Reader, w io.Writer, settings ...string) error {
	params := url.Values{}
	if body == nil {
		// wait_end_of_query buffers the answer on the server so that an
		// error in the middle of a result is an HTTP error, not a
		// truncated 200 (an INSERT has no answer to buffer).
		params.Set("wait_end_of_query", "1")
	}
	for i := 0; i+1 < len(settings); i += 2 {
		params.Set(settings[i], settings[i+1])
	}
	if body != nil {
		params.Set("query", sql)
	} else {
		body = strings.NewReader(sql)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.HTTP+"?"+params.Encode(), body)
	if err != nil {
		return fmt.Errorf("clickhouse %s: %w", s.cfg.HTTP, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.User != "" {
		req.SetBasicAuth(s.cfg.User, s.cfg.Password)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("clickhouse %s: %w", s.cfg.HTTP, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
		return &Error{Server: s.cfg.HTTP, Status: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("clickhouse %s: read the answer: %w", s.cfg.HTTP, err)
	}
	return nil
}

// Error is an error answer of ClickHouse.
type Error struct {
	Server  string
	Status  int
	Message string // ClickHouse's text: "Code: N, e.displayText() = ..."
}

func (e *Error) Error() string {
	return fmt.Sprintf("clickhouse %s: HTTP %d: %s", e.Server, e.Status, e.Message)
}

// Code is ClickHouse's error code, 0 when the message has none.
func (e *Error) Code() int {
	m := strings.TrimPrefix(e.Message, "Code: ")
	if len(m) == len(e.Message) {
		return 0
	}
	end := strings.IndexFunc(m, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(m)
	}
	n, _ := strconv.Atoi(m[:end])
	return n
}
