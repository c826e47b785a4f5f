package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/alidade/alidade/internal/store"
)

// Errors of Append.
var (
	// ErrFull is a log at its size limit: the loader has fallen behind.
	ErrFull = errors.New("write-ahead log is full")
	// ErrClosed is a closed log.
	ErrClosed = errors.New("write-ahead log is closed")
)

// DiskFullError is a write the disk had no room for. Nothing of it is
// acknowledged; the log stays usable and takes writes again once space
// returns.
type DiskFullError struct{ Err error }

func (e *DiskFullError) Error() string {
	return "the disk of the write-ahead log is full: " + e.Err.Error()
}
func (e *DiskFullError) Unwrap() error { return e.Err }

// Options configure a Log.
type Options struct {
	// Dir holds the segment files.
	Dir string
	// SegmentBytes is the size past which a new segment starts (default
	// 64 MiB); a record never spans two.
	SegmentBytes int64
	// MaxBytes bounds the segments not yet released (default 1 GiB):
	// Append fails with ErrFull past it.
	MaxBytes int64
	Logger   *slog.Logger
	// Write, when set, replaces the write of records to a segment file:
	// tests make it fail as a full disk does. Nil means f.Write.
	Write func(f *os.File, b []byte) (int, error)
	// Opaque makes a log of records whose payloads the caller encodes
	// (AppendRaw, ReplayRaw): Open checks their frames and checksums only.
	// A log holds one kind of record or the other.
	Opaque bool
	// sync replaces fdatasync in tests (to make it fail).
	sync func(f *os.File) error
}

// Pos is a position in the log: the end of a record (its segment and the
// offset just after it).
type Pos = store.LogPos

// chunk is encoded records bound for one segment.
type chunk struct {
	seg  uint64
	data []byte
}

// Log is the write-ahead log. Append is safe for concurrent use: writers
// waiting together share one write and one fdatasync.
type Log struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	cond *sync.Cond
	// pending holds the records not yet written, in order; pendSeg and
	// pendOff are where the next record goes.
	pending      []chunk
	pendSeg      uint64
	pendOff      int64
	seq, durable uint64 // records appended, records synced
	leader       bool   // a writer is writing and syncing
	// failed holds, for each writer whose records a failed group took,
	// the failure, until that writer has read it (by seq): a later failed
	// group must not hide an earlier one from a writer still asleep.
	failed           map[uint64]error
	f                *os.File
	fSeg             uint64
	fOff             int64            // bytes of f written
	sizes            map[uint64]int64 // bytes of every segment not released
	closed           bool
	releasedTo       Pos    // every record up to it is loaded
	first            uint64 // the oldest segment kept
	recovered, total int64

	// acked is the end of the last group written and synced whole:
	// readers stop there, and a failed group is cut back to it.
	acked Pos
	// broken is set when a failed group could not be cut back: the log
	// takes no more writes (a restart checks and recovers it).
	broken error
}

const segSuffix = ".wal"

func segName(seg uint64) string { return fmt.Sprintf("%020d%s", seg, segSuffix) }

// Open opens the log in opts.Dir, creating it, and checks every segment:
// a record cut short at the very end of the last segment (a write that
// was never acknowledged) is dropped with a log line; any other damage
// stops Open with an error naming the segment and the offset.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("wal: no directory")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 30
	}
	if opts.sync == nil {
		opts.sync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
	}
	if opts.Write == nil {
		opts.Write = func(f *os.File, b []byte) (int, error) { return f.Write(b) }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create the write-ahead log directory: %w", err)
	}
	l := &Log{opts: opts, log: log, sizes: map[uint64]int64{}}
	l.cond = sync.NewCond(&l.mu)
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	for i, seg := range segs {
		size, err := l.check(seg, i == len(segs)-1)
		if err != nil {
			return nil, err
		}
		l.sizes[seg] = size
		l.total += size
	}
	next := uint64(1)
	if n := len(segs); n > 0 {
		next = segs[n-1]
		l.first = segs[0]
	} else {
		l.first = 1
	}
	// Writes continue in the last segment, after its last good record.
	if err := l.openSegment(next); err != nil {
		return nil, err
	}
	l.acked = Pos{Seg: l.fSeg, Off: l.fOff}
	l.pendSeg, l.pendOff = l.fSeg, l.fOff
	return l, nil
}

// segments lists the segment numbers in the directory, in order.
func (l *Log) segments() ([]uint64, error) {
	ents, err := os.ReadDir(l.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("read the write-ahead log directory: %w", err)
	}
	var segs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("write-ahead log: %s is not a segment file (move it out of %s)", e.Name(), l.opts.Dir)
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	return segs, nil
}

