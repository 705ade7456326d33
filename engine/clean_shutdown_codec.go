package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// cleanStateHeader starts the marker: magic and version, then the CRC-32C
// and length of the binary body that follows the newline. Binary, not JSON:
// 10,000 partitions with a few KiB of index entries each make a 50 MB body,
// which JSON (base64 for the entries) took 0.6 s to encode and 0.8 s to
// decode.
const cleanStateHeader = "chronik-clean-shutdown 2"

// cleanStateHeaderV1 is the format before transactions: no transaction
// section after each partition's producers. Still read, so the first start
// after an upgrade from it skips recovery.
const cleanStateHeaderV1 = "chronik-clean-shutdown 1"

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// The body is a count of partitions, then per partition: its directory
// name, topic ID, the log's CleanState (varints, then the two index tails),
// its producers (id, epoch, seen-at, then each remembered batch), and its
// transactions (open ones: producer id, first offset; aborted ones: producer
// id, first offset, last offset). Every
// variable-length field is length-prefixed with a uvarint.
func encodeCleanState(st *cleanShutdownState) []byte {
	size := binary.MaxVarintLen64
	for name, ps := range st.Partitions {
		size += len(name) + len(ps.Log.OffsetTail) + len(ps.Log.TimeTail) + 128 + 64*len(ps.Producers)
	}
	body := make([]byte, 0, size)
	body = binary.AppendUvarint(body, uint64(len(st.Partitions)))
	for name, ps := range st.Partitions {
		body = appendBytes(body, []byte(name))
		body = append(body, ps.TopicID[:]...)
		l := &ps.Log
		for _, v := range []int64{l.LogStart, l.Next, l.ActiveBase, l.ActiveSize, int64(l.OffsetsInFile), int64(l.TimesInFile)} {
			body = binary.AppendVarint(body, v)
		}
		body = appendBytes(body, l.OffsetTail)
		body = appendBytes(body, l.TimeTail)
		body = binary.AppendUvarint(body, uint64(len(ps.Producers)))
		for id, p := range ps.Producers {
			body = binary.AppendVarint(body, id)
			body = binary.AppendVarint(body, int64(p.Epoch))
			body = binary.AppendVarint(body, p.SeenAtMs)
			body = binary.AppendUvarint(body, uint64(len(p.Batches)))
			for _, b := range p.Batches {
				body = binary.AppendVarint(body, int64(b.FirstSeq))
				body = binary.AppendVarint(body, int64(b.LastSeq))
				body = binary.AppendVarint(body, b.BaseOffset)
				body = binary.AppendVarint(body, b.Timestamp)
			}
		}
		body = binary.AppendUvarint(body, uint64(len(ps.Txns.Ongoing)))
		for id, first := range ps.Txns.Ongoing {
			body = binary.AppendVarint(body, id)
			body = binary.AppendVarint(body, first)
		}
		body = binary.AppendUvarint(body, uint64(len(ps.Txns.Aborted)))
		for _, a := range ps.Txns.Aborted {
			body = binary.AppendVarint(body, a.ProducerID)
			body = binary.AppendVarint(body, a.FirstOffset)
			body = binary.AppendVarint(body, a.LastOffset)
		}
	}
	return append([]byte(cleanStateHeaderFor(body)), body...)
}

// cleanStateHeaderFor is the header line for body.
func cleanStateHeaderFor(body []byte) string { return headerLine(cleanStateHeader, body) }

func headerLine(version string, body []byte) string {
	return fmt.Sprintf("%s %08x %d\n", version, crc32.Checksum(body, crc32c), len(body))
}

