package duckdb

// This file is the column-wise ingest path: it fills DuckDB data chunks
// directly through the C API (package duckdb-go-bindings) instead of
// duckdb-go's Appender.AppendRow, which boxes every value into an interface,
// type-switches on it and crosses cgo once per string.
//
// It depends on four things outside duckdb-go's public API. The first three
// are checked at run time; the tests in chunk_test.go fail when any changes:
//
//  1. The raw duckdb_connection behind a *duckdb.Conn. duckdb-go keeps it in
//     the unexported field Conn.conn and has no accessor; rawConnection reads
//     it by reflection, checking the field's name and type, and laneConn then
//     checks that the handle's DuckDB connection id is the one duckdb-go
//     reports for the lane (duckdb.ConnId).
//  2. The element types of the appender's columns. Numbers are written
//     straight into the vectors' data buffers, so openAppender refuses a
//     table whose column types are not exactly the ones createTableSQL makes
//     (INTEGER, BIGINT, UINTEGER, VARCHAR..., DOUBLE...).
//  3. The layout of duckdb_string_t (see duckString). Strings of at most 12
//     bytes are written inline, longer ones as a pointer to a copy in a
//     pinned Go arena, all without cgo; probeStringLayout compares, once per
//     process, what DuckDB itself writes for such strings with what Go
//     writes, and for a form that differs every string goes through
//     duckdb_vector_assign_string_element_len as before.
//  4. DuckDB's appender copying a chunk's strings before AppendDataChunk
//     returns (ColumnDataCollection::Append does), so that the arena can be
//     reused at once; TestChunkArenaCopied scribbles over the arena after
//     AppendDataChunk and reads the data back.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/duckdb/duckdb-go/v2"
)

// rawConnection returns the C connection handle of a duckdb-go driver
// connection, which duckdb-go does not export.
//
// The field is found by name and its type checked, so a renamed or retyped
// field is an error, never a misread. The caller must also check the handle's
// connection id against duckdb.ConnId (see laneConn): that proves the handle
// is the connection database/sql runs this lane's BEGIN and COMMIT on.
//
// The handle stays valid until the driver connection is closed. A lane's
// *sql.Conn keeps the same driver connection for its whole life, and the
// store destroys a lane's appenders before it closes the lane's connection.
func rawConnection(dc any) (bindings.Connection, error) {
	c, ok := dc.(*duckdb.Conn)
	if !ok || c == nil {
		return bindings.Connection{}, fmt.Errorf("BUG: driver connection is %T, not *duckdb.Conn", dc)
	}
	f := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[bindings.Connection]() {
		return bindings.Connection{}, errors.New("duckdb-go's Conn has no field conn of type duckdb_go_bindings.Connection: the chunk appender needs updating for this duckdb-go version")
	}
	// f is addressable (it is a field of the struct c points to) and of type
	// bindings.Connection, checked above, so the pointer has that type. The
	// value is copied out at once; the *duckdb.Conn is not kept.
	raw := *(*bindings.Connection)(unsafe.Pointer(f.UnsafeAddr()))
	if raw.Ptr == nil {
		return bindings.Connection{}, errors.New("duckdb connection is closed")
	}
	return raw, nil
}

// connectionID returns DuckDB's id for a raw connection.
func connectionID(c bindings.Connection) uint64 {
	var ctx bindings.ClientContext
	bindings.ConnectionGetClientContext(c, &ctx)
	defer bindings.DestroyClientContext(&ctx)
	return uint64(bindings.ClientContextGetConnectionId(ctx))
}

// laneConn returns the lane's raw C connection, looked up and verified once.
func (l *lane) laneConn() (bindings.Connection, error) {
	if l.raw.Ptr != nil {
		return l.raw, nil
	}
	var raw bindings.Connection
	err := l.conn.Raw(func(dc any) error {
		var err error
		raw, err = rawConnection(dc)
		return err
	})
	if err != nil {
		return bindings.Connection{}, err
	}
	id, err := duckdb.ConnId(l.conn)
	if err != nil {
		return bindings.Connection{}, err
	}
	if got := connectionID(raw); got != id {
		return bindings.Connection{}, fmt.Errorf("BUG: raw duckdb connection has id %d, the lane's connection %d", got, id)
	}
	l.raw = raw
	return raw, nil
}

// colType is a column's DuckDB type id.
type colType = bindings.Type

