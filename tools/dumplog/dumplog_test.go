package dumplog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
)

// A segment whose length field announces ~2 GiB, in a file of 100 bytes,
// is reported as a torn tail without reading (or allocating) the size it
// announces.
func TestHugeLengthFieldIsATornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	data := make([]byte, 100)
	binary.BigEndian.PutUint32(data[8:], 0x7fffff00)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out bytes.Buffer
	err := Path(&out, path, Options{})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("dumping a 100-byte file allocated %d MiB", grew>>20)
	}
	if err == nil || !strings.Contains(out.String(), "runs past the end") {
		t.Fatalf("err %v, output:\n%s", err, out.String())
	}
}

// Arbitrary segment and index bytes, and arbitrary records in a batch whose
// CRC holds, are reported, never a panic.
func FuzzDumpFiles(f *testing.F) {
	seed := make([]byte, batch.HeaderSize+20)
	binary.BigEndian.PutUint32(seed[8:], uint32(len(seed)-batch.LengthFieldEnd))
	seed[16] = 2
	binary.BigEndian.PutUint32(seed[57:], 1)
	f.Add(seed, byte(1))
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		dir := t.TempDir()
		if len(data) >= batch.HeaderSize && mode&4 != 0 {
			// A CRC that holds, so the records are decoded.
			data = bytes.Clone(data)
			data[16] = 2
			binary.BigEndian.PutUint32(data[17:], crc32.Checksum(data[21:], crc32.MakeTable(crc32.Castagnoli)))
		}
		o := Options{Records: true, OffsetsDecoder: mode&1 != 0, TransactionLogDecoder: mode&2 != 0}
		for _, name := range []string{"00000000000000000005.log", "00000000000000000005.index", "00000000000000000005.timeindex", "0000000000000001-0000.wal"} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_ = Path(io.Discard, path, o)
		}
	})
}
