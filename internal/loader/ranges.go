package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/alidade/alidade/internal/store"
)

// Range is what the loader's ranges file (Options.Ranges) says: every
// record of the log up to Loaded is in the target, and, when To is after
// Loaded, the records after Loaded up to To are a group whose load began:
// the target may hold none, some or all of its rows, and the group is
// loaded again, the same records in the same order, before anything else.
type Range struct {
	Loaded, To store.LogPos
}

// InFlight reports whether a group's load began and was not seen to end.
func (r Range) InFlight() bool { return r.Loaded.Less(r.To) }

// rangeMagic starts a ranges file ("ALRG" and the format's version, 1).
var rangeMagic = [8]byte{'A', 'L', 'R', 'G', 1, 0, 0, 0}

// rangeSize is a ranges file's size: the magic, four uint64 (Loaded's
// segment and offset, To's) and a CRC-32C of what precedes it.
const rangeSize = 8 + 4*8 + 4

var rangeCRC = crc32.MakeTable(crc32.Castagnoli)

// EncodeRange returns r as a ranges file holds it.
func EncodeRange(r Range) []byte {
	b := make([]byte, 0, rangeSize)
	b = append(b, rangeMagic[:]...)
	for _, v := range []uint64{r.Loaded.Seg, uint64(r.Loaded.Off), r.To.Seg, uint64(r.To.Off)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, rangeCRC))
}

// DecodeRange reads a ranges file's bytes. Its errors say what is wrong:
// the file is the only record of which rows may already be in the target,
// so a damaged one is never taken for an empty one.
func DecodeRange(b []byte) (Range, error) {
	if len(b) != rangeSize {
		return Range{}, fmt.Errorf("%d bytes; a ranges file has %d", len(b), rangeSize)
	}
	if [8]byte(b[:8]) != rangeMagic {
		return Range{}, fmt.Errorf("it does not start with the ranges file's magic (ALRG, version 1): %q", b[:8])
	}
	if got, want := binary.LittleEndian.Uint32(b[rangeSize-4:]), crc32.Checksum(b[:rangeSize-4], rangeCRC); got != want {
		return Range{}, fmt.Errorf("checksum %08x; its bytes sum to %08x", got, want)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8+8*i:]) }
	r := Range{
		Loaded: store.LogPos{Seg: u(0), Off: int64(u(1))},
		To:     store.LogPos{Seg: u(2), Off: int64(u(3))},
	}
	if r.Loaded.Off < 0 || r.To.Off < 0 {
		return Range{}, errors.New("a negative offset")
	}
	if r.To.Less(r.Loaded) {
		return Range{}, fmt.Errorf("the group's end %v is before the loaded position %v", r.To, r.Loaded)
	}
	return r, nil
}

// ReadRange reads the ranges file at path; ok is false when there is none.
func ReadRange(path string) (r Range, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Range{}, false, nil
	}
	if err != nil {
		return Range{}, false, fmt.Errorf("read the loader's ranges file: %w", err)
	}
	if r, err = DecodeRange(b); err != nil {
		return Range{}, false, fmt.Errorf("the loader's ranges file %s is damaged (%v): it alone says which of the log's records the store may hold, "+
			"so the loader stops rather than load any twice. Copy it aside and see the README (write-ahead log on a cluster)", path, err)
	}
	return r, true, nil
}

// WriteRange replaces the ranges file at path with r, durably: written to
// a temporary file, fsynced, renamed over it, and the directory fsynced,
// so that after a crash the file is the old range or the new, whole.
func WriteRange(path string, r Range) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write the loader's ranges file: %w", err)
	}
	_, err = f.Write(EncodeRange(r))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(filepath.Dir(path)); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("write the loader's ranges file: %w", err)
	}
	return nil
}