// check reads a segment's records and returns the size of its good part.
// In the last segment a damaged tail is cut off; elsewhere it is an error.
func (l *Log) check(seg uint64, last bool) (int64, error) {
	path := filepath.Join(l.opts.Dir, segName(seg))
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read write-ahead log segment: %w", err)
	}
	off := 0
	for off < len(data) {
		var n int
		var err error
		if l.opts.Opaque {
			_, n, err = Frame(data[off:])
		} else {
			_, n, err = Decode(data[off:])
		}
		if err == nil {
			off += n
			continue
		}
		if last && l.tornTail(data[off:], err) {
			l.log.Warn("write-ahead log: dropping a record cut short at the end of the log (a write that was never acknowledged)",
				"segment", segName(seg), "offset", off, "bytes", len(data)-off, "reason", err.Error())
			if err := os.Truncate(path, int64(off)); err != nil {
				return 0, fmt.Errorf("cut the torn record off %s: %w", path, err)
			}
			l.recovered += int64(len(data) - off)
			return int64(off), nil
		}
		return 0, fmt.Errorf("write-ahead log segment %s is damaged at offset %d (%v); the records before it are intact. "+
			"Stop here and copy %s aside: records after the damage may hold acknowledged writes. To start without them, "+
			"cut the segment at offset %d (truncate -s %d %s) and move any later segments out of %s",
			segName(seg), off, err, l.opts.Dir, off, off, path, l.opts.Dir)
	}
	return int64(off), nil
}

// tornTail reports whether a damaged record at the end of the log is a
// write cut short: its end lies past the file, or nothing valid follows
// it and the rest is what a cut write leaves (its own bytes, or zeros).
func (l *Log) tornTail(rest []byte, err error) bool {
	if errors.Is(err, ErrTorn) {
		return true
	}
	// A record whose length fits but whose bytes did not all reach the
	// disk fails its checksum: it is torn if it is the last thing there.
	if len(rest) < headerSize {
		return true
	}
	n := int(uint32(rest[0]) | uint32(rest[1])<<8 | uint32(rest[2])<<16 | uint32(rest[3])<<24)
	return n <= MaxRecord && headerSize+n >= len(rest)
}

// openSegment makes seg the segment writes go to, creating it.
func (l *Log) openSegment(seg uint64) error {
	path := filepath.Join(l.opts.Dir, segName(seg))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open write-ahead log segment: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return fmt.Errorf("open write-ahead log segment: %w", err)
	}
	if _, ok := l.sizes[seg]; !ok {
		// A new file: make its directory entry durable.
		if err := syncDir(l.opts.Dir); err != nil {
			f.Close()
			return err
		}
		l.sizes[seg] = 0
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.fSeg, l.fOff = f, seg, off
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync the write-ahead log directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync the write-ahead log directory: %w", err)
	}
	return nil
}

// Append logs b and returns once it is durable (written and fdatasynced),
// with the position after its record. Concurrent Appends share writes and
// syncs. ErrFull says the log is at MaxBytes; a *DiskFullError that the
// disk had no room. On any error nothing of b is acknowledged (nor ever
// loaded), and a later Append may succeed; only when the log cannot cut a
// failed write off again does every later Append fail, until a restart.
func (l *Log) Append(ctx context.Context, b *store.Batch) (Pos, error) {
	return l.AppendBatches(ctx, []store.Batch{*b})
}

// AppendBatches logs a record per batch, in order, and returns once they
// are durable, with the position after the last. It is Append for a group
// commit's batches: all or none of them are acknowledged.
func (l *Log) AppendBatches(ctx context.Context, bs []store.Batch) (Pos, error) {
	recs := make([][]byte, len(bs))
	for i := range bs {
		recs[i] = AppendRecord(nil, &bs[i])
	}
	return l.appendRecords(recs)
}

// AppendRaw logs a record per payload (an opaque log's: Options.Opaque),
// in order, and returns once they are durable, with the position after
// the last; all or none of them are acknowledged, as AppendBatches.
func (l *Log) AppendRaw(ctx context.Context, payloads ...[]byte) (Pos, error) {
	recs := make([][]byte, len(payloads))
	for i, p := range payloads {
		if len(p) > MaxRecord {
			return Pos{}, fmt.Errorf("write-ahead log record of %d bytes is over the %d-byte limit", len(p), MaxRecord)
		}
		recs[i] = AppendFrame(nil, p)
	}
	return l.appendRecords(recs)
}

