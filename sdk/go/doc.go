// Package alidade is the Go SDK of Alidade, a self-hosted analytics server
// compatible with Cloudflare Workers Analytics Engine (AE). It owns the
// client side of writes: buffering points in memory, batching them, and
// posting them to the server's write API (POST /api/v1/points, NDJSON,
// gzip) with retries. It uses only the standard library.
//
// # Usage
//
//	client := alidade.New(alidade.Config{
//		URL: "https://alidade.example.com",
//		Key: os.Getenv("ALIDADE_WRITE_KEY"),
//	})
//	defer client.Close(context.Background()) // delivers what is buffered
//
//	// Any dataset, AE positional form: blob1 is Blobs[0], double1 Doubles[0].
//	client.Write("signups", alidade.Point{
//		Index:   "plan_pro",
//		Blobs:   []string{"pro", "FR"},
//		Doubles: []float64{1},
//	})
//
//	// The built-in datasets, through typed helpers.
//	client.TrackAIUsage(alidade.AIUsage{Model: "gpt-4o", Feature: "chat",
//		InputTokens: 812, OutputTokens: 95, Latency: 1200 * time.Millisecond})
//
//	// Every request of a net/http server, by route pattern.
//	http.ListenAndServe(":8080", alidade.Middleware(client, mux))
//
// Write and the helpers cost about 100–200 nanoseconds and allocate nothing:
// they check the point against AE's limits, copy it into a buffer under a
// short lock and return. A background goroutine encodes, gzips and sends the
// batches (about 0.4 µs of its time per point).
//
// # Built-in datasets
//
// The helpers write the server's built-in datasets, whose positions are
// fixed (and whose fields the server's queries know by name):
//
//	dataset         helper              index1    blobs                                      doubles
//	requests        LogRequest          endpoint  url, method, service                       duration (ms), status, response_bytes, request_bytes
//	ai_usage        TrackAIUsage        model     model, feature, provider                   tokens, latency (ms), input_tokens, output_tokens, ttft (ms), cost, cached_input_tokens, neurons, priced
//	embeddings      TrackEmbedding      model     model, feature                             latency (ms), tokens, vectors, dimensions, cost, priced
//	vector_search   TrackVectorSearch   index     "vector_search", query (opt-in)            results, latency (ms), top_score, mean_score
//	db_queries      TrackDBQuery        name      query, database, operation                 latency (ms), rows_read, rows_written
//	websocket       TrackWebSocket      kind      event, channel, error                      duration (ms), code, messages_in, messages_out
//	grade_passback  TrackGradePassback  platform  platform, error_class, course              success, latency (ms), attempt, score
//	intent          TrackIntent         model     model, intent, id, "prediction", ""        confidence, 0
//	intent          LabelIntent         ""        "", actual, id, "label", actual            0, 0
//
// In ai_usage, priced is 2 when the caller gave the cost and 0 when the
// server is to price the call at ingest from its price table (embeddings
// always leave it to the server). Helpers clip an index longer than 96 bytes
// rather than have the point rejected.
//
// # Logs
//
// SlogHandler returns a log/slog handler that ships records to the server's
// POST /api/v1/logs (the built-in logs dataset) through a log sender of
// the Client's, buffered, batched and retried as points are:
//
//	slog.SetDefault(slog.New(client.SlogHandler(&alidade.SlogOptions{AddSource: true})))
//
// # Delivery
//
// Points are sent in batches of BatchSize points (or about 1 MB), at least
// every FlushInterval, one request at a time, in the order written. A 200
// answer means the points are durable on the server. Network errors, 429
// (honouring Retry-After), 408 and 5xx answers are retried with exponential
// backoff and jitter, for up to MaxRetries times and MaxRetryTime; later
// points wait in the buffer meanwhile. Invalid points — caught by Write
// where that is cheap, or refused by the server — are counted as rejected
// and never retried. A body the server finds too large (413) is split.
//
// Delivery is at least once: when an answer is lost after the server
// committed a batch (the connection broke), the retry stores it again.
//
// The buffer is bounded by BufferSize points and MaxBufferBytes bytes. When
// it is full, Write drops the new point (DropNewest) or the oldest points
// not being sent (DropOldest); it never blocks. Stats counts every point:
// Written = Sent + Rejected + Dropped + Buffered.
//
// Flush waits until what was buffered is delivered; Close delivers
// everything and stops. Both take a context and, when points were lost since
// the previous Flush or Close, return a *DeliveryError that counts what was
// dropped or rejected (and, for Flush, what is still pending). Write after
// Close drops the point (ErrClosed).
//
// Nothing here panics into or stalls the host application: Write never
// waits on the network, panics of the background goroutine are recovered,
// the ErrorHandler is rate-limited and guarded, and a nil *Client is a valid
// client that does nothing.
package alidade
