package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServerOptions configure a server child.
type ServerOptions struct {
	// Exe is the alidade binary; it is run as "Exe serve ...".
	Exe string
	// DataDir is the server's data directory.
	DataDir string
	// Args are extra serve flags.
	Args []string
	// StartTimeout bounds the wait for the server to listen; 0 means 1 minute.
	StartTimeout time.Duration
	// SharedMeta starts a cluster node, whose metadata store (and root
	// key) other nodes may share: the bench sets no ALIDADE_ROOT_KEY, which
	// would replace the root key stored there for every node. The
	// server's RootKey is then the one it printed when it initialised an
	// empty metadata store, or "" when the store had one already.
	SharedMeta bool
}

// Server is an alidade server running as a child process, listening on a
// free port of 127.0.0.1, with a random root key (see
// ServerOptions.SharedMeta for a cluster node's).
type Server struct {
	URL     string
	RootKey string
	// Listening is when the server printed its address; it starts its
	// minute ticks (rollup maintenance) then.
	Listening time.Time

	child
}

// child is a process the bench started: it is waited for, the end of its
// stderr is kept, its memory is sampled, and it is stopped with SIGTERM.
type child struct {
	name   string // in messages: "the server", "VictoriaLogs"
	cmd    *exec.Cmd
	exited chan struct{} // closed once the child has been waited for
	err    error         // the child's exit, valid once exited is closed
	output tailBuffer    // the end of the child's stderr
	peak   atomic.Int64  // highest VmHWM sampled

	stopping atomic.Bool // Stop was called
	stopOnce sync.Once
	stopErr  error
}

// start starts cmd, with its stderr kept in c.output, and waits for it in
// the background.
func (c *child) start(name string, cmd *exec.Cmd) error {
	c.name, c.cmd, c.exited = name, cmd, make(chan struct{})
	cmd.Stderr = &c.output
	childAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return nil
}

// bannerURL finds the address in the serve banner ("Alidade is running at
// http://..." on a first start, "Alidade is listening on http://..." later).
var bannerURL = regexp.MustCompile(`Alidade is [a-z ]+ (https?://[^\s]+)`)

// bannerRootKey finds the root key a first start generated in the serve
// banner ("   root    key  ald_root_...").
var bannerRootKey = regexp.MustCompile(`^\s*root\s+key\s+(ald_root_[A-Za-z0-9]+)`)

