package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// markFile holds the loaded mark: a position up to which every record is
// loaded into the store, for every day its points fall in.
const markFile = "loaded"

// SaveMark records that every record up to p is loaded. It is a hint for
// the next start, which reads the log from there instead of from its first
// segment: a mark older than the truth only costs reading, so it is
// written without fsync, and a missing or damaged one is ignored.
func (l *Log) SaveMark(p Pos) error {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:], p.Seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(l.opts.Dir, markFile+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o640); err != nil {
		return fmt.Errorf("save the write-ahead log's loaded mark: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.opts.Dir, markFile)); err != nil {
		return fmt.Errorf("save the write-ahead log's loaded mark: %w", err)
	}
	return nil
}

// Mark returns the last position SaveMark recorded, or the zero position
// when there is none (or it is damaged, or past the log's end).
func (l *Log) Mark() Pos {
	b, err := os.ReadFile(filepath.Join(l.opts.Dir, markFile))
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Pos{}
	}
	p := Pos{Seg: binary.LittleEndian.Uint64(b[0:]), Off: int64(binary.LittleEndian.Uint64(b[8:]))}
	if p.Off < 0 || l.End().Less(p) {
		return Pos{}
	}
	return p
}
