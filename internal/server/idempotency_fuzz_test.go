package server

import (
	"net/http"
	"testing"
)

// FuzzIdempotencyKey: the header parser accepts exactly the keys of 1 to
// MaxIdempotencyKey printable ASCII characters, and names the rule when it
// refuses one.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"a", "batch-1", "alidade-go-0123456789abcdef0123456789abcdef", "", "caf\u00e9", "tab\there", "~ !", string(make([]byte, 129))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header["Idempotency-Key"] = []string{s}
		k, err := idempotencyKey(r)
		valid := len(s) >= 1 && len(s) <= MaxIdempotencyKey
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				valid = false
			}
		}
		switch {
		case valid && (err != nil || k != s):
			t.Fatalf("idempotencyKey(%q) = %q, %v; want it accepted", s, k, err)
		case !valid && err == nil:
			t.Fatalf("idempotencyKey(%q) accepted; want an error", s)
		}
	})
}
