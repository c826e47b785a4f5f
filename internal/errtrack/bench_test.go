package errtrack

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/bench"
)

// benchGoEvent is the event `alidade bench errors` sends (about 5 KB): an
// exception with 20 frames (without context lines), 12 breadcrumbs, tags,
// a user and contexts.
func benchGoEvent() []byte {
	env := bench.ErrorEnvelope(123456789, 7, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	parts := bytes.SplitN(env, []byte("\n"), 3)
	return bytes.TrimSpace(parts[2])
}

// benchPythonEvent is an event of about 5.7 KB as the Python SDK sends it:
// ASCII-only JSON (so non-ASCII text as \u escapes), 20 frames with
// context lines and vars, 12 breadcrumbs with data, tags as pairs, a
// request, a logentry.
func benchPythonEvent() []byte {
	var frames []string
	for i := range 20 {
		vars := ""
		if i >= 16 {
			vars = fmt.Sprintf(`,"vars":{"lesson":"%d","user":"'u\u00e9%d'"}`, i, i)
		}
		frames = append(frames, fmt.Sprintf(`{"filename":"app/g%d.py","function":"grade_%d","module":"app.g%d","lineno":%d,"in_app":%v,`+
			`"context_line":"  r = f(x)","pre_context":["def g(x):"],"post_context":["  return r"]%s}`, i, i, i%4, 10+i, i > 4, vars))
	}
	var crumbs []string
	for i := range 12 {
		crumbs = append(crumbs, fmt.Sprintf(`{"timestamp":"2026-12-01T09:59:%02d.%06dZ","category":"http","data":{"url":"/x/%d"}}`, 40+i, 1000*i, i))
	}
	return fmt.Appendf(nil, `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","timestamp":"2026-12-01T10:00:00.123456Z","level":"error","platform":"python",`+
		`"logentry":{"message":"grading failed for %%s","params":["lesson 7"]},"logger":"app.grading","server_name":"web-3","release":"tutor@2.1.0","environment":"production",`+
		`"exception":{"values":[{"type":"KeyError","value":"'lesson_7'","module":null,"mechanism":{"type":"django","handled":false},"stacktrace":{"frames":[%s]}}]},`+
		`"breadcrumbs":{"values":[%s]},"tags":[["browser","Firefox 128"],["url","/lessons/7"]],"user":{"id":"42","email":"ann@example.com","ip_address":"10.1.2.3"},`+
		`"request":{"url":"https://tutor.example.com/lessons/7","method":"POST","query_string":"a=1&b=\ud83d\ude00","headers":{"User-Agent":"Mozilla/5.0","Accept":"text/html"},"data":{"answer":"42"}},`+
		`"contexts":{"runtime":{"name":"CPython","version":"3.12.4"}},"extra":{"sys.argv":["manage.py","runserver"]},"modules":{"django":"5.0.6"},"sdk":{"name":"sentry.python.django","version":"2.8.0"}}`,
		strings.Join(frames, ","), strings.Join(crumbs, ","))
}

var benchEvents = []struct {
	name string
	body func() []byte
}{{"go", benchGoEvent}, {"python", benchPythonEvent}}

// BenchmarkDecodeEvent compares DecodeEvent (fastjson) with the
// reference decoder (encoding/json and the flex types) on events of about
// 5 KB. Besides ns/op (wall time, which a busy machine inflates) it
// reports cpu-ns/op: the process's CPU time per event, the garbage
// collector's included.
func BenchmarkDecodeEvent(b *testing.B) {
	for _, ev := range benchEvents {
		body := ev.body()
		for _, dec := range []struct {
			name string
			fn   func([]byte) (*Event, error)
		}{{"fastjson", DecodeEvent}, {"reference", decodeEventReference}} {
			b.Run(ev.name+"/"+dec.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				loopCPU(b, func() {
					if _, err := dec.fn(body); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkReadEvent is the whole per-event cost of ReadEvent (and of
// ReadEvent as it was: reference), and its parts: decoding, grouping
// (regexp: grouping v1 with its regular expressions), compressing;
// parallel is ReadEvent on every core, reporting events/s.
func BenchmarkReadEvent(b *testing.B) {
	for _, ev := range benchEvents {
		body := ev.body()
		e, err := DecodeEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(ev.name+"/ReadEvent", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			loopCPU(b, func() {
				if _, err := ReadEvent(body, 1, 1796119200000, 90*24*time.Hour); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(ev.name+"/ReadEvent/reference", func(b *testing.B) {
			// ReadEvent as it was: the reference decoder and grouping v1
			// with its regexps.
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			loopCPU(b, func() {
				e, err := decodeEventReference(body)
				if err != nil {
					b.Fatal(err)
				}
				_ = &Incoming{Project: 1, Event: e, Grouping: refGroupOf(e), Timestamp: ClampTimestamp(e.Timestamp, 1796119200000, 90*24*time.Hour),
					Received: 1796119200000, Payload: Compress(body), Size: len(body)}
			})
		})
		b.Run(ev.name+"/DecodeEvent", func(b *testing.B) {
			b.ReportAllocs()
			loopCPU(b, func() { _, _ = DecodeEvent(body) })
		})
		b.Run(ev.name+"/GroupOf", func(b *testing.B) {
			b.ReportAllocs()
			loopCPU(b, func() { GroupOf(e) })
		})
		b.Run(ev.name+"/GroupOf/regexp", func(b *testing.B) {
			b.ReportAllocs()
			loopCPU(b, func() { refGroupOf(e) })
		})
		b.Run(ev.name+"/Compress", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			loopCPU(b, func() { Compress(body) })
		})
		b.Run(ev.name+"/ReadEvent/parallel", func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ReadEvent(body, 1, 1796119200000, 90*24*time.Hour); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
