package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// The live tail's channels (issue 18): a node with live or tail
// subscribers of a project says so on interestChannel, and the other
// nodes forward what they commit of that project on pointsChannel, so
// that a tail opened on one node sees the points written to any. With
// nobody tailing nothing is sent.
const (
	pointsChannel   = "alidade_points"
	interestChannel = "alidade_interest"
)

// busVersion begins every payload of the bus, so that a node ignores
// what a node of another format sends rather than misreading it.
const busVersion = "1"

// BusOptions configure a tail bus.
type BusOptions struct {
	// Deliver gets the points the other nodes forwarded, one project's
	// batch at a time, from the bus's goroutine (never from a writer's).
	// They are never forwarded again.
	Deliver func(bs []store.Batch)
	// Local returns the projects this node has live or tail subscribers
	// of; the bus asks every Announce and after LocalChanged.
	Local func() []int64
	// MaxRate bounds the points a second the node forwards of one
	// project; past it the bus samples them (a forwarded point's
	// SampleInterval then counts the points it stands for). 0 means 1,000.
	MaxRate int
	// Queue bounds the notifications waiting to be sent, and apart the
	// ones received waiting to be decoded; past it they are dropped and
	// counted. 0 means 256 (about 2 MB each way).
	Queue int
	// Announce is how often a node with subscribers repeats its interest
	// and TTL how long an interest lasts without a repeat; 0 means 5 and
	// 15 seconds.
	Announce, TTL time.Duration
	// Count, when set, is told of what the bus counts, as BusStats names
	// it in snake case ("forwarded", "sampled", "notifications", …), from
	// whichever goroutine counts it: it must return quickly.
	Count func(event string, n uint64)
}

// BusStats are a bus's counters since it started.
type BusStats struct {
	// Forwarded counts the points queued for the other nodes, Sampled
	// those the rate bound left out, Cut those whose blobs were shortened
	// to fit a notification, TooBig those that did not fit even so, and
	// Dropped those lost to a full queue or a failed send.
	Forwarded, Sampled, Cut, TooBig, Dropped uint64
	// Notifications and Bytes count what was sent with pg_notify, and
	// SendErrors the sends PostgreSQL refused or never answered.
	Notifications, Bytes, SendErrors uint64
	// Received counts the points delivered from other nodes,
	// ReceiveDropped the notifications lost to a full queue, and Invalid
	// those that could not be decoded.
	Received, ReceiveDropped, Invalid uint64
	// Announcements counts this node's interest notifications.
	Announcements uint64
}

// Bus forwards committed points between the nodes of a cluster, through
// PostgreSQL's LISTEN/NOTIFY, for the live tail and the dashboard's live
// updates. Publishing never blocks or fails a write: it encodes at most
// MaxRate points a second a project, and only of projects another node
// has subscribers of, into a bounded queue a goroutine of its own sends.
type Bus struct {
	s    *Store
	opts BusOptions
	node string
	now  func() time.Time

	stop   context.CancelFunc
	done   sync.WaitGroup
	out    chan outgoing
	in     chan string
	nudge  chan struct{}
	closed sync.Once

	// remote maps a project to when the last interest in it of another
	// node expires; copied on write under mu.
	remote atomic.Pointer[map[int64]time.Time]
	// local is the projects this node's subscribers watch.
	local atomic.Pointer[map[int64]struct{}]

	mu     sync.Mutex
	nodes  map[string]nodeInterest
	rates  map[int64]*rateState
	seq    uint64
	stats  BusStats
	encBuf []byte
}

// nodeInterest is what another node said it watches, and until when.
type nodeInterest struct {
	projects []int64
	expires  time.Time
}

// rateState bounds what is forwarded of one project: in each window of a
// second it keeps one point in every, chosen from the points the window
// before saw, and at most twice MaxRate.
type rateState struct {
	start           time.Time
	seen, forwarded int
	every           int
	n               int
}

// outgoing is a notification waiting to be sent.
type outgoing struct {
	payload string
	points  int
}