// AppendFramed logs one record of an opaque log built in place:
// ReserveFrame, then the payload appended. It fills in the frame's
// header (rec is the caller's no more) and returns once it is durable.
func (l *Log) AppendFramed(ctx context.Context, rec []byte) (Pos, error) {
	if len(rec) < headerSize || len(rec)-headerSize > MaxRecord {
		return Pos{}, fmt.Errorf("write-ahead log record of %d bytes: not a reserved frame, or over the %d-byte limit", len(rec), MaxRecord)
	}
	payload := rec[headerSize:]
	binary.LittleEndian.PutUint32(rec, uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, castagnoli))
	return l.appendRecords([][]byte{rec})
}

// appendRecords logs framed records.
func (l *Log) appendRecords(recs [][]byte) (Pos, error) {
	size := 0
	for _, r := range recs {
		size += len(r)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Pos{}, ErrClosed
	}
	if l.broken != nil {
		return Pos{}, l.broken
	}
	if u := l.unloaded(); u+int64(size) > l.opts.MaxBytes && u > 0 {
		return Pos{}, fmt.Errorf("%w: %d bytes not loaded yet, the limit is %d (--wal-max); retry when the loader has caught up", ErrFull, u, l.opts.MaxBytes)
	}
	for _, rec := range recs {
		if l.pendOff > 0 && l.pendOff+int64(len(rec)) > l.opts.SegmentBytes {
			l.pendSeg, l.pendOff = l.pendSeg+1, 0
		}
		if n := len(l.pending); n > 0 && l.pending[n-1].seg == l.pendSeg {
			l.pending[n-1].data = append(l.pending[n-1].data, rec...)
		} else {
			l.pending = append(l.pending, chunk{seg: l.pendSeg, data: rec})
		}
		l.pendOff += int64(len(rec))
		l.total += int64(len(rec))
		l.sizes[l.pendSeg] += int64(len(rec))
	}
	pos := Pos{Seg: l.pendSeg, Off: l.pendOff}
	l.seq++
	seq := l.seq
	for l.durable < seq {
		if err, ok := l.failed[seq]; ok {
			delete(l.failed, seq)
			return Pos{}, err
		}
		if l.leader {
			l.cond.Wait()
			continue
		}
		l.leader = true
		group, hi := l.pending, l.seq
		end := Pos{Seg: l.pendSeg, Off: l.pendOff}
		lo := l.durable + 1
		l.pending = nil
		l.mu.Unlock()
		err := l.flush(group)
		l.mu.Lock()
		l.leader = false
		if err != nil {
			// Nothing of the group, nor of what was appended meanwhile, is
			// acknowledged; the log goes on from the end of the last
			// group written whole.
			hi = l.seq
			if l.failed == nil {
				l.failed = map[uint64]error{}
			}
			for f := lo; f <= hi; f++ {
				l.failed[f] = err
			}
			if rerr := l.rewind(); rerr != nil {
				l.broken = fmt.Errorf("write-ahead log: a failed write could not be cut off (%v); restart to recover the log: %w", err, rerr)
				l.log.Error("write-ahead log stops taking writes", "err", l.broken)
			}
		} else {
			l.acked = end
		}
		l.durable = hi
		l.cond.Broadcast()
	}
	if err, ok := l.failed[seq]; ok {
		delete(l.failed, seq)
		return Pos{}, err
	}
	return pos, nil
}

// flush writes the chunks and syncs; l.mu is not held, and only the
// leader touches the file.
func (l *Log) flush(group []chunk) error {
	for _, c := range group {
		if c.seg != l.fSeg {
			if err := l.opts.sync(l.f); err != nil {
				return diskFull(fmt.Errorf("sync write-ahead log segment %s: %w", segName(l.fSeg), err))
			}
			l.mu.Lock()
			err := l.openSegment(c.seg)
			l.mu.Unlock()
			if err != nil {
				return diskFull(err)
			}
		}
		n, err := l.opts.Write(l.f, c.data)
		if err != nil {
			return diskFull(fmt.Errorf("write to write-ahead log segment %s: %w", segName(l.fSeg), err))
		}
		l.fOff += int64(n)
	}
	if err := l.opts.sync(l.f); err != nil {
		return diskFull(fmt.Errorf("sync write-ahead log segment %s: %w", segName(l.fSeg), err))
	}
	return nil
}

// diskFull makes err a *DiskFullError when the disk had no room (for a
// write, a sync, or a new segment file).
func diskFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &DiskFullError{Err: err}
	}
	return err
}

