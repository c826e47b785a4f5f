package errtrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// A journal record is one tracker commit (Commit), encoded compactly:
//
//	version byte (1)
//	groups uvarint n, then per group:
//	  flags byte (1: new group; 2: the whole users sketch follows, else
//	  the user hashes the commit's events added, to be added to the
//	  group's previous state)
//	  id, project varints; fingerprint, grouping, title, culprit, type,
//	  level, platform, status strings; first seen, last seen, count
//	  varints; users (bytes, or uvarint k and k × uint64 LE); releases,
//	  environments (uvarint n, n strings); first and last release
//	  strings; resolved at varint, resolved release string, regressed
//	  byte, regressed at varint, regressed release string, regressions,
//	  status changed varints, last event id string
//	events uvarint n, then per event: project varint, event id string,
//	  group varint, timestamp, received varints, level, release,
//	  environment, user, title strings, size uvarint, payload bytes
//	attachments uvarint n, then per attachment: project varint, event id
//	  string, received varint, filename, content type, attachment type
//	  strings, size uvarint, data bytes
//	point batches uvarint n, then per batch: its write-ahead log record
//	  (wal.AppendRecord) as bytes: the points of the commit's requests
//
// Strings and bytes are a uvarint length and the bytes. A changed group's
// users are kept as the hashes added (8 bytes an event at most) rather
// than its sketch (up to 2 KiB): adding hashes to a sketch gives the same
// sketch in any order.
const journalVersion = 1

const (
	flagNew       = 1
	flagFullUsers = 2
)

// maxJournalRecord bounds a record the decoder reads.
const maxJournalRecord = 256 << 20

// journalRecordSize estimates a record's size, to allocate it once.
func journalRecordSize(c *Commit) int {
	n := 64 + 512*(len(c.New)+len(c.Changed))
	for i := range c.Events {
		n += 192 + len(c.Events[i].Payload) + len(c.Events[i].Title)
	}
	for i := range c.Attachments {
		n += 128 + len(c.Attachments[i].Data)
	}
	return n
}

