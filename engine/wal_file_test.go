package engine

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/engine/walfile"
	"github.com/chronik-go/chronik/uring"
)

// WAL entries read back as written; reading stops cleanly at the zeroed
// rest of the file and at entries of an older generation (a recycled
// file), and reports a torn last entry while keeping the ones before it.
func TestWALFileReadsBackWhatWasAppended(t *testing.T) {
	w := newShardWAL(walTestBroker(t), 3)
	idA, idB := meta.TopicID{1}, meta.TopicID{2}
	batch := func(n int) []byte { return rawBatch(n, -1, -1, -1) }
	jobs := [][]walItem{
		{{key: partKey{"alpha", 0}, topicID: idA, batches: [][]byte{batch(1), batch(2)}}},
		{{key: partKey{"beta", 7}, topicID: idB, batches: [][]byte{batch(3)}}, {key: partKey{"alpha", 1}, topicID: idA, batches: [][]byte{batch(4)}}},
	}
	if err := w.appendItems(jobs); err != nil {
		t.Fatal(err)
	}
	path, gen := w.name, w.gen
	w.close()

	want := []walItem{
		{key: partKey{"alpha", 0}, topicID: idA, batches: [][]byte{batch(1)}},
		{key: partKey{"alpha", 0}, topicID: idA, batches: [][]byte{batch(2)}},
		{key: partKey{"beta", 7}, topicID: idB, batches: [][]byte{batch(3)}},
		{key: partKey{"alpha", 1}, topicID: idA, batches: [][]byte{batch(4)}},
	}
	same := func(got []walItem, want []walItem) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].key != want[i].key || got[i].topicID != want[i].topicID || !bytes.Equal(got[i].batches[0], want[i].batches[0]) {
				return false
			}
		}
		return true
	}
	got, torn, err := readWALFile(path, gen)
	if err != nil || torn != "" || !same(got, want) {
		t.Fatalf("read back %d items (torn %q, err %v), want the %d appended", len(got), torn, err, len(want))
	}
	if got, torn, _ := readWALFile(path, gen+1); len(got) != 0 || torn != "" {
		t.Fatalf("entries of generation %d read as generation %d: %d items, torn %q", gen, gen+1, len(got), torn)
	}

	// Cut the file inside the second entry: the first stays, the cut is reported.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := walfile.EntryHeaderSize + 2*(walfile.ItemHeaderSize+len("alpha")) + len(batch(1)) + len(batch(2))
	cut := filepath.Join(t.TempDir(), "cut.wal")
	if err := os.WriteFile(cut, data[:first+walfile.EntryHeaderSize+10], 0o644); err != nil {
		t.Fatal(err)
	}
	got, torn, err = readWALFile(cut, gen)
	if err != nil || torn == "" || !same(got, want[:2]) {
		t.Fatalf("torn file: %d items, torn %q, err %v; want the first entry's 2 items and a reason", len(got), torn, err)
	}
	// A flipped byte in the second entry's body fails its CRC.
	data[first+walfile.EntryHeaderSize+30] ^= 0xff
	if err := os.WriteFile(cut, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, torn, _ := readWALFile(cut, gen); torn == "" || !same(got, want[:2]) {
		t.Fatalf("corrupt entry: %d items, torn %q; want the first entry's items and a reason", len(got), torn)
	}
}

// walTestBroker is just enough of a Broker for a shardWAL: defaults with a
// 1 MiB checkpoint, pwrite files and an open data directory.
func walTestBroker(t *testing.T) *Broker {
	t.Helper()
	cfg := config.Defaults()
	cfg.WALCheckpointBytes = 1 << 20
	b := &Broker{cfg: cfg, opener: uring.PwriteOpener{}, dataDir: t.TempDir(), syncfs: syncFilesystem, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if b.dataDirFile, err = os.Open(b.dataDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.dataDirFile.Close() })
	return b
}

// A group of entries larger than the zeros ahead of them (a new file's
// first 8 MiB, then 4 MiB ahead) goes past the zero-filled end; the next
// stretch of zeros starts after the entries, never over them.
func TestWALZerosNeverOverwriteEntries(t *testing.T) {
	b := walTestBroker(t)
	b.cfg.WALCheckpointBytes = 64 << 20
	w := newShardWAL(b, 0)
	big := rawBatch(6000, -1, -1, -1) // about 50 KB
	group := func(n int) [][]walItem {
		batches := make([][]byte, n)
		for i := range batches {
			batches[i] = big
		}
		return [][]walItem{{{key: partKey{"alpha", 0}, topicID: meta.TopicID{1}, batches: batches}}}
	}
	first, second := 5<<20/len(big), 13<<20/len(big)
	for _, n := range []int{first, second, 1} {
		if err := w.appendItems(group(n)); err != nil {
			t.Fatal(err)
		}
	}
	path, gen := w.name, w.gen
	w.close()
	got, torn, err := readWALFile(path, gen)
	if err != nil || torn != "" || len(got) != first+second+1 {
		t.Fatalf("read back %d items (torn %q, err %v), want the %d appended", len(got), torn, err, first+second+1)
	}
}
