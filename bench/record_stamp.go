package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Every record value the load generator writes starts with a stamp, so that a
// consumer can tell which record it holds, when it was meant to be sent, and
// whether its bytes arrived intact:
//
//	 0       4       8               16              24      28
//	+-------+-------+---------------+---------------+-------+------------------+
//	| magic |  tag  |   record id   | intended send |  crc  | payload (filler) |
//	+-------+-------+---------------+---------------+-------+------------------+
//	  "CHKB"  run     bit 63: warm-up  unix nanos      CRC-32C of every byte
//	          tag     bits 40-62: producer              but the crc field
//	                  bits 0-39: sequence
//
// All fields are little-endian. The run tag separates records of different
// runs written into one topic. Values shorter than StampSize carry no stamp
// (a produce-only run may use them; consume and end-to-end runs refuse them).
const (
	StampSize  = 28
	stampMagic = 0x424b4843 // "CHKB" read little-endian

	stampWarmupBit   = uint64(1) << 63
	stampProducerSh  = 40
	stampSeqMask     = uint64(1)<<stampProducerSh - 1
	maxStampProducer = 1<<(63-stampProducerSh) - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordStamp is the decoded header of a stamped value.
type recordStamp struct {
	Tag        uint32
	Producer   int
	Seq        uint64
	Warmup     bool
	IntendedNs int64 // unix nanoseconds the record was meant to be sent
	CRC        uint32
}

// stampID packs a producer index, sequence and warm-up flag into a record id.
func stampID(producer int, seq uint64, warmup bool) uint64 {
	id := uint64(producer)<<stampProducerSh | seq&stampSeqMask
	if warmup {
		id |= stampWarmupBit
	}
	return id
}

// writeStamp fills the header of v (len(v) >= StampSize; the payload after it
// is already in place) and returns the CRC it stored.
func writeStamp(v []byte, tag uint32, id uint64, intendedNs int64) uint32 {
	binary.LittleEndian.PutUint32(v[0:], stampMagic)
	binary.LittleEndian.PutUint32(v[4:], tag)
	binary.LittleEndian.PutUint64(v[8:], id)
	binary.LittleEndian.PutUint64(v[16:], uint64(intendedNs))
	crc := stampCRC(v)
	binary.LittleEndian.PutUint32(v[24:], crc)
	return crc
}

// stampCRC is the CRC-32C of v without its crc field.
func stampCRC(v []byte) uint32 {
	crc := crc32.Update(0, castagnoli, v[:24])
	return crc32.Update(crc, castagnoli, v[StampSize:])
}

var errNotStamped = errors.New("record value carries no chronik-bench stamp")

// readStamp decodes and checks the stamp of v. A value whose bytes changed
// after stamping fails the CRC check.
func readStamp(v []byte) (recordStamp, error) {
	if len(v) < StampSize || binary.LittleEndian.Uint32(v) != stampMagic {
		return recordStamp{}, errNotStamped
	}
	id := binary.LittleEndian.Uint64(v[8:])
	s := recordStamp{
		Tag:        binary.LittleEndian.Uint32(v[4:]),
		Producer:   int(id &^ stampWarmupBit >> stampProducerSh),
		Seq:        id & stampSeqMask,
		Warmup:     id&stampWarmupBit != 0,
		IntendedNs: int64(binary.LittleEndian.Uint64(v[16:])),
		CRC:        binary.LittleEndian.Uint32(v[24:]),
	}
	if got := stampCRC(v); got != s.CRC {
		return s, fmt.Errorf("record (producer %d, seq %d) corrupted: CRC-32C %08x, stamped %08x", s.Producer, s.Seq, got, s.CRC)
	}
	return s, nil
}
