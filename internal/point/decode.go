package point

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Format is the shape of a request body.
type Format int

const (
	// FormatAuto detects the shape: a body whose first non-space byte is '['
	// is a JSON array; a body that is exactly one JSON object (even spread
	// over several lines) is a single point; any other body of more than one
	// non-blank line is NDJSON.
	FormatAuto Format = iota
	// FormatJSON is one point object or a JSON array of point objects.
	FormatJSON
	// FormatNDJSON is one point object per line; blank lines are ignored.
	FormatNDJSON
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatJSON:
		return "json"
	case FormatNDJSON:
		return "ndjson"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// FormatFromContentType maps a Content-Type header value to a Format:
// application/x-ndjson, application/ndjson, application/jsonl,
// application/x-jsonlines and application/jsonlines are NDJSON,
// application/json is JSON, and anything else (including no header) is Auto.
// Parameters such as "; charset=utf-8" are ignored.
func FormatFromContentType(contentType string) Format {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	for _, nd := range [...]string{"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"} {
		if strings.EqualFold(mt, nd) {
			return FormatNDJSON
		}
	}
	if strings.EqualFold(mt, "application/json") {
		return FormatJSON
	}
	return FormatAuto
}

// DecodeOptions tells Decode the context of a body.
type DecodeOptions struct {
	// Dataset is the dataset named by the URL
	// (/api/v1/datasets/{dataset}/points). When it is "", each point must
	// carry "dataset"; otherwise a point may omit "dataset" or repeat the same
	// name, and a point naming another dataset is rejected.
	Dataset string
	// Schema returns a dataset's schema, or nil when it has none. It is used
	// to resolve the names of the named form ("fields"); it may be nil. Decode
	// calls it again only when the dataset changes from one point to the next.
	Schema func(dataset string) *Schema
	// Now is the receive time in Unix milliseconds, given to points without a
	// timestamp.
	Now int64
	// MinTimestamp and MaxTimestamp bound the timestamps a point may carry,
	// inclusive, in Unix milliseconds (the server passes now-retention and
	// now+5min). When both are 0 any timestamp is accepted.
	MinTimestamp, MaxTimestamp int64
	// MaxPoints is the most points (accepted or rejected) one body may hold;
	// 0 means no limit. A body over the limit is an error as a whole.
	MaxPoints int
}

// Rejection tells why one point of a body was not accepted.
type Rejection struct {
	// Position is the point's 0-based position in the batch: its index in the
	// JSON array, or among the non-blank lines of NDJSON.
	Position int `json:"position"`
	// Error names the rule the point broke and the offending value.
	Error string `json:"error"`
}

// Decode decodes a whole request body (already gunzipped and size-limited)
// in the given format.
//
// Valid points are returned in body order; each invalid point yields a
// Rejection with its position and a message naming the rule and the
// offending value, and decoding goes on with the next point. err is non-nil
// only when the body as a whole cannot be read: it is empty (ErrEmptyBody),
// it is not JSON or a JSON array has a syntax error (*SyntaxError, naming the
// byte offset, line and column and what was expected), or it holds more than
// opts.MaxPoints points (*TooManyPointsError). A syntax error on one NDJSON
// line rejects only that line. A UTF-8 byte order mark and CRLF line ends are
// tolerated.
//
// To avoid copying, the strings of the returned points share memory with
// body: the caller must not modify body after calling Decode (as long as the
// points are in use).
func Decode(body []byte, format Format, opts DecodeOptions) (pts []Point, rejected []Rejection, err error) {
	s := unsafe.String(unsafe.SliceData(body), len(body))
	d := decoder{s: s, body: s, opts: opts}
	if strings.HasPrefix(s, "\uFEFF") {
		d.start = len("\uFEFF")
		d.i = d.start
	}
	d.ws()
	if d.i == len(s) {
		return nil, nil, ErrEmptyBody
	}
	switch c := s[d.i]; {
	case format == FormatNDJSON:
		err = d.ndjson()
	case c == '[':
		err = d.array()
	case c == '{' && format == FormatAuto && d.looksNDJSON():
		err = d.ndjson()
	case c == '{':
		err = d.single()
	default:
		d.fail("expected a JSON point object, a JSON array of point objects, or NDJSON (one point object per line); found " + d.found())
		err = d.syntaxError()
	}
	if err != nil {
		return nil, nil, err
	}
	return d.pts, d.rej, nil
}

// decoder is a single-pass JSON scanner specialised for point bodies.
//
// Syntax errors are recorded in synOff/synMsg and reported by returning false
// up the call chain; rule violations of one point are recorded in its
// pstate.err and do not stop the scan, so the rest of the point is still
// checked for syntax and the next point can be read.
type decoder struct {
	s     string // the text being scanned: the body, or one NDJSON line of it
	i     int    // read offset in s
	base  int    // offset of s in body
	line  bool   // s is one NDJSON line
	body  string
	start int // offset of the body's text, after any byte order mark
	opts  DecodeOptions

	synOff int    // offset in s of the first syntax error
	synMsg string // the first syntax error; "" when none

	// Arenas: the Blobs and Doubles of the points of a batch are sub-slices of
	// a few large chunks rather than one allocation per point.
	blobs []string
	nb    int // blobs in use
	dbls  []float64
	nd    int // dbls in use
	est   int // estimated number of points, to size the first chunks

	pts []Point
	rej []Rejection

	schemaDataset string
	schema        *Schema
	schemaLoaded  bool
	resolved      []resolvedName // names resolved through schema

	scratch []byte // for unescaping strings
}

// ---- body shapes ----

func (d *decoder) single() error {
	d.est = 1
	if !d.point(0) {
		return d.syntaxError()
	}
	d.ws()
	if d.i != len(d.s) {
		d.fail("unexpected " + d.found() + " after the point object; to send several points use a JSON array, or NDJSON with Content-Type: application/x-ndjson")
		return d.syntaxError()
	}
	return nil
}

func (d *decoder) array() error {
	d.est = d.capEstimate(strings.Count(d.s[d.i:], "{"))
	d.pts = make([]Point, 0, d.est)
	for more, pos := d.open(), 0; more; pos++ {
		if err := d.checkCount(pos); err != nil {
			return err
		}
		ok := d.element(pos)
		if ok {
			more, ok = d.nextElem()
		}
		if !ok {
			return d.syntaxError()
		}
	}
	d.ws()
	if d.i != len(d.s) {
		d.fail("unexpected " + d.found() + " after the array; a body holds one array of point objects")
		return d.syntaxError()
	}
	return nil
}

// element reads one array element at d.i: a point object, or another value
// that is rejected.
func (d *decoder) element(pos int) bool {
	if d.i < len(d.s) && d.s[d.i] == '{' {
		return d.point(pos)
	}
	c := d.peek()
	if !d.skip() {
		return false
	}
	d.reject(pos, "point must be a JSON object, got "+typeName(c))
	return true
}

func (d *decoder) ndjson() error {
	body := d.body
	d.est = d.capEstimate(strings.Count(body[d.start:], "\n") + 1)
	d.pts = make([]Point, 0, d.est)
	d.line = true
	pos, line := 0, 0
	for off := d.start; off < len(body); {
		next := len(body)
		text := body[off:]
		if n := strings.IndexByte(text, '\n'); n >= 0 {
			text, next = text[:n], off+n+1
		}
		line++
		d.s, d.i, d.base = text, 0, off
		d.ws()
		if d.i < len(d.s) {
			if err := d.checkCount(pos); err != nil {
				return err
			}
			d.ndjsonLine(pos, line)
			pos++
		}
		off = next
	}
	return nil
}

// ndjsonLine reads the point on one non-blank NDJSON line; d.s is the line
// and d.i its first non-space byte. Every problem, syntax included, is a
// rejection of the line.
func (d *decoder) ndjsonLine(pos, line int) {
	if d.s[d.i] != '{' {
		hint := ""
		if d.s[d.i] == '[' {
			hint = " (send a JSON array with Content-Type: application/json)"
		}
		d.reject(pos, fmt.Sprintf("line %d: expected a point object, found %s%s", line, d.found(), hint))
		return
	}
	d.reserve()
	ps := pstate{fieldsAt: -1}
	ok := d.object(&ps)
	if ok {
		d.ws()
		if d.i != len(d.s) {
			d.fail("unexpected " + d.found() + " after the point object; NDJSON has one point object per line")
			ok = false
		}
	}
	if !ok {
		d.reject(pos, fmt.Sprintf("line %d: invalid JSON at column %d: %s", line, d.synOff+1, d.synMsg))
		d.synMsg = ""
		return
	}
	d.accept(pos, &ps)
}

// looksNDJSON reports, for a body starting with '{' at d.i, whether
// FormatAuto should read it as NDJSON: it has more than one non-blank line and
// is not one JSON object spread over several lines.
func (d *decoder) looksNDJSON() bool {
	rest := d.s[d.i:]
	n := strings.IndexByte(rest, '\n')
	if n < 0 || isBlank(rest[n+1:]) {
		return false
	}
	probe := decoder{s: d.s, i: d.i}
	if probe.skip() {
		probe.ws()
		if probe.i == len(probe.s) {
			return false
		}
	}
	return true
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

func (d *decoder) capEstimate(n int) int {
	if d.opts.MaxPoints > 0 && n > d.opts.MaxPoints {
		n = d.opts.MaxPoints
	}
	return min(n, 1<<16)
}

func (d *decoder) checkCount(pos int) error {
	if d.opts.MaxPoints > 0 && pos >= d.opts.MaxPoints {
		return &TooManyPointsError{Limit: d.opts.MaxPoints}
	}
	return nil
}

func (d *decoder) reject(pos int, msg string) {
	d.rej = append(d.rej, Rejection{Position: pos, Error: msg})
}

// syntaxError turns the recorded syntax error into a whole-body error.
func (d *decoder) syntaxError() error {
	if d.synMsg == "" {
		panic("BUG: point: syntax error reported without a message")
	}
	off := d.base + d.synOff
	before := d.body[:off]
	return &SyntaxError{
		Offset: off,
		Line:   1 + strings.Count(before, "\n"),
		Column: off - strings.LastIndexByte(before, '\n'),
		Msg:    d.synMsg,
	}
}

// ---- one point ----

// Bits of pstate.seen, one per point key, to catch repeated keys.
const (
	keyDataset uint8 = 1 << iota
	keyTimestamp
	keyIndex
	keyIndexes
	keyBlobs
	keyDoubles
	keyFields
)

// pstate collects one point object while it is read.
type pstate struct {
	err error // the first rule the point broke

	seen       uint8
	dataset    string
	hasDataset bool
	ts         int64
	hasTS      bool
	index      string
	hasIndex   bool
	indexFrom  label // where index was given: key "index" or a field
	nIndexes   int
	indexes    [2]string
	positional bool   // "blobs" or "doubles" given
	named      bool   // "fields" given
	fieldsAt   int    // offset in d.s of a "fields" object to read once the dataset is known; -1 if none
	nBlobs     int    // blobs used, from d.blobs[d.nb]
	nDbls      int    // doubles used, from d.dbls[d.nd]
	blobSet    uint32 // named form: blob positions given (even as null)
	dblSet     uint32 // named form: double positions given
	fieldSet   uint8  // named form: 1<<KindIndex and 1<<KindTimestamp when given
}

func (ps *pstate) fail(err error) {
	if ps.err == nil {
		ps.err = err
	}
}

// point reads one point object at d.i and accepts or rejects it. It returns
// false on a syntax error.
func (d *decoder) point(pos int) bool {
	d.reserve()
	ps := pstate{fieldsAt: -1}
	if !d.object(&ps) {
		return false
	}
	d.accept(pos, &ps)
	return true
}

// accept finishes a point that was read without syntax errors and appends it
// to the points or the rejections.
func (d *decoder) accept(pos int, ps *pstate) {
	d.pts = append(d.pts, Point{})
	p := &d.pts[len(d.pts)-1]
	if err := d.finish(ps, p); err != nil {
		*p = Point{}
		d.pts = d.pts[:len(d.pts)-1]
		d.reject(pos, err.Error())
		return
	}
	d.nb += len(p.Blobs)
	d.nd += len(p.Doubles)
}

// reserve makes sure the arenas have room for one more point.
func (d *decoder) reserve() {
	if len(d.blobs)-d.nb < MaxBlobs {
		d.blobs, d.nb = make([]string, d.chunkSize()), 0
	}
	if len(d.dbls)-d.nd < MaxDoubles {
		d.dbls, d.nd = make([]float64, d.chunkSize()), 0
	}
}

func (d *decoder) chunkSize() int {
	return min(max(d.est*4, 2*MaxBlobs), 4096)
}

// finish applies the rules that need the whole point and builds it in p.
func (d *decoder) finish(ps *pstate, p *Point) error {
	if ps.err != nil {
		return ps.err
	}
	ds := d.opts.Dataset
	if ds == "" {
		if !ps.hasDataset {
			return errors.New(`dataset is missing: give "dataset" in each point, or post to /api/v1/datasets/{dataset}/points`)
		}
		ds = ps.dataset
	} else if ps.hasDataset && ps.dataset != ds {
		return fmt.Errorf("point names dataset %q but the URL names dataset %q", truncate(ps.dataset, 80), ds)
	}
	if ps.fieldsAt >= 0 {
		// Check the name before asking for its schema (Validate checks it
		// for the other points).
		if err := ValidateDatasetName(ds); err != nil {
			return err
		}
		d.deferredFields(ps, ds)
		if ps.err != nil {
			return ps.err
		}
	}
	switch {
	case ps.nIndexes > MaxIndexes:
		return tooManyIndexes(ps)
	case ps.nIndexes == 1 && ps.hasIndex:
		return fmt.Errorf(`index is given twice, in "indexes" and in %s; give it once`, ps.indexFrom)
	case ps.nIndexes == 1:
		ps.index = ps.indexes[0]
	}
	*p = Point{Dataset: ds, Timestamp: d.opts.Now, Index: ps.index}
	if ps.hasTS {
		p.Timestamp = ps.ts
	}
	if ps.nBlobs > 0 {
		p.Blobs = d.blobs[d.nb : d.nb+ps.nBlobs : d.nb+ps.nBlobs]
	}
	if ps.nDbls > 0 {
		p.Doubles = d.dbls[d.nd : d.nd+ps.nDbls : d.nd+ps.nDbls]
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if ps.hasTS {
		if err := d.checkWindow(ps.ts); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) deferredFields(ps *pstate, dataset string) {
	save := d.i
	d.i = ps.fieldsAt
	if !d.fields(ps, dataset) {
		panic("BUG: point: fields object passed skip but not fields: " + d.synMsg)
	}
	d.i = save
}

func tooManyIndexes(ps *pstate) error {
	example := truncate(ps.indexes[0], 32) + ":" + truncate(ps.indexes[1], 32)
	return fmt.Errorf(`point has %d indexes; Analytics Engine accepts at most 1 index (AE drops such points silently). Combine them into one, e.g. "indexes":[%q], or move the extra values into blobs`, ps.nIndexes, example)
}

func (d *decoder) checkWindow(ts int64) error {
	lo, hi := d.opts.MinTimestamp, d.opts.MaxTimestamp
	if lo == 0 && hi == 0 || ts >= lo && ts <= hi {
		return nil
	}
	hint := ""
	switch {
	case ts > 0 && ts < math.MaxInt64/1000 && ts*1000 >= lo && ts*1000 <= hi:
		hint = "; it looks like Unix seconds, but timestamps are Unix milliseconds"
	case ts/1000 >= lo && ts/1000 <= hi:
		hint = "; it looks like Unix microseconds, but timestamps are Unix milliseconds"
	case ts/1000_000 >= lo && ts/1000_000 <= hi:
		hint = "; it looks like Unix nanoseconds, but timestamps are Unix milliseconds"
	}
	return fmt.Errorf("timestamp %s (%d) is outside the accepted window %s to %s%s", fmtMillis(ts), ts, fmtMillis(lo), fmtMillis(hi), hint)
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// object reads the point object at d.i (d.s[d.i] == '{') into ps.
func (d *decoder) object(ps *pstate) bool {
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return true
	}
	for {
		bit, key, ok := d.pointKey()
		if !ok || !d.member(ps, bit, key) {
			return false
		}
		more, ok := d.next()
		if !ok || !more {
			return ok
		}
	}
}

// key reads an object key and the ':' after it, leaving d.i at the value.
func (d *decoder) key() (string, bool) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", d.fail("expected '\"' to begin an object key; found " + d.found())
	}
	k, ok := d.str()
	if !ok {
		return "", false
	}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		return "", d.fail("expected ':' after an object key; found " + d.found())
	}
	d.i++
	d.ws()
	return k, true
}

// next reads what follows an object member: ',' (more is true) or '}'.
func (d *decoder) next() (more, ok bool) {
	d.ws()
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
			return true, true
		case '}':
			d.i++
			return false, true
		}
	}
	return false, d.fail("expected ',' or '}' after an object member; found " + d.found())
}

