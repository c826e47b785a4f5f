package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/ingest"
	"github.com/alidade/alidade/internal/logs"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// writeResponse is the answer to a write.
type writeResponse struct {
	Accepted int               `json:"accepted"`
	Rejected []point.Rejection `json:"rejected"`
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errBodyTooLarge names the limit that was exceeded.
type errBodyTooLarge struct{ limit int64 }

func (e *errBodyTooLarge) Error() string {
	return fmt.Sprintf("request body is over the %d-byte limit (%s after decompression); split the batch", e.limit, humanBytes(e.limit))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readBody reads a body, gunzipping it when Content-Encoding says so, into
// buf, refusing more than limit bytes before or after decompression.
// readBodyOrAnswer reads the body as readBody does; when it cannot, it
// answers 413 (over limit) or 400 itself and reports false.
func readBodyOrAnswer(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, limit int64) bool {
	err := readBody(r, buf, limit)
	if err == nil {
		return true
	}
	var tooLarge *errBodyTooLarge
	if errors.As(err, &tooLarge) {
		writeError(w, r, http.StatusRequestEntityTooLarge, "body_too_large", err.Error())
	} else {
		writeError(w, r, http.StatusBadRequest, "bad_body", err.Error())
	}
	return false
}

func readBody(r *http.Request, buf *bytes.Buffer, limit int64) error {
	var src io.Reader = io.LimitReader(r.Body, limit+1)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		src = io.LimitReader(zr, limit+1)
	default:
		return fmt.Errorf("unsupported Content-Encoding %q; send gzip or identity", enc)
	}
	if r.ContentLength > limit {
		return &errBodyTooLarge{limit}
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(src)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if n > limit {
		return &errBodyTooLarge{limit}
	}
	return nil
}

func (s *Server) handleWritePoints(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	dataset := r.PathValue("dataset")
	if dataset != "" {
		if err := point.ValidateDatasetName(dataset); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_dataset", err.Error())
			return
		}
	}
	format := point.FormatFromContentType(r.Header.Get("Content-Type"))
	s.handleWrite(w, r, dataset, fmt.Sprint(format), func(body []byte, now time.Time) ([]point.Point, []point.Rejection, error) {
		return point.Decode(body, format, point.DecodeOptions{
			Dataset:      dataset,
			Schema:       func(ds string) *point.Schema { return s.store.Schema(p.Project, ds) },
			Now:          now.UnixMilli(),
			MinTimestamp: now.Add(-s.opts.Retention).UnixMilli(),
			MaxTimestamp: now.Add(s.opts.FutureSkew).UnixMilli(),
			MaxPoints:    s.opts.MaxPointsPerRequest,
		})
	})
}

// writeDecoder reads a write's body (gunzipped, within the body limit)
// into points; err is for a body that cannot be read as a whole.
type writeDecoder func(body []byte, now time.Time) (pts []point.Point, rejected []point.Rejection, err error)

// handleWrite is the write path of the points and logs endpoints: it reads
// the body, answers an Idempotency-Key (hashed with dataset, format and the
// body), decodes with decode, and submits the points to the ingest
// pipeline, answering once they are durable.
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request, dataset, format string, decode writeDecoder) {
	p := principal(r)
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_idempotency_key", err.Error())
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	recycle := true
	defer func() {
		// The decoded points share the body's memory; a write abandoned
		// before its commit may still be queued, so its buffer is dropped.
		if recycle && buf.Cap() <= 4*int(s.opts.MaxBodyBytes) {
			bodyPool.Put(buf)
		}
	}()
	if !readBodyOrAnswer(w, r, buf, s.opts.MaxBodyBytes) {
		return
	}
	now := time.Now()
	var idem *store.Idem
	// shared is the cluster's record of the keys; keepClaim leaves its
	// claim of the key pending after a commit that may have stored some
	// of the points (a retry takes it over after cluster.IdemStale).
	var shared sharedIdempotency
	keepClaim := false
	if key != "" {
		// One write of a key at a time; a finished one is answered again.
		k := idemKey{p.Project, key}
		hash := requestHash(dataset, format, buf.Bytes())
		done, err := s.idem.claim(r.Context(), k, now)
		if err != nil {
			writeError(w, r, http.StatusServiceUnavailable, "canceled", "the request ended while another write with its Idempotency-Key ran")
			return
		}
		if done != nil {
			if done.hash != hash {
				reusedKey(w, r, key)
				return
			}
			replay(w, done.status, done.body)
			return
		}
		idem = &store.Idem{Key: key, Hash: hash, At: now.UnixMilli()}
		// Released with the answer to give again, or with none when
		// nothing was stored.
		defer func() { s.idem.finish(k, hash, idem.Status, idem.Body, time.UnixMilli(idem.At)) }()
		if sh, ok := s.store.(sharedIdempotency); ok {
			// A cluster: the key is claimed in the shared metadata, so
			// that a retry sent to another node is recognised.
			if !s.claimShared(w, r, sh, p.Project, idem) {
				return
			}
			defer func() {
				if idem.Body == nil && !keepClaim {
					s.releaseShared(r, sh, p.Project, key)
				}
			}()
			shared = sh
		}
	}
	pts, rejected, err := decode(buf.Bytes(), now)
	if err != nil {
		s.countRejected("bad_body", 1)
		var tooMany *logs.TooManyRecordsError
		if errors.As(err, &tooMany) {
			// A client splits a batch answered 413 (the Go SDK does).
			writeError(w, r, http.StatusRequestEntityTooLarge, "too_many_records", err.Error())
			return
		}
		writeError(w, r, http.StatusBadRequest, "bad_body", err.Error())
		return
	}
	for _, rj := range rejected {
		s.countRejected(rejectReason(rj.Error), 1)
	}
	if rejected == nil {
		rejected = []point.Rejection{}
	}
	if len(pts) == 0 {
		msg := "the batch has no valid point"
		if len(rejected) == 0 {
			msg = "the body holds no point"
		} else {
			msg += "; the first error: position " + fmt.Sprint(rejected[0].Position) + ": " + rejected[0].Error
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":    map[string]string{"code": "no_valid_points", "message": msg, "request_id": requestID(r)},
			"accepted": 0,
			"rejected": rejected,
		})
		return
	}
	s.priceAI(r.Context(), p.Project, pts)
	ctx := r.Context()
	var answer []byte
	if idem != nil {
		answer = answerBody(writeResponse{Accepted: len(pts), Rejected: rejected})
		idem.Days, idem.Status, idem.Body = pointDays(pts), http.StatusOK, answer
		// The claim ends when the commit does, also if the client leaves.
		ctx = context.WithoutCancel(ctx)
	}
	b := store.Batch{Project: p.Project, Points: pts, Idem: idem}
	if idem != nil && s.opts.Dedupe != nil {
		// Writes are acknowledged once logged: ask the store now whether
		// an earlier write of the key (before a restart) stored them.
		bs, err := s.opts.Dedupe(ctx, []store.Batch{b})
		if err != nil {
			idem.Body = nil
			s.log.Error("look up idempotency key", "id", requestID(r), "err", err)
			writeError(w, r, http.StatusInternalServerError, "commit_failed", "the Idempotency-Key could not be looked up; retry (request id "+requestID(r)+")")
			return
		}
		b = bs[0]
		if f := idem.Found; f != nil && f.Hash == idem.Hash && b.Idem != nil {
			// What the earlier write did not store is stored now, under
			// the earlier write's answer.
			b.Idem.Status, b.Idem.Body = f.Status, f.Body
		}
	}
	if idem == nil || idem.Found == nil || len(b.Points) > 0 || b.Idem != nil {
		err = s.ingest.SubmitBatch(ctx, b, buf.Len())
	}
	if idem != nil && err != nil {
		idem.Body = nil // nothing stored: the next write of the key runs
	}
	if err != nil {
		if s.writeSubmitError(w, r, err, len(pts)) {
			recycle = false
			keepClaim = true
		}
		return
	}
	if idem != nil && s.opts.AfterCommit != nil {
		s.opts.AfterCommit()
	}
	if shared != nil && idem.Found == nil {
		// Durable now (in the store, or in the write-ahead log whose
		// load records the key again): the key's answer for every node.
		if err := shared.IdemDone(context.WithoutCancel(ctx), p.Project, idem); err != nil {
			s.log.Warn("record idempotency key", "id", requestID(r), "err", err)
		}
	}
	if idem != nil && idem.Found != nil {
		// An earlier write of the key committed (before a restart, or
		// before its answer was lost): what it did not store is stored now.
		if idem.Found.Hash != idem.Hash {
			idem.Body = nil
			reusedKey(w, r, key)
			return
		}
		idem.Status, idem.Body = idem.Found.Status, idem.Found.Body
		replay(w, idem.Status, idem.Body)
		return
	}
	if s.metrics != nil {
		s.metrics.PointsAccepted.Add(uint64(len(pts)))
	}
	if answer != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(answer)
		return
	}
	writeJSON(w, http.StatusOK, writeResponse{Accepted: len(pts), Rejected: rejected})
}

