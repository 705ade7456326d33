package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// rawBatch builds a magic-2 batch of n small records the way a producer
// does, with a correct CRC.
func rawBatch(n int, pid int64, epoch int16, seq int32) []byte {
	return rawBatchAt(n, pid, epoch, seq, 1000)
}

// rawBatchAt is rawBatch with its first record at timestamp ts (ms).
func rawBatchAt(n int, pid int64, epoch int16, seq int32, ts int64) []byte {
	rb := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: ts, MaxTimestamp: ts + int64(n) - 1,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(n),
	}
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Value: []byte("v")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb.Records = recs
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// produceRaw sends one batch to one partition and returns the partition answer.
func produceRaw(t *testing.T, cl *kgo.Client, topic string, part int32, version int16, raw []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	p, err := tryProduceRaw(cl, topic, part, version, raw)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	return p
}

// produceRequestOf is a produce request of one batch, raw, to partition
// part of topic, with acks and a 5 s timeout.
func produceRequestOf(topic string, part int32, acks int16, raw []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = part
	rp.Records = raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// tryProduceRaw is produceRaw returning its error, for use off the test's
// goroutine.
func tryProduceRaw(cl *kgo.Client, topic string, part int32, version int16, raw []byte) (kmsg.ProduceResponseTopicPartition, error) {
	req := produceRequestOf(topic, part, -1, raw)
	req.Version = version
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return kmsg.ProduceResponseTopicPartition{}, err
	}
	return resp.Topics[0].Partitions[0], nil
}

func createTestTopic(t testing.TB, tb *testBroker, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := tb.admin().CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, res.Err)
	}
}

func TestProduceIdempotence(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "idem", 1)
	cl := tb.client()

	f := func(raw []byte, wantCode int16, wantOffset int64) {
		t.Helper()
		p := produceRaw(t, cl, "idem", 0, 11, raw)
		if p.ErrorCode != wantCode {
			t.Fatalf("error code %v, want %v", kerr.ErrorForCode(p.ErrorCode), kerr.ErrorForCode(wantCode))
		}
		if wantCode == 0 && p.BaseOffset != wantOffset {
			t.Fatalf("base offset %d, want %d", p.BaseOffset, wantOffset)
		}
	}
	f(rawBatch(3, 7, 0, 0), 0, 0)                                   // seq 0-2 -> offsets 0-2
	f(rawBatch(2, 7, 0, 3), 0, 3)                                   // seq 3-4 -> offsets 3-4
	f(rawBatch(3, 7, 0, 0), 0, 0)                                   // duplicate of the first batch: original offset
	f(rawBatch(2, 7, 0, 3), 0, 3)                                   // duplicate of the last batch
	f(rawBatch(1, 7, 0, 9), kerr.OutOfOrderSequenceNumber.Code, -1) // gap
	f(rawBatch(1, 7, 1, 5), kerr.OutOfOrderSequenceNumber.Code, -1) // new epoch must start at 0
	f(rawBatch(1, 7, 1, 0), 0, 5)                                   // new epoch from 0
	f(rawBatch(1, 7, 0, 5), kerr.InvalidProducerEpoch.Code, -1)     // fenced old epoch
	f(rawBatch(1, -1, -1, -1), 0, 6)                                // non-idempotent batches are not checked

	// Producer state survives a restart: the duplicate still gets its offset,
	// the next sequence continues.
	tb.restart()
	cl = tb.client()
	f = func(raw []byte, wantCode int16, wantOffset int64) {
		t.Helper()
		p := produceRaw(t, cl, "idem", 0, 11, raw)
		if p.ErrorCode != wantCode || (wantCode == 0 && p.BaseOffset != wantOffset) {
			t.Fatalf("after restart: code %v offset %d, want %v offset %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, kerr.ErrorForCode(wantCode), wantOffset)
		}
	}
	f(rawBatch(1, 7, 1, 0), 0, 5)
	f(rawBatch(1, 7, 1, 1), 0, 7)
	f(rawBatch(1, 7, 1, 5), kerr.OutOfOrderSequenceNumber.Code, -1)
}