// rewind forgets a failed group and every record appended after it
// (their writers all get the error, so no position handed out goes
// stale, and no reader saw them: readers stop at l.acked). The segments
// the group opened are removed, the one it started in is cut back to
// l.acked, and the next records go there: records of the group synced
// before a rotation are cut off too, so a write refused is never loaded.
// l.mu is held.
func (l *Log) rewind() error {
	at := l.acked
	l.pending = nil
	l.pendSeg, l.pendOff = at.Seg, at.Off
	var errs []error
	if l.fSeg != at.Seg {
		if l.f != nil {
			l.f.Close()
			l.f = nil
		}
		for seg := range l.sizes {
			if seg > at.Seg {
				delete(l.sizes, seg)
				if err := os.Remove(filepath.Join(l.opts.Dir, segName(seg))); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
		if err := syncDir(l.opts.Dir); err != nil {
			errs = append(errs, err)
		}
		f, err := os.OpenFile(filepath.Join(l.opts.Dir, segName(at.Seg)), os.O_WRONLY, 0)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("reopen write-ahead log segment: %w", err))...)
		}
		l.f, l.fSeg = f, at.Seg
	}
	if err := l.f.Truncate(at.Off); err != nil {
		errs = append(errs, fmt.Errorf("cut write-ahead log segment %s back: %w", segName(at.Seg), err))
	}
	if _, err := l.f.Seek(at.Off, io.SeekStart); err != nil {
		errs = append(errs, err)
	}
	if err := l.opts.sync(l.f); err != nil {
		errs = append(errs, fmt.Errorf("sync write-ahead log segment %s: %w", segName(at.Seg), err))
	}
	l.fOff = at.Off
	l.sizes[at.Seg] = at.Off
	l.total = 0
	for _, n := range l.sizes {
		l.total += n
	}
	return errors.Join(errs...)
}

// unloaded returns the bytes of the records after the position last
// released (the segment being written keeps its loaded records on disk,
// but they take no room from MaxBytes). l.mu is held.
func (l *Log) unloaded() int64 {
	u := l.total
	for seg, n := range l.sizes {
		switch {
		case seg < l.releasedTo.Seg:
			u -= n
		case seg == l.releasedTo.Seg:
			u -= min(n, l.releasedTo.Off)
		}
	}
	return u
}

// Unloaded returns the bytes of the records not yet released.
func (l *Log) Unloaded() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unloaded()
}

// Size returns the bytes of the segments not yet released.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Recovered returns the bytes of torn records Open cut off.
func (l *Log) Recovered() int64 { return l.recovered }

// End returns the position after the last record appended.
func (l *Log) End() Pos {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Pos{Seg: l.pendSeg, Off: l.pendOff}
}

// Replay calls fn with every durable record after position from, in order,
// with the position after it. fn's error stops it.
func (l *Log) Replay(from Pos, fn func(pos Pos, b store.Batch) error) error {
	r := l.NewReader(from)
	defer r.Close()
	for {
		es, err := r.Next(16 << 20)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return nil
		}
		for _, e := range es {
			if err := fn(e.Pos, e.Batch); err != nil {
				return err
			}
		}
	}
}

// ReplayRaw calls fn with the payload of every durable record of an
// opaque log after position from, in order, with the position after it.
// The payload is valid during the call only. fn's error stops it.
func (l *Log) ReplayRaw(from Pos, fn func(pos Pos, payload []byte) error) error {
	r := l.NewReader(from)
	defer r.Close()
	for {
		n, err := r.next(16<<20, func(pos Pos, rec []byte) error {
			payload, _, err := Frame(rec)
			if err != nil {
				return err
			}
			return fn(pos, payload)
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// Release deletes the segments whose every record is at or before upTo
// (loaded into the store and checkpointed). The segment being written is
// kept.
func (l *Log) Release(upTo Pos) error {
	l.mu.Lock()
	if l.releasedTo.Less(upTo) {
		l.releasedTo = upTo
	}
	var drop []uint64
	for seg, size := range l.sizes {
		if seg == l.fSeg || seg == l.pendSeg || seg == l.acked.Seg {
			// Being written, or where a failed write cuts back to.
			continue
		}
		if seg < upTo.Seg || seg == upTo.Seg && upTo.Off >= size {
			drop = append(drop, seg)
		}
	}
	for _, seg := range drop {
		l.total -= l.sizes[seg]
		delete(l.sizes, seg)
	}
	l.mu.Unlock()
	slices.Sort(drop)
	for _, seg := range drop {
		if err := os.Remove(filepath.Join(l.opts.Dir, segName(seg))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove loaded write-ahead log segment: %w", err)
		}
	}
	if len(drop) > 0 {
		return syncDir(l.opts.Dir)
	}
	return nil
}

// Close waits for no writer and closes the segment file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.leader {
		l.cond.Wait()
	}
	if l.closed {
		return nil
	}
	l.closed = true
	if l.f != nil {
		return l.f.Close()
	}
	return nil
}