// wantTypes lists the column types of a day table of width w, in
// columnNames order.
func wantTypes(w width) []colType {
	t := []colType{bindings.TypeInteger, bindings.TypeBigInt, bindings.TypeUInteger, bindings.TypeVarchar}
	for range w.blobs {
		t = append(t, bindings.TypeVarchar)
	}
	for range w.doubles {
		t = append(t, bindings.TypeDouble)
	}
	return t
}

// openAppender opens a C appender on conn for the named columns of
// catalog.main.table and a data chunk to fill for it. The column types must
// be exactly want: the chunk writer relies on them for the element sizes.
func openAppender(conn bindings.Connection, catalog, table string, cols []string, want []colType) (bindings.Appender, *dataChunk, error) {
	var app bindings.Appender
	if bindings.AppenderCreateExt(conn, catalog, "main", table, &app) == bindings.StateError {
		err := errors.New(bindings.AppenderError(app))
		bindings.AppenderDestroy(&app)
		return app, nil, err
	}
	fail := func(err error) (bindings.Appender, *dataChunk, error) {
		bindings.AppenderClear(app)
		bindings.AppenderDestroy(&app)
		return app, nil, err
	}
	for _, c := range cols {
		if bindings.AppenderAddColumn(app, c) == bindings.StateError {
			return fail(fmt.Errorf("column %s: %s", c, bindings.AppenderError(app)))
		}
	}
	if n := int(bindings.AppenderColumnCount(app)); n != len(cols) {
		return fail(fmt.Errorf("appender has %d columns, want %d", n, len(cols)))
	}
	types := make([]bindings.LogicalType, len(cols))
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	for i := range cols {
		types[i] = bindings.AppenderColumnType(app, bindings.IdxT(i))
		if got := bindings.GetTypeId(types[i]); got != want[i] {
			return fail(fmt.Errorf("column %s has DuckDB type %d, want %d", cols[i], got, want[i]))
		}
	}
	return app, newDataChunk(types, want), nil
}

// dataChunk is a reusable C data chunk with the columns of one day table.
type dataChunk struct {
	chunk    bindings.DataChunk
	types    []colType
	capacity int    // rows per chunk: DuckDB's vector size, 2048
	layout   layout // string forms fill writes from Go; tests may clear it
}

func newDataChunk(types []bindings.LogicalType, ids []colType) *dataChunk {
	return &dataChunk{
		chunk:    bindings.CreateDataChunk(types),
		types:    ids,
		capacity: int(bindings.VectorSize()),
		layout:   stringLayout(),
	}
}

func (c *dataChunk) destroy() {
	bindings.DestroyDataChunk(&c.chunk)
}

// column returns column i's vector and its data buffer, with every row
// valid (not NULL).
//
// A freshly created or reset chunk has no validity mask, which DuckDB reads
// as all rows valid, and duckdb_vector_get_validity returns NULL
// (TestChunkFreshValidity checks this). Should a mask exist, it is set to all
// valid here, so a NULL left by an earlier fill can never leak into this one.
func (c *dataChunk) column(i int) (bindings.Vector, unsafe.Pointer) {
	vec := bindings.DataChunkGetVector(c.chunk, bindings.IdxT(i))
	if m := bindings.VectorGetValidity(vec); m != nil {
		// The mask has one bit per row of the vector's capacity.
		mask := unsafe.Slice((*uint64)(m), (c.capacity+63)/64)
		for j := range mask {
			mask[j] = ^uint64(0)
		}
	}
	return vec, bindings.VectorGetData(vec)
}

