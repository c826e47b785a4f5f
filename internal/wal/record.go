// Package wal owns Alidade's write-ahead log: the segment files in front of
// the store that make an acknowledged write durable with one append and one
// fdatasync per group of writes, and from which a loader later moves the
// batches into the store. It owns the record format (a compact binary
// encoding of a store.Batch with a CRC-32C), the segment files, the group
// commit, and the replay of what a crash left. It knows nothing of HTTP,
// DuckDB or rollups.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// A record is framed as: payload length (uint32, little-endian), CRC-32C
// of the payload (uint32), payload. The payload is:
//
//	version byte (1)
//	project varint
//	idempotency flag byte; when 1: key, hash (strings), days (uvarint n,
//	  then n varints), status uvarint, body (bytes), received-at varint
//	points uvarint
//	per point: dataset (uvarint n+1 then n bytes, or 0: the previous
//	  point's), timestamp (zigzag varint, the difference from the previous
//	  point's), index (string), sample interval uvarint, blobs (uvarint n,
//	  then n strings), doubles (uvarint n, then n × 8 bytes IEEE 754 LE)
//
// Strings are a uvarint length and their bytes.
const (
	headerSize    = 8
	recordVersion = 1
	// MaxRecord bounds one record's payload: a write body is at most a few
	// tens of MB once decoded.
	MaxRecord = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of Decode.
var (
	// ErrTorn is a record cut short: the end of the data came first.
	ErrTorn = errors.New("record cut short")
	// ErrCorrupt is a record whose checksum or contents are wrong.
	ErrCorrupt = errors.New("corrupt record")
)

// AppendRecord appends b's record (header and payload) to dst.
func AppendRecord(dst []byte, b *store.Batch) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, b.Project)
	if r := b.Idem; r != nil {
		dst = append(dst, 1)
		dst = appendString(dst, r.Key)
		dst = appendString(dst, r.Hash)
		dst = binary.AppendUvarint(dst, uint64(len(r.Days)))
		for _, d := range r.Days {
			dst = binary.AppendVarint(dst, d)
		}
		dst = binary.AppendUvarint(dst, uint64(r.Status))
		dst = appendString(dst, string(r.Body))
		dst = binary.AppendVarint(dst, r.At)
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Points)))
	prevDS, prevTS := "", int64(0)
	for i := range b.Points {
		p := &b.Points[i]
		if i > 0 && p.Dataset == prevDS {
			dst = append(dst, 0)
		} else {
			dst = binary.AppendUvarint(dst, uint64(len(p.Dataset))+1)
			dst = append(dst, p.Dataset...)
		}
		prevDS = p.Dataset
		dst = binary.AppendVarint(dst, p.Timestamp-prevTS)
		prevTS = p.Timestamp
		dst = appendString(dst, p.Index)
		dst = binary.AppendUvarint(dst, uint64(p.SampleInterval))
		dst = binary.AppendUvarint(dst, uint64(len(p.Blobs)))
		for _, s := range p.Blobs {
			dst = appendString(dst, s)
		}
		dst = binary.AppendUvarint(dst, uint64(len(p.Doubles)))
		for _, x := range p.Doubles {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
		}
	}
	payload := dst[start+headerSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode reads the record at the start of data and returns its batch and
// its size. A record whose end lies past data is ErrTorn; a wrong checksum,
// version or content is ErrCorrupt. The batch's strings are copies: it
// shares no memory with data.
func Decode(data []byte) (store.Batch, int, error) {
	payload, n, err := Frame(data)
	if err != nil {
		return store.Batch{}, 0, err
	}
	b, err := decodePayload(payload)
	if err != nil {
		return store.Batch{}, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return b, n, nil
}

// FrameHeaderSize is the size of a record's header: ReserveFrame's room.
const FrameHeaderSize = headerSize

// ReserveFrame appends room for a record's header to dst; the payload is
// appended after it, and Log.AppendFramed fills the header in.
func ReserveFrame(dst []byte) []byte { return append(dst, make([]byte, headerSize)...) }

// AppendFrame appends a record of an opaque payload (its header and the
// payload) to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// Frame reads the record at the start of data and returns its payload
// (a slice of data) and the record's size, checking its length and
// checksum only: ErrTorn for a record whose end lies past data,
// ErrCorrupt for a wrong checksum or length.
func Frame(data []byte) ([]byte, int, error) {
	if len(data) < headerSize {
		return nil, 0, fmt.Errorf("%w: %d of %d header bytes", ErrTorn, len(data), headerSize)
	}
	n := binary.LittleEndian.Uint32(data)
	if n > MaxRecord {
		return nil, 0, fmt.Errorf("%w: length %d is over the %d-byte limit", ErrCorrupt, n, MaxRecord)
	}
	if int(n) > len(data)-headerSize {
		return nil, 0, fmt.Errorf("%w: %d of %d payload bytes", ErrTorn, len(data)-headerSize, n)
	}
	payload := data[headerSize : headerSize+int(n)]
	if got, want := crc32.Checksum(payload, castagnoli), binary.LittleEndian.Uint32(data[4:]); got != want {
		return nil, 0, fmt.Errorf("%w: checksum %08x, the header says %08x", ErrCorrupt, got, want)
	}
	return payload, headerSize + int(n), nil
}

// reader reads a payload; the first fault sticks.
type reader struct {
	b   []byte
	err error
	// all is the payload as one string: the decoded strings are its
	// substrings, so a record costs one string allocation, not one per
	// value. n is the payload's length (all's offset of b is n - len(b)).
	all string
	n   int
	// strs and nums are slabs the points' Blobs and Doubles are cut from.
	strs []string
	nums []float64
}

// strings returns a slice of n strings cut from a slab.
func (r *reader) strings(n int) []string {
	if cap(r.strs)-len(r.strs) < n {
		r.strs = make([]string, 0, max(n, 4096))
	}
	l := len(r.strs)
	r.strs = r.strs[:l+n]
	return r.strs[l : l+n : l+n]
}

// floats returns a slice of n float64s cut from a slab.
func (r *reader) floats(n int) []float64 {
	if cap(r.nums)-len(r.nums) < n {
		r.nums = make([]float64, 0, max(n, 4096))
	}
	l := len(r.nums)
	r.nums = r.nums[:l+n]
	return r.nums[l : l+n : l+n]
}

// substr returns the next n bytes as a substring of all.
func (r *reader) substr(n int) string {
	off := r.n - len(r.b)
	if r.bytes(n) == nil {
		return ""
	}
	return r.all[off : off+n]
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count reads a count of items of at least min bytes each, at most max.
func (r *reader) count(minBytes, max int, what string) int {
	n := r.uvarint()
	if r.err == nil && (n > uint64(max) || n*uint64(minBytes) > uint64(len(r.b))) {
		r.fail("%d %s: more than the record holds or allows", n, what)
		return 0
	}
	return int(n)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("a string of %d bytes past the end", n)
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string(max int, what string) string {
	n := r.uvarint()
	if r.err == nil && n > uint64(max) {
		r.fail("%s of %d bytes: over the %d-byte limit", what, n, max)
	}
	s := r.substr(int(min(n, uint64(len(r.b)+1))))
	if r.err == nil && !utf8.ValidString(s) {
		r.fail("%s is not valid UTF-8", what)
	}
	return s
}

func decodePayload(payload []byte) (store.Batch, error) {
	r := &reader{b: payload, all: string(payload), n: len(payload)}
	if v := r.byte(); r.err == nil && v != recordVersion {
		return store.Batch{}, fmt.Errorf("version %d, want %d", v, recordVersion)
	}
	var b store.Batch
	b.Project = r.varint()
	switch flag := r.byte(); {
	case r.err != nil:
	case flag == 1:
		idem := &store.Idem{}
		idem.Key = r.string(1024, "idempotency key")
		idem.Hash = r.string(1024, "request hash")
		nd := r.count(1, 1<<16, "days")
		idem.Days = make([]int64, nd)
		for i := range idem.Days {
			idem.Days[i] = r.varint()
		}
		st := r.uvarint()
		if st > 999 {
			r.fail("status %d", st)
		}
		idem.Status = int(st)
		idem.Body = []byte(r.string(MaxRecord, "answer"))
		idem.At = r.varint()
		b.Idem = idem
	case flag != 0:
		r.fail("idempotency flag %d", flag)
	}
	// A point takes at least 6 bytes: dataset, timestamp, index, sample
	// interval, blob and double counts.
	np := r.count(6, MaxRecord/6, "points")
	if np > 0 {
		b.Points = make([]point.Point, np)
	}
	prevDS, prevTS := "", int64(0)
	for i := 0; i < np && r.err == nil; i++ {
		p := &b.Points[i]
		switch n := r.uvarint(); {
		case r.err != nil:
		case n == 0 && i == 0:
			r.fail("point 0 repeats a dataset")
		case n == 0:
			p.Dataset = prevDS
		case n-1 > point.MaxDatasetLength:
			r.fail("point %d: dataset of %d bytes", i, n-1)
		default:
			p.Dataset = r.substr(int(n - 1))
			if r.err == nil && point.ValidateDatasetName(p.Dataset) != nil {
				r.fail("point %d: bad dataset name %q", i, p.Dataset)
			}
		}
		prevDS = p.Dataset
		p.Timestamp = prevTS + r.varint()
		prevTS = p.Timestamp
		p.Index = r.string(point.MaxIndexBytes, "index")
		si := r.uvarint()
		if si > math.MaxUint32 {
			r.fail("point %d: sample interval %d", i, si)
		}
		p.SampleInterval = uint32(si)
		if nb := r.count(1, point.MaxBlobs, "blobs"); nb > 0 {
			p.Blobs = r.strings(nb)
			for j := range p.Blobs {
				p.Blobs[j] = r.string(point.MaxBlobBytes, "blob")
			}
		}
		if nd := r.count(8, point.MaxDoubles, "doubles"); nd > 0 {
			p.Doubles = r.floats(nd)
			for j := range p.Doubles {
				if raw := r.bytes(8); raw != nil {
					p.Doubles[j] = math.Float64frombits(binary.LittleEndian.Uint64(raw))
				}
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the last point", len(r.b))
	}
	if r.err != nil {
		return store.Batch{}, r.err
	}
	return b, nil
}