// pointKey reads the key of a point object member and the ':' after it. It
// returns the key's bit, or 0 and the key for an unknown key. Plain known
// keys are matched in place, without scanning them as strings.
func (d *decoder) pointKey() (bit uint8, key string, ok bool) {
	if bit, n := plainKey(d.s[d.i:]); bit != 0 {
		d.i += n
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return 0, "", d.fail("expected ':' after an object key; found " + d.found())
		}
		d.i++
		d.ws()
		return bit, "", true
	}
	key, ok = d.key()
	for i, name := range keyNames {
		if key == name {
			return 1 << i, "", ok
		}
	}
	return 0, key, ok
}

// keyNames are the point keys, in the order of their bits.
var keyNames = [...]string{"dataset", "timestamp", "index", "indexes", "blobs", "doubles", "fields"}

// Little-endian words of the first 8 bytes of the quoted point keys, to
// match them without scanning; the 7-byte ones are compared under mask7.
const (
	wDataset   = 0x7465736174616422 // "dataset
	wDoubles   = 0x73656c62756f6422 // "doubles
	wIndexes   = 0x73657865646e6922 // "indexes
	wTimestamp = 0x617473656d697422 // "timesta
	wFields    = 0x2273646c65696622 // "fields"
	wIndex     = 0x00227865646e6922 // "index"
	wBlobs     = 0x002273626f6c6222 // "blobs"
	mask7      = 0x00ffffffffffffff
)

