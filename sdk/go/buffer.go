package alidade

// The buffer is a queue of chunks. Write appends points to the active chunk;
// a full chunk (BatchSize points or about 1 MB) is sealed and queued, and the
// background goroutine sends the queued chunks one at a time, oldest first.
// A chunk copies everything of a point into three arenas (bytes, blob
// lengths, doubles), so the buffer holds no pointer into the caller's memory
// and, once the chunks are recycled, Write allocates nothing.

// rec is one buffered point. Its strings are consecutive in chunk.strs: the
// dataset, the index, then the blobs, whose lengths are in chunk.lens.
type rec struct {
	ts     int64  // Unix milliseconds
	str    uint32 // offset of the dataset in chunk.strs
	lens   uint32 // offset of the blob lengths in chunk.lens
	dbl    uint32 // offset of the doubles in chunk.dbls
	size   uint32 // bytes accounted to the buffer
	dsLen  uint8
	idxLen uint8
	nBlobs uint8
	nDbls  uint8
}

type chunk struct {
	recs []rec
	head int // recs[:head] were dropped (DropOldest)
	strs []byte
	lens []uint32
	dbls []float64
	// bytes is the accounted size of the live records.
	bytes int
	// seq is the sequence number of recs[0]; record i has seq+i.
	seq uint64
}

// live returns the number of records not dropped.
func (ch *chunk) live() int { return len(ch.recs) - ch.head }

func (ch *chunk) reset() {
	ch.recs = ch.recs[:0]
	ch.head = 0
	ch.strs = ch.strs[:0]
	ch.lens = ch.lens[:0]
	ch.dbls = ch.dbls[:0]
	ch.bytes = 0
}

// add copies a point (already checked) into the chunk.
func (ch *chunk) add(seq uint64, dataset string, ts int64, p *Point, size int) {
	if len(ch.recs) == 0 {
		ch.seq = seq
	}
	r := rec{
		ts:     ts,
		str:    uint32(len(ch.strs)),
		lens:   uint32(len(ch.lens)),
		dbl:    uint32(len(ch.dbls)),
		size:   uint32(size),
		dsLen:  uint8(len(dataset)),
		idxLen: uint8(len(p.Index)),
		nBlobs: uint8(len(p.Blobs)),
		nDbls:  uint8(len(p.Doubles)),
	}
	ch.strs = append(ch.strs, dataset...)
	ch.strs = append(ch.strs, p.Index...)
	for _, b := range p.Blobs {
		ch.strs = append(ch.strs, b...)
		ch.lens = append(ch.lens, uint32(len(b)))
	}
	ch.dbls = append(ch.dbls, p.Doubles...)
	ch.recs = append(ch.recs, r)
	ch.bytes += size
}

// dropHead drops the oldest live record and returns its size.
func (ch *chunk) dropHead() int {
	size := int(ch.recs[ch.head].size)
	ch.head++
	ch.bytes -= size
	if ch.head == len(ch.recs) {
		ch.reset()
	}
	return size
}

// headSeq returns the sequence number of the oldest live record.
func (ch *chunk) headSeq() uint64 { return ch.seq + uint64(ch.head) }

// view is a decoded record, pointing into the chunk's arenas.
type view struct {
	ts      int64
	dataset []byte
	index   []byte
	blobs   []byte // the blobs, back to back
	lens    []uint32
	doubles []float64
}

func (ch *chunk) view(i int) view {
	r := &ch.recs[i]
	s := int(r.str)
	v := view{ts: r.ts}
	v.dataset = ch.strs[s : s+int(r.dsLen)]
	s += int(r.dsLen)
	v.index = ch.strs[s : s+int(r.idxLen)]
	s += int(r.idxLen)
	v.lens = ch.lens[r.lens : r.lens+uint32(r.nBlobs)]
	n := 0
	for _, l := range v.lens {
		n += int(l)
	}
	v.blobs = ch.strs[s : s+n]
	v.doubles = ch.dbls[r.dbl : r.dbl+uint32(r.nDbls)]
	return v
}
