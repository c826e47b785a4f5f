package errtrack

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// ReadBody reads a request body into buf, decoding its Content-Encoding
// (identity, gzip, deflate — zlib-wrapped or raw, as clients disagree —,
// br or zstd; a list such as "gzip, br" is decoded last first), refusing
// more than wireLimit bytes as sent and more than limit bytes decoded
// (*TooLargeError, 413).
func ReadBody(body io.Reader, encoding string, buf *bytes.Buffer, wireLimit, limit int64) error {
	wire := &countingReader{r: io.LimitReader(body, wireLimit+1)}
	var src io.Reader = wire
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	codings := strings.Split(strings.ToLower(encoding), ",")
	for i := len(codings) - 1; i >= 0; i-- {
		switch c := strings.TrimSpace(codings[i]); c {
		case "", "identity":
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(src)
			if err != nil {
				return fmt.Errorf("%w: gzip body: %v", ErrBadPayload, err)
			}
			closers = append(closers, func() { zr.Close() })
			src = zr
		case "deflate":
			src = newDeflateReader(src)
		case "br":
			src = brotli.NewReader(src)
		case "zstd":
			zr, err := zstd.NewReader(src, zstd.WithDecoderLowmem(true), zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(uint64(limit)+1))
			if err != nil {
				return fmt.Errorf("%w: zstd body: %v", ErrBadPayload, err)
			}
			closers = append(closers, zr.Close)
			src = zr
		default:
			return fmt.Errorf("%w: unsupported Content-Encoding %q; send gzip, deflate, br, zstd or identity", ErrBadPayload, c)
		}
	}
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	if wire.n > wireLimit {
		return &TooLargeError{What: "the request body as sent", Size: wire.n, Limit: wireLimit}
	}
	if n > limit {
		return &TooLargeError{What: "the decompressed body", Size: n, Limit: limit}
	}
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrBadPayload, err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// newDeflateReader reads "deflate" as HTTP means it (zlib) or as some
// clients send it (raw DEFLATE), telling them apart by the zlib header.
func newDeflateReader(r io.Reader) io.Reader {
	br := &peekReader{r: r}
	head := br.peek(2)
	if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		zr, err := zlib.NewReader(br)
		if err == nil {
			return zr
		}
		return errReader{fmt.Errorf("%w: deflate body: %v", ErrBadPayload, err)}
	}
	return flate.NewReader(br)
}

type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) []byte {
	for len(p.buf) < n {
		b := make([]byte, n-len(p.buf))
		m, err := p.r.Read(b)
		p.buf = append(p.buf, b[:m]...)
		if err != nil {
			break
		}
	}
	return p.buf
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Payloads are stored compressed with zstd; the encoder and decoder are
// shared (EncodeAll and DecodeAll are safe for concurrent use).
var (
	zstdOnce sync.Once
	zenc     *zstd.Encoder
	zdec     *zstd.Decoder
)

func zstdInit() {
	zstdOnce.Do(func() {
		var err error
		zenc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
		if err != nil {
			panic("BUG: zstd encoder: " + err.Error())
		}
		zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			panic("BUG: zstd decoder: " + err.Error())
		}
	})
}

// Compress compresses a payload for storage.
func Compress(b []byte) []byte {
	zstdInit()
	return zenc.EncodeAll(b, make([]byte, 0, len(b)/3+64))
}

// Decompress reverses Compress.
func Decompress(b []byte) ([]byte, error) {
	zstdInit()
	out, err := zdec.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("stored payload: %w", err)
	}
	return out, nil
}
