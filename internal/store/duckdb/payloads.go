package duckdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Error events' payloads (zstd frames of about 1 KB each) are kept out of
// DuckDB, in one append-only file per UTC day of their commit,
// errors/YYYY-MM-DD.payloads; error_events.payload holds a reference to
// the bytes (payloadRef). In DuckDB they cost memory twice: what a commit
// appends stays in memory until the next checkpoint, and a checkpoint
// rewrites (reads and compresses again) the whole row group appended to,
// up to 122,880 events, so that the server's memory at each checkpoint
// grew with the events stored. Rows written before hold the payload
// itself, which reads still accept.
//
// A commit writes its payloads to the day's file and syncs it before it
// appends the rows: a committed row's payload is durable. The bytes of a
// commit that failed stay in the file, unreferenced.

const payloadsDir = "errors"

// payloadRefMagic starts a reference; a payload itself starts with zstd's
// magic number (28 B5 2F FD).
const payloadRefMagic = "\x00alp"

// payloadRefSize is the size of a reference: the magic, the day (days
// since the Unix epoch, int32), the offset (int64), the length (uint32)
// and the CRC-32C of the bytes (uint32), little-endian.
const payloadRefSize = 4 + 4 + 8 + 4 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type payloadRef struct {
	day    int64
	offset int64
	length uint32
	crc    uint32
}

func (r payloadRef) marshal() []byte {
	b := make([]byte, 0, payloadRefSize)
	b = append(b, payloadRefMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(int32(r.day)))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.offset))
	b = binary.LittleEndian.AppendUint32(b, r.length)
	return binary.LittleEndian.AppendUint32(b, r.crc)
}

// parsePayloadRef reads a reference; ok is false for a payload stored in
// the row.
func parsePayloadRef(b []byte) (r payloadRef, ok bool) {
	if len(b) != payloadRefSize || !bytes.HasPrefix(b, []byte(payloadRefMagic)) {
		return r, false
	}
	b = b[len(payloadRefMagic):]
	r.day = int64(int32(binary.LittleEndian.Uint32(b)))
	r.offset = int64(binary.LittleEndian.Uint64(b[4:]))
	r.length = binary.LittleEndian.Uint32(b[12:])
	r.crc = binary.LittleEndian.Uint32(b[16:])
	return r, true
}

// payloadLog appends payloads to the day files. Its writes run under the
// error writer's lock; reads open the files on their own.
type payloadLog struct {
	buf  []byte // reused by write
	dir  string
	day  int64
	f    *os.File
	size int64
}

func (l *payloadLog) path(day int64) string {
	return filepath.Join(l.dir, dayName(day)+".payloads")
}

// write appends payloads to the file of now's day, synced, and returns
// their references.
func (l *payloadLog) write(now time.Time, payloads [][]byte) ([]payloadRef, error) {
	day := dayOf(now.UnixMilli())
	if l.f == nil || l.day != day {
		if err := l.open(day); err != nil {
			return nil, err
		}
	}
	refs := make([]payloadRef, len(payloads))
	total := 0
	for _, p := range payloads {
		total += len(p)
	}
	if cap(l.buf) < total || cap(l.buf) > 4*total+1<<20 {
		l.buf = make([]byte, 0, total)
	}
	buf := l.buf[:0]
	for i, p := range payloads {
		refs[i] = payloadRef{day: day, offset: l.size + int64(len(buf)), length: uint32(len(p)), crc: crc32.Checksum(p, castagnoli)}
		buf = append(buf, p...)
	}
	_, err := l.f.WriteAt(buf, l.size)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		// What was written is never referenced; the next write goes
		// after it (a file that failed to sync is not written again).
		name := l.f.Name()
		l.close()
		return nil, fmt.Errorf("write error payloads to %s: %w", name, err)
	}
	l.size += int64(len(buf))
	return refs, nil
}

func (l *payloadLog) open(day int64) error {
	l.close()
	if err := os.MkdirAll(l.dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", l.dir, err)
	}
	path := l.path(day)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open error payloads: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open error payloads: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// The new file's name must survive a crash like its bytes.
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return err
		}
	}
	l.f, l.day, l.size = f, day, fi.Size()
	return nil
}

func (l *payloadLog) close() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// read returns a referenced payload.
func (l *payloadLog) read(r payloadRef) ([]byte, error) {
	f, err := os.Open(l.path(r.day))
	if err != nil {
		return nil, fmt.Errorf("read error payload: %w", err)
	}
	defer f.Close()
	b := make([]byte, r.length)
	if _, err := f.ReadAt(b, r.offset); err != nil {
		return nil, fmt.Errorf("read error payload at %d of %s: %w", r.offset, f.Name(), err)
	}
	if crc32.Checksum(b, castagnoli) != r.crc {
		return nil, fmt.Errorf("error payload at %d of %s: checksum mismatch", r.offset, f.Name())
	}
	return b, nil
}

// expire removes the day files before keepFrom (days since the Unix
// epoch), but the one being written. It returns how many it removed.
func (l *payloadLog) expire(keepFrom int64, writing int64) (int, error) {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".payloads")
		if !ok || e.IsDir() {
			continue
		}
		t, err := time.Parse("2006-01-02", name)
		if err != nil {
			continue
		}
		if day := dayOf(t.UnixMilli()); day < keepFrom && day != writing {
			if err := os.Remove(filepath.Join(l.dir, e.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}