// plainKey matches a known point key written without escapes at the start
// of s, returning its bit and its length with quotes, or 0.
func plainKey(s string) (uint8, int) {
	if len(s) < 9 {
		return 0, 0
	}
	w := load64(s, 0)
	switch {
	case w == wDataset && s[8] == '"':
		return keyDataset, 9
	case w&mask7 == wIndex:
		return keyIndex, 7
	case w&mask7 == wBlobs:
		return keyBlobs, 7
	case w == wDoubles && s[8] == '"':
		return keyDoubles, 9
	case w == wTimestamp && len(s) >= 11 && s[8:11] == `mp"`:
		return keyTimestamp, 11
	case w == wIndexes && s[8] == '"':
		return keyIndexes, 9
	case w == wFields:
		return keyFields, 8
	}
	return 0, 0
}

// member reads the value of one point key; bit is 0 for an unknown key.
func (d *decoder) member(ps *pstate, bit uint8, key string) bool {
	if ps.err != nil {
		return d.skip()
	}
	if bit == 0 {
		ps.fail(unknownKey(key))
		return d.skip()
	}
	if ps.seen&bit != 0 {
		ps.fail(fmt.Errorf("key %q appears twice in the point", keyNames[bits.TrailingZeros8(bit)]))
		return d.skip()
	}
	ps.seen |= bit
	switch bit {
	case keyDataset:
		v, ok, okSyn := d.stringOrNull(ps, label{name: "dataset"})
		ps.dataset, ps.hasDataset = v, ok
		return okSyn
	case keyTimestamp:
		return d.timestamp(ps, label{name: "timestamp"})
	case keyIndex:
		return d.index(ps, label{name: "index"})
	case keyIndexes:
		return d.indexList(ps)
	case keyBlobs:
		return d.blobList(ps)
	case keyDoubles:
		return d.doubleList(ps)
	default:
		return d.fieldsMember(ps)
	}
}

