package partlog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

// kv is one test record: a nil value is a tombstone, a nil key a record
// without key.
type kv struct {
	key, value []byte
	ts         int64 // absolute timestamp; 0 takes the batch's
}

func rec(key, value string) kv { return kv{key: []byte(key), value: []byte(value)} }

func tombstone(key string) kv { return kv{key: []byte(key)} }

// keyedSpec describes a producer-style batch of keyed records.
type keyedSpec struct {
	recs          []kv
	ts            int64 // timestamp of records without their own
	codec         int   // codec* constants of helpers_test.go
	producerID    int64 // 0 means none (-1 on the wire)
	baseSequence  int32
	transactional bool
}

// keyedBatch builds a v2 batch with kmsg, compressing as a producer would.
func keyedBatch(t testing.TB, spec keyedSpec) []byte {
	t.Helper()
	base, maxTS := int64(-1), int64(-1)
	for _, r := range spec.recs {
		ts := r.ts
		if ts == 0 {
			ts = spec.ts
		}
		if base < 0 {
			base = ts
		}
		maxTS = max(maxTS, ts)
	}
	var recs []byte
	for i, r := range spec.recs {
		ts := r.ts
		if ts == 0 {
			ts = spec.ts
		}
		kr := kmsg.Record{TimestampDelta64: ts - base, OffsetDelta: int32(i), Key: r.key, Value: r.value}
		unsized := kr.AppendTo(nil)
		kr.Length = int32(len(unsized) - 1)
		recs = kr.AppendTo(recs)
	}
	attrs := int16(spec.codec)
	switch spec.codec {
	case codecGzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(recs)
		w.Close()
		recs = buf.Bytes()
	case codecSnappy:
		recs = snappy.Encode(nil, recs)
	case codecXerialSnappy:
		attrs = codecSnappy
		recs = appendXerial(nil, recs)
	case codecLZ4:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		w.Write(recs)
		w.Close()
		recs = buf.Bytes()
	case codecZstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		recs = enc.EncodeAll(recs, nil)
		enc.Close()
	}
	if spec.transactional {
		attrs |= 0x10
	}
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if spec.producerID != 0 {
		pid, epoch, seq = spec.producerID, 0, spec.baseSequence
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(len(spec.recs) - 1),
		FirstTimestamp:       base,
		MaxTimestamp:         maxTS,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           int32(len(spec.recs)),
		Records:              recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batch.LengthFieldEnd))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := batch.Validate(b); err != nil {
		t.Fatalf("keyedBatch built an invalid batch: %v", err)
	}
	return b
}

// readRecord is a record as a consumer decodes it.
type readRecord struct {
	offset    int64
	key       string
	value     string
	tombstone bool
	timestamp int64
}

// readBatch is a batch as a consumer decodes it.
type readBatchInfo struct {
	hdr     batch.Header
	records []readRecord
}

// consume decodes every batch from the log start the way a client does (kmsg
// and franz-go's own decompressor, not partlog's code).
func consume(t testing.TB, l *Log) []readBatchInfo {
	t.Helper()
	raw := readAll(t, l)
	var out []readBatchInfo
	dec := kgo.DefaultDecompressor()
	_, err := batch.Split(raw, func(h batch.Header, b []byte) error {
		if !batch.CRCValid(b) {
			t.Fatalf("batch %d read back with a bad CRC", h.BaseOffset)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("batch %d: %v", h.BaseOffset, err)
		}
		recs, err := dec.Decompress(rb.Records, kgo.CompressionCodecType(h.Codec()))
		if err != nil {
			t.Fatalf("batch %d: decompress: %v", h.BaseOffset, err)
		}
		info := readBatchInfo{hdr: h}
		for i := int32(0); i < h.NumRecords; i++ {
			length, n := binary.Varint(recs)
			if n <= 0 || int(length)+n > len(recs) {
				t.Fatalf("batch %d: record %d: bad length", h.BaseOffset, i)
			}
			var r kmsg.Record
			if err := r.ReadFrom(recs[:n+int(length)]); err != nil {
				t.Fatalf("batch %d: record %d: %v", h.BaseOffset, i, err)
			}
			recs = recs[n+int(length):]
			ts := rb.FirstTimestamp + r.TimestampDelta64
			if h.LogAppendTime() {
				ts = rb.MaxTimestamp
			}
			info.records = append(info.records, readRecord{
				offset: h.BaseOffset + int64(r.OffsetDelta), key: string(r.Key), value: string(r.Value),
				tombstone: r.Value == nil, timestamp: ts,
			})
		}
		if len(recs) != 0 {
			t.Fatalf("batch %d: %d bytes after its records", h.BaseOffset, len(recs))
		}
		out = append(out, info)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// consumeRecords flattens consume and checks offsets strictly increase.
func consumeRecords(t testing.TB, l *Log) []readRecord {
	t.Helper()
	var out []readRecord
	for _, b := range consume(t, l) {
		for _, r := range b.records {
			if len(out) > 0 && r.offset <= out[len(out)-1].offset {
				t.Fatalf("offset %d after %d", r.offset, out[len(out)-1].offset)
			}
			if r.offset < b.hdr.BaseOffset || r.offset > b.hdr.LastOffset() {
				t.Fatalf("record offset %d outside its batch [%d, %d]", r.offset, b.hdr.BaseOffset, b.hdr.LastOffset())
			}
			out = append(out, r)
		}
	}
	return out
}

// cleanStep runs one Clean call and, inline, the swap task it hands out.
func cleanStep(t testing.TB, l *Log, o CleanOptions) CleanResult {
	t.Helper()
	res, err := l.Clean(o)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if res.Task != nil {
		res.Task.Run()
		if err := l.CleanTaskDone(res.Task); err != nil {
			t.Fatalf("CleanTaskDone: %v", err)
		}
	}
	return res
}

// cleanAll runs Clean until the pass in progress (if one starts) is done.
func cleanAll(t testing.TB, l *Log, o CleanOptions) (passes int) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		res := cleanStep(t, l, o)
		if res.Done {
			passes++
		}
		if !res.Running {
			return passes
		}
	}
	t.Fatal("Clean did not finish within 100000 steps")
	return passes
}

// fakeClock is an injectable Options.Now.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirNames lists the names in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
