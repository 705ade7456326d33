package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// rawRecord encodes one record with a null key, value and the header
// section given as raw bytes (count, then headers), well formed or not.
func rawRecord(offsetDelta int, value, headerSection []byte) []byte {
	body := []byte{0}                   // attributes
	body = binary.AppendVarint(body, 0) // timestamp delta
	body = binary.AppendVarint(body, int64(offsetDelta))
	body = binary.AppendVarint(body, -1) // null key
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = append(body, headerSection...)
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// headerSection is a header count followed by fields, each a varint length
// and, for a length above 0, that many bytes of 'h'.
func headerSection(count int64, fieldLengths ...int64) []byte {
	b := binary.AppendVarint(nil, count)
	for _, l := range fieldLengths {
		b = binary.AppendVarint(b, l)
		if l > 0 {
			b = append(b, bytes.Repeat([]byte("h"), int(l))...)
		}
	}
	return b
}

// Records whose headers a consumer cannot decode are refused with
// INVALID_RECORD, as Kafka's DefaultRecord.readFrom refuses them, in plain
// and compressed batches and in records longer than the streamed walk's
// window. Before, they were stored: a franz-go consumer then skipped such a
// record silently, and the Java consumer stops at it.
func TestRecordHeadersAreChecked(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "hdr", 1)
	cl := fetchClient(tb)
	now := time.Now().UnixMilli()
	short, long := []byte("v"), bytes.Repeat([]byte("x"), 100<<10)
	good := []struct {
		name    string
		headers []byte
	}{
		{"no headers", headerSection(0)},
		{"key and value", headerSection(1, 1, 2)},
		{"empty key, null value", headerSection(1, 0, -1)},
		{"two headers", headerSection(2, 1, 1, 3, 0)},
		{"value length -2, which Kafka reads as null", headerSection(1, 1, -2)},
	}
	bad := []struct {
		name    string
		headers []byte
	}{
		{"count 3, no headers", headerSection(3)},
		{"count -7", headerSection(-7)},
		{"3 bytes past the headers", append(headerSection(0), 1, 2, 3)},
		{"3 bytes past the last header", append(headerSection(1, 1, 1), 1, 2, 3)},
		{"null header key", headerSection(1, -1, 0)},
		{"header key -5", headerSection(1, -5, 0)},
		{"header value past the record", append(headerSection(1, 1), binary.AppendVarint(nil, 50)...)},
		{"second header missing", headerSection(2, 1, 1)},
	}
	var stored int64
	for _, codec := range []int16{0, 1, 4} {
		for _, value := range [][]byte{short, long} {
			for _, c := range good {
				name := fmt.Sprintf("codec %d, %d-byte value, %s", codec, len(value), c.name)
				raw := batchOfRecords(codec, now, 1, rawRecord(0, value, c.headers))
				if p := produceRaw(t, cl, "hdr", 0, 11, raw); p.ErrorCode != 0 {
					t.Fatalf("%s: %v, want success", name, kerr.ErrorForCode(p.ErrorCode))
				}
				stored++
			}
			for _, c := range bad {
				name := fmt.Sprintf("codec %d, %d-byte value, %s", codec, len(value), c.name)
				// The bad record second, behind a good one.
				recs := append(rawRecord(0, short, headerSection(0)), rawRecord(1, value, c.headers)...)
				raw := batchOfRecords(codec, now, 2, recs)
				if p := produceRaw(t, cl, "hdr", 0, 11, raw); p.ErrorCode != kerr.InvalidRecord.Code {
					t.Errorf("%s: %v, want INVALID_RECORD", name, kerr.ErrorForCode(p.ErrorCode))
				}
			}
		}
	}
	ends, err := tb.admin().ListEndOffsets(adminCtx(t), "hdr")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("hdr", 0); e.Offset != stored {
		t.Fatalf("log ends at %d, want %d: only the well-formed batches stored", e.Offset, stored)
	}
}

// A compressed batch whose records all carry offset delta 0 is rebuilt
// with deltas 0, 1, 2, as Kafka rebuilds it: a consumer reads every record
// at its own offset. Before, it was stored as sent and franz-go returned
// the first record and then the next batch's, losing the others.
func TestCompressedBatchWithZeroOffsetDeltasIsRenumbered(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "renum", 1)
	cl := fetchClient(tb)
	now := time.Now().UnixMilli()
	for _, codec := range []int16{1, 4} {
		var recs []byte
		for _, v := range []string{"a", "b", "c"} {
			recs = append(recs, rawRecord(0, []byte(v), headerSection(0))...)
		}
		if p := produceRaw(t, cl, "renum", 0, 11, batchOfRecords(codec, now, 3, recs)); p.ErrorCode != 0 {
			t.Fatalf("codec %d: %v", codec, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	var got []string
	for _, r := range consumeAll(t, tb, "renum") {
		got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	if want := "[0:a 1:b 2:c 3:a 4:b 5:c]"; fmt.Sprint(got) != want {
		t.Fatalf("consumed %v, want %s", got, want)
	}
	// The rebuild decodes the batch whole on the network loop, so it is
	// bounded as a recompressing shard is (16 × max.message.bytes): a
	// small batch of zeros cannot make it decode hundreds of MiB.
	var zeros []byte
	zero := make([]byte, 1024)
	for range 17000 {
		zeros = append(zeros, rawRecord(0, zero, headerSection(0))...)
	}
	if p := produceRaw(t, cl, "renum", 0, 11, batchOfRecords(4, now, 17000, zeros)); p.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("17 MiB of zeros to renumber: %v, want MESSAGE_TOO_LARGE", kerr.ErrorForCode(p.ErrorCode))
	}
}

// An uncompressed batch whose records all carry offset delta 0, sent to a
// topic whose compression.type recompresses it, is stored renumbered, as
// Kafka builds such a batch anew; kept uncompressed it is stored as sent,
// as Kafka stores it. Before, the recompressed batch kept the deltas and a
// franz-go consumer read only its first record.
func TestRecompressedBatchWithZeroOffsetDeltasIsRenumbered(t *testing.T) {
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": kadm.StringPtr("gzip")}, "renum-gzip"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	var recs []byte
	for _, v := range []string{"a", "b", "c"} {
		recs = append(recs, rawRecord(0, []byte(v), headerSection(0))...)
	}
	if p := produceRaw(t, cl, "renum-gzip", 0, 11, batchOfRecords(0, time.Now().UnixMilli(), 3, recs)); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	var got []string
	for _, r := range consumeAll(t, tb, "renum-gzip") {
		got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	if want := "[0:a 1:b 2:c]"; fmt.Sprint(got) != want {
		t.Fatalf("consumed %v, want %s", got, want)
	}
	if codecs := storedCodecs(t, tb, "renum-gzip"); fmt.Sprint(codecs) != "[1]" {
		t.Fatalf("stored codecs %v, want [1] (gzip)", codecs)
	}
}
