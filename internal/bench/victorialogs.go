package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PeerVictoriaLogs names the peer in reports.
const PeerVictoriaLogs = "VictoriaLogs"

// VictoriaLogs' write and query endpoints, as the peer's README gives them.
const (
	vlInsertPath = "/insert/jsonline?_time_field=ts&_msg_field=msg&_stream_fields=route"
	vlQueryPath  = "/select/logsql/query"
	vlFlushPath  = "/internal/force_flush"
)

// VictoriaLogsOptions configure a VictoriaLogs child.
type VictoriaLogsOptions struct {
	// Exe is the victoria-logs binary.
	Exe string
	// DataDir is its -storageDataPath.
	DataDir string
	// RetentionDays is its -retentionPeriod in days: more than the data's
	// span, or it drops the oldest events at ingest.
	RetentionDays int
	// StartTimeout bounds the wait for its /health; 0 means 1 minute.
	StartTimeout time.Duration
}

// VictoriaLogs is a VictoriaLogs single-node server running as a child
// process on a free port of 127.0.0.1.
type VictoriaLogs struct {
	URL string
	// Version is what its -version flag printed.
	Version string

	child
}

// CheckPeerExe returns the path of an executable peer binary: path itself
// when it names a file, else the command path names in $PATH. The error
// says what is wrong with it.
func CheckPeerExe(path string) (string, error) {
	if path == "" {
		return "", errors.New("no peer binary given")
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(path, filepath.Separator) {
		if found, lerr := exec.LookPath(path); lerr == nil {
			return found, nil
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s: no such file", path)
	case err != nil:
		return "", err
	case info.IsDir():
		return "", fmt.Errorf("%s is a directory, not the peer binary", path)
	case info.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable (mode %v); try chmod +x", path, info.Mode().Perm())
	}
	return filepath.Abs(path)
}

// StartVictoriaLogs starts VictoriaLogs on a free loopback port and waits
// until its /health answers.
func StartVictoriaLogs(ctx context.Context, o VictoriaLogsOptions) (*VictoriaLogs, error) {
	exe, err := CheckPeerExe(o.Exe)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", PeerVictoriaLogs, err)
	}
	if o.DataDir == "" {
		return nil, fmt.Errorf("start %s: no data directory", PeerVictoriaLogs)
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	out, err := exec.CommandContext(vctx, exe, "-version").Output()
	cancel()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = ee.Stderr
		}
		return nil, fmt.Errorf("run %s -version: %w%s", exe, err, lastOutput(out))
	}
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	// The free port is found by closing a listener on it: another process
	// may take it meanwhile; then VictoriaLogs exits and another is tried.
	for attempt := 1; ; attempt++ {
		v, err := startVictoriaLogs(ctx, exe, o, timeout)
		if err == nil {
			v.Version = version
			return v, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
}

func startVictoriaLogs(ctx context.Context, exe string, o VictoriaLogsOptions, timeout time.Duration) (*VictoriaLogs, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", PeerVictoriaLogs, err)
	}
	retention := max(o.RetentionDays, 1)
	cmd := exec.Command(exe,
		"-storageDataPath="+o.DataDir,
		"-httpListenAddr="+addr,
		"-retentionPeriod="+strconv.Itoa(retention)+"d",
		// Its default of 30 s is a cap, not a tuning: at 10M events and
		// beyond the grouped query needs longer.
		"-search.maxQueryDuration=1h",
	)
	v := &VictoriaLogs{URL: "http://" + addr}
	cmd.Stdout = &v.output
	if err := v.start(PeerVictoriaLogs, cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	c := newClient(v.URL, 1)
	defer c.close()
	deadline := time.Now().Add(timeout)
	for {
		var body []byte
		err := c.do(ctx, "GET", "/health", "", nil, nil, &body)
		if err == nil && strings.TrimSpace(string(body)) == "OK" {
			return v, nil
		}
		if err == nil {
			err = fmt.Errorf("/health answered %q, not OK", body)
		}
		switch {
		case v.Exited():
			return nil, fmt.Errorf("%s exited at start: %v%s", PeerVictoriaLogs, v.err, v.output.describe())
		case ctx.Err() != nil:
			_ = v.Stop(10 * time.Second)
			return nil, ctx.Err()
		case time.Now().After(deadline):
			_ = v.Stop(10 * time.Second)
			return nil, fmt.Errorf("%s at %s does not answer within %v: %w%s", PeerVictoriaLogs, v.URL, timeout, err, v.output.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// lastOutput returns "; its output:\n..." with the end of out, or "".
func lastOutput(out []byte) string {
	var t tailBuffer
	_, _ = t.Write(out)
	return t.describe()
}

// vlSink writes VictoriaLogs' JSON lines, the bodies of a FormatVictoriaLogs
// workload.
func vlSink() sink { return sink{path: vlInsertPath} }

// vlFlush makes every event VictoriaLogs acknowledged searchable.
func vlFlush(ctx context.Context, c *client) error {
	if err := c.do(ctx, "GET", vlFlushPath, "", nil, nil, nil); err != nil {
		return fmt.Errorf("%s force_flush: %w", PeerVictoriaLogs, err)
	}
	return nil
}

// vlStatsQuery is the grouped query in LogsQL over [from, to) Unix ms: per
// route, {count, avg, p50, p95, p99} of latency_ms and the events with
// status >= 400.
func vlStatsQuery(from, to int64) string {
	return fmt.Sprintf("_time:[%s, %s) | stats by (route) count() n, avg(latency_ms) avg, "+
		"quantile(0.5, latency_ms) p50, quantile(0.95, latency_ms) p95, quantile(0.99, latency_ms) p99, "+
		"count() if (status:>=400) errs", vlTime(from), vlTime(to))
}

// vlTime writes Unix ms as LogsQL's RFC 3339 time with milliseconds.
func vlTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// vlQuery runs a LogsQL query and returns its rows and round-trip time.
func vlQuery(ctx context.Context, c *client, query string) ([]map[string]string, time.Duration, error) {
	var data []byte
	t0 := time.Now()
	err := c.do(ctx, "GET", vlQueryPath+"?"+url.Values{"query": {query}}.Encode(), "", nil, nil, &data)
	d := time.Since(t0)
	if err != nil {
		return nil, d, fmt.Errorf("%s query: %w", PeerVictoriaLogs, err)
	}
	rows, err := parseVLRows(data)
	if err != nil {
		return nil, d, fmt.Errorf("%s query: %w", PeerVictoriaLogs, err)
	}
	return rows, d, nil
}

// parseVLRows reads VictoriaLogs' answer: one JSON object a line, every
// value a string.
func parseVLRows(data []byte) ([]map[string]string, error) {
	var rows []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, fmt.Errorf("answer line %d %.200q: %w", len(rows)+1, line, err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// peerRow is one route of the peer's grouped answer.
type peerRow struct {
	n, avg, p50, p95, p99 float64
	errs                  int64
}

// vlGroups reads the rows of vlStatsQuery's answer by route.
func vlGroups(rows []map[string]string) (map[string]peerRow, error) {
	out := make(map[string]peerRow, len(rows))
	for _, row := range rows {
		route, ok := row["route"]
		if !ok {
			return nil, fmt.Errorf("row %v has no route", row)
		}
		if _, dup := out[route]; dup {
			return nil, fmt.Errorf("route %q appears twice", route)
		}
		var r peerRow
		for _, f := range []struct {
			key string
			dst *float64
		}{{"n", &r.n}, {"avg", &r.avg}, {"p50", &r.p50}, {"p95", &r.p95}, {"p99", &r.p99}} {
			v, err := strconv.ParseFloat(row[f.key], 64)
			if err != nil {
				return nil, fmt.Errorf("route %q: %s is %q, not a number", route, f.key, row[f.key])
			}
			*f.dst = v
		}
		errs, err := strconv.ParseInt(row["errs"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("route %q: errs is %q, not a count", route, row["errs"])
		}
		r.errs = errs
		out[route] = r
	}
	return out, nil
}

// vlIngested reads from VictoriaLogs' /metrics the JSON lines it ingested
// and the rows it dropped; ok is false when it does not expose them.
func vlIngested(ctx context.Context, c *client) (ingested, dropped int64, ok bool) {
	var data []byte
	if err := c.do(ctx, "GET", "/metrics", "", nil, nil, &data); err != nil {
		return 0, 0, false
	}
	for line := range strings.Lines(string(data)) {
		name, val, found := strings.Cut(strings.TrimSpace(line), " ")
		if !found {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		switch {
		case name == `vl_rows_ingested_total{type="jsonline"}`:
			ingested, ok = n, true
		case strings.HasPrefix(name, "vl_rows_dropped_total"):
			dropped += n
		}
	}
	return ingested, dropped, ok
}
