package point

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchNow is the receive time of the benchmark bodies: 2025-06-01T00:00:00Z.
const benchNow = 1748736000000

// requestPoints returns n realistic request-log points: an index and a few
// blobs (route, method, country, user agent) and doubles (latency, status,
// bytes), most with a timestamp.
func requestPoints(n int) []map[string]any {
	r := rand.New(rand.NewPCG(1, 2))
	routes := []string{"/api/chat", "/api/users/:id", "/api/search", "/", "/static/app.js", "/api/v1/datasets/requests/points", "/login", "/api/orders"}
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	countries := []string{"US", "DE", "FR", "GB", "JP", "BR", "IN"}
	agents := []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "curl/8.5.0", "Go-http-client/1.1", "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"}
	statuses := []float64{200, 200, 200, 201, 204, 301, 404, 500}
	pts := make([]map[string]any, n)
	for i := range pts {
		route := routes[r.IntN(len(routes))]
		p := map[string]any{
			"dataset": "requests",
			"index":   route,
			"blobs":   []string{route, methods[r.IntN(len(methods))], countries[r.IntN(len(countries))], agents[r.IntN(len(agents))]},
			"doubles": []float64{float64(r.IntN(200000)) / 100, statuses[r.IntN(len(statuses))], float64(r.IntN(100000))},
		}
		if r.IntN(4) != 0 {
			p["timestamp"] = benchNow - int64(r.IntN(60000))
		}
		pts[i] = p
	}
	return pts
}

func benchBody(b *testing.B, ndjson bool) []byte {
	pts := requestPoints(10000)
	var buf bytes.Buffer
	if ndjson {
		enc := json.NewEncoder(&buf)
		for _, p := range pts {
			if err := enc.Encode(p); err != nil {
				b.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	body, err := json.Marshal(pts)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchOpts are the options of the benchmarks: a 30-day window.
func benchOpts() DecodeOptions {
	return DecodeOptions{Now: benchNow, MinTimestamp: benchNow - 30*86400000, MaxTimestamp: benchNow + 300000}
}

// benchDecode decodes body, which must hold 10k valid points, b.N times and
// reports ns/point and allocs/point besides the usual metrics.
func benchDecode(b *testing.B, body []byte, format Format, opts DecodeOptions) {
	const n = 10000
	pts, rej, err := Decode(body, format, opts)
	if err != nil || len(rej) > 0 || len(pts) != n {
		b.Fatalf("decode: %d points, rejections %v, err %v", len(pts), rej[:min(len(rej), 3)], err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if _, _, err := Decode(body, format, opts); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/point")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/n, "allocs/point")
}

// BenchmarkDecodeNDJSON decodes 10k realistic request points as NDJSON.
func BenchmarkDecodeNDJSON(b *testing.B) {
	benchDecode(b, benchBody(b, true), FormatNDJSON, benchOpts())
}

// BenchmarkDecodeJSONArray decodes 10k realistic request points as a JSON array.
func BenchmarkDecodeJSONArray(b *testing.B) {
	benchDecode(b, benchBody(b, false), FormatJSON, benchOpts())
}

// BenchmarkDecodeTypical decodes the typical point of the brief, one per line.
func BenchmarkDecodeTypical(b *testing.B) {
	line := `{"dataset":"requests","index":"/api/chat","blobs":["/api/chat","GET"],"doubles":[12.5,200]}` + "\n"
	benchDecode(b, bytes.Repeat([]byte(line), 10000), FormatNDJSON, benchOpts())
}

// BenchmarkDecodeNamed decodes 10k points of the named form through a schema.
func BenchmarkDecodeNamed(b *testing.B) {
	var buf bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&buf, `{"fields":{"route":"/api/chat","method":"GET","latency_ms":%d.5,"status":200}}`+"\n", i%1000)
	}
	schema := &Schema{Blobs: []string{"route", "method"}, Doubles: []string{"latency_ms", "status"}}
	opts := benchOpts()
	opts.Dataset = "requests"
	opts.Schema = func(string) *Schema { return schema }
	benchDecode(b, buf.Bytes(), FormatNDJSON, opts)
}