func unknownKey(key string) error {
	if _, ok := positional(key); ok {
		return fmt.Errorf(`unknown key %q; to set a column by name use "fields": {%q: ...}, or use the "blobs"/"doubles" arrays`, key, key)
	}
	return fmt.Errorf("unknown key %q; point keys are dataset, timestamp, index, indexes, blobs, doubles and fields", truncate(key, 80))
}

// label names a value in messages: a point key, an element of "blobs" or
// "doubles" (blob3, double2) or a named field with its column. It is
// formatted only when a message is.
type label struct {
	name  string // the point key, or the field name when field is true
	field bool
	kind  FieldKind
	pos   int
}

func (l label) String() string {
	switch {
	case !l.field && (l.kind == KindBlob || l.kind == KindDouble):
		return Field{Kind: l.kind, Pos: l.pos}.Column()
	case !l.field:
		return l.name
	}
	if _, ok := positional(l.name); ok {
		return l.name
	}
	return fmt.Sprintf("field %q (%s)", truncate(l.name, 80), Field{Kind: l.kind, Pos: l.pos}.Column())
}

// stringOrNull reads a string (ok is true) or null. Another value is
// skipped and breaks a rule of the point. okSyn is false on a syntax error.
func (d *decoder) stringOrNull(ps *pstate, l label) (v string, ok, okSyn bool) {
	switch d.peek() {
	case '"':
		v, okSyn = d.str()
		return v, okSyn, okSyn
	case 'n':
		return "", false, d.literal("null")
	}
	return "", false, d.wrongType(ps, l, "a string or null")
}

