package engine

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// compressedRecords builds an uncompressed (0), gzip (1) or zstd (4) batch
// of records with the given timestamps and values, record i keyed byte(i);
// header is what the batch claims as first and max timestamp.
func compressedRecords(codec int16, header int64, ts []int64, values [][]byte) []byte {
	var recs []byte
	for i := range ts {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: ts[i] - header, Key: []byte{byte(i)}, Value: values[i]}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	return batchOfRecords(codec, header, int32(len(ts)), recs)
}

// batchOfRecords builds a batch of n records from their encoded bytes, as
// given, compressed with codec (0 none, 1 gzip, 4 zstd).
func batchOfRecords(codec int16, header int64, n int32, recs []byte) []byte {
	var buf bytes.Buffer
	switch codec {
	case 0:
		buf.Write(recs)
	case 1:
		w := gzip.NewWriter(&buf)
		w.Write(recs)
		w.Close()
	case 4:
		w, _ := zstd.NewWriter(&buf)
		w.Write(recs)
		w.Close()
	}
	rb := kmsg.RecordBatch{Magic: 2, Attributes: codec, LastOffsetDelta: n - 1, FirstTimestamp: header, MaxTimestamp: header,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: n, Records: buf.Bytes()}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// Compressed batches are checked like uncompressed ones on every topic, as
// Kafka streams each through its decompressor: a record count the records
// do not match is INVALID_RECORD, a record timestamp out of bounds
// INVALID_TIMESTAMP whatever the header says, and a header max timestamp
// below the records' is corrected. Before, off compacted topics the header
// was taken on trust: a gzip batch claiming 5 records of its 2 moved the log
// end by 5.
func TestCompressedBatchesAreWalked(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "walked"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	now := time.Now().UnixMilli()
	v := []byte(strings.Repeat("value ", 20))
	lying := compressedRecords(1, now, []int64{now, now}, [][]byte{v, v})
	binary.BigEndian.PutUint32(lying[23:], 4) // lastOffsetDelta
	binary.BigEndian.PutUint32(lying[57:], 5) // record count
	binary.BigEndian.PutUint32(lying[17:], crc32.Checksum(lying[21:], crc32.MakeTable(crc32.Castagnoli)))
	if p := produceRaw(t, cl, "walked", 0, 11, lying); p.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("gzip batch counting 5 of its 2 records: %v, want INVALID_RECORD", kerr.ErrorForCode(p.ErrorCode))
	}
	future := compressedRecords(4, now, []int64{now, now + 2*3600_000}, [][]byte{v, v})
	if p := produceRaw(t, cl, "walked", 0, 11, future); p.ErrorCode != kerr.InvalidTimestamp.Code {
		t.Fatalf("zstd record 2 hours ahead under a header saying now: %v, want INVALID_TIMESTAMP", kerr.ErrorForCode(p.ErrorCode))
	}
	good := compressedRecords(1, now, []int64{now, now + 7}, [][]byte{v, v})
	if p := produceRaw(t, cl, "walked", 0, 11, good); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("good gzip batch: %v at %d, want offset 0", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	resp, err := fetchReq("walked", 0, 0, 1, 0, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.HighWatermark != 2 {
		t.Fatalf("log end %d after one 2-record batch, want 2", p.HighWatermark)
	}
	if maxTS := int64(binary.BigEndian.Uint64(p.RecordBatches[35:])); maxTS != now+7 {
		t.Fatalf("stored header max timestamp %d, want the records' largest %d", maxTS, now+7)
	}
}

// A topic that recompresses (compression.type) refuses, with
// MESSAGE_TOO_LARGE, a batch that decompresses past 16 times
// max.message.bytes: the owning shard would otherwise spend seconds
// inflating and recompressing a few KiB of zeros while its other
// partitions wait. A topic that stores batches as sent takes it, as Kafka.
func TestRecompressingTopicBoundsDecompressedSize(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": kadm.StringPtr("gzip")}, "recompress"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "as-sent"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	now := time.Now().UnixMilli()
	zeros := make([]byte, 20<<20) // past 16 × 1 MiB
	bomb := compressedRecords(4, now, []int64{now}, [][]byte{zeros})
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes; want a small batch", len(bomb))
	}
	p := produceRaw(t, cl, "recompress", 0, 11, bomb)
	if p.ErrorCode != kerr.MessageTooLarge.Code || p.ErrorMessage == nil || !strings.Contains(*p.ErrorMessage, "compression.type") {
		t.Fatalf("20 MiB of zeros in %d bytes to a recompressing topic: %v (%v), want MESSAGE_TOO_LARGE saying why", len(bomb), kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage)
	}
	if p := produceRaw(t, cl, "as-sent", 0, 11, bomb); p.ErrorCode != 0 {
		t.Fatalf("the same batch stored as sent: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	small := compressedRecords(4, now, []int64{now}, [][]byte{make([]byte, 100<<10)})
	if p := produceRaw(t, cl, "recompress", 0, 11, small); p.ErrorCode != 0 {
		t.Fatalf("100 KiB of zeros to the recompressing topic: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}