func TestProduceSequenceWraps(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "wrap", 1)
	cl := tb.client()
	if p := produceRaw(t, cl, "wrap", 0, 11, rawBatch(2, 9, 0, 2147483646)); p.ErrorCode != 0 {
		t.Fatalf("batch ending at INT32_MAX: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := produceRaw(t, cl, "wrap", 0, 11, rawBatch(1, 9, 0, 0)); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("sequence after INT32_MAX must wrap to 0: %v offset %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
}

func TestProduceBadInput(t *testing.T) {
	tb := startBroker(t, "message.max.bytes=2000")
	createTestTopic(t, tb, "bad", 1)
	cl := tb.client()

	f := func(name string, version int16, topic string, raw []byte, want int16) {
		t.Helper()
		p := produceRaw(t, cl, topic, 0, version, raw)
		if p.ErrorCode != want {
			t.Fatalf("%s: got %v, want %v", name, kerr.ErrorForCode(p.ErrorCode), kerr.ErrorForCode(want))
		}
	}
	good := rawBatch(2, -1, -1, -1)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	truncated := good[:len(good)-3]
	badMagic := append([]byte(nil), good...)
	badMagic[16] = 1
	twoBatches := append(append([]byte(nil), good...), good...)
	badCodec := append([]byte(nil), good...)
	badCodec[22] |= 0x07
	binary.BigEndian.PutUint32(badCodec[17:], crc32.Checksum(badCodec[21:], crc32.MakeTable(crc32.Castagnoli)))

	f("wrong CRC", 11, "bad", badCRC, kerr.CorruptMessage.Code)
	f("truncated batch", 11, "bad", truncated, kerr.InvalidRecord.Code)
	f("magic 1", 11, "bad", badMagic, kerr.InvalidRecord.Code)
	f("two batches", 11, "bad", twoBatches, kerr.InvalidRecord.Code)
	f("unknown codec", 11, "bad", badCodec, kerr.UnsupportedCompressionType.Code)
	f("too large", 11, "bad", rawBatch(400, -1, -1, -1), kerr.MessageTooLarge.Code)

	// Batches whose header and CRC are fine but whose records are not what
	// the header counts: offsets would be assigned from a lie.
	recrc := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	withCount := func(n int32) []byte {
		b := rawBatch(1, -1, -1, -1)
		binary.BigEndian.PutUint32(b[23:], uint32(n-1)) // lastOffsetDelta
		binary.BigEndian.PutUint32(b[57:], uint32(n))   // record count
		return recrc(b)
	}
	trailing := append(rawBatch(1, -1, -1, -1), 1, 2, 3, 4, 5)
	binary.BigEndian.PutUint32(trailing[8:], uint32(len(trailing)-12))
	logAppendTime := append([]byte(nil), good...)
	logAppendTime[22] |= 0x08
	f("count says 2, holds 1", 11, "bad", withCount(2), kerr.InvalidRecord.Code)
	f("count says 2^30, holds 1", 11, "bad", withCount(1<<30), kerr.InvalidRecord.Code)
	f("bytes past the last record", 11, "bad", recrc(trailing), kerr.InvalidRecord.Code)
	f("producer claims LogAppendTime", 11, "bad", recrc(logAppendTime), kerr.InvalidTimestamp.Code)
	// Damage inside the CRC's range is CORRUPT_MESSAGE (retriable), not an
	// error about the field it hit; Kafka checks the CRC first too.
	damagedCount := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(damagedCount[57:], 9)
	f("record count damaged in transit", 11, "bad", damagedCount, kerr.CorruptMessage.Code)
	damagedCodec := append([]byte(nil), good...)
	damagedCodec[22] |= 0x07
	f("codec bits damaged in transit", 11, "bad", damagedCodec, kerr.CorruptMessage.Code)
	// As Kafka: a client's batch starts at offset 0, an idempotent one at
	// sequence 0 or later.
	baseOffset := append([]byte(nil), good...)
	binary.BigEndian.PutUint64(baseOffset[0:], 5)
	f("base offset 5", 11, "bad", baseOffset, kerr.InvalidRecord.Code)
	f("idempotent batch at sequence -1", 11, "bad", rawBatch(1, 50, 0, -1), kerr.InvalidRecord.Code)
	f("idempotent batch at sequence -5", 11, "bad", rawBatch(3, 51, 0, -5), kerr.InvalidRecord.Code)
	zstdBatch := zstdRawBatch(t, 2)
	v6 := kversion.Stable()
	v6.SetMaxKeyVersion(0, 6)
	if p := produceRaw(t, tb.client(kgo.MaxVersions(v6)), "bad", 0, 6, zstdBatch); p.ErrorCode != kerr.UnsupportedCompressionType.Code {
		t.Fatalf("zstd at produce v6: got %v, want UNSUPPORTED_COMPRESSION_TYPE", kerr.ErrorForCode(p.ErrorCode))
	}
	f("unknown topic", 11, "nope", good, kerr.UnknownTopicOrPartition.Code)
	old := kversion.Stable()
	old.SetMaxKeyVersion(0, 2)
	if p := produceRaw(t, tb.client(kgo.MaxVersions(old)), "bad", 0, 2, good); p.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("message-set produce v2: got %v, want UNSUPPORTED_VERSION", kerr.ErrorForCode(p.ErrorCode))
	}

	// Nothing bad was written: the log is still empty and takes a good batch at 0.
	if p := produceRaw(t, cl, "bad", 0, 11, good); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("good batch after bad ones: %v offset %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := produceRaw(t, cl, "bad", 0, 7, zstdBatch); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("zstd at produce v7: %v offset %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
}

func TestProduceAcksZeroKeepsConnection(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "acks0", 1)
	cl := tb.client(kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic("acks0"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 100; i++ {
		if err := cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := tb.admin()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		ends, err := adm.ListEndOffsets(ctx, "acks0")
		if err != nil {
			return err
		}
		o, _ := ends.Lookup("acks0", 0)
		if o.Offset != 100 {
			return errors.New("end offset not yet 100")
		}
		return nil
	})
}

// zstdRawBatch is rawBatch(n, -1, -1, -1) with its records zstd-compressed.
func zstdRawBatch(t *testing.T, n int) []byte {
	t.Helper()
	plain := rawBatch(n, -1, -1, -1)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	b := append([]byte(nil), plain[:61]...)
	b = enc.EncodeAll(plain[61:], b)
	b[22] |= 4
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// A batch whose header max timestamp is not its records' largest gets the
// right one, as Kafka writes it: the time index, ListOffsets by time and
// time retention go by it.
func TestProduceRewritesWrongMaxTimestamp(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "maxts", 1)
	cl := fetchClient(tb)
	raw := rawBatchAt(3, -1, -1, -1, 5000) // records at 5000, 5001, 5002
	binary.BigEndian.PutUint64(raw[35:], uint64(4102444800000))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	if p := produceRaw(t, cl, "maxts", 0, 11, raw); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq("maxts", 0, 0, 1, 0, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	stored := resp.Topics[0].Partitions[0].RecordBatches
	if len(stored) < 61 {
		t.Fatalf("fetched %d bytes", len(stored))
	}
	if got := int64(binary.BigEndian.Uint64(stored[35:])); got != 5002 {
		t.Fatalf("stored max timestamp %d, want 5002", got)
	}
	if crc := crc32.Checksum(stored[21:], crc32.MakeTable(crc32.Castagnoli)); crc != binary.BigEndian.Uint32(stored[17:]) {
		t.Fatal("stored batch's CRC does not match")
	}
}