// numberOrNull reads a number (ok is true) or null, like stringOrNull.
func (d *decoder) numberOrNull(ps *pstate, l label) (v float64, ok, okSyn bool) {
	switch c := d.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		v, _, okSyn = d.number()
		return v, okSyn, okSyn
	case c == 'n':
		return 0, false, d.literal("null")
	}
	return 0, false, d.wrongType(ps, l, "a number or null")
}

// wrongType records that the value at d.i is not what l needs, and skips it.
func (d *decoder) wrongType(ps *pstate, l label, want string) bool {
	c := d.peek()
	if !d.skip() {
		return false
	}
	ps.fail(fmt.Errorf("%s must be %s, got %s", l, want, typeName(c)))
	return true
}

func (d *decoder) index(ps *pstate, l label) bool {
	v, ok, okSyn := d.stringOrNull(ps, l)
	if ok {
		if ps.hasIndex {
			ps.fail(fmt.Errorf("index is given twice, in %s and in %s; give it once", ps.indexFrom, l))
		}
		ps.index, ps.hasIndex, ps.indexFrom = v, true, l
	}
	return okSyn
}

func (d *decoder) indexList(ps *pstate) bool {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '[':
	default:
		return d.wrongType(ps, label{name: "indexes"}, "an array of at most one string")
	}
	n := 0
	for more := d.open(); more; n++ {
		v, _, ok := d.stringOrNull(ps, label{name: "index"})
		if !ok {
			return false
		}
		if n < len(ps.indexes) {
			ps.indexes[n] = v
		}
		if more, ok = d.nextElem(); !ok {
			return false
		}
	}
	ps.nIndexes = n
	return true
}

func (d *decoder) blobList(ps *pstate) bool {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '[':
	default:
		return d.wrongType(ps, label{name: "blobs"}, "an array of strings")
	}
	if ps.named {
		ps.fail(errMixedForms)
		return d.skip()
	}
	ps.positional = true
	arena := d.blobs[d.nb : d.nb+MaxBlobs]
	n := 0
	for more := d.open(); more; n++ {
		v, _, ok := d.stringOrNull(ps, label{kind: KindBlob, pos: n + 1})
		if !ok {
			return false
		}
		if n < len(arena) {
			arena[n] = v
		}
		if more, ok = d.nextElem(); !ok {
			return false
		}
	}
	if n > MaxBlobs {
		ps.fail(fmt.Errorf("%d blobs; the limit is %d blobs", n, MaxBlobs))
	}
	ps.nBlobs = min(n, MaxBlobs)
	return true
}

func (d *decoder) doubleList(ps *pstate) bool {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '[':
	default:
		return d.wrongType(ps, label{name: "doubles"}, "an array of numbers")
	}
	if ps.named {
		ps.fail(errMixedForms)
		return d.skip()
	}
	ps.positional = true
	arena := d.dbls[d.nd : d.nd+MaxDoubles]
	n := 0
	for more := d.open(); more; n++ {
		v, _, ok := d.numberOrNull(ps, label{kind: KindDouble, pos: n + 1})
		if !ok {
			return false
		}
		if n < len(arena) {
			arena[n] = v
		}
		if more, ok = d.nextElem(); !ok {
			return false
		}
	}
	if n > MaxDoubles {
		ps.fail(fmt.Errorf("%d doubles; the limit is %d doubles", n, MaxDoubles))
	}
	ps.nDbls = min(n, MaxDoubles)
	return true
}

var errMixedForms = errors.New(`"fields" cannot be combined with "blobs" or "doubles" in one point; use one form`)

// open reads the '[' at d.i and reports whether an element follows; it reads
// an empty array whole.
func (d *decoder) open() bool {
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return false
	}
	return true
}

