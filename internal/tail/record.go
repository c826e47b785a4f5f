package tail

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// Record is one published point, copied out of the write's buffers (the
// ingest pipeline reuses them once the write is answered), with the
// schema that names its fields.
type Record struct {
	Dataset        string
	Timestamp      int64
	Index          string
	Blobs          []string
	Doubles        []float64
	SampleInterval uint32
	Schema         *point.Schema
}

// newRecord copies p.
func newRecord(p *point.Point, s *point.Schema) *Record {
	r := &Record{
		Dataset:        strings.Clone(p.Dataset),
		Timestamp:      p.Timestamp,
		Index:          strings.Clone(p.Index),
		Doubles:        append([]float64(nil), p.Doubles...),
		SampleInterval: p.SampleInterval,
		Schema:         s,
	}
	if len(p.Blobs) > 0 {
		r.Blobs = make([]string, len(p.Blobs))
		for i, b := range p.Blobs {
			r.Blobs[i] = strings.Clone(b)
		}
	}
	return r
}

// size estimates the memory a record holds.
func (r *Record) size() int64 {
	n := 160 + len(r.Dataset) + len(r.Index) + 8*len(r.Doubles) + 16*len(r.Blobs)
	for _, b := range r.Blobs {
		n += len(b)
	}
	return int64(n)
}

// AppendJSON appends the record as one JSON object: "dataset",
// "timestamp" (Unix milliseconds), then the index, the blobs that are set
// and the doubles, each under its schema name, or its column name
// (index1, blob3, double2) where the schema names none, and
// "_sample_interval" when a point stands for more than one.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"dataset":`...)
	b = appendString(b, r.Dataset)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, r.Timestamp, 10)
	key := func(f point.Field) {
		n := r.Schema.Name(f)
		if n == "" || n == "dataset" {
			n = f.Column()
		}
		b = append(b, ',')
		b = appendString(b, n)
		b = append(b, ':')
	}
	if r.Index != "" {
		key(point.Field{Kind: point.KindIndex, Pos: 1})
		b = appendString(b, r.Index)
	}
	for i, v := range r.Blobs {
		if v == "" {
			continue
		}
		key(point.Field{Kind: point.KindBlob, Pos: i + 1})
		b = appendString(b, v)
	}
	for i, v := range r.Doubles {
		key(point.Field{Kind: point.KindDouble, Pos: i + 1})
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	if r.SampleInterval > 1 {
		b = append(b, `,"_sample_interval":`...)
		b = strconv.AppendUint(b, uint64(r.SampleInterval), 10)
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	if !needsEscape(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			return true
		}
	}
	return false
}
