package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// maxTimestamp is the first millisecond a DateTime cannot hold (2106).
const maxTimestamp = (1 << 32) * 1000

// Append writes the batches' points as one INSERT (TabSeparated over
// HTTP). ClickHouse applies an INSERT of one server atomically per part
// (one per day partition it touches), so a failed Append may have stored
// the points of some days; with a cluster, a failed Append may have stored
// those of some shards (insert_distributed_sync: the INSERT answers after
// every shard has its rows, or fails). Idempotency records are not stored
// on ClickHouse yet: a batch with Idem is refused.
func (s *Store) Append(ctx context.Context, batches []store.Batch) error {
	var buf bytes.Buffer
	n := 0
	for _, b := range batches {
		if b.Idem != nil {
			return fmt.Errorf("clickhouse: idempotency records (batch of project %d) are not supported by the ClickHouse store yet", b.Project)
		}
		if b.Project <= 0 && len(b.Points) > 0 {
			return fmt.Errorf("clickhouse: append: project %d; want a positive project id", b.Project)
		}
		for i := range b.Points {
			if err := writeTSV(&buf, b.Project, &b.Points[i]); err != nil {
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
	defer s.forgetSize()
	if _, err := s.query(ctx, "INSERT INTO "+s.table+" FORMAT TabSeparated", &buf, settings...); err != nil {
		return fmt.Errorf("append %d points: %w", n, err)
	}
	return nil
}

// writeTSV writes one row of the points table.
func writeTSV(buf *bytes.Buffer, project int64, p *point.Point) error {
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
	b = strconv.AppendInt(b, project, 10)
	b = append(b, '\t')
	b = appendTSVString(b, p.Dataset)
	b = append(b, '\t')
	b = strconv.AppendInt(b, p.Timestamp/1000, 10) // DateTime as Unix seconds
	b = append(b, '\t')
	b = strconv.AppendInt(b, p.Timestamp%1000, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(p.Weight()), 10)
	b = append(b, '\t')
	b = appendTSVString(b, p.Index)
	for i := 1; i <= point.MaxBlobs; i++ {
		b = append(b, '\t')
		b = appendTSVString(b, p.Blob(i))
	}
	for i := 0; i < point.MaxDoubles; i++ {
		b = append(b, '\t')
		v := 0.0
		if i < len(p.Doubles) {
			v = p.Doubles[i]
		}
		b = appendTSVFloat(b, v)
	}
	b = append(b, '\n')
	buf.Write(b)
	return nil
}

// appendTSVString escapes s as TabSeparated does: backslash, tab, newline
// and carriage return (and NUL, for readability of dumps).
func appendTSVString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendTSVFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
