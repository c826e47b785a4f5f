package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
)

// benchEvent is a Sentry error event of about 5 KB as a Go server sends
// it: an exception with 20 frames, breadcrumbs, tags, a user and contexts;
// bug picks one of 50 groups.
func benchEvent(n, bug int) []byte {
	var frames []string
	for i := range 20 {
		frames = append(frames, fmt.Sprintf(`{"function":"handler%d.step%d","module":"github.com/acme/tutor/internal/svc%d","abs_path":"/src/tutor/internal/svc%d/file%d.go","lineno":%d,"in_app":%v}`,
			bug, i, i%5, i%5, i, 100+i, i > 5))
	}
	var crumbs []string
	for i := range 12 {
		crumbs = append(crumbs, fmt.Sprintf(`{"timestamp":%d,"category":"http","message":"GET /api/lessons/%d returned 200 after %d ms","level":"info"}`, time.Now().Unix(), i, i*7))
	}
	ev := fmt.Sprintf(`{"event_id":"%032x","timestamp":%.3f,"level":"error","platform":"go","release":"tutor@1.4.%d","environment":"production","server_name":"web-%d",
		"exception":[{"type":"*errors.errorString","value":"lesson %d not found in shard %d","stacktrace":{"frames":[%s]}}],
		"breadcrumbs":[%s],"tags":{"region":"eu-west","route":"/api/lessons/:id","method":"GET"},"user":{"id":"user-%d","ip_address":"10.0.0.%d"},
		"contexts":{"os":{"name":"linux"},"runtime":{"name":"go","version":"go1.26"},"device":{"arch":"amd64","num_cpu":2}},
		"sdk":{"name":"sentry.go","version":"0.46.2"}}`, n, float64(time.Now().UnixMilli())/1000, bug%3, n%4, n, n%7, strings.Join(frames, ","), strings.Join(crumbs, ","), n%1000, n%250)
	return []byte(fmt.Sprintf("{\"event_id\":\"%032x\"}\n{\"type\":\"event\",\"length\":%d}\n%s\n", n, len(ev), ev))
}

// BenchmarkSentryIngest measures envelopes of 5 KB error events posted by
// benchClients concurrent clients over HTTP to a real server, each acknowledged once
// its group and event are committed and its errors point is durable.
// benchClients is how many SDKs send at once (each waits for its answer).
const benchClients = 64

func BenchmarkSentryIngest(b *testing.B) {
	se := servertest.Start(b, servertest.Options{RootKey: rootKey})
	url := se.URL + "/api/1/envelope/"
	auth := "Sentry sentry_version=7, sentry_key=" + se.Keys[meta.KindPublic]
	bodies := make([][]byte, b.N)
	size := 0
	for i := range bodies {
		bodies[i] = benchEvent(i+1, i%50)
		size += len(bodies[i])
	}
	b.SetBytes(int64(size / len(bodies)))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
				req.Header.Set("X-Sentry-Auth", auth)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
