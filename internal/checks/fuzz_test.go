package checks

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: any body decodes to a valid check or a *FieldError, never a
// panic, and a decoded check decodes again to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"api health","type":"http","url":"https://api.example.com/healthz","every":"1m","timeout":"10s","method":"GET","expect":{"status":[200],"contains":"ok","maxMs":2000}}`,
		`{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h","device":"mobile"}`,
		`{"name":"x","type":"http","url":"http://10.0.0.1:8080/","insecure":true,"expect":{"status":200}}`,
		`{"name":"x","type":"page","url":"http://[::1]/","every":"1d","timeout":"30s"}`,
		`{}`, `null`, `{"expect":{"status":[1e400]}}`,
	} {
		f.Add([]byte(s))
	}
	allow, _ := ParseAllow("10.0.0.0/8,example.com")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range []*Allow{nil, allow} {
			sp, err := Decode(body, a)
			if err != nil {
				if _, ok := err.(*FieldError); !ok {
					t.Fatalf("Decode error %T %v is no *FieldError", err, err)
				}
				continue
			}
			every, timeout := sp.Durations()
			if every <= 0 || timeout <= 0 || timeout > every {
				t.Fatalf("decoded %+v: every %v, timeout %v", sp, every, timeout)
			}
			again, err := json.Marshal(sp)
			if err != nil {
				t.Fatal(err)
			}
			sp2, err := Decode(again, a)
			if err != nil {
				t.Fatalf("re-decode %s: %v", again, err)
			}
			b2, _ := json.Marshal(sp2)
			if string(b2) != string(again) {
				t.Fatalf("re-decode %s = %s", again, b2)
			}
		}
	})
}