// steps are the sampling intervals the bus steps through.
var steps = []int{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// StartBus starts forwarding between this node and the others: what
// they forward arrives at opts.Deliver, and Publish forwards this node's
// points. It runs until Close or until the store closes. A store runs
// one bus at most.
func (s *Store) StartBus(opts BusOptions) (*Bus, error) {
	b, err := newBus(s, opts)
	if err != nil {
		return nil, err
	}
	if err := b.start(); err != nil {
		return nil, err
	}
	return b, nil
}

// newBus makes a bus that does not run yet.
func newBus(s *Store, opts BusOptions) (*Bus, error) {
	if opts.Deliver == nil || opts.Local == nil {
		return nil, errors.New("tail bus: Deliver and Local must be set")
	}
	if opts.MaxRate < 0 || opts.Queue < 0 || opts.Announce < 0 || opts.TTL < 0 {
		return nil, fmt.Errorf("tail bus: negative rate %d, queue %d, announce %v or TTL %v", opts.MaxRate, opts.Queue, opts.Announce, opts.TTL)
	}
	if opts.MaxRate == 0 {
		opts.MaxRate = 1000
	}
	if opts.Queue == 0 {
		opts.Queue = 256
	}
	if opts.Announce == 0 {
		opts.Announce = 5 * time.Second
	}
	if opts.TTL == 0 {
		opts.TTL = 15 * time.Second
	}
	var id [8]byte
	rand.Read(id[:])
	b := &Bus{
		s: s, opts: opts, node: hex.EncodeToString(id[:]), now: time.Now,
		out:   make(chan outgoing, opts.Queue),
		in:    make(chan string, opts.Queue),
		nudge: make(chan struct{}, 1),
		nodes: map[string]nodeInterest{},
		rates: map[int64]*rateState{},
	}
	b.remote.Store(&map[int64]time.Time{})
	b.local.Store(&map[int64]struct{}{})
	return b, nil
}

// start hooks the bus to the store's listener and starts its goroutines.
func (b *Bus) start() error {
	s := b.s
	hook := b.heard
	if !s.busHook.CompareAndSwap(nil, &hook) {
		return errors.New("tail bus: this store runs one already")
	}
	ctx, stop := context.WithCancel(context.Background())
	b.stop = stop
	b.done.Add(3)
	go b.send(ctx)
	go b.receive(ctx)
	go b.announce(ctx)
	go func() {
		// The store's listener stops with it: so does the bus.
		select {
		case <-s.done:
			b.Close()
		case <-ctx.Done():
		}
	}()
	return nil
}

// Node returns the id this node's payloads carry.
func (b *Bus) Node() string { return b.node }

// Close stops the bus; what is queued is not sent.
func (b *Bus) Close() {
	b.closed.Do(func() {
		if b.stop == nil {
			return // never started
		}
		b.s.busHook.Store(nil)
		b.stop()
		b.done.Wait()
	})
}

// Stats returns the bus's counters.
func (b *Bus) Stats() BusStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// count adds n to a counter (under b.mu) and tells opts.Count.
func (b *Bus) count(c *uint64, event string, n int) {
	if n <= 0 {
		return
	}
	*c += uint64(n)
	if b.opts.Count != nil {
		b.opts.Count(event, uint64(n))
	}
}

// LocalChanged says this node's subscribers changed: the bus announces
// its interest at once rather than at the next Announce.
func (b *Bus) LocalChanged() {
	select {
	case b.nudge <- struct{}{}:
	default:
	}
}

// Publish forwards committed batches to the nodes with subscribers of
// their projects; it fits ingest.Options.OnAppended and never blocks.
// With no other node interested it costs an atomic load.
func (b *Bus) Publish(bs []store.Batch) {
	remote := *b.remote.Load()
	if len(remote) == 0 {
		return
	}
	now := b.now()
	for i := range bs {
		if exp, ok := remote[bs[i].Project]; ok && now.Before(exp) && len(bs[i].Points) > 0 {
			b.forward(bs[i].Project, bs[i].Points, now)
		}
	}
}

// forward samples a project's points down to the rate bound and queues
// them, as many to a notification as fit.
func (b *Bus) forward(project int64, pts []point.Point, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rates[project]
	if r == nil {
		r = &rateState{start: now, every: 1}
		b.rates[project] = r
	}
	if d := now.Sub(r.start); d >= time.Second {
		seen := r.seen
		if d >= 2*time.Second {
			seen = 0 // a quiet second passed since
		}
		r.every = steps[len(steps)-1]
		for _, k := range steps {
			if seen <= k*b.opts.MaxRate {
				r.every = k
				break
			}
		}
		r.start, r.seen, r.forwarded = now, 0, 0
	}
	head := busVersion + " " + b.node + " "
	tail := " " + strconv.FormatInt(project, 10) + " "
	// What base64 leaves room for after the header (its sequence number
	// at most 20 digits).
	room := base64.RawStdEncoding.DecodedLen(maxPayload - len(head) - 20 - len(tail))
	buf := b.encBuf[:0]
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		b.seq++
		p := head + strconv.FormatUint(b.seq, 10) + tail + base64.RawStdEncoding.EncodeToString(buf)
		select {
		case b.out <- outgoing{payload: p, points: n}:
			b.count(&b.stats.Forwarded, "forwarded", n)
		default:
			b.count(&b.stats.Dropped, "dropped", n)
		}
		buf, n = buf[:0], 0
	}
	for i := range pts {
		r.seen++
		r.n++
		if r.n%r.every != 0 || r.forwarded >= 2*b.opts.MaxRate {
			b.count(&b.stats.Sampled, "sampled", 1)
			continue
		}
		p := pts[i]
		if r.every > 1 {
			p.SampleInterval = uint32(min(uint64(p.Weight())*uint64(r.every), math.MaxUint32))
		}
		if encodedSize(&p) > room {
			if !cutToFit(&p, room) {
				b.count(&b.stats.TooBig, "too_big", 1)
				continue
			}
			b.count(&b.stats.Cut, "cut", 1)
		}
		if len(buf)+encodedSize(&p) > room {
			flush()
		}
		buf = appendPoint(buf, &p)
		n++
		r.forwarded++
	}
	flush()
	b.encBuf = buf
}