// appendJournalRecord encodes a commit and its requests' points.
func appendJournalRecord(dst []byte, c *Commit, points []store.Batch) []byte {
	dst = append(dst, journalVersion)
	dst = binary.AppendUvarint(dst, uint64(len(c.New)+len(c.Changed)))
	for i, gs := range [][]*Group{c.New, c.Changed} {
		for _, g := range gs {
			flags := byte(0)
			full := i == 0 || !g.usersKnown
			if i == 0 {
				flags |= flagNew
			}
			if full {
				flags |= flagFullUsers
			}
			dst = append(dst, flags)
			dst = binary.AppendVarint(dst, g.ID)
			dst = binary.AppendVarint(dst, g.Project)
			for _, s := range [...]string{g.Fingerprint, g.Grouping, g.Title, g.Culprit, g.Type, g.Level, g.Platform, g.Status} {
				dst = appendStr(dst, s)
			}
			dst = binary.AppendVarint(dst, g.FirstSeen)
			dst = binary.AppendVarint(dst, g.LastSeen)
			dst = binary.AppendVarint(dst, g.Count)
			if full {
				dst = appendBytes(dst, g.Users.MarshalBinary())
			} else {
				dst = binary.AppendUvarint(dst, uint64(len(g.usersAdded)))
				for _, h := range g.usersAdded {
					dst = binary.LittleEndian.AppendUint64(dst, h)
				}
			}
			for _, l := range [][]string{g.Releases, g.Environments} {
				dst = binary.AppendUvarint(dst, uint64(len(l)))
				for _, s := range l {
					dst = appendStr(dst, s)
				}
			}
			dst = appendStr(dst, g.FirstRelease)
			dst = appendStr(dst, g.LastRelease)
			dst = binary.AppendVarint(dst, g.ResolvedAt)
			dst = appendStr(dst, g.ResolvedRelease)
			if g.Regressed {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
			dst = binary.AppendVarint(dst, g.RegressedAt)
			dst = appendStr(dst, g.RegressedRelease)
			dst = binary.AppendVarint(dst, g.Regressions)
			dst = binary.AppendVarint(dst, g.StatusChanged)
			dst = appendStr(dst, g.LastEventID)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(c.Events)))
	for i := range c.Events {
		e := &c.Events[i]
		dst = binary.AppendVarint(dst, e.Project)
		dst = appendStr(dst, e.EventID)
		dst = binary.AppendVarint(dst, e.GroupID)
		dst = binary.AppendVarint(dst, e.Timestamp)
		dst = binary.AppendVarint(dst, e.Received)
		for _, s := range [...]string{e.Level, e.Release, e.Environment, e.User, e.Title} {
			dst = appendStr(dst, s)
		}
		dst = binary.AppendUvarint(dst, uint64(e.Size))
		dst = appendBytes(dst, e.Payload)
	}
	dst = binary.AppendUvarint(dst, uint64(len(c.Attachments)))
	for i := range c.Attachments {
		a := &c.Attachments[i]
		dst = binary.AppendVarint(dst, a.Project)
		dst = appendStr(dst, a.EventID)
		dst = binary.AppendVarint(dst, a.Received)
		for _, s := range [...]string{a.Filename, a.ContentType, a.AttachmentType} {
			dst = appendStr(dst, s)
		}
		dst = binary.AppendUvarint(dst, uint64(a.Size))
		dst = appendBytes(dst, a.Data)
	}
	dst = binary.AppendUvarint(dst, uint64(len(points)))
	var rec []byte
	for i := range points {
		rec = wal.AppendRecord(rec[:0], &points[i])
		dst = appendBytes(dst, rec)
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// journalGroup is a group as a record holds it: its users are the whole
// sketch (full) or the hashes added to the group's previous state.
type journalGroup struct {
	g     *Group
	isNew bool
	full  bool
	added []uint64
}

// journalRecord is a decoded record.
type journalRecord struct {
	groups      []journalGroup
	events      []StoredEvent
	attachments []Attachment
	points      []store.Batch
}

var errJournalRecord = errors.New("bad error journal record")

// decodeJournalRecord reads a record; it copies what it keeps.
func decodeJournalRecord(b []byte) (*journalRecord, error) {
	if len(b) > maxJournalRecord {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", errJournalRecord, len(b), maxJournalRecord)
	}
	r := &recReader{b: b}
	if v := r.byte(); r.err == nil && v != journalVersion {
		return nil, fmt.Errorf("%w: version %d (this build reads %d)", errJournalRecord, v, journalVersion)
	}
	rec := &journalRecord{}
	n := r.count(20, "groups")
	for range n {
		var jg journalGroup
		flags := r.byte()
		if flags&^(flagNew|flagFullUsers) != 0 {
			r.fail("group flags %#x", flags)
		}
		jg.isNew, jg.full = flags&flagNew != 0, flags&flagFullUsers != 0
		g := &Group{}
		g.ID, g.Project = r.varint(), r.varint()
		for _, p := range [...]*string{&g.Fingerprint, &g.Grouping, &g.Title, &g.Culprit, &g.Type, &g.Level, &g.Platform, &g.Status} {
			*p = r.str()
		}
		g.FirstSeen, g.LastSeen, g.Count = r.varint(), r.varint(), r.varint()
		if jg.full {
			g.Users = UnmarshalUsers([]byte(r.str()))
		} else {
			k := r.count(8, "user hashes")
			jg.added = make([]uint64, 0, k)
			for range k {
				jg.added = append(jg.added, r.uint64())
			}
		}
		for _, l := range [...]*[]string{&g.Releases, &g.Environments} {
			k := r.count(1, "names")
			*l = make([]string, 0, k)
			for range k {
				*l = append(*l, r.str())
			}
		}
		g.FirstRelease, g.LastRelease = r.str(), r.str()
		g.ResolvedAt, g.ResolvedRelease = r.varint(), r.str()
		switch r.byte() {
		case 0:
		case 1:
			g.Regressed = true
		default:
			r.fail("regressed flag")
		}
		g.RegressedAt, g.RegressedRelease = r.varint(), r.str()
		g.Regressions, g.StatusChanged, g.LastEventID = r.varint(), r.varint(), r.str()
		if r.err != nil {
			break
		}
		jg.g = g
		rec.groups = append(rec.groups, jg)
	}
	n = r.count(10, "events")
	for range n {
		var e StoredEvent
		e.Project, e.EventID, e.GroupID = r.varint(), r.str(), r.varint()
		e.Timestamp, e.Received = r.varint(), r.varint()
		for _, p := range [...]*string{&e.Level, &e.Release, &e.Environment, &e.User, &e.Title} {
			*p = r.str()
		}
		e.Size = r.size()
		e.Payload = []byte(r.str())
		if r.err != nil {
			break
		}
		rec.events = append(rec.events, e)
	}
	n = r.count(9, "attachments")
	for range n {
		var a Attachment
		a.Project, a.EventID, a.Received = r.varint(), r.str(), r.varint()
		a.Filename, a.ContentType, a.AttachmentType = r.str(), r.str(), r.str()
		a.Size = r.size()
		a.Data = []byte(r.str())
		if r.err != nil {
			break
		}
		rec.attachments = append(rec.attachments, a)
	}
	n = r.count(9, "point batches")
	for range n {
		b, _, err := wal.Decode([]byte(r.str()))
		if r.err != nil {
			break
		}
		if err != nil {
			r.fail("point batch: %v", err)
			break
		}
		rec.points = append(rec.points, b)
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the record", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return rec, nil
}

// recReader reads a record; the first fault sticks.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errJournalRecord, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *recReader) byte() byte {
	if len(r.b) < 1 {
		r.fail("cut short")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail("cut short")
		return 0
	}
	x := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return x
}

func (r *recReader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *recReader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count reads a count of items of at least minBytes each.
func (r *recReader) count(minBytes int, what string) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/minBytes) {
		r.fail("%d %s in %d bytes", n, what, len(r.b))
		return 0
	}
	return int(n)
}

func (r *recReader) size() int {
	n := r.uvarint()
	if n > math.MaxInt32 {
		r.fail("size %d", n)
		return 0
	}
	return int(n)
}

func (r *recReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("a string of %d bytes in %d", n, len(r.b))
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