// StartServer starts "alidade serve" and waits until it answers.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Exe == "" {
		return nil, errors.New("start server: no alidade binary")
	}
	if o.DataDir == "" {
		return nil, errors.New("start server: no data directory")
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	s := &Server{RootKey: "bench_root_" + hex.EncodeToString(secret)}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", o.DataDir, "--log-level", "warn"}, o.Args...)
	cmd := exec.Command(o.Exe, args...)
	env := withoutEnv(os.Environ(), "ALIDADE_ROOT_KEY", "ALIDADE_LISTEN", "ALIDADE_DATA_DIR", "ALIDADE_STORE", "ALIDADE_META")
	if o.SharedMeta {
		s.RootKey = ""
	} else {
		env = append(env, "ALIDADE_ROOT_KEY="+s.RootKey)
	}
	cmd.Env = env
	urls := make(chan string, 1)
	// The banner also holds the keys of the default project: read, never
	// echo. A first start says "is running at" (later ones "is listening
	// on"); a cluster node's first start on an empty metadata store prints
	// the root key it generated a few lines after the address.
	var (
		firstStart atomic.Bool
		rootKey    atomic.Pointer[string]
	)
	cmd.Stdout = &lineWriter{line: func(l string) {
		if m := bannerURL.FindStringSubmatch(l); m != nil {
			firstStart.Store(strings.Contains(l, "is running at"))
			select {
			case urls <- m[1]:
			default:
			}
		}
		if m := bannerRootKey.FindStringSubmatch(l); m != nil && o.SharedMeta {
			rootKey.Store(&m[1])
		}
	}}
	if err := s.start("the server", cmd); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", o.Exe, err)
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case s.URL = <-urls:
		s.Listening = time.Now()
	case <-s.exited:
		return nil, fmt.Errorf("the server exited at start: %v%s", s.err, s.output.describe())
	case <-timer.C:
		_ = s.Stop(10 * time.Second)
		return nil, fmt.Errorf("the server printed no address within %v%s", timeout, s.output.describe())
	case <-ctx.Done():
		_ = s.Stop(10 * time.Second)
		return nil, ctx.Err()
	}
	if err := s.waitHealthy(ctx, timeout); err != nil {
		_ = s.Stop(10 * time.Second)
		return nil, err
	}
	if o.SharedMeta && firstStart.Load() {
		for deadline := time.Now().Add(10 * time.Second); rootKey.Load() == nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				_ = s.Stop(10 * time.Second)
				return nil, errors.New("the node initialised an empty metadata store but printed no root key in its banner")
			}
		}
		s.RootKey = *rootKey.Load()
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	c := newClient(s.URL, 1)
	defer c.close()
	deadline := time.Now().Add(timeout)
	for {
		err := c.do(ctx, "GET", "/healthz", "", nil, nil, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil || s.Exited() {
			return fmt.Errorf("the server at %s does not answer: %w%s", s.URL, err, s.output.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the child's process id.
func (s *child) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the child has exited.
func (s *child) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Status samples the child's memory from /proc and remembers its peak.
func (s *child) Status() (ProcStatus, error) {
	st, err := ReadProcStatus(s.PID())
	if err != nil {
		return ProcStatus{}, err
	}
	for {
		old := s.peak.Load()
		if st.PeakRSS <= old || s.peak.CompareAndSwap(old, st.PeakRSS) {
			break
		}
	}
	return st, nil
}

// PeakRSS returns the child's peak resident set in bytes, over its whole life
// once it has exited, or 0 when unknown.
func (s *child) PeakRSS() int64 {
	peak := s.peak.Load()
	if s.Exited() {
		peak = max(peak, exitedPeakRSS(s.cmd.ProcessState))
	}
	return peak
}

// Stop sends SIGTERM, so that the server commits what it accepted and
// checkpoints its store (VictoriaLogs flushes), and waits up to timeout
// before killing it. It returns an error when the child did not exit
// cleanly. Stop is idempotent.
func (s *child) Stop(timeout time.Duration) error {
	s.stopping.Store(true)
	s.stopOnce.Do(func() {
		if !s.Exited() {
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				_ = s.cmd.Process.Kill()
			}
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case <-s.exited:
			case <-timer.C:
				_ = s.cmd.Process.Kill()
				<-s.exited
				s.stopErr = fmt.Errorf("%s did not stop within %v after SIGTERM and was killed%s", s.name, timeout, s.output.describe())
				return
			}
		}
		if s.err != nil {
			s.stopErr = fmt.Errorf("%s exited with %v%s", s.name, s.err, s.output.describe())
		}
	})
	return s.stopErr
}

// Explain adds the child's fate to err when the child died unasked.
func (s *child) Explain(err error) error {
	if err == nil || !s.Exited() || s.stopping.Load() {
		return err
	}
	return fmt.Errorf("%w (%s exited: %v%s)", err, s.name, s.err, s.output.describe())
}

// tailBuffer keeps the last 8 KB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

// describe returns "; its last output:\n..." or "".
func (t *tailBuffer) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := strings.TrimSpace(string(t.buf))
	if out == "" {
		return ""
	}
	return "; its last output:\n" + out
}

// lineWriter calls line for each complete line written to it.
type lineWriter struct {
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 64<<10 {
		w.partial = w.partial[:0] // no banner line is this long
	}
	return len(p), nil
}

// withoutEnv returns env without the named variables.
func withoutEnv(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
