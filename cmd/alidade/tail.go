package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	livetail "github.com/alidade/alidade/internal/tail"
)

// listFlag is a flag that may repeat; each value may hold a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// tailOptions are alidade tail's settings.
type tailOptions struct {
	url, key string
	query    url.Values
	json     bool // JSON lines; otherwise readable lines
	colour   bool
	out, log io.Writer
	// idle ends a connection that sent nothing, not even a heartbeat, for
	// this long (the server sends one every 15 s).
	idle time.Duration
	// minBackoff and maxBackoff bound the wait before a reconnection.
	minBackoff, maxBackoff time.Duration
}

// runTail streams a project's records as they are written, like
// `wrangler tail`: GET /api/v1/tail as server-sent events, reconnecting on
// its own.
func runTail(ctx context.Context, args []string) error {
	var u, key, status, method, search, sampling, format string
	var datasets, fields listFlag
	fs := newFlagSet("tail", "tail [--dataset name …] [--status ok|error] [--method POST] [--search text] [--field name:op:value …] [--sampling-rate 0.1] [--format pretty|json] [flags]")
	fs.group("Connection")
	fs.str(&u, "url", "ALIDADE_URL", "http://127.0.0.1:8080", "server URL")
	fs.str(&key, "key", "ALIDADE_READ_KEY", "", "a read (or admin) key of the project")
	g := fs.group("Filters (all must hold)")
	fs.Var(&datasets, "dataset", "only this dataset; repeat or separate with commas for several")
	fs.Var(&fields, "field", "a condition name:op:value on a field, op one of = != > < >= <= contains !contains, e.g. status:>=:500; repeat for several")
	g.names = append(g.names, "dataset", "field")
	fs.str(&status, "status", "", "", "ok or error (an HTTP status of 400 or more, an error event, a log level of error or above)")
	fs.str(&method, "method", "", "", "only records of this HTTP method (GET, POST, …); commas for several")
	fs.str(&search, "search", "", "", "only records with this text in the index or any string field (case-insensitive)")
	fs.str(&sampling, "sampling-rate", "", "", "the share of matching records to show, above 0 and at most 1, e.g. 0.1")
	fs.group("Output")
	fs.str(&format, "format", "", "", "pretty (readable, coloured in a terminal) or json (one record a line); default pretty in a terminal, json when piped")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q\nTry: alidade tail --help", fs.Arg(0))}
	}
	if key == "" {
		key = os.Getenv("ALIDADE_KEY")
	}
	q := url.Values{}
	for _, d := range datasets {
		q.Add("dataset", d)
	}
	for _, f := range fields {
		q.Add("field", f)
	}
	for name, v := range map[string]string{"status": status, "method": method, "search": search, "sampling": sampling} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if _, err := livetail.ParseFilter(q); err != nil {
		var pe *livetail.ParamError
		if errors.As(err, &pe) && pe.Param == "sampling" {
			pe.Param = "sampling-rate"
		}
		if pe != nil {
			return &usageError{msg: fmt.Sprintf("--%s: %s\nTry: alidade tail --help", pe.Param, pe.Msg)}
		}
		return &usageError{msg: err.Error()}
	}
	terminal := isTerminal(os.Stdout)
	o := tailOptions{query: q, out: os.Stdout, log: os.Stderr, idle: 45 * time.Second, minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second}
	switch format {
	case "":
		o.json = !terminal
	case "json":
		o.json = true
	case "pretty":
	default:
		return &usageError{msg: fmt.Sprintf("--format %q: use pretty or json", format)}
	}
	o.colour = terminal && !o.json && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	c, err := newAPIClient(u, key, "--key or set ALIDADE_READ_KEY (a read key of the project)")
	if err != nil {
		return err
	}
	o.url, o.key = c.url, c.key
	return tailLoop(ctx, o)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// fatalError is an answer that a reconnection would only repeat (a bad
// filter, a bad key).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// tailLoop streams until ctx ends or the server refuses the tail for
// good, reconnecting with exponential backoff.
func tailLoop(ctx context.Context, o tailOptions) error {
	backoff := o.minBackoff
	for {
		opened, retryAfter, err := tailOnce(ctx, o)
		if ctx.Err() != nil {
			return nil
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			return fe.err
		}
		if opened {
			backoff = o.minBackoff
		}
		wait := max(backoff, retryAfter)
		msg := "the stream ended"
		if err != nil {
			msg = err.Error()
		}
		note(o, "%s; reconnecting in %v", msg, wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, o.maxBackoff)
	}
}

