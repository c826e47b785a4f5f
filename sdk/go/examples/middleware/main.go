// Command middleware serves HTTP with every request recorded in Alidade's
// requests dataset by route pattern, and delivers what is buffered on
// shutdown.
//
//	ALIDADE_URL=http://127.0.0.1:8080 ALIDADE_WRITE_KEY=ald_write_... go run ./examples/middleware
//	curl localhost:8081/users/42
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
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
		Service:      "example",
		ErrorHandler: func(err error) { log.Print(err) },
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %s\n", r.PathValue("id")) // recorded as "GET /users/{id}"
	})
	mux.HandleFunc("POST /chat", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// ... call a model ...
		client.TrackAIUsage(alidade.AIUsage{Model: "gpt-4o-mini", Feature: "chat", Provider: "openai",
			InputTokens: 300, OutputTokens: 40, Latency: time.Since(start)})
		fmt.Fprintln(w, "hello")
	})

	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: alidade.Middleware(client, mux)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("listening on http://%s", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	// The server has stopped: deliver what the SDK still holds.
	closing, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Close(closing); err != nil {
		log.Print(err)
	}
	s := client.Stats()
	log.Printf("sent %d points, dropped %d, rejected %d", s.Sent, s.Dropped, s.Rejected)
}
