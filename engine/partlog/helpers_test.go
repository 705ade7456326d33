package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/uring"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Codecs as numbered in the batch attributes; codecXerialSnappy is snappy
// framed the way the Java client frames it.
const (
	codecNone         = 0
	codecGzip         = 1
	codecSnappy       = 2
	codecLZ4          = 3
	codecZstd         = 4
	codecXerialSnappy = 100
)

// batchSpec describes a test batch: one record per timestamp.
type batchSpec struct {
	timestamps    []int64
	valueSize     int
	codec         int
	logAppendTime bool
	// zeroDeltas numbers every record 0, as some older clients did.
	zeroDeltas bool
}

// makeBatch builds a producer-style v2 batch (base offset 0) with kmsg and
// computes its length and CRC-32C over bytes 21..end.
func makeBatch(t testing.TB, spec batchSpec) []byte {
	t.Helper()
	if len(spec.timestamps) == 0 {
		t.Fatal("makeBatch: no records")
	}
	base, maxTS := spec.timestamps[0], spec.timestamps[0]
	var recs []byte
	for i, ts := range spec.timestamps {
		maxTS = max(maxTS, ts)
		r := kmsg.Record{
			TimestampDelta64: ts - base,
			OffsetDelta:      int32(i),
			Key:              []byte{byte(i)},
			Value:            bytes.Repeat([]byte{byte('a' + i%26)}, spec.valueSize),
		}
		if spec.zeroDeltas {
			r.OffsetDelta = 0
		}
		unsized := r.AppendTo(nil) // with Length 0, which encodes as one byte
		r.Length = int32(len(unsized) - 1)
		recs = r.AppendTo(recs)
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
		framed := append([]byte{}, xerialMagic...)
		framed = binary.BigEndian.AppendUint32(framed, 1)
		framed = binary.BigEndian.AppendUint32(framed, 1)
		for rest := recs; len(rest) > 0; { // small blocks so that several are chained
			n := min(len(rest), 100)
			block := snappy.Encode(nil, rest[:n])
			framed = binary.BigEndian.AppendUint32(framed, uint32(len(block)))
			framed = append(framed, block...)
			rest = rest[n:]
		}
		recs = framed
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
	if spec.logAppendTime {
		attrs |= 0x08
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(len(spec.timestamps) - 1),
		FirstTimestamp:       base,
		MaxTimestamp:         maxTS,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(spec.timestamps)),
		Records:              recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batch.LengthFieldEnd))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := batch.Validate(b); err != nil {
		t.Fatalf("makeBatch built an invalid batch: %v", err)
	}
	return b
}

// simpleBatch is an uncompressed batch of n records, all at timestamp ts,
// whose values are valueSize bytes.
func simpleBatch(t testing.TB, n int, ts int64, valueSize int) []byte {
	t.Helper()
	tss := make([]int64, n)
	for i := range tss {
		tss[i] = ts
	}
	return makeBatch(t, batchSpec{timestamps: tss, valueSize: valueSize})
}

// splitBatches returns the headers of the whole batches in b, failing on leftovers.
func splitBatches(t testing.TB, b []byte) []batch.Header {
	t.Helper()
	var hs []batch.Header
	n, err := batch.Split(b, func(h batch.Header, raw []byte) error {
		if !batch.CRCValid(raw) {
			t.Errorf("batch at offset %d read back with a bad CRC", h.BaseOffset)
		}
		hs = append(hs, h)
		return nil
	})
	if err != nil || n != len(b) {
		t.Fatalf("split read bytes: consumed %d of %d, err %v", n, len(b), err)
	}
	return hs
}

// testOpener wraps the pwrite opener to count reads of .log files and to
// inject write failures.
type testOpener struct {
	inner    uring.Opener
	logReads atomic.Int64
	opens    atomic.Int64
	closes   atomic.Int64 // opens - closes: the descriptors the log holds
	// failWrites makes the next N WriteAt/WritevAt calls on .log files fail
	// after writing half their bytes, once passWrites more have gone
	// through; logWrites counts those calls.
	failWrites atomic.Int64
	passWrites atomic.Int64
	logWrites  atomic.Int64
	// logSyncs counts Datasync calls on .log files; failSyncs makes the
	// next N of them fail, failOtherSyncs the next N on any other file
	// (indexes, checkpoints).
	logSyncs       atomic.Int64
	failSyncs      atomic.Int64
	failOtherSyncs atomic.Int64
}

func (o *testOpener) Kind() string { return "test" }

func (o *testOpener) Open(path string) (uring.File, error) {
	o.opens.Add(1)
	f, err := uring.PwriteOpener{}.Open(path)
	if err != nil {
		return nil, err
	}
	return &testFile{File: f, o: o, isLog: strings.HasSuffix(path, logSuffix)}, nil
}

type testFile struct {
	uring.File
	o     *testOpener
	isLog bool
}

var errInjected = errors.New("injected write failure")

func (f *testFile) ReadAt(p []byte, off int64) (int, error) {
	if f.isLog {
		f.o.logReads.Add(1)
	}
	return f.File.ReadAt(p, off)
}

func (f *testFile) failing() bool {
	if !f.isLog {
		return false
	}
	f.o.logWrites.Add(1)
	if f.o.passWrites.Add(-1) >= 0 {
		return false
	}
	f.o.passWrites.Store(0)
	for {
		n := f.o.failWrites.Load()
		if n <= 0 {
			return false
		}
		if f.o.failWrites.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (f *testFile) WriteAt(p []byte, off int64) (int, error) {
	if f.failing() {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, errInjected
	}
	return f.File.WriteAt(p, off)
}

func (f *testFile) Close() error {
	f.o.closes.Add(1)
	return f.File.Close()
}

func (f *testFile) Datasync() error {
	if f.isLog {
		f.o.logSyncs.Add(1)
		if f.o.failSyncs.Add(-1) >= 0 {
			return errInjected
		}
		f.o.failSyncs.Store(0)
	} else {
		if f.o.failOtherSyncs.Add(-1) >= 0 {
			return errInjected
		}
		f.o.failOtherSyncs.Store(0)
	}
	return f.File.Datasync()
}

func (f *testFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	if f.failing() {
		n, _ := f.File.WriteAt(bufs[0][:len(bufs[0])/2], off)
		return n, errInjected
	}
	return f.File.WritevAt(bufs, off)
}

// testOptions are small segments and a small index interval, so that tests
// roll often and use the indexes.
func testOptions(op uring.Opener) Options {
	return Options{Opener: op, SegmentBytes: 8 << 10, IndexIntervalBytes: 512}
}

func mustOpen(t testing.TB, dir string, opts Options, clean bool) *Log {
	t.Helper()
	l, err := Open(dir, opts, clean)
	if err != nil {
		t.Fatalf("Open(%s, clean=%v): %v", dir, clean, err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, b []byte) int64 {
	t.Helper()
	off, err := l.Append(b, 7)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return off
}

// crash abandons l as a killed broker would: files are closed, nothing is
// flushed or persisted.
func crash(l *Log) {
	for _, s := range l.segs {
		s.close()
	}
	l.closed = true
}

// segmentLogFiles lists the .log files of dir in order.
func segmentLogFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readAll reads the whole log from its start offset.
func readAll(t testing.TB, l *Log) []byte {
	t.Helper()
	b, err := l.Read(l.StartOffset(), 1<<30)
	if err != nil {
		t.Fatalf("Read from %d: %v", l.StartOffset(), err)
	}
	return b
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
