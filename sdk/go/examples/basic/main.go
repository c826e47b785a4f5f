// Command basic writes a few points to an Alidade server with the Go SDK and
// prints what became of them.
//
//	ALIDADE_URL=http://127.0.0.1:8080 ALIDADE_WRITE_KEY=ald_write_... go run ./examples/basic
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	alidade "github.com/alidade/alidade/sdk/go"
)

func main() {
	url := os.Getenv("ALIDADE_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	client := alidade.New(alidade.Config{
		URL:          url,
		Key:          os.Getenv("ALIDADE_WRITE_KEY"),
		ErrorHandler: func(err error) { log.Print(err) },
	})

	// A custom dataset, in Analytics Engine's positional form.
	for i := range 10 {
		client.Write("signups", alidade.Point{
			Index:   "pro",
			Blobs:   []string{"pro", "FR"},
			Doubles: []float64{1, float64(i)},
		})
	}

	// The built-in datasets.
	client.LogRequest(alidade.RequestEvent{
		Endpoint: "GET /api/items/{id}", URL: "/api/items/7", Method: "GET", Service: "basic",
		Status: 200, Duration: 12 * time.Millisecond, ResponseBytes: 512,
	})
	client.TrackAIUsage(alidade.AIUsage{
		Model: "gpt-4o-mini", Feature: "summary", Provider: "openai",
		InputTokens: 1200, OutputTokens: 150, Latency: 900 * time.Millisecond, TimeToFirstToken: 200 * time.Millisecond,
	})
	client.TrackVectorSearch(alidade.VectorSearch{Index: "docs", Results: 8, Latency: 6 * time.Millisecond, TopScore: 0.91, MeanScore: 0.7})
	client.TrackDBQuery(alidade.DBQuery{Name: "items.by_id", Database: "main", Operation: "select", Latency: time.Millisecond, RowsRead: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := client.Close(ctx)
	s := client.Stats()
	fmt.Printf("written %d, sent %d, rejected %d, dropped %d\n", s.Written, s.Sent, s.Rejected, s.Dropped)
	if err != nil {
		log.Fatal(err)
	}
}
