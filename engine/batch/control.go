package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A transaction's end is written to each of its partitions as a control
// batch (attributes transactional|control) of one record, whose key is
// int16 version 0 and int16 type (0 abort, 1 commit) and whose value is
// int16 version 0 and the coordinator's int32 epoch, as Kafka's
// EndTransactionMarker.
const (
	ControlAbort  int16 = 0
	ControlCommit int16 = 1

	attrTransactional = 0x10
	attrControl       = 0x20
)

// ErrNotControl says a batch is not a readable transaction marker.
var ErrNotControl = errors.New("not a transaction marker")

// AppendControlBatch appends a transaction marker batch of producerID at
// producerEpoch to dst, stamped ts, with base offset 0 (the log assigns it).
func AppendControlBatch(dst []byte, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, ts int64) []byte {
	typ := ControlAbort
	if commit {
		typ = ControlCommit
	}
	key := (&kmsg.ControlRecordKey{Type: kmsg.ControlRecordKeyType(typ)}).AppendTo(nil)
	value := (&kmsg.EndTxnMarker{CoordinatorEpoch: coordinatorEpoch}).AppendTo(nil)
	r := kmsg.Record{Key: key, Value: value}
	r.Length = int32(len(r.AppendTo(nil)) - 1) // the body after a one-byte length 0
	rec := r.AppendTo(nil)

	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, 0) // base offset
	dst = binary.BigEndian.AppendUint32(dst, 0) // length, below
	dst = binary.BigEndian.AppendUint32(dst, 0) // partition leader epoch
	dst = append(dst, 2)                        // magic
	dst = binary.BigEndian.AppendUint32(dst, 0) // CRC, below
	dst = binary.BigEndian.AppendUint16(dst, attrTransactional|attrControl)
	dst = binary.BigEndian.AppendUint32(dst, 0) // last offset delta
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.BigEndian.AppendUint64(dst, uint64(producerID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(producerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, 0xffffffff) // base sequence -1
	dst = binary.BigEndian.AppendUint32(dst, 1)          // one record
	dst = append(dst, rec...)
	b := dst[start:]
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LengthFieldEnd))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
	return dst
}

// ControlType reads the marker type (ControlAbort or ControlCommit) of the
// control batch at the start of b. Kafka writes markers uncompressed.
func ControlType(b []byte) (int16, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, err
	}
	if !h.Control() || h.Codec() != 0 || h.NumRecords < 1 {
		return 0, ErrNotControl
	}
	r := b[HeaderSize:min(h.Size(), len(b))]
	size, n := binary.Varint(r)
	if n <= 0 || size < 0 || int64(len(r)-n) < size {
		return 0, fmt.Errorf("%w: short record", ErrNotControl)
	}
	var rec kmsg.Record
	if err := rec.ReadFrom(r[:n+int(size)]); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotControl, err)
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(rec.Key); err != nil {
		return 0, fmt.Errorf("%w: key: %v", ErrNotControl, err)
	}
	typ := int16(key.Type)
	if typ != ControlAbort && typ != ControlCommit {
		return 0, fmt.Errorf("%w: type %d", ErrNotControl, typ)
	}
	return typ, nil
}
