package clickhouse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// maxTimestamp is the first millisecond a DateTime cannot hold (2106).
const maxTimestamp = (1 << 32) * 1000

// Append writes the batches' points as one INSERT (RowBinary over HTTP:
// a double goes in as its 8 bytes, since 18.16's text parsers read some
// doubles (subnormal ones, extreme exponents) a bit off). ClickHouse
// applies an INSERT of one server atomically per part (one per day
// partition it touches), so a failed Append may have stored the points of
// some days; with a cluster, a failed Append may have stored those of some
// shards (insert_distributed_sync: the INSERT answers after every shard
// has its rows, or fails). When the store Deduplicates, the same batches
// appended again (the same rows in the same order) add nothing that the
// first Append stored. Idempotency records (Batch.Idem) are not kept in
// ClickHouse: the cluster store records them in PostgreSQL once Append
// returns (package cluster).
func (s *Store) Append(ctx context.Context, batches []store.Batch) error {
	return s.appendToken(ctx, batches, store.LogPos{}, false)
}

// appendToken is Append; withToken, on a server with
// insert_deduplication_token, the insert carries DedupToken(rows, pos).
func (s *Store) appendToken(ctx context.Context, batches []store.Batch, pos store.LogPos, withToken bool) error {
	var buf bytes.Buffer
	n := 0
	for _, b := range batches {
		if b.Project <= 0 && len(b.Points) > 0 {
			return fmt.Errorf("clickhouse: append: project %d; want a positive project id", b.Project)
		}
		for i := range b.Points {
			if err := writeRow(&buf, b.Project, &b.Points[i]); err != nil {
				return fmt.Errorf("clickhouse: append: project %d, point %d: %w", b.Project, i, err)
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	var settings []string
	if s.cfg.Cluster != "" {
		settings = []string{"insert_distributed_sync", "1"}
	}
	if s.dedup {
		// The server's default; said here since the loader's exactly-once
		// rests on it (a profile could turn it off).
		settings = append(settings, "insert_deduplicate", "1")
		switch {
		case withToken && s.features.DedupToken:
			settings = append(settings, "insert_deduplication_token", DedupToken(buf.Bytes(), pos))
		case s.features.DedupToken:
			// Not a replay: a token of its own, so that a write that
			// happens to repeat the rows of a recent one (the same points
			// sent twice) is stored twice, as on the embedded store,
			// rather than dropped as a repeated block.
			settings = append(settings, "insert_deduplication_token", uniqueToken())
		}
	}
	defer s.forgetSize()
	if _, err := s.query(ctx, "INSERT INTO "+s.table+" FORMAT RowBinary", &buf, settings...); err != nil {
		return fmt.Errorf("append %d points: %w", n, err)
	}
	return nil
}

// writeRow writes one row of the points table in RowBinary: numbers
// little-endian, DateTime as UInt32 seconds, strings as a LEB128 length
// and their bytes. Every blob and double column is written; those the
// point does not have are "" and 0.
func writeRow(buf *bytes.Buffer, project int64, p *point.Point) error {
	if p.Dataset == "" {
		return fmt.Errorf("no dataset")
	}
	if p.Timestamp < 0 || p.Timestamp >= maxTimestamp {
		return fmt.Errorf("timestamp %d ms is outside what ClickHouse's DateTime holds (1970 to 2106)", p.Timestamp)
	}
	if len(p.Blobs) > point.MaxBlobs || len(p.Doubles) > point.MaxDoubles {
		return fmt.Errorf("%d blobs and %d doubles; at most %d and %d", len(p.Blobs), len(p.Doubles), point.MaxBlobs, point.MaxDoubles)
	}
	b := buf.AvailableBuffer()
	b = binary.LittleEndian.AppendUint64(b, uint64(project))
	b = appendString(b, p.Dataset)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Timestamp/1000))
	b = binary.LittleEndian.AppendUint16(b, uint16(p.Timestamp%1000))
	b = binary.LittleEndian.AppendUint32(b, p.Weight())
	b = appendString(b, p.Index)
	for i := 1; i <= point.MaxBlobs; i++ {
		b = appendString(b, p.Blob(i))
	}
	for i := 0; i < point.MaxDoubles; i++ {
		v := 0.0
		if i < len(p.Doubles) {
			v = p.Doubles[i]
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	buf.Write(b)
	return nil
}

// appendString appends s as RowBinary does: its length as LEB128, then
// its bytes.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// uniqueToken is an insert_deduplication_token no other insert has.
func uniqueToken() string {
	var b [16]byte
	rand.Read(b[:])
	return "alidade-once-" + hex.EncodeToString(b[:])
}
