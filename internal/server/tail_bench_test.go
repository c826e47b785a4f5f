package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/tail"
)

// BenchmarkIngestWhileTailing measures acknowledged ingest (4 writers,
// NDJSON batches of 1,000 request points) on one real server with no
// tail open, with a tail that stopped reading (it is dropped once its
// buffer fills: ingest must not wait for it), and with a tail that reads
// everything. Sampling is off (a tail is sent every point): the worst
// case. An iteration is a round of 100 batches in each mode, and 100 more
// without a tail again as a control (none-again/none shows the noise of
// the machine); it reports each mode's points/s and their ratios to the
// rate without a tail.
//
//	go test ./internal/server/ -run '^$' -bench IngestWhileTailing -benchtime 5x
func BenchmarkIngestWhileTailing(b *testing.B) {
	// No sampling: a tail is sent every point, the most a tail can cost
	// ingest, and a stalled one fills its buffer soonest.
	se := servertest.Start(b, servertest.Options{RootKey: rootKey, Tail: func(o *tail.Options) { o.MaxRate = 100_000_000 }})
	var body bytes.Buffer
	const perBatch = 1000
	for i := range perBatch {
		fmt.Fprintf(&body, `{"indexes":["GET /api/chat"],"blobs":["/api/chat?%d","GET","api"],"doubles":[%d,200]}`+"\n", i, i%300)
	}
	write := func() error {
		req, _ := http.NewRequest("POST", se.URL+"/api/v1/datasets/requests/points", bytes.NewReader(body.Bytes()))
		req.Header.Set("Authorization", "Bearer "+se.Keys[meta.KindWrite])
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("write = %d", resp.StatusCode)
		}
		return nil
	}
	// Each iteration is a round of the three modes in turn, so that the
	// other load of a shared machine falls on all of them alike.
	const batches = 100 // a mode's batches a round
	burst := func() time.Duration {
		start := time.Now()
		jobs := make(chan struct{}, batches)
		for range batches {
			jobs <- struct{}{}
		}
		close(jobs)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range jobs {
					if err := write(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var took [4]time.Duration
	var dropped, tailed int
	burst() // warm up: the day's file, the connections
	b.ResetTimer()
	for range b.N {
		took[0] += burst()

		conn := openStalledTail(b, se.URL, se.Keys[meta.KindRead])
		took[1] += burst()
		dropped += 1 - se.Tail.Clients(1)
		conn.Close()

		req, _ := http.NewRequest("GET", se.URL+"/api/v1/tail", nil)
		req.Header.Set("Authorization", "Bearer "+se.Keys[meta.KindRead])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan int)
		go func() {
			n := 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), `data: {"dataset"`) {
					n++
				}
			}
			done <- n
		}()
		took[2] += burst()
		resp.Body.Close()
		tailed += <-done
		for se.Tail.Clients(1) > 0 {
			runtime.Gosched() // the closed tails leave the hub
		}
		took[3] += burst() // a control: the spread between two rounds alike
	}
	b.StopTimer()
	pts := float64(b.N * batches * perBatch)
	rate := func(d time.Duration) float64 { return pts / d.Seconds() }
	b.ReportMetric(rate(took[0]), "points/s-none")
	b.ReportMetric(rate(took[1]), "points/s-stalled")
	b.ReportMetric(rate(took[2]), "points/s-reading")
	b.ReportMetric(rate(took[1])/rate(took[0]), "stalled/none")
	b.ReportMetric(rate(took[2])/rate(took[0]), "reading/none")
	b.ReportMetric(rate(took[3])/rate(took[0]), "none-again/none")
	b.ReportMetric(float64(dropped)/float64(b.N), "stalled-dropped")
	b.ReportMetric(float64(tailed)/pts, "reading-got/point")
}

// openStalledTail opens a tail and reads only up to its ready event.
func openStalledTail(tb testing.TB, base, key string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /api/v1/tail HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", key)
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasPrefix(line, "event: ready") {
			return conn
		}
	}
}
