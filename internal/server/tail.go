package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/alidade/alidade/internal/tail"
)

// tailPing is how often a tail with nothing to send gets a heartbeat (an
// SSE comment, a WebSocket ping), so that proxies keep it open.
const tailPing = 15 * time.Second

// tailGrace is how long a dropped tail's connection may take to be told
// why before it is closed.
const tailGrace = time.Second

// handleTail is GET /api/v1/tail: the key's project's records as they are
// acknowledged, filtered by the query parameters (package tail), as
// server-sent events or, when the request asks to upgrade, over a
// WebSocket. Records are `data: {json}` lines (WebSocket: text messages)
// with dataset, timestamp and the fields by their schema names; the
// stream's own events carry "event" and no "dataset": ready once the tail
// is open, sampling when the hub samples it or stops, dropped when it is
// cut off for reading too slowly.
func (s *Server) handleTail(w http.ResponseWriter, r *http.Request) {
	if s.opts.Tail == nil {
		writeError(w, r, http.StatusServiceUnavailable, "tail_off", "this server has no live tail")
		return
	}
	f, err := tail.ParseFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	sub, err := s.opts.Tail.Subscribe(principal(r).Project, f)
	if errors.Is(err, tail.ErrTooManyClients) {
		w.Header().Set("Retry-After", "5")
		writeError(w, r, http.StatusTooManyRequests, "too_many_tails",
			fmt.Sprintf("%v (%d; the server's --tail-max-clients); close one or retry later", err, s.opts.Tail.Clients(principal(r).Project)))
		return
	} else if err != nil {
		writeError(w, r, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	defer sub.Close()
	// The stream outlives the server's read and write timeouts (the read
	// one would end the request's context; a hijacked WebSocket keeps
	// both).
	rc := http.NewResponseController(w)
	if err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{})); err != nil {
		writeError(w, r, http.StatusInternalServerError, "no_streaming", "this connection cannot stream: "+err.Error())
		return
	}
	if isWebSocket(r) {
		s.tailWebSocket(w, r, sub)
		return
	}
	s.tailSSE(w, r, sub)
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func (s *Server) tailPing() time.Duration {
	if s.opts.TailHeartbeat > 0 {
		return s.opts.TailHeartbeat
	}
	return tailPing
}

// tailEvent is one of the stream's own events.
type tailEvent struct {
	Event   string   `json:"event"`
	Message string   `json:"message"`
	Rate    *float64 `json:"rate,omitempty"`
	// MatchedPerSecond is the records a second that matched the filter
	// when the sampling rate was set.
	MatchedPerSecond *float64 `json:"matched_per_second,omitempty"`
	MaxRate          int      `json:"max_rate,omitempty"`
}

func readyEvent(maxRate int) tailEvent {
	return tailEvent{Event: "ready", MaxRate: maxRate,
		Message: fmt.Sprintf("tailing: records appear as they are acknowledged; past %d a second the stream is sampled", maxRate)}
}

func samplingEvent(sm *tail.Sampling, maxRate int) tailEvent {
	e := tailEvent{Event: "sampling", Rate: &sm.Rate, MatchedPerSecond: &sm.Matched, MaxRate: maxRate}
	if sm.Rate >= 1 {
		e.Message = "sampling ended: every matching record is sent"
	} else {
		e.Message = fmt.Sprintf("about %.0f records a second match, more than the %d a tail is sent: %s%% of them are sent",
			sm.Matched, maxRate, trimFloat(sm.Rate*100))
	}
	return e
}

func trimFloat(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", math.Round(x*1e4)/1e4), "0"), ".")
}

func droppedEvent(sub *tail.Sub) tailEvent {
	return tailEvent{Event: "dropped", Message: sub.Reason() + "; the tail was closed (reconnect, perhaps with a narrower filter or sampling)"}
}

func (s *Server) tailSSE(w http.ResponseWriter, r *http.Request, sub *tail.Sub) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	maxRate := s.opts.Tail.MaxRate()
	buf := []byte("retry: 3000\n: alidade tail\n\n")
	buf = appendSSE(buf, readyEvent(maxRate))
	if _, err := w.Write(buf); err != nil || rc.Flush() != nil {
		return
	}
	// A tail dropped while a write to it blocks (the client stopped
	// reading) gets tailGrace to take the news, then its writes fail.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sub.Dropped():
			_ = rc.SetWriteDeadline(time.Now().Add(tailGrace))
		case <-done:
		}
	}()
	ping := time.NewTicker(s.tailPing())
	defer ping.Stop()
	for {
		buf = buf[:0]
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping:
			return
		case <-sub.Dropped():
			_, _ = w.Write(appendSSE(buf, droppedEvent(sub)))
			_ = rc.Flush()
			return
		case <-ping.C:
			buf = append(buf, ": ping\n\n"...)
		case it := <-sub.C():
			buf = appendItem(buf, sub, it, maxRate)
			// Send what else waits in one flush.
			for n := 0; n < 256 && len(buf) < 64<<10; n++ {
				select {
				case it := <-sub.C():
					buf = appendItem(buf, sub, it, maxRate)
					continue
				default:
				}
				break
			}
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func appendItem(b []byte, sub *tail.Sub, it tail.Item, maxRate int) []byte {
	sub.Taken(it)
	if it.Record != nil {
		b = append(b, "data: "...)
		b = it.Record.AppendJSON(b)
		return append(b, "\n\n"...)
	}
	return appendSSE(b, samplingEvent(it.Sampling, maxRate))
}

func appendSSE(b []byte, e tailEvent) []byte {
	data, _ := json.Marshal(e)
	b = append(b, "event: "...)
	b = append(b, e.Event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

func (s *Server) tailWebSocket(w http.ResponseWriter, r *http.Request, sub *tail.Sub) {
	// Accept checks that a browser's Origin is this server's host, so
	// that another site cannot open a tail with a dashboard session.
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(c.CloseRead(r.Context()))
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sub.Dropped():
		case <-done:
			return
		}
		t := time.NewTimer(tailGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel() // a write blocked on a client that stopped reading ends
		case <-done:
		}
	}()
	maxRate := s.opts.Tail.MaxRate()
	send := func(b []byte) bool { return c.Write(ctx, websocket.MessageText, b) == nil }
	event := func(e tailEvent) bool {
		b, _ := json.Marshal(e)
		return send(b)
	}
	if !event(readyEvent(maxRate)) {
		return
	}
	ping := time.NewTicker(s.tailPing())
	defer ping.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopping:
			c.Close(websocket.StatusGoingAway, "the server is stopping")
			return
		case <-sub.Dropped():
			if event(droppedEvent(sub)) {
				c.Close(websocket.StatusPolicyViolation, "dropped: the client read too slowly")
			}
			return
		case <-ping.C:
			go func() {
				pctx, pcancel := context.WithTimeout(ctx, 2*s.tailPing())
				defer pcancel()
				if c.Ping(pctx) != nil {
					cancel()
				}
			}()
		case it := <-sub.C():
			sub.Taken(it)
			ok := false
			if it.Record != nil {
				buf = it.Record.AppendJSON(buf[:0])
				ok = send(buf)
			} else {
				ok = event(samplingEvent(it.Sampling, maxRate))
			}
			if !ok {
				return
			}
		}
	}
}