// writeSubmitError answers a write whose points the ingest pipeline did not
// take. It reports whether the commit itself failed (500), in which case
// the points may still be queued.
func (s *Server) writeSubmitError(w http.ResponseWriter, r *http.Request, err error, points int) (commitFailed bool) {
	var diskFull *wal.DiskFullError
	switch {
	case errors.Is(err, wal.ErrFull) && errors.Is(err, store.ErrUnavailable):
		// The log holds writes while the store is down, and is full:
		// not an overload that backing off a second cures.
		s.countRejected("overloaded", uint64(points))
		s.log.Warn("write refused: the write-ahead log is full and the store cannot be reached", "id", requestID(r), "points", points, "err", err)
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, r, http.StatusServiceUnavailable, "store_unavailable",
			"the store cannot be reached and the write-ahead log that holds writes meanwhile is full (--wal-max): nothing in this request was stored; retry later ("+cleanBackendError(err)+")")
	case errors.Is(err, wal.ErrFull):
		s.countRejected("overloaded", uint64(points))
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusTooManyRequests, "log_full",
			"the write-ahead log is full while the store catches up; retry after 1 second with backoff (nothing in this request was stored)")
	case errors.As(err, &diskFull):
		s.log.Error("write refused: disk full", "id", requestID(r), "err", err)
		w.Header().Set("Retry-After", "10")
		writeError(w, r, http.StatusInsufficientStorage, "disk_full",
			"the server's disk is full: nothing in this request was stored, nothing acknowledged before is lost; retry once the operator has freed space")
	case errors.Is(err, ingest.ErrOverloaded):
		s.countRejected("overloaded", uint64(points))
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusTooManyRequests, "overloaded",
			"the ingest queue is full; retry after 1 second with backoff (nothing in this request was stored)")
	case errors.Is(err, ingest.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, r, http.StatusServiceUnavailable, "shutting_down", err.Error()+" (nothing in this request was stored)")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, meta.ErrUnavailable):
		s.log.Warn("write refused: store unavailable", "id", requestID(r), "points", points, "err", err)
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, r, http.StatusServiceUnavailable, "store_unavailable",
			"the store cannot be reached: nothing in this request was stored; retry later ("+cleanBackendError(err)+")")
	default:
		s.log.Error("write failed", "id", requestID(r), "points", points, "err", err)
		writeError(w, r, http.StatusInternalServerError, "commit_failed",
			"the points could not be committed; retry (request id "+requestID(r)+")")
		return true
	}
	return false
}

