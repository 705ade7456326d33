package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// compressedBatch builds a batch whose records are compressed with codec
// (1 gzip, 4 zstd), as a producer would send it.
func compressedBatch(t *testing.T, codec int16, n int) []byte {
	t.Helper()
	ts := make([]int64, n)
	values := make([][]byte, n)
	for i := range n {
		ts[i], values[i] = 5000, bytes.Repeat([]byte("chronik "), 20)
	}
	return compressedRecords(codec, 5000, ts, values)
}

// Compressed batches are stored as sent and served back byte-identical
// (only the base offset, which lies outside the CRC, is the broker's).
func TestCompressedBatchesServedByteIdentical(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "asis", 1)
	cl := fetchClient(tb)
	gz := compressedBatch(t, 1, 10)
	zs := compressedBatch(t, 4, 7)
	for _, b := range [][]byte{gz, zs} {
		if p := produceRaw(t, cl, "asis", 0, 11, b); p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq("asis", 0, 0, 1, 0, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0].Partitions[0].RecordBatches
	if len(got) != len(gz)+len(zs) {
		t.Fatalf("fetched %d bytes, sent %d", len(got), len(gz)+len(zs))
	}
	if !bytes.Equal(got[12:len(gz)], gz[12:]) || !bytes.Equal(got[len(gz)+12:], zs[12:]) {
		t.Fatal("stored batches differ from what was sent")
	}
	if off := binary.BigEndian.Uint64(got[len(gz):]); off != 10 {
		t.Fatalf("second batch base offset %d, want 10", off)
	}

	// And a real consumer decompresses them.
	cons := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"asis": {0: kgo.NewOffset().AtStart()}}))
	n := 0
	for n < 17 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 17", n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		n += fs.NumRecords()
	}
}
