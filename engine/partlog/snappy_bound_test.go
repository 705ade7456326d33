package partlog

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// A snappy block whose header claims far more than its bytes could decode
// to is refused before the decoder allocates the claim; the most
// compressible real block (zeros) still decodes.
func TestSnappyBlockClaimBounded(t *testing.T) {
	lie := binary.AppendUvarint(nil, maxDecompressedBytes-1)
	lie = append(lie, 0, 0, 0, 0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decompress(2, lie)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a 9-byte block claiming 256 MiB decoded")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing the block allocated %d MiB", grew>>20)
	}
	zeros := make([]byte, 8<<20)
	out, err := decompress(2, snappy.Encode(nil, zeros))
	if err != nil || len(out) != len(zeros) {
		t.Fatalf("8 MiB of zeros: %d bytes, %v", len(out), err)
	}
}