// pointDays returns the starts (Unix ms) of the UTC days of pts, sorted.
func pointDays(pts []point.Point) []int64 {
	var days []int64
	last := int64(-1)
	for i := range pts {
		d := store.DayStart(pts[i].Timestamp)
		if d != last && !slices.Contains(days, d) {
			days = append(days, d)
		}
		last = d
	}
	slices.Sort(days)
	return days
}

func (s *Server) countRejected(reason string, n uint64) {
	if s.metrics != nil {
		s.metrics.PointsRejected.AddWith(reason, n)
	}
}

// rejectReason buckets a rejection message into a metric label.
func rejectReason(msg string) string {
	for _, r := range []struct{ needle, reason string }{
		{"index", "index"},
		{"UTF-8", "utf8"},
		{"finite", "not_finite"},
		{"blobs total", "blob_size"},
		{"blobs;", "too_many_blobs"},
		{"doubles;", "too_many_doubles"},
		{"timestamp", "timestamp"},
		{"dataset", "dataset"},
		{"field", "field"},
	} {
		if strings.Contains(msg, r.needle) {
			return r.reason
		}
	}
	return "invalid"
}

// sharedIdempotency is a store whose idempotency keys every node of a
// cluster shares (cluster.Store): a write claims its key there before it
// is stored, and records its answer once it is durable.
type sharedIdempotency interface {
	IdemClaim(ctx context.Context, project int64, rec store.Idem) (*store.Idem, error)
	IdemDone(ctx context.Context, project int64, rec *store.Idem) error
	IdemRelease(ctx context.Context, project int64, key string) error
}

// claimShared claims idem's key in sh, or answers the write: again with
// the answer of the key's finished write, 422 for a key reused by another
// request, 409 while another node writes it, 503 when the metadata
// cannot be reached. It reports whether the write is to run.
func (s *Server) claimShared(w http.ResponseWriter, r *http.Request, sh sharedIdempotency, project int64, idem *store.Idem) bool {
	found, err := sh.IdemClaim(r.Context(), project, *idem)
	switch {
	case errors.Is(err, store.ErrIdemInProgress):
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusConflict, "idempotency_key_in_progress", err.Error()+"; nothing in this request was stored: retry the same request after a second")
		return false
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, meta.ErrUnavailable):
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, r, http.StatusServiceUnavailable, "store_unavailable",
			"the Idempotency-Key could not be looked up: the metadata database cannot be reached; nothing in this request was stored, retry later")
		return false
	case err != nil:
		s.log.Error("claim idempotency key", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "commit_failed", "the Idempotency-Key could not be looked up; retry (request id "+requestID(r)+")")
		return false
	case found != nil && found.Hash != idem.Hash:
		reusedKey(w, r, idem.Key)
		return false
	case found != nil:
		// Remembered here too, under the first write's time.
		idem.Status, idem.Body, idem.At = found.Status, found.Body, found.At
		replay(w, found.Status, found.Body)
		return false
	}
	return true
}

// releaseShared drops the node's claim of a key whose write stored
// nothing, so that its retry runs on any node at once.
func (s *Server) releaseShared(r *http.Request, sh sharedIdempotency, project int64, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := sh.IdemRelease(ctx, project, key); err != nil {
		// Its retry waits for IdemStale, then runs.
		s.log.Warn("release idempotency key", "id", requestID(r), "err", err)
	}
}