// note writes a line about the stream (not a record) to the log.
func note(o tailOptions, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if o.colour {
		msg = "\x1b[33m" + msg + "\x1b[0m"
	}
	fmt.Fprintf(o.log, "alidade tail: %s\n", msg)
}

// tailOnce runs one connection; opened says the server accepted the tail.
func tailOnce(ctx context.Context, o tailOptions) (opened bool, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, "GET", o.url+"/api/v1/tail?"+o.query.Encode(), nil)
	if err != nil {
		return false, 0, &fatalError{err}
	}
	req.Header.Set("Authorization", "Bearer "+o.key)
	req.Header.Set("Accept", "text/event-stream")
	// A connection silent for longer than the heartbeat is dead (the
	// answer's headers count).
	alive := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(o.idle)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive:
				t.Reset(o.idle)
			case <-t.C:
				cancel(fmt.Errorf("nothing from the server for %v", o.idle))
				return
			}
		}
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		err := serverError(resp, body)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return false, retryAfter, err
		}
		return false, 0, &fatalError{err}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	w := bufio.NewWriter(o.out)
	defer w.Flush()
	var event string
	for sc.Scan() {
		select {
		case alive <- struct{}{}:
		default:
		}
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			event = ""
			if err := w.Flush(); err != nil {
				return opened, 0, &fatalError{err}
			}
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			data := line[len("data: "):]
			if event == "" {
				if err := printRecord(w, data, o); err != nil {
					return opened, 0, &fatalError{err}
				}
				continue
			}
			var ev struct{ Message string }
			_ = json.Unmarshal(data, &ev)
			switch event {
			case "ready":
				opened = true
				note(o, "tailing %s (%s)", o.url, describeFilter(o.query))
			case "sampling":
				note(o, "the server samples this tail: %s", ev.Message)
			case "dropped":
				note(o, "the server dropped this tail: %s", ev.Message)
			}
		}
	}
	if err := context.Cause(ctx); err != nil {
		return opened, 0, err
	}
	if err := sc.Err(); err != nil {
		return opened, 0, err
	}
	return opened, 0, nil
}

func describeFilter(q url.Values) string {
	if len(q) == 0 {
		return "every record"
	}
	s, _ := url.QueryUnescape(q.Encode())
	return strings.ReplaceAll(s, "&", " ")
}

// printRecord writes one record: the JSON line as the server sent it, or
// a readable line: the time, the dataset, then name=value in the
// server's order.
func printRecord(w io.Writer, data []byte, o tailOptions) error {
	if o.json {
		_, err := fmt.Fprintf(w, "%s\n", data)
		return err
	}
	_, err := io.WriteString(w, prettyRecord(data, o.colour)+"\n")
	return err
}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiCyan  = "\x1b[36m"
	ansiRed   = "\x1b[31m"
	ansiBold  = "\x1b[1m"
)

// prettyRecord renders a record's JSON as one readable line; what is not
// a flat object is shown as it came.
func prettyRecord(data []byte, colour bool) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return string(data)
	}
	paint := func(code, s string) string {
		if !colour {
			return s
		}
		return code + s + ansiReset
	}
	var ts, dataset string
	var fields []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return string(data)
		}
		k, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return string(data)
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		switch k {
		case "dataset":
			dataset, _ = v.(string)
			continue
		case "timestamp":
			if ms, ok := v.(float64); ok {
				ts = time.UnixMilli(int64(ms)).Format("15:04:05.000")
			}
			continue
		}
		val := string(raw)
		if s, ok := v.(string); ok {
			val = s
			if s == "" || strings.ContainsAny(s, " \t\n\"=") {
				val = strconv.Quote(s)
			}
		}
		if isErrorField(k, v) {
			val = paint(ansiRed+ansiBold, val)
		}
		fields = append(fields, paint(ansiDim, k+"=")+val)
	}
	return fmt.Sprintf("%s %s %s", paint(ansiDim, ts), paint(ansiCyan, fmt.Sprintf("%-12s", dataset)), strings.Join(fields, " "))
}

// isErrorField says a field shows an error: an HTTP status of 400 or
// more, a log level of error or above.
func isErrorField(k string, v any) bool {
	switch x := v.(type) {
	case float64:
		return (k == "status" || k == "http_status") && x >= 400 && !math.IsInf(x, 0)
	case string:
		if k == "level" {
			switch strings.ToLower(x) {
			case "error", "err", "fatal", "critical", "crit", "alert", "emergency", "emerg", "panic":
				return true
			}
		}
	}
	return false
}
