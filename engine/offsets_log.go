package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/group"
	"github.com/chronik-go/chronik/engine/partlog"
)

// offsetsReplayChunk is how much of a __consumer_offsets partition one read
// of the start-up replay takes.
const offsetsReplayChunk = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeGroupBatch builds one uncompressed magic-2 batch holding recs, as
// Kafka's coordinator writes them: no producer id, all records stamped now.
func encodeGroupBatch(recs []group.Record, now time.Time) []byte {
	return encodeCoordinatorBatch(recs, now, -1, -1)
}

// encodeCoordinatorBatch is encodeGroupBatch for a producer: with a producer
// id, a transactional batch at its epoch (transactional offset commits),
// sequence -1 as Kafka writes them.
func encodeCoordinatorBatch(recs []group.Record, now time.Time, producerID int64, producerEpoch int16) []byte {
	var body []byte
	for i, r := range recs {
		var rec []byte
		rec = append(rec, 0)                     // attributes
		rec = binary.AppendVarint(rec, 0)        // timestamp delta
		rec = binary.AppendVarint(rec, int64(i)) // offset delta
		rec = binary.AppendVarint(rec, int64(len(r.Key)))
		rec = append(rec, r.Key...)
		if r.Value == nil {
			rec = binary.AppendVarint(rec, -1)
		} else {
			rec = binary.AppendVarint(rec, int64(len(r.Value)))
			rec = append(rec, r.Value...)
		}
		rec = binary.AppendVarint(rec, 0) // headers
		body = binary.AppendVarint(body, int64(len(rec)))
		body = append(body, rec...)
	}
	ts := now.UnixMilli()
	b := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts,
		ProducerID:      producerID,
		ProducerEpoch:   producerEpoch,
		FirstSequence:   -1,
		NumRecords:      int32(len(recs)),
		Records:         body,
	}
	if producerID >= 0 {
		b.Attributes = 0x10 // transactional
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-batch.LengthFieldEnd))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], castagnoli))
	return raw
}

// groupLogDecompressor reads batches of __consumer_offsets that were not
// written by the coordinator itself uncompressed (a log cleaner may
// recompress them).
var groupLogDecompressor = kgo.DefaultDecompressor()

// groupLogReplayer takes a __consumer_offsets partition's content in log
// order: *group.Coordinator.
type groupLogReplayer interface {
	Replay(key, value []byte) error
	ReplayTxn(producerID int64, key, value []byte) error
	CompleteTxn(producerID int64, commit bool)
}

// loadGroupLog replays a __consumer_offsets partition into r in log order:
// the records of plain batches go to Replay, those of transactional
// batches (TxnOffsetCommit's) to ReplayTxn under the batch's producer id,
// and each transaction marker to CompleteTxn, as Kafka's coordinator loads
// its partition. A record r refuses, or a marker whose type cannot be
// read, goes to skip and the replay goes on. It returns how many records,
// markers included, it read.
func loadGroupLog(l *partlog.Log, r groupLogReplayer, skip func(error)) (int, error) {
	n := 0
	err := eachGroupBatch(l, func(h *batch.Header, raw []byte) error {
		if h.Control() {
			n++
			typ, err := batch.ControlType(raw)
			if err != nil {
				skip(fmt.Errorf("marker at offset %d: %w", h.BaseOffset, err))
				return nil
			}
			r.CompleteTxn(h.ProducerID, typ == batch.ControlCommit)
			return nil
		}
		return eachGroupRecord(h, raw, func(key, value []byte) error {
			n++
			var err error
			if h.Transactional() {
				err = r.ReplayTxn(h.ProducerID, key, value)
			} else {
				err = r.Replay(key, value)
			}
			if err != nil {
				skip(err)
			}
			return nil
		})
	})
	return n, err
}

// replayGroupLog feeds every data record of a __consumer_offsets partition
// to fn in log order, transactional or not, skipping markers.
func replayGroupLog(l *partlog.Log, fn func(key, value []byte) error) error {
	return eachGroupBatch(l, func(h *batch.Header, raw []byte) error {
		if h.Control() {
			return nil
		}
		return eachGroupRecord(h, raw, fn)
	})
}

// eachGroupBatch calls fn for every batch of a __consumer_offsets
// partition in log order.
func eachGroupBatch(l *partlog.Log, fn func(h *batch.Header, raw []byte) error) error {
	for off := l.StartOffset(); off < l.NextOffset(); {
		data, err := l.Read(off, offsetsReplayChunk)
		if err != nil {
			return fmt.Errorf("read offset %d: %w", off, err)
		}
		if len(data) == 0 {
			return nil
		}
		from := off
		_, err = batch.Split(data, func(h batch.Header, raw []byte) error {
			off = h.LastOffset() + 1
			return fn(&h, raw)
		})
		if err != nil {
			return err
		}
		if off == from {
			return fmt.Errorf("no whole batch at offset %d", off)
		}
	}
	return nil
}

// eachGroupRecord walks the records of one data batch, decompressing it
// where a log cleaner recompressed it.
func eachGroupRecord(h *batch.Header, raw []byte, fn func(key, value []byte) error) error {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(raw); err != nil {
		return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	recs, err := groupLogDecompressor.Decompress(rb.Records, kgo.CompressionCodecType(h.Codec()))
	if err != nil {
		return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	return eachRecord(recs, rb.NumRecords, fn)
}

// eachRecord walks the records of an uncompressed batch body.
func eachRecord(recs []byte, n int32, fn func(key, value []byte) error) error {
	for i := int32(0); i < n; i++ {
		size, w := binary.Varint(recs)
		if w <= 0 || size < 0 || int64(len(recs)-w) < size {
			return fmt.Errorf("record %d: bad length", i)
		}
		var r kmsg.Record
		if err := r.ReadFrom(recs[:w+int(size)]); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		recs = recs[w+int(size):]
		if err := fn(r.Key, r.Value); err != nil {
			return err
		}
	}
	return nil
}
