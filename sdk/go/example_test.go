package alidade_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	alidade "github.com/alidade/alidade/sdk/go"
)

func ExampleNew() {
	client := alidade.New(alidade.Config{
		URL: "http://127.0.0.1:8080",
		Key: os.Getenv("ALIDADE_WRITE_KEY"),
		// Optional: told (at most every 10s) about points that could not
		// be delivered.
		ErrorHandler: func(err error) { log.Print(err) },
	})
	// Close delivers what is buffered; give it a deadline.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Close(ctx); err != nil {
			log.Print(err) // e.g. "alidade: close: not every point was delivered: 12 dropped"
		}
	}()

	// Any dataset, in Analytics Engine's positional form.
	client.Write("signups", alidade.Point{
		Index:   "pro",                 // index1
		Blobs:   []string{"pro", "FR"}, // blob1, blob2
		Doubles: []float64{1, 29.99},   // double1, double2
	})
}

func ExampleMiddleware() {
	client := alidade.New(alidade.Config{URL: "http://127.0.0.1:8080", Key: os.Getenv("ALIDADE_WRITE_KEY"), Service: "api"})
	defer client.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %s\n", r.PathValue("id"))
	})
	// Each request is recorded in the requests dataset under its route
	// pattern, "GET /users/{id}", not its path.
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: alidade.Middleware(client, mux)}
	_ = srv // srv.ListenAndServe()
}

func ExampleClient_TrackAIUsage() {
	client := alidade.New(alidade.Config{URL: "http://127.0.0.1:8080", Key: os.Getenv("ALIDADE_WRITE_KEY")})
	defer client.Close(context.Background())

	start := time.Now()
	// ... call the model, stream the answer ...
	firstToken := 180 * time.Millisecond

	client.TrackAIUsage(alidade.AIUsage{
		Model:            "gpt-4o-mini",
		Feature:          "chat",
		Provider:         "openai",
		InputTokens:      812,
		OutputTokens:     95,
		Latency:          time.Since(start),
		TimeToFirstToken: firstToken,
		// Cost left nil: the server prices the call from its price table.
	})
}

func ExampleClient_Flush() {
	client := alidade.New(alidade.Config{URL: "http://127.0.0.1:8080", Key: os.Getenv("ALIDADE_WRITE_KEY")})
	defer client.Close(context.Background())

	client.TrackGradePassback(alidade.GradePassback{Platform: "canvas", Course: "bio101", Success: true, Attempt: 1, Score: 0.9})
	// Wait until the server has acknowledged it (e.g. before a batch job
	// exits).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Flush(ctx); err != nil {
		log.Print(err)
	}
	s := client.Stats()
	log.Printf("sent %d, dropped %d, rejected %d, buffered %d", s.Sent, s.Dropped, s.Rejected, s.Buffered)
}

func ExampleClient_LabelIntent() {
	client := alidade.New(alidade.Config{URL: "http://127.0.0.1:8080", Key: os.Getenv("ALIDADE_WRITE_KEY")})
	defer client.Close(context.Background())

	// The classifier's guess, with an id...
	client.TrackIntent(alidade.Intent{Model: "intent-v2", Intent: "refund", ID: "msg-8812", Confidence: 0.74})
	// ...and, later, what the user really wanted: the server joins the two
	// by id to measure accuracy.
	client.LabelIntent("msg-8812", "cancel_subscription")
}

// A nil *Client does nothing: analytics can be switched off without ifs.
func ExampleClient_nil() {
	var client *alidade.Client
	if url := os.Getenv("ALIDADE_URL"); url != "" {
		client = alidade.New(alidade.Config{URL: url, Key: os.Getenv("ALIDADE_WRITE_KEY")})
	}
	client.LogRequest(alidade.RequestEvent{Endpoint: "GET /", URL: "/", Method: "GET", Status: 200})
	fmt.Println(client.Stats().Written)
	// Output: 0
}
