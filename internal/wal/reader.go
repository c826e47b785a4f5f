package wal

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alidade/alidade/internal/store"
)

// Entry is a record read back: its batch and the position after it.
type Entry struct {
	Pos   Pos
	Batch store.Batch
}

// Reader reads the durable records of a Log in order, from a position on,
// as they are appended: what the loader tails. It is not safe for
// concurrent use.
type Reader struct {
	l   *Log
	pos Pos
	f   *os.File
	fs  uint64 // the segment f is
	hdr [headerSize]byte
	buf []byte
}

// NewReader returns a Reader of the records after from.
func (l *Log) NewReader(from Pos) *Reader { return &Reader{l: l, pos: from} }

// Pos is the position after the last record Next returned.
func (r *Reader) Pos() Pos { return r.pos }

// Close closes the segment file the Reader holds.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// durableEnd returns where the acknowledged records of segment seg end
// (those of groups written and synced whole), and whether a later
// segment holds more.
func (l *Log) durableEnd(seg uint64) (end int64, later bool, first uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first = l.acked.Seg
	for s := range l.sizes {
		first = min(first, s)
	}
	if seg >= l.acked.Seg {
		return l.acked.Off, false, first
	}
	return l.sizes[seg], true, first
}

// Next returns the durable records after the Reader's position, at least
// one when there is any, until about maxBytes of records are read; none
// when it has caught up. Damage is an error naming the segment and offset.
func (r *Reader) Next(maxBytes int) ([]Entry, error) {
	var out []Entry
	_, err := r.next(maxBytes, func(pos Pos, rec []byte) error {
		b, _, err := Decode(rec)
		if err == nil {
			out = append(out, Entry{Pos: pos, Batch: b})
		}
		return err
	})
	return out, err
}

// next calls fn with each durable record (header and payload, valid
// during the call) after the Reader's position and the position after
// it, until about maxBytes of records are read, and returns how many it
// read. fn's error, wrapped with the segment and offset, stops it.
func (r *Reader) next(maxBytes int, fn func(pos Pos, rec []byte) error) (int, error) {
	count, read := 0, 0
	for read < maxBytes {
		end, later, first := r.l.durableEnd(r.pos.Seg)
		if r.pos.Seg < first {
			r.pos = Pos{Seg: first}
			continue
		}
		if r.pos.Off >= end {
			if !later {
				return count, nil
			}
			r.pos = Pos{Seg: r.pos.Seg + 1}
			continue
		}
		if r.f == nil || r.fs != r.pos.Seg {
			r.Close()
			f, err := os.Open(filepath.Join(r.l.opts.Dir, segName(r.pos.Seg)))
			if err != nil {
				return count, fmt.Errorf("read write-ahead log: %w", err)
			}
			r.f, r.fs = f, r.pos.Seg
		}
		if _, err := r.f.ReadAt(r.hdr[:], r.pos.Off); err != nil {
			return count, fmt.Errorf("read write-ahead log segment %s at offset %d: %w", segName(r.pos.Seg), r.pos.Off, err)
		}
		n := int64(binary.LittleEndian.Uint32(r.hdr[:]))
		if n > MaxRecord || r.pos.Off+headerSize+n > end {
			return count, fmt.Errorf("write-ahead log segment %s at offset %d: %w: a record of %d bytes past the end %d",
				segName(r.pos.Seg), r.pos.Off, ErrCorrupt, n, end)
		}
		size := int(headerSize + n)
		if cap(r.buf) < size {
			r.buf = make([]byte, size)
		}
		r.buf = r.buf[:size]
		if _, err := r.f.ReadAt(r.buf, r.pos.Off); err != nil && err != io.EOF {
			return count, fmt.Errorf("read write-ahead log segment %s at offset %d: %w", segName(r.pos.Seg), r.pos.Off, err)
		}
		at := Pos{Seg: r.pos.Seg, Off: r.pos.Off + int64(size)}
		if err := fn(at, r.buf); err != nil {
			return count, fmt.Errorf("write-ahead log segment %s at offset %d: %w", segName(r.pos.Seg), r.pos.Off, err)
		}
		r.pos = at
		count++
		read += size
	}
	return count, nil
}
