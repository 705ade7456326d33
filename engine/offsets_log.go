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
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(len(recs)),
		Records:         body,
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

// replayGroupLog feeds every record of a __consumer_offsets partition to fn
// in log order.
func replayGroupLog(l *partlog.Log, fn func(key, value []byte) error) error {
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
			if h.Control() {
				return nil
			}
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(raw); err != nil {
				return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
			}
			recs, err := groupLogDecompressor.Decompress(rb.Records, kgo.CompressionCodecType(h.Codec()))
			if err != nil {
				return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
			}
			return eachRecord(recs, rb.NumRecords, fn)
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