// nextElem reads what follows an array element: ',' (more is true) or ']'.
func (d *decoder) nextElem() (more, ok bool) {
	d.ws()
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
			return true, true
		case ']':
			d.i++
			return false, true
		}
	}
	return false, d.fail("expected ',' or ']' after an array element; found " + d.found())
}

// timestamp reads an RFC 3339 string, a number of Unix milliseconds, or null.
func (d *decoder) timestamp(ps *pstate, l label) bool {
	if ps.hasTS {
		ps.fail(errors.New("timestamp is given twice; give it once"))
		return d.skip()
	}
	switch c := d.peek(); {
	case c == '"':
		v, ok := d.str()
		if !ok {
			return false
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			ps.fail(fmt.Errorf(`%s %q is not an RFC 3339 time like "2025-01-02T15:04:05.123Z" nor a number of Unix milliseconds`, l, truncate(v, 80)))
			return true
		}
		ps.ts, ps.hasTS = t.UnixMilli(), true
		return true
	case c == '-' || c >= '0' && c <= '9':
		f, tok, ok := d.number()
		if !ok {
			return false
		}
		ms, err := millis(tok, f)
		if err != nil {
			ps.fail(fmt.Errorf("%s %s %v", l, truncate(tok, 40), err))
			return true
		}
		ps.ts, ps.hasTS = ms, true
		return true
	case c == 'n':
		return d.literal("null")
	}
	return d.wrongType(ps, l, "an RFC 3339 string or a number of Unix milliseconds")
}

// millis converts a JSON number token (with value f) to integer milliseconds.
func millis(tok string, f float64) (int64, error) {
	if n, ok := smallInt(tok); ok {
		return n, nil
	}
	if f != math.Trunc(f) {
		return 0, errors.New("is not a whole number of Unix milliseconds")
	}
	if f >= math.MaxInt64 || f < math.MinInt64 {
		return 0, errors.New("is out of range for Unix milliseconds")
	}
	return int64(f), nil
}

// smallInt parses an integer token of at most 18 digits exactly.
func smallInt(tok string) (int64, bool) {
	digits := strings.TrimPrefix(tok, "-")
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(tok) {
		n = -n
	}
	return n, true
}

// ---- the named form ----

// fieldsMember reads the value of "fields". When the dataset is known it is
// resolved at once; otherwise it is checked and read again by finish.
func (d *decoder) fieldsMember(ps *pstate) bool {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '{':
	default:
		return d.wrongType(ps, label{name: "fields"}, "an object")
	}
	if ps.positional {
		ps.fail(errMixedForms)
		return d.skip()
	}
	ps.named = true
	ds := d.opts.Dataset
	if ds == "" && ps.hasDataset {
		ds = ps.dataset
	}
	if ds == "" || !(d.schemaLoaded && ds == d.schemaDataset) && ValidateDatasetName(ds) != nil {
		ps.fieldsAt = d.i
		return d.skip()
	}
	return d.fields(ps, ds)
}

// fields reads the "fields" object at d.i ('{') through dataset's schema.
func (d *decoder) fields(ps *pstate, dataset string) bool {
	clear(d.blobs[d.nb : d.nb+MaxBlobs])
	clear(d.dbls[d.nd : d.nd+MaxDoubles])
	sch := d.schemaOf(dataset)
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return true
	}
	for {
		name, ok := d.key()
		if !ok || !d.field(ps, sch, dataset, name) {
			return false
		}
		more, ok := d.next()
		if !ok || !more {
			return ok
		}
	}
}

// field reads the value of one named field.
func (d *decoder) field(ps *pstate, sch *Schema, dataset, name string) bool {
	if ps.err != nil {
		return d.skip()
	}
	f, ok := d.resolve(sch, name)
	if !ok {
		ps.fail(unknownField(sch, dataset, name))
		return d.skip()
	}
	l := label{name: name, field: true, kind: f.Kind, pos: f.Pos}
	switch f.Kind {
	case KindIndex, KindTimestamp:
		bit := uint8(1) << f.Kind
		if ps.fieldSet&bit != 0 {
			ps.fail(fmt.Errorf("%s is set twice; set each column once", l))
			return d.skip()
		}
		ps.fieldSet |= bit
		if f.Kind == KindIndex {
			return d.index(ps, l)
		}
		return d.timestamp(ps, l)
	case KindBlob:
		bit := uint32(1) << (f.Pos - 1)
		if ps.blobSet&bit != 0 {
			ps.fail(fmt.Errorf("%s is set twice; set each column once", l))
			return d.skip()
		}
		ps.blobSet |= bit
		v, ok, okSyn := d.stringOrNull(ps, l)
		if ok {
			d.blobs[d.nb+f.Pos-1] = v
			ps.nBlobs = max(ps.nBlobs, f.Pos)
		}
		return okSyn
	case KindDouble:
		bit := uint32(1) << (f.Pos - 1)
		if ps.dblSet&bit != 0 {
			ps.fail(fmt.Errorf("%s is set twice; set each column once", l))
			return d.skip()
		}
		ps.dblSet |= bit
		v, ok, okSyn := d.numberOrNull(ps, l)
		if ok {
			d.dbls[d.nd+f.Pos-1] = v
			ps.nDbls = max(ps.nDbls, f.Pos)
		}
		return okSyn
	}
	ps.fail(fmt.Errorf("field %q cannot be written: %s is set by the server", name, f.Column()))
	return d.skip()
}