// fill writes rows (at most c.capacity) into the chunk, column by column, and
// sets its size. The chunk must be fresh or reset (see reset).
//
// Safety of the unsafe.Slice calls: each vector's data buffer holds
// c.capacity elements of the column's physical type, checked against the
// table when the appender was opened (openAppender): int32 for INTEGER, int64
// for BIGINT, uint32 for UINTEGER, float64 for DOUBLE and 16-byte
// duckdb_string_t for VARCHAR. len(rows) <= c.capacity, and the buffers live
// until the chunk is reset or destroyed, which happens only after the slices
// are gone.
//
// Long strings are copied into arena, which the caller must release only
// after AppendDataChunk has returned. A nil arena sends them through cgo.
func (c *dataChunk) fill(rows []row, w width, arena *stringArena) {
	n := len(rows)
	if n > c.capacity {
		panic("BUG: too many rows for a data chunk")
	}
	if len(c.types) != 4+w.blobs+w.doubles {
		panic("BUG: data chunk and table width disagree")
	}
	_, data := c.column(0)
	project := unsafe.Slice((*int32)(data), n)
	for i, r := range rows {
		project[i] = int32(r.project)
	}
	_, data = c.column(1)
	ts := unsafe.Slice((*int64)(data), n)
	for i, r := range rows {
		ts[i] = r.p.Timestamp
	}
	_, data = c.column(2)
	si := unsafe.Slice((*uint32)(data), n)
	for i, r := range rows {
		si[i] = r.p.Weight()
	}
	vec, data := c.column(3)
	sv := stringVector{vec: vec, data: unsafe.Slice((*duckString)(data), n), layout: c.layout, arena: arena}
	for i, r := range rows {
		sv.set(i, r.p.Index)
	}
	for b := 1; b <= w.blobs; b++ {
		vec, data := c.column(3 + b)
		sv := stringVector{vec: vec, data: unsafe.Slice((*duckString)(data), n), layout: c.layout, arena: arena}
		for i, r := range rows {
			sv.set(i, r.p.Blob(b))
		}
	}
	for d := 1; d <= w.doubles; d++ {
		_, data := c.column(3 + w.blobs + d)
		col := unsafe.Slice((*float64)(data), n)
		for i, r := range rows {
			col[i] = r.p.Double(d)
		}
	}
	bindings.DataChunkSetSize(c.chunk, bindings.IdxT(n))
}

// reset empties the chunk for the next fill. It also frees the chunk's
// string heap, where DuckDB copied the strings too long to inline.
func (c *dataChunk) reset() {
	bindings.DataChunkReset(c.chunk)
}

// duckString is DuckDB's duckdb_string_t (string_t in C++), 16 bytes:
//
//	length <= 12: uint32 length, then the string in 12 bytes, zero padded
//	length  > 12: uint32 length, its first 4 bytes, a pointer to all of it
//
// In the inlined form the padding must be zero: DuckDB compares inlined
// strings as two 8-byte words. stringLayout checks both forms against what
// DuckDB itself writes before Go writes either.
type duckString [16]byte

const stringInlineLen = 12

// inlineString returns s (at most stringInlineLen bytes) in inlined form.
func inlineString(s string) duckString {
	var v duckString
	binary.NativeEndian.PutUint32(v[:4], uint32(len(s)))
	copy(v[4:], s)
	return v
}

// pointerString returns s (more than stringInlineLen bytes) in pointer form,
// pointing at p, where a copy of s's bytes is. The pointer is stored as an
// integer: a pointer-typed store into C memory would run the garbage
// collector's write barrier on whatever bytes were there before.
func pointerString(s string, p uintptr) duckString {
	var v duckString
	binary.NativeEndian.PutUint32(v[:4], uint32(len(s)))
	copy(v[4:8], s)
	binary.NativeEndian.PutUint64(v[8:], uint64(p))
	return v
}

// stringVector writes a VARCHAR vector's first len(data) rows.
type stringVector struct {
	vec    bindings.Vector
	data   []duckString // the vector's data buffer
	layout layout
	arena  *stringArena
}

func (v *stringVector) set(i int, s string) {
	// Valid strings are written from Go: short ones inline, long ones as a
	// pointer to a copy in the arena. DuckDB's AppendDataChunk copies the
	// strings before it returns (into the appender's ColumnDataCollection),
	// so the arena only has to hold them until then. Invalid UTF-8 (the
	// points are validated upstream, so only a bug sends it) goes through
	// DuckDB, which stores NULL for it as duckdb-go's appender did.
	if len(s) <= stringInlineLen {
		if v.layout.inline && utf8.ValidString(s) {
			v.data[i] = inlineString(s)
			return
		}
	} else if v.layout.pointer && v.arena != nil && utf8.ValidString(s) {
		v.data[i] = pointerString(s, uintptr(v.arena.add(s)))
		return
	}
	bindings.VectorAssignStringElement(v.vec, bindings.IdxT(i), s)
}

// stringArena holds copies of long strings in Go memory, pinned while DuckDB
// reads them. A lane owns one and reuses its blocks for every chunk.
//
// Invariants that make handing its addresses to C safe: a block is pinned
// (runtime.Pinner) before its first address is taken in a round, and stays
// pinned and referenced by the arena until release, which the caller runs
// only after AppendDataChunk has returned, that is after DuckDB has copied
// the strings. No pin outlives a call to appendRows, so a Store that is
// dropped without Close leaks no pins. The blocks hold no Go pointers.
type stringArena struct {
	blocks [][]byte
	cur    int  // block being filled
	used   int  // bytes used in blocks[cur]
	pinned bool // blocks[cur] is pinned
	pin    runtime.Pinner
}