// send sends the queued notifications, those waiting together in one
// statement.
func (b *Bus) send(ctx context.Context) {
	defer b.done.Done()
	for {
		var first outgoing
		select {
		case <-ctx.Done():
			return
		case first = <-b.out:
		}
		batch := []outgoing{first}
	more:
		for len(batch) < 64 {
			select {
			case o := <-b.out:
				batch = append(batch, o)
			default:
				break more
			}
		}
		ps := make([]string, len(batch))
		size, points := 0, 0
		for i, o := range batch {
			ps[i] = o.payload
			size += len(o.payload)
			points += o.points
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.s.pool.Exec(sctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`, pointsChannel, ps)
		cancel()
		b.mu.Lock()
		if err != nil {
			b.count(&b.stats.SendErrors, "send_errors", 1)
			b.count(&b.stats.Dropped, "dropped", points)
		} else {
			b.count(&b.stats.Notifications, "notifications", len(ps))
			b.count(&b.stats.Bytes, "bytes", size)
		}
		b.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			b.s.log.Debug("tail bus: send failed", "err", err, "points", points)
		}
	}
}

// heard takes a notification of the bus's channels from the store's
// listener goroutine: interest applies at once, points are queued for
// receive unless they are this node's own or nobody here watches their
// project.
func (b *Bus) heard(ch, payload string) {
	switch ch {
	case interestChannel:
		node, projects, err := decodeInterest(payload)
		if err != nil {
			b.mu.Lock()
			b.count(&b.stats.Invalid, "invalid", 1)
			b.mu.Unlock()
			return
		}
		if node == b.node {
			return
		}
		b.mu.Lock()
		b.nodes[node] = nodeInterest{projects: projects, expires: b.now().Add(b.opts.TTL)}
		b.rebuildRemote()
		b.mu.Unlock()
	case pointsChannel:
		node, project, ok := pointsHeader(payload)
		if ok && node == b.node {
			return
		}
		if _, watched := (*b.local.Load())[project]; ok && !watched {
			return
		}
		select {
		case b.in <- payload:
		default:
			b.mu.Lock()
			b.count(&b.stats.ReceiveDropped, "receive_dropped", 1)
			b.mu.Unlock()
		}
	}
}

// rebuildRemote recomputes what the other nodes watch, dropping the
// interests expired (under b.mu).
func (b *Bus) rebuildRemote() {
	now := b.now()
	m := map[int64]time.Time{}
	for node, ni := range b.nodes {
		if !now.Before(ni.expires) {
			delete(b.nodes, node)
			continue
		}
		for _, p := range ni.projects {
			if ni.expires.After(m[p]) {
				m[p] = ni.expires
			}
		}
	}
	for p := range b.rates {
		if _, ok := m[p]; !ok {
			delete(b.rates, p)
		}
	}
	b.remote.Store(&m)
}

// receive decodes what other nodes forwarded and delivers it.
func (b *Bus) receive(ctx context.Context) {
	defer b.done.Done()
	for {
		var p string
		select {
		case <-ctx.Done():
			return
		case p = <-b.in:
		}
		node, project, pts, err := decodePoints(p)
		if err != nil {
			b.mu.Lock()
			b.count(&b.stats.Invalid, "invalid", 1)
			b.mu.Unlock()
			b.s.log.Debug("tail bus: undecodable notification", "err", err)
			continue
		}
		if node == b.node {
			continue
		}
		b.opts.Deliver([]store.Batch{{Project: project, Points: pts}})
		b.mu.Lock()
		b.count(&b.stats.Received, "received", len(pts))
		b.mu.Unlock()
	}
}

// announce repeats this node's interest every Announce while it has
// subscribers, at once when they change, and once more, empty, when the
// last one left, so that the others stop forwarding without waiting for
// the TTL.
func (b *Bus) announce(ctx context.Context) {
	defer b.done.Done()
	t := time.NewTicker(b.opts.Announce)
	defer t.Stop()
	var last []int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.nudge:
		}
		local := slices.Clone(b.opts.Local())
		slices.Sort(local)
		local = slices.Compact(local)
		m := make(map[int64]struct{}, len(local))
		for _, p := range local {
			m[p] = struct{}{}
		}
		b.local.Store(&m)
		b.mu.Lock()
		b.rebuildRemote()
		b.mu.Unlock()
		if len(local) == 0 && len(last) == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.s.pool.Exec(sctx, `SELECT pg_notify($1, $2)`, interestChannel, encodeInterest(b.node, local))
		cancel()
		b.mu.Lock()
		if err != nil {
			b.count(&b.stats.SendErrors, "send_errors", 1)
		} else {
			b.count(&b.stats.Announcements, "announcements", 1)
		}
		b.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				b.s.log.Debug("tail bus: announce failed", "err", err)
				// Try again soon rather than at the next tick.
				time.AfterFunc(time.Second, b.LocalChanged)
			}
			continue
		}
		last = local
	}
}

// encodeInterest is an interest payload: the version, the node and the
// projects in decimal separated by commas (none: the node's interest
// ended). Projects past what a payload holds are left out.
func encodeInterest(node string, projects []int64) string {
	s := busVersion + " " + node + " "
	for i, p := range projects {
		d := strconv.FormatInt(p, 10)
		if len(s)+len(d)+1 > maxPayload {
			break
		}
		if i > 0 {
			s += ","
		}
		s += d
	}
	return s
}

// decodeInterest parses a payload of encodeInterest.
func decodeInterest(p string) (node string, projects []int64, err error) {
	v, rest, ok1 := strings.Cut(p, " ")
	node, list, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || v != busVersion || node == "" {
		return "", nil, fmt.Errorf("interest notification %.80q: want %q, a node and projects", p, busVersion)
	}
	if list == "" {
		return node, nil, nil
	}
	for d := range strings.SplitSeq(list, ",") {
		n, err := decimal(d)
		if err != nil {
			return "", nil, fmt.Errorf("interest notification %.80q: project: %w", p, err)
		}
		projects = append(projects, n)
	}
	return node, projects, nil
}

// pointsHeader reads the node and project of a points payload without
// decoding its points; ok is false when it cannot.
func pointsHeader(p string) (node string, project int64, ok bool) {
	f := strings.SplitN(p, " ", 5)
	if len(f) != 5 || f[0] != busVersion {
		return "", 0, false
	}
	project, err := decimal(f[3])
	return f[1], project, err == nil
}

// A points payload is the version, the sending node, its sequence number
// (which keeps two equal batches apart: PostgreSQL folds equal payloads
// of one transaction into one), the project, and the points in unpadded
// standard base64, separated by single spaces. Each point is its dataset,
// timestamp (zigzag varint), sample interval, index, blobs and doubles
// (IEEE 754, little-endian), strings and lists preceded by their length
// as a uvarint.
func appendPoint(b []byte, p *point.Point) []byte {
	b = appendStr(b, p.Dataset)
	b = binary.AppendVarint(b, p.Timestamp)
	b = binary.AppendUvarint(b, uint64(p.SampleInterval))
	b = appendStr(b, p.Index)
	b = binary.AppendUvarint(b, uint64(len(p.Blobs)))
	for _, s := range p.Blobs {
		b = appendStr(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Doubles)))
	for _, d := range p.Doubles {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d))
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodedSize is the length appendPoint adds (an upper bound: every
// varint counted at its longest).
func encodedSize(p *point.Point) int {
	n := 3*binary.MaxVarintLen64 + 10*len(p.Blobs) + 9*len(p.Doubles) + 20 + len(p.Dataset) + len(p.Index)
	for _, s := range p.Blobs {
		n += len(s)
	}
	return n
}

// cutToFit shortens p's blobs, the longest first, until p's encoding
// takes at most room bytes; false when even without blobs it does not
// fit. It copies the blob slice it changes (the write's memory is not
// the bus's).
func cutToFit(p *point.Point, room int) bool {
	p.Blobs = slices.Clone(p.Blobs)
	limit := 0
	for _, s := range p.Blobs {
		limit = max(limit, len(s))
	}
	for encodedSize(p) > room {
		if limit == 0 {
			return false
		}
		limit /= 2
		for i, s := range p.Blobs {
			if len(s) > limit {
				s = s[:limit]
				for len(s) > 0 && !utf8.ValidString(s) {
					s = s[:len(s)-1]
				}
				p.Blobs[i] = s
			}
		}
	}
	return true
}

// decodePoints parses a points payload. It takes no more than a payload
// can hold and as many blobs and doubles as a point may have.
func decodePoints(p string) (node string, project int64, pts []point.Point, err error) {
	f := strings.SplitN(p, " ", 5)
	if len(f) != 5 || f[0] != busVersion || f[1] == "" {
		return "", 0, nil, fmt.Errorf("points notification %.80q: want %q, node, sequence, project and points", p, busVersion)
	}
	if len(p) > maxPayload {
		return "", 0, nil, fmt.Errorf("points notification of %d bytes: PostgreSQL sends at most %d", len(p), maxPayload)
	}
	if _, err := strconv.ParseUint(f[2], 10, 64); err != nil {
		return "", 0, nil, fmt.Errorf("points notification %.80q: sequence: %w", p, err)
	}
	if project, err = decimal(f[3]); err != nil {
		return "", 0, nil, fmt.Errorf("points notification %.80q: project: %w", p, err)
	}
	raw, err := base64.RawStdEncoding.Strict().DecodeString(f[4])
	if err != nil {
		return "", 0, nil, fmt.Errorf("points notification %.80q: %w", p, err)
	}
	d := decoder{b: raw}
	for len(d.b) > 0 && d.err == nil {
		var pt point.Point
		pt.Dataset = d.str(point.MaxDatasetLength)
		pt.Timestamp = d.varint()
		si := d.uvarint()
		if si > math.MaxUint32 {
			d.fail("sample interval %d is over 2^32-1", si)
		}
		pt.SampleInterval = uint32(si)
		pt.Index = d.str(point.MaxIndexBytes)
		if n := d.count(point.MaxBlobs, "blobs"); n > 0 {
			pt.Blobs = make([]string, n)
			for i := range pt.Blobs {
				pt.Blobs[i] = d.str(point.MaxBlobBytes)
			}
		}
		if n := d.count(point.MaxDoubles, "doubles"); n > 0 {
			pt.Doubles = make([]float64, n)
			for i := range pt.Doubles {
				pt.Doubles[i] = math.Float64frombits(d.u64())
			}
		}
		pts = append(pts, pt)
	}
	if d.err != nil {
		return "", 0, nil, fmt.Errorf("points notification, point %d: %w", len(pts), d.err)
	}
	if len(pts) == 0 {
		return "", 0, nil, fmt.Errorf("points notification %.80q: no point", p)
	}
	return f[1], project, pts, nil
}

// decoder reads a points payload; its first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count(limit int, what string) int {
	n := d.uvarint()
	if n > uint64(limit) {
		d.fail("%d %s; a point has at most %d", n, what, limit)
		return 0
	}
	return int(n)
}

func (d *decoder) str(limit int) string {
	n := d.uvarint()
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("string of %d bytes: at most %d, and %d left", n, limit, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated double")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
