// Package store holds what every storage backend and its consumers share: the
// unit of a durable write. Backends live in sub-packages (duckdb, and later
// clickhouse), and storetest is the conformance suite every backend passes.
// Interfaces are not defined here: each consumer (ingest, query, server)
// declares the few methods it needs.
package store

import (
	"errors"
	"fmt"

	"github.com/alidade/alidade/internal/point"
)

// Batch is a project's points, validated and timestamped, ready to commit.
type Batch struct {
	Project int64
	Points  []point.Point
	// Idem, when set, is recorded with the points (see Idem); a batch may
	// carry a record and no point.
	Idem *Idem
}

// PartialCommitError is an append that failed after committing the
// points of some days (a store commits each day file in a transaction of
// its own): Committed lists those days (their starts, Unix ms), whose
// points are stored; the others are not.
type PartialCommitError struct {
	Committed []int64
	Err       error
}

func (e *PartialCommitError) Error() string {
	return fmt.Sprintf("%v (the points of %d earlier day(s) of the same write were committed)", e.Err, len(e.Committed))
}

func (e *PartialCommitError) Unwrap() error { return e.Err }

// ExpireReport says what one retention pass removed.
type ExpireReport struct {
	FilesRemoved    int
	BytesFreed      int64
	RowsDeleted     int64
	DatasetsTrimmed int
}

// DayMs is a UTC day in milliseconds.
const DayMs = 24 * 60 * 60 * 1000

// DayStart returns the start (Unix ms) of the UTC day of ts, also for
// negative ts: the day file a point goes to.
func DayStart(ts int64) int64 {
	return ts - ((ts%DayMs)+DayMs)%DayMs
}

// TableDay names the points of one project's dataset on one UTC day.
type TableDay struct {
	Project int64
	Dataset string
	Day     int64 // Unix ms of the day's start
}

// Idem is a write's idempotency record. It is committed with the write's
// points, in the same transaction, in every day file they fall in (also
// where sampling kept none of them), so that a retry of the write, even
// after a crash between the commit and the answer, finds it and stores
// nothing twice.
type Idem struct {
	Key  string // the client's Idempotency-Key
	Hash string // identifies the request (body, dataset, format)
	// Days are the starts (Unix ms) of the UTC days the write's points
	// fall in; Append records the key in each.
	Days   []int64
	Status int    // the answer's HTTP status
	Body   []byte // the answer
	At     int64  // when the write was first received (Unix ms)
	// Found is set by the commit when an earlier write recorded Key
	// within IdemWindow: its record, whose answer is the one to give. The
	// points of the days it recorded are then not stored again (none at
	// all when its Hash differs: the key was reused for another write).
	Found *Idem
}

// IdemWindow is how long an idempotency record holds (ms).
const IdemWindow = DayMs

// Alidade's logs whose positions day files record (AppendAtLog): the
// write-ahead log of points (--wal on) and error tracking's journal.
const (
	MainLog      = 1
	ErrorJournal = 2
)

// LogPos is a position in Alidade's write-ahead log: the end of a record
// (its segment and the offset just after it). Positions are ordered by
// (Seg, Off); the zero LogPos is before every record.
type LogPos struct {
	Seg uint64
	Off int64
}

// Less reports whether p is before q.
func (p LogPos) Less(q LogPos) bool { return p.Seg < q.Seg || p.Seg == q.Seg && p.Off < q.Off }

// IsZero reports whether p is the zero position.
func (p LogPos) IsZero() bool { return p == LogPos{} }

func (p LogPos) String() string { return fmt.Sprintf("%020d.wal@%d", p.Seg, p.Off) }

// ErrUnavailable says that a backend holding the data (a ClickHouse server
// or shard, the PostgreSQL of the metadata) cannot be reached now: the
// answer would be partial or missing, so the caller answers 503 and the
// client retries. Errors wrap it through UnavailableError.
var ErrUnavailable = errors.New("store unavailable")

// ErrIdemInProgress says that a write with the same Idempotency-Key is in
// progress on another node of a cluster: the server answers 409 and the
// client retries the same request later.
var ErrIdemInProgress = errors.New("a write with this Idempotency-Key is in progress")

// UnavailableError is an error of an unreachable backend (What names it).
type UnavailableError struct {
	What string
	Err  error
}

func (e *UnavailableError) Error() string { return e.What + " unavailable: " + e.Err.Error() }

// Unwrap lets errors.Is find both ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
