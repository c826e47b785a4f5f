package enrich

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fingerprint groups client errors that are the same error: the first 8
// bytes, in hex, of SHA-256 over the error type, the message and the
// stack's first frame, with every run of digits read as 0 (so that ids,
// counts and line:column positions in a rebuilt bundle do not split a
// group).
func Fingerprint(errorType, message, stack string) string {
	h := sha256.New()
	h.Write([]byte(errorType))
	h.Write([]byte{0})
	h.Write([]byte(digitsAsZero(message)))
	h.Write([]byte{0})
	h.Write([]byte(digitsAsZero(firstFrame(stack))))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// firstFrame returns the first line of a stack that is a frame: V8's
// "    at fn (file:1:2)" or Firefox's and Safari's "fn@file:1:2".
func firstFrame(stack string) string {
	for line := range strings.Lines(stack) {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "at ") || strings.Contains(l, "@") {
			return l
		}
	}
	return ""
}

func digitsAsZero(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inRun := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !inRun {
				b.WriteByte('0')
			}
			inRun = true
			continue
		}
		inRun = false
		b.WriteByte(c)
	}
	return b.String()
}