func unknownField(sch *Schema, dataset, name string) error {
	if sch.IsZero() {
		return fmt.Errorf("unknown field %q: dataset %q has no schema, so fields must be column names: index, blob1..blob20, double1..double20 or timestamp", truncate(name, 80), dataset)
	}
	var names []string
	for _, n := range append(append([]string{sch.Index}, sch.Blobs...), sch.Doubles...) {
		if n != "" {
			names = append(names, n)
		}
	}
	return fmt.Errorf("unknown field %q: dataset %q has no such schema field (its schema names %s; the column names index, blob1..blob20, double1..double20 and timestamp work too)", truncate(name, 80), dataset, strings.Join(names, ", "))
}

// schemaOf returns the schema of dataset, asking opts.Schema only when the
// dataset differs from the last one asked about.
func (d *decoder) schemaOf(dataset string) *Schema {
	if d.schemaLoaded && d.schemaDataset == dataset {
		return d.schema
	}
	d.schema = nil
	if d.opts.Schema != nil {
		d.schema = d.opts.Schema(dataset)
	}
	d.schemaDataset, d.schemaLoaded = dataset, true
	d.resolved = d.resolved[:0]
	return d.schema
}

// maxResolved bounds the cache of resolved field names.
const maxResolved = 64

// resolve resolves a field name through sch (the schema of the last
// schemaOf), caching the names it has resolved for the batch's next points.
func (d *decoder) resolve(sch *Schema, name string) (Field, bool) {
	for _, r := range d.resolved {
		if r.name == name {
			return r.f, true
		}
	}
	f, err := sch.Resolve(name)
	if err != nil {
		return Field{}, false
	}
	if len(d.resolved) < maxResolved {
		d.resolved = append(d.resolved, resolvedName{name, f})
	}
	return f, true
}

type resolvedName struct {
	name string
	f    Field
}

// ---- JSON tokens ----

var spaceTab = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func isSpace(c byte) bool { return spaceTab[c] }

// ws skips JSON whitespace.
func (d *decoder) ws() {
	if d.i < len(d.s) && d.s[d.i] > ' ' {
		return
	}
	for d.i < len(d.s) && spaceTab[d.s[d.i]] {
		d.i++
	}
}

