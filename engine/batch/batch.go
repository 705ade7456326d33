// Package batch reads and checks Kafka record batches (magic v2) in place.
//
// On-disk and on-wire layout, big-endian (the CRC covers attributes..end):
//
//	 0 baseOffset           int64
//	 8 batchLength          int32   (bytes after this field)
//	12 partitionLeaderEpoch int32
//	16 magic                int8    (2)
//	17 crc                  uint32  (CRC-32C of bytes 21..end)
//	21 attributes           int16   (bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control)
//	23 lastOffsetDelta      int32
//	27 baseTimestamp        int64
//	35 maxTimestamp         int64
//	43 producerId           int64
//	51 producerEpoch        int16
//	53 baseSequence         int32
//	57 recordCount          int32
//	61 records...
package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// HeaderSize is the fixed size of a v2 batch header.
const HeaderSize = 61

// LengthFieldEnd is where batchLength ends: batch size = LengthFieldEnd + batchLength.
const LengthFieldEnd = 12

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// Header is the decoded fixed part of a record batch.
type Header struct {
	BaseOffset           int64
	Length               int32 // batchLength field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the whole batch's size in bytes.
func (h *Header) Size() int { return LengthFieldEnd + int(h.Length) }

// LastOffset is the offset of the batch's last record.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Codec is the compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
func (h *Header) Codec() int8 { return int8(h.Attributes & 0x07) }

// LogAppendTime reports whether timestamps are broker-assigned.
func (h *Header) LogAppendTime() bool { return h.Attributes&0x08 != 0 }

// Transactional reports the transactional bit.
func (h *Header) Transactional() bool { return h.Attributes&0x10 != 0 }

// Control reports a control batch (transaction markers).
func (h *Header) Control() bool { return h.Attributes&0x20 != 0 }

// Idempotent reports whether the batch carries a producer id.
func (h *Header) Idempotent() bool { return h.ProducerID >= 0 }

// Errors returned by Parse and Validate; the produce handler maps each to one
// Kafka code (CORRUPT_MESSAGE or UNSUPPORTED_COMPRESSION_TYPE...).
var (
	ErrShort       = errors.New("record batch truncated")
	ErrMagic       = errors.New("record batch magic is not 2")
	ErrCRC         = errors.New("record batch CRC mismatch")
	ErrLength      = errors.New("record batch length inconsistent")
	ErrCodec       = errors.New("record batch has unknown compression codec")
	ErrNumRecords  = errors.New("record batch record count inconsistent with offset delta")
	ErrEmptyRecord = errors.New("record batch has no records")
	ErrBaseOffset  = errors.New("record batch base offset is not 0")
)

// ParseHeader decodes the header of the batch at the start of b without
// checking the CRC. b may hold more bytes than the batch.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		if len(b) >= 17 && b[16] != 2 {
			return h, ErrMagic
		}
		return h, ErrShort
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[8:]))
	h.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(b[12:]))
	h.Magic = int8(b[16])
	h.CRC = binary.BigEndian.Uint32(b[17:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[21:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[23:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[27:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[35:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[43:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[51:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[53:]))
	h.NumRecords = int32(binary.BigEndian.Uint32(b[57:]))
	if h.Magic != 2 {
		return h, ErrMagic
	}
	if h.Length < HeaderSize-LengthFieldEnd {
		return h, ErrLength
	}
	return h, nil
}

// Validate checks a batch as a producer sent it: exactly one whole batch in b,
// magic 2, base offset 0, a correct CRC, a known codec and a consistent
// record count. The CRC is checked before the fields it covers, as Kafka
// does: a batch damaged on its way gets CORRUPT_MESSAGE, which producers
// retry, not an error about a field the damage happened to hit.
func Validate(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		return h, fmt.Errorf("%w: header says %d bytes, got %d", ErrLength, h.Size(), len(b))
	}
	if h.BaseOffset != 0 {
		return h, fmt.Errorf("%w: it is %d", ErrBaseOffset, h.BaseOffset)
	}
	if !CRCValid(b) {
		return h, ErrCRC
	}
	if h.Codec() > 4 {
		return h, ErrCodec
	}
	if h.NumRecords <= 0 {
		return h, ErrEmptyRecord
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		return h, ErrNumRecords
	}
	return h, nil
}

// CRCValid reports whether the stored CRC matches bytes 21..end.
func CRCValid(b []byte) bool {
	if len(b) < HeaderSize {
		return false
	}
	return crc32.Checksum(b[21:], crc32c) == binary.BigEndian.Uint32(b[17:])
}

// SetBaseOffset rewrites the base offset; it lies before the CRC-covered range.
func SetBaseOffset(b []byte, off int64) { binary.BigEndian.PutUint64(b[0:], uint64(off)) }

// SetLeaderEpoch rewrites the partition leader epoch (not CRC-covered).
func SetLeaderEpoch(b []byte, epoch int32) { binary.BigEndian.PutUint32(b[12:], uint32(epoch)) }

// SetLogAppendTime stamps ts as max timestamp, sets the timestamp-type bit and
// recomputes the CRC, since both lie inside the covered range.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[21:]) | 0x08
	binary.BigEndian.PutUint16(b[21:], attrs)
	SetMaxTimestamp(b, ts)
}

// SetMaxTimestamp writes ts as the batch's max timestamp and recomputes the
// CRC.
func SetMaxTimestamp(b []byte, ts int64) {
	binary.BigEndian.PutUint64(b[35:], uint64(ts))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
}

// Split walks whole batches in b, calling fn with each one's header and bytes.
// It stops at the first incomplete batch and returns the bytes consumed.
func Split(b []byte, fn func(h Header, raw []byte) error) (int, error) {
	n := 0
	for len(b)-n >= HeaderSize {
		h, err := ParseHeader(b[n:])
		if err != nil {
			return n, err
		}
		if h.Size() > len(b)-n {
			break
		}
		if err := fn(h, b[n:n+h.Size()]); err != nil {
			return n, err
		}
		n += h.Size()
	}
	return n, nil
}