const (
	arenaBlock = 64 << 10
	arenaKeep  = 1 << 20 // bytes of blocks kept between rounds
)

// add copies s (not empty) into the arena and returns the copy's address.
func (a *stringArena) add(s string) unsafe.Pointer {
	if a.cur >= len(a.blocks) || a.used+len(s) > len(a.blocks[a.cur]) {
		a.next(len(s))
	}
	b := a.blocks[a.cur]
	if !a.pinned {
		a.pin.Pin(&b[0])
		a.pinned = true
	}
	copy(b[a.used:], s)
	p := unsafe.Pointer(&b[a.used])
	a.used += len(s)
	return p
}

// next moves to a block with room for n bytes: the next one when the
// current one holds strings of this round, else the current one, replaced
// when too small (it is not pinned then, so nothing pinned is dropped).
func (a *stringArena) next(n int) {
	if a.pinned {
		a.cur++
	}
	a.used, a.pinned = 0, false
	if a.cur == len(a.blocks) {
		a.blocks = append(a.blocks, nil)
	}
	if len(a.blocks[a.cur]) < n {
		a.blocks[a.cur] = make([]byte, max(n, arenaBlock))
	}
}

// release unpins the arena and empties it for the next round. It must only
// run once DuckDB no longer reads the strings.
func (a *stringArena) release() {
	a.pin.Unpin()
	a.cur, a.used, a.pinned = 0, 0, false
	kept := 0
	for i, b := range a.blocks {
		kept += len(b)
		if kept > arenaKeep {
			clear(a.blocks[i:])
			a.blocks = a.blocks[:i]
			break
		}
	}
}

// layout says which duckdb_string_t forms Go may write.
type layout struct{ inline, pointer bool }

// stringLayout checks the layout once per process.
var stringLayout = sync.OnceValue(probeStringLayout)

// probeStringLayout asks DuckDB to store strings of every inlinable length,
// and some longer ones, in a VARCHAR vector and compares the bytes with what
// inlineString and pointerString write. For the pointer form it compares the
// length and prefix, and checks that the pointer points at the string.
func probeStringLayout() layout {
	short := []string{"é", "ab\x00cd", "日本語", "€€€€", "🙂🙂🙂"}
	for n := 0; n <= stringInlineLen; n++ {
		short = append(short, "0123456789ab"[:n])
	}
	long := []string{"0123456789abc", "日本語日本a", "/api/v1/endpoint/42", strings.Repeat("€", 100)}
	t := bindings.CreateLogicalType(bindings.TypeVarchar)
	defer bindings.DestroyLogicalType(&t)
	chunk := bindings.CreateDataChunk([]bindings.LogicalType{t})
	defer bindings.DestroyDataChunk(&chunk)
	vec := bindings.DataChunkGetVector(chunk, 0)
	n := len(short) + len(long)
	if int(bindings.VectorSize()) < n {
		return layout{}
	}
	// The buffer holds VectorSize() >= n string_t values.
	data := unsafe.Slice((*duckString)(bindings.VectorGetData(vec)), n)
	l := layout{inline: true, pointer: unsafe.Sizeof(uintptr(0)) == 8}
	for i, s := range short {
		bindings.VectorAssignStringElement(vec, bindings.IdxT(i), s)
		if data[i] != inlineString(s) {
			l.inline = false
		}
	}
	for j, s := range long {
		i := len(short) + j
		bindings.VectorAssignStringElement(vec, bindings.IdxT(i), s)
		if !l.pointer {
			break
		}
		// Everything but the pointer must match; the pointer (C memory,
		// aligned: the buffer is, and elements are 16 bytes) must point at
		// the string.
		p := *(*unsafe.Pointer)(unsafe.Pointer(&data[i][8]))
		want := pointerString(s, 0)
		if p == nil || [8]byte(data[i][:8]) != [8]byte(want[:8]) || unsafe.String((*byte)(p), len(s)) != s {
			l.pointer = false
		}
	}
	return l
}

// appendError returns the appender's error.
func appendError(app bindings.Appender) error {
	return errors.New(bindings.AppenderError(app))
}
