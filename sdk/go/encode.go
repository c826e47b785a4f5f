package alidade

import (
	"math"
	"strconv"
)

// appendLine appends one point as an NDJSON line of the AE positional form:
// {"dataset":…,"timestamp":…,"indexes":[…],"blobs":[…],"doubles":[…]}.
func appendLine(b []byte, v *view) []byte {
	b = append(b, `{"dataset":`...)
	b = appendString(b, v.dataset)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, v.ts, 10)
	if len(v.index) > 0 {
		b = append(b, `,"indexes":[`...)
		b = appendString(b, v.index)
		b = append(b, ']')
	}
	if len(v.lens) > 0 {
		b = append(b, `,"blobs":[`...)
		off := 0
		for i, l := range v.lens {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v.blobs[off:off+int(l)])
			off += int(l)
		}
		b = append(b, ']')
	}
	if len(v.doubles) > 0 {
		b = append(b, `,"doubles":[`...)
		for i, d := range v.doubles {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, d)
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

const hexDigits = "0123456789abcdef"

// appendString appends s (valid UTF-8) as a JSON string.
func appendString(b []byte, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends a finite float as encoding/json does: the shortest
// representation that reads back to the same value.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendLogLine appends one buffered log record (index: service; blobs:
// level, message, attributes as a JSON object, trace_id, span_id) as an
// NDJSON line of POST /api/v1/logs.
func appendLogLine(b []byte, v *view) []byte {
	var f [5][]byte
	off := 0
	for i, l := range v.lens {
		if i < len(f) {
			f[i] = v.blobs[off : off+int(l)]
		}
		off += int(l)
	}
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendInt(b, v.ts, 10)
	b = append(b, `,"level":`...)
	b = appendString(b, f[0])
	b = append(b, `,"message":`...)
	b = appendString(b, f[1])
	if len(f[2]) > 0 {
		b = append(b, `,"attributes":`...)
		b = append(b, f[2]...)
	}
	for i, k := range [...]string{3: `,"trace_id":`, 4: `,"span_id":`} {
		if i >= 3 && len(f[i]) > 0 {
			b = append(b, k...)
			b = appendString(b, f[i])
		}
	}
	if len(v.index) > 0 {
		b = append(b, `,"service":`...)
		b = appendString(b, v.index)
	}
	return append(b, '}', '\n')
}
