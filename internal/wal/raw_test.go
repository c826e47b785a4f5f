package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestRawAppendReplay: an opaque log's payloads come back as appended,
// across segments and a reopen, from any position; a torn last record is
// cut off at Open; a log of batches refuses opaque records at Open.
func TestRawAppendReplay(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, SegmentBytes: 1024, Opaque: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want [][]byte
	var positions []Pos
	for i := range 40 {
		p := bytes.Repeat([]byte{byte(i)}, 50+i*3)
		if _, err := l.AppendFramed(ctx, append(ReserveFrame(nil), p...)); err != nil {
			t.Fatal(err)
		}
		pos, err := l.AppendRaw(ctx, []byte(fmt.Sprintf("second %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p, []byte(fmt.Sprintf("second %d", i)))
		positions = append(positions, pos)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A write cut short at the end.
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(AppendFrame(nil, []byte("torn record"))[:12])
	f.Close()

	l, err = Open(Options{Dir: dir, SegmentBytes: 1024, Opaque: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.AppendFramed(ctx, []byte{1, 2}); err == nil {
		t.Error("AppendFramed took a record without a reserved frame")
	}
	if l.Recovered() != 12 {
		t.Errorf("Recovered = %d, want the 12 torn bytes", l.Recovered())
	}
	replay := func(from Pos) [][]byte {
		var got [][]byte
		last := from
		if err := l.ReplayRaw(from, func(pos Pos, p []byte) error {
			if !last.Less(pos) {
				t.Fatalf("position %v after %v", pos, last)
			}
			last = pos
			got = append(got, bytes.Clone(p))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := replay(Pos{}); !equalPayloads(got, want) {
		t.Fatalf("replayed %d payloads, want %d (or they differ)", len(got), len(want))
	}
	if got := replay(positions[29]); !equalPayloads(got, want[60:]) {
		t.Fatalf("replayed from the 30th append: %d payloads, want %d", len(got), len(want)-60)
	}
	stop := errors.New("stop")
	if err := l.ReplayRaw(Pos{}, func(Pos, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ReplayRaw = %v, want fn's error", err)
	}
	if _, err := Open(Options{Dir: dir, SegmentBytes: 1024}); err == nil {
		t.Error("a log of batches opened a log of opaque records")
	}
}

func equalPayloads(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
