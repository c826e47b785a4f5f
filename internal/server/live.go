package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Live updates: at most one change event a second a stream, a comment
// every 15 s so that proxies keep the stream open.
const (
	liveMinGap = time.Second
	livePing   = 15 * time.Second
)

// handleLive is GET /api/v1/live: a server-sent events stream of the
// key's project's changes, `event: change` with `{"datasets": [...]}`
// after commits (coalesced, at most one a second), until the client goes
// or the server stops.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The stream outlives the server's read and write timeouts (the read
	// timeout would end the request's context after 2 minutes).
	if err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{})); err != nil {
		writeError(w, r, http.StatusInternalServerError, "no_streaming", "this connection cannot stream: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: alidade live\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	if s.opts.Live == nil {
		<-r.Context().Done()
		return
	}
	sub, cancel := s.opts.Live.Subscribe(principal(r).Project)
	defer cancel()
	ping := time.NewTicker(livePing)
	defer ping.Stop()
	var last time.Time
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping:
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case <-sub.C:
			if wait := liveMinGap - time.Since(last); wait > 0 {
				select {
				case <-time.After(wait):
				case <-r.Context().Done():
					return
				}
			}
			last = time.Now()
			b, _ := json.Marshal(map[string]any{"datasets": sub.Take()})
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
