package dumplog

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

// decompressor is franz-go's, which reads every codec Kafka writes.
var decompressor = kgo.DefaultDecompressor()

// printRecords prints each record of the valid batch raw (header h).
func printRecords(w io.Writer, raw []byte, h *batch.Header, o Options) error {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(raw); err != nil {
		return err
	}
	recs, err := decompressor.Decompress(rb.Records, kgo.CompressionCodecType(h.Codec()))
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	for i := int32(0); i < h.NumRecords; i++ {
		length, n := binary.Varint(recs)
		if n <= 0 || length < 0 || int64(len(recs)-n) < length {
			return fmt.Errorf("record %d: bad length", i)
		}
		var r kmsg.Record
		if err := r.ReadFrom(recs[:n+int(length)]); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		recs = recs[n+int(length):]
		ts := rb.FirstTimestamp + r.TimestampDelta64
		if h.LogAppendTime() {
			ts = rb.MaxTimestamp
		}
		seq := int32(-1)
		if h.BaseSequence >= 0 {
			seq = h.BaseSequence + r.OffsetDelta
		}
		var b strings.Builder
		fmt.Fprintf(&b, "| offset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s]",
			h.BaseOffset+int64(r.OffsetDelta), tsName(h), ts, sizeOf(r.Key), sizeOf(r.Value), seq, headerKeys(r.Headers))
		switch {
		case h.Control():
			b.WriteString(controlRecord(&r))
		case o.OffsetsDecoder:
			b.WriteString(" " + offsetsRecord(r.Key, r.Value))
		case o.TransactionLogDecoder:
			b.WriteString(" " + txnLogRecord(r.Key, r.Value))
		default:
			if r.Key != nil {
				fmt.Fprintf(&b, " key: %s", cut(r.Key, o.MaxValueBytes))
			}
			if r.Value != nil {
				fmt.Fprintf(&b, " payload: %s", cut(r.Value, o.MaxValueBytes))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	return nil
}

func tsName(h *batch.Header) string {
	if h.LogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// sizeOf is a key's or value's size as Kafka prints it: -1 for null.
func sizeOf(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

func headerKeys(hs []kmsg.Header) string {
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.Key
	}
	return strings.Join(keys, ",")
}

// cut prints b as text, quoted where it is not printable, cut to max bytes
// (0: whole).
func cut(b []byte, max int) string {
	more := ""
	if max > 0 && len(b) > max {
		b, more = b[:max], fmt.Sprintf("...(%d bytes)", len(b))
	}
	s := string(b)
	if strconv.CanBackquote(s) && !strings.ContainsAny(s, " \t") {
		return s + more
	}
	return strconv.Quote(s) + more
}

// controlRecord decodes a transaction marker, as kafka-dump-log does.
func controlRecord(r *kmsg.Record) string {
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(r.Key); err != nil {
		return fmt.Sprintf(" unknown control record: %v", err)
	}
	switch key.Type {
	case kmsg.ControlRecordKeyTypeAbort, kmsg.ControlRecordKeyTypeCommit:
		var m kmsg.EndTxnMarker
		if err := m.ReadFrom(r.Value); err != nil {
			return fmt.Sprintf(" endTxnMarker: %s unreadable value: %v", markerName(key.Type), err)
		}
		return fmt.Sprintf(" endTxnMarker: %s coordinatorEpoch: %d", markerName(key.Type), m.CoordinatorEpoch)
	}
	return fmt.Sprintf(" control type: %d", key.Type)
}

func markerName(t kmsg.ControlRecordKeyType) string {
	if t == kmsg.ControlRecordKeyTypeCommit {
		return "COMMIT"
	}
	return "ABORT"
}

// offsetsRecord decodes a __consumer_offsets record: an offset commit
// (key versions 0-1) or a classic group's metadata (2); other kinds (the
// consumer protocol's, versions 3 and up) print their key version.
func offsetsRecord(k, v []byte) string {
	if len(k) < 2 {
		return fmt.Sprintf("key: %q", k)
	}
	switch version := int16(binary.BigEndian.Uint16(k)); version {
	case 0, 1:
		var key kmsg.OffsetCommitKey
		if err := key.ReadFrom(k); err != nil {
			return fmt.Sprintf("offset commit key unreadable: %v", err)
		}
		s := fmt.Sprintf("key: offset_commit group=%s topic=%s partition=%d", key.Group, key.Topic, key.Partition)
		if v == nil {
			return s + " payload: <DELETE>"
		}
		var val kmsg.OffsetCommitValue
		if err := val.ReadFrom(v); err != nil {
			return s + fmt.Sprintf(" payload unreadable: %v", err)
		}
		return s + fmt.Sprintf(" payload: offset=%d leaderEpoch=%d metadata=%q commitTimestamp=%d", val.Offset, val.LeaderEpoch, val.Metadata, val.CommitTimestamp)
	case 2:
		var key kmsg.GroupMetadataKey
		if err := key.ReadFrom(k); err != nil {
			return fmt.Sprintf("group metadata key unreadable: %v", err)
		}
		s := fmt.Sprintf("key: group_metadata group=%s", key.Group)
		if v == nil {
			return s + " payload: <DELETE>"
		}
		var val kmsg.GroupMetadataValue
		if err := val.ReadFrom(v); err != nil {
			return s + fmt.Sprintf(" payload unreadable: %v", err)
		}
		members := make([]string, len(val.Members))
		for i, m := range val.Members {
			members[i] = m.MemberID
		}
		protocol := ""
		if val.Protocol != nil {
			protocol = *val.Protocol
		}
		return s + fmt.Sprintf(" payload: protocolType=%s protocol=%s generation=%d members=[%s]", val.ProtocolType, protocol, val.Generation, strings.Join(members, ","))
	default:
		return fmt.Sprintf("key: version %d (%d bytes) valueSize: %d", version, len(k), sizeOf(v))
	}
}

// txnLogRecord decodes a __transaction_state record.
func txnLogRecord(k, v []byte) string {
	var key kmsg.TxnMetadataKey
	if err := key.ReadFrom(k); err != nil {
		return fmt.Sprintf("transaction log key unreadable: %v", err)
	}
	s := fmt.Sprintf("key: transactional_id=%s", key.TransactionalID)
	if v == nil {
		return s + " payload: <DELETE>"
	}
	var val kmsg.TxnMetadataValue
	if err := val.ReadFrom(v); err != nil {
		return s + fmt.Sprintf(" payload unreadable: %v", err)
	}
	var parts []string
	for _, t := range val.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, fmt.Sprintf("%s-%d", t.Topic, p))
		}
	}
	return s + fmt.Sprintf(" payload: producerId=%d producerEpoch=%d state=%s partitions=[%s] txnLastUpdateTimestamp=%d txnTimeoutMs=%d",
		val.ProducerID, val.ProducerEpoch, val.State, strings.Join(parts, ","), val.LastUpdateTimestamp, val.TimeoutMillis)
}