// peek returns the byte at d.i, or 0 at the end.
func (d *decoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// fail records a syntax error at d.i and returns false.
func (d *decoder) fail(msg string) bool {
	if d.synMsg == "" {
		d.synOff, d.synMsg = d.i, msg
	}
	return false
}

// found describes the byte at d.i for a syntax error message.
func (d *decoder) found() string {
	if d.i >= len(d.s) {
		if d.line {
			return "end of line"
		}
		return "end of input"
	}
	c := d.s[d.i]
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func typeName(c byte) string {
	switch c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// literal reads true, false or null.
func (d *decoder) literal(lit string) bool {
	if !strings.HasPrefix(d.s[d.i:], lit) {
		return d.fail("invalid literal; expected " + lit)
	}
	d.i += len(lit)
	return true
}

// str reads the string at d.i ('"'). A string without escapes is returned
// as a substring of the body, without copying. Invalid UTF-8 is kept as it
// is (Point.Validate rejects it); lone surrogate escapes become U+FFFD, as
// in encoding/json.
func (d *decoder) str() (string, bool) {
	s := d.s
	start := d.i + 1
	j := nextSpecial(s, start)
	if j >= len(s) {
		d.i = len(s)
		return "", d.fail("unterminated string")
	}
	switch c := s[j]; c {
	case '"':
		d.i = j + 1
		return s[start:j], true
	case '\\':
		return d.unescape(start, j)
	default:
		d.i = j
		return "", d.fail(fmt.Sprintf("control character 0x%02x in a string; escape it", c))
	}
}

// nextSpecial returns the offset of the first '"', '\\' or control character
// in s at or after i, or len(s). It looks at 8 bytes at a time.
func nextSpecial(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := special8(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// load64 reads the 8 bytes at s[i:] as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special8 marks the bytes of the 8 packed in x that are '"', '\\' or a
// control character (below 0x20) by setting their high bit, with the usual
// SWAR zero-byte tests. Bytes above the first marked one may be marked
// falsely (borrows propagate upwards), so only the lowest mark is exact.
func special8(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return ((q-lo)&^q | (b-lo)&^b | (x-lo*0x20)&^x) & hi
}

// unescape finishes reading a string that has escapes: s[start:j] is its
// plain beginning and s[j] is '\\'.
func (d *decoder) unescape(start, j int) (string, bool) {
	s := d.s
	b := append(d.scratch[:0], s[start:j]...)
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			d.i = j + 1
			d.scratch = b
			return string(b), true
		case c < 0x20:
			d.i = j
			return "", d.fail(fmt.Sprintf("control character 0x%02x in a string; escape it", c))
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(s) {
			break
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, j+2)
			if !ok {
				d.i = j
				return "", d.fail(`invalid \u escape; expected 4 hex digits`)
			}
			j += 6
			if utf16.IsSurrogate(r) {
				r = d.surrogate(r, j)
				if r != utf8.RuneError {
					j += 6
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			d.i = j
			return "", d.fail(fmt.Sprintf("invalid escape \\%c", e))
		}
		j += 2
	}
	d.i = len(s)
	return "", d.fail("unterminated string")
}

// surrogate decodes the surrogate r, whose escape ends at s[j], with a \u
// escape of a second surrogate at s[j]. It returns U+FFFD when they do not
// form a pair (and the second escape is then read on its own), as
// encoding/json does.
func (d *decoder) surrogate(r rune, j int) rune {
	s := d.s
	if j+1 >= len(s) || s[j] != '\\' || s[j+1] != 'u' {
		return utf8.RuneError
	}
	r2, ok := hex4(s, j+2)
	if !ok {
		return utf8.RuneError
	}
	return utf16.DecodeRune(r, r2) // U+FFFD unless a valid pair
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// number reads a JSON number and returns its value and its text. Numbers
// beyond float64 are ±Inf (and break the finite rule in Point.Validate).
// A number with at most 15 significant digits and a small exponent is
// converted exactly without strconv (one correctly rounded multiplication or
// division of exact values); others go through strconv.ParseFloat.
func (d *decoder) number() (float64, string, bool) {
	s := d.s
	start := d.i
	i := start
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	nd, exp := 0, 0 // significant digits in mant; decimal exponent
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		j := i
		for ; i < len(s) && s[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(s[i]-'0')
		}
		nd = i - j
	default:
		d.i = i
		return 0, "", d.fail("invalid number; expected a digit, found " + d.found())
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return 0, "", d.fail("invalid number; expected a digit after the decimal point, found " + d.found())
		}
		j := i
		if mant == 0 { // leading zeros of the fraction are not significant
			for ; i < len(s) && s[i] == '0'; i++ {
			}
		}
		k := i
		for ; i < len(s) && s[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(s[i]-'0')
		}
		nd += i - k
		exp -= i - j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return 0, "", d.fail("invalid number; expected a digit in the exponent, found " + d.found())
		}
		e := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if e < 100000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	d.i = i
	tok := s[start:i]
	var f float64
	switch {
	case nd <= 15 && exp == 0:
		f = float64(mant)
	case nd <= 15 && exp > 0 && exp < len(pow10):
		f = float64(mant) * pow10[exp]
	case nd <= 15 && exp < 0 && -exp < len(pow10):
		f = float64(mant) / pow10[-exp]
	default:
		f, _ = strconv.ParseFloat(tok, 64) // syntax checked above; a range error yields ±Inf or 0
		return f, tok, true
	}
	if neg {
		f = -f
	}
	return f, tok, true
}

// skip reads one JSON value at d.i and discards it, checking its syntax. It
// does not recurse: open containers are kept on a byte stack, so any depth
// costs one byte per level and no call stack.
func (d *decoder) skip() bool {
	var buf [32]byte
	stack := buf[:0]
	for {
		// A value starts at d.i.
		switch c := d.peek(); c {
		case '{':
			d.i++
			d.ws()
			if d.peek() == '}' {
				d.i++
				break
			}
			stack = append(stack, '}')
			if _, ok := d.key(); !ok {
				return false
			}
			continue
		case '[':
			d.i++
			d.ws()
			if d.peek() == ']' {
				d.i++
				break
			}
			stack = append(stack, ']')
			continue
		case '"':
			if !d.skipString() {
				return false
			}
		case 't':
			if !d.literal("true") {
				return false
			}
		case 'f':
			if !d.literal("false") {
				return false
			}
		case 'n':
			if !d.literal("null") {
				return false
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return d.fail("expected a JSON value; found " + d.found())
			}
			if _, _, ok := d.number(); !ok {
				return false
			}
		}
		// A value ended: close the containers it ends, or go on to the next
		// element or member.
		for {
			if len(stack) == 0 {
				return true
			}
			d.ws()
			top := stack[len(stack)-1]
			c := d.peek()
			if c == top {
				d.i++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return d.fail(fmt.Sprintf("expected ',' or '%c'; found %s", top, d.found()))
			}
			d.i++
			d.ws()
			if top == '}' {
				if _, ok := d.key(); !ok {
					return false
				}
			}
			break
		}
	}
}

// skipString reads a string without building its value.
func (d *decoder) skipString() bool {
	s := d.s
	for j := d.i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			d.i = j + 1
			return true
		case c < 0x20:
			d.i = j
			return d.fail(fmt.Sprintf("control character 0x%02x in a string; escape it", c))
		case c == '\\':
			if j+1 >= len(s) {
				d.i = j
				return d.fail("unterminated string")
			}
			switch e := s[j+1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if _, ok := hex4(s, j+2); !ok {
					d.i = j
					return d.fail(`invalid \u escape; expected 4 hex digits`)
				}
				j += 5
			default:
				d.i = j
				return d.fail(fmt.Sprintf("invalid escape \\%c", e))
			}
		}
	}
	d.i = len(s)
	return d.fail("unterminated string")
}