// The smallest encodings of a partition entry (a one-byte name, the topic
// ID, six one-byte varints, two empty tails, no producers) and of a
// producer (four one-byte varints).
const (
	minPartitionBytes = 2 + 16 + 6 + 2 + 1
	minProducerBytes  = 4
)

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// decodeCleanState parses a marker's content; nil, nil for an empty one.
func decodeCleanState(b []byte) (*cleanShutdownState, error) {
	if len(b) == 0 {
		return nil, nil
	}
	nl := bytes.IndexByte(b, '\n')
	version := cleanStateHeader
	if bytes.HasPrefix(b, []byte(cleanStateHeaderV1+" ")) {
		version = cleanStateHeaderV1
	}
	if nl < 0 || !bytes.HasPrefix(b, []byte(version+" ")) {
		return nil, errors.New("clean-shutdown state: no header")
	}
	body := b[nl+1:]
	// The header must be exactly what encodeCleanState writes for body.
	if string(b[:nl+1]) != headerLine(version, body) {
		return nil, fmt.Errorf("clean-shutdown state: header %q does not match the %d-byte body (CRC or length)", b[:nl], len(body))
	}
	r := stateReader{b: body}
	count := r.count()
	// Size hints are bounded by the smallest encoding of an entry, so a
	// damaged count cannot make the maps allocate far past the file.
	st := &cleanShutdownState{Partitions: make(map[string]partitionCleanState, min(count, len(r.b)/minPartitionBytes))}
	for i := 0; i < count && r.err == nil; i++ {
		name := string(r.bytes())
		if _, dup := st.Partitions[name]; dup && r.err == nil {
			r.err, r.b = fmt.Errorf("partition %s twice", name), nil
		}
		var ps partitionCleanState
		copy(ps.TopicID[:], r.take(len(ps.TopicID)))
		l := &ps.Log
		l.LogStart, l.Next, l.ActiveBase, l.ActiveSize = r.varint(), r.varint(), r.varint(), r.varint()
		l.OffsetsInFile, l.TimesInFile = r.int(), r.int()
		l.OffsetTail, l.TimeTail = r.bytes(), r.bytes()
		producers := r.count()
		ps.Producers = make(map[int64]*producerState, min(producers, len(r.b)/minProducerBytes))
		for j := 0; j < producers && r.err == nil; j++ {
			id := r.varint()
			p := &producerState{Epoch: int16(r.ranged(math.MinInt16, math.MaxInt16)), SeenAtMs: r.varint()}
			batches := r.count()
			for k := 0; k < batches && r.err == nil; k++ {
				p.Batches = append(p.Batches, producerBatch{
					FirstSeq:   int32(r.ranged(math.MinInt32, math.MaxInt32)),
					LastSeq:    int32(r.ranged(math.MinInt32, math.MaxInt32)),
					BaseOffset: r.varint(),
					Timestamp:  r.varint(),
				})
			}
			ps.Producers[id] = p
		}
		if version != cleanStateHeaderV1 {
			ps.Txns = r.txns()
		}
		st.Partitions[name] = ps
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("clean-shutdown state: %w", r.err)
	}
	return st, nil
}

// txns reads a partition's transaction section.
func (r *stateReader) txns() txnState {
	var t txnState
	if n := r.count(); n > 0 {
		t.Ongoing = make(map[int64]int64, min(n, len(r.b)/2))
		for range n {
			id := r.varint()
			t.Ongoing[id] = r.varint()
		}
	}
	n := r.count()
	for i := 0; i < n && r.err == nil; i++ {
		t.Aborted = append(t.Aborted, abortedTxn{ProducerID: r.varint(), FirstOffset: r.varint(), LastOffset: r.varint()})
	}
	return t
}

// stateReader reads the body; the first error sticks and later reads
// return zero values.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed %s", what)
	}
	r.b = nil
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that cannot exceed the bytes left, so a damaged one
// cannot make the decoder allocate without bound.
func (r *stateReader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.fail("count")
		return 0
	}
	return int(v)
}

// ranged reads a varint that must lie in [lo, hi].
func (r *stateReader) ranged(lo, hi int64) int64 {
	v := r.varint()
	if v < lo || v > hi {
		r.fail("value out of range")
		return 0
	}
	return v
}

func (r *stateReader) int() int {
	v := r.varint()
	if v < 0 || v > math.MaxInt32 {
		r.fail("entry count")
		return 0
	}
	return int(v)
}

func (r *stateReader) take(n int) []byte {
	if n > len(r.b) {
		r.fail("field")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *stateReader) bytes() []byte { return r.take(r.count()) }
